#!/usr/bin/env bash
# bench_smoke.sh VXCHECK CAPTURE [READLOOP]: the benchmark tools run on a small capture (CTest).
# No timing is checked.
#  - `vxcheck bench`: the text report names every stage (one thread, and with --threads 2 the
#    table of both), --json is one object with the frame count, the stages and both pipelines,
#    and every full pass's report is identical to one thread's.
#  - with READLOOP, tools/bench/compare.sh --json (one round, the prefix set below the capture's
#    frame count, with tcpdump and tshark if they are installed): its exit status says targets,
#    not errors, and its JSON has the machine, each tool's rate, the ratios and the verdict.
set -u
bin=$1 capture=$2 readloop=${3:-}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
fail() { echo "FAIL: $*"; exit 1; }

text=$("$bin" bench --repeat 2 "$capture") || fail "vxcheck bench exited with $?"
for stage in decode "checksums and verdicts" "summary tallies" "batch hand-off" "track + analyze" \
    "RPC analysis" "decide + report" "full pipeline" "reading the file" "reading alone" \
    "analyze FILE" "Mpps" "report identical" "peak RSS"; do
    grep -q -- "$stage" <<<"$text" || fail "no '$stage' in: $text"
done
text=$("$bin" bench --repeat 1 --threads 2 "$capture") || fail "vxcheck bench --threads 2 exited with $?"
for stage in "what each stage adds" "2 threads" "RPC analysis (ordered)" "reading the file"; do
    grep -q -- "$stage" <<<"$text" || fail "no '$stage' in: $text"
done

json=$("$bin" bench --repeat 2 --threads 2 --json "$capture") || fail "vxcheck bench --json exited with $?"
/usr/bin/python3 - "$json" <<'PY' || fail "bad --json output: $json"
import json, sys
j = json.loads(sys.argv[1])
assert j["type"] == "bench" and j["frames"] > 0 and j["repeat"] == 2, j
assert set(j["stages_ns_per_packet"]) >= {"decode", "verify", "track_analyze", "batch_handoff",
                                         "connections", "rpc", "decide_report", "read"}, j
assert j["read"]["frames"] == j["frames"], j
assert [p["threads"] for p in j["pipelines"]] == [1, 2], j
for p in j["pipelines"]:
    assert set(p["stages_ns_per_packet"]) == {"stateless", "connections", "rpc", "decide_report",
                                              "full", "reading", "from_file"}, p
    assert all(len(runs) == 2 for runs in p["passes_seconds"].values()), p
assert j["parallel"]["threads"] == 2 and j["parallel"]["output_identical"] is True, j
assert j["output_identical"] is True, j
assert j["peak_rss_kb"] > 0, j
PY

json=$("$bin" bench --repeat 1 --no-rpc --json "$capture") || fail "vxcheck bench --no-rpc exited with $?"
/usr/bin/python3 - "$json" <<'PY' || fail "bad --no-rpc --json output: $json"
import json, sys
j = json.loads(sys.argv[1])
assert j["stages_ns_per_packet"]["rpc"] is None, j
assert j["pipelines"][0]["passes_seconds"]["full_no_rpc"] == [], j
PY
echo "vxcheck bench smoke test passed"

[ -n "$readloop" ] || exit 0
opts=(--json --runs 1 --no-warm --prefix 10)
command -v "${TCPDUMP:-tcpdump}" >/dev/null || opts+=(--no-tcpdump)
command -v "${TSHARK:-tshark}" >/dev/null || opts+=(--no-tshark)
out=$(bash "$here/compare.sh" "${opts[@]}" "$capture" "$bin" "$readloop")
rc=$?
[ $rc = 0 ] || [ $rc = 1 ] || fail "compare.sh ${opts[*]} exited with $rc: $out"
/usr/bin/python3 - "$out" "$rc" <<'PY' || fail "bad compare.sh --json output: $out"
import json, sys
j = json.loads(sys.argv[1])
rc = int(sys.argv[2])
m = j["machine"]
assert m["cpu_model"] and m["cores"] >= 1 and m["kernel"], m
assert len(m["load_average_before"]) == 3 and all(x >= 0 for x in m["load_average_before"]), m
assert j["frames"] > 10 and j["prefix_frames"] == 10 and j["runs"] == 1, j
tools = j["tools"]
for name in ("cat", "readloop", "vxcheck", "vxcheck_t2"):
    assert tools[name]["pps"] > 0 and len(tools[name]["runs_seconds"]) == 1, (name, tools)
assert tools["readloop"]["packets"] == j["frames"], tools
for name in ("tcpdump", "tshark"):
    if name in tools:
        assert tools[name]["packets"] == 10 and tools[name]["pps"] > 0, (name, tools)
if "tcpdump" in tools:
    assert tools["tcpdump_whole"]["packets"] == j["frames"], tools
assert j["threads_output_identical"] is True, j
ratios = {r["name"]: r for r in j["ratios"]}
assert set(ratios) == {"vxcheck / readloop", "vxcheck --threads 2 / readloop",
                       "vxcheck / tcpdump -vv", "vxcheck / tshark"}, ratios
for r in ratios.values():
    assert r["result"] in ("PASS", "FAIL", "SKIP") and r["target"] > 0, r
    assert (r["value"] is None) == (r["result"] == "SKIP"), r
for name, tool in (("vxcheck / tcpdump -vv", "tcpdump"), ("vxcheck / tshark", "tshark")):
    assert (ratios[name]["result"] == "SKIP") == (tool not in tools), (name, tools)
assert all(r["value"] is None or r["value"] > 0 for r in j["reference_ratios"]), j
assert j["pass"] == all(r["result"] == "PASS" for r in ratios.values()) == (rc == 0), j
PY
echo "compare.sh smoke test passed"

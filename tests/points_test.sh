#!/usr/bin/env bash
# One file with several capture points gives what the same points give as separate files
# (issue 18): tools/make_points_pcaps.py writes each scenario as a pcapng with an interface per
# point, as a `tcpdump -i any` pcap and pcapng (SLL2, an interface index per point) and as a
# pcapng of Ethernet and SLL2 interfaces; tests/points_compare.py compares every connection's
# verdicts, SYN counts and schedule with those of the separate files (named NAME=FILE after
# the interfaces). Usage: points_test.sh VXCHECK
set -u
vxcheck=$1
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
/usr/bin/python3 tools/make_points_pcaps.py "$tmp" || { echo "make_points_pcaps.py failed"; exit 1; }
passed=0
failed=0
check() {  # name, separate.jsonl, one-file args..., -- OLD=NEW...
    local name=$1 separate=$2
    shift 2
    local files=() maps=()
    while [ $# -gt 0 ] && [ "$1" != "--" ]; do files+=("$1"); shift; done
    [ $# -gt 0 ] && shift
    maps=("$@")
    "$vxcheck" analyze --json "${files[@]}" >"$tmp/$name.jsonl" 2>"$tmp/$name.err"
    if /usr/bin/python3 tests/points_compare.py "$separate" "$tmp/$name.jsonl" "${maps[@]}"; then
        passed=$((passed + 1))
    else
        echo "FAIL $name"
        cat "$tmp/$name.err"
        failed=$((failed + 1))
    fi
}
sources() {  # the scenario's separate files, as tools/make_points_pcaps.py lists them
    /usr/bin/python3 - "$1" <<'PY'
import sys
sys.path.insert(0, "tools")
import make_points_pcaps as m
for name, points in m.SCENARIOS:
    if name == sys.argv[1]:
        for point, ifindex, path in points:
            print(f"{point}={path}")
PY
}
for scenario in join lab-node-to-pod; do
    mapfile -t separate < <(sources "$scenario")
    "$vxcheck" analyze --json "${separate[@]}" >"$tmp/$scenario-separate.jsonl" 2>/dev/null
    maps=()
    while IFS= read -r -d '|' m; do maps+=("$m"); done < <(
        /usr/bin/python3 - "$scenario" <<'PY'
import sys
sys.path.insert(0, "tools")
import make_points_pcaps as m
for name, points in m.SCENARIOS:
    if name == sys.argv[1]:
        sys.stdout.write("".join(f"ifindex {i}={p}|" for p, i, _ in points))
PY
    )
    check "$scenario-idbs" "$tmp/$scenario-separate.jsonl" "$tmp/$scenario-idbs.pcapng"
    check "$scenario-any-pcap" "$tmp/$scenario-separate.jsonl" "$tmp/$scenario-any.pcap" -- "${maps[@]}"
    check "$scenario-any-pcapng" "$tmp/$scenario-separate.jsonl" "$tmp/$scenario-any.pcapng" -- "${maps[@]}"
    check "$scenario-mixed" "$tmp/$scenario-separate.jsonl" "$tmp/$scenario-mixed.pcapng" -- "${maps[@]}"
    # Written in a capture tool's read order, not in time order: put back in time order.
    check "$scenario-dumpcap" "$tmp/$scenario-separate.jsonl" "$tmp/$scenario-dumpcap.pcapng"
done
# NAME=FILE names a point; a word with '=' that is an existing file is that file.
summary_points() {  # the file summaries' points, one per line
    /usr/bin/python3 -c '
import json, sys
for line in sys.stdin:
    r = json.loads(line)
    if r["type"] == "summary" and r["scope"] == "file":
        print(r["point"])
'
}
cp pcaps/vxlan-clean.pcap "$tmp/a=b.pcap"
got=$("$vxcheck" analyze --json east=pcaps/vxlan-clean.pcap "$tmp/a=b.pcap" \
    west=pcaps/vxlan-clean.pcap 2>/dev/null | summary_points | tr '\n' '|')
if [ "$got" = "east|a=b|west|" ]; then
    passed=$((passed + 1))
else
    echo "FAIL NAME=FILE points: '$got', expected 'east|a=b|west|'"
    failed=$((failed + 1))
fi
if "$vxcheck" analyze --help | grep -q 'NAME=FILE'; then
    passed=$((passed + 1))
else
    echo "FAIL analyze --help does not mention NAME=FILE"
    failed=$((failed + 1))
fi
# The evidence file of a multi-point run, read again, gives the same points.
"$vxcheck" analyze --json --evidence "$tmp/ev.pcapng" "$tmp/join-idbs.pcapng" >"$tmp/ev-run.jsonl" 2>/dev/null
"$vxcheck" analyze --json "$tmp/ev.pcapng" >"$tmp/ev-again.jsonl" 2>/dev/null
if /usr/bin/python3 tests/points_compare.py "$tmp/ev-run.jsonl" "$tmp/ev-again.jsonl" >/dev/null 2>&1 ||
    [ "$(grep -o '"points":\[[^]]*\]' "$tmp/ev-run.jsonl")" = "$(grep -o '"points":\[[^]]*\]' "$tmp/ev-again.jsonl")" ]; then
    passed=$((passed + 1))
else
    echo "FAIL the evidence file read again gives other points"
    grep -o '"points":\[[^]]*\]' "$tmp/ev-run.jsonl" "$tmp/ev-again.jsonl"
    failed=$((failed + 1))
fi
# NFLOG against tshark: per frame the group, the hook, the prefix and the IP source inside.
if command -v tshark >/dev/null; then
    tshark -r pcaps/nflog-pre-nat.pcap -T fields -E separator=';' -E occurrence=f \
        -e nflog.res_id -e nflog.hook -e nflog.prefix -e ip.src 2>/dev/null >"$tmp/nflog-tshark.txt"
    "$vxcheck" analyze --json --packets all pcaps/nflog-pre-nat.pcap 2>/dev/null | /usr/bin/python3 -c '
import json, sys
for line in sys.stdin:
    r = json.loads(line)
    if r["type"] != "packet":
        continue
    f = next(l for l in r["layers"] if l["proto"] == "nflog")
    ip = next((l["src"] for l in r["layers"] if l["proto"] == "ipv4"), "")
    print(";".join([str(f["group"]), str(f.get("hook", "")), f.get("prefix", ""), ip]))
' >"$tmp/nflog-vxcheck.txt"
    if [ -s "$tmp/nflog-tshark.txt" ] && diff "$tmp/nflog-tshark.txt" "$tmp/nflog-vxcheck.txt"; then
        passed=$((passed + 1))
    else
        echo "FAIL nflog fields differ from tshark's (tshark <, vxcheck >)"
        failed=$((failed + 1))
    fi
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]

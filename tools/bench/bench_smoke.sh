#!/usr/bin/env bash
# bench_smoke.sh VXCHECK CAPTURE: `vxcheck bench` runs on a small capture (CTest). Checks that the
# text report names every stage, that --json is one object with the frame count, and that the
# --threads 2 report is identical to one thread's. No timing is checked.
set -u
bin=$1 capture=$2
fail() { echo "FAIL: $*"; exit 1; }

text=$("$bin" bench --repeat 2 "$capture") || fail "vxcheck bench exited with $?"
for stage in decode "checksums and verdicts" "summary tallies" "track + analyze" "decide + report" \
    "full pipeline" "Mpps" "peak RSS"; do
    grep -q -- "$stage" <<<"$text" || fail "no '$stage' in: $text"
done

json=$("$bin" bench --repeat 2 --threads 2 --json "$capture") || fail "vxcheck bench --json exited with $?"
/usr/bin/python3 - "$json" <<'PY' || fail "bad --json output: $json"
import json, sys
j = json.loads(sys.argv[1])
assert j["type"] == "bench" and j["frames"] > 0 and j["repeat"] == 2, j
assert set(j["stages_ns_per_packet"]) >= {"decode", "verify", "track_analyze"}, j
assert j["parallel"]["threads"] == 2 and j["parallel"]["output_identical"] is True, j
assert j["peak_rss_kb"] > 0, j
PY
echo "bench smoke test passed"

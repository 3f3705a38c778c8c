#!/usr/bin/env bash
# flood_rss.sh [--smoke] VXCHECK [DIR]: peak RSS of `vxcheck analyze` on the floods of issue 22
# item 4, against the memory bound at the defaults (tools/bench/README.md, "Memory bound").
#
#   flood1m     1,000,000 distinct connections to port 2049, one SYN each (gen_flood.py)
#   flood3m     3,000,000 of them
#   vtep4m      4,000,000 VXLAN frames from 4,000,000 distinct VTEP pairs (gen_bounded.py)
#   findings1m  1,000,000 connections whose SYN is retransmitted and never answered:
#               1,000,000 syn_dropped findings, run with --evidence (gen_bounded.py)
#   lists50k    50,000 connections crafted to fill their SYN history and sightings (4 ISNs x 16
#               SYNs each, gen_bounded.py): bounded by --state-budget
#   rpc200k     200,000 NFSv4.1 connections carrying RPC (gen_capture.py, 2,000,000 frames):
#               their RPC state is bounded by --state-budget
#
# Each runs under /usr/bin/time -v, with the text report (the one that keeps rows) to
# /dev/null; the script prints peak RSS, the counters of what the bounds dropped (from a second,
# --json run only with --json-too), and whether the peak stays under the bound. Captures are
# generated into DIR (default /tmp/vxbounded) when missing; they take a few minutes and about
# 1 GB. --smoke (CTest flood_rss_smoke): 4,000 of each in a temporary directory, with bounds
# small enough that every flood hits its own (--max-flows 500 --max-vtep-pairs 500
# --evidence-budget 64K --state-budget 256K), and checks that each counts what it dropped.
set -u
smoke=0
if [[ ${1:-} == --smoke ]]; then
    smoke=1
    shift
fi
bin=${1:?usage: flood_rss.sh [--smoke] VXCHECK [DIR]}
here=$(cd "$(dirname "$0")" && pwd)
if ((smoke)); then
    dir=$(mktemp -d)
    trap 'rm -rf "$dir"' EXIT
    n1=4000 n3=4000 nv=4000 nf=4000 nl=4000 nr=4000
    small=(--max-flows 500 --max-vtep-pairs 500 --evidence-budget 64K --state-budget 256K)
else
    small=()
    dir=${2:-/tmp/vxbounded}
    n1=1000000 n3=3000000 nv=4000000 nf=1000000 nl=50000 nr=200000
fi
mkdir -p "$dir"
# The bound at the defaults, in KiB (tools/bench/README.md: "Memory bound at the defaults").
bound_kib=$((448 * 1024))

gen() {  # gen FILE COMMAND...
    local file=$1
    shift
    [[ -s $file ]] || "$@" "$file" || { echo "FAIL: generating $file"; exit 1; }
}
gen "$dir/flood1m.pcap" python3 "$here/gen_flood.py" --flows "$n1"
gen "$dir/flood3m.pcap" python3 "$here/gen_flood.py" --flows "$n3"
gen "$dir/vtep4m.pcap" python3 "$here/gen_bounded.py" --kind vtep --count "$nv"
gen "$dir/findings1m.pcap" python3 "$here/gen_bounded.py" --kind findings --count "$nf"
gen "$dir/lists.pcap" python3 "$here/gen_bounded.py" --kind lists --count "$nl"
gen_rpc() { python3 "$here/gen_capture.py" --packets $((nr * 10)) --flows "$nr" --manifest - --out "$1" >/dev/null; }
gen "$dir/rpc.pcap" gen_rpc

status=0
printf '%-11s %9s %9s %8s  %s\n' flood "peak KiB" "bound" "seconds" "dropped (JSON totals)"
run() {  # run NAME FILE COUNTER EXTRA-ARGS... (COUNTER: what --smoke expects to be counted)
    local name=$1 file=$2 counter=$3
    shift 3
    set -- "${small[@]}" "$@"
    local log="$dir/$name.time"
    /usr/bin/time -v "$bin" analyze --no-progress --packets none "$@" "$file" >/dev/null 2>"$log"
    local rc=$?
    if ((rc > 1)); then
        echo "FAIL: $name: vxcheck exited with $rc"
        tail -5 "$log"
        status=1
        return
    fi
    local kib secs dropped
    kib=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$log")
    secs=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$log")
    dropped=$("$bin" analyze --json --no-progress --packets none "$@" "$file" 2>/dev/null |
        python3 -c '
import json, sys
for line in sys.stdin:
    j = json.loads(line)
    if j.get("type") == "connections":
        d = j["dropped"]
        print("evicted %d, vtep_pairs %d, evidence_frames %d, connection_detail %d, "
              "rpc_connections %d, findings %d" % (j["evicted"], d["vtep_pairs"],
              d["evidence_frames"], d["connection_detail"], d["rpc_connections"],
              j["with_findings"]))')
    printf '%-11s %9s %9s %8s  %s\n' "$name" "$kib" "$bound_kib" "$secs" "$dropped"
    if ((smoke)) && ! grep -Eq "$counter [1-9]" <<<"$dropped"; then
        echo "FAIL: $name: nothing counted as '$counter' dropped"
        status=1
    fi
    if ((kib > bound_kib)); then
        echo "FAIL: $name: peak RSS $kib KiB above the bound $bound_kib KiB"
        status=1
    fi
}
run flood1m "$dir/flood1m.pcap" evicted
run flood3m "$dir/flood3m.pcap" evicted
run vtep4m "$dir/vtep4m.pcap" vtep_pairs
run findings1m "$dir/findings1m.pcap" evidence_frames --evidence "$dir/findings1m-evidence.pcapng"
rm -f "$dir/findings1m-evidence.pcapng"
run lists50k "$dir/lists.pcap" connection_detail
run rpc200k "$dir/rpc.pcap" rpc_connections
exit $status

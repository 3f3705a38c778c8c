#!/usr/bin/env bash
# A SYN flood of distinct connections into `vxcheck capture` (issue 22, item 5): does a full
# connection table make the capture lose frames? Not a CTest test (it takes seconds to minutes
# and needs root).
#
# Creates two network namespaces joined by a veth pair (removed again on any exit: trap), runs
# `vxcheck capture` on one end and the paced sender vxcheck_synflood_send (tools/bench/
# synflood_send.cc: a packet socket and sendmmsg) on the other, then prints what the sender sent,
# what vxcheck read, the kernel drops vxcheck's own counters show (its last status line and its
# final report) and vxcheck's peak RSS.
#
# Usage: tools/bench/syn_flood.sh [--flows N] [--rate PPS] [--vxcheck BIN] [--sender BIN]
#                                 [-- VXCHECK CAPTURE OPTIONS...]
#   defaults: 1000000 flows at 200000 pps, build/src/vxcheck,
#   build/tools/bench/vxcheck_synflood_send; vxcheck's defaults (--max-flows 200000, ...)
# Needs root (namespaces, packet sockets).
set -euo pipefail

flows=1000000
rate=200000
vx=build/src/vxcheck
sender=build/tools/bench/vxcheck_synflood_send
extra=()
while [ $# -gt 0 ]; do
    case "$1" in
        --flows) flows=$2; shift 2 ;;
        --rate) rate=$2; shift 2 ;;
        --vxcheck) vx=$2; shift 2 ;;
        --sender) sender=$2; shift 2 ;;
        --) shift; extra=("$@"); break ;;
        *) echo "syn_flood.sh: unknown argument $1" >&2; exit 2 ;;
    esac
done
[ "$(id -u)" -eq 0 ] || { echo "syn_flood.sh: needs root" >&2; exit 2; }
[ -x "$vx" ] && [ -x "$sender" ] || { echo "syn_flood.sh: build $vx and $sender first" >&2; exit 2; }

tag=vxf$$
tx=${tag}tx
rx=${tag}rx
out=$(mktemp -d)
vxpid=""
cleanup() {
    if [ -n "$vxpid" ] && kill -0 "$vxpid" 2>/dev/null; then
        kill -INT "$vxpid" 2>/dev/null || true
        sleep 1
        kill -KILL "$vxpid" 2>/dev/null || true
    fi
    ip netns del "$tx" 2>/dev/null || true
    ip netns del "$rx" 2>/dev/null || true
    rm -rf "$out"
}
trap cleanup EXIT INT TERM

ip netns add "$tx"
ip netns add "$rx"
ip link add "${tag}a" netns "$tx" type veth peer name "${tag}b" netns "$rx"
ip -n "$tx" link set "${tag}a" up
ip -n "$rx" link set "${tag}b" up

# vxcheck stops by itself (--duration): the send time, plus time to start and to drain.
duration=$(( flows / rate + 8 ))
ip netns exec "$rx" "$vx" capture -i "${tag}b" --status-interval 1 --duration "$duration" \
    "${extra[@]}" >"$out/report.txt" 2>"$out/stderr.txt" &
vxpid=$!
sleep 2
kill -0 "$vxpid" 2>/dev/null || { cat "$out/stderr.txt" >&2; exit 2; }

ip netns exec "$tx" "$sender" "${tag}a" "$flows" "$rate" >"$out/sender.txt"

# Peak RSS while it finishes (bounded: --duration ends it).
hwm=0
for _ in $(seq 1 $(( (duration + 30) * 2 ))); do
    kill -0 "$vxpid" 2>/dev/null || break
    h=$(awk '/^VmHWM/ {print $2}' "/proc/$vxpid/status" 2>/dev/null || echo 0)
    [ -n "$h" ] && [ "$h" -gt "$hwm" ] && hwm=$h
    sleep 0.5
done
rc=0
wait "$vxpid" || rc=$?
vxpid=""

status=$(grep '^vxcheck: .* kernel drops' "$out/stderr.txt" | tail -1 || true)
final=$(grep -o '[0-9]* frames dropped by the kernel' "$out/report.txt" | head -1 || true)
echo "sender:  $(cat "$out/sender.txt")"
echo "vxcheck: exit $rc, peak RSS ${hwm} kB"
echo "last status line: ${status:-none}"
echo "final report: ${final:-no kernel drops reported}"
grep -E '^ *(connections|TCP connections)|decided early' "$out/report.txt" | head -3 || true

#!/usr/bin/env bash
# Integration test: `vxcheck capture` live in the network-namespace Flannel lab (tools/lab).
# Brings the lab up, captures on node-a's flannel.1 and eth0 and on node-b's eth0 while the
# scenarios run, and checks the verdicts (tests/lab/check_capture.py): double SNAT with a
# variant-B outer checksum whose pre-NAT port is conntrack's, under pre-fix kube-proxy rules;
# no NAT verdict under post-fix rules or pod-to-pod; syn_dropped where a DROP rule is injected;
# the real NFS server's traffic tracked; /metrics agreeing with the verdicts; an interface that
# goes down and comes back. Exit 77 (CTest: skipped) where it cannot run; all traffic stays in
# the lab's namespaces; everything is torn down on any exit. Usage: capture_lab_test.sh VXCHECK
set -uo pipefail
VXCHECK=$(readlink -f "${1:?usage: capture_lab_test.sh VXCHECK_BINARY}")
ROOT=$(cd "$(dirname "$0")/../.." && pwd)

skip() { echo "SKIPPED: $*"; exit 77; }
[ "$(id -u)" -eq 0 ] || skip "needs root (network namespaces, iptables, packet sockets)"
ip netns add vxl-probe 2>/dev/null || skip "cannot create network namespaces here"
ip netns del vxl-probe
ip -n vxl-probe link >/dev/null 2>&1 && ip netns del vxl-probe

# shellcheck source=../../tools/lab/lab.sh
source "$ROOT/tools/lab/lab.sh"
set +e  # lab.sh turns errexit on; this script checks what it needs itself

OUT=$(mktemp -d /tmp/vxcheck-labtest.XXXXXX)
PIDS=()
cleanup() {
    local p
    for p in "${PIDS[@]}"; do kill -INT "$p" 2>/dev/null; done
    sleep 0.5
    for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null; done
    lab_down >/dev/null 2>&1
    echo "lab torn down; outputs kept in $OUT"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# capture NAME NS ARGS...: vxcheck capture in a namespace, JSON to $OUT/NAME.jsonl
capture() {
    local name=$1 ns=$2
    shift 2
    ip netns exec "$ns" timeout -k 5 120 "$VXCHECK" capture --json --status-interval 1 "$@" \
        >"$OUT/$name.jsonl" 2>"$OUT/$name.err" &
    PIDS+=($!)
    local i
    for i in $(seq 1 50); do
        grep -q "capturing on" "$OUT/$name.err" 2>/dev/null && return 0
        sleep 0.1
    done
    echo "capture $name did not start:"; cat "$OUT/$name.err"; exit 1
}

stop_captures_now() {
    local p
    for p in "${PIDS[@]}"; do kill -INT "$p" 2>/dev/null; done
    for p in "${PIDS[@]}"; do
        for _ in $(seq 1 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    done
    PIDS=()
}

client() {  # client NS TARGET COUNT CONNECT_TIMEOUT
    ip netns exec "$1" timeout -k 5 60 "$PY" "$HERE/rpc_client.py" "$2" "$SVC_PORT" \
        --count "$3" --connect-timeout "$4" --reply-timeout 3 >>"$OUT/clients.txt" 2>&1
}

echo "== lab up (pre-fix kube-proxy rules)"
( lab_up --rules prefix ) >"$OUT/lab-up.log" 2>&1 || { cat "$OUT/lab-up.log"; exit 1; }
grep -E "sanity|lab is up" "$OUT/lab-up.log"

echo "== phase 1: pre-fix rules: node->ClusterIP, pod->pod, injected SYN drop"
for ns in "$NS_NODE_A" "$NS_NODE_B"; do nsx "$ns" conntrack -F >/dev/null 2>&1; done
capture prefix-node-a "$NS_NODE_A" -i flannel.1 -i eth0 --metrics-listen 127.0.0.1:9474 \
    -w "$OUT/prefix-node-a.pcapng"
capture prefix-node-b "$NS_NODE_B" -i eth0
client "$NS_NODE_A" "$SVC_IP" 3 5
client "$NS_POD_A" "$POD_B_IP" 1 5
nsx "$NS_NODE_B" iptables -I FORWARD -p tcp --dport "$SVC_PORT" --syn -j DROP
client "$NS_POD_A" "$POD_B_IP" 1 4
nsx "$NS_NODE_B" iptables -D FORWARD -p tcp --dport "$SVC_PORT" --syn -j DROP
nsx "$NS_NODE_A" conntrack -L >"$OUT/prefix-conntrack.txt" 2>/dev/null
sleep 1.5  # let the last verdicts settle (0.5 s) and reach /metrics
nsx "$NS_NODE_A" curl -s --max-time 5 http://127.0.0.1:9474/metrics >"$OUT/prefix-metrics.txt"
stop_captures_now

echo "== phase 2: post-fix rules (kubernetes PR 92035); flannel.1 goes down and up meanwhile"
( apply_rules postfix current ) >/dev/null 2>&1
for ns in "$NS_NODE_A" "$NS_NODE_B"; do nsx "$ns" conntrack -F >/dev/null 2>&1; done
capture postfix-node-a "$NS_NODE_A" -i flannel.1 -i eth0
client "$NS_NODE_A" "$SVC_IP" 2 5
nsx "$NS_NODE_A" ip link set flannel.1 down
sleep 1.5
nsx "$NS_NODE_A" ip link set flannel.1 up
# What flanneld restores after a link flap: the neighbour entry and the route of the peer lease.
nsx "$NS_NODE_A" ip neigh replace "$NODE_B_VTEP" lladdr "$MAC_B_VTEP" dev flannel.1 nud permanent
nsx "$NS_NODE_A" ip route replace "$NODE_B_SUBNET" via "$NODE_B_VTEP" dev flannel.1 onlink
sleep 2.5
client "$NS_NODE_A" "$SVC_IP" 1 5
nsx "$NS_NODE_A" conntrack -L >"$OUT/postfix-conntrack.txt" 2>/dev/null
sleep 1
stop_captures_now

echo "== checks"
/usr/bin/python3 "$ROOT/tests/lab/check_capture.py" "$OUT"

#!/usr/bin/env bash
# The captures in pcaps/ are exactly what the deterministic generators write: tools/make_pcaps.py
# (pcaps/, pcaps/bad/), tools/make_nfs_pcaps.py (pcaps/nfs/), tools/make_nat_pcaps.py
# (pcaps/nat/), tools/make_tunnel_pcaps.py (GRE, ERSPAN, MPLS, IP-in-IP in pcaps/),
# tools/make_frag_pcaps.py (pcaps/reassembly/) and tools/make_points_pcaps.py --fixtures (the
# NFLOG captures, points-beyond-cap.pcapng).
set -u
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
/usr/bin/python3 tools/make_pcaps.py "$tmp" >/dev/null || { echo "make_pcaps.py failed"; echo "0 passed, 1 failed"; exit 1; }
/usr/bin/python3 tools/make_nfs_pcaps.py "$tmp/nfs" >/dev/null || { echo "make_nfs_pcaps.py failed"; echo "0 passed, 1 failed"; exit 1; }
/usr/bin/python3 tools/make_nat_pcaps.py "$tmp/nat" >/dev/null || { echo "make_nat_pcaps.py failed"; echo "0 passed, 1 failed"; exit 1; }
/usr/bin/python3 tools/make_tunnel_pcaps.py "$tmp" >/dev/null || { echo "make_tunnel_pcaps.py failed"; echo "0 passed, 1 failed"; exit 1; }
/usr/bin/python3 tools/make_frag_pcaps.py "$tmp/reassembly" >/dev/null || { echo "make_frag_pcaps.py failed"; echo "0 passed, 1 failed"; exit 1; }
/usr/bin/python3 tools/make_points_pcaps.py --fixtures "$tmp" >/dev/null || { echo "make_points_pcaps.py failed"; echo "0 passed, 1 failed"; exit 1; }
passed=0
failed=0
while IFS= read -r f; do
    rel=${f#pcaps/}
    if cmp -s "$f" "$tmp/$rel"; then
        passed=$((passed + 1))
    else
        echo "FAIL $f differs from what its generator in tools/ writes"
        failed=$((failed + 1))
    fi
done < <(find pcaps -type f \( -name '*.pcap' -o -name '*.pcapng' \) | sort)
extra=$(find "$tmp" -type f | sed "s|^$tmp/||" | while read -r g; do [ -e "pcaps/$g" ] || echo "$g"; done)
if [ -n "$extra" ]; then
    echo "FAIL generated but not committed: $extra"
    failed=$((failed + 1))
fi
# The RPC comparison's byte checks, and tshark dissecting every NFS story without a malformed frame.
if /usr/bin/python3 tools/rpc_tshark_compare.py --self-test >/dev/null; then
    passed=$((passed + 1))
else
    echo "FAIL tools/rpc_tshark_compare.py --self-test"
    failed=$((failed + 1))
fi
if command -v tshark >/dev/null; then
    if /usr/bin/python3 tools/rpc_tshark_compare.py --tshark-only --strict pcaps/nfs >/dev/null; then
        passed=$((passed + 1))
    else
        echo "FAIL tshark finds malformed frames in pcaps/nfs (rpc_tshark_compare.py --tshark-only --strict)"
        failed=$((failed + 1))
    fi
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]

"""The lab's conntrack dumps (`conntrack -L` on node-a), parsed once for tools/lab/compare.py and
the lab tests' checkers (tests/lab/check_scenarios.py, tests/lab/check_recorded_nat.py)."""
import re

# node-a's underlay address: the VXLAN flows it sends are the ones its outer SNAT rewrites.
CLIENT_NODE = "192.168.77.10"


def nat_entries(path, missing_ok=False):
    """Yields (kind, srcs, dsts, sports, dports) for every entry with both tuples: kind "nfs" (TCP
    to port 2049) or "vxlan" (UDP to 8472 from node-a); index 0 is the original tuple, 1 the
    reply. A missing file yields nothing when missing_ok, else raises."""
    try:
        lines = open(path).read().splitlines()
    except OSError:
        if missing_ok:
            return
        raise
    for line in lines:
        f = line.split()
        if not f:
            continue
        srcs = re.findall(r"src=(\S+)", line)
        dsts = re.findall(r"dst=(\S+)", line)
        sps = [int(x) for x in re.findall(r"sport=(\d+)", line)]
        dps = [int(x) for x in re.findall(r"dport=(\d+)", line)]
        if len(srcs) < 2 or len(sps) < 2:
            continue
        if f[0] == "tcp" and dps[0] == 2049:
            yield "nfs", srcs, dsts, sps, dps
        elif f[0] == "udp" and dps[0] == 8472 and srcs[0] == CLIENT_NODE:
            yield "vxlan", srcs, dsts, sps, dps

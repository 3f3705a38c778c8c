#!/usr/bin/env python3
"""The NAT join on real kernel traffic (issue 18): tools/lab/recorded/prenat holds two runs of
the lab (tools/lab/lab.sh scenario ...) with a pre-NAT tap, captured at seven points: node-a's
NFLOG taps before NAT (the TCP as sent, nflog group 1; the outer VXLAN packets before
POSTROUTING, group 2), node-a flannel.1 and eth0, node-b eth0, flannel.1 and cni0. node-a's
conntrack table, dumped right after the traffic, is the ground truth of both NATs.

For every connection vxcheck reports (the files given in path order, as tools/lab/lab.sh gives
them; vxcheck merges them by time, and equal timestamps go in command-line order): the tuple as sent equals conntrack's original tuple, inner_snat is
proven, outer_snat is proven with the pre-NAT port conntrack recorded (or absent where conntrack
shows the outer port kept), and the hops are in path order. In the oldflannel run node-b drops
the first SYN of each connection (bad outer checksum; the lab's NIC simulation verifies it): the
report must say that SYN was last seen at node-b-eth0 and never reached node-b-flannel1.

With --without-syns the same runs are read with every SYN and SYN-ACK taken out first (tshark,
at every point: as a capture that began after the mounts were made): the records are then
joined by the client's data segments, with the same as_sent, proven SNATs and hops; the SYN
check of the oldflannel run is replaced by "outcome no_syn". Exit 77 (skipped) without tshark.

Usage: check_recorded_nat.py [--without-syns] VXCHECK RECORDED_DIR. Prints one line per check,
then "N passed, M failed"; exit 0 iff M == 0.
"""
import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools", "lab"))
from conntrack import nat_entries  # noqa: E402

PATH = ["node-a-prenat-tcp", "node-a-flannel1", "node-a-prenat-vxlan", "node-a-eth0",
        "node-b-eth0", "node-b-flannel1", "node-b-cni0"]
GIVEN = PATH


def conntrack(path):
    """post-NAT client port -> (as sent client, as sent server); post-NAT outer port -> pre-NAT."""
    inner, outer = {}, {}
    for kind, srcs, dsts, sps, dps in nat_entries(path):
        if kind == "nfs":
            inner[dps[1]] = ("%s:%d" % (srcs[0], sps[0]), "%s:%d" % (dsts[0], dps[0]))
        else:
            outer[dps[1]] = sps[0]
    return inner, outer


def without_syns(d, out):
    """Copies RECORDED_DIR's captures into `out` without SYNs and SYN-ACKs (inside VXLAN too)."""
    for f in glob.glob(os.path.join(d, "*.pcap")):
        subprocess.run(["tshark", "-r", f, "-d", "udp.port==8472,vxlan", "-Y",
                        "not (tcp.flags.syn == 1)", "-w", os.path.join(out, os.path.basename(f))],
                       check=True, capture_output=True)
    for f in glob.glob(os.path.join(d, "*-conntrack.txt")):
        shutil.copy(f, out)


def main():
    args = sys.argv[1:]
    no_syns = "--without-syns" in args
    args = [a for a in args if a != "--without-syns"]
    vx, d = args[0], args[1]
    if no_syns:
        if shutil.which("tshark") is None:
            print("SKIPPED: tshark not installed")
            return 77
        tmp = tempfile.mkdtemp(prefix="vxcheck-nosyn.")
        without_syns(d, tmp)
        d = tmp
    passed = failed = 0

    def check(ok, what):
        nonlocal passed, failed
        print(("ok   " if ok else "FAIL ") + what)
        if ok:
            passed += 1
        else:
            failed += 1

    for scenario in ("node-to-pod-prefix", "node-to-pod-postfix-oldflannel"):
        files = ["%s=%s/%s-%s.pcap" % (p, d, scenario, p) for p in GIVEN]
        out = subprocess.run([vx, "analyze", "--json"] + files, capture_output=True, text=True)
        conns = [json.loads(l) for l in out.stdout.splitlines() if '"type":"connection"' in l]
        inner, outer = conntrack("%s/%s-conntrack.txt" % (d, scenario))
        check(len(conns) == 3, "%s: 3 connections reported (got %d)" % (scenario, len(conns)))
        for c in conns:
            port = int(c["client"].rsplit(":", 1)[1])
            name = "%s %s" % (scenario, c["client"])
            truth = inner.get(port)
            sent = c.get("as_sent") or {}
            check(truth is not None and (sent.get("client"), sent.get("server")) == truth,
                  "%s: as_sent %s -> %s, conntrack %s" % (
                      name, sent.get("client"), sent.get("server"), truth))
            check((c.get("inner_snat") or {}).get("basis") == "proven",
                  "%s: inner_snat proven" % name)
            hops = [h["point"].split(":")[0] for h in c.get("hops", []) if h.get("code") == "seen"]
            check(hops == PATH, "%s: hops in path order %s" % (name, hops))
            sports = (c.get("tunnel") or {}).get("outer_sports", [])
            o = c.get("outer_snat") or {}
            pre = outer.get(sports[0]) if sports else None
            if pre is not None and pre != sports[0]:
                check(o.get("basis") == "proven" and o.get("pre_nat_port") == pre,
                      "%s: outer_snat proven, pre-NAT port %s (conntrack %d)" % (
                          name, o.get("pre_nat_port"), pre))
            if no_syns:
                check(c.get("outcome") == "no_syn" and c.get("syns") == 0,
                      "%s: no SYN in the capture (outcome %s)" % (name, c.get("outcome")))
            elif scenario.endswith("oldflannel"):
                lost = [h for h in c.get("hops", []) if h.get("code") == "never_reached"]
                check(any(h.get("syn_number") == 1 and h.get("last_point") == "node-b-eth0"
                          and h.get("missing_points", [None])[0] == "node-b-flannel1"
                          for h in lost),
                      "%s: SYN #1 last seen at node-b-eth0, never reached node-b-flannel1" % name)
    print("%d passed, %d failed" % (passed, failed))
    if no_syns:
        shutil.rmtree(d, ignore_errors=True)
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())

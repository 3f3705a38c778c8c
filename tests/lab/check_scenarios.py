#!/usr/bin/env python3
"""Checks vxcheck's NAT path on lab scenario captures against the kernel's ground truth (issue 18
item 7): node-a's conntrack table, dumped right after the traffic, and the drop rule each
silent-drop scenario injected. Used by the lab test on fresh runs (tests/lab/
scenarios_lab_test.sh) and by CTest on the recorded run (tools/lab/recorded/lastseen).

For every scenario: vxcheck analyze --json over every capture point the run has, in path order
(as tools/lab/lab.sh analyze gives them). For every connection to 2049:
  - NATed on node-a (conntrack's original tuple differs from the one on the underlay): as_sent
    equals conntrack's original tuple and inner_snat is proven; without NAT: no as_sent and no
    inner_snat;
  - outer SNAT: where conntrack shows node-a's VXLAN flow of the connection's first outer port,
    outer_snat is proven with conntrack's original port when it was rewritten, and absent when
    it was kept;
  - silent drops: the dropped connection's SYNs were last seen where the rule sits and never
    reached the next point (silent-drop-raw: node-b-eth0 / node-b-flannel1; silent-drop-forward:
    node-b-flannel1 / node-b-cni0); with no other traffic (silent-drop), each SYN's hop says the
    order beyond node-b-flannel1 is unknown and names no wrong point;
  - data drops (data-drop: large VXLAN packets dropped in node-b's raw PREROUTING): the large
    call is unanswered and each of its lost transmissions was last seen at node-b-eth0 and never
    reached node-b-flannel1; in every other scenario no data packet is called lost.

Usage: check_scenarios.py VXCHECK DIR SCENARIO... Prints one line per check, then
"N passed, M failed"; exit 0 iff M == 0 (and at least one check ran).
"""
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools", "lab"))
from conntrack import nat_entries  # noqa: E402

POINTS = ["node-a-prenat-tcp", "node-a-prenat-vxlan", "node-a-cni0", "node-a-flannel1",
          "node-a-eth0", "node-b-eth0", "node-b-flannel1", "node-b-cni0"]
DROPS = {"silent-drop-raw": ("node-b-eth0", "node-b-flannel1"),
         "silent-drop-forward": ("node-b-flannel1", "node-b-cni0")}
# Scenarios that drop data packets: where each lost transmission was last seen, the first point
# it never reached.
DATA_DROPS = {"data-drop": ("node-b-eth0", "node-b-flannel1")}


def conntrack(path):
    """post-NAT client port -> (client as sent, server as sent); outer port on the wire -> the
    VXLAN socket's port (node-a -> node-b)."""
    inner, outer = {}, {}
    for kind, srcs, dsts, sps, dps in nat_entries(path, missing_ok=True):
        if kind == "nfs":
            inner[(dsts[1], dps[1])] = ("%s:%d" % (srcs[0], sps[0]), "%s:%d" % (dsts[0], dps[0]))
        else:
            outer[dps[1]] = sps[0]
    return inner, outer


def main():
    vx, d, scenarios = sys.argv[1], sys.argv[2], sys.argv[3:]
    passed = failed = 0

    def check(ok, what):
        nonlocal passed, failed
        print(("ok   " if ok else "FAIL ") + what)
        if ok:
            passed += 1
        else:
            failed += 1

    for sc in scenarios:
        files = ["%s=%s/%s-%s.pcap" % (p, d, sc, p) for p in POINTS
                 if os.path.exists("%s/%s-%s.pcap" % (d, sc, p))]
        if not files:
            check(False, "%s: no captures in %s" % (sc, d))
            continue
        out = subprocess.run([vx, "analyze", "--json"] + files, capture_output=True, text=True)
        conns = [json.loads(l) for l in out.stdout.splitlines() if '"type":"connection"' in l]
        conns = [c for c in conns if c["server"].endswith(":2049")]
        inner, outer = conntrack("%s/%s-conntrack.txt" % (d, sc))
        check(len(conns) > 0, "%s: %d connection(s) reported" % (sc, len(conns)))
        for c in conns:
            ip, port = c["client"].rsplit(":", 1)
            name = "%s %s" % (sc, c["client"])
            truth = inner.get((ip, int(port)))
            sent = c.get("as_sent") or {}
            if truth is None:
                check(not sent, "%s: no conntrack entry, no as_sent (%s)" % (name, sent or "-"))
            elif truth != (c["client"], c["server"]):
                check((sent.get("client"), sent.get("server")) == truth,
                      "%s: as_sent %s -> %s, conntrack %s -> %s" % (
                          name, sent.get("client"), sent.get("server"), *truth))
                check((c.get("inner_snat") or {}).get("basis") == "proven",
                      "%s: inner_snat proven (%s)" % (name, c.get("inner_snat")))
            else:
                check(not sent and "inner_snat" not in c["verdicts"],
                      "%s: no NAT in conntrack, none reported (as_sent %s, verdicts %s)" % (
                          name, sent or "-", c["verdicts"]))
            # The outer ports seen include the pre-NAT one (the NFLOG tap before POSTROUTING);
            # conntrack knows the connection's VXLAN flow by the port on the wire.
            sports = (c.get("tunnel") or {}).get("outer_sports", [])
            o = c.get("outer_snat") or {}
            wire = [(p, outer[p]) for p in sports if p in outer]
            rewritten = [(p, pre) for p, pre in wire if pre != p]
            if rewritten:
                p, pre = rewritten[0]
                check(o.get("basis") == "proven" and o.get("pre_nat_port") == pre,
                      "%s: outer_snat proven, pre-NAT port %s (conntrack %d -> %d)" % (
                          name, o.get("pre_nat_port"), pre, p))
            elif wire:
                check("outer_snat" not in c["verdicts"],
                      "%s: outer port %d kept (conntrack), no outer_snat (%s)" % (
                          name, wire[0][0], c["verdicts"]))
            hops = c.get("hops", [])
            lost = [h for h in hops if h.get("code") == "never_reached"]
            unknown = [h for h in hops if h.get("code") == "order_unknown"]
            if sc in DROPS and "syn_dropped" in c["verdicts"]:
                last, first_missing = DROPS[sc]
                check(len(lost) == c["syns"] and all(
                    h.get("last_point") == last and h.get("missing_points") == [first_missing]
                    for h in lost),
                    "%s: each of %d SYNs last seen at %s, never reached %s (%s)" % (
                        name, c["syns"], last, first_missing,
                        [(h.get("last_point"), h.get("missing_points")) for h in lost]))
            elif sc == "silent-drop" and "syn_dropped" in c["verdicts"]:
                check(not lost and len(unknown) == c["syns"] and all(
                    "node-b-flannel1" in h.get("seen_points", []) for h in unknown),
                    "%s: each of %d SYNs seen up to node-b-flannel1, the order beyond unknown "
                    "(%s)" % (name, c["syns"], [h.get("explanation") for h in hops]))
            elif sc in DROPS or sc == "silent-drop":
                check(False, "%s: syn_dropped expected (%s)" % (name, c["verdicts"]))
            elif sc in DATA_DROPS:
                pass  # the data hops are checked below
            else:
                check(not unknown and all(
                    h.get("last_point") == "node-b-eth0" for h in lost),
                    "%s: no SYN lost except at node-b-eth0 (bad checksum) (%s)" % (
                        name, [h.get("explanation") for h in lost + unknown]))
            data = [h for h in hops if h.get("code") == "data_never_reached"]
            if sc in DATA_DROPS:
                last, first_missing = DATA_DROPS[sc]
                check("rpc_unanswered" in c["verdicts"],
                      "%s: rpc_unanswered (%s)" % (name, c["verdicts"]))
                check(len(data) > 0 and all(
                    h.get("direction") == "to_server" and h.get("last_point") == last and
                    h.get("missing_points") == [first_missing] for h in data),
                    "%s: every lost data packet last seen at %s, never reached %s (%s)" % (
                        name, last, first_missing,
                        [(h.get("seq"), h.get("length"), h.get("last_point"),
                          h.get("missing_points")) for h in data]))
            else:
                # Real kernel traffic (offloads, NFLOG taps, several interfaces): no data
                # packet is called lost where none was dropped.
                check(not data, "%s: no data packet lost (%s)" % (
                    name, [h.get("explanation") for h in data]))
    print("%d passed, %d failed" % (passed, failed))
    return 0 if failed == 0 and passed > 0 else 1


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Compares vxcheck's connection verdicts for one lab scenario with the ground truth
the lab has and vxcheck does not: node-a's conntrack table, dumped right after the
traffic (DIR/<scenario>-conntrack.txt).

conntrack shows every NAT that happened on node-a:
  inner  tcp  src=192.168.77.10 sport=S dst=10.96.0.10 ... | src=10.244.2.5 dst=10.244.1.0 dport=S'
         -> the host client's packet left as 10.244.1.0:S' (inner SNAT; S != S' under --random-fully)
  outer  udp  src=192.168.77.10 sport=P dst=192.168.77.20 dport=8472 ... | ... dport=P'
         -> the VXLAN packet with source port P left as P' (outer SNAT when P != P')

For each connection vxcheck reported: its verdicts, what conntrack says happened, and
whether vxcheck could have seen it from the captures (a post-NAT port that is still inside
the normal range, with a valid checksum, carries no trace of the NAT: nothing in the
captures shows the pre-NAT packet). Variant B pre-NAT ports recovered by vxcheck are
checked against conntrack's original source port.

Usage: compare.py DIR SCENARIO   (reads DIR/SCENARIO-vxcheck.json and -conntrack.txt)
"""
import json
import sys

import conntrack

EPHEMERAL = (32768, 60999)      # net.ipv4.ip_local_port_range in the lab (kernel default)
VXLAN_RANGE = (32768, 60998)    # udp_flow_src_port(): [min, max) of the same range

EXPECT = {
    "node-to-pod-prefix": "double_snat + outer_checksum_corrupted (variant B, pre-NAT port = conntrack original sport)",
    "node-to-pod-postfix": "no outer NAT verdict (inner_snat may appear)",
    "pod-to-pod": "clean",
    "silent-drop": "syn_dropped; the order beyond node-b flannel.1 unknown (no other traffic)",
    "silent-drop-raw": "syn_dropped; last seen at node-b eth0, never reached node-b flannel.1",
    "silent-drop-forward": "syn_dropped; last seen at node-b flannel.1, never reached node-b cni0",
    "node-to-pod-prefix-nicsim": "delayed_connect + double_snat + outer_checksum_corrupted (variant B)",
    "node-to-pod-prefix-workaround": "no outer_checksum_corrupted; outer_snat only when the NATed port is out of range",
    "node-to-pod-postfix-oldflannel": "delayed_connect + double_snat + outer_checksum_corrupted (flannel#1679 residual path)",
    "nfs-clients": "double_snat on the ClusterIP connections; no rpc_*/nfs_* verdict (real libnfs clients)",
}


def parse_conntrack(path):
    inner = {}   # post-NAT client port -> (orig src, orig sport, reply dst, orig dst:dport)
    outer = {}   # post-NAT outer sport -> pre-NAT outer sport (node-a -> node-b flows)
    for kind, srcs, dsts, sps, dps in conntrack.nat_entries(path, missing_ok=True):
        if kind == "nfs":
            inner[dps[1]] = (srcs[0], sps[0], dsts[1], "%s:%d" % (dsts[0], dps[0]))
        else:
            outer[dps[1]] = sps[0]
    return inner, outer


PRE_NAT_FILES = []


def main():
    d, sc = sys.argv[1], sys.argv[2]
    import glob
    PRE_NAT_FILES.extend(glob.glob("%s/%s-node-a-prenat-tcp.pcap" % (d, sc)))
    inner, outer = parse_conntrack("%s/%s-conntrack.txt" % (d, sc))
    conns = []
    for line in open("%s/%s-vxcheck.json" % (d, sc)):
        try:
            o = json.loads(line)
        except ValueError:
            continue
        if o.get("type") == "connection":
            conns.append(o)
    print("  expected: %s" % EXPECT.get(sc, "?"))
    for o in conns:
        v = set(o.get("verdicts", []))
        cip, cport = o["client"].rsplit(":", 1)
        cport = int(cport)
        notes = []
        # inner truth
        t = inner.get(cport)
        inner_nat = bool(t) and (t[0] != cip or t[1] != cport)
        if inner_nat:
            visible = not (EPHEMERAL[0] <= cport <= EPHEMERAL[1])
            notes.append("inner SNAT %s:%d -> %s:%d (%s)" % (
                t[0], t[1], cip, cport,
                ("found" if "inner_snat" in v else "MISSED") if visible else
                ("found" if "inner_snat" in v else "not visible: port inside the ephemeral range")))
        elif "inner_snat" in v:
            notes.append("inner_snat reported but conntrack shows no inner NAT: FALSE POSITIVE")
        # the tuple as sent (a pre-NAT tap joined to this connection) against conntrack's original
        sent = o.get("as_sent")
        if t and sent:
            truth = ("%s:%d" % (t[0], t[1]), t[3])
            got = (sent["client"], sent["server"])
            basis = (o.get("inner_snat") or {}).get("basis", "-")
            notes.append("as_sent %s -> %s at %s %s; inner_snat %s" % (
                got[0], got[1], sent["point"], "== conntrack" if got == truth else
                "!= conntrack %s -> %s: WRONG" % truth, basis))
        elif inner_nat and PRE_NAT_FILES:
            notes.append("no as_sent although the pre-NAT tap was captured: MISSED")
        # outer truth
        bad = {c["sport"]: c for c in o.get("corrupted_outer", [])}
        for sp in (o.get("tunnel") or {}).get("outer_sports", []):
            pre = outer.get(sp)
            if pre is not None and pre != sp:
                if sp in bad:
                    rec = bad[sp].get("pre_nat_sport")
                    notes.append("outer SNAT %d -> %d: variant %s, vxcheck pre-NAT %s %s" % (
                        pre, sp, bad[sp].get("variant"), rec,
                        "== conntrack" if rec == pre else "!= conntrack %d: WRONG" % pre))
                else:
                    visible = not (VXLAN_RANGE[0] <= sp < VXLAN_RANGE[1])
                    notes.append("outer SNAT %d -> %d, checksum valid (%s)" % (
                        pre, sp, ("found" if "outer_snat" in v else "MISSED") if visible
                        else ("found" if "outer_snat" in v else "not visible: port in range, checksum valid")))
            elif pre is not None and sp in bad:
                notes.append("outer sport %d flagged corrupted but conntrack shows no NAT: FALSE POSITIVE" % sp)
            elif pre is None and sp < 32768 and "outer_snat" in v:
                pass  # conntrack entry gone; cannot judge
        print("  %-20s %-62s %s" % (o["client"], ",".join(o.get("verdicts", [])), "; ".join(notes) or "no NAT in conntrack"))


if __name__ == "__main__":
    main()

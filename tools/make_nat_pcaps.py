#!/usr/bin/python3
"""Deterministic generator for the NAT-path captures in pcaps/nat/ (issue 18 items 3-6).

Usage:  /usr/bin/python3 tools/make_nat_pcaps.py [-v] [OUTDIR]   (default: pcaps/nat/ beside tools/)

Every story writes one file per capture point, <story>-<point>.pcap, as separate files (one
point each).  The points, in path order for a connection from node a to node b:
  node-a-prenat     before NAT on node a (raw IP, LINKTYPE_RAW 101): what an NFLOG rule in the
                    raw table shows: the host client's TCP as sent (client -> ClusterIP) and the
                    outer VXLAN UDP before POSTROUTING (its source port before the outer SNAT)
  node-a-flannel1   node a's flannel.1 (after DNAT and the inner SNAT)
  node-a-eth0       node a's underlay (after the outer SNAT)
  node-b-eth0       node b's underlay
  node-b-flannel1   node b's flannel.1 (what survived decapsulation)
  node-b-cni0       node b's cni0 bridge (what node b forwarded to the pod; drop-* stories only)
NAT keeps the SYN's ISN, IPv4 identification and TCP options: the pre-NAT and post-NAT SYNs are
built from two TcpConv objects in lockstep (same ISN, IP IDs and TSvals, other tuples).
Per-hop delays: prenat -> flannel.1 5 us, -> outer before POSTROUTING 8 us, -> eth0 21 us,
wire 175 us, node-b eth0 -> flannel.1 22 us.
"""

import os
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_pcaps as mp  # noqa: E402  (the shared builders)
import make_nfs_pcaps as nf  # noqa: E402  (ONC RPC and NFS builders)

from make_pcaps import (LINKTYPE_RAW, OK, PARTIAL, Pcap, TcpConv, at,  # noqa: E402
                        inner_frame, vxlan_frame, variant_b_frame)

HOST_A = mp.NODE_IP["a"]           # the host-network client on node a (mount.nfs, kubelet)
CLUSTER_IP = "10.96.0.10"          # the NFS service's ClusterIP
POD_B = mp.POD_IP["b"]             # the NFS server pod on node b
POD_A = mp.POD_IP["a"]
FLANNEL_A = mp.FLANNEL_IP["a"]     # node a's flannel.1 address (x.y.z.0): the inner SNAT
NFS = mp.NFS_PORT

PRENAT, A_FL, A_ETH, B_ETH, B_FL = ("node-a-prenat", "node-a-flannel1", "node-a-eth0",
                                    "node-b-eth0", "node-b-flannel1")
POINTS = [PRENAT, A_FL, A_ETH, B_ETH, B_FL]
B_CNI = "node-b-cni0"
POD_PATH = [A_FL, A_ETH, B_ETH, B_FL, B_CNI]   # pod a -> pod b; the way back is the reverse
# Microseconds from node a's flannel.1 (or node b's cni0 on the way back) to each point.
POD_DELAY = {A_FL: 0, A_ETH: 16, B_ETH: 191, B_FL: 213, B_CNI: 220}


class Story:
    """Frames per point, placed at explicit times and written in time order per file."""

    def __init__(self, points):
        self.events = {p: [] for p in points}
        self.oa, self.ob = mp.OuterIds(0x3A00), mp.OuterIds(0x5D40)

    def put(self, point, t, frame, note):
        self.events[point].append((t, len(self.events[point]), frame, note))

    def files(self):
        out = {}
        for p, ev in self.events.items():
            cap = Pcap(linktype=LINKTYPE_RAW) if p == PRENAT else Pcap()
            for t, _, frame, note in sorted(ev):
                at(cap, t, frame, note)
            out[p] = cap
        return out


def outer(story, t, inner, sport, mode, pre_sport):
    """The outer VXLAN frame node a sends at t: mode 'ok', 'variant-b' (checksum valid for
    pre_sport) or 'partial' (checksum in partial form, as before TX offload fills it)."""
    ident = story.oa(t)
    if mode == "variant-b":
        return ident, variant_b_frame("a", "b", inner, ident, sport, pre_sport)
    return ident, vxlan_frame("a", "b", inner, ident, sport=sport,
                              csum=PARTIAL if mode == "partial" else OK)


def client_packet(story, t, label, pre_ip, post_ip, sport, pre_sport, mode, reaches,
                  prenat=True, prenat_outer=True):
    """One client -> server packet along the path; `reaches`: the last point it gets to."""
    inner = inner_frame("a", "b", post_ip)
    ident, frame = outer(story, t + 21, inner, sport, mode, pre_sport)
    pre_outer = vxlan_frame("a", "b", inner, ident, sport=pre_sport,
                            csum=PARTIAL if mode == "partial" else OK)
    path = []
    if prenat:
        path += [(PRENAT, t, pre_ip)]
    if prenat and prenat_outer:
        path += [(PRENAT, t + 8, pre_outer[14:])]
    path += [(A_FL, t + 5, inner), (A_ETH, t + 21, frame), (B_ETH, t + 196, frame),
             (B_FL, t + 218, inner)]
    order = [A_FL, A_ETH, B_ETH, B_FL]
    last = order.index(reaches)
    for point, when, f in path:
        if point in order and order.index(point) > last:
            continue
        story.put(point, when, f, "%s at %s" % (label, point))


def server_packet(story, t, label, ip, sport=mp.VXLAN_SPORT["b"]):
    inner = inner_frame("b", "a", ip)
    frame = vxlan_frame("b", "a", inner, story.ob(t + 19), sport=sport, csum=OK)
    for point, when, f in [(B_FL, t, inner), (B_ETH, t + 19, frame), (A_ETH, t + 195, frame),
                           (A_FL, t + 218, inner)]:
        story.put(point, when, f, "%s at %s" % (label, point))


def nat_connection(story, t0, pre, post, syns, isn=0x6A5B4C3D, id_c=0x4100, ts_c=3100000000,
                   prenat=True, prenat_outer=True):
    """A host client's connection to the ClusterIP: pre = (client, cport, server, sport) as
    sent, post = the same after DNAT and the inner SNAT.  syns: (t offset, outer sport after
    POSTROUTING, outer sport before it, mode, last point reached).  The last SYN is answered
    when it reaches node-b flannel.1."""
    cp = TcpConv(pre[0], pre[1], pre[2], pre[3], isn, 0x11223344, id_c, 0x7700, ts_c, 900000000)
    cq = TcpConv(post[0], post[1], post[2], post[3], isn, 0x11223344, id_c, 0x7700, ts_c,
                 900000000)
    for n, (dt, sport, pre_sport, mode, reaches) in enumerate(syns, 1):
        t = t0 + dt
        client_packet(story, t, "SYN #%d" % n, cp.syn(t), cq.syn(t), sport, pre_sport, mode,
                      reaches, prenat, prenat_outer)
    dt, sport, pre_sport, mode, reaches = syns[-1]
    if reaches != B_FL:
        return
    t = t0 + dt + 300
    cp.synack(t)
    server_packet(story, t, "SYN-ACK", cq.synack(t))
    t += 600
    client_packet(story, t, "ACK", cp.seg("c", t), cq.seg("c", t), sport, pre_sport, "ok", B_FL,
                  prenat, prenat_outer)


def prefix():
    """Pre-fix rules (kube-proxy before PR 92035): mount.nfs 192.168.1.10:40000 -> ClusterIP
    10.96.0.10:2049, DNAT to 10.244.2.5:2049, inner MASQUERADE --random-fully to
    10.244.1.0:23456; the outer packet keeps mark 0x4000 and its source port 50001 becomes 45679
    (variant B checksum); node b drops SYN #1 (bad checksum).  SYN #2 at +1 s gets a new outer
    port 39002, not masqueraded, and is answered."""
    s = Story(POINTS)
    nat_connection(s, 0, (HOST_A, 40000, CLUSTER_IP, NFS), (FLANNEL_A, 23456, POD_B, NFS),
                   [(0, 45679, 50001, "variant-b", B_ETH), (1000000, 39002, 39002, "ok", B_FL)])
    return s.files()


def postfix(unmatched=False, prenat_outer=True):
    """Post-fix rules: the same mount, inner SNAT to 10.244.1.0:23457, the outer packet not
    masqueraded (outer port 50002 before and after POSTROUTING).  With `unmatched`, the pre-NAT
    point also saw a SYN to another ClusterIP that no capture after NAT has."""
    s = Story(POINTS)
    nat_connection(s, 0, (HOST_A, 40001, CLUSTER_IP, NFS), (FLANNEL_A, 23457, POD_B, NFS),
                   [(0, 50002, 50002, "ok", B_FL)], prenat_outer=prenat_outer)
    if unmatched:
        lone = TcpConv(HOST_A, 40002, "10.96.0.11", NFS, 0x0BADF00D, 0, 0x4200, 0, 3100005000, 0)
        s.put(PRENAT, 5000, lone.syn(5000), "SYN to 10.96.0.11 at node-a-prenat only")
    return s.files()


def skew():
    """The post-fix story with node a's pre-NAT capture 5 s ahead (and seeing the host's TCP
    only): the same SYN at two points further apart than the join window.  Not joined (nat_join
    problem clock_skew)."""
    files = postfix(prenat_outer=False)
    return files, 5000000


def kept_port():
    """mount.nfs from reserved port 1020 to the ClusterIP: MASQUERADE keeps the port (free on
    flannel.1's address), so node a's flannel.1 shows 10.244.1.0:1020 -> 10.244.2.5:2049, which
    alone could be a node process talking to the pod directly; the outer packet is not
    masqueraded."""
    s = Story(POINTS)
    nat_connection(s, 0, (HOST_A, 1020, CLUSTER_IP, NFS), (FLANNEL_A, 1020, POD_B, NFS),
                   [(0, 50003, 50003, "ok", B_FL)])
    return s.files()


def in_range_partial():
    """The offload-off workaround with the double SNAT: the outer checksum is in partial form at
    node a's eth0 (correct once the NIC fills it) and the outer port 50004 was rewritten to
    41234, inside the driver's range: no fingerprint at one point.  The inner SNAT kept an
    ephemeral-looking port (10.244.1.0:34567)."""
    s = Story(POINTS)
    nat_connection(s, 0, (HOST_A, 34567, CLUSTER_IP, NFS), (FLANNEL_A, 34567, POD_B, NFS),
                   [(0, 41234, 50004, "partial", B_FL)])
    return s.files()


def mid_connection():
    """A mount made before the capture began (no SYN in it): mount.nfs 192.168.1.10:40010 ->
    ClusterIP, inner SNAT to 10.244.1.0:23470, the outer port 50010 rewritten to 45710 with a
    correct checksum (the offload-off workaround).  Two NULL calls (0 and 1 s), each answered,
    each acknowledged; the pre-NAT point sees the client's TCP as sent and its outer packet
    before POSTROUTING.  The data segments carry the join (same sequence and acknowledgment
    numbers, IP IDs and lengths before and after NAT)."""
    s = Story(POINTS)
    isn, isn_s = 0x5A6B7C8D, 0x11335577
    cp = TcpConv(HOST_A, 40010, CLUSTER_IP, NFS, isn, isn_s, 0x4400, 0x7800, 3100100000,
                 900100000)
    cq = TcpConv(FLANNEL_A, 23470, POD_B, NFS, isn, isn_s, 0x4400, 0x7800, 3100100000,
                 900100000)
    for n, t in enumerate((0, 1000000), 1):
        call = nf.record(nf.rpc_call(0x0D0E0F00 + n, nf.PROG_NFS, 4, 0))
        client_packet(s, t, "NULL call %d" % n, cp.seg("c", t, call), cq.seg("c", t, call),
                      45710, 50010, "ok", B_FL)
        reply = nf.record(nf.rpc_reply(0x0D0E0F00 + n))
        cp.seg("s", t + 300, reply)
        server_packet(s, t + 300, "NULL reply %d" % n, cq.seg("s", t + 300, reply))
        client_packet(s, t + 600, "ACK %d" % n, cp.seg("c", t + 600), cq.seg("c", t + 600),
                      45710, 50010, "ok", B_FL)
    return s.files()


def pod_to_pod():
    """A pod on node a to the NFS pod on node b: no NAT; node a's pod side (the pre-NAT point,
    the pod's TCP only) sees the same tuple as every other point, so nothing is joined."""
    s = Story(POINTS)
    nat_connection(s, 0, (POD_A, 41000, POD_B, NFS), (POD_A, 41000, POD_B, NFS),
                   [(0, 50005, 50005, "ok", B_FL)], prenat_outer=False)
    return s.files()


def drop():
    """Pod to pod, no pre-NAT point: one healthy connection, and one whose SYNs (0, 1, 3 s)
    reach node-b eth0 but never node-b flannel.1 (a DROP in node b's raw PREROUTING)."""
    points = [A_FL, A_ETH, B_ETH, B_FL]
    s = Story(points)
    nat_connection(s, 0, (POD_A, 41000, POD_B, NFS), (POD_A, 41000, POD_B, NFS),
                   [(0, 50005, 50005, "ok", B_FL)], prenat=False)
    nat_connection(s, 2000000, (POD_A, 41002, POD_B, NFS), (POD_A, 41002, POD_B, NFS),
                   [(0, 50006, 50006, "ok", B_ETH), (1000000, 50007, 50007, "ok", B_ETH),
                    (3000000, 50008, 50008, "ok", B_ETH)],
                   isn=0x2B3C4D5E, id_c=0x5100, prenat=False)
    return s.files()


def icmp_echo(src, dst, ident, echo_id, seq, reply=False):
    """An ICMP echo request (or reply) with 16 bytes of data, as ping sends it."""
    body = struct.pack("!HH", echo_id, seq) + bytes(range(16))
    head = struct.pack("!BBH", 0 if reply else 8, 0, 0)
    csum = 0xFFFF - mp.fold(mp.onesum(head + body))
    return mp.ipv4(src, dst, 1, struct.pack("!BBH", 0 if reply else 8, 0, csum) + body, ident)


def udp4(src, dst, sport, dport, payload, ident):
    return mp.ipv4(src, dst, mp.PROTO_UDP, mp.udp(src, dst, sport, dport, payload), ident)


def pod_packet(story, t, label, ip, reaches=B_CNI, back=False, sport=None):
    """One IPv4 packet between pod a and pod b along POD_PATH (back: from pod b), seen at every
    point up to `reaches` (pod a -> b) or from node b's cni0 on (back)."""
    src, dst = ("b", "a") if back else ("a", "b")
    inner = inner_frame(src, dst, ip)
    ids = story.ob if back else story.oa
    frame = vxlan_frame(src, dst, inner, ids(t), sport=sport, csum=OK)
    order = list(reversed(POD_PATH)) if back else POD_PATH
    for point in order[:order.index(reaches) + 1]:
        when = t + (POD_DELAY[B_CNI] - POD_DELAY[point] if back else POD_DELAY[point])
        tunnelled = point in (A_ETH, B_ETH)
        story.put(point, when, frame if tunnelled else inner, "%s at %s" % (label, point))


def dropped_connection(story, t0, cport, reaches, isn, id_c):
    """Pod a's connection to the NFS pod whose SYNs (0, 1, 3 s) stop after `reaches`."""
    conv = TcpConv(POD_A, cport, POD_B, NFS, isn, 0, id_c, 0, 3200000000, 0)
    for n, dt in enumerate((0, 1000000, 3000000), 1):
        t = t0 + dt
        pod_packet(story, t, "SYN #%d of %d" % (n, cport), conv.syn(t), reaches,
                   sport=50100 + n)


def drop_raw():
    """A DROP in node b's raw PREROUTING (every VXLAN packet from t = 1 s on): a ping from pod a
    to pod b before it crossed every point (and came back); the connection's SYNs reach node-b
    eth0 and never node-b flannel.1.  Only the ping shows what comes after node-b eth0."""
    s = Story(POD_PATH)
    pod_packet(s, 0, "echo request", icmp_echo(POD_A, POD_B, 0x6100, 0x0BEE, 1))
    pod_packet(s, 300, "echo reply", icmp_echo(POD_B, POD_A, 0x7200, 0x0BEE, 1, reply=True),
               A_FL, back=True)
    dropped_connection(s, 1000000, 41010, B_ETH, 0x3C4D5E6F, 0x5200)
    return s.files()


def drop_forward():
    """A DROP in node b's FORWARD chain after flannel.1 (SYNs to 2049 only): a UDP query from pod
    a to pod b's port 53 and its answer crossed every point; the connection's SYNs reach node-b
    flannel.1 and never node-b cni0.  Only the UDP exchange shows what comes after flannel.1."""
    s = Story(POD_PATH)
    pod_packet(s, 0, "UDP query", udp4(POD_A, POD_B, 5353, 53, b"query", 0x6200))
    pod_packet(s, 400, "UDP answer", udp4(POD_B, POD_A, 53, 5353, b"answer", 0x7300), A_FL,
               back=True)
    dropped_connection(s, 1000000, 41011, B_FL, 0x4D5E6F70, 0x5300)
    return s.files()


def drop_alone():
    """The raw-PREROUTING drop with no other traffic across the nodes: the SYNs reach node-b eth0,
    nothing captured at two points shows what comes after it.  node-b cni0 saw only node b's own
    ping to the pod (10.244.2.1 -> 10.244.2.5): traffic to that node, at an unknown place."""
    s = Story(POD_PATH)
    own = icmp_echo("10.244.2.1", POD_B, 0x6300, 0x0C0C, 1)
    s.put(B_CNI, 200, inner_frame("b", "b", own), "node b's own echo request at node-b-cni0")
    dropped_connection(s, 1000000, 41012, B_ETH, 0x5E6F7081, 0x5400)
    return s.files()


def data_drop():
    """An underlay that drops large VXLAN packets (a path MTU below flannel's 1450 + 50): pod a's
    NFSv3 connection to the NFS pod crosses every point with its handshake, a NULL call and its
    reply; the 1,400-byte WRITE call is seen at node-a flannel.1 and node-a eth0 and never at
    node-b eth0, in its first transmission and its four retransmissions (RTO 0.2 s doubling).
    At 10 s the client resets the connection; a ping at 11 s crosses every point both ways (the
    points were still capturing)."""
    s = Story(POD_PATH)
    conv = TcpConv(POD_A, 41020, POD_B, NFS, 0x6F708192, 0x1A2B3C4D, 0x5500, 0x7400, 3300000000,
                   1200000000)
    pod_packet(s, 0, "SYN", conv.syn(0), sport=50201)
    pod_packet(s, 300, "SYN-ACK", conv.synack(300), A_FL, back=True, sport=50301)
    pod_packet(s, 600, "ACK", conv.seg("c", 600), sport=50201)
    cred = nf.auth_sys(b"pod-a", 0x5EED)
    null = nf.record(nf.rpc_call(0x0C0FFEE1, nf.PROG_NFS, 3, 0, cred=cred))
    pod_packet(s, 1000, "NULL call", conv.seg("c", 1000, null), sport=50201)
    pod_packet(s, 1300, "NULL reply", conv.seg("s", 1300, nf.record(nf.rpc_reply(0x0C0FFEE1))),
               A_FL, back=True, sport=50301)
    pod_packet(s, 1600, "ACK", conv.seg("c", 1600), sport=50201)
    fh = nf.opaque(bytes(range(32)))
    data = bytes((i * 7) & 0xFF for i in range(1280))
    args = fh + nf.u64(0) + nf.u32(len(data)) + nf.u32(2) + nf.opaque(data)
    write = nf.record(nf.rpc_call(0x0C0FFEE2, nf.PROG_NFS, 3, 7, args, cred=cred))
    seq = conv.nxt["c"]
    for n, dt in enumerate((0, 200000, 600000, 1400000, 3000000)):
        t = 2000000 + dt
        label = "WRITE call" if n == 0 else "WRITE call, retransmission %d" % n
        pod_packet(s, t, label, conv.seg("c", t, write, seq=seq), A_ETH, sport=50201)
    # The client gives up on the connection (reset); the reset is small and gets through.
    pod_packet(s, 10000000, "RST", conv.seg("c", 10000000, flags=mp.TCP_RST | mp.TCP_ACK,
                                            seq=seq + len(write)), sport=50201)
    pod_packet(s, 11000000, "echo request", icmp_echo(POD_A, POD_B, 0x6400, 0x0D0D, 1))
    pod_packet(s, 11000300, "echo reply", icmp_echo(POD_B, POD_A, 0x7500, 0x0D0D, 1, reply=True),
               A_FL, back=True)
    return s.files()


STORIES = [
    ("prefix", prefix),
    ("postfix", postfix),
    ("unmatched", lambda: postfix(unmatched=True)),
    ("skew", skew),
    ("kept-port", kept_port),
    ("in-range-partial", in_range_partial),
    ("pod-to-pod", pod_to_pod),
    ("mid-connection", mid_connection),
    ("drop", drop),
    ("drop-raw", drop_raw),
    ("drop-forward", drop_forward),
    ("drop-alone", drop_alone),
    ("data-drop", data_drop),
]


def main(argv):
    verbose = "-v" in argv
    args = [a for a in argv if a != "-v"]
    outdir = args[0] if args else os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                               os.pardir, "pcaps", "nat")
    outdir = os.path.normpath(outdir)
    os.makedirs(outdir, exist_ok=True)
    for name, fn in STORIES:
        files = fn()
        shift = 0
        if isinstance(files, tuple):
            files, shift = files
        for point, cap in files.items():
            if shift and point == PRENAT:  # this point's clock runs ahead
                cap.records = shifted(cap, shift)
            path = os.path.join(outdir, "%s-%s.pcap" % (name, point))
            mp.write(path, cap.data())
            print("nat/%-38s %3d frames" % (os.path.basename(path), len(cap.notes)))
            if verbose:
                for i, n in enumerate(cap.notes, 1):
                    print("    %2d  %s" % (i, n))
    return 0


def shifted(cap, shift_us):
    """The records of cap with their timestamps moved shift_us later (microsecond pcap)."""
    out = []
    for rec in cap.records:
        sec, usec, caplen, wl = struct.unpack("<IIII", rec[:16])
        total = sec * 1000000 + usec + shift_us
        out.append(struct.pack("<IIII", total // 1000000, total % 1000000, caplen, wl) + rec[16:])
    return out


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

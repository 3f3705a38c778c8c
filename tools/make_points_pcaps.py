#!/usr/bin/python3
"""Deterministic generator of multi-point captures: one scenario seen at several capture points,
written as one file that holds every point, in the forms a node gives:

  <name>-idbs.pcapng   one pcapng with an Interface Description Block per point (if_name = the
                       point's name), frames merged in time order (mergecap, vxcheck's own
                       multi-interface --write / --evidence files)
  <name>-any.pcap      one classic pcap of link type LINUX_SLL2 (tcpdump -i any): every point an
                       interface index (POINTS below), the Ethernet header replaced by SLL2's
  <name>-any.pcapng    the same as a pcapng with one IDB named "any" (tcpdump -i any -w x.pcapng)
  <name>-mixed.pcapng  the first two points as Ethernet IDBs, the others in one SLL2 "any" IDB:
                       interfaces of two link types in one file (libpcap's reader refuses it)
  <name>-dumpcap.pcapng  as -idbs.pcapng, in the order a capture of several interfaces writes
                       them (dumpcap -i ... -i ...): read rounds every READ_ROUND_NS, each taking
                       the frames stamped since the last round from every interface, the last
                       point first (dumpcap_order()): each point's frames in time order, the
                       points interleaved out of it

and, with --fixtures, the committed NFLOG capture of pcaps/ (see pcaps/README.md):

  nflog-pre-nat.pcap   `tcpdump -i nflog:5,6` on node a: group 5 ("pre-nat", the raw table)
                       a host-network client's NFS connection to a ClusterIP before NAT, group 6
                       ("vxlan", POSTROUTING) an outer VXLAN packet, and one message whose TLV
                       length is below its own header
  nflog-one-way.pcap   `tcpdump -i nflog:5` of a raw-table OUTPUT rule on node a: one direction
                       of a host-network client's NFS connection (its calls, not the replies)
  points-beyond-cap.pcapng  a pcapng with CAP_POINTS + 8 interfaces (veth00 ...): the same SYNs
                       seen at every interface, at interfaces beyond the cap only, and at two
                       interfaces below it (beyond_cap_fixture())

Usage:  /usr/bin/python3 tools/make_points_pcaps.py OUTDIR
        /usr/bin/python3 tools/make_points_pcaps.py --fixtures OUTDIR

The sources are the separate captures of each point, read as they are (classic pcap, Ethernet);
the same points given as separate files must give the same verdicts and SYN counts
(tests/points_test.sh). Only the standard library is used; the output is byte for byte the same
on every run.
"""

import os
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

# (scenario, [(point name, interface index in the -any files, source capture)])
SCENARIOS = [
    ("join", [
        ("a-flannel.1", 11, "pcaps/scenario-join-node-a-flannel1.pcap"),
        ("a-eth0", 12, "pcaps/scenario-join-node-a-eth0.pcap"),
        ("b-eth0", 21, "pcaps/scenario-join-node-b-eth0.pcap"),
        ("b-flannel.1", 22, "pcaps/scenario-join-node-b-flannel1.pcap"),
    ]),
    ("lab-node-to-pod", [
        ("a-flannel.1", 11, "tools/lab/recorded/node-to-pod-prefix-node-a-flannel1.pcap"),
        ("a-eth0", 12, "tools/lab/recorded/node-to-pod-prefix-node-a-eth0.pcap"),
        ("b-eth0", 21, "tools/lab/recorded/node-to-pod-prefix-node-b-eth0.pcap"),
        ("b-flannel.1", 22, "tools/lab/recorded/node-to-pod-prefix-node-b-flannel1.pcap"),
    ]),
]

LINKTYPE_ETHERNET = 1
LINKTYPE_LINUX_SLL2 = 276
LINKTYPE_NFLOG = 239
ARPHRD_ETHER = 1


def read_pcap(path):
    """Frames of a little-endian microsecond pcap of Ethernet: [(ts_ns, bytes)]."""
    with open(path, "rb") as f:
        data = f.read()
    magic, _, _, _, _, _, linktype = struct.unpack_from("<IHHiIII", data, 0)
    if magic != 0xA1B2C3D4 or linktype != LINKTYPE_ETHERNET:
        raise SystemExit(f"{path}: not a little-endian microsecond Ethernet pcap")
    frames = []
    at = 24
    while at < len(data):
        sec, usec, caplen, _ = struct.unpack_from("<IIII", data, at)
        frames.append((sec * 1_000_000_000 + usec * 1000, data[at + 16:at + 16 + caplen]))
        at += 16 + caplen
    return frames


def merged(points):
    """Every point's frames in time order (a tie: point order, then frame order)."""
    rows = []
    for p, (name, ifindex, path) in enumerate(points):
        for i, (ts, frame) in enumerate(read_pcap(os.path.join(ROOT, path))):
            rows.append((ts, p, i, ifindex, frame))
    rows.sort(key=lambda r: (r[0], r[1], r[2]))
    return rows


# The time between two read rounds of dumpcap_order(): a quarter of a second, dumpcap's
# default read timeout, far inside the second vxcheck holds frames to put them in time order.
READ_ROUND_NS = 250_000_000


def dumpcap_order(rows, npoints):
    """rows (merged()) as written by a capture that reads each interface in turn: every
    READ_ROUND_NS from the first frame, the frames stamped since the last round, interface by
    interface from the last point to the first, each interface's in time order."""
    if not rows:
        return []
    t0 = rows[0][0]
    rounds = {}
    for row in rows:
        k = (row[0] - t0 + READ_ROUND_NS - 1) // READ_ROUND_NS
        rounds.setdefault(k, []).append(row)
    out = []
    for k in sorted(rounds):
        for p in reversed(range(npoints)):
            out += [r for r in rounds[k] if r[1] == p]
    return out


def sll2(frame, ifindex):
    """The Ethernet frame with an SLL2 header instead (packet type 0, the source MAC)."""
    ethertype = struct.unpack_from(">H", frame, 12)[0]
    header = struct.pack(">HHIHBB", ethertype, 0, ifindex, ARPHRD_ETHER, 0, 6)
    return header + frame[6:12] + b"\0\0" + frame[14:]


def pcap_file(linktype, records):
    out = [struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, linktype)]
    for ts, frame in records:
        out.append(struct.pack("<IIII", ts // 1_000_000_000, ts % 1_000_000_000 // 1000,
                               len(frame), len(frame)))
        out.append(frame)
    return b"".join(out)


def block(btype, body):
    length = 12 + len(body)
    return struct.pack("<II", btype, length) + body + struct.pack("<I", length)


def option(code, value):
    return struct.pack("<HH", code, len(value)) + value + b"\0" * (-len(value) % 4)


def shb():
    return block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1) + option(0, b""))


def idb(linktype, name):
    opts = option(2, name.encode()) + option(9, b"\x09") + option(0, b"")
    return block(1, struct.pack("<HHI", linktype, 0, 0) + opts)


def epb(interface, ts, frame):
    body = struct.pack("<IIIII", interface, ts >> 32, ts & 0xFFFFFFFF, len(frame), len(frame))
    return block(6, body + frame + b"\0" * (-len(frame) % 4))


def write(path, data):
    with open(path, "wb") as f:
        f.write(data)


def scenario(outdir, name, points):
    rows = merged(points)
    out = [shb()] + [idb(LINKTYPE_ETHERNET, p[0]) for p in points]
    out += [epb(p, ts, frame) for ts, p, _, _, frame in rows]
    write(os.path.join(outdir, f"{name}-idbs.pcapng"), b"".join(out))
    any_frames = [(ts, sll2(frame, ifindex)) for ts, _, _, ifindex, frame in rows]
    write(os.path.join(outdir, f"{name}-any.pcap"), pcap_file(LINKTYPE_LINUX_SLL2, any_frames))
    out = [shb(), idb(LINKTYPE_LINUX_SLL2, "any")]
    out += [epb(0, ts, frame) for ts, frame in any_frames]
    write(os.path.join(outdir, f"{name}-any.pcapng"), b"".join(out))
    out = [shb(), idb(LINKTYPE_ETHERNET, points[0][0]), idb(LINKTYPE_ETHERNET, points[1][0]),
           idb(LINKTYPE_LINUX_SLL2, "any")]
    for ts, p, _, ifindex, frame in rows:
        out.append(epb(p, ts, frame) if p < 2 else epb(2, ts, sll2(frame, ifindex)))
    write(os.path.join(outdir, f"{name}-mixed.pcapng"), b"".join(out))
    out = [shb()] + [idb(LINKTYPE_ETHERNET, p[0]) for p in points]
    out += [epb(p, ts, frame) for ts, p, _, _, frame in dumpcap_order(rows, len(points))]
    write(os.path.join(outdir, f"{name}-dumpcap.pcapng"), b"".join(out))


def nflog_tlv(ttype, value):
    """One TLV as an x86 host writes it: length and type little-endian, value padded to 4."""
    return struct.pack("<HH", 4 + len(value), ttype) + value + b"\0" * (-len(value) % 4)


def nflog(group, hook, prefix, packet, indev=0, outdev=0, family=2):
    """An NFLOG message as the kernel builds it: PACKET_HDR, PREFIX, IFINDEX_INDEV/OUTDEV (big-
    endian values), then PAYLOAD (the packet from its IP header)."""
    out = struct.pack(">BBH", family, 0, group)
    out += nflog_tlv(1, struct.pack(">HBB", 0x0800, hook, 0))
    out += nflog_tlv(10, prefix.encode() + b"\0")
    if indev:
        out += nflog_tlv(4, struct.pack(">I", indev))
    if outdev:
        out += nflog_tlv(5, struct.pack(">I", outdev))
    return out + nflog_tlv(9, packet)


def nflog_fixture(outdir):
    sys.path.insert(0, HERE)
    import make_pcaps as mp  # the fixtures' header builders and topology
    hook_prerouting, hook_output, hook_postrouting = 0, 3, 4
    client, cluster_ip = mp.NODE_IP["a"], "10.96.0.10"
    base = 1_700_000_000 * 1_000_000_000
    syn = mp.tcp4(client, cluster_ip, 1020, 2049, 7000, 0, 0x02, 0x1111)
    synack = mp.tcp4(cluster_ip, client, 2049, 1020, 9000, 7001, 0x12, 0)
    ack = mp.tcp4(client, cluster_ip, 1020, 2049, 7001, 9001, 0x10, 0x1112)
    inner = mp.ethernet("0a:58:0a:f4:02:05", "0a:58:0a:f4:01:00", mp.ETH_IPV4,
                        mp.tcp4("10.244.1.0", "10.244.2.5", 1020, 2049, 7000, 0, 0x02, 0x1111))
    outer = mp.vxlan_frame("a", "b", inner, 0x2222)[14:]  # from the outer IP header
    broken = struct.pack(">BBH", 2, 0, 5) + struct.pack("<HH", 2, 10) + b"x\0\0\0"
    records = [
        (base, nflog(5, hook_output, "pre-nat", syn, outdev=2)),
        (base + 150_000, nflog(6, hook_postrouting, "vxlan", outer, outdev=2)),
        (base + 400_000, nflog(5, hook_prerouting, "pre-nat", synack, indev=2)),
        (base + 450_000, nflog(5, hook_output, "pre-nat", ack, outdev=2)),
        (base + 500_000, broken),
    ]
    write(os.path.join(outdir, "nflog-pre-nat.pcap"), pcap_file(LINKTYPE_NFLOG, records))
    write(os.path.join(outdir, "nflog-one-way.pcap"), pcap_file(LINKTYPE_NFLOG, one_way(3)))


CAP_POINTS = 64  # capture points vxcheck follows across points (analyze::kMaxPoints)


def beyond_cap_fixture(outdir):
    """Three NFS connections between pods of one node, seen at CAP_POINTS + 8 interfaces of one
    pcapng (veth00 ... veth71; a point each, one microsecond apart along the list):
      10.244.1.5:41000  SYN #1 at 0 s seen at every interface and lost after the last one,
                        SYN #2 at 1 s seen at every interface and answered there: 2 SYNs (as at
                        each interface alone), connected after 1 s, no hop named
      10.244.1.6:41001  one SYN seen at veth66 and veth70 only (beyond the cap), answered: 1 SYN
      10.244.1.7:41002  SYN #1 seen at veth00 only, SYN #2 at 1 s at veth00 and veth01 and
                        answered: SYN #1 never reached veth01 (a hop between followed points)
    """
    sys.path.insert(0, HERE)
    import make_pcaps as mp
    npoints = CAP_POINTS + 8
    names = ["veth%02d" % i for i in range(npoints)]
    server = "10.244.1.9"
    mac_c, mac_s = "0a:58:0a:f4:01:05", "0a:58:0a:f4:01:09"
    base = 1_700_000_200 * 1_000_000_000
    rows = []

    def put(points, t_us, ip, from_client=True):
        order = points if from_client else list(reversed(points))
        frame = mp.ethernet(mac_s, mac_c, mp.ETH_IPV4, ip) if from_client else \
            mp.ethernet(mac_c, mac_s, mp.ETH_IPV4, ip)
        for k, p in enumerate(order):
            rows.append((base + (t_us + k) * 1000, p, len(rows), frame))

    def connection(client, cport, t0, syn_points, answered_points, isn, id_c, ts_c):
        conv = mp.TcpConv(client, cport, server, mp.NFS_PORT, isn, 0x5EED0000 + cport, id_c,
                          0x6600, ts_c, 700000000)
        for n, points in enumerate(syn_points):
            put(points, t0 + n * 1_000_000, conv.syn(t0 + n * 1_000_000))
        t = t0 + (len(syn_points) - 1) * 1_000_000 + 300
        put(answered_points, t, conv.synack(t), from_client=False)
        put(answered_points, t + 200, conv.seg("c", t + 200))

    every = list(range(npoints))
    connection("10.244.1.5", 41000, 0, [every, every], every, 0x51A00001, 0x2100, 2100000000)
    connection("10.244.1.6", 41001, 5000, [[66, 70]], [66, 70], 0x51A00002, 0x2200, 2200000000)
    connection("10.244.1.7", 41002, 9000, [[0], [0, 1]], [0, 1], 0x51A00003, 0x2300, 2300000000)
    rows.sort(key=lambda r: (r[0], r[2]))
    out = [shb()] + [idb(LINKTYPE_ETHERNET, name) for name in names]
    out += [epb(p, ts, frame) for ts, p, _, frame in rows]
    write(os.path.join(outdir, "points-beyond-cap.pcapng"), b"".join(out))


def one_way(hook):
    """NFLOG records of a tap that sees one direction of a connection: a rule in the raw table's
    OUTPUT chain (hook 3) logs what a host-network client sends to a ClusterIP, never the
    replies (which come in at PREROUTING). The client's SYN, its ACK of the SYN-ACK, an NFSv3
    NULL call at 0.5 s and a second ACK at 7 s: the call is answered (the client acknowledges
    the reply's bytes), but the tap cannot show it. With hook 4 (POSTROUTING, after NAT) the same
    records are the control of tests/points_test.sh."""
    sys.path.insert(0, HERE)
    import make_pcaps as mp
    import make_nfs_pcaps as nfs
    client, cluster_ip = mp.NODE_IP["a"], "10.96.0.10"
    base = 1_700_000_100 * 1_000_000_000
    call = nfs.record(nfs.rpc_call(0x0E0E0001, 100003, 3, 0))
    isn_c, isn_s = 41000, 93000
    reply_len = 28  # the NULL reply's record: mark, xid, REPLY, accepted, AUTH_NONE, SUCCESS
    packets = [
        (0, mp.tcp4(client, cluster_ip, 1021, 2049, isn_c, 0, 0x02, 0x3301)),
        (300_000, mp.tcp4(client, cluster_ip, 1021, 2049, isn_c + 1, isn_s + 1, 0x10, 0x3302)),
        (500_000_000, mp.tcp4(client, cluster_ip, 1021, 2049, isn_c + 1, isn_s + 1, 0x18,
                              0x3303, payload=call)),
        (7_000_000_000, mp.tcp4(client, cluster_ip, 1021, 2049, isn_c + 1 + len(call),
                                isn_s + 1 + reply_len, 0x10, 0x3304)),
    ]
    return [(base + t, nflog(5, hook, "pre-nat", pkt, outdev=2)) for t, pkt in packets]


def main():
    args = sys.argv[1:]
    fixtures = bool(args) and args[0] == "--fixtures"
    if fixtures:
        args = args[1:]
    if len(args) != 1:
        raise SystemExit(__doc__)
    outdir = args[0]
    os.makedirs(outdir, exist_ok=True)
    if fixtures:
        nflog_fixture(outdir)
        beyond_cap_fixture(outdir)
        return
    for name, points in SCENARIOS:
        scenario(outdir, name, points)


if __name__ == "__main__":
    main()

#!/usr/bin/python3
"""Deterministic generator of the IP reassembly captures in pcaps/ (documented in
pcaps/README.md, "IP reassembly captures").

Usage:  /usr/bin/python3 tools/make_frag_pcaps.py [-v] [OUTDIR]   (default: pcaps/reassembly/)

A directory of their own: tools/tshark_compare.py reads pcaps/ with tshark's defaults, which
do not reassemble; these need -o ip.defragment:TRUE -o ipv6.defragment:TRUE.

  nfs3-udp-write-fragments.pcap  NFSv3 over UDP: 16 KiB WRITEs as IPv4 fragments (MTU 1500),
                                 in order, then out of order with a duplicate; their replies.
  vxlan-underlay-fragments.pcap  a TCP connection inside VXLAN whose larger segments exceed the
                                 underlay MTU: outer IPv4 fragments with the inner frame behind
                                 them; one segment with a bad inner TCP checksum.
  fragments-anomalies.pcap       overlap (IPv4, IPv6), oversized, and a datagram left incomplete.

Built with the shared builders of make_pcaps.py and the RPC builders of make_nfs_pcaps.py.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_pcaps as mp  # noqa: E402
import make_nfs_pcaps as nfs  # noqa: E402

from make_pcaps import (PROTO_UDP, TCP_ACK, TCP_PSH, TCP_SYN, Pcap, Xor, describe_l4,  # noqa: E402
                        inner_frame, ipv4, ipv6, ipv6_fragment, pattern, tcp4, udp)

MTU = 1500
NFS3_WRITE = 7
FILE_SYNC = 2


def fragment_v4(src, dst, proto, payload, ident, mtu=MTU):
    """The IPv4 fragments (header + data, no DF) of `payload`, in offset order."""
    step = (mtu - 20) // 8 * 8
    out = []
    for start in range(0, len(payload), step):
        chunk = payload[start:start + step]
        more = start + step < len(payload)
        out.append((start, ipv4(src, dst, proto, chunk, ident, mf=more, frag_off8=start // 8)))
    return out


def nfs3_write_call(xid, data, cred):
    fh = nfs.opaque(nfs.NFS3_ROOT_FH)
    args = fh + nfs.u64(0) + nfs.u32(len(data)) + nfs.u32(FILE_SYNC) + nfs.opaque(data)
    return nfs.nfs3_call(xid, NFS3_WRITE, args, cred)


def nfs3_write_reply(xid, count):
    # WRITE3resok: wcc_data (no pre-op, no post-op attributes), count, committed, verifier
    return nfs.rpc_reply(xid, nfs.u32(0) + nfs.u32(0) + nfs.u32(0) + nfs.u32(count) +
                         nfs.u32(FILE_SYNC) + b"\x00" * 8)


def nfs3_udp_write_fragments():
    cap = Pcap()
    a, b = mp.POD_IP["a"], mp.POD_IP["b"]
    cred = nfs.auth_sys("node-a", 0x65A20000)
    for n, (xid, ident, order) in enumerate(((0x7B000001, 0x3100, "in"),
                                             (0x7B000002, 0x3101, "out"))):
        data = pattern(16384, 20 + n)
        dgram = udp(a, b, 801, 2049, nfs3_write_call(xid, data, cred))
        note = describe_l4("udp(reassembled)", a, b, PROTO_UDP, dgram)
        frags = fragment_v4(a, b, PROTO_UDP, dgram, ident)
        if order == "out":
            # reversed, with the first fragment sent twice (a duplicate)
            frags = frags[::-1][:6] + [frags[-1]] + frags[::-1][6:]
        for start, ip in frags:
            cap.add(inner_frame("a", "b", ip), "WRITE 0x%08x frag off=%d; %s" % (xid, start, note))
        reply = udp(b, a, 2049, 801, nfs3_write_reply(xid, len(data)))
        cap.add(inner_frame("b", "a", ipv4(b, a, PROTO_UDP, reply, 0x4100 + n)),
                "WRITE reply 0x%08x" % xid)
    return cap


def vxlan_underlay_fragments():
    """Pod a -> pod b port 2049 through VXLAN (node a -> node b). The handshake fits the MTU;
    segments of 1448 bytes make outer datagrams of 1552 bytes, cut into two fragments."""
    cap = Pcap()
    ids = mp.Ids()
    a, b = mp.POD_IP["a"], mp.POD_IP["b"]
    cport, isn_c, isn_s = 41500, 1000, 9000

    def send(src_node, dst_node, seg_ip, fragments_order=None, note=""):
        frame = mp.vxlan_frame(src_node, dst_node, inner_frame(src_node, dst_node, seg_ip),
                               ids("outer" + src_node))
        outer_ip = frame[14:]
        if len(outer_ip) <= MTU and fragments_order is None:
            cap.add(frame, note)
            return
        s, d = mp.NODE_IP[src_node], mp.NODE_IP[dst_node]
        ident = mp.get16(outer_ip, 4)
        frags = fragment_v4(s, d, PROTO_UDP, outer_ip[20:], ident)
        for i in fragments_order or range(len(frags)):
            start, ip = frags[i]
            cap.add(mp.ethernet(mp.NODE_MAC[dst_node], mp.NODE_MAC[src_node], mp.ETH_IPV4, ip),
                    "%s; outer fragment off=%d" % (note, start))

    def seg(src, dst, sp, dp, seq, ack, flags, payload=b"", csum=mp.OK):
        return tcp4(src, dst, sp, dp, seq, ack, flags, ids("inner" + src), payload, csum=csum)

    send("a", "b", seg(a, b, cport, 2049, isn_c, 0, TCP_SYN), note="SYN")
    send("b", "a", seg(b, a, 2049, cport, isn_s, isn_c + 1, TCP_SYN | TCP_ACK), note="SYN-ACK")
    send("a", "b", seg(a, b, cport, 2049, isn_c + 1, isn_s + 1, TCP_ACK), note="ACK")
    seq = isn_c + 1
    for n, (order, csum) in enumerate(((None, mp.OK), ([1, 0], mp.OK), (None, Xor(0x0100)))):
        data = pattern(1448, 40 + n)
        ip = seg(a, b, cport, 2049, seq, isn_s + 1, TCP_ACK | TCP_PSH, data, csum)
        bad = "bad inner tcp checksum" if csum != mp.OK else "inner tcp ok"
        send("a", "b", ip, order, note="data %d (1448 bytes, %s)" % (n + 1, bad))
        seq += len(data)
        send("b", "a", seg(b, a, 2049, cport, isn_s + 1, seq, TCP_ACK), note="ACK")
    return cap


def fragments_anomalies():
    cap = Pcap()
    a, b = mp.POD_IP["a"], mp.POD_IP["b"]
    eth = lambda ip: inner_frame("a", "b", ip)  # noqa: E731
    dgram = udp(a, b, 41000, 5001, pattern(2992, 3))
    # 1-2: IPv4, the second fragment starts 8 bytes inside the first: the datagram is discarded
    cap.add(eth(ipv4(a, b, PROTO_UDP, dgram[:1480], 0x6000, mf=True)), "v4 off=0 MF")
    cap.add(eth(ipv4(a, b, PROTO_UDP, dgram[1472:], 0x6000, frag_off8=1472 // 8)),
            "v4 off=1472 last: overlaps")
    # 3-4: IPv6, the same (RFC 5722)
    s6, d6 = mp.POD6["a"], mp.POD6["b"]
    dgram6 = udp(s6, d6, 41001, 5001, pattern(1992, 4))
    for start, end, more in ((0, 1232, True), (1224, len(dgram6), False)):
        ip6 = ipv6(s6, d6, 44, ipv6_fragment(PROTO_UDP, start // 8, more, 0x6001) +
                   dgram6[start:end])
        cap.add(inner_frame("a", "b", ip6, mp.ETH_IPV6), "v6 off=%d M=%d%s" % (
            start, more, ": overlaps" if start else ""))
    # 5: IPv4 fragment ending past 65,535 (offset 65,520 + 64 bytes)
    cap.add(eth(ipv4(a, b, PROTO_UDP, pattern(64, 5), 0x6002, frag_off8=65520 // 8)),
            "v4 off=65520 len=64: oversized")
    # 6: the first of two fragments, the second never sent: incomplete at the end
    cap.add(eth(ipv4(a, b, PROTO_UDP, dgram[:1480], 0x6003, mf=True)), "v4 off=0 MF, alone")
    return cap


FIXTURES = [
    ("nfs3-udp-write-fragments.pcap", nfs3_udp_write_fragments),
    ("vxlan-underlay-fragments.pcap", vxlan_underlay_fragments),
    ("fragments-anomalies.pcap", fragments_anomalies),
]


def main(argv):
    return mp.write_fixtures(argv, FIXTURES, "reassembly")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

#!/usr/bin/python3
"""Deterministic generator for the GRE, ERSPAN, MPLS and IP-in-IP captures in pcaps/ (issue 21
item 2).

Usage:  /usr/bin/python3 tools/make_tunnel_pcaps.py [-v] [OUTDIR]   (default OUTDIR: pcaps/)

Builds on tools/make_pcaps.py (checksums, headers, pcap writer, topology) and uses only the
Python standard library.  Every byte is fixed, so two runs produce byte-identical files.  -v
prints one line per frame.

Wire formats:
  GRE     RFC 2784 / RFC 2890: C R K S s Recur | A Flags Ver | Protocol Type, then checksum +
          reserved1 (C), key (K), sequence number (S).  The checksum covers the GRE header and
          payload, no pseudo-header.
  ERSPAN  draft-foschiano-erspan-03: type II (GRE 0x88BE, S set) 8 bytes, type III (GRE 0x22EB)
          12 bytes (+8 when O is set); then the mirrored Ethernet frame.
  MPLS    RFC 3032: Label(20) TC(3) S(1) TTL(8) per entry; IPv4 after the bottom of stack.
  IP-in-IP  IPv4 protocol 4 (RFC 2003), protocol 41 for IPv6 (RFC 4213).
"""

import os
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_pcaps as mp  # noqa: E402  (the shared builders)
from make_pcaps import (ETH_IPV4, ETH_IPV6, ETH_TEB, NFS_PORT, NODE_IP, NODE_MAC, POD6,  # noqa: E402
                        POD_IP, TCP_ACK, TCP_FIN, TCP_PSH, TCP_SYN, Ids, Pcap, Xor)

PROTO_IPIP = 4
PROTO_IPV6 = 41
PROTO_GRE = 47
ETH_MPLS = 0x8847
ETH_ERSPAN2 = 0x88BE
ETH_ERSPAN3 = 0x22EB

# Collector of mirrored traffic (ERSPAN destination) and the GRE tunnel endpoints.
COLLECTOR = "192.168.1.99"
COLLECTOR_MAC = "52:54:00:00:01:63"


def gre(protocol, payload, checksum=None, key=None, seq=None):
    """GRE version 0.  checksum: None (C clear), mp.OK, or Xor(mask) (a wrong checksum)."""
    flags = (0x80 if checksum is not None else 0) | (0x20 if key is not None else 0) | \
        (0x10 if seq is not None else 0)
    hdr = bytearray(struct.pack("!BBH", flags, 0, protocol))
    if checksum is not None:
        hdr += b"\x00\x00\x00\x00"
    if key is not None:
        hdr += struct.pack("!I", key)
    if seq is not None:
        hdr += struct.pack("!I", seq)
    if checksum is not None:
        good = ~mp.onesum(bytes(hdr) + payload) & 0xFFFF
        value = good ^ checksum.mask if isinstance(checksum, Xor) else good
        struct.pack_into("!H", hdr, 4, value)
    return bytes(hdr) + payload


def erspan2(session, vlan, index, frame):
    return struct.pack("!HHI", (1 << 12) | vlan, session & 0x3FF, index) + frame


def erspan3(session, vlan, timestamp, frame, subheader=False):
    word2 = 1 if subheader else 0  # SGT 0, P 0, FT 0 (Ethernet), HW ID 0, D 0, Gra 0, O
    out = struct.pack("!HHII", (2 << 12) | vlan, session & 0x3FF, timestamp, word2)
    if subheader:
        out += struct.pack("!II", 0x00000004, 0x12345678)  # platform 1 (any 8 bytes)
    return out + frame


def mpls(labels, payload, ttl=64):
    out = b""
    for i, label in enumerate(labels):
        bottom = 1 if i == len(labels) - 1 else 0
        out += struct.pack("!I", (label << 12) | (bottom << 8) | ttl)
    return out + payload


def outer(src, dst, proto, payload, ident):
    """Underlay Ethernet/IPv4 between two nodes (or a node and the collector)."""
    return mp.ethernet(NODE_MAC.get(dst, COLLECTOR_MAC), NODE_MAC.get(src, COLLECTOR_MAC),
                       ETH_IPV4, mp.ipv4(NODE_IP.get(src, COLLECTOR), NODE_IP.get(dst, COLLECTOR),
                                         proto, payload, ident))


def conversation(cli, srv, cport, ids, six=False):
    """A short TCP connection to NFS_PORT: handshake, 100 bytes, ACK, FIN both ways, last ACK.
    Returns (direction, ip_packet, label) tuples; IPv4 or IPv6 (six)."""
    if not six:
        pkts = mp.handshake(cli, srv, cport, NFS_PORT, ids)
        isn_c, isn_s = 1000 + 101, 5001
        pkts += [
            ("c2s", mp.tcp4(cli, srv, cport, NFS_PORT, isn_c, isn_s, TCP_FIN | TCP_ACK, ids(cli),
                            options=mp.tcp_opts_ts(103, 201)), "FIN"),
            ("s2c", mp.tcp4(srv, cli, NFS_PORT, cport, isn_s, isn_c + 1, TCP_FIN | TCP_ACK,
                            ids(srv, 0), options=mp.tcp_opts_ts(202, 103)), "FIN"),
            ("c2s", mp.tcp4(cli, srv, cport, NFS_PORT, isn_c + 1, isn_s + 1, TCP_ACK, ids(cli),
                            options=mp.tcp_opts_ts(104, 202)), "ACK"),
        ]
        return pkts

    def seg(src, dst, sport, dport, seq, ack, flags, payload=b""):
        t = mp.tcp(src, dst, sport, dport, seq, ack, flags, payload, mp.tcp_opts_ts(1, 1))
        return mp.ipv6(src, dst, mp.PROTO_TCP, t)
    c, s = 3000, 7000
    return [
        ("c2s", seg(cli, srv, cport, NFS_PORT, c, 0, TCP_SYN), "SYN"),
        ("s2c", seg(srv, cli, NFS_PORT, cport, s, c + 1, TCP_SYN | TCP_ACK), "SYN-ACK"),
        ("c2s", seg(cli, srv, cport, NFS_PORT, c + 1, s + 1, TCP_ACK), "ACK"),
        ("c2s", seg(cli, srv, cport, NFS_PORT, c + 1, s + 1, TCP_PSH | TCP_ACK, mp.pattern(60)),
         "PSH-ACK 60 bytes"),
        ("s2c", seg(srv, cli, NFS_PORT, cport, s + 1, c + 61, TCP_ACK), "ACK"),
    ]


def gre_checksum():
    """GRE between node-a and node-b: plain IPv4 inside with no GRE checksum (C clear), with a
    key, with a correct checksum + key + sequence, and one with a wrong checksum (correct XOR
    0x0100; the inner IPv4 and TCP checksums are correct)."""
    cap = Pcap()
    ids = Ids()
    inner = mp.handshake(POD_IP["a"], POD_IP["b"], 40500, NFS_PORT, ids, data_len=0)
    modes = [(None, None, None, "no checksum"), (None, 0x1000, None, "key 0x1000"),
             (mp.OK, 0x1000, 1, "checksum ok, key, seq 1"),
             (Xor(0x0100), 0x1000, 2, "checksum WRONG (xor 0x0100), key, seq 2")]
    for (direction, ip, label), (csum, key, seq, what) in zip(inner + inner[:1], modes):
        src, dst = ("a", "b") if direction == "c2s" else ("b", "a")
        g = gre(ETH_IPV4, ip, checksum=csum, key=key, seq=seq)
        cap.add(outer(src, dst, PROTO_GRE, g, ids(src, 0x3000)), "GRE %s: inner %s" % (what, label))
    return cap


def erspan():
    """Node-a's traffic mirrored to a collector: the handshake of pod a with pod b, its SYN in
    ERSPAN type II (session 100, VLAN 10), its SYN-ACK in type III (session 200, with the
    platform subheader), its ACK in plain GRE transparent Ethernet bridging (NVGRE-style key)."""
    cap = Pcap()
    ids = Ids()
    hs = mp.handshake(POD_IP["a"], POD_IP["b"], 40600, NFS_PORT, ids, data_len=0)
    frames = [mp.ethernet(NODE_MAC["b" if d == "c2s" else "a"], NODE_MAC["a" if d == "c2s" else "b"],
                          ETH_IPV4, ip) for d, ip, _ in hs]
    cap.add(outer("a", "collector", PROTO_GRE, gre(ETH_ERSPAN2, erspan2(100, 10, 1, frames[0]),
                                                   seq=1), 0x4000), "ERSPAN II, inner SYN")
    cap.add(outer("a", "collector", PROTO_GRE,
                  gre(ETH_ERSPAN3, erspan3(200, 10, 0x5F5E1000, frames[1], subheader=True)),
                  0x4001), "ERSPAN III + subheader, inner SYN-ACK")
    cap.add(outer("a", "collector", PROTO_GRE, gre(ETH_TEB, frames[2], key=0x00FF00), 0x4002),
            "GRE transparent Ethernet bridging (NVGRE-style key), inner ACK")
    return cap


def mpls_two_labels():
    """Ethernet/MPLS with two labels (transport 1000, service 2000) around a TCP handshake."""
    cap = Pcap()
    ids = Ids()
    for direction, ip, label in mp.handshake(POD_IP["a"], POD_IP["b"], 40700, NFS_PORT, ids,
                                             data_len=0):
        src, dst = ("a", "b") if direction == "c2s" else ("b", "a")
        cap.add(mp.ethernet(NODE_MAC[dst], NODE_MAC[src], ETH_MPLS, mpls([1000, 2000], ip)),
                "MPLS 1000/2000, inner %s" % label)
    return cap


def ipip_connection():
    """Calico-style IPIP (4in4) between node-a and node-b carrying one whole TCP connection from
    pod a to pod b (to NFS_PORT), then a 6in4 (protocol 41) connection between the IPv6 pods."""
    cap = Pcap()
    ids = Ids()
    for direction, ip, label in conversation(POD_IP["a"], POD_IP["b"], 40800, ids):
        src, dst = ("a", "b") if direction == "c2s" else ("b", "a")
        cap.add(outer(src, dst, PROTO_IPIP, ip, ids(src, 0x5000)), "4in4 %s" % label)
    for direction, ip, label in conversation(POD6["a"], POD6["b"], 40900, ids, six=True):
        src, dst = ("a", "b") if direction == "c2s" else ("b", "a")
        cap.add(outer(src, dst, PROTO_IPV6, ip, ids(src, 0x5000)), "6in4 %s" % label)
    return cap


FIXTURES = [
    ("gre-checksum.pcap", gre_checksum),
    ("erspan.pcap", erspan),
    ("mpls-two-labels.pcap", mpls_two_labels),
    ("ipip-connection.pcap", ipip_connection),
]


def main(argv):
    return mp.write_fixtures(argv, FIXTURES, "")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

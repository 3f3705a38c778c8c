#!/usr/bin/python3
"""Deterministic generator for the vxcheck test captures in pcaps/.

Usage:  /usr/bin/python3 tools/make_pcaps.py [-v] [OUTDIR]   (default OUTDIR: pcaps/ beside tools/)

Every byte is fixed: timestamps, IP IDs, ports, sequence numbers and payloads are constants or
derived from constants, so two runs produce byte-identical files.  -v prints, per frame, the
checksum values that pcaps/README.md documents.

Packets are assembled with struct instead of scapy on purpose: many fixtures need exact,
deliberately "wrong" bytes (partial checksums, bogus lengths, reserved bits) and scapy would
silently recompute or normalise some of them.  Only the standard library is used.

Layout of this file:
  1. checksum arithmetic (RFC 1071 one's-complement sum, pseudo-headers, checksum modes)
  2. header builders (Ethernet, VLAN, IPv4, IPv6 + extension headers, TCP, UDP, VXLAN, Geneve,
     VXLAN-GPE, Linux cooked headers)
  3. capture-file writers (classic pcap, pcapng)
  4. the topology used by the fixtures (Flannel nodes, pods, MACs)
  5. one function per output file (the scenario captures, at the end of the section, place
     frames at explicit times and tell a connection story each)
  6. main

Vocabulary (see /work/shared/domain.md sections 0 and 3):
  correct  C = ~onesum(pseudo || L4 with check=0); UDP sends a computed 0 as 0xFFFF
  partial  F = onesum(pseudo) (NOT complemented), as left by Linux CHECKSUM_PARTIAL / TX offload
  partial0 F = onesum(pseudo with L4 length 0) (driver TSO form, e.g. igb)
  LCO      outer UDP checksum = correct checksum of the packet after the NIC has replaced the inner
           partial TCP checksum by its final value (local checksum offload)
"""

import ipaddress
import os
import struct
import sys

# ---------------------------------------------------------------------------------------------
# 1. Checksum arithmetic
# ---------------------------------------------------------------------------------------------

PROTO_TCP = 6
PROTO_UDP = 17


def fold(s):
    """Fold an arbitrary non-negative integer sum to 16 bits with end-around carry."""
    while s > 0xFFFF:
        s = (s & 0xFFFF) + (s >> 16)
    return s


def onesum(data, initial=0):
    """RFC 1071 one's-complement sum of big-endian 16-bit words (odd byte padded with 0x00).

    Not complemented.  `initial` is an already accumulated (folded or not) sum."""
    if len(data) % 2:
        data = bytes(data) + b"\x00"
    s = initial
    for (word,) in struct.iter_unpack("!H", data):
        s += word
    return fold(s)


def addr_bytes(a):
    return ipaddress.ip_address(a).packed


def pseudo_sum(src, dst, proto, l4len):
    """onesum of the IPv4 or IPv6 pseudo-header (chosen by address family).

    IPv4: src(4) dst(4) 0x00 proto(1) L4len(2); IPv6: src(16) dst(16) L4len(4) zero(3) nh(1).
    L4len is added as a 32-bit quantity (two 16-bit words).  For IPv4 with L4len <= 0xFFFF this is
    identical to the 16-bit field; for an IPv4 BIG TCP segment (L4len > 65535) it is what the
    Linux csum_tcpudp_nofold() does with its u32 length argument."""
    s = onesum(addr_bytes(src) + addr_bytes(dst))
    return fold(s + proto + (l4len >> 16) + (l4len & 0xFFFF))


def correct_checksum(src, dst, proto, l4_zero_check):
    """Correct checksum of an L4 segment whose check field is already zero.

    Returns the value to transmit (UDP: a computed 0x0000 becomes 0xFFFF)."""
    c = ~onesum(l4_zero_check, pseudo_sum(src, dst, proto, len(l4_zero_check))) & 0xFFFF
    if proto == PROTO_UDP and c == 0:
        c = 0xFFFF
    return c


def residual(src, dst, proto, l4):
    """onesum over pseudo || L4 as it is (check field included).  0xFFFF <=> valid."""
    return onesum(l4, pseudo_sum(src, dst, proto, len(l4)))


def ip_header_checksum(hdr_zero_check):
    return ~onesum(hdr_zero_check) & 0xFFFF


# Checksum modes understood by apply_l4_checksum().  An int is used verbatim as the field value.
OK = "ok"              # correct checksum
ZERO = "zero"          # 0x0000 (UDP: "no checksum")
PARTIAL = "partial"    # onesum(pseudo with the real L4 length)
PARTIAL0 = "partial0"  # onesum(pseudo with L4 length 0)


class Xor:
    """Mode: correct checksum XOR mask (a deliberately bad checksum)."""

    def __init__(self, mask):
        self.mask = mask


class Over:
    """Mode: the correct checksum of a *different* L4 byte string of the same length.

    Used for LCO (checksum over the packet as it will be after the NIC fills the inner checksum)."""

    def __init__(self, other_l4):
        self.other_l4 = other_l4


def apply_l4_checksum(l4, check_off, mode, src, dst, proto):
    """Return l4 (bytes) with the 16-bit check field at check_off set according to mode.

    src/dst are the addresses that go into the pseudo-header (for IPv6 the *final* destination,
    for a Home Address option the home address: the caller decides)."""
    seg = bytearray(l4)
    seg[check_off:check_off + 2] = b"\x00\x00"
    if mode == OK:
        value = correct_checksum(src, dst, proto, bytes(seg))
    elif mode == ZERO:
        value = 0
    elif mode == PARTIAL:
        value = pseudo_sum(src, dst, proto, len(seg))
    elif mode == PARTIAL0:
        value = pseudo_sum(src, dst, proto, 0)
    elif isinstance(mode, Xor):
        value = correct_checksum(src, dst, proto, bytes(seg)) ^ mode.mask
    elif isinstance(mode, Over):
        other = bytearray(mode.other_l4)
        assert len(other) == len(seg)
        other[check_off:check_off + 2] = b"\x00\x00"
        value = correct_checksum(src, dst, proto, bytes(other))
    elif isinstance(mode, int):
        value = mode
    else:
        raise ValueError(mode)
    struct.pack_into("!H", seg, check_off, value)
    return bytes(seg)


def get16(b, off):
    return struct.unpack_from("!H", b, off)[0]


def self_test():
    """Vectors from domain.md section 0; run on every invocation."""
    assert onesum(bytes.fromhex("0001f203f4f5f6f7")) == 0xDDF2
    assert ~onesum(bytes.fromhex("0001f203f4f5f6f7")) & 0xFFFF == 0x220D
    assert pseudo_sum("10.244.1.0", "10.244.2.5", PROTO_TCP, 40) == 0x191B
    assert onesum(b"\xff\xff\xff\xff") == 0xFFFF          # never folds to 0 from non-zero input


# ---------------------------------------------------------------------------------------------
# 2. Header builders.  All return bytes; all multi-byte fields network order.
# ---------------------------------------------------------------------------------------------

ETH_IPV4 = 0x0800
ETH_ARP = 0x0806
ETH_VLAN = 0x8100
ETH_QINQ = 0x88A8
ETH_IPV6 = 0x86DD
ETH_TEB = 0x6558        # transparent Ethernet bridging (Geneve protocol type)

TCP_FIN, TCP_SYN, TCP_RST, TCP_PSH, TCP_ACK = 0x01, 0x02, 0x04, 0x08, 0x10


def mac(s):
    return bytes.fromhex(s.replace(":", ""))


def ethernet(dst, src, ethertype, payload):
    return mac(dst) + mac(src) + struct.pack("!H", ethertype) + payload


def vlan_tag(tpid, vid, pcp=0):
    """4-byte 802.1Q/802.1ad tag (TPID + TCI).  The following EtherType is added by the caller."""
    return struct.pack("!HH", tpid, (pcp << 13) | vid)


def ethernet_tagged(dst, src, tags, ethertype, payload):
    """tags: list of (tpid, vid) outermost first."""
    out = mac(dst) + mac(src)
    for tpid, vid in tags:
        out += vlan_tag(tpid, vid)
    return out + struct.pack("!H", ethertype) + payload


def ipv4(src, dst, proto, payload, ident, df=False, mf=False, frag_off8=0, ttl=64,
         tot_len=None, ihl=None, csum=OK):
    """20-byte IPv4 header + payload.  tot_len/ihl override the length fields (malformed cases);
    the header checksum is computed over the 20 header bytes exactly as written (csum=OK), or
    csum may be an Xor/int like for L4."""
    ihl_field = 5 if ihl is None else ihl
    tl = 20 + len(payload) if tot_len is None else tot_len
    flags = (0x4000 if df else 0) | (0x2000 if mf else 0) | frag_off8
    hdr = bytearray(struct.pack("!BBHHHBBH4s4s", 0x40 | ihl_field, 0, tl, ident, flags, ttl,
                                proto, 0, addr_bytes(src), addr_bytes(dst)))
    good = ip_header_checksum(bytes(hdr))
    if csum == OK:
        value = good
    elif isinstance(csum, Xor):
        value = good ^ csum.mask
    else:
        value = csum
    struct.pack_into("!H", hdr, 10, value)
    return bytes(hdr) + payload


def ipv6(src, dst, nh, payload, hlim=64, plen=None, version=6):
    pl = len(payload) if plen is None else plen
    return struct.pack("!IHBB16s16s", (version << 28), pl, nh, hlim,
                       addr_bytes(src), addr_bytes(dst)) + payload


def ipv6_options_header(nh, options):
    """Hop-by-Hop or Destination Options header, padded to a multiple of 8 with Pad1/PadN."""
    body = options
    pad = (8 - (2 + len(body)) % 8) % 8
    if pad == 1:
        body += b"\x00"                                  # Pad1
    elif pad > 1:
        body += bytes([1, pad - 2]) + bytes(pad - 2)     # PadN
    return bytes([nh, (2 + len(body)) // 8 - 1]) + body


def ipv6_routing_type0(nh, addresses, segments_left):
    body = b"".join(addr_bytes(a) for a in addresses)
    return struct.pack("!BBBBI", nh, 2 * len(addresses), 0, segments_left, 0) + body


def ipv6_routing_type2(nh, home_address):
    return struct.pack("!BBBBI", nh, 2, 2, 1, 0) + addr_bytes(home_address)


def ipv6_srh(nh, segment_list, segments_left):
    """RFC 8754 SRH (routing type 4).  segment_list[0] is the FINAL segment (list is reversed)."""
    body = b"".join(addr_bytes(a) for a in segment_list)
    last_entry = len(segment_list) - 1
    return struct.pack("!BBBBBBH", nh, 2 * len(segment_list), 4, segments_left,
                       last_entry, 0, 0) + body


def ipv6_fragment(nh, offset8, more, ident):
    return struct.pack("!BBHI", nh, 0, (offset8 << 3) | (1 if more else 0), ident)


def tcp(src, dst, sport, dport, seq, ack, flags, payload=b"", options=b"", window=502,
        csum=OK, doff=None):
    """TCP segment; src/dst are the pseudo-header addresses.  doff overrides the data offset."""
    assert len(options) % 4 == 0
    off = (20 + len(options)) // 4 if doff is None else doff
    seg = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, off << 4, flags, window, 0, 0)
    return apply_l4_checksum(seg + options + payload, 16, csum, src, dst, PROTO_TCP)


def udp(src, dst, sport, dport, payload, csum=OK, length=None):
    """UDP datagram; src/dst are the pseudo-header addresses.  length overrides the length field
    (the pseudo-header always uses the real byte count)."""
    ln = 8 + len(payload) if length is None else length
    dgram = struct.pack("!HHHH", sport, dport, ln, 0) + payload
    return apply_l4_checksum(dgram, 6, csum, src, dst, PROTO_UDP)


def tcp_opts_syn(tsval, tsecr=0):
    """Linux SYN options, 20 bytes: MSS 1410 (flannel MTU 1450), SACK-permitted, TS, NOP, WS 7."""
    return (struct.pack("!BBH", 2, 4, 1410) + bytes([4, 2]) +
            struct.pack("!BBII", 8, 10, tsval, tsecr) + bytes([1, 3, 3, 7]))


def tcp_opts_ts(tsval, tsecr):
    """NOP NOP Timestamps, 12 bytes."""
    return bytes([1, 1]) + struct.pack("!BBII", 8, 10, tsval, tsecr)


def pattern(n, seed=0):
    """Deterministic payload bytes."""
    return bytes((seed + i) & 0xFF for i in range(n))


def vxlan_header(vni=1, flags=0x08, rsvd1=b"\x00\x00\x00", rsvd2=0):
    return bytes([flags]) + rsvd1 + struct.pack("!I", (vni << 8) | rsvd2)


def geneve_header(vni, options=b"", protocol=ETH_TEB):
    assert len(options) % 4 == 0
    return struct.pack("!BBHI", len(options) // 4, 0, protocol, vni << 8) + options


def vxlan_gpe_header(vni, next_protocol, flags=0x0C):
    """draft-ietf-nvo3-vxlan-gpe header.

    flags(8: R R Ver(2) I P B O) reserved(16) next-protocol(8) VNI(24) reserved(8)."""
    return struct.pack("!BHBI", flags, 0, next_protocol, vni << 8)


def sll_header(pkttype, hatype, addr, protocol):
    """Linux cooked v1 (LINKTYPE_LINUX_SLL = 113), 16 bytes."""
    a = mac(addr)
    return struct.pack("!HHH8sH", pkttype, hatype, len(a), a.ljust(8, b"\x00"), protocol)


def sll2_header(protocol, ifindex, hatype, pkttype, addr):
    """Linux cooked v2 (LINKTYPE_LINUX_SLL2 = 276), 20 bytes:
    protocol(2) reserved(2) ifindex(4) hatype(2) pkttype(1) addrlen(1) addr(8)."""
    a = mac(addr)
    return struct.pack("!HHIHBB8s", protocol, 0, ifindex, hatype, pkttype, len(a),
                       a.ljust(8, b"\x00"))


PACKET_HOST, PACKET_OUTGOING = 0, 4
ARPHRD_ETHER = 1

# ---------------------------------------------------------------------------------------------
# 3. Capture-file writers
# ---------------------------------------------------------------------------------------------

LINKTYPE_NULL = 0
LINKTYPE_ETHERNET = 1
LINKTYPE_RAW = 101
LINKTYPE_LINUX_SLL = 113
LINKTYPE_USER0 = 147
LINKTYPE_LINUX_SLL2 = 276

T0_SEC = 1700000000          # 2023-11-14T22:13:20Z
STEP_USEC = 1000             # 1 ms between frames unless a fixture says otherwise


class Pcap:
    """Classic pcap writer (little-endian, version 2.4).

    Frames longer than snaplen are cut: caplen = snaplen, wirelen = real length.
    Timestamps are integers (seconds + micro- or nanoseconds), never floats."""

    def __init__(self, linktype=LINKTYPE_ETHERNET, snaplen=262144, nano=False,
                 t0_sec=T0_SEC, t0_frac=0, step_frac=None):
        self.linktype, self.snaplen, self.nano = linktype, snaplen, nano
        self.unit = 1_000_000_000 if nano else 1_000_000
        self.t = t0_sec * self.unit + t0_frac
        self.step = step_frac if step_frac is not None else STEP_USEC * (self.unit // 1_000_000)
        self.records = []
        self.notes = []          # per-frame documentation lines (printed with -v)

    def add(self, frame, note="", wirelen=None):
        caplen = min(len(frame), self.snaplen)
        wl = len(frame) if wirelen is None else wirelen
        sec, frac = divmod(self.t, self.unit)
        self.records.append(struct.pack("<IIII", sec, frac, caplen, wl) + frame[:caplen])
        self.notes.append(note)
        self.t += self.step

    def header(self):
        magic = 0xA1B23C4D if self.nano else 0xA1B2C3D4
        return struct.pack("<IHHiIII", magic, 2, 4, 0, 0, self.snaplen, self.linktype)

    def data(self):
        return self.header() + b"".join(self.records)

    def __len__(self):
        return len(self.records)


def pad4(b):
    return b + bytes((4 - len(b) % 4) % 4)


def pcapng_option(code, value):
    return struct.pack("<HH", code, len(value)) + pad4(value)


def pcapng_block(btype, body):
    """Generic block: type, total length, body (padded), total length again."""
    body = pad4(body)
    total = 12 + len(body)
    return struct.pack("<II", btype, total) + body + struct.pack("<I", total)


def pcapng_shb(options=b""):
    body = struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1)
    if options:
        body += options + pcapng_option(0, b"")[:4]
    return pcapng_block(0x0A0D0D0A, body)


def pcapng_idb(linktype, snaplen, name, tsresol):
    opts = pcapng_option(2, name.encode())                 # if_name
    opts += pcapng_option(9, bytes([tsresol]))             # if_tsresol (10^-tsresol s)
    opts += struct.pack("<HH", 0, 0)                       # opt_endofopt
    return pcapng_block(1, struct.pack("<HHI", linktype, 0, snaplen) + opts)


def pcapng_epb(ifid, ts_units, frame):
    body = struct.pack("<IIIII", ifid, ts_units >> 32, ts_units & 0xFFFFFFFF,
                       len(frame), len(frame)) + pad4(frame)
    return pcapng_block(6, body)


# ---------------------------------------------------------------------------------------------
# 4. Topology
# ---------------------------------------------------------------------------------------------
#
#   node-a 192.168.1.10  flannel.1 10.244.1.0/32  pods 10.244.1.0/24   } VTEP pair A<->B: outer UDP
#   node-b 192.168.1.20  flannel.1 10.244.2.0/32  pods 10.244.2.0/24   } checksum ON  ("FULL" mode)
#   node-c 192.168.1.30  flannel.1 10.244.3.0/32  pods 10.244.3.0/24   } VTEP pair C<->D: outer UDP
#   node-d 192.168.1.40  flannel.1 10.244.4.0/32  pods 10.244.4.0/24   } checksum 0    ("ZERO" mode)
#
# Each VTEP uses one fixed outer source port per inner flow direction (inside 32768..60998).

NODE_IP = {"a": "192.168.1.10", "b": "192.168.1.20", "c": "192.168.1.30", "d": "192.168.1.40"}
NODE_MAC = {"a": "52:54:00:00:01:0a", "b": "52:54:00:00:01:14",
            "c": "52:54:00:00:01:1e", "d": "52:54:00:00:01:28"}
VTEP_MAC = {"a": "a2:0a:f4:01:00:00", "b": "a2:0a:f4:02:00:00",      # flannel.1 MACs
            "c": "a2:0a:f4:03:00:00", "d": "a2:0a:f4:04:00:00"}
FLANNEL_IP = {n: "10.244.%d.0" % i for i, n in enumerate("abcd", 1)}
POD_IP = {n: "10.244.%d.5" % i for i, n in enumerate("abcd", 1)}
POD6 = {"a": "fd00:10:244:1::5", "b": "fd00:10:244:2::5"}
VXLAN_SPORT = {"a": 40299, "b": 43383, "c": 51234, "d": 36001}
VXLAN_PORT = 8472
NFS_PORT = 2049


class Ids:
    """Per-sender IPv4 ID counters (deterministic)."""

    def __init__(self):
        self.next = {}

    def __call__(self, key, start=0x1000):
        v = self.next.get(key, start)
        self.next[key] = (v + 1) & 0xFFFF
        return v


def inner_frame(src_node, dst_node, ip_packet, ethertype=ETH_IPV4):
    """Inner Ethernet as flannel.1 builds it: VTEP MAC to VTEP MAC."""
    return ethernet(VTEP_MAC[dst_node], VTEP_MAC[src_node], ethertype, ip_packet)


def vxlan_frame(src_node, dst_node, inner, ident, csum=OK, sport=None, vni=1, dport=VXLAN_PORT,
                vx=None, tags=None, src_ip=None):
    """Outer Ethernet/IPv4 (no DF, TTL 64)/UDP/VXLAN around an inner Ethernet frame.

    csum: OK, ZERO, PARTIAL, an int, or Over(<l4 bytes>) for LCO (see lco_mode()).  src_ip
    replaces the source node's address (an outer source NAT rewrote)."""
    s, d = NODE_IP[src_node] if src_ip is None else src_ip, NODE_IP[dst_node]
    sport = VXLAN_SPORT[src_node] if sport is None else sport
    payload = (vxlan_header(vni) if vx is None else vx) + inner
    u = udp(s, d, sport, dport, payload, csum=csum)
    ip = ipv4(s, d, PROTO_UDP, u, ident)
    if tags:
        return ethernet_tagged(NODE_MAC[dst_node], NODE_MAC[src_node], tags, ETH_IPV4, ip)
    return ethernet(NODE_MAC[dst_node], NODE_MAC[src_node], ETH_IPV4, ip)


def lco_mode(src_node, dst_node, inner_final, sport=None, vx=None, dport=VXLAN_PORT):
    """Outer checksum mode for local checksum offload: checksum over the UDP datagram that carries
    inner_final (the inner frame with its final TCP checksum) instead of the captured one."""
    s, d = NODE_IP[src_node], NODE_IP[dst_node]
    sport = VXLAN_SPORT[src_node] if sport is None else sport
    other = udp(s, d, sport, dport, (vxlan_header() if vx is None else vx) + inner_final, csum=ZERO)
    return Over(other)


def tcp4(src, dst, sport, dport, seq, ack, flags, ident, payload=b"", options=b"", csum=OK,
         window=502, df=True):
    """IPv4 + TCP, inner-packet defaults (DF set, TTL 64)."""
    seg = tcp(src, dst, sport, dport, seq, ack, flags, payload, options, window, csum)
    return ipv4(src, dst, PROTO_TCP, seg, ident, df=df)


def handshake(cli, srv, cport, sport, ids, data_len=100, csum=OK):
    """Client/server IPv4 TCP conversation: SYN, SYN-ACK, ACK[, 100-byte PSH/ACK, ACK].

    Returns a list of (direction, ip_packet, label) with direction 'c2s' or 's2c'."""
    isn_c, isn_s = 1000, 5000
    pkts = [
        ("c2s", tcp4(cli, srv, cport, sport, isn_c, 0, TCP_SYN, ids(cli), window=64860,
                     options=tcp_opts_syn(100), csum=csum), "SYN"),
        ("s2c", tcp4(srv, cli, sport, cport, isn_s, isn_c + 1, TCP_SYN | TCP_ACK, ids(srv, 0),
                     window=64308, options=tcp_opts_syn(200, 100), csum=csum), "SYN-ACK"),
        ("c2s", tcp4(cli, srv, cport, sport, isn_c + 1, isn_s + 1, TCP_ACK, ids(cli),
                     options=tcp_opts_ts(101, 200), csum=csum), "ACK"),
    ]
    if data_len:
        pkts += [
            ("c2s", tcp4(cli, srv, cport, sport, isn_c + 1, isn_s + 1, TCP_PSH | TCP_ACK,
                         ids(cli), payload=pattern(data_len), options=tcp_opts_ts(102, 200),
                         csum=csum), "PSH-ACK %d bytes" % data_len),
            ("s2c", tcp4(srv, cli, sport, cport, isn_s + 1, isn_c + 1 + data_len, TCP_ACK,
                         ids(srv, 0), options=tcp_opts_ts(201, 102), csum=csum), "ACK"),
        ]
    return pkts


# ----- helpers that describe frames for the -v output -----------------------------------------

def describe_l4(label, src, dst, proto, l4):
    """'label field=0xXXXX correct=0xYYYY (ok|...)' for documentation."""
    off = 16 if proto == PROTO_TCP else 6
    field = get16(l4, off)
    zeroed = bytearray(l4)
    zeroed[off:off + 2] = b"\x00\x00"
    c = correct_checksum(src, dst, proto, bytes(zeroed))
    tags = []
    if field == c or residual(src, dst, proto, l4) == 0xFFFF:
        tags.append("valid")
    if field == pseudo_sum(src, dst, proto, len(l4)):
        tags.append("partial")
    if field == pseudo_sum(src, dst, proto, 0):
        tags.append("partial0")
    if field == 0:
        tags.append("zero")
    return "%s field=0x%04x correct=0x%04x [%s]" % (label, field, c, ",".join(tags) or "INVALID")


def parse_ipv4_l4(ip):
    """(src, dst, proto, l4 bytes) of a well-formed IPv4 packet."""
    ihl = (ip[0] & 0x0F) * 4
    tl = get16(ip, 2)
    src = str(ipaddress.ip_address(ip[12:16]))
    dst = str(ipaddress.ip_address(ip[16:20]))
    return src, dst, ip[9], ip[ihl:tl]


def describe_ipv4(label, ip):
    src, dst, proto, l4 = parse_ipv4_l4(ip)
    hdr_ok = onesum(ip[:(ip[0] & 0x0F) * 4]) == 0xFFFF
    return "%s ip=%s %s" % (label, "ok" if hdr_ok else "BAD(0x%04x)" % get16(ip, 10),
                            describe_l4(label, src, dst, proto, l4) if proto in (6, 17) else "")


def describe_vxlan(frame):
    """Outer IPv4/UDP and inner IPv4/L4 of an untagged Ethernet/IPv4/UDP/VXLAN/Ethernet frame."""
    return "outer %s; inner %s" % (describe_ipv4("udp", frame[14:]),
                                   describe_ipv4("l4", frame[14 + 20 + 8 + 8 + 14:]))


# ---------------------------------------------------------------------------------------------
# 5. Fixtures: one function per file.  Each returns a Pcap (or raw bytes for the bad/ files).
# ---------------------------------------------------------------------------------------------

def vxlan_clean():
    """TCP handshake + data over VXLAN A<->B (outer checksum on), then a handshake over C<->D
    (outer checksum 0).  All inner checksums correct."""
    cap, ids = Pcap(), Ids()
    for direction, ip, label in handshake(POD_IP["a"], POD_IP["b"], 40000, NFS_PORT, ids):
        s, d = ("a", "b") if direction == "c2s" else ("b", "a")
        f = vxlan_frame(s, d, inner_frame(s, d, ip), ids(NODE_IP[s], 0x2000), csum=OK)
        cap.add(f, "FULL %s: %s" % (label, describe_vxlan(f)))
    for direction, ip, label in handshake(POD_IP["c"], POD_IP["d"], 40000, NFS_PORT, ids,
                                          data_len=0):
        s, d = ("c", "d") if direction == "c2s" else ("d", "c")
        f = vxlan_frame(s, d, inner_frame(s, d, ip), ids(NODE_IP[s], 0x3000), csum=ZERO)
        cap.add(f, "ZERO %s: %s" % (label, describe_vxlan(f)))
    return cap


def vxlan_inner_bad_tcp():
    """Zero-checksum tunnel C->D: good SYN, data segment with inner TCP check XOR 0x1234,
    segment with a bad inner IPv4 header checksum (XOR 0x00ff)."""
    cap = Pcap()
    c, d = POD_IP["c"], POD_IP["d"]
    pkts = [
        ("good SYN", tcp4(c, d, 40010, NFS_PORT, 1000, 0, TCP_SYN, 0x4000,
                          options=tcp_opts_syn(100), window=64860)),
        ("bad TCP", tcp4(c, d, 40010, NFS_PORT, 1001, 5001, TCP_PSH | TCP_ACK, 0x4001,
                         payload=pattern(100), options=tcp_opts_ts(102, 200), csum=Xor(0x1234))),
    ]
    seg = tcp(c, d, 40010, NFS_PORT, 1101, 5001, TCP_ACK, options=tcp_opts_ts(103, 200))
    pkts.append(("bad IPv4 hdr", ipv4(c, d, PROTO_TCP, seg, 0x4002, df=True, csum=Xor(0x00FF))))
    for i, (label, ip) in enumerate(pkts):
        f = vxlan_frame("c", "d", inner_frame("c", "d", ip), 0x3000 + i, csum=ZERO)
        cap.add(f, "%s: %s" % (label, describe_ipv4("inner", ip)))
    return cap


def sender_offload():
    """Sender-side (TX) capture artefacts of CHECKSUM_PARTIAL, cases (a)..(g) of the brief."""
    cap = Pcap()
    fa, fb = FLANNEL_IP["a"], POD_IP["b"]          # 10.244.1.0 -> 10.244.2.5

    # (a) plain TCP SYN, L4 length 40, partial -> 0x191B (captured on flannel.1, Ethernet)
    ip = tcp4(fa, fb, 40001, NFS_PORT, 1000, 0, TCP_SYN, 0x5001, options=tcp_opts_syn(100),
              window=64860, csum=PARTIAL)
    assert get16(ip, 20 + 16) == 0x191B
    cap.add(inner_frame("a", "b", ip), "(a) " + describe_ipv4("tcp", ip))

    # (b) plain TCP, partial over L4 length 0 (driver TSO form)
    ip = tcp4(fa, fb, 40002, NFS_PORT, 2001, 6001, TCP_PSH | TCP_ACK, 0x5002,
              payload=pattern(100), options=tcp_opts_ts(102, 200), csum=PARTIAL0)
    cap.add(inner_frame("a", "b", ip), "(b) " + describe_ipv4("tcp", ip))

    # (c) VXLAN, outer check 0 (C->D), inner TCP partial
    fc, fd = FLANNEL_IP["c"], POD_IP["d"]
    ip = tcp4(fc, fd, 40003, NFS_PORT, 3000, 0, TCP_SYN, 0x5003, options=tcp_opts_syn(100),
              window=64860, csum=PARTIAL)
    cap.add(vxlan_frame("c", "d", inner_frame("c", "d", ip), 0x3100, csum=ZERO),
            "(c) " + describe_ipv4("inner", ip))

    # (d) VXLAN with LCO (A->B): outer = correct checksum after substituting the inner final value
    ip_partial = tcp4(fa, fb, 40004, NFS_PORT, 4000, 0, TCP_SYN, 0x5004,
                      options=tcp_opts_syn(100), window=64860, csum=PARTIAL)
    ip_final = tcp4(fa, fb, 40004, NFS_PORT, 4000, 0, TCP_SYN, 0x5004,
                    options=tcp_opts_syn(100), window=64860, csum=OK)
    inner_p, inner_f = inner_frame("a", "b", ip_partial), inner_frame("a", "b", ip_final)
    f = vxlan_frame("a", "b", inner_p, 0x2100, csum=lco_mode("a", "b", inner_f))
    outer = f[14:]
    _, _, _, outer_udp = parse_ipv4_l4(outer)
    raw_res = residual(NODE_IP["a"], NODE_IP["b"], PROTO_UDP, outer_udp)
    assert raw_res != 0xFFFF                      # verifying the raw bytes must fail
    over_raw = correct_checksum(NODE_IP["a"], NODE_IP["b"], PROTO_UDP,
                                outer_udp[:6] + b"\x00\x00" + outer_udp[8:])
    cap.add(f, "(d) LCO outer field=0x%04x raw-residual=0x%04x correct-over-raw-bytes=0x%04x; "
            "%s; inner final value 0x%04x" % (get16(outer_udp, 6), raw_res, over_raw,
                                              describe_ipv4("inner", ip_partial),
                                              get16(ip_final, 20 + 16)))

    # (e) VXLAN A->B, outer UDP in partial form (outer offloaded), inner TCP final
    ip = tcp4(fa, fb, 40005, NFS_PORT, 5000, 0, TCP_SYN, 0x5005, options=tcp_opts_syn(100),
              window=64860, csum=OK)
    f = vxlan_frame("a", "b", inner_frame("a", "b", ip), 0x2101, csum=PARTIAL)
    cap.add(f, "(e) " + describe_ipv4("outer", f[14:]) + "; " + describe_ipv4("inner", ip))

    # (f) plain UDP over IPv4, partial (pod a -> pod b, 32-byte payload)
    u = udp(POD_IP["a"], POD_IP["b"], 50000, 5001, pattern(32, 0x40), csum=PARTIAL)
    ip = ipv4(POD_IP["a"], POD_IP["b"], PROTO_UDP, u, 0x5006, df=True)
    cap.add(inner_frame("a", "b", ip), "(f) " + describe_ipv4("udp", ip))

    # (g) IPv6 TCP SYN, partial (IPv6 pseudo-header, L4 length 40)
    seg = tcp(POD6["a"], POD6["b"], 40007, NFS_PORT, 7000, 0, TCP_SYN, options=tcp_opts_syn(100),
              window=64800, csum=PARTIAL)
    ip6 = ipv6(POD6["a"], POD6["b"], PROTO_TCP, seg)
    cap.add(inner_frame("a", "b", ip6, ETH_IPV6),
            "(g) " + describe_l4("tcp6", POD6["a"], POD6["b"], PROTO_TCP, seg))
    return cap


def make_zero_sum_payload(src, dst, sport, dport, n):
    """n-byte payload (n even, >= 2) whose UDP checksum computes to 0x0000 (sent as 0xFFFF).

    The last 16-bit word is chosen so that
    onesum(pseudo || header(check=0) || payload) == 0xFFFF."""
    body = bytearray(pattern(n - 2, 0x61)) + b"\x00\x00"
    d = struct.pack("!HHHH", sport, dport, 8 + n, 0) + bytes(body)
    s = onesum(d, pseudo_sum(src, dst, PROTO_UDP, len(d)))
    struct.pack_into("!H", body, n - 2, ~s & 0xFFFF)
    return bytes(body)


def udp_zero():
    cap = Pcap()
    a, b = POD_IP["a"], POD_IP["b"]
    # 1. IPv4 UDP, checksum 0 = "no checksum"
    u = udp(a, b, 50001, 5001, pattern(24, 0x30), csum=ZERO)
    ip = ipv4(a, b, PROTO_UDP, u, 0x6001, df=True)
    cap.add(inner_frame("a", "b", ip), "v4 zero: " + describe_ipv4("udp", ip))
    # 2. IPv6 UDP, checksum 0 (illegal in IPv6, RFC 8200 8.1)
    u6 = udp(POD6["a"], POD6["b"], 50002, 5001, pattern(24, 0x30), csum=ZERO)
    cap.add(inner_frame("a", "b", ipv6(POD6["a"], POD6["b"], PROTO_UDP, u6), ETH_IPV6),
            "v6 zero: " + describe_l4("udp6", POD6["a"], POD6["b"], PROTO_UDP, u6))
    # 3. IPv4 UDP whose checksum computes to 0 -> transmitted as 0xFFFF
    pl = make_zero_sum_payload(a, b, 50003, 5001, 24)
    u = udp(a, b, 50003, 5001, pl, csum=OK)
    assert get16(u, 6) == 0xFFFF
    ip = ipv4(a, b, PROTO_UDP, u, 0x6003, df=True)
    cap.add(inner_frame("a", "b", ip), "v4 0xffff: " + describe_ipv4("udp", ip))
    return cap


NODE6 = {"a": "fd00:192:168:1::10", "b": "fd00:192:168:1::20"}  # an IPv6 underlay for a and b


def ipv4_with_options(src, dst, proto, payload, ident, options, df=True):
    """IPv4 header with `options` (a multiple of 4 bytes) + payload, header checksum correct."""
    assert len(options) % 4 == 0
    ihl = 5 + len(options) // 4
    hdr = bytearray(struct.pack("!BBHHHBBH4s4s", 0x40 | ihl, 0, 4 * ihl + len(payload), ident,
                                0x4000 if df else 0, 64, proto, 0, addr_bytes(src),
                                addr_bytes(dst)) + options)
    struct.pack_into("!H", hdr, 10, ip_header_checksum(bytes(hdr)))
    return bytes(hdr) + payload


def checksum_edges():
    """Checksums that verify although a naive check says otherwise, and a tunnel without outer
    checksums over IPv6 (see pcaps/README.md, checksum-edges.pcap)."""
    cap, ids = Pcap(), Ids()
    a, b = POD_IP["a"], POD_IP["b"]
    # 1-2. A TCP segment whose checksum computes to 0x0000, sent as 0xFFFF (-0: the sum over the
    #      segment is still 0xFFFF, RFC 1624 3) and as 0x0000.
    body = bytearray(b"\x00\x00")
    seg = tcp(a, b, 40600, NFS_PORT, 3000, 4000, TCP_PSH | TCP_ACK, bytes(body), csum=ZERO)
    struct.pack_into("!H", body, 0, ~residual(a, b, PROTO_TCP, seg) & 0xFFFF)
    for value in (0xFFFF, 0x0000):
        seg = tcp(a, b, 40600, NFS_PORT, 3000, 4000, TCP_PSH | TCP_ACK, bytes(body), csum=value)
        assert residual(a, b, PROTO_TCP, seg) == 0xFFFF
        ip = ipv4(a, b, PROTO_TCP, seg, ids(a), df=True)
        cap.add(inner_frame("a", "b", ip), "tcp check 0x%04x: %s" % (value,
                                                                   describe_ipv4("tcp", ip)))
    # 3-4. A loose source route (RFC 791 3.1) to pod b through 10.0.0.1: in transit (pointer 4)
    #      the IPv4 destination is the hop and the TCP checksum covers pod b; complete (pointer 8)
    #      the destination is pod b.
    seg = tcp(a, b, 40601, NFS_PORT, 1000, 0, TCP_SYN, options=tcp_opts_syn(100), window=64860)
    for pointer, dst in ((4, "10.0.0.1"), (8, b)):
        lsrr = bytes([1, 131, 7, pointer]) + addr_bytes(b)   # NOP, LSRR with one address
        ip = ipv4_with_options(a, dst, PROTO_TCP, seg, ids(a), lsrr)
        cap.add(inner_frame("a", "b", ip), "LSRR pointer %d, dst %s: tcp F=0x%04x over %s" % (
            pointer, dst, get16(seg, 16), b))
    # 5-7. A handshake in VXLAN over an IPv6 underlay that sends no outer checksums (RFC 6935,
    #      Linux udp6zerocsumtx): bad by RFC 8200 8.1, but neither corruption nor NAT.
    for direction, ip, label in handshake(a, b, 40602, NFS_PORT, ids, data_len=0):
        s, d = ("a", "b") if direction == "c2s" else ("b", "a")
        u = udp(NODE6[s], NODE6[d], VXLAN_SPORT[s], VXLAN_PORT,
                vxlan_header() + inner_frame(s, d, ip), csum=ZERO)
        f = ethernet(NODE_MAC[d], NODE_MAC[s], ETH_IPV6, ipv6(NODE6[s], NODE6[d], PROTO_UDP, u))
        cap.add(f, "v6 underlay %s, outer check 0; inner %s" % (label, describe_ipv4("tcp", ip)))
    return cap


def truncated_snaplen():
    """snaplen 96: VXLAN with 1000-byte inner payload, plain TCP with 1000-byte payload (both cut),
    and an uncut 66-byte ACK."""
    cap = Pcap(snaplen=96)
    a, b = POD_IP["a"], POD_IP["b"]
    ip = tcp4(a, b, 40020, NFS_PORT, 1001, 5001, TCP_PSH | TCP_ACK, 0x7001,
              payload=pattern(1000), options=tcp_opts_ts(102, 200))
    f = vxlan_frame("a", "b", inner_frame("a", "b", ip), 0x2200)
    cap.add(f, "vxlan wirelen=%d: outer %s; inner %s" % (
        len(f), describe_ipv4("udp", f[14:]), describe_ipv4("tcp", ip)))
    ip = tcp4(a, b, 40021, NFS_PORT, 1001, 5001, TCP_PSH | TCP_ACK, 0x7002,
              payload=pattern(1000), options=tcp_opts_ts(102, 200))
    f = inner_frame("a", "b", ip)
    cap.add(f, "plain wirelen=%d: %s" % (len(f), describe_ipv4("tcp", ip)))
    ip = tcp4(a, b, 40021, NFS_PORT, 2001, 5001, TCP_ACK, 0x7003, options=tcp_opts_ts(103, 200))
    f = inner_frame("a", "b", ip)
    cap.add(f, "uncut len=%d: %s" % (len(f), describe_ipv4("tcp", ip)))
    return cap


def fragments():
    """IPv4 UDP datagram of 3000 bytes (UDP length 3000) in 3 fragments (MTU 1500), then an IPv6
    UDP datagram of 2000 bytes in 2 fragments (Fragment header, 1232-byte fragment payloads)."""
    cap = Pcap()
    a, b = POD_IP["a"], POD_IP["b"]
    dgram = udp(a, b, 41000, 5001, pattern(2992, 7))
    note = describe_l4("udp(reassembled)", a, b, PROTO_UDP, dgram)
    for i, start in enumerate(range(0, len(dgram), 1480)):
        chunk = dgram[start:start + 1480]
        more = start + 1480 < len(dgram)
        ip = ipv4(a, b, PROTO_UDP, chunk, 0x5A5A, mf=more, frag_off8=start // 8)
        cap.add(inner_frame("a", "b", ip), "v4 frag %d off=%d MF=%d len=%d; %s" % (
            i + 1, start, more, len(ip), note))
    s6, d6 = POD6["a"], POD6["b"]
    dgram6 = udp(s6, d6, 41001, 5001, pattern(1992, 9))
    note = describe_l4("udp6(reassembled)", s6, d6, PROTO_UDP, dgram6)
    for i, start in enumerate(range(0, len(dgram6), 1232)):
        chunk = dgram6[start:start + 1232]
        more = start + 1232 < len(dgram6)
        ip6 = ipv6(s6, d6, 44, ipv6_fragment(PROTO_UDP, start // 8, more, 0x0000ABCD) + chunk)
        cap.add(inner_frame("a", "b", ip6, ETH_IPV6), "v6 frag %d off=%d M=%d; %s" % (
            i + 1, start, more, note))
    return cap


def ipv6_ext():
    """IPv6 extension headers and the pseudo-header addresses they imply (RFC 8200 8.1,
    RFC 8754 SRH, RFC 6275 Home Address option / type 2 routing header)."""
    cap = Pcap()
    src, final = POD6["a"], POD6["b"]
    eth = lambda p: inner_frame("a", "b", p, ETH_IPV6)   # noqa: E731

    # 1. HBH (PadN) + Destination Options (PadN) + TCP SYN
    seg = tcp(src, final, 40030, NFS_PORT, 1000, 0, TCP_SYN, options=tcp_opts_syn(100),
              window=64800)
    pkt = (ipv6_options_header(60, b"") + ipv6_options_header(PROTO_TCP, b"") + seg)
    cap.add(eth(ipv6(src, final, 0, pkt)), "HBH+DST " + describe_l4("tcp", src, final, 6, seg))

    # 2. Routing type 0, segments_left 2: header dst = first hop, final = last address
    hop1, hop2 = "fd00::a1", "fd00::a2"
    u = udp(src, final, 41030, 5001, pattern(40, 1))
    pkt = ipv6_routing_type0(PROTO_UDP, [hop2, final], 2) + u
    cap.add(eth(ipv6(src, hop1, 43, pkt)), "RH0 " + describe_l4("udp(final)", src, final, 17, u))

    # 3. Routing type 2 (MIPv6): header dst = care-of address, final = home address in RH2
    coa, home = "fd00:cafe::2", final
    u = udp(src, home, 41031, 5001, pattern(40, 2))
    pkt = ipv6_routing_type2(PROTO_UDP, home) + u
    cap.add(eth(ipv6(src, coa, 43, pkt)), "RH2 " + describe_l4("udp(home)", src, home, 17, u))

    # 4. SRH (type 4): Segment List [final, fd00::b1, fd00::b2], segments_left 2, dst = SL[2]
    sl = [final, "fd00::b1", "fd00::b2"]
    u = udp(src, final, 41032, 5001, pattern(40, 3))
    pkt = ipv6_srh(PROTO_UDP, sl, 2) + u
    cap.add(eth(ipv6(src, sl[2], 43, pkt)), "SRH " + describe_l4("udp(SL0)", src, final, 17, u))

    # 5. Destination Options with Home Address option: IPv6 src = care-of address, the checksum
    #    uses the home address as source (RFC 6275 6.3).  HAO is type 201, 16 bytes, 8n+6 aligned.
    coa_src, home_src = "fd00:cafe::5", src
    u = udp(home_src, final, 41033, 5001, pattern(40, 4))
    hao = bytes([1, 2, 0, 0]) + bytes([201, 16]) + addr_bytes(home_src)    # PadN(4) + HAO
    pkt = ipv6_options_header(PROTO_UDP, hao) + u
    assert len(pkt) - len(u) == 24
    cap.add(eth(ipv6(coa_src, final, 60, pkt)),
            "HAO " + describe_l4("udp(home src)", home_src, final, 17, u))

    # 6. Like 2, but the checksum was computed with the IPv6 header dst (hop1): wrong
    u_wrong = udp(src, hop1, 41034, 5001, pattern(40, 5))
    pkt = ipv6_routing_type0(PROTO_UDP, [hop2, final], 2) + u_wrong
    cap.add(eth(ipv6(src, hop1, 43, pkt)),
            "RH0 wrong-dst " + describe_l4("udp(final)", src, final, 17, u_wrong))
    return cap


def vlan_qinq():
    cap = Pcap()
    a, b = NODE_IP["a"], NODE_IP["b"]
    ip = tcp4(a, b, 45000, NFS_PORT, 1000, 0, TCP_SYN, 0x7100, options=tcp_opts_syn(100),
              window=64240)
    f = ethernet_tagged(NODE_MAC["b"], NODE_MAC["a"], [(ETH_QINQ, 100), (ETH_VLAN, 200)],
                        ETH_IPV4, ip)
    cap.add(f, "QinQ s100 c200: " + describe_ipv4("tcp", ip))
    inner = tcp4(POD_IP["a"], POD_IP["b"], 40040, NFS_PORT, 1000, 0, TCP_SYN, 0x7101,
                 options=tcp_opts_syn(100), window=64860)
    f = vxlan_frame("a", "b", inner_frame("a", "b", inner), 0x2300, tags=[(ETH_VLAN, 10)])
    cap.add(f, "802.1Q 10 + VXLAN: outer %s; inner %s" % (
        describe_ipv4("udp", f[18:]), describe_ipv4("tcp", inner)))
    return cap


def flannel1_conversation():
    """What flannel.1 on node-a sees: 10.244.1.0:40050 <-> 10.244.2.5:2049, no VXLAN."""
    return handshake(FLANNEL_IP["a"], POD_IP["b"], 40050, NFS_PORT, Ids(), data_len=0)


def sll_cooked():
    cap = Pcap(linktype=LINKTYPE_LINUX_SLL)
    for direction, ip, label in flannel1_conversation():
        if direction == "c2s":
            hdr = sll_header(PACKET_OUTGOING, ARPHRD_ETHER, VTEP_MAC["a"], ETH_IPV4)
        else:
            hdr = sll_header(PACKET_HOST, ARPHRD_ETHER, VTEP_MAC["b"], ETH_IPV4)
        cap.add(hdr + ip, label + ": " + describe_ipv4("tcp", ip))
    return cap


def sll2_flannel():
    cap = Pcap(linktype=LINKTYPE_LINUX_SLL2)
    for direction, ip, label in flannel1_conversation():
        if direction == "c2s":
            hdr = sll2_header(ETH_IPV4, 5, ARPHRD_ETHER, PACKET_OUTGOING, VTEP_MAC["a"])
        else:
            hdr = sll2_header(ETH_IPV4, 5, ARPHRD_ETHER, PACKET_HOST, VTEP_MAC["b"])
        cap.add(hdr + ip, label + ": " + describe_ipv4("tcp", ip))
    return cap


def raw_ip():
    cap = Pcap(linktype=LINKTYPE_RAW)
    ip = tcp4(POD_IP["a"], POD_IP["b"], 40060, NFS_PORT, 1000, 0, TCP_SYN, 0x7200,
              options=tcp_opts_syn(100), window=64860)
    cap.add(ip, "v4: " + describe_ipv4("tcp", ip))
    u = udp(POD6["a"], POD6["b"], 41060, 5001, pattern(32, 6))
    cap.add(ipv6(POD6["a"], POD6["b"], PROTO_UDP, u),
            "v6: " + describe_l4("udp", POD6["a"], POD6["b"], 17, u))
    return cap


def null_loopback():
    """DLT_NULL: 4-byte address family in the writer's (little-endian) byte order.
    AF_INET = 2; AF_INET6 = 30 (Darwin), 24 (NetBSD/OpenBSD), 28 (FreeBSD)."""
    cap = Pcap(linktype=LINKTYPE_NULL)
    ip = tcp4("127.0.0.1", "127.0.0.1", 40070, NFS_PORT, 1000, 0, TCP_SYN, 0x7300,
              options=tcp_opts_syn(100), window=65535)
    cap.add(struct.pack("<I", 2) + ip, "AF_INET 2: " + describe_ipv4("tcp", ip))
    for fam, port in ((30, 40071), (24, 40072), (28, 40073)):
        seg = tcp("::1", "::1", port, NFS_PORT, 1000, 0, TCP_SYN, options=tcp_opts_syn(100),
                  window=65535)
        cap.add(struct.pack("<I", fam) + ipv6("::1", "::1", PROTO_TCP, seg),
                "AF_INET6 %d: " % fam + describe_l4("tcp6", "::1", "::1", 6, seg))
    return cap


def geneve_options():
    cap = Pcap()
    opt = struct.pack("!HBB", 0x0104, 0x01, 1) + bytes.fromhex("deadbeef")   # class,type,len=1
    for (s, d), gopt, label, ident in ((("a", "b"), opt, "optlen 2", 0x2400),
                                       (("b", "a"), b"", "optlen 0", 0x2500)):
        cli = s == "a"
        ip = tcp4(POD_IP[s], POD_IP[d], 40080 if cli else NFS_PORT, NFS_PORT if cli else 40080,
                  1000 if cli else 5000, 0 if cli else 1001,
                  TCP_SYN if cli else TCP_SYN | TCP_ACK, 0x7400 + ident % 2,
                  options=tcp_opts_syn(100) if cli else tcp_opts_syn(200, 100), window=64860)
        gen = geneve_header(1, gopt)
        f = vxlan_frame(s, d, inner_frame(s, d, ip), ident, dport=6081, vx=gen)
        cap.add(f, "Geneve %s: outer %s; inner %s" % (
            label, describe_ipv4("udp", f[14:]), describe_ipv4("tcp", ip)))
    return cap


def vxlan_gpe():
    cap = Pcap()
    for i, (s, d) in enumerate((("a", "b"), ("b", "a"))):
        cli = s == "a"
        ip = tcp4(POD_IP[s], POD_IP[d], 40090 if cli else NFS_PORT, NFS_PORT if cli else 40090,
                  1000 if cli else 5000, 0 if cli else 1001,
                  TCP_SYN if cli else TCP_SYN | TCP_ACK, 0x7500 + i,
                  options=tcp_opts_syn(100) if cli else tcp_opts_syn(200, 100), window=64860)
        f = vxlan_frame(s, d, ip, 0x2600 + i, dport=4790, vx=vxlan_gpe_header(1, 1))
        cap.add(f, "GPE: outer %s; (inner %s)" % (describe_ipv4("udp", f[14:]),
                                                   describe_ipv4("tcp", ip)))
    return cap


def big_tcp():
    """Super-packets on node-a's eth0 (TX side, before segmentation)."""
    cap = Pcap(snaplen=262144)
    a, b = NODE_IP["a"], NODE_IP["b"]
    opts = tcp_opts_ts(300, 400)

    # 1. IPv4 BIG TCP: tot_len 0, TCP segment 70000 bytes, partial over L4len 70000 (32-bit)
    seg = tcp(a, b, 45678, NFS_PORT, 100000, 200000, TCP_ACK, pattern(70000 - 32, 11), opts,
              csum=PARTIAL)
    assert len(seg) == 70000
    ip = ipv4(a, b, PROTO_TCP, seg, 0x8000, df=True, tot_len=0)
    cap.add(ethernet(NODE_MAC["b"], NODE_MAC["a"], ETH_IPV4, ip),
            "BIG TCP: ip hdr %s; %s; 16-bit-truncated partial would be 0x%04x" % (
                "ok" if onesum(ip[:20]) == 0xFFFF else "BAD",
                describe_l4("tcp(L4len 70000)", a, b, 6, seg),
                pseudo_sum(a, b, 6, 70000 & 0xFFFF)))

    # 2. Ordinary TSO super-packet: tot_len 2948 (> MTU 1500), partial over real L4 length 2928
    seg = tcp(a, b, 45679, NFS_PORT, 300000, 400000, TCP_ACK, pattern(2896, 12), opts,
              csum=PARTIAL)
    ip = ipv4(a, b, PROTO_TCP, seg, 0x8100, df=True)
    cap.add(ethernet(NODE_MAC["b"], NODE_MAC["a"], ETH_IPV4, ip), "TSO: " +
            describe_ipv4("tcp", ip))

    # 3. igb-style TSO: tot_len 0 and TCP check = partial over L4 length 0
    seg = tcp(a, b, 45680, NFS_PORT, 500000, 600000, TCP_ACK, pattern(2896, 13), opts,
              csum=PARTIAL0)
    ip = ipv4(a, b, PROTO_TCP, seg, 0x8200, df=True, tot_len=0)
    cap.add(ethernet(NODE_MAC["b"], NODE_MAC["a"], ETH_IPV4, ip),
            "TSO tot_len 0: %s" % describe_l4("tcp(L4len 2928)", a, b, 6, seg))
    return cap


def malformed():
    """One decode anomaly per frame; caplen == wirelen everywhere."""
    cap = Pcap()
    a, b = POD_IP["a"], POD_IP["b"]
    ea = lambda p, t=ETH_IPV4: inner_frame("a", "b", p, t)   # noqa: E731
    syn = lambda port: tcp(a, b, port, NFS_PORT, 1000, 0, TCP_SYN, options=tcp_opts_syn(100),
                           window=64860)                     # noqa: E731

    # 1. Ethernet frame of 10 bytes
    cap.add(ea(b"")[:10], "eth 10 bytes")
    # 2. IPv4 IHL 3 (header checksum computed over the 20 bytes written)
    cap.add(ea(ipv4(a, b, PROTO_TCP, syn(40101), 0x9001, df=True, ihl=3)), "ipv4 ihl 3")
    # 3. IPv4 tot_len 2000 but only 60 bytes of IP on the wire (frame 74 bytes, not snaplen-cut)
    seg = tcp(a, b, 40102, NFS_PORT, 1001, 5001, TCP_PSH | TCP_ACK, pattern(20))
    f = ea(ipv4(a, b, PROTO_TCP, seg, 0x9002, df=True, tot_len=2000))
    assert len(f) == 74
    cap.add(f, "ipv4 tot_len 2000 > 60 available")
    # 4. IPv4 tot_len 10 (< IHL*4 = 20)
    cap.add(ea(ipv4(a, b, PROTO_TCP, syn(40103), 0x9003, df=True, tot_len=10)), "ipv4 tot_len 10")
    # 5. TCP data offset 3 (< 5); checksum correct over the 20 L4 bytes
    seg = tcp(a, b, 40104, NFS_PORT, 1000, 0, TCP_SYN, window=64860, doff=3)
    cap.add(ea(ipv4(a, b, PROTO_TCP, seg, 0x9004, df=True)), "tcp doff 3 " +
            describe_l4("tcp", a, b, 6, seg))
    # 6. TCP data offset 15 (60 bytes) in a 20-byte segment
    seg = tcp(a, b, 40105, NFS_PORT, 1000, 0, TCP_SYN, window=64860, doff=15)
    cap.add(ea(ipv4(a, b, PROTO_TCP, seg, 0x9005, df=True)), "tcp doff 15 " +
            describe_l4("tcp", a, b, 6, seg))
    # 7. UDP length field 4 (< 8); IP payload is the 8-byte header
    u = udp(a, b, 41107, 5001, b"", length=4)
    cap.add(ea(ipv4(a, b, PROTO_UDP, u, 0x9006, df=True)), "udp len 4 " +
            describe_l4("udp(ip len)", a, b, 17, u))
    # 8. UDP length field 500 in a 40-byte datagram (IP payload 40)
    u = udp(a, b, 41108, 5001, pattern(32), length=500)
    cap.add(ea(ipv4(a, b, PROTO_UDP, u, 0x9007, df=True)), "udp len 500/40 " +
            describe_l4("udp(ip len)", a, b, 17, u))
    # 9. VXLAN with the I flag clear (flags 0x00); outer checksum correct
    inner = tcp4(a, b, 40109, NFS_PORT, 1000, 0, TCP_SYN, 0x9008, options=tcp_opts_syn(100),
                 window=64860)
    f = vxlan_frame("a", "b", inner_frame("a", "b", inner), 0x2700, vx=vxlan_header(flags=0x00))
    cap.add(f, "vxlan I=0: outer " + describe_ipv4("udp", f[14:]))
    # 10. VXLAN with reserved bits set: flags 0x09 (I + reserved bit 0x01), last byte 0xff
    inner = tcp4(a, b, 40110, NFS_PORT, 1000, 0, TCP_SYN, 0x9009, options=tcp_opts_syn(100),
                 window=64860)
    f = vxlan_frame("a", "b", inner_frame("a", "b", inner), 0x2701,
                    vx=vxlan_header(flags=0x09, rsvd2=0xFF))
    cap.add(f, "vxlan reserved: outer %s; inner %s" % (describe_ipv4("udp", f[14:]),
                                                        describe_ipv4("tcp", inner)))
    # 11. EtherType IPv6 but version nibble 4 (otherwise a valid IPv6 UDP packet)
    u6 = udp(POD6["a"], POD6["b"], 41111, 5001, pattern(16))
    cap.add(ea(ipv6(POD6["a"], POD6["b"], PROTO_UDP, u6, version=4), ETH_IPV6), "ipv6 version 4")
    # 12. VXLAN nested 5 deep.  Level k (1..4) carries VXLAN between 10.0.k.1 and 10.0.k.2;
    #     level 5 carries TCP pod a -> pod b.  All UDP checksums 0, IPv4/TCP checksums correct.
    ip = tcp4(a, b, 40112, NFS_PORT, 1000, 0, TCP_SYN, 0x900A, options=tcp_opts_syn(100),
              window=64860)
    frame = inner_frame("a", "b", ip)
    for k in range(4, 0, -1):
        s, d = "10.0.%d.1" % k, "10.0.%d.2" % k
        u = udp(s, d, 40000 + k, VXLAN_PORT, vxlan_header(vni=k + 1) + frame, csum=ZERO)
        frame = ethernet("02:00:00:00:%02x:02" % k, "02:00:00:00:%02x:01" % k, ETH_IPV4,
                         ipv4(s, d, PROTO_UDP, u, 0x9100 + k))
    f = vxlan_frame("a", "b", frame, 0x2702, csum=ZERO)
    cap.add(f, "vxlan x5 (len %d)" % len(f))
    # 13. ARP request (who-has 192.168.1.20 tell 192.168.1.10)
    arp = struct.pack("!HHBBH6s4s6s4s", 1, ETH_IPV4, 6, 4, 1, mac(NODE_MAC["a"]),
                      addr_bytes(NODE_IP["a"]), bytes(6), addr_bytes(NODE_IP["b"]))
    cap.add(ethernet("ff:ff:ff:ff:ff:ff", NODE_MAC["a"], ETH_ARP, arp), "arp")
    return cap


def nanosecond():
    cap = Pcap(nano=True, t0_frac=123456789, step_frac=1_000_001)
    ids = Ids()
    for direction, ip, label in handshake(POD_IP["a"], POD_IP["b"], 40120, NFS_PORT, ids,
                                          data_len=0):
        s, d = ("a", "b") if direction == "c2s" else ("b", "a")
        f = vxlan_frame(s, d, inner_frame(s, d, ip), ids(NODE_IP[s], 0x2800))
        cap.add(f, label + ": " + describe_vxlan(f))
    return cap


def pcapng_two_blocks():
    """pcapng: SHB, two IDBs (0: eth0 with if_tsresol 9 = ns; 1: flannel.1 with if_tsresol 6 = us),
    then the same handshake as seen on flannel.1 (if 1, decapsulated) and on eth0 (if 0, VXLAN)."""
    shb = pcapng_shb(pcapng_option(4, b"vxcheck tools/make_pcaps.py"))    # shb_userappl
    out = [shb,
           pcapng_idb(LINKTYPE_ETHERNET, 262144, "eth0", 9),
           pcapng_idb(LINKTYPE_ETHERNET, 262144, "flannel.1", 6)]
    notes, ids = [], Ids()
    t_ns = T0_SEC * 10**9 + 500_000_001
    for i, (direction, ip, label) in enumerate(
            handshake(POD_IP["a"], POD_IP["b"], 40130, NFS_PORT, ids, data_len=0)):
        s, d = ("a", "b") if direction == "c2s" else ("b", "a")
        inner = inner_frame(s, d, ip)
        t = t_ns + i * 1_000_000_007
        # Node-a view: flannel.1 sees a TX packet 20 us before eth0, an RX packet 20 us after.
        on_flannel = (pcapng_epb(1, t // 1000 + (-20 if direction == "c2s" else 20), inner),
                      "if1 flannel.1 %s: %s" % (label, describe_ipv4("tcp", ip)))
        f = vxlan_frame(s, d, inner, ids(NODE_IP[s], 0x2900))
        on_eth0 = (pcapng_epb(0, t, f), "if0 eth0 VXLAN %s: %s" % (label, describe_vxlan(f)))
        order = (on_flannel, on_eth0) if direction == "c2s" else (on_eth0, on_flannel)
        for block, note in order:
            out.append(block)
            notes.append(note)
    return b"".join(out), notes


def vxlan_nat_variants():
    """Double-SNAT corruption of the outer UDP checksum (domain.md 2.3 / 2.4)."""
    cap, ids = Pcap(), Ids()
    # --- Variant A: ZERO tunnel C->D.  3 ordinary zero-checksum packets, then the NAT'd SYN
    #     (outer sport 51234 -> 7103 by MASQUERADE) whose outer check became 0xFFFF.
    for direction, ip, label in handshake(POD_IP["c"], POD_IP["d"], 40140, NFS_PORT, ids,
                                          data_len=0):
        s, d = ("c", "d") if direction == "c2s" else ("d", "c")
        f = vxlan_frame(s, d, inner_frame(s, d, ip), ids(NODE_IP[s], 0x3300), csum=ZERO)
        cap.add(f, "A-pre %s: %s" % (label, describe_vxlan(f)))
    syn = tcp4(FLANNEL_IP["c"], POD_IP["d"], 45000, NFS_PORT, 7000, 0, TCP_SYN, 0x4500,
               options=tcp_opts_syn(500), window=64860)
    inner = inner_frame("c", "d", syn)
    f = vxlan_frame("c", "d", inner, ids(NODE_IP["c"], 0x3300), sport=7103, csum=0xFFFF)
    _, _, _, ou = parse_ipv4_l4(f[14:])
    ra = residual(NODE_IP["c"], NODE_IP["d"], 17, ou)
    cap.add(f, "A: " + describe_l4("outer udp", NODE_IP["c"], NODE_IP["d"], 17, ou) +
            " residual=0x%04x; inner %s" % (ra, describe_ipv4("tcp", syn)))

    # --- Variant B: FULL tunnel A->B.  3 ordinary full-checksum packets (an existing pod flow),
    #     then the NAT'd SYN: captured sport 7103, field = correct checksum for sport 50000.
    for direction, ip, label in handshake(POD_IP["a"], POD_IP["b"], 40141, NFS_PORT, ids,
                                          data_len=0):
        s, d = ("a", "b") if direction == "c2s" else ("b", "a")
        f = vxlan_frame(s, d, inner_frame(s, d, ip), ids(NODE_IP[s], 0x2A00), csum=OK)
        cap.add(f, "B-pre %s: %s" % (label, describe_vxlan(f)))
    syn = tcp4(FLANNEL_IP["a"], POD_IP["b"], 45001, NFS_PORT, 8000, 0, TCP_SYN, 0x4600,
               options=tcp_opts_syn(600), window=64860)
    inner = inner_frame("a", "b", syn)
    ident = ids(NODE_IP["a"], 0x2A00)
    pre = vxlan_frame("a", "b", inner, ident, sport=50000, csum=OK)
    _, _, _, pre_udp = parse_ipv4_l4(pre[14:])
    f_pre = get16(pre_udp, 6)
    f = vxlan_frame("a", "b", inner, ident, sport=7103, csum=f_pre)
    _, _, _, ou = parse_ipv4_l4(f[14:])
    rb = residual(NODE_IP["a"], NODE_IP["b"], 17, ou)
    p_old = fold(7103 + (~rb & 0xFFFF))
    assert p_old == 50000, p_old
    cap.add(f, "B: " + describe_l4("outer udp", NODE_IP["a"], NODE_IP["b"], 17, ou) +
            " residual=0x%04x P_old=fold(7103+~R)=%d; inner %s" % (rb, p_old,
                                                                   describe_ipv4("tcp", syn)))
    return cap


# ----- scenario captures (connection verdicts) ---------------------------------------------------
#
# Each scenario tells a story over time: SYN retransmission schedules, NAT'd and un-NAT'd outer
# packets, rejects and silent drops.  Frames are placed at explicit times (µs after T0_SEC) instead
# of the 1 ms default step.  pcaps/README.md, section "Scenario captures (connection verdicts)",
# lists the expected per-connection verdicts and the evidence values printed by -v.
#
# Realism choices shared by all scenarios:
#   - SYN retransmissions keep the ISN, take the next inner IP ID and a larger TSval (TSval =
#     per-connection base + elapsed ms, like Linux's ms TCP timestamp clock).
#   - A SYN-ACK carries inner IP ID 0 (Linux: DF set and no connected socket yet).
#   - Outer IP IDs come from one counter per sending node (ip_select_ident for DF-clear packets):
#     +1 per packet plus a jump with elapsed time.
#   - Inner TTL 64 everywhere, as in the other fixtures.

NODE_A_FLANNEL1_IFINDEX = 5


def at(cap, t_us, frame, note=""):
    """Add frame at T0_SEC + t_us microseconds (scenario files use explicit times)."""
    cap.t = T0_SEC * cap.unit + t_us * (cap.unit // 1_000_000)
    cap.add(frame, "t=%d.%06d %s" % (t_us // 1_000_000, t_us % 1_000_000, note))


def rpc_null_call(xid, vers=4):
    """ONC RPC record (record mark + CALL NFS proc 0, AUTH_NONE): 44 bytes."""
    body = struct.pack("!IIIIIIIIII", xid, 0, 2, 100003, vers, 0, 0, 0, 0, 0)
    return struct.pack("!I", 0x80000000 | len(body)) + body


def rpc_null_reply(xid):
    """ONC RPC record (record mark + accepted SUCCESS reply, AUTH_NONE verifier): 28 bytes."""
    body = struct.pack("!IIIIII", xid, 1, 0, 0, 0, 0)
    return struct.pack("!I", 0x80000000 | len(body)) + body


def with_tos(ip, tos):
    """Set the IPv4 TOS byte and recompute the header checksum."""
    b = bytearray(ip)
    b[1] = tos
    b[10:12] = b"\x00\x00"
    struct.pack_into("!H", b, 10, ip_header_checksum(bytes(b[:20])))
    return bytes(b)


def icmp4_unreach(code, quoted, ident, src, dst):
    """IPv4 ICMP type 3 error from src to dst quoting `quoted` (TOS 0xC0, DF clear, like Linux
    icmp_send)."""
    msg = bytearray(struct.pack("!BBHI", 3, code, 0, 0) + quoted)
    struct.pack_into("!H", msg, 2, ~onesum(bytes(msg)) & 0xFFFF)
    return with_tos(ipv4(src, dst, 1, bytes(msg), ident), 0xC0)


class OuterIds:
    """Outer IPv4 ID counter of one sending node: +1 per packet (+n for a GSO packet of n
    segments), +1 more per 64 ms elapsed."""

    def __init__(self, start):
        self.v, self.t, self.n = start, None, 1

    def __call__(self, t_us, segments=1):
        if self.t is not None:
            self.v = (self.v + self.n + (t_us - self.t) // 64000) & 0xFFFF
        self.t, self.n = t_us, segments
        return self.v


class TcpConv:
    """One IPv4 TCP connection, client side 'c' and server side 's'.

    Tracks sequence numbers, inner IP IDs and TCP timestamps; every method returns the inner IPv4
    packet (bytes).  TSval = ts_base + elapsed ms; TSecr = the peer's latest TSval."""

    def __init__(self, cli, cport, srv, sport, isn_c, isn_s, id_c, id_s, ts_c, ts_s):
        self.addr = {"c": (cli, cport), "s": (srv, sport)}
        self.isn = {"c": isn_c, "s": isn_s}
        self.nxt = {"c": isn_c, "s": isn_s}
        self.ids = {"c": id_c, "s": id_s}
        self.ts_base = {"c": ts_c, "s": ts_s}
        self.last_ts = {"c": 0, "s": 0}

    def _id(self, side, step=1):
        v = self.ids[side]
        self.ids[side] = (v + step) & 0xFFFF
        return v

    def _ts(self, side, t_us):
        ts = (self.ts_base[side] + t_us // 1000) & 0xFFFFFFFF
        self.last_ts[side] = ts
        return ts

    def syn(self, t_us, csum=OK):
        """Client SYN (first or retransmitted: always the ISN)."""
        (c, cp), (s, sp) = self.addr["c"], self.addr["s"]
        ts = self._ts("c", t_us)
        self.nxt["c"] = self.isn["c"] + 1
        return tcp4(c, s, cp, sp, self.isn["c"], 0, TCP_SYN, self._id("c"),
                    options=tcp_opts_syn(ts), window=64860, csum=csum)

    def synack(self, t_us, csum=OK):
        (c, cp), (s, sp) = self.addr["c"], self.addr["s"]
        tsecr = self.last_ts["c"]
        ts = self._ts("s", t_us)
        self.nxt["s"] = self.isn["s"] + 1
        return tcp4(s, c, sp, cp, self.isn["s"], self.isn["c"] + 1, TCP_SYN | TCP_ACK, 0,
                    options=tcp_opts_syn(ts, tsecr), window=64308, csum=csum)

    def seg(self, side, t_us, payload=b"", flags=None, seq=None, csum=OK, id_step=1):
        """Established-state segment from side ('c' or 's'); seq defaults to the next new byte.
        A segment with payload gets PSH|ACK unless flags is given."""
        other = "s" if side == "c" else "c"
        (a, ap), (b, bp) = self.addr[side], self.addr[other]
        if flags is None:
            flags = TCP_PSH | TCP_ACK if payload else TCP_ACK
        seq = self.nxt[side] if seq is None else seq
        tsecr = self.last_ts[other]
        ts = self._ts(side, t_us)
        ip = tcp4(a, b, ap, bp, seq, self.nxt[other], flags, self._id(side, id_step),
                  payload=payload, options=tcp_opts_ts(ts, tsecr), csum=csum)
        self.nxt[side] = max(self.nxt[side], seq + len(payload))
        return ip


def variant_b_frame(src_node, dst_node, inner, ident, p_new, p_old):
    """Outer VXLAN frame with sport p_new whose UDP checksum is the correct checksum of the same
    packet with sport p_old (domain.md 2.4).  Asserts P_old == fold(P_new + ~R)."""
    pre = vxlan_frame(src_node, dst_node, inner, ident, sport=p_old, csum=OK)
    f_pre = get16(parse_ipv4_l4(pre[14:])[3], 6)
    f = vxlan_frame(src_node, dst_node, inner, ident, sport=p_new, csum=f_pre)
    r = residual(NODE_IP[src_node], NODE_IP[dst_node], PROTO_UDP, parse_ipv4_l4(f[14:])[3])
    assert r != 0xFFFF
    assert fold(p_new + (~r & 0xFFFF)) == p_old, (p_new, p_old, r)
    return f


def outer_evidence(frame):
    """'sport=S F=0x.. E=0x.. R=0x..' for an untagged VXLAN frame (-v documentation)."""
    s, d, _, u = parse_ipv4_l4(frame[14:])
    zeroed = u[:6] + b"\x00\x00" + u[8:]
    e = correct_checksum(s, d, PROTO_UDP, zeroed)
    r = residual(s, d, PROTO_UDP, u)
    text = "outer %s:%d F=0x%04x E=0x%04x R=0x%04x" % (s, get16(u, 0), get16(u, 6), e, r)
    if get16(u, 6) not in (0, e):
        text += " P_new+~R=%d" % fold(get16(u, 0) + (~r & 0xFFFF))
    return text


def vx(frame):
    """-v note for a VXLAN frame: outer evidence + inner TCP checksum."""
    inner_ip = frame[14 + 20 + 8 + 8 + 14:]
    return "%s; %s" % (outer_evidence(frame), describe_ipv4("inner", inner_ip))


def variant_a_field(old_ip, new_ip):
    """The outer checksum a pre-5.7 kernel leaves when NAT rewrites the source address of a
    packet sent with checksum 0 (domain.md 2.3): onesum(~old, new), the port change never
    added, 0 stored as 0xffff."""
    o = [get16(addr_bytes(old_ip), i) for i in (0, 2)]
    n = [get16(addr_bytes(new_ip), i) for i in (0, 2)]
    f = fold((~o[0] & 0xFFFF) + (~o[1] & 0xFFFF) + n[0] + n[1])
    return 0xFFFF if f == 0 else f


def scenario_63s_variant_a(nat_src=None):
    """node-a eth0, zero-checksum tunnel A<->B (pre-5.7 kernel, no txhash re-roll on SYN RTO).

    mount.nfs (host network) -> ClusterIP, DNAT to 10.244.2.5:2049, inner MASQUERADE to
    10.244.1.0:612; the outer packet keeps the mark and is masqueraded too (sport 45000 -> 7103,
    check 0 -> 0xFFFF, Variant A).  SYNs at 0/1/3/7/15/31 s hit the same outer conntrack entry;
    it expires during the 32 s gap, so the SYN at 63 s leaves un-NATed (sport 45000, check 0)
    and is answered.  A clean pod-to-pod connection runs at t ~ 2.1 s.

    nat_src: the outer MASQUERADE also rewrites the source address, to nat_src (a node with a
    second address): the NATed SYNs carry check onesum(~A, nat_src) instead of 0xFFFF."""
    cap = Pcap()
    nat_check = 0xFFFF if nat_src is None else variant_a_field(NODE_IP["a"], nat_src)
    oa, ob = OuterIds(0x51A0), OuterIds(0x0E10)
    nat = TcpConv(FLANNEL_IP["a"], 612, POD_IP["b"], NFS_PORT, 0x6F3A91C4, 0x2B7E0D55,
                  0x3C10, 0xA400, 3100000000, 2210000000)
    pod = TcpConv(POD_IP["a"], 40000, POD_IP["b"], NFS_PORT, 0x1D2C3B4A, 0x55AA7711,
                  0x8E21, 0x4C02, 1200000000, 870000000)
    # (t_us, conversation, side, label, builder, outer sport, outer checksum mode)
    plan = []
    syn_times = (0, 1000021, 3000043, 7000064, 15000087, 31000108, 63000130)
    for i, t in enumerate(syn_times):
        if i < 6:      # outer conntrack entry alive: outer NAT 45000 -> 7103, Variant A
            plan.append((t, "nat", "c", "SYN #%d" % (i + 1), nat.syn, 7103, nat_check))
        else:          # entry expired during the 32 s gap: un-NAT'd, ordinary zero checksum
            plan.append((t, "nat", "c", "SYN #%d" % (i + 1), nat.syn, 45000, ZERO))
    plan += [
        (63000800, "nat", "s", "SYN-ACK", nat.synack, 51000, ZERO),
        (63000845, "nat", "c", "ACK", lambda t: nat.seg("c", t), 45000, ZERO),
        (63000910, "nat", "c", "NULL call (44 bytes)",
         lambda t: nat.seg("c", t, rpc_null_call(0x5E6F0001)), 45000, ZERO),
        (63001480, "nat", "s", "ACK", lambda t: nat.seg("s", t), 51000, ZERO),
        (2104518, "pod", "c", "SYN", pod.syn, 40299, ZERO),
        (2105170, "pod", "s", "SYN-ACK", pod.synack, 43383, ZERO),
        (2105214, "pod", "c", "ACK", lambda t: pod.seg("c", t), 40299, ZERO),
        (2105290, "pod", "c", "NULL call", lambda t: pod.seg("c", t, rpc_null_call(0x7A3B0001)),
         40299, ZERO),
        (2105930, "pod", "s", "NULL reply",
         lambda t: pod.seg("s", t, rpc_null_reply(0x7A3B0001)), 43383, ZERO),
    ]
    plan.sort(key=lambda e: e[0])
    for t, conv, side, label, build, sport, mode in plan:
        ip = build(t)
        if side == "c":
            src = nat_src if sport == 7103 else None
            f = vxlan_frame("a", "b", inner_frame("a", "b", ip), oa(t), sport=sport, csum=mode,
                            src_ip=src)
        else:
            f = vxlan_frame("b", "a", inner_frame("b", "a", ip), ob(t), sport=sport, csum=mode)
        who = "10.244.1.0:612" if conv == "nat" else "10.244.1.5:40000"
        at(cap, t, f, "%s %s: %s" % (who, label, vx(f)))
    return cap


def snaplen_cut(build, snaplen):
    """The capture `build` makes as `tcpdump -s SNAPLEN` writes it (header-only captures, issue 21
    item 3): every record cut to snaplen bytes (caplen = min(caplen, snaplen), wire length kept)
    and the file header's snaplen set to it. Frames, times and notes are build's."""
    def make():
        full = build()
        cap = Pcap(linktype=full.linktype, snaplen=snaplen, nano=full.nano)
        cap.notes = list(full.notes)
        for rec in full.records:
            sec, frac, caplen, wirelen = struct.unpack("<IIII", rec[:16])
            keep = min(caplen, snaplen)
            cap.records.append(struct.pack("<IIII", sec, frac, keep, wirelen) + rec[16:16 + keep])
        return cap
    return make


def scenario_variant_b():
    """node-a eth0, full-checksum tunnel A<->B (current kernel, txhash re-rolled on every RTO).

    Host client via ClusterIP, noresvport, inner MASQUERADE --random-fully to 10.244.1.0:12345.
    SYN #1: outer sport 50000 rewritten to 45678 (inside the driver range), stored checksum =
    correct for 50000 (Variant B).  SYN #2 after the 1 s RTO: fresh outer sport 39001, no mark, not
    NAT'd, valid, answered.  Plus a clean pod-to-pod connection 10.244.1.5:40002."""
    cap = Pcap()
    oa, ob = OuterIds(0x7C31), OuterIds(0x2A90)
    nat = TcpConv(FLANNEL_IP["a"], 12345, POD_IP["b"], NFS_PORT, 0xC0FFEE01, 0x3A5B7C9D,
                  0x9A00, 0x1B40, 2400000000, 2215000000)
    pod = TcpConv(POD_IP["a"], 40002, POD_IP["b"], NFS_PORT, 0x0BADF00D, 0x600DCAFE,
                  0x4410, 0x7700, 1300000000, 870500000)
    t = 0
    f = variant_b_frame("a", "b", inner_frame("a", "b", nat.syn(t)), oa(t), 45678, 50000)
    at(cap, t, f, "10.244.1.0:12345 SYN #1 (Variant B, P_old 50000): " + vx(f))
    # (t_us, conversation, side, label, builder, outer sport); all outer checksums correct
    plan = [
        (412308, pod, "c", "SYN", pod.syn, 40299),
        (412905, pod, "s", "SYN-ACK", pod.synack, 43383),
        (412950, pod, "c", "ACK", lambda t: pod.seg("c", t), 40299),
        (413020, pod, "c", "NULL call", lambda t: pod.seg("c", t, rpc_null_call(0x7A3B0101)),
         40299),
        (413610, pod, "s", "NULL reply", lambda t: pod.seg("s", t, rpc_null_reply(0x7A3B0101)),
         43383),
        (1000020, nat, "c", "SYN #2", nat.syn, 39001),
        (1000600, nat, "s", "SYN-ACK", nat.synack, 57104),
        (1000640, nat, "c", "ACK", lambda t: nat.seg("c", t), 39001),
        (1000700, nat, "c", "NULL call", lambda t: nat.seg("c", t, rpc_null_call(0x5E6F0101)),
         39001),
        (1001310, nat, "s", "NULL reply", lambda t: nat.seg("s", t, rpc_null_reply(0x5E6F0101)),
         57104),
    ]
    for t, conv, side, label, build, sport in plan:
        ip = build(t)
        if side == "c":
            f = vxlan_frame("a", "b", inner_frame("a", "b", ip), oa(t), sport=sport, csum=OK)
        else:
            f = vxlan_frame("b", "a", inner_frame("b", "a", ip), ob(t), sport=sport, csum=OK)
        who = "10.244.1.0:12345" if conv is nat else "10.244.1.5:40002"
        at(cap, t, f, "%s %s: %s" % (who, label, vx(f)))
    return cap


def scenario_offload_noise():
    """node-a eth0 (sender side), full-checksum tunnel with local checksum offload; nothing wrong.

    TX (node-a -> node-b): inner TCP partial, outer UDP = LCO value; the GSO super-packet has the
    outer UDP checksum in partial form too.  RX (node-b -> node-a): everything final.  A data
    segment is lost and retransmitted after a 0.21 s RTO with a new outer sport (txhash re-roll);
    after 35 s idle the outer sport differs again (in range)."""
    cap = Pcap()
    oa, ob = OuterIds(0x1F00), OuterIds(0x6B20)
    cv = TcpConv(POD_IP["a"], 40004, POD_IP["b"], NFS_PORT, 0x4E1F2A3B, 0x7C6D5E4F,
                 0x2210, 0x9C80, 1500000000, 880000000)
    sport = [40299]
    seq_lost = []

    def tx(t, ip_partial, ip_final, label, gso=False):
        inner_p = inner_frame("a", "b", ip_partial)
        if gso:
            mode = PARTIAL
        else:
            mode = lco_mode("a", "b", inner_frame("a", "b", ip_final), sport=sport[0])
        f = vxlan_frame("a", "b", inner_p, oa(t, 2 if gso else 1), sport=sport[0], csum=mode)
        _, _, _, ou = parse_ipv4_l4(f[14:])
        # self-check: the outer field is valid once the NIC has filled the inner checksum (LCO),
        # or is the outer pseudo-header sum (GSO)
        fixed = bytearray(ou)
        fixed[8 + 8 + 14 + 20 + 16:8 + 8 + 14 + 20 + 18] = ip_final[20 + 16:20 + 18]
        if gso:
            assert get16(ou, 6) == pseudo_sum(NODE_IP["a"], NODE_IP["b"], PROTO_UDP, len(ou))
        else:
            assert residual(NODE_IP["a"], NODE_IP["b"], PROTO_UDP, bytes(fixed)) == 0xFFFF
        at(cap, t, f, "TX %s: outer sport %d %s; %s; inner final 0x%04x" % (
            label, sport[0], describe_l4("udp", NODE_IP["a"], NODE_IP["b"], 17, ou),
            describe_ipv4("inner", ip_partial), get16(ip_final, 20 + 16)))

    def tx_pair(t, label, make, id_step=1):
        """Build the same segment twice (partial and final) without advancing state twice."""
        saved = (dict(cv.nxt), dict(cv.ids), dict(cv.last_ts))
        ip_p = make(PARTIAL)
        cv.nxt, cv.ids, cv.last_ts = dict(saved[0]), dict(saved[1]), dict(saved[2])
        ip_f = make(OK)
        tx(t, ip_p, ip_f, label, gso=id_step > 1)

    def rx(t, ip, label):
        f = vxlan_frame("b", "a", inner_frame("b", "a", ip), ob(t), sport=43383, csum=OK)
        at(cap, t, f, "RX %s: %s" % (label, vx(f)))

    tx_pair(0, "SYN", lambda m: cv.syn(0, csum=m))
    rx(610, cv.synack(610), "SYN-ACK")
    tx_pair(650, "ACK", lambda m: cv.seg("c", 650, csum=m))
    tx_pair(900, "PSH-ACK 200", lambda m: cv.seg("c", 900, pattern(200, 0x21), csum=m))
    rx(1650, cv.seg("s", 1650, pattern(120, 0x52)), "PSH-ACK 120")
    tx_pair(2100, "GSO 2896", lambda m: cv.seg("c", 2100, pattern(2896, 0x33), csum=m,
                                                 id_step=2), id_step=2)
    rx(2800, cv.seg("s", 2800), "ACK")
    seq_lost.append(cv.nxt["c"])
    lost_payload = pattern(300, 0x44)
    tx_pair(10000, "PSH-ACK 300 (lost)", lambda m: cv.seg("c", 10000, lost_payload, csum=m))
    sport[0] = 52817       # RTO: sk_rethink_txhash()
    tx_pair(220000, "PSH-ACK 300 retransmission after 0.21 s RTO",
            lambda m: cv.seg("c", 220000, lost_payload, seq=seq_lost[0], csum=m))
    rx(220700, cv.seg("s", 220700), "ACK")
    sport[0] = 35172       # after 35 s idle
    tx_pair(35220700, "PSH-ACK 100 after 35 s idle",
            lambda m: cv.seg("c", 35220700, pattern(100, 0x55), csum=m))
    rx(35221340, cv.seg("s", 35221340), "ACK")
    return cap


def scenario_rst_icmp_silent():
    """node-a flannel.1 (Ethernet, inner packets only): RST, ICMP port unreachable, silent drop."""
    cap = Pcap()
    pa = POD_IP["a"]
    # (a) RST|ACK from 10.244.2.5
    a = TcpConv(pa, 40010, POD_IP["b"], NFS_PORT, 0x11223344, 0, 0x5100, 0, 1600000000, 0)
    syn = a.syn(0)
    at(cap, 0, inner_frame("a", "b", syn), "(a) SYN " + describe_ipv4("tcp", syn))
    rst = tcp4(POD_IP["b"], pa, NFS_PORT, 40010, 0, 0x11223344 + 1, TCP_RST | TCP_ACK, 0,
               window=0)
    at(cap, 400, inner_frame("b", "a", rst), "(a) RST|ACK ack=ISN+1 " + describe_ipv4("tcp", rst))
    # (b) ICMP 3/3 from 10.244.2.6 quoting the SYN's IPv4 header + 8 TCP bytes
    b = TcpConv(pa, 40011, "10.244.2.6", NFS_PORT, 0x55667788, 0, 0x6200, 0, 1650000000, 0)
    syn = b.syn(1000000)
    at(cap, 1000000, inner_frame("a", "b", syn), "(b) SYN " + describe_ipv4("tcp", syn))
    icmp = icmp4_unreach(3, syn[:28], 0x3D7A, "10.244.2.6", pa)
    at(cap, 1000300, inner_frame("b", "a", icmp), "(b) ICMP 3/3 icmp check 0x%04x, ip %s" % (
        get16(icmp, 22), "ok" if onesum(icmp[:20]) == 0xFFFF else "BAD"))
    # (c) silent drop to 10.244.2.7: SYNs at 2, 3, 5, 9 s
    c = TcpConv(pa, 40012, "10.244.2.7", NFS_PORT, 0x99AABBCC, 0, 0x7300, 0, 1800000000, 0)
    for i, t in enumerate((2000000, 3000018, 5000041, 9000087)):
        syn = c.syn(t)
        at(cap, t, inner_frame("a", "b", syn), "(c) SYN #%d %s" % (i + 1,
                                                                  describe_ipv4("tcp", syn)))
    # harmless last packet: UDP 10.244.1.5:41000 -> 10.244.2.5:5001
    u = udp(pa, POD_IP["b"], 41000, 5001, pattern(16, 0x66))
    ip = ipv4(pa, POD_IP["b"], PROTO_UDP, u, 0x0A0B, df=True)
    at(cap, 12000000, inner_frame("a", "b", ip), "UDP 5001 " + describe_ipv4("udp", ip))
    return cap


def scenario_flannel1_sll2():
    """tcpdump -i any on node-a, flannel.1 (ifindex 5) only: host client 10.244.1.0:613 via a
    ClusterIP; SYNs at the classic schedule, answered at 63 s."""
    cap = Pcap(linktype=LINKTYPE_LINUX_SLL2)
    cv = TcpConv(FLANNEL_IP["a"], 613, POD_IP["b"], NFS_PORT, 0x8D4C3B2A, 0x1E2F3A4B,
                 0x4B20, 0x0, 3200000000, 875000000)
    out = sll2_header(ETH_IPV4, NODE_A_FLANNEL1_IFINDEX, ARPHRD_ETHER, PACKET_OUTGOING,
                      VTEP_MAC["a"])
    inn = sll2_header(ETH_IPV4, NODE_A_FLANNEL1_IFINDEX, ARPHRD_ETHER, PACKET_HOST, VTEP_MAC["b"])
    for i, t in enumerate((0, 1000019, 3000040, 7000066, 15000085, 31000112, 63000128)):
        ip = cv.syn(t)
        at(cap, t, out + ip, "out SYN #%d %s" % (i + 1, describe_ipv4("tcp", ip)))
    ip = cv.synack(63000900)
    at(cap, 63000900, inn + ip, "host SYN-ACK " + describe_ipv4("tcp", ip))
    ip = cv.seg("c", 63000935)
    at(cap, 63000935, out + ip, "out ACK " + describe_ipv4("tcp", ip))
    return cap


_JOIN = {}

# Capture points of the multi-point join scenario, in path order for node-a -> node-b.
JOIN_POINTS = ("node-a-flannel1", "node-a-eth0", "node-b-eth0", "node-b-flannel1")


def scenario_join_all():
    """The same packets at four points (Variant B story like scenario_variant_b).

    Per-hop delays: flannel.1 <-> eth0 on one node ~20 us, wire node-a eth0 <-> node-b eth0
    ~175 us.  The first SYN (bad outer checksum) is dropped at node-b's decapsulation."""
    if _JOIN:
        return _JOIN
    caps = {p: Pcap() for p in JOIN_POINTS}
    oa, ob = OuterIds(0x3A00), OuterIds(0x5D40)
    cv = TcpConv(FLANNEL_IP["a"], 23456, POD_IP["b"], NFS_PORT, 0xD00DFEED, 0x4F3E2D1C,
                 0xB700, 0x2C80, 2500000000, 871000000)
    # (label, side, t at first point, packet builder, outer sport, special)
    plan = [
        ("SYN #1", "c", 0, lambda t: cv.syn(t), 45679, "variant-b"),
        ("SYN #2", "c", 1000020, lambda t: cv.syn(t), 39002, None),
        ("SYN-ACK", "s", 1000290, lambda t: cv.synack(t), 47311, None),
        ("ACK", "c", 1000540, lambda t: cv.seg("c", t), 39002, None),
        ("NULL call", "c", 1000598, lambda t: cv.seg("c", t, rpc_null_call(0x5E6F0201)), 39002,
         None),
        ("NULL reply", "s", 1000871, lambda t: cv.seg("s", t, rpc_null_reply(0x5E6F0201)),
         47311, None),
    ]
    for label, side, t0, build, sport, special in plan:
        ip = build(t0)
        if side == "c":
            inner = inner_frame("a", "b", ip)
            t_eth = t0 + 21
            if special == "variant-b":
                outer = variant_b_frame("a", "b", inner, oa(t_eth), sport, 50001)
            else:
                outer = vxlan_frame("a", "b", inner, oa(t_eth), sport=sport, csum=OK)
            path = [("node-a-flannel1", t0, inner), ("node-a-eth0", t_eth, outer),
                    ("node-b-eth0", t_eth + 175, outer), ("node-b-flannel1", t_eth + 175 + 22,
                                                          inner)]
            if special == "variant-b":
                path = path[:3]          # UDP: bad checksum at node-b; never decapsulated
        else:
            inner = inner_frame("b", "a", ip)
            t_eth = t0 + 19
            outer = vxlan_frame("b", "a", inner, ob(t_eth), sport=sport, csum=OK)
            path = [("node-b-flannel1", t0, inner), ("node-b-eth0", t_eth, outer),
                    ("node-a-eth0", t_eth + 176, outer), ("node-a-flannel1", t_eth + 176 + 23,
                                                          inner)]
        for point, t, frame in path:
            if frame is inner:
                note = "%s inner %s" % (label, describe_ipv4("tcp", ip))
            else:
                note = "%s %s" % (label, vx(frame))
            at(caps[point], t, frame, note)
    _JOIN.update(caps)
    return _JOIN


def scenario_join(point):
    return lambda: scenario_join_all()[point]


# ----- bad inputs -------------------------------------------------------------------------------

def bad_not_a_capture():
    return b"This is not a packet capture.\nIt is plain text written by tools/make_pcaps.py.\n"


def bad_truncated_record():
    """Valid header + one complete record + a record whose header says 100 bytes but only 40
    bytes follow (the file ends there)."""
    cap = Pcap()
    ip = tcp4(POD_IP["a"], POD_IP["b"], 40150, NFS_PORT, 1000, 0, TCP_SYN, 0xA000,
              options=tcp_opts_syn(100), window=64860)
    cap.add(inner_frame("a", "b", ip))
    body = cap.data()
    frame = pattern(100, 0x20)
    return body + struct.pack("<IIII", T0_SEC + 1, 0, 100, 100) + frame[:40]


def bad_broken_pcapng():
    """SHB whose leading block total length (28) disagrees with its trailing copy (32), followed
    by an otherwise valid IDB and EPB."""
    shb = bytearray(pcapng_shb())
    assert len(shb) == 28
    struct.pack_into("<I", shb, 24, 32)
    ip = tcp4(POD_IP["a"], POD_IP["b"], 40151, NFS_PORT, 1000, 0, TCP_SYN, 0xA001,
              options=tcp_opts_syn(100), window=64860)
    return (bytes(shb) + pcapng_idb(LINKTYPE_ETHERNET, 262144, "eth0", 6) +
            pcapng_epb(0, T0_SEC * 10**6, inner_frame("a", "b", ip)))


def bad_unknown_linktype():
    cap = Pcap(linktype=LINKTYPE_USER0)
    cap.add(b"USER0 frame one: opaque bytes")
    cap.add(pattern(48, 0x80))
    return cap.data()


# ---------------------------------------------------------------------------------------------
# 6. main
# ---------------------------------------------------------------------------------------------

FIXTURES = [
    ("vxlan-clean.pcap", vxlan_clean),
    ("vxlan-inner-bad-tcp.pcap", vxlan_inner_bad_tcp),
    ("sender-offload.pcap", sender_offload),
    ("udp-zero.pcap", udp_zero),
    ("truncated-snaplen.pcap", truncated_snaplen),
    ("fragments.pcap", fragments),
    ("ipv6-ext.pcap", ipv6_ext),
    ("vlan-qinq.pcap", vlan_qinq),
    ("sll-cooked.pcap", sll_cooked),
    ("sll2-flannel.pcap", sll2_flannel),
    ("raw-ip.pcap", raw_ip),
    ("null-loopback.pcap", null_loopback),
    ("geneve-options.pcap", geneve_options),
    ("vxlan-gpe.pcap", vxlan_gpe),
    ("big-tcp.pcap", big_tcp),
    ("malformed.pcap", malformed),
    ("nanosecond.pcap", nanosecond),
    ("pcapng-two-blocks.pcapng", pcapng_two_blocks),
    ("vxlan-nat-variants.pcap", vxlan_nat_variants),
    ("checksum-edges.pcap", checksum_edges),
    # scenario captures (connection verdicts); see pcaps/README.md
    ("scenario-63s-variant-a.pcap", scenario_63s_variant_a),
    # header-only captures: the 63-s scenario as `tcpdump -s 96` and `-s 64` write it
    ("scenario-63s-variant-a-s96.pcap", snaplen_cut(scenario_63s_variant_a, 96)),
    ("scenario-63s-variant-a-s64.pcap", snaplen_cut(scenario_63s_variant_a, 64)),
    ("scenario-variant-a-address.pcap", lambda: scenario_63s_variant_a("192.168.1.99")),
    ("scenario-variant-b.pcap", scenario_variant_b),
    ("scenario-offload-noise.pcap", scenario_offload_noise),
    ("scenario-rst-icmp-silent.pcap", scenario_rst_icmp_silent),
    ("scenario-flannel1-sll2.pcap", scenario_flannel1_sll2),
    ("scenario-join-node-a-flannel1.pcap", scenario_join("node-a-flannel1")),
    ("scenario-join-node-a-eth0.pcap", scenario_join("node-a-eth0")),
    ("scenario-join-node-b-eth0.pcap", scenario_join("node-b-eth0")),
    ("scenario-join-node-b-flannel1.pcap", scenario_join("node-b-flannel1")),
]

BAD_FIXTURES = [
    ("not-a-capture.pcap", bad_not_a_capture),
    ("truncated-record.pcap", bad_truncated_record),
    ("broken-pcapng.pcapng", bad_broken_pcapng),
    ("empty-file.pcap", lambda: b""),
    ("unknown-linktype.pcap", bad_unknown_linktype),
]


def write_fixtures(argv, fixtures, subdir, label=""):
    """The main of a fixture generator: writes each (name, builder) of `fixtures` (a builder
    returns a Pcap) into argv's directory, or into pcaps/<subdir> of this tree without one; -v
    lists every frame's note. `label` prefixes the names printed."""
    verbose = "-v" in argv
    args = [a for a in argv if a != "-v"]
    outdir = args[0] if args else os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                               os.pardir, "pcaps", subdir)
    outdir = os.path.normpath(outdir)
    os.makedirs(outdir, exist_ok=True)
    for name, fn in fixtures:
        cap = fn()
        data = cap.data()
        with open(os.path.join(outdir, name), "wb") as fh:
            fh.write(data)
        print("%s%-34s %3d frames %7d bytes" % (label, name, len(cap.notes), len(data)))
        if verbose:
            for i, n in enumerate(cap.notes, 1):
                print("    %3d  %s" % (i, n))
    return 0


def write(path, data):
    with open(path, "wb") as fh:
        fh.write(data)


def main(argv):
    verbose = "-v" in argv
    args = [a for a in argv if a != "-v"]
    outdir = args[0] if args else os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                               os.pardir, "pcaps")
    outdir = os.path.normpath(outdir)
    os.makedirs(os.path.join(outdir, "bad"), exist_ok=True)
    self_test()
    for name, fn in FIXTURES:
        result = fn()
        if isinstance(result, Pcap):
            data, notes = result.data(), result.notes
        else:
            data, notes = result
        write(os.path.join(outdir, name), data)
        print("%-28s %3d frames %7d bytes" % (name, len(notes), len(data)))
        if verbose:
            for i, n in enumerate(notes, 1):
                print("    %2d  %s" % (i, n))
    for name, fn in BAD_FIXTURES:
        data = fn()
        write(os.path.join(outdir, "bad", name), data)
        print("bad/%-24s %7d bytes" % (name, len(data)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

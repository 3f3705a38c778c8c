#!/usr/bin/python3
"""Write a large, realistic Flannel VXLAN + NFS capture for benchmarking vxcheck.

Classic pcap (microsecond timestamps, LINKTYPE_ETHERNET). Every frame is node-to-node VXLAN
(outer IPv4/UDP to port 8472, VNI 1) carrying inner Ethernet/IPv4/TCP between pods 10.244.x.y
and NFS servers on port 2049, in both directions:

  * every connection opens with SYN / SYN-ACK / ACK (Linux options: MSS, SACK_PERM, TS, WS);
  * then NFSv4.1 over ONC RPC (RFC 5531 record marking, one fragment per record; RFC 8881):
    metadata RPCs (inner payload 116-200 B), READ and WRITE bursts of 1398-byte segments
    (inner MTU 1450, TCP timestamps on) with pure ACKs every four segments, and some GSO
    super-packets (inner payload 2896 or 5792). A metadata call is a COMPOUND SEQUENCE +
    PUTFH + GETATTR (AUTH_NONE, or AUTH_SYS where the length leaves room), answered by
    MSG_ACCEPTED / SUCCESS with NFS4_OK results and attributes filling the reply. A READ is a
    one-segment call SEQUENCE + PUTFH + READ answered by one reply record over the whole burst
    (its mark at the start of the first data segment, its data running to the end of the
    burst's last, shorter segment); a WRITE is one call record SEQUENCE + PUTFH + WRITE over
    the burst, answered by a 116-byte reply. (A burst of one 1398-byte segment makes a record
    2 mod 4 bytes long, which XDR cannot fill: it ends in 2 bytes after the data.) XIDs count
    up from a per-connection start (one sequence per transport, as Linux's). Every call is
    answered, except calls the capture ends before their reply: a READ reply the capture ends
    in ends with it (a short read), a WRITE call the capture ends in claims more bytes than the
    capture holds;
  * outer UDP checksums are complete and non-zero, except from one node that sends zero outer
    checksums (flannel.1 on a pre-4.6-semantics kernel), and GSO super-packets, whose outer UDP
    and inner TCP checksums are in Linux CHECKSUM_PARTIAL form (domain.md section 3);
  * planted findings: bad inner TCP checksums (about 1 in 100,000 packets, outer checksum
    correct over the corrupted bytes), double-SNAT connections (inner client 10.244.N.0 with a
    MASQUERADE port 600-664, outer source port rewritten out of 32768-60998 with the outer
    checksum still valid for the pre-NAT port: Variant B, domain.md section 2.4; connected after
    63 s or 3 s of SYN retransmissions) and plain SYN retransmissions (1 s or 3 s delay).

All other checksums are correct. Deterministic for a given --seed. Standard library only.

Speed: each direction of each connection gets per-(payload kind, length, flags) templates
built once; a packet is one struct.pack of the template pieces plus the fields that change (IP
IDs, seq, ack, TCP timestamps, the RPC XID), whose checksums are updated from precomputed sums
(RFC 1624 style) in one modular expression: the one's-complement sum of 16-bit words is the
integer value mod 0xFFFF, so ~sum == (-sum) mod 0xFFFF. The outer UDP checksum of a packet
whose inner IPv4 and TCP checksums are correct does not depend on the inner fields that change
(the inner header sums to 0xFFFF and the TCP segment to ~pseudo-header), so it is a template
constant. The record mark and data length of a READ reply or WRITE call depend on segments
drawn later, so the first segment is written with them zero and patched (with its TCP
checksum, in the write buffer or with pwrite) when the record's last segment is drawn.

The payload contents draw no random numbers: the frames, their lengths and timing, and the
planted findings follow from the traffic model's draws alone, except that an RPC length too
short for its message grows to it (GETATTR calls 116 -> 124, READ calls 116-136 -> 140,
GETATTR replies 100 and 112 -> 120) and a WRITE reply is always 116 bytes.
"""

import argparse
import heapq
import json
import os
import random
import struct
import sys
import time

# ---------------------------------------------------------------------------------------------
# Constants (wire values)
VXLAN_PORT = 8472
VNI = 1
NFS_PORT = 2049
SPORT_MIN, SPORT_MAX = 32768, 60998          # Linux VXLAN source-port range (max exclusive 60999)
EPH_MIN, EPH_MAX = 32768, 60999              # ip_local_port_range
INNER_MTU = 1450
DATA_SEG = 1398                              # 1450 - 20 (IPv4) - 32 (TCP with timestamps)
GSO_PAYLOADS = (2896, 5792)                  # super-packets, as asked for in issue 5's brief
RPC_CALL_LENS = (116, 124, 136, 148, 152, 164, 176, 196)
RPC_REPLY_LENS = (100, 112, 120, 140, 156, 168, 184, 200)
TCP_ACK, TCP_PSH, TCP_SYN = 0x10, 0x08, 0x02
EPOCH = 1718000000                           # capture start (2024-06-10)
PPS = 50000                                  # nominal packet rate of the synthetic node
MIN_DURATION_S = 90.0                        # room for a 63 s SYN schedule in small files
OUTER_HDRS = 14 + 20 + 8 + 8                 # outer Ethernet, IPv4, UDP, VXLAN
INNER_HDRS = 14 + 20                         # inner Ethernet, IPv4
TCP_HDR = 32                                 # 20 + NOP NOP TS
MASK32 = 0xFFFFFFFF


def ip4(text):
    a, b, c, d = (int(x) for x in text.split('.'))
    return (a << 24) | (b << 16) | (c << 8) | d


def ip4s(value):
    return '%d.%d.%d.%d' % (value >> 24, (value >> 16) & 255, (value >> 8) & 255, value & 255)


def onesum(data):
    """16-bit one's-complement sum (RFC 1071) of data, as an integer congruent mod 0xFFFF."""
    if len(data) & 1:
        data = data + b'\0'
    return int.from_bytes(data, 'big')


def csum(total):
    """~fold(total): the checksum field that makes a sum of `total` verify (0 when it folds to 0xFFFF)."""
    return (-total) % 0xFFFF


def udp_csum(total):
    c = csum(total)
    return c if c else 0xFFFF


def partial(total):
    """Linux CHECKSUM_PARTIAL field: the folded, non-complemented pseudo-header sum (never 0)."""
    r = total % 0xFFFF
    return r if r else 0xFFFF


# ---------------------------------------------------------------------------------------------
# Payloads, shared by all flows. What a segment carries is its template's kind (the key's top
# byte): opaque bytes (handshakes, pure ACKs, a record's continuation segments) or a piece of
# an ONC RPC record (RFC 5531; one fragment, Linux's record marking) holding an NFSv4.1
# COMPOUND (RFC 8881). Fields that differ per packet are zero in the template: the XID (payload
# offset 4, added by emit_x() like seq/ack) and, in the first segment of a READ reply or WRITE
# call that spans several segments, the record mark and the data length (patched once the
# record's last segment is known, Writer.patch()).
K_DATA, K_META_CALL, K_META_REPLY, K_READ_CALL, K_READ_HEAD, K_WRITE_HEAD, K_WRITE_REPLY = range(7)
XID_KINDS = (K_META_CALL, K_META_REPLY, K_READ_CALL, K_READ_HEAD, K_WRITE_HEAD, K_WRITE_REPLY)
NFS_PROG, OP_GETATTR, OP_PUTFH, OP_READ, OP_WRITE, OP_SEQUENCE = 100003, 9, 22, 25, 38, 53
SESSIONID = bytes.fromhex('6758f134000008e20000000100000000')
STATEID = bytes.fromhex('000000016758f134000008e200000002')               # seqid, other
FH = bytes.fromhex('010006018c1f0e7a5d2b4c3e9a6f1d0b7c2e4a5f8d3b6e1c0a9f2d4b')   # 28 bytes, as knfsd's
WRITE_VERF = bytes.fromhex('6758f1340000a3c1')
MACHINE = b'worker-07.nodes.cluster.internal'                      # up to 32 bytes used
# GETATTR asks for type, change, size, fileid, mode, numlinks, owner and time_modify (fattr4
# bits 1, 3, 4, 20, 33, 35, 36, 53); a reply returns a subset that fills its length exactly.
ATTRS = ((1, struct.pack('>I', 1)), (3, struct.pack('>Q', 0x6758f1340001a2b3)), (4, struct.pack('>Q', 1048576)),
         (20, struct.pack('>Q', 0x2d41f7)), (33, struct.pack('>I', 0o644)), (35, struct.pack('>I', 1)),
         (53, struct.pack('>qI', EPOCH - 86400, 123456789)))
ATTR_OWNER = 36


def u32s(*values):
    return struct.pack('>%dI' % len(values), *values)


def opaque(data):
    """XDR variable-length opaque or string: length, bytes, zero padding to 4."""
    return u32s(len(data)) + data + bytes(-len(data) % 4)


def bitmap(bits):
    w = [0, 0]
    for b in bits:
        w[b >> 5] |= 1 << (b & 31)
    return u32s(2, *w)


GETATTR_ARGS = u32s(OP_GETATTR) + bitmap([b for b, _ in ATTRS] + [ATTR_OWNER])
SEQ_ARGS = u32s(OP_SEQUENCE) + SESSIONID + u32s(1, 0, 0, 0)          # seqid, slot, highest slot, cachethis
SEQ_RES = u32s(OP_SEQUENCE, 0) + SESSIONID + u32s(1, 0, 0, 63, 0)    # ... target highest slot, status flags
PUTFH_ARGS, PUTFH_RES = u32s(OP_PUTFH) + opaque(FH), u32s(OP_PUTFH, 0)
READ_ARGS = u32s(OP_READ) + STATEID + struct.pack('>QI', 0, 1048576)  # offset, count (rsize)
WRITE_RES = u32s(OP_WRITE, 0, 0, 2) + WRITE_VERF                     # count, FILE_SYNC4, verifier
REPLY_HDR = u32s(0, 1, 0, 0, 0, 0)       # xid, REPLY, MSG_ACCEPTED, verf AUTH_NONE (empty), SUCCESS


def auth_sys(name):
    body = u32s(0x6758f134) + opaque(name) + u32s(1000, 1000, 0)        # stamp, name, uid, gid, no gids
    return u32s(1, len(body)) + body


def call_hdr(cred, numops):
    """Record mark (zero: set per template or patched), CALL header, COMPOUND4args head."""
    return u32s(0, 0, 0, 2, NFS_PROG, 4, 1) + cred + u32s(0, 0) + opaque(b'') + u32s(1, numops)


def small_call(plen, op):
    """A one-segment COMPOUND call SEQUENCE + PUTFH + op of exactly plen bytes with its mark.

    The room beyond the smallest form (AUTH_NONE, empty file handle) goes to the file handle
    (up to its 28 bytes), then to AUTH_SYS with a machine name of the rest."""
    spare = plen - (len(call_hdr(u32s(0, 0), 3)) + len(SEQ_ARGS) + 8 + len(op))
    assert spare >= 8 and spare % 4 == 0, plen
    if spare >= 20 + len(FH):
        cred, fh = auth_sys(MACHINE[:spare - 20 - len(FH)]), FH
    else:
        cred, fh = u32s(0, 0), (FH * 4)[:spare]
    p = call_hdr(cred, 3) + SEQ_ARGS + u32s(OP_PUTFH) + opaque(fh) + op
    return u32s(0x80000000 | (plen - 4)) + p[4:]


_FATTRS = {}


def fattr(size):
    """fattr4 (bitmap, attrlist) whose attribute values take exactly `size` bytes."""
    got = _FATTRS.get(size)
    if got is None:
        best = None
        for mask in range(1 << len(ATTRS)):
            chosen = [ATTRS[i] for i in range(len(ATTRS)) if mask >> i & 1]
            rest = size - sum(len(v) for _, v in chosen)
            if rest == 0 or rest >= 8:            # the owner string takes any rest of 8 or more
                if best is None or len(chosen) > len(best[0]):
                    best = (chosen, rest)
        chosen, rest = best
        vals = dict(chosen)
        if rest:
            vals[ATTR_OWNER] = opaque((b'1000@cluster.local' * 16)[:rest - 4])
        bits = sorted(vals)
        got = _FATTRS[size] = bitmap(bits) + opaque(b''.join(vals[b] for b in bits))
    return got


META_REPLY_HDR = REPLY_HDR + u32s(0) + opaque(b'') + u32s(3) + SEQ_RES + PUTFH_RES + u32s(OP_GETATTR, 0)
# A WRITE reply (SEQUENCE + PUTFH + WRITE results) has no room to vary: 116 bytes.
WRITE_REPLY = u32s(0x80000000 | (len(REPLY_HDR) + 12 + len(SEQ_RES) + len(PUTFH_RES) + len(WRITE_RES)))
WRITE_REPLY += REPLY_HDR + u32s(0) + opaque(b'') + u32s(3) + SEQ_RES + PUTFH_RES + WRITE_RES


def small_reply(plen):
    """A one-segment COMPOUND reply SEQUENCE + PUTFH + GETATTR of exactly plen bytes with its
    mark; the attributes returned fill it."""
    size = plen - 4 - len(META_REPLY_HDR) - 12 - 4    # bitmap of 2 words, attrlist length
    assert size >= 4 and size % 4 == 0, plen
    return u32s(0x80000000 | (plen - 4)) + META_REPLY_HDR + fattr(size)


def min_len(kind):
    """The smallest payload of a one-segment kind: a file handle of 8 bytes, one attribute."""
    if kind == K_META_REPLY:
        return 4 + len(META_REPLY_HDR) + 12 + 4 + 4
    op = GETATTR_ARGS if kind == K_META_CALL else READ_ARGS
    return len(call_hdr(u32s(0, 0), 3)) + len(SEQ_ARGS) + 8 + 8 + len(op)


def payload(n, kind=K_DATA):
    key = (n, kind)
    p = _PAYLOADS.get(key)
    if p is None:
        p = _PAYLOADS[key] = build_payload(n, kind)
        assert len(p) == n, (n, kind)
    return p


_PAYLOADS = {}
_SUMS = {}
_PIECES = {}


def payload_sum(n, kind):
    key = (n, kind)
    got = _SUMS.get(key)
    if got is None:
        got = _SUMS[key] = onesum(payload(n, kind))
    return got


def payload_pieces(n, kind, xid):
    """The template's payload pieces, shared by all flows: around the XID, or whole."""
    key = (n, kind, xid)
    got = _PIECES.get(key)
    if got is None:
        p = payload(n, kind)
        got = _PIECES[key] = (p[0:4], p[8:]) if xid else (p,)
    return got


def filler(n):
    r = random.Random(n * 2)
    body = bytes(r.getrandbits(8) for _ in range(min(n, 64)))
    return (body * (n // 64 + 1))[:n]


# The first segment of a READ reply or WRITE call record: its header up to the data, whose
# length (at *_DLEN_OFF) and the record mark are patched; the rest of the segment is data.
READ_HDR = u32s(0) + REPLY_HDR + u32s(0) + opaque(b'') + u32s(3) + SEQ_RES + PUTFH_RES + u32s(OP_READ, 0, 0, 0)
READ_DLEN_OFF = len(READ_HDR) - 4                                           # after eof (false)
WRITE_HDR = (call_hdr(auth_sys(MACHINE[:16]), 3) + SEQ_ARGS + PUTFH_ARGS + u32s(OP_WRITE) + STATEID
             + struct.pack('>QI', 0, 2) + u32s(0))                          # offset, FILE_SYNC4, length
WRITE_DLEN_OFF = len(WRITE_HDR) - 4


def build_payload(n, kind):
    if kind == K_META_CALL:
        return small_call(n, GETATTR_ARGS)
    if kind == K_READ_CALL:
        return small_call(n, READ_ARGS)
    if kind == K_META_REPLY:
        return small_reply(n)
    if kind == K_WRITE_REPLY:
        return WRITE_REPLY
    hdr = {K_DATA: b'', K_READ_HEAD: READ_HDR, K_WRITE_HEAD: WRITE_HDR}[kind]
    return hdr + filler(n)[len(hdr):]


_STRUCTS = {}


def frame_struct(plen, xid):
    """The frame as its constant pieces and varying fields; with xid, the payload is split
    around the XID (payload bytes 4-7)."""
    s = _STRUCTS.get((plen, xid))
    if s is None:
        tail = '4sI%ds' % (plen - 8) if xid else '%ds' % plen
        s = _STRUCTS[plen, xid] = struct.Struct('>18sH4sH42sH4sH12sII4sH6sII' + tail)
    return s


# ---------------------------------------------------------------------------------------------
class Node:
    def __init__(self, idx, rng, zero_csum):
        self.idx = idx
        self.ip = ip4('192.168.1.%d' % (10 + idx))
        self.mac = bytes([0x52, 0x54, 0x00, 0x12, 0x01, 10 + idx])
        self.vtep_mac = bytes([0x0A | (rng.getrandbits(8) & 0xF0)] + [rng.getrandbits(8) for _ in range(5)])
        self.flannel_ip = ip4('10.244.%d.0' % idx)
        self.zero_csum = zero_csum


class Dir:
    """One direction of one connection: its addresses, counters and packet templates."""

    def __init__(self, src_node, dst_node, isrc, idst, tsport, tdport, sport, ttl, win, rng):
        self.src_node, self.dst_node = src_node, dst_node
        self.isrc, self.idst, self.tsport, self.tdport = isrc, idst, tsport, tdport
        self.sport = sport                         # outer UDP source port
        self.ttl, self.win = ttl, win
        self.oid = rng.getrandbits(16)
        self.iid = rng.getrandbits(16)
        self.tsoff = rng.getrandbits(32)
        self.last_ts = 0
        self.peer = None
        self.tpls = {}

    def tsval(self, now):
        v = (now // 1000 + self.tsoff) & MASK32
        self.last_ts = v
        return v

    # -- full (slow) builder: used for handshakes, SYN retransmissions and templates ----------
    def frame(self, flags, seq, ack, opts, body, oid, iid, *, gso=False, sport=None, csum_sport=None):
        """Whole Ethernet frame with every checksum computed from scratch.

        sport overrides the outer source port written; csum_sport is the port the outer
        checksum is computed for (Variant B: valid for the pre-NAT port)."""
        s_node, d_node = self.src_node, self.dst_node
        thl = 20 + len(opts)
        tcp_len = thl + len(body)
        ilen = 20 + tcp_len
        ulen = 8 + 8 + 14 + ilen
        olen = 20 + ulen
        tcp = (struct.pack('>HHIIBBHHH', self.tsport, self.tdport, seq, ack, (thl // 4) << 4, flags,
                           self.win, 0, 0) + opts + body)
        tpseudo = onesum(struct.pack('>IIHH', self.isrc, self.idst, 6, tcp_len))
        tcs = partial(tpseudo) if gso else csum(tpseudo + onesum(tcp))
        tcp = tcp[:16] + struct.pack('>H', tcs) + tcp[18:]
        iph = struct.pack('>BBHHHBBHII', 0x45, 0, ilen, iid, 0x4000, self.ttl, 6, 0, self.isrc, self.idst)
        iph = iph[:10] + struct.pack('>H', csum(onesum(iph))) + iph[12:]
        inner = self.dst_node.vtep_mac + s_node.vtep_mac + b'\x08\x00' + iph + tcp
        vx = struct.pack('>BBHI', 0x08, 0, 0, VNI << 8)
        wire_sport = self.sport if sport is None else sport
        ck_sport = wire_sport if csum_sport is None else csum_sport
        if s_node.zero_csum:
            ucs = 0
        else:
            upseudo = onesum(struct.pack('>IIHH', s_node.ip, d_node.ip, 17, ulen))
            if gso:
                ucs = partial(upseudo)
            else:
                ucs = udp_csum(upseudo + onesum(struct.pack('>HHHH', ck_sport, VXLAN_PORT, ulen, 0) + vx + inner))
        udp = struct.pack('>HHHH', wire_sport, VXLAN_PORT, ulen, ucs)
        oph = struct.pack('>BBHHHBBHII', 0x45, 0, olen, oid, 0, 64, 17, 0, s_node.ip, d_node.ip)
        oph = oph[:10] + struct.pack('>H', csum(onesum(oph))) + oph[12:]
        return d_node.mac + s_node.mac + b'\x08\x00' + oph + udp + vx + inner

    def syn_frame(self, flags, seq, ack, now, **kw):
        """SYN and SYN-ACK with Linux's options (MSS, SACK_PERM, TS, NOP, WS); the handshake's
        final ACK with NOP NOP TS."""
        ts = self.tsval(now)
        if flags & TCP_SYN:
            opts = struct.pack('>BBHBBBBIIBBBB', 2, 4, INNER_MTU - 40, 4, 2, 8, 10, ts,
                               self.peer.last_ts if ack else 0, 1, 3, 3, 7)
        else:
            opts = struct.pack('>BBBBII', 1, 1, 8, 10, ts, self.peer.last_ts)
        self.oid = (self.oid + 1) & 0xFFFF
        self.iid = (self.iid + 1) & 0xFFFF
        return self.frame(flags, seq, ack, opts, b'', self.oid, self.iid, **kw)

    # -- templates ------------------------------------------------------------------------------
    def make_tpl(self, key):
        """Build and cache the template for key = payload kind << 24 | payload length << 8 | TCP flags."""
        kind, plen, flags = key >> 24, (key >> 8) & 0xFFFF, key & 0xFF
        gso = plen > DATA_SEG
        xid = kind in XID_KINDS
        body = payload(plen, kind)
        opts = b'\x01\x01\x08\x0a' + bytes(8)
        f = self.frame(flags, 0, 0, opts, body, 0, 0, gso=gso)
        assert len(f) == OUTER_HDRS + INNER_HDRS + TCP_HDR + plen
        # Sums of everything that does not change per packet (the varying fields are zero in f).
        o_sum = onesum(f[14:24] + f[26:34])                  # outer IPv4 minus checksum
        i_sum = onesum(f[64:74] + f[76:84])                  # inner IPv4 minus checksum
        t_sum = (onesum(struct.pack('>IIHH', self.isrc, self.idst, 6, TCP_HDR + plen)) + onesum(f[84:100])
                 + onesum(f[102:116]) + payload_sum(plen, kind))
        pieces = payload_pieces(plen, kind, xid)
        t = self.tpls[key] = (
            frame_struct(plen, xid).pack, f[0:18], f[20:24], f[26:68], f[70:74], f[76:88], f[96:100], f[102:108],
            (-o_sum) % 0xFFFF, (-i_sum) % 0xFFFF, (-t_sum) % 0xFFFF,
            struct.unpack('>H', f[100:102])[0] if gso else -1,
            struct.pack('<II', len(f), len(f)), (plen + DATA_SEG - 1) // DATA_SEG) + pieces
        return t


def emit(d, key, seq, ack, now):
    """One packet of direction d from template key: returns (8-byte pcap caplen/len, frame)."""
    t = d.tpls.get(key) or d.make_tpl(key)
    pack, A, B, C, D, E, F, G, oneg, ineg, tneg, tcs, lens, segs, P = t
    oid = d.oid = (d.oid + segs) & 0xFFFF
    iid = d.iid
    d.iid = (iid + segs) & 0xFFFF
    tsval = d.last_ts = (now // 1000 + d.tsoff) & MASK32
    tsecr = d.peer.last_ts
    if tcs < 0:
        tcs = (tneg - seq - ack - tsval - tsecr) % 0xFFFF
    return lens, pack(A, oid, B, (oneg - oid) % 0xFFFF, C, iid, D, (ineg - iid) % 0xFFFF,
                      E, seq, ack, F, tcs, G, tsval, tsecr, P)


def emit_x(d, key, seq, ack, now, xid):
    """emit() for a template whose payload starts an RPC message: xid goes to payload bytes 4-7
    (at an even offset of the TCP segment, so it enters the checksum like seq does). It repeats
    emit()'s lines instead of sharing a helper: a call per packet costs more than they do."""
    t = d.tpls.get(key) or d.make_tpl(key)
    pack, A, B, C, D, E, F, G, oneg, ineg, tneg, tcs, lens, segs, M, P = t
    oid = d.oid = (d.oid + segs) & 0xFFFF
    iid = d.iid
    d.iid = (iid + segs) & 0xFFFF
    tsval = d.last_ts = (now // 1000 + d.tsoff) & MASK32
    tsecr = d.peer.last_ts
    if tcs < 0:
        tcs = (tneg - seq - ack - tsval - tsecr - xid) % 0xFFFF
    return lens, pack(A, oid, B, (oneg - oid) % 0xFFFF, C, iid, D, (ineg - iid) % 0xFFFF,
                      E, seq, ack, F, tcs, G, tsval, tsecr, M, xid, P)


# ---------------------------------------------------------------------------------------------
class Flow:
    def __init__(self, fid, cnode, snode, cip, cport, sip, rng, kind='normal'):
        self.fid, self.kind = fid, kind
        self.cnode, self.snode = cnode, snode
        self.cip, self.cport, self.sip = cip, cport, sip
        ttl = 64 if (cip & 0xFF) == 0 else 63
        self.c2s = Dir(cnode, snode, cip, sip, cport, NFS_PORT, SPORT_MIN + int(rng.random() * (SPORT_MAX - SPORT_MIN + 1)),
                       ttl, 502, rng)
        self.s2c = Dir(snode, cnode, sip, cip, NFS_PORT, cport, SPORT_MIN + int(rng.random() * (SPORT_MAX - SPORT_MIN + 1)),
                       63, 509, rng)
        self.c2s.peer, self.s2c.peer = self.s2c, self.c2s
        self.isn = rng.getrandbits(32)
        self.sisn = rng.getrandbits(32)
        self.info = {}
        self.open_record = None     # [slot, gso, kind, bytes so far] of a READ reply / WRITE call in progress

    def name(self):
        return '%s:%d -> %s:%d' % (ip4s(self.cip), self.cport, ip4s(self.sip), NFS_PORT)


def record_fields(kind, length):
    """The patched fields of a multi-segment record of `length` payload bytes (mark included),
    as (payload offset, u32): the record mark and the READ / WRITE data length. The data runs to
    the record's end; a record whose length is 2 mod 4 (a burst of one 1398-byte segment) ends
    in 2 bytes after it, since XDR lengths are multiples of 4."""
    at = READ_DLEN_OFF if kind == K_READ_HEAD else WRITE_DLEN_OFF
    return (0, 0x80000000 | (length - 4)), (at, (length - at - 4) & ~3)


def conversation(fl, rnd, stats, heads, patch):
    """Packets of an established connection, forever: NFSv4.1 metadata RPCs and READ/WRITE
    bursts. `heads` receives a slot for the main loop to fill when the first segment of a
    multi-segment record is written (Writer.patch()); patch() completes the record."""
    c, s = fl.c2s, fl.s2c
    cseq = (fl.isn + 1) & MASK32
    sseq = (fl.sisn + 1) & MASK32
    xid = (fl.isn * 0x9E3779B1 + fl.sisn) & MASK32         # one XID sequence per transport
    PA = TCP_PSH | TCP_ACK
    ACK = TCP_ACK                                          # key of a pure ACK (length 0)

    def keys(kind, lens, least=0):
        # A length too short for the kind's smallest message grows to it (min_len()).
        return [kind << 24 | max(n, least) << 8 | PA for n in lens]
    calls = keys(K_META_CALL, RPC_CALL_LENS, min_len(K_META_CALL))
    read_calls = keys(K_READ_CALL, RPC_CALL_LENS, min_len(K_READ_CALL))
    replies = keys(K_META_REPLY, RPC_REPLY_LENS, min_len(K_META_REPLY))
    write_reply = keys(K_WRITE_REPLY, [len(WRITE_REPLY)])[0]
    tails = keys(K_DATA, RPC_REPLY_LENS)
    ncall, nrep = len(calls), len(replies)
    units = ((1, DATA_SEG), (2, GSO_PAYLOADS[0]), (4, GSO_PAYLOADS[1]))
    seg_keys = {k: (n << 8 | TCP_ACK, n << 8 | PA, n) for k, n in units}
    head_keys = {kind: {k: (kind << 24 | n << 8 | TCP_ACK, kind << 24 | n << 8 | PA, n) for k, n in units}
                 for kind in (K_READ_HEAD, K_WRITE_HEAD)}
    now = yield None
    while True:
        r = rnd()
        if r < 0.65:                                       # metadata RPC: call, reply, delayed ACK
            k = calls[int(rnd() * ncall)]
            now = yield emit_x(c, k, cseq, sseq, now, xid)
            cseq = (cseq + (k >> 8 & 0xFFFF)) & MASK32
            k = replies[int(rnd() * nrep)]
            now = yield emit_x(s, k, sseq, cseq, now, xid)
            sseq = (sseq + (k >> 8 & 0xFFFF)) & MASK32
            xid = (xid + 1) & MASK32
            if rnd() < 0.3:
                now = yield emit(c, ACK, cseq, sseq, now)
            stats[0] += 1
            continue
        # READ (the server sends data) or WRITE (the client does): one record over the burst's
        # data segments and its tail, the mark at the start of the first segment.
        read = r < 0.86
        if read:
            k = read_calls[int(rnd() * ncall)]
            now = yield emit_x(c, k, cseq, sseq, now, xid)
            cseq = (cseq + (k >> 8 & 0xFFFF)) & MASK32
            snd, rcv, dseq, rseq, head = s, c, sseq, cseq, K_READ_HEAD
        else:
            snd, rcv, dseq, rseq, head = c, s, cseq, sseq, K_WRITE_HEAD
        total = (1, 2, 4, 8, 16, 32)[int(rnd() * 6)]      # in 1398-byte segments
        unacked = 0
        first = head_keys[head]
        while total > 0:
            g = rnd()
            n = 4 if g < 0.03 and total >= 4 else (2 if g < 0.08 and total >= 2 else 1)
            total -= n
            if first:
                k_ack, k_psh, plen = first[n]
                slot = [0, None, None]                     # file offset, planted bad checksum, frame
                heads.append(slot)
                rec = fl.open_record = [slot, plen > DATA_SEG, head, plen]
                first = None
                now = yield emit_x(snd, k_psh if total == 0 else k_ack, dseq, rseq, now, xid)
            else:
                k_ack, k_psh, plen = seg_keys[n]
                rec[3] += plen
                now = yield emit(snd, k_psh if total == 0 else k_ack, dseq, rseq, now)
            dseq = (dseq + plen) & MASK32
            unacked += n
            if unacked >= 4:                               # one ACK per GRO batch at the receiver
                now = yield emit(rcv, ACK, rseq, dseq, now)
                unacked = 0
        i = int(rnd() * nrep)                              # tail of the READ reply / the WRITE call
        length = rec[3] + RPC_REPLY_LENS[i]
        patch(rec[0], rec[1], record_fields(head, length))
        fl.open_record = None
        now = yield emit(snd, tails[i], dseq, rseq, now)
        dseq = (dseq + RPC_REPLY_LENS[i]) & MASK32
        if read:
            sseq = dseq
            stats[1] += 1
        else:
            cseq = dseq
            rnd()                                          # the model's draw of a reply length
            now = yield emit_x(s, write_reply, sseq, cseq, now, xid)
            sseq = (sseq + len(WRITE_REPLY)) & MASK32
            stats[2] += 1
        xid = (xid + 1) & MASK32
        now = yield emit(c, ACK, cseq, sseq, now)


class Writer:
    """The output: frames gathered in `buf`, written in blocks; patch() changes a frame written
    earlier, wherever it is now (the buffer or the file)."""

    def __init__(self, fd):
        self.fd = fd
        self.buf = bytearray()
        self.base = 24                                     # file offset of buf[0]

    def place(self, slot, frame):
        """The frame just appended to buf starts the open record of slot."""
        slot[0], slot[2] = self.base + len(self.buf) - len(frame), frame

    def put(self, off, data):
        if off >= self.base:
            self.buf[off - self.base:off - self.base + len(data)] = data
        else:
            os.pwrite(self.fd, data, off)

    def patch(self, slot, gso, fields):
        """Set u32 payload fields (zero in the template) of the frame slot[2], written at file
        offset slot[0]: one write from its TCP checksum to the last field. The TCP checksum
        follows (RFC 1624), the outer UDP checksum does not change (the TCP segment's sum does
        not), and a planted bad checksum (slot[1]) stays bad by as much."""
        pos, info, frame = slot
        at = OUTER_HDRS + INNER_HDRS + 16                  # the TCP checksum
        body = OUTER_HDRS + INNER_HDRS + TCP_HDR - at       # the payload, from there
        b = bytearray(frame[at:at + body + max(off for off, _ in fields) + 4])
        delta = 0
        for off, value in fields:
            struct.pack_into('>I', b, body + off, value)
            delta += value
        if not gso:                                        # CHECKSUM_PARTIAL does not cover the payload
            new = (((b[0] << 8) | b[1]) - delta) % 0xFFFF
            b[0], b[1] = new >> 8, new & 0xFF
            if info:
                info['stored'] = '0x%04x' % new
                info['expected'] = '0x%04x' % ((int(info['expected'], 16) - delta) % 0xFFFF)
        self.put(pos + at, b)


# ---------------------------------------------------------------------------------------------
def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--packets', type=int, default=5000000, help='frames to write (default 5000000)')
    ap.add_argument('--flows', type=int, default=4000, help='TCP connections to port 2049 (default 4000)')
    ap.add_argument('--out', default='/tmp/vxbench/vxlan-nfs.pcap', help='output pcap (default %(default)s)')
    ap.add_argument('--seed', type=int, default=1, help='random seed (default 1)')
    ap.add_argument('--manifest', help='write the planted findings as JSON here (default OUT.manifest.json; "-" for none)')
    args = ap.parse_args()
    if args.packets < 1 or args.flows < 1:
        ap.error('--packets and --flows must be at least 1')

    t0 = time.monotonic()
    rng = random.Random(args.seed)
    rnd = rng.random
    N = args.packets
    # Enough packets per connection for the handshakes to be a small part of the file.
    flows_n = max(1, min(args.flows, N // 40))
    if flows_n != args.flows:
        print('note: --flows %d reduced to %d for %d packets' % (args.flows, flows_n, N), file=sys.stderr)
    duration_us = int(max(N / PPS, MIN_DURATION_S) * 1e6)
    gap2 = 2.0 * duration_us / N                          # inter-packet gap ~ U(0, gap2)

    nodes = [Node(i, rng, zero_csum=(i == 8)) for i in range(1, 9)]   # 192.168.1.11 .. .18
    servers = [(nodes[1], ip4('10.244.2.5')), (nodes[4], ip4('10.244.5.7')), (nodes[6], ip4('10.244.7.12'))]
    full_nodes = [n for n in nodes if not n.zero_csum]

    used = set()

    def new_tuple(cnode, sip, host=False, masq=False):
        while True:
            if masq:                                       # MASQUERADE'd resvport
                cip, cport = cnode.flannel_ip, 600 + int(rnd() * 65)
            elif host:                                     # host-network kernel NFS client, resvport
                cip, cport = cnode.flannel_ip, 665 + int(rnd() * 359)
            else:
                cip, cport = cnode.flannel_ip + 2 + int(rnd() * 253), EPH_MIN + int(rnd() * (EPH_MAX - EPH_MIN + 1))
            if (cip, cport, sip) not in used:
                used.add((cip, cport, sip))
                return cip, cport

    # Special connections.
    n_dsnat = min(3, flows_n // 10)
    n_retx = min(max(1, flows_n // 500), max(0, flows_n // 10)) if flows_n >= 10 else 0
    flows = []
    dur_s = duration_us / 1e6
    for i in range(flows_n):
        snode, sip = servers[i % len(servers)]
        if i < n_dsnat:
            kind = 'dsnat3' if i == 2 else 'dsnat63'
            cnode = [n for n in full_nodes if n is not snode][int(rnd() * (len(full_nodes) - 1))]
            cip, cport = new_tuple(cnode, sip, masq=True)
            start = (2.0 + 7.0 * i + rnd()) * 1e6
        elif i < n_dsnat + n_retx:
            kind = 'synretx'
            cnode = [n for n in nodes if n is not snode][int(rnd() * (len(nodes) - 1))]
            cip, cport = new_tuple(cnode, sip)
            start = (1.0 + rnd() * max(0.0, dur_s - 15.0)) * 1e6
        else:
            kind = 'normal'
            cnode = [n for n in nodes if n is not snode][int(rnd() * (len(nodes) - 1))]
            cip, cport = new_tuple(cnode, sip, host=rnd() < 0.05)
            start = rnd() * 0.2 * duration_us
        fl = Flow(i, cnode, snode, cip, cport, sip, rng, kind)
        fl.start = int(start)
        flows.append(fl)

    stats = [0, 0, 0]               # metadata RPCs, READs, WRITEs
    active = []
    heap = []
    hseq = [0]
    manifest = {'seed': args.seed, 'packets': N, 'flows': flows_n, 'double_snat': [], 'syn_retransmissions': [],
                'bad_inner_tcp_checksums': [], 'zero_outer_checksum_vtep': [ip4s(n.ip) for n in nodes if n.zero_csum]}

    def at(t, fn):
        hseq[0] += 1
        heapq.heappush(heap, (int(t), hseq[0], fn))

    heads = []                      # the open record's first segment, to place once written

    def activate(fl):
        g = conversation(fl, rnd, stats, heads, out.patch)
        next(g)
        active.append(g)

    def schedule(fl):
        c, s = fl.c2s, fl.s2c
        t = fl.start
        rtt = 150 + int(rnd() * 400)
        syn_times = [0]
        wire = {}                   # SYN index -> (wire sport, checksum sport) for NAT'd SYNs
        reroll = {}                 # SYN index -> new (txhash re-roll) pre-NAT outer sport
        if fl.kind == 'dsnat63':
            syn_times = [0, 1, 3, 7, 15, 31, 63]
        elif fl.kind == 'dsnat3':
            syn_times = [0, 1, 3]
        elif fl.kind == 'synretx':
            syn_times = [0, 1] if fl.fid % 2 == 0 else [0, 1, 3]
        if fl.kind.startswith('dsnat'):
            p_old = c.sport
            p_new = 1024 + int(rnd() * (SPORT_MIN - 1024))        # random-fully into 1024-65535, here below the range
            for k in range(len(syn_times) - 1):
                wire[k] = (p_new, p_old)
            if fl.kind == 'dsnat3':
                reroll[2] = SPORT_MIN + int(rnd() * (SPORT_MAX - SPORT_MIN + 1))
            fl.info = {'kind': fl.kind, 'connection': fl.name(), 'client_vtep': ip4s(fl.cnode.ip),
                       'server_vtep': ip4s(fl.snode.ip), 'nat_outer_sport': p_new, 'pre_nat_outer_sport': p_old,
                       'final_outer_sport': reroll.get(2, p_old), 'syns': len(syn_times),
                       'delay_s': syn_times[-1], 'corrupted_frames': []}
            manifest['double_snat'].append(fl.info)
        elif fl.kind == 'synretx':
            if fl.fid % 4 == 1:
                reroll[1] = SPORT_MIN + int(rnd() * (SPORT_MAX - SPORT_MIN + 1))
            fl.info = {'connection': fl.name(), 'syns': len(syn_times), 'delay_s': syn_times[-1],
                       'outer_sport_rerolled': bool(reroll), 'vtep_zero_csum': fl.cnode.zero_csum}
            manifest['syn_retransmissions'].append(fl.info)

        for k, off in enumerate(syn_times):
            def syn(now, k=k):
                if k in reroll:
                    c.sport = reroll[k]
                if k in wire:
                    p_new, p_old = wire[k]
                    fl.info['corrupted_frames'].append(written[0] + 1)
                    return c.syn_frame(TCP_SYN, fl.isn, 0, now, sport=p_new, csum_sport=p_old)
                return c.syn_frame(TCP_SYN, fl.isn, 0, now)
            at(t + off * 1000000 + (int(rnd() * 2000) if off else 0), syn)
        t_last = t + syn_times[-1] * 1000000 + 2000
        at(t_last + rtt, lambda now: s.syn_frame(TCP_SYN | TCP_ACK, fl.sisn, (fl.isn + 1) & MASK32, now))

        def ack(now):
            f = c.syn_frame(TCP_ACK, (fl.isn + 1) & MASK32, (fl.sisn + 1) & MASK32, now)
            activate(fl)
            return f
        at(t_last + 2 * rtt, ack)

    for fl in flows:
        schedule(fl)

    # Planted bad inner TCP checksums: about 1 in 100,000 packets, never in the first 1000.
    n_bad = max(1 if N >= 20000 else 0, N // 100000)
    bad_at = sorted(rng.sample(range(1000, N), n_bad)) if n_bad and N > 1000 + n_bad else []
    bad_at.append(N + 1)
    bi = 0
    next_bad = bad_at[0]

    out_dir = os.path.dirname(os.path.abspath(args.out))
    os.makedirs(out_dir, exist_ok=True)
    # Reserve the blocks first: on ext4, writing into fallocate'd space is ~3x faster than
    # appending; a file of about this size that already exists is reused without truncating.
    fd = os.open(args.out, os.O_WRONLY | os.O_CREAT, 0o644)
    try:
        os.posix_fallocate(fd, 0, N * 1100)
    except OSError:
        pass                                               # not supported here (pipe, tmpfs, ...)
    f = os.fdopen(fd, 'wb', buffering=0)
    f.write(struct.pack('<IHHiIII', 0xA1B2C3D4, 2, 4, 0, 0, 262144, 1))
    out = Writer(fd)
    buf = out.buf
    ts_pack = struct.Struct('<II').pack
    written = [0]
    now = 0.0
    heappop = heapq.heappop
    FLUSH = 1 << 23
    i = 0
    while i < N:
        tnow = int(now)
        if heap and (heap[0][0] <= tnow or not active):
            t_ev, _, fn = heappop(heap)
            if t_ev > tnow:
                now = float(t_ev)
                tnow = t_ev
            written[0] = i
            frame = fn(tnow)
            lens = struct.pack('<II', len(frame), len(frame))
            if i == next_bad:                              # plant bad checksums on template packets only
                next_bad = i + 1
        else:
            lens, frame = active[int(rnd() * len(active))].send(tnow)
            if i == next_bad:
                frame, info = corrupt_inner_tcp(frame)
                if info is None:
                    next_bad = i + 1
                else:
                    info['frame'] = i + 1
                    manifest['bad_inner_tcp_checksums'].append(info)
                    if heads:
                        heads[-1][1] = info
                    bi += 1
                    next_bad = max(bad_at[bi], i + 1)
        s, us = divmod(tnow, 1000000)
        buf += ts_pack(EPOCH + s, us)
        buf += lens
        buf += frame
        if heads:
            out.place(heads.pop(), frame)
        if len(buf) >= FLUSH:
            f.write(buf)
            out.base += len(buf)
            buf.clear()
        now += rnd() * gap2
        i += 1
    # Records the capture ends in. A READ reply ends with the capture (a short read, so that
    # its call is answered: vxcheck reports calls unanswered 5 s before the end, and a burst of
    # a slow connection can take longer); a WRITE call claims more than the capture holds (an
    # incomplete record is not a call yet).
    for fl in flows:
        if fl.open_record:
            slot, gso, kind, length = fl.open_record
            out.patch(slot, gso, record_fields(kind, length if kind == K_READ_HEAD else length + 32 * 1448 + 200))
    f.write(buf)
    nbytes = out.base + len(buf)
    try:
        f.truncate(nbytes)
    except OSError:
        pass
    f.close()
    elapsed = time.monotonic() - t0

    # Connections whose SYN schedule did not fit in the file.
    manifest['double_snat'] = [d for d in manifest['double_snat'] if d['corrupted_frames']]
    manifest['stats'] = {'metadata_rpcs': stats[0], 'reads': stats[1], 'writes': stats[2],
                         'flows_established': len(active), 'capture_seconds': round(now / 1e6, 3)}
    mpath = args.manifest if args.manifest else args.out + '.manifest.json'
    if mpath != '-':
        with open(mpath, 'w') as mf:
            json.dump(manifest, mf, indent=1)
            mf.write('\n')

    print('wrote %d packets, %d bytes (%.2f GB, %.0f B/packet) to %s in %.1f s (%.0f packets/s)'
          % (N, nbytes, nbytes / 1e9, (nbytes - 24) / N - 16, args.out, elapsed, N / elapsed))
    print('  %d connections (%d established), %.1f s of traffic; %d metadata RPCs, %d READs, %d WRITEs'
          % (flows_n, len(active), now / 1e6, stats[0], stats[1], stats[2]))
    print('  planted: %d bad inner TCP checksums, %d double-SNAT connections (Variant B), '
          '%d connections with SYN retransmissions; zero outer UDP checksums from %s'
          % (len(manifest['bad_inner_tcp_checksums']), len(manifest['double_snat']),
             len(manifest['syn_retransmissions']), ', '.join(manifest['zero_outer_checksum_vtep'])))
    if mpath != '-':
        print('  manifest: %s' % mpath)


def corrupt_inner_tcp(frame):
    """Flip bits of the inner TCP checksum of a non-GSO packet; fix the outer UDP checksum (RFC 1624)."""
    if len(frame) > OUTER_HDRS + INNER_HDRS + TCP_HDR + DATA_SEG:
        return frame, None                                 # partial checksums: leave super-packets alone
    b = bytearray(frame)
    old = (b[100] << 8) | b[101]
    new = old ^ 0x0100
    b[100], b[101] = new >> 8, new & 0xFF
    ucs = (b[40] << 8) | b[41]
    if ucs:
        # RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m')
        x = (~ucs & 0xFFFF) + (~old & 0xFFFF) + new
        x = (x & 0xFFFF) + (x >> 16)
        x = (x & 0xFFFF) + (x >> 16)
        ucs = ~x & 0xFFFF or 0xFFFF
        b[40], b[41] = ucs >> 8, ucs & 0xFF
    # stored/expected as vxcheck reports them
    return bytes(b), {'stored': '0x%04x' % new, 'expected': '0x%04x' % old,
                      'outer_zero_checksum': not ucs}


if __name__ == '__main__':
    main()

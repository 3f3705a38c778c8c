#!/usr/bin/python3
"""Write a large, realistic Flannel VXLAN + NFS capture for benchmarking vxcheck.

Classic pcap (microsecond timestamps, LINKTYPE_ETHERNET). Every frame is node-to-node VXLAN
(outer IPv4/UDP to port 8472, VNI 1) carrying inner Ethernet/IPv4/TCP between pods 10.244.x.y
and NFS servers on port 2049, in both directions:

  * every connection opens with SYN / SYN-ACK / ACK (Linux options: MSS, SACK_PERM, TS, WS);
  * then NFS-like traffic: small RPCs (inner payload 100-200 B), READ/WRITE bursts of
    1398-byte segments (inner MTU 1450, TCP timestamps on) with pure ACKs every four segments,
    and some GSO super-packets (inner payload 2896 or 5792);
  * outer UDP checksums are complete and non-zero, except from one node that sends zero outer
    checksums (flannel.1 on a pre-4.6-semantics kernel), and GSO super-packets, whose outer UDP
    and inner TCP checksums are in Linux CHECKSUM_PARTIAL form (domain.md section 3);
  * planted findings: bad inner TCP checksums (about 1 in 100,000 packets, outer checksum
    correct over the corrupted bytes), double-SNAT connections (inner client 10.244.N.0 with a
    MASQUERADE port 600-664, outer source port rewritten out of 32768-60998 with the outer
    checksum still valid for the pre-NAT port: Variant B, domain.md section 2.4; connected after
    63 s or 3 s of SYN retransmissions) and plain SYN retransmissions (1 s or 3 s delay).

All other checksums are correct. Deterministic for a given --seed. Standard library only.

Speed: each direction of each connection gets per-(length, flags) templates built once; a
packet is one struct.pack of the template pieces plus the fields that change (IP IDs, seq,
ack, TCP timestamps), whose checksums are updated from precomputed sums (RFC 1624 style) in
one modular expression: the one's-complement sum of 16-bit words is the integer value mod
0xFFFF, so ~sum == (-sum) mod 0xFFFF. The outer UDP checksum of a packet whose inner IPv4 and
TCP checksums are correct does not depend on the inner fields that change (the inner header
sums to 0xFFFF and the TCP segment to ~pseudo-header), so it is a template constant.
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
# Payloads, shared by all flows (the content does not matter to the checksums' correctness).
_PAYLOADS = {}


def payload(n, rpc):
    key = (n, rpc)
    p = _PAYLOADS.get(key)
    if p is None:
        r = random.Random(n * 2 + rpc)
        body = bytes(r.getrandbits(8) for _ in range(min(n, 64)))
        body = (body * (n // 64 + 1))[:n]
        if rpc and n >= 16:
            # ONC RPC record mark (last fragment) + xid + msg_type; enough to look like RPC.
            body = struct.pack('>III', 0x80000000 | (n - 4), 0x1000 + n, 0 if rpc == 1 else 1) + body[12:]
        p = _PAYLOADS[key] = body
    return p


_STRUCTS = {}


def frame_struct(plen):
    s = _STRUCTS.get(plen)
    if s is None:
        s = _STRUCTS[plen] = struct.Struct('>18sH4sH42sH4sH12sII4sH6sII%ds' % plen)
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
        """Build and cache the template for key = payload length << 8 | TCP flags."""
        plen, flags = key >> 8, key & 0xFF
        gso = plen > DATA_SEG
        rpc = 0 if (gso or plen == DATA_SEG or not flags & TCP_PSH) else (1 if self.tdport == NFS_PORT else 2)
        body = payload(plen, rpc)
        opts = b'\x01\x01\x08\x0a' + bytes(8)
        f = self.frame(flags, 0, 0, opts, body, 0, 0, gso=gso)
        assert len(f) == OUTER_HDRS + INNER_HDRS + TCP_HDR + plen
        # Sums of everything that does not change per packet (the varying fields are zero in f).
        o_sum = onesum(f[14:24] + f[26:34])                  # outer IPv4 minus checksum
        i_sum = onesum(f[64:74] + f[76:84])                  # inner IPv4 minus checksum
        t_sum = onesum(struct.pack('>IIHH', self.isrc, self.idst, 6, TCP_HDR + plen)) + onesum(f[84:100] + f[102:])
        t = self.tpls[key] = (
            frame_struct(plen).pack, f[0:18], f[20:24], f[26:68], f[70:74], f[76:88], f[96:100], f[102:108],
            f[116:], (-o_sum) % 0xFFFF, (-i_sum) % 0xFFFF, (-t_sum) % 0xFFFF,
            struct.unpack('>H', f[100:102])[0] if gso else -1,
            struct.pack('<II', len(f), len(f)), (plen + DATA_SEG - 1) // DATA_SEG)
        return t


def emit(d, key, seq, ack, now):
    """One packet of direction d from template key: returns (8-byte pcap caplen/len, frame)."""
    t = d.tpls.get(key) or d.make_tpl(key)
    pack, A, B, C, D, E, F, G, P, oneg, ineg, tneg, tcs, lens, segs = t
    oid = d.oid = (d.oid + segs) & 0xFFFF
    iid = d.iid
    d.iid = (iid + segs) & 0xFFFF
    tsval = d.last_ts = (now // 1000 + d.tsoff) & MASK32
    tsecr = d.peer.last_ts
    if tcs < 0:
        tcs = (tneg - seq - ack - tsval - tsecr) % 0xFFFF
    return lens, pack(A, oid, B, (oneg - oid) % 0xFFFF, C, iid, D, (ineg - iid) % 0xFFFF,
                      E, seq, ack, F, tcs, G, tsval, tsecr, P)


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

    def name(self):
        return '%s:%d -> %s:%d' % (ip4s(self.cip), self.cport, ip4s(self.sip), NFS_PORT)


def conversation(fl, rnd, stats):
    """Packets of an established connection, forever: NFS-like RPCs and READ/WRITE bursts."""
    c, s = fl.c2s, fl.s2c
    cseq = (fl.isn + 1) & MASK32
    sseq = (fl.sisn + 1) & MASK32
    PA = TCP_PSH | TCP_ACK
    ACK = TCP_ACK                                          # key of a pure ACK (length 0)
    calls = [n << 8 | PA for n in RPC_CALL_LENS]
    replies = [n << 8 | PA for n in RPC_REPLY_LENS]
    ncall, nrep = len(calls), len(replies)
    seg_keys = {k: (n << 8 | TCP_ACK, n << 8 | PA, n) for k, n in ((1, DATA_SEG), (2, GSO_PAYLOADS[0]), (4, GSO_PAYLOADS[1]))}
    now = yield None
    while True:
        r = rnd()
        if r < 0.65:                                       # metadata RPC: call, reply, delayed ACK
            k = calls[int(rnd() * ncall)]
            now = yield emit(c, k, cseq, sseq, now)
            cseq = (cseq + (k >> 8)) & MASK32
            k = replies[int(rnd() * nrep)]
            now = yield emit(s, k, sseq, cseq, now)
            sseq = (sseq + (k >> 8)) & MASK32
            if rnd() < 0.3:
                now = yield emit(c, ACK, cseq, sseq, now)
            stats[0] += 1
            continue
        # READ (the server sends data) or WRITE (the client does)
        read = r < 0.86
        if read:
            k = calls[int(rnd() * ncall)]
            now = yield emit(c, k, cseq, sseq, now)
            cseq = (cseq + (k >> 8)) & MASK32
            snd, rcv, dseq, rseq = s, c, sseq, cseq
        else:
            snd, rcv, dseq, rseq = c, s, cseq, sseq
        total = (1, 2, 4, 8, 16, 32)[int(rnd() * 6)]      # in 1398-byte segments
        unacked = 0
        while total > 0:
            g = rnd()
            n = 4 if g < 0.03 and total >= 4 else (2 if g < 0.08 and total >= 2 else 1)
            k_ack, k_psh, plen = seg_keys[n]
            total -= n
            now = yield emit(snd, k_psh if total == 0 else k_ack, dseq, rseq, now)
            dseq = (dseq + plen) & MASK32
            unacked += n
            if unacked >= 4:                               # one ACK per GRO batch at the receiver
                now = yield emit(rcv, ACK, rseq, dseq, now)
                unacked = 0
        k = replies[int(rnd() * nrep)]                     # tail of the READ reply / the WRITE call
        now = yield emit(snd, k, dseq, rseq, now)
        dseq = (dseq + (k >> 8)) & MASK32
        if read:
            sseq = dseq
            stats[1] += 1
        else:
            cseq = dseq
            k = replies[int(rnd() * nrep)]                 # WRITE reply
            now = yield emit(s, k, sseq, cseq, now)
            sseq = (sseq + (k >> 8)) & MASK32
            stats[2] += 1
        now = yield emit(c, ACK, cseq, sseq, now)


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

    def activate(fl):
        g = conversation(fl, rnd, stats)
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
    buf = bytearray()
    ts_pack = struct.Struct('<II').pack
    written = [0]
    nbytes = 24
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
                    bi += 1
                    next_bad = max(bad_at[bi], i + 1)
        s, us = divmod(tnow, 1000000)
        buf += ts_pack(EPOCH + s, us)
        buf += lens
        buf += frame
        if len(buf) >= FLUSH:
            f.write(buf)
            nbytes += len(buf)
            buf.clear()
        now += rnd() * gap2
        i += 1
    f.write(buf)
    nbytes += len(buf)
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

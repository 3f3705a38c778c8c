#!/usr/bin/python3
"""Deterministic generator for the ONC RPC / NFS story captures in pcaps/nfs/ (issue 19 item 8).

Usage:  /usr/bin/python3 tools/make_nfs_pcaps.py [-v] [OUTDIR]   (default OUTDIR: pcaps/nfs/)

Builds on tools/make_pcaps.py (checksums, headers, pcap writer, topology, TcpConv) and uses only
the Python standard library.  Every byte is fixed: timestamps, ISNs, ports, IP IDs, XIDs and
verifiers are constants, so two runs produce byte-identical files.  -v prints one line per frame.

Layout of this file:
  1. XDR and ONC RPC (RFC 4506, RFC 5531 sections 9 and 11: record marking, AUTH_SYS)
  2. NFSv4 COMPOUND operations (RFC 7530 v4.0, RFC 8881 v4.1), NFSv4 callbacks, NFSv3, MOUNT,
     portmap
  3. Stream: one TCP connection carrying RPC records (segmenting at the MSS, ACKs, close)
  4. one function per output file (the story each tells is in its docstring and pcaps/README.md)
  5. main

Wire conventions (see /work/shared/domain.md sections 6, 7 and 7.1):
  - One fragment per record unless a fixture says otherwise; the RPC message length excludes the
    4-byte record marks (RFC 8881 section 18.36.3 measures channel sizes the same way).
  - Calls carry AUTH_SYS credentials (machinename = the client's hostname) and an AUTH_NONE
    verifier; replies carry an AUTH_NONE verifier.
  - XIDs come from one counter per transport (Linux draws an independent XID sequence per
    transport), so XIDs on different connections never coincide unless a story resends a call.
"""

import os
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_pcaps as mp  # noqa: E402  (the shared builders)

from make_pcaps import (TCP_ACK, TCP_FIN, TCP_PSH, TCP_RST, TCP_SYN, Pcap,  # noqa: E402
                        TcpConv, ethernet, ipv4, tcp4, udp, PROTO_UDP)

# ---------------------------------------------------------------------------------------------
# 1. XDR and ONC RPC
# ---------------------------------------------------------------------------------------------

LAST_FRAGMENT = 0x80000000

PROG_PORTMAP, PROG_NFS, PROG_MOUNT, PROG_NFS_ACL = 100000, 100003, 100005, 100227
PROG_NFS_CB = 0x40000000          # Linux csa_cb_program (NFS4_CALLBACK)

AUTH_NONE, AUTH_SYS = 0, 1
MSG_ACCEPTED, MSG_DENIED = 0, 1
SUCCESS, PROG_UNAVAIL, PROG_MISMATCH, PROC_UNAVAIL, GARBAGE_ARGS, SYSTEM_ERR = range(6)
RPC_MISMATCH, AUTH_ERROR = 0, 1
AUTH_TOOWEAK = 5


def u32(v):
    return struct.pack("!I", v & 0xFFFFFFFF)


def u64(v):
    return struct.pack("!Q", v)


def xbool(v):
    return u32(1 if v else 0)


def fixed(b, n):
    assert len(b) == n, (b, n)
    return mp.pad4(b)


def opaque(b):
    """Variable-length opaque or string: length, bytes, zero padding to 4."""
    if isinstance(b, str):
        b = b.encode()
    return u32(len(b)) + mp.pad4(b)


def auth_sys(machinename, stamp, uid=0, gid=0, gids=()):
    """opaque_auth with flavor AUTH_SYS: stamp, machinename<255>, uid, gid, gids<16>."""
    body = u32(stamp) + opaque(machinename) + u32(uid) + u32(gid) + u32(len(gids))
    body += b"".join(u32(g) for g in gids)
    return u32(AUTH_SYS) + opaque(body)


def auth_none():
    return u32(AUTH_NONE) + u32(0)


def rpc_call(xid, prog, vers, proc, args=b"", cred=None):
    """CALL message body (no record mark)."""
    cred = auth_none() if cred is None else cred
    head = u32(xid) + u32(0) + u32(2) + u32(prog) + u32(vers) + u32(proc)
    return head + cred + auth_none() + args


def rpc_reply(xid, results=b"", accept_stat=SUCCESS, mismatch=None):
    """MSG_ACCEPTED reply with an AUTH_NONE verifier.  mismatch = (low, high) for PROG_MISMATCH."""
    body = u32(xid) + u32(1) + u32(MSG_ACCEPTED) + auth_none() + u32(accept_stat)
    if accept_stat == PROG_MISMATCH:
        body += u32(mismatch[0]) + u32(mismatch[1])
    return body + (results if accept_stat == SUCCESS else b"")


def rpc_denied_auth(xid, auth_stat):
    """MSG_DENIED reply, reject_stat AUTH_ERROR with auth_stat."""
    return u32(xid) + u32(1) + u32(MSG_DENIED) + u32(AUTH_ERROR) + u32(auth_stat)


def record(msg, fragments=None):
    """Record-marked RPC message.  fragments: list of fragment lengths (summing to len(msg));
    default one fragment."""
    if fragments is None:
        return u32(LAST_FRAGMENT | len(msg)) + msg
    assert sum(fragments) == len(msg)
    out, off = b"", 0
    for i, n in enumerate(fragments):
        last = LAST_FRAGMENT if i == len(fragments) - 1 else 0
        out += u32(last | n) + msg[off:off + n]
        off += n
    return out


class Xids:
    """One transport's XID counter."""

    def __init__(self, start):
        self.v = start

    def __call__(self):
        v = self.v
        self.v = (self.v + 1) & 0xFFFFFFFF
        return v


# ---------------------------------------------------------------------------------------------
# 2. NFSv4 COMPOUND, callbacks, NFSv3, MOUNT, portmap
# ---------------------------------------------------------------------------------------------

OP_ACCESS, OP_GETATTR, OP_GETFH, OP_LOOKUP, OP_OPEN = 3, 9, 10, 15, 18
OP_PUTFH, OP_PUTROOTFH, OP_READ, OP_RENEW = 22, 24, 25, 30
OP_SETCLIENTID, OP_SETCLIENTID_CONFIRM, OP_WRITE = 35, 36, 38
OP_BIND_CONN_TO_SESSION, OP_EXCHANGE_ID, OP_CREATE_SESSION, OP_DESTROY_SESSION = 41, 42, 43, 44
OP_SEQUENCE, OP_RECLAIM_COMPLETE = 53, 58
CB_OP_SEQUENCE = 11

NFS4_OK = 0
NFS4ERR_NOENT = 2
NFS4ERR_DELAY = 10008
NFS4ERR_EXPIRED = 10011
NFS4ERR_STALE_CLIENTID = 10022
NFS4ERR_BADSESSION = 10052
NFS4ERR_REQ_TOO_BIG = 10065
NFS4ERR_REP_TOO_BIG = 10066
NFS4ERR_REP_TOO_BIG_TO_CACHE = 10067

ROOT_FH = bytes.fromhex("01000100000000000000000000000000")
FILE_FH = bytes.fromhex("01000701a5a5a5a50000000000002a10")
NFS3_ROOT_FH = bytes.fromhex("01000601c0ffee000000000000000002")


def compound_call(xid, minor, ops, cred, tag=b""):
    """NFSv4 COMPOUND CALL: ops is a list of (opnum, args bytes)."""
    args = opaque(tag) + u32(minor) + u32(len(ops))
    args += b"".join(u32(op) + a for op, a in ops)
    return rpc_call(xid, PROG_NFS, 4, 1, args, cred)


def compound_reply(xid, results, tag=b"", status=None):
    """NFSv4 COMPOUND REPLY: results is a list of (opnum, nfsstat4, result body after the status).
    The compound status is the last op's status (processing stops at the first failing op)."""
    if status is None:
        status = results[-1][1] if results else NFS4_OK
    body = u32(status) + opaque(tag) + u32(len(results))
    body += b"".join(u32(op) + u32(st) + r for op, st, r in results)
    return rpc_reply(xid, body)


def channel_attrs(maxreq, maxresp, maxresp_cached, maxops=8, maxreqs=64):
    """channel_attrs4: headerpadsize, maxrequestsize, maxresponsesize, maxresponsesize_cached,
    maxoperations, maxrequests, rdma_ird<1> (empty)."""
    return u32(0) + u32(maxreq) + u32(maxresp) + u32(maxresp_cached) + u32(maxops) + \
        u32(maxreqs) + u32(0)


# Fore-channel limits.  The client asks for the Linux defaults; the servers in these fixtures
# grant small values so that a few-kilobyte READ or WRITE crosses them (synthetic, see README).
CLIENT_FORE = channel_attrs(1049620, 1049480, 7584)
CLIENT_BACK = channel_attrs(4096, 4096, 0, 2, 1)
SERVER_FORE = channel_attrs(4096, 4096, 512)
SERVER_BACK = channel_attrs(4096, 4096, 0, 2, 1)
SERVER_FORE_LINUX = channel_attrs(1049620, 1049480, 2128)


def op_exchange_id(verifier, owner):
    """EXCHANGE_ID args: co_verifier, co_ownerid, eia_flags (SUPP_MOVED_REFER|SUPP_MOVED_MIGR|
    BIND_PRINC_STATEID), state_protect SP4_NONE, one client_impl_id."""
    impl = opaque("kernel.org") + opaque("Linux 6.1.0-18-amd64 #1 SMP x86_64") + u64(0) + u32(0)
    return (OP_EXCHANGE_ID, fixed(verifier, 8) + opaque(owner) + u32(0x00000103) + u32(0) +
            u32(1) + impl)


def res_exchange_id(clientid, seqid=1, confirmed=False):
    flags = 0x00010000 | (0x80000000 if confirmed else 0)     # USE_NON_PNFS [| CONFIRMED_R]
    body = u64(clientid) + u32(seqid) + u32(flags) + u32(0)     # state protect SP4_NONE
    body += u64(0) + opaque("nfs-server") + opaque("nfs-server") + u32(0)
    return (OP_EXCHANGE_ID, NFS4_OK, body)


def op_create_session(clientid, seq, fore=CLIENT_FORE):
    """CREATE_SESSION args with CONN_BACK_CHAN, csa_cb_program 0x40000000, one AUTH_NONE sec
    parm."""
    return (OP_CREATE_SESSION, u64(clientid) + u32(seq) + u32(0x2) + fore + CLIENT_BACK +
            u32(PROG_NFS_CB) + u32(1) + u32(AUTH_NONE))


def res_create_session(sessionid, seq, fore=SERVER_FORE):
    return (OP_CREATE_SESSION, NFS4_OK,
            fixed(sessionid, 16) + u32(seq) + u32(0x2) + fore + SERVER_BACK)


def op_sequence(sessionid, seqid, slot=0, highest=0, cachethis=False):
    return (OP_SEQUENCE, fixed(sessionid, 16) + u32(seqid) + u32(slot) + u32(highest) +
            xbool(cachethis))


def res_sequence(sessionid, seqid, slot=0, highest=0):
    """SEQUENCE resok: sessionid, sequenceid, slotid, highest_slotid, target_highest_slotid,
    status_flags (cachethis is not echoed)."""
    return (OP_SEQUENCE, NFS4_OK, fixed(sessionid, 16) + u32(seqid) + u32(slot) + u32(highest) +
            u32(63) + u32(0))


def op_bind_conn(sessionid):
    """BIND_CONN_TO_SESSION: sessionid, CDFC4_FORE_OR_BOTH (3), no RDMA."""
    return (OP_BIND_CONN_TO_SESSION, fixed(sessionid, 16) + u32(3) + xbool(False))


def res_bind_conn(sessionid):
    return (OP_BIND_CONN_TO_SESSION, NFS4_OK, fixed(sessionid, 16) + u32(1) + xbool(False))


def op_setclientid(verifier, owner, r_addr, ident=1):
    """SETCLIENTID: nfs_client_id4 {verifier, id}, cb_client4 {cb_program, r_netid, r_addr},
    callback_ident."""
    return (OP_SETCLIENTID, fixed(verifier, 8) + opaque(owner) + u32(PROG_NFS_CB) +
            opaque("tcp") + opaque(r_addr) + u32(ident))


def res_setclientid(clientid, confirm):
    return (OP_SETCLIENTID, NFS4_OK, u64(clientid) + fixed(confirm, 8))


def op_setclientid_confirm(clientid, confirm):
    return (OP_SETCLIENTID_CONFIRM, u64(clientid) + fixed(confirm, 8))


def op_renew(clientid):
    return (OP_RENEW, u64(clientid))


def op_destroy_session(sessionid):
    return (OP_DESTROY_SESSION, fixed(sessionid, 16))


def op_reclaim_complete():
    return (OP_RECLAIM_COMPLETE, xbool(False))


def op_putrootfh():
    return (OP_PUTROOTFH, b"")


def op_putfh(fh=FILE_FH):
    return (OP_PUTFH, opaque(fh))


def op_getfh():
    return (OP_GETFH, b"")


def res_getfh(fh=ROOT_FH):
    return (OP_GETFH, NFS4_OK, opaque(fh))


def op_getattr():
    """GETATTR of FATTR4_TYPE (1) and FATTR4_SIZE (4)."""
    return (OP_GETATTR, u32(1) + u32((1 << 1) | (1 << 4)))


def res_getattr(ftype=2, size=4096):
    return (OP_GETATTR, NFS4_OK, u32(1) + u32((1 << 1) | (1 << 4)) + opaque(u32(ftype) + u64(size)))


def op_lookup(name):
    return (OP_LOOKUP, opaque(name))


def op_access(bits=0x1F):
    return (OP_ACCESS, u32(bits))


def res_access(bits=0x1F):
    return (OP_ACCESS, NFS4_OK, u32(bits) + u32(bits))


STATEID_ANON = u32(0) + bytes(12)


def op_read(offset, count):
    return (OP_READ, STATEID_ANON + u64(offset) + u32(count))


def res_read(data, eof=False):
    return (OP_READ, NFS4_OK, xbool(eof) + opaque(data))


def op_write(offset, data):
    """WRITE with stable_how FILE_SYNC (2)."""
    return (OP_WRITE, STATEID_ANON + u64(offset) + u32(2) + opaque(data))


def res_write(count, verifier=b"wverf001"):
    return (OP_WRITE, NFS4_OK, u32(count) + u32(2) + fixed(verifier, 8))


def op_open_nocreate(name, seqid, clientid):
    """OPEN args: seqid, share_access READ (1), share_deny NONE, open_owner4 {clientid, owner},
    openflag4 NOCREATE, open_claim4 CLAIM_NULL(name)."""
    return (OP_OPEN, u32(seqid) + u32(1) + u32(0) + u64(clientid) + opaque(b"open-id:1") +
            u32(0) + u32(0) + opaque(name))


def res_open(stateid_seq=1):
    """OPEN4resok: stateid, change_info4 {atomic, before, after}, rflags, attrset bitmap4,
    delegation OPEN_DELEGATE_NONE."""
    body = u32(stateid_seq) + bytes.fromhex("5e1f00aa00000001000000c1")
    body += xbool(True) + u64(7) + u64(7) + u32(0x4) + u32(0) + u32(0)
    return (OP_OPEN, NFS4_OK, body)


def err(op, status):
    """A failing op result (no body)."""
    return (op, status, b"")


def ok(op):
    return (op, NFS4_OK, b"")


def cb_compound_call(xid, sessionid, seqid, tag=b""):
    """NFS_CB v1 CB_COMPOUND with one CB_SEQUENCE (RFC 8881 section 20.9)."""
    args = opaque(tag) + u32(1) + u32(1) + u32(1)      # minorversion 1, callback_ident, numops
    args += u32(CB_OP_SEQUENCE) + fixed(sessionid, 16) + u32(seqid) + u32(0) + u32(0) + \
        xbool(False) + u32(0)
    return rpc_call(xid, PROG_NFS_CB, 1, 1, args, auth_none())


def cb_compound_reply(xid, sessionid, seqid, tag=b""):
    body = u32(NFS4_OK) + opaque(tag) + u32(1)
    body += u32(CB_OP_SEQUENCE) + u32(NFS4_OK) + fixed(sessionid, 16) + u32(seqid) + u32(0) + \
        u32(0) + u32(0)
    return rpc_reply(xid, body)


# NFSv3 (RFC 1813), MOUNT v3, portmap v2 (RFC 1833)
NFS3_GETATTR, NFS3_ACCESS, NFS3_FSINFO = 1, 4, 19
MNT3_MNT = 1
PMAP_GETPORT = 3


def fattr3(ftype=2, size=4096, fileid=2):
    t = u32(1700000000) + u32(0)
    return u32(ftype) + u32(0o755) + u32(2) + u32(0) + u32(0) + u64(size) + u64(size) + \
        u32(0) + u32(0) + u64(0x2A) + u64(fileid) + t + t + t


def nfs3_call(xid, proc, args, cred):
    return rpc_call(xid, PROG_NFS, 3, proc, args, cred)


def nfs3_getattr_reply(xid):
    return rpc_reply(xid, u32(0) + fattr3())


def nfs3_access_reply(xid, bits=0x1F):
    return rpc_reply(xid, u32(0) + u32(1) + fattr3() + u32(bits))


def nfs3_fsinfo_reply(xid):
    body = u32(0) + u32(1) + fattr3()
    body += u32(1048576) * 3 + u32(1048576) * 3 + u32(4096) + u64(0xFFFFFFFFFFFFFFFF)
    body += u32(0) + u32(1) + u32(0x1B)             # time_delta {0, 1 ns}, properties
    return rpc_reply(xid, body)


# ---------------------------------------------------------------------------------------------
# 3. Stream: one TCP connection carrying RPC records
# ---------------------------------------------------------------------------------------------

MSS = 1398          # data per segment: the SYN's MSS option 1410 minus 12 bytes of timestamps
LO_MSS = 65483      # lo (MTU 65536): MSS option 65495 minus the timestamps


class LoConv(TcpConv):
    """TcpConv with the handshake Linux sends on lo: MSS option 65495, window 65495 (SYN) and
    65483 (SYN-ACK)."""

    def syn(self, t_us, csum=mp.OK):
        (c, cp), (s, sp) = self.addr["c"], self.addr["s"]
        self.nxt["c"] = self.isn["c"] + 1
        return tcp4(c, s, cp, sp, self.isn["c"], 0, TCP_SYN, self._id("c"),
                    options=lo_syn_options(self._ts("c", t_us)), window=65495, csum=csum)

    def synack(self, t_us, csum=mp.OK):
        (c, cp), (s, sp) = self.addr["c"], self.addr["s"]
        tsecr = self.last_ts["c"]
        self.nxt["s"] = self.isn["s"] + 1
        return tcp4(s, c, sp, cp, self.isn["s"], self.isn["c"] + 1, TCP_SYN | TCP_ACK, 0,
                    options=lo_syn_options(self._ts("s", t_us), tsecr), window=65483, csum=csum)


def lo_syn_options(tsval, tsecr=0):
    """The SYN options of make_pcaps.tcp_opts_syn with MSS 65495 instead of 1410."""
    opts = mp.tcp_opts_syn(tsval, tsecr)
    return struct.pack("!BBH", 2, 4, 65495) + opts[4:]


class Link:
    """How an IP packet becomes a frame.  kind: 'flannel' (inner Ethernet between VTEP MACs, as
    captured on flannel.1), 'vxlan' (Flannel VXLAN on a node's eth0, outer checksums correct),
    'lo' (Ethernet with zero MACs, as tcpdump -i lo writes) or 'eth' (plain Ethernet between
    node MACs)."""

    def __init__(self, kind, node_c="a", node_s="b", outer_ids=None, vx_sport=None):
        self.kind, self.node = kind, {"c": node_c, "s": node_s}
        self.outer_ids, self.vx_sport = outer_ids, vx_sport    # 'vxlan': per node, per side

    def frame(self, side, ip, t_us):
        other = "s" if side == "c" else "c"
        if self.kind == "vxlan":
            src, dst = self.node[side], self.node[other]
            inner = mp.inner_frame(src, dst, ip)
            return mp.vxlan_frame(src, dst, inner, self.outer_ids[src](t_us),
                                  sport=self.vx_sport[side])
        if self.kind == "lo":
            return ethernet("00:00:00:00:00:00", "00:00:00:00:00:00", mp.ETH_IPV4, ip)
        if self.kind == "flannel":
            return mp.inner_frame(self.node[side], self.node[other], ip)
        return ethernet(mp.NODE_MAC[self.node[other]], mp.NODE_MAC[self.node[side]],
                        mp.ETH_IPV4, ip)


class Stream:
    """One TCP connection; every method adds its frames to the capture at explicit times.

    Data is cut into segments of at most mss bytes, sent dt_us apart.  A side's segment acks
    everything the other side has sent so far (TcpConv does this)."""

    def __init__(self, cap, link, cli, cport, srv, sport, isn_c, isn_s, id_c, id_s, ts_c, ts_s,
                 mss=MSS, label=""):
        self.cap, self.link, self.mss = cap, link, mss
        conv = LoConv if link.kind == "lo" else TcpConv
        self.conv = conv(cli, cport, srv, sport, isn_c, isn_s, id_c, id_s, ts_c, ts_s)
        self.label = label or "%s:%d" % (cli, cport)

    def _add(self, side, t_us, ip, note):
        mp.at(self.cap, t_us, self.link.frame(side, ip, t_us), "%s %s %s" % (
            self.label, "c>s" if side == "c" else "s>c", note))

    def open(self, t_us, rtt_us=200):
        self._add("c", t_us, self.conv.syn(t_us), "SYN")
        self._add("s", t_us + rtt_us, self.conv.synack(t_us + rtt_us), "SYN-ACK")
        self._add("c", t_us + rtt_us + 40, self.conv.seg("c", t_us + rtt_us + 40), "ACK")
        return t_us + rtt_us + 40

    def send(self, side, t_us, data, note="", dt_us=10, cuts=None):
        """Send bytes from side; cuts: explicit segment lengths (default: at most mss each).
        Returns the time of the last segment."""
        if cuts is None:
            cuts = [min(self.mss, len(data) - o) for o in range(0, len(data), self.mss)]
        assert sum(cuts) == len(data)
        off, t = 0, t_us
        for i, n in enumerate(cuts):
            part = "" if len(cuts) == 1 else " [segment %d/%d]" % (i + 1, len(cuts))
            flags = TCP_PSH | TCP_ACK if i == len(cuts) - 1 else TCP_ACK    # PSH ends a write
            self._add(side, t, self.conv.seg(side, t, data[off:off + n], flags=flags), note + part)
            off += n
            t += dt_us
        return t - dt_us

    def resend(self, side, t_us, seq, data, note):
        """TCP-level retransmission: the same bytes at the same sequence number."""
        self._add(side, t_us, self.conv.seg(side, t_us, data, seq=seq), note)

    def ack(self, side, t_us, note="ACK"):
        self._add(side, t_us, self.conv.seg(side, t_us), note)

    def fin(self, side, t_us):
        self._add(side, t_us, self.conv.seg(side, t_us, flags=TCP_FIN | TCP_ACK), "FIN")
        self.conv.nxt[side] += 1

    def next_seq(self, side):
        return self.conv.nxt[side]


def refused_attempt(cap, link, cli, cport, srv, sport, isn, ident, ts, t_us, label, gap_us=18):
    """One connect attempt answered by RST|ACK (ack = ISN+1, window 0), as from a port with no
    listener."""
    conv = (LoConv if link.kind == "lo" else TcpConv)(cli, cport, srv, sport, isn, 0, ident, 0,
                                                      ts, 0)
    syn = conv.syn(t_us)
    mp.at(cap, t_us, link.frame("c", syn, t_us), "%s SYN ISN 0x%08x" % (label, isn))
    rst = tcp4(srv, cli, sport, cport, 0, isn + 1, TCP_RST | TCP_ACK, 0, window=0)
    mp.at(cap, t_us + gap_us, link.frame("s", rst, t_us + gap_us), "%s RST|ACK" % label)


class Client:
    """An NFS client on one connection: its XID counter and credentials, plus helpers that send a
    call and (optionally) the server's reply.  Times in microseconds."""

    def __init__(self, stream, xid0, machinename, stamp):
        self.s, self.xid, self.name, self.stamp = stream, Xids(xid0), machinename, stamp

    def cred(self):
        return auth_sys(self.name, self.stamp)

    def call(self, t, minor, ops, note, **kw):
        x = self.xid()
        self.send_msg("c", t, compound_call(x, minor, ops, self.cred()), "CALL", x, note, **kw)
        return x

    def reply(self, t, x, results, note="", **kw):
        self.send_msg("s", t, compound_reply(x, results), "REPLY", x, note, **kw)

    def send_msg(self, side, t, msg, kind, x, note, fragments=None, **kw):
        """Send one record; the note gives the RPC message length (record marks excluded)."""
        return self.s.send(side, t, record(msg, fragments), "%s xid 0x%08x len %d %s" % (
            kind, x, len(msg), note), **kw)

    def rt(self, t, minor, ops, results, note, rtt=500):
        """Call at t, reply at t+rtt; returns the XID."""
        x = self.call(t, minor, ops, note)
        self.reply(t + rtt, x, results, note)
        return x


def sid(prefix, n):
    """16-byte session id: ganesha-style clientid (8 bytes) + sequence (8 bytes)."""
    return prefix + struct.pack("!Q", n)


def establish41(cl, t, minor, verifier, owner, clientid, sessionid, fore=SERVER_FORE, cs_seq=1):
    """EXCHANGE_ID then CREATE_SESSION (minorversion of the mount), each answered after 500 us.
    Returns the next free time."""
    cl.rt(t, minor, [op_exchange_id(verifier, owner)], [res_exchange_id(clientid)], "EXCHANGE_ID")
    cl.rt(t + 1000, minor, [op_create_session(clientid, cs_seq)],
          [res_create_session(sessionid, cs_seq, fore)], "CREATE_SESSION")
    return t + 2000


def us(s):
    """Seconds (float literal in a story table) to integer microseconds."""
    return int(round(s * 1_000_000))


# ---------------------------------------------------------------------------------------------
# 4. Stories
# ---------------------------------------------------------------------------------------------

OWNER42 = b"Linux NFSv4.2 localhost"
GANESHA_EPOCH = 0x6758F134


class Session41:
    """Client-side state of one v4.x mount on one connection: clientid, session and the
    SEQUENCE slot-0 sequence id."""

    def __init__(self, cl, minor, verifier, owner):
        self.cl, self.minor, self.verifier, self.owner = cl, minor, verifier, owner
        self.clientid, self.sessionid, self.seq = None, None, 0

    def establish(self, t, clientid, fore=SERVER_FORE):
        self.clientid, self.sessionid, self.seq = clientid, sid(u64(clientid), 1), 0
        establish41(self.cl, t, self.minor, self.verifier, self.owner, clientid, self.sessionid,
                    fore)
        return t + 2000

    def seq_op(self, slot=0, cachethis=False):
        self.seq += 1
        return op_sequence(self.sessionid, self.seq, slot, 0, cachethis)

    def seq_res(self, slot=0):
        return res_sequence(self.sessionid, self.seq, slot)

    def getroot(self, t):
        """SEQUENCE PUTROOTFH GETFH GETATTR, answered."""
        return self.cl.rt(t, self.minor, [self.seq_op(), op_putrootfh(), op_getfh(), op_getattr()],
                          [self.seq_res(), ok(OP_PUTROOTFH), res_getfh(), res_getattr()],
                          "SEQUENCE PUTROOTFH GETFH GETATTR")

    def recover(self, t, new_clientid, stale=NFS4ERR_STALE_CLIENTID):
        """The storm cycle of domain.md 6.5: SEQUENCE -> BADSESSION, DESTROY_SESSION ->
        BADSESSION, CREATE_SESSION (old clientid) -> stale, EXCHANGE_ID, CREATE_SESSION (OK),
        then the interrupted SEQUENCE PUTROOTFH GETFH GETATTR."""
        cl = self.cl
        self.seq += 1
        cl.rt(t, self.minor, [op_sequence(self.sessionid, self.seq), op_putrootfh(), op_getfh()],
              [err(OP_SEQUENCE, NFS4ERR_BADSESSION)], "SEQUENCE -> NFS4ERR_BADSESSION")
        cl.rt(t + 1000, self.minor, [op_destroy_session(self.sessionid)],
              [err(OP_DESTROY_SESSION, NFS4ERR_BADSESSION)], "DESTROY_SESSION -> BADSESSION")
        cl.rt(t + 2000, self.minor, [op_create_session(self.clientid, 2)],
              [err(OP_CREATE_SESSION, stale)], "CREATE_SESSION (old clientid) -> %d" % stale)
        self.establish(t + 3000, new_clientid)
        self.getroot(t + 5000)
        return t + 6000


def nfs41_collision():
    """node-b flannel.1: two pods on nodes a and c mount the ganesha server 10.244.2.5:2049 with the
    same co_ownerid "Linux NFSv4.2 localhost" and different co_verifiers; each CREATE_SESSION
    expires the other's clientid; the storm runs for ~10 s (A, B, A, B, ...)."""
    cap = Pcap()
    sa = Stream(cap, Link("flannel", "a", "b"), mp.POD_IP["a"], 876, mp.POD_IP["b"], 2049,
                0x1A2B0001, 0x5C000001, 0x3100, 0x6100, 1100000000, 2100000000)
    sb = Stream(cap, Link("flannel", "c", "b"), mp.POD_IP["c"], 912, mp.POD_IP["b"], 2049,
                0x1A2B0002, 0x5C000002, 0x4200, 0x7200, 1300000000, 2100000000)
    a = Session41(Client(sa, 0x9E6A0001, "localhost", 0x65A1B001), 2,
                  bytes.fromhex("179f7e3a00000001"), OWNER42)
    b = Session41(Client(sb, 0x3D5C0001, "localhost", 0x65A1B002), 2,
                  bytes.fromhex("17a0115c00000002"), OWNER42)
    cid = iter(range((GANESHA_EPOCH << 32) | 0x8E2, (GANESHA_EPOCH << 32) | 0x900))
    collision_storm([(a, 0), (b, us(1.0))], cid, (2.0, 3.5, 5.0, 6.5, 8.0, 9.5),
                    (NFS4ERR_STALE_CLIENTID,))
    return cap


def collision_storm(mounts, cid, cycle_starts, stale_errors):
    """Each (session, t_us) mounts at t_us (handshake, EXCHANGE_ID, CREATE_SESSION, SEQUENCE
    PUTROOTFH GETFH GETATTR); then the mounts take turns running the recovery cycle at
    cycle_starts (s), the n-th cycle answering CREATE_SESSION on the old clientid with
    stale_errors[n % len]."""
    for ses, t0 in mounts:
        ses.establish(ses.cl.s.open(t0) + 100, next(cid))
        ses.getroot(t0 + 5000)
        ses.cl.s.ack("c", t0 + 5600)
    for i, start in enumerate(cycle_starts):
        ses = mounts[i % len(mounts)][0]
        ses.recover(us(start), next(cid), stale_errors[i % len(stale_errors)])
        ses.cl.s.ack("c", us(start) + 5600)



OWNER40 = b"Linux NFSv4.0 localhost/10.244.2.5"
KNFSD_BOOT = 0x6570A1B2


class Mount40:
    """Client-side state of one v4.0 mount: clientid from SETCLIENTID."""

    def __init__(self, cl, verifier, owner, r_addr):
        self.cl, self.verifier, self.owner, self.r_addr = cl, verifier, owner, r_addr
        self.clientid = None

    def establish(self, t, clientid):
        """SETCLIENTID, SETCLIENTID_CONFIRM, PUTROOTFH GETFH GETATTR; each answered after 500 us."""
        self.clientid = clientid
        confirm = struct.pack("!II", KNFSD_BOOT, clientid & 0xFFFFFFFF)
        self.cl.rt(t, 0, [op_setclientid(self.verifier, self.owner, self.r_addr)],
                   [res_setclientid(clientid, confirm)], "SETCLIENTID")
        self.cl.rt(t + 1000, 0, [op_setclientid_confirm(clientid, confirm)],
                   [ok(OP_SETCLIENTID_CONFIRM)], "SETCLIENTID_CONFIRM")
        self.cl.rt(t + 2000, 0, [op_putrootfh(), op_getfh(), op_getattr()],
                   [ok(OP_PUTROOTFH), res_getfh(), res_getattr()], "PUTROOTFH GETFH GETATTR")
        return t + 3000

    def renew(self, t, status=NFS4_OK):
        res = ok(OP_RENEW) if status == NFS4_OK else err(OP_RENEW, status)
        return self.cl.rt(t, 0, [op_renew(self.clientid)], [res], "RENEW -> %d" % status)


def nfs40_collision():
    """node-b flannel.1: the v4.0 form of the collision (knfsd style).  Both pods present the id
    "Linux NFSv4.0 localhost/10.244.2.5" with different verifiers; each SETCLIENTID_CONFIRM
    expires the other's clientid, whose next RENEW gets NFS4ERR_EXPIRED or
    NFS4ERR_STALE_CLIENTID, and it sets a new clientid up: A, B, A, B, ... for ~10 s."""
    cap = Pcap()
    sa = Stream(cap, Link("flannel", "a", "b"), mp.POD_IP["a"], 877, mp.POD_IP["b"], 2049,
                0x2B3C0001, 0x6D000001, 0x3300, 0x6300, 1110000000, 2110000000)
    sb = Stream(cap, Link("flannel", "c", "b"), mp.POD_IP["c"], 913, mp.POD_IP["b"], 2049,
                0x2B3C0002, 0x6D000002, 0x4400, 0x7400, 1310000000, 2110000000)
    a = Mount40(Client(sa, 0x71C40001, "localhost", 0x65A1C001),
                bytes.fromhex("179f7e3a00000011"), OWNER40, "10.244.1.5.3.108")
    b = Mount40(Client(sb, 0x28E90001, "localhost", 0x65A1C002),
                bytes.fromhex("17a0115c00000012"), OWNER40, "10.244.3.5.3.145")
    cid = iter(range((KNFSD_BOOT << 32) | 1, (KNFSD_BOOT << 32) | 0x40))
    a.establish(sa.open(0) + 100, next(cid))
    sa.ack("c", us(0.0036))
    b.establish(sb.open(us(1.0)) + 100, next(cid))
    sb.ack("c", us(1.0036))
    errs = (NFS4ERR_EXPIRED, NFS4ERR_STALE_CLIENTID)
    for i, (start, who, s) in enumerate(((2.0, a, sa), (3.5, b, sb), (5.0, a, sa), (6.5, b, sb),
                                         (8.0, a, sa), (9.5, b, sb))):
        who.renew(us(start), errs[i % 2])
        who.establish(us(start) + 1000, next(cid))
        s.ack("c", us(start) + 4600)
    return cap


def mount41(cap, cport, isn_c, isn_s, id_c, xid0, owner=b"Linux NFSv4.1 node-a", minor=1,
            fore=SERVER_FORE, cli=None, t=0, link=None, verifier=bytes.fromhex("17a1b2c300000021")):
    """A v4.x mount of 10.244.2.5:2049 from a node-a pod (flannel.1 capture): handshake,
    EXCHANGE_ID, CREATE_SESSION, RECLAIM_COMPLETE.  Returns (stream, session, next time)."""
    cli = mp.POD_IP["a"] if cli is None else cli
    s = Stream(cap, link or Link("flannel", "a", "b"), cli, cport, mp.POD_IP["b"], 2049, isn_c,
               isn_s, id_c, 0x6600 + (id_c & 0xFF), 1200000000 + (isn_c & 0xFFFF),
               2200000000 + (isn_s & 0xFFFF))
    ses = Session41(Client(s, xid0, "node-a", 0x65A1D000 + cport), minor, verifier, owner)
    t = ses.establish(s.open(t) + 100, (GANESHA_EPOCH << 32) | (0x100 + cport), fore)
    ses.cl.rt(t, minor, [ses.seq_op(), op_reclaim_complete()],
              [ses.seq_res(), ok(OP_RECLAIM_COMPLETE)], "SEQUENCE RECLAIM_COMPLETE")
    return s, ses, t + 1000


def read_call(ses, t, count, cachethis=False, note=""):
    return ses.cl.call(t, ses.minor, [ses.seq_op(cachethis=cachethis), op_putfh(),
                                      op_read(0, count)],
                       "SEQUENCE%s PUTFH READ %d%s" % (" cachethis" if cachethis else "", count,
                                                       note))


def nfs_reply_too_big():
    """node-a flannel.1: a v4.1 session granted ca_maxresponsesize 4096 and _cached 512; a READ of
    8192 gets NFS4ERR_REP_TOO_BIG, a cached READ of 1024 gets NFS4ERR_REP_TOO_BIG_TO_CACHE, a
    READ of 2048 succeeds."""
    cap = Pcap()
    s, ses, _ = mount41(cap, 880, 0x3C4D0001, 0x7E000001, 0x3500, 0x5A110001)
    x = read_call(ses, us(1.0), 8192)
    ses.cl.reply(us(1.0005), x, [ses.seq_res(), ok(OP_PUTFH), err(OP_READ, NFS4ERR_REP_TOO_BIG)],
                 "READ -> NFS4ERR_REP_TOO_BIG")
    x = read_call(ses, us(2.0), 1024, cachethis=True)
    ses.cl.reply(us(2.0005), x, [ses.seq_res(), ok(OP_PUTFH),
                                 err(OP_READ, NFS4ERR_REP_TOO_BIG_TO_CACHE)],
                 "READ -> NFS4ERR_REP_TOO_BIG_TO_CACHE")
    x = read_call(ses, us(3.0), 2048)
    ses.cl.reply(us(3.0005), x, [ses.seq_res(), ok(OP_PUTFH), res_read(mp.pattern(2048, 3))],
                 "READ 2048 OK")
    s.ack("c", us(3.0006))
    return cap


def write_call(ses, t, n, seed):
    return ses.cl.call(t, ses.minor, [ses.seq_op(), op_putfh(), op_write(0, mp.pattern(n, seed))],
                       "SEQUENCE PUTFH WRITE %d" % n)


def nfs_request_too_big():
    """node-a flannel.1: a v4.1 session granted ca_maxrequestsize 4096.  A WRITE of 5000 bytes gets
    NFS4ERR_REQ_TOO_BIG on SEQUENCE; a WRITE of 4200 bytes (message longer than 4096) is accepted
    by a lenient server; a WRITE of 3000 bytes is within the limit."""
    cap = Pcap()
    s, ses, _ = mount41(cap, 881, 0x3C4D0011, 0x7E000011, 0x3600, 0x5A120001)
    x = write_call(ses, us(1.0), 5000, 5)
    ses.cl.reply(us(1.0009), x, [err(OP_SEQUENCE, NFS4ERR_REQ_TOO_BIG)],
                 "SEQUENCE -> NFS4ERR_REQ_TOO_BIG")
    x = write_call(ses, us(2.0), 4200, 6)
    ses.cl.reply(us(2.0009), x, [ses.seq_res(), ok(OP_PUTFH), res_write(4200)], "WRITE OK")
    x = write_call(ses, us(3.0), 3000, 7)
    ses.cl.reply(us(3.0009), x, [ses.seq_res(), ok(OP_PUTFH), res_write(3000)], "WRITE OK")
    s.ack("c", us(3.001))
    return cap


def nfs_reply_exceeds_session():
    """node-a flannel.1: a v4.1 session granted ca_maxresponsesize 4096, _cached 512.  The server
    answers a READ of 6000 with a 6000-byte reply (over 4096) and a cachethis READ of 600 with a
    reply over 512; two READs within the limits follow (controls)."""
    cap = Pcap()
    s, ses, _ = mount41(cap, 882, 0x3C4D0021, 0x7E000021, 0x3700, 0x5A130001)
    for t, n, cache in ((1.0, 6000, False), (2.0, 600, True), (3.0, 300, False),
                        (4.0, 200, True)):
        x = read_call(ses, us(t), n, cachethis=cache)
        ses.cl.reply(us(t) + 500, x, [ses.seq_res(), ok(OP_PUTFH),
                                      res_read(mp.pattern(n, int(t)))], "READ %d OK" % n)
        s.ack("c", us(t) + 700)
    return cap


def nfs41_hang_vs_40():
    """node-a flannel.1: a v4.1 mount (port 883) gets its session, then its SEQUENCE PUTROOTFH
    GETFH GETATTR is ACKed by TCP and never answered; a v4.0 mount (port 884) of the same server
    from the same pod, started 2 s later, works; the capture runs until 12.0007 s."""
    cap = Pcap()
    s1, ses, _ = mount41(cap, 883, 0x3C4D0031, 0x7E000031, 0x3800, 0x5A140001,
                         owner=b"Linux NFSv4.1 node-a", fore=SERVER_FORE_LINUX)
    ses.cl.call(us(0.01), 1, [ses.seq_op(), op_putrootfh(), op_getfh(), op_getattr()],
                "SEQUENCE PUTROOTFH GETFH GETATTR (never answered)")
    s1.ack("s", us(0.01004), "ACK (no reply follows)")
    s2 = Stream(cap, Link("flannel", "a", "b"), mp.POD_IP["a"], 884, mp.POD_IP["b"], 2049,
                0x3C4D0032, 0x7E000032, 0x3900, 0x6900, 1210000000, 2210000000)
    m = Mount40(Client(s2, 0x5A150001, "node-a", 0x65A1D100),
                bytes.fromhex("17a1b2c300000021"), b"Linux NFSv4.0 node-a/10.244.2.5",
                "10.244.1.5.3.116")
    m.establish(s2.open(us(2.0)) + 100, (KNFSD_BOOT << 32) | 0x77)
    s2.ack("c", us(2.0036))
    m.renew(us(12.0))
    s2.ack("c", us(12.0007))
    return cap


DEAD_TIMES = (0.0, 3.0, 9.0, 21.0, 45.0)


def dead_local_endpoint(sports):
    """lo (Ethernet, zero MACs): a hard NFS mount to 127.0.0.1:20123 whose TLS proxy is gone.  The
    kernel reconnects at 0, 3, 9, 21, 45 s (3 s doubling); each SYN has a new ISN and is answered
    by RST|ACK (ack = ISN+1) 18 us later."""
    cap = Pcap()
    link = Link("lo")
    for i, (t, sp) in enumerate(zip(DEAD_TIMES, sports)):
        refused_attempt(cap, link, "127.0.0.1", sp, "127.0.0.1", 20123, 0x4D5E0000 + 0x01010101 * i,
                        0xA100 + i, 3000000000 + us(t) // 1000, us(t),
                        "attempt %d 127.0.0.1:%d" % (i + 1, sp))
    return cap


def nfs_hung_local_proxy():
    """lo: a v4.1 mount through a local TLS proxy on 127.0.0.1:20124 that is alive but hung: the
    session is set up, then SEQUENCE PUTFH GETATTR at t=1 s is ACKed by the proxy's socket and
    never answered; v4.x does not resend on a live connection; TCP keepalives at 31 s show the
    connection still up (domain.md 7.1 item 9)."""
    cap = Pcap()
    s = Stream(cap, Link("lo"), "127.0.0.1", 46620, "127.0.0.1", 20124, 0x5E6F7101, 0x0F1E2E01,
               0xB200, 0xC300, 3200000000, 3950000000, mss=LO_MSS)
    ses = Session41(Client(s, 0x2A4C0001, "node-a", 0x65A20100), 1,
                    bytes.fromhex("17a1b2c300000071"), b"Linux NFSv4.1 node-a")
    ses.establish(s.open(0, rtt_us=20) + 50, (GANESHA_EPOCH << 32) | 0x700)
    ses.cl.call(us(1.0), 1, [ses.seq_op(), op_putfh(), op_getattr()],
                "SEQUENCE PUTFH GETATTR (never answered)")
    s.ack("s", us(1.00002), "ACK (no reply)")
    s._add("c", us(31.0), s.conv.seg("c", us(31.0), seq=s.next_seq("c") - 1), "TCP keepalive")
    s.ack("s", us(31.00002), "keepalive ACK")
    return cap


def nfs3_server_stops():
    """node-a flannel.1: portmap GETPORT and MOUNT MNT over UDP, then NFSv3 over TCP (port 885):
    FSINFO, GETATTR, ACCESS answered; from t=2 s the server only ACKs, and the client resends
    the same XIDs on the same connection with linear backoff (timeo 6 s: 8, 20, 38 s); a TCP
    keepalive and its ACK at 45 s end the capture."""
    cap = Pcap()
    link = Link("flannel", "a", "b")
    cli, srv = mp.POD_IP["a"], mp.POD_IP["b"]
    cred = auth_sys("node-a", 0x65A1E000)
    ids = iter(range(0x3A00, 0x3A10))
    sids = iter(range(0x6A00, 0x6A10))

    def dgram(t, src, dst, sp, dp, msg, note, side):
        ident = next(ids if side == "c" else sids)
        ip = ipv4(src, dst, PROTO_UDP, udp(src, dst, sp, dp, msg), ident, df=True)
        mp.at(cap, t, link.frame(side, ip, t), note)

    dgram(0, cli, srv, 41234, 111, rpc_call(0x4F110001, PROG_PORTMAP, 2, PMAP_GETPORT,
                                            u32(PROG_MOUNT) + u32(3) + u32(17) + u32(0)),
          "UDP portmap GETPORT MOUNT v3 udp", "c")
    dgram(300, srv, cli, 111, 41234, rpc_reply(0x4F110001, u32(20048)), "GETPORT reply 20048", "s")
    mnt = rpc_call(0x4F110002, PROG_MOUNT, 3, MNT3_MNT, opaque("/export"), cred)
    dgram(600, cli, srv, 41235, 20048, mnt, "UDP MOUNT MNT /export", "c")
    dgram(1200, srv, cli, 20048, 41235,
          rpc_reply(0x4F110002, u32(0) + opaque(NFS3_ROOT_FH) + u32(1) + u32(AUTH_SYS)),
          "MNT reply", "s")
    s = Stream(cap, link, cli, 885, srv, 2049, 0x3C4D0041, 0x7E000041, 0x3B00, 0x6B00,
               1220000000, 2220000000)
    cl = Client(s, 0x8C270001, "node-a", 0x65A1E000)
    t = s.open(2000) + 100
    fh = opaque(NFS3_ROOT_FH)
    for proc, args, rep, name in ((NFS3_FSINFO, fh, nfs3_fsinfo_reply, "FSINFO"),
                                  (NFS3_GETATTR, fh, nfs3_getattr_reply, "GETATTR"),
                                  (NFS3_ACCESS, fh + u32(0x1F), nfs3_access_reply, "ACCESS")):
        x = cl.xid()
        cl.send_msg("c", t, nfs3_call(x, proc, args, cred), "CALL", x, "NFS3 " + name)
        cl.send_msg("s", t + 400, rep(x), "REPLY", x, "NFS3 " + name)
        t += 1000
    s.ack("c", t)
    x1, x2 = cl.xid(), cl.xid()
    m1 = nfs3_call(x1, NFS3_GETATTR, fh, cred)
    m2 = nfs3_call(x2, NFS3_ACCESS, fh + u32(0x1F), cred)
    for i, t in enumerate((2.0, 8.0, 20.0, 38.0)):
        what = "" if i == 0 else " (RPC resend %d, same XID)" % i
        cl.send_msg("c", us(t), m1, "CALL", x1, "NFS3 GETATTR" + what)
        s.ack("s", us(t) + 40, "ACK (no reply)")
        cl.send_msg("c", us(t) + 100000, m2, "CALL", x2, "NFS3 ACCESS" + what)
        s.ack("s", us(t) + 100040, "ACK (no reply)")
    s._add("c", us(45.0), s.conv.seg("c", us(45.0), seq=s.next_seq("c") - 1), "TCP keepalive")
    s.ack("s", us(45.00004), "keepalive ACK")
    return cap


NFS3_READ = 6


class Udp:
    """RPC over UDP between one client and one server (one datagram per message, no record
    marking): IP IDs count up per side."""

    def __init__(self, cap, link, cli, srv, id_c, id_s):
        self.cap, self.link = cap, link
        self.ip = {"c": cli, "s": srv}
        self.ids = {"c": iter(range(id_c, id_c + 0x1000)), "s": iter(range(id_s, id_s + 0x1000))}

    def send(self, side, t_us, sport, dport, msg, note):
        other = "s" if side == "c" else "c"
        src, dst = self.ip[side], self.ip[other]
        ip = ipv4(src, dst, PROTO_UDP, udp(src, dst, sport, dport, msg), next(self.ids[side]),
                  df=True)
        mp.at(self.cap, t_us, self.link.frame(side, ip, t_us), "UDP %s:%d %s %s:%d %s" % (
            src, sport, ">" if side == "c" else "<", dst, dport, note))


def nfs3_read_reply(xid, data):
    """READ3resok: status, post_op_attr, count, eof, data."""
    return rpc_reply(xid, u32(0) + u32(1) + fattr3() + u32(len(data)) + xbool(True) +
                     opaque(data))


def udp_v3_mount():
    """node-a flannel.1: an NFSv3 mount over UDP (mount -o vers=3,proto=udp).  portmap GETPORT
    asks for MOUNT v3 over UDP and learns port 20048; MOUNT MNT /export over UDP to 20048; then
    NFSv3 over UDP from port 801 to 2049: FSINFO, GETATTR and READ answered, and an ACCESS
    resent with the same XID after 1.1 s (timeo=11) and answered then."""
    cap = Pcap()
    u = Udp(cap, Link("flannel", "a", "b"), mp.POD_IP["a"], mp.POD_IP["b"], 0x5100, 0x6100)
    cred = auth_sys("node-a", 0x65A20000)
    u.send("c", 0, 811, 111, rpc_call(0x51C00001, PROG_PORTMAP, 2, PMAP_GETPORT,
                                      u32(PROG_MOUNT) + u32(3) + u32(17) + u32(0)),
           "portmap GETPORT MOUNT v3 udp")
    u.send("s", 250, 111, 811, rpc_reply(0x51C00001, u32(20048)), "GETPORT reply 20048")
    u.send("c", 500, 812, 20048, rpc_call(0x51C00002, PROG_MOUNT, 3, MNT3_MNT, opaque("/export"),
                                          cred), "MOUNT MNT /export")
    u.send("s", 1100, 20048, 812,
           rpc_reply(0x51C00002, u32(0) + opaque(NFS3_ROOT_FH) + u32(1) + u32(AUTH_SYS)),
           "MNT reply")
    fh = opaque(NFS3_ROOT_FH)
    xid, t = 0x7A3B0001, 2000
    for proc, args, rep, name in (
            (NFS3_FSINFO, fh, nfs3_fsinfo_reply, "FSINFO"),
            (NFS3_GETATTR, fh, nfs3_getattr_reply, "GETATTR"),
            (NFS3_READ, fh + u64(0) + u32(64),
             lambda x: nfs3_read_reply(x, b"hello from the NFSv3 server over UDP\n"), "READ")):
        u.send("c", t, 801, 2049, nfs3_call(xid, proc, args, cred), "NFS3 %s 0x%08x" % (name, xid))
        u.send("s", t + 350, 2049, 801, rep(xid), "NFS3 %s reply" % name)
        xid, t = xid + 1, t + 1000
    access = nfs3_call(xid, NFS3_ACCESS, fh + u32(0x1F), cred)
    u.send("c", t, 801, 2049, access, "NFS3 ACCESS 0x%08x (no reply)" % xid)
    u.send("c", t + 1100000, 801, 2049, access, "NFS3 ACCESS 0x%08x resent at timeo" % xid)
    u.send("s", t + 1100400, 2049, 801, nfs3_access_reply(xid), "NFS3 ACCESS reply")
    return cap


def udp_v3_server_gone():
    """node-a eth0 (VXLAN A<->B on UDP 8472, outer source ports 41002 / 52049): NFSv3 over UDP
    from pod port 802 to 2049.  A GETATTR is answered; then the
    server goes silent: GETATTR and ACCESS are resent with the same XIDs at timeo 1.1 s,
    doubling (1.1, 3.3, 7.7 s after the first send), and never answered; the capture ends 15 s
    after the first."""
    cap = Pcap()
    oids = {"a": mp.OuterIds(0x7E40), "b": mp.OuterIds(0x2C50)}
    link = Link("vxlan", "a", "b", oids, {"c": 41002, "s": 52049})
    u = Udp(cap, link, mp.POD_IP["a"], mp.POD_IP["b"], 0x5200, 0x6200)
    cred = auth_sys("node-a", 0x65A20100)
    fh = opaque(NFS3_ROOT_FH)
    u.send("c", 0, 802, 2049, nfs3_call(0x7A4C0001, NFS3_GETATTR, fh, cred), "NFS3 GETATTR")
    u.send("s", 300, 2049, 802, nfs3_getattr_reply(0x7A4C0001), "NFS3 GETATTR reply")
    m1 = nfs3_call(0x7A4C0002, NFS3_GETATTR, fh, cred)
    m2 = nfs3_call(0x7A4C0003, NFS3_ACCESS, fh + u32(0x1F), cred)
    for i, t in enumerate((1.0, 2.1, 4.3, 8.7)):
        what = "" if i == 0 else " (resend %d, same XID)" % i
        u.send("c", us(t), 802, 2049, m1, "NFS3 GETATTR 0x7a4c0002" + what)
        u.send("c", us(t) + 20000, 802, 2049, m2, "NFS3 ACCESS 0x7a4c0003" + what)
    u.send("c", us(16.0), 802, 2049, nfs3_call(0x7A4C0004, 0, b"", auth_none()), "NFS3 NULL ping")
    return cap


def out_of_order_pair(ses, t):
    """Two calls on slots 0 and 1 in one TCP segment; the slot-1 reply comes first, the slot-0
    reply is split over two segments."""
    cl = ses.cl
    x0, x1 = cl.xid(), cl.xid()
    ses.seq += 1
    c0 = compound_call(x0, ses.minor, [op_sequence(ses.sessionid, ses.seq, 0, 1), op_putfh(),
                                       op_getattr()], cl.cred())
    s0 = ses.seq
    c1 = compound_call(x1, ses.minor, [op_sequence(ses.sessionid, 1, 1, 1), op_putfh(),
                                       op_access()], cl.cred())
    cl.s.send("c", t, record(c0) + record(c1), "CALL xid 0x%08x len %d + CALL xid 0x%08x len %d "
              "in one segment (slots 0, 1)" % (x0, len(c0), x1, len(c1)))
    r1 = compound_reply(x1, [res_sequence(ses.sessionid, 1, 1, 1), ok(OP_PUTFH), res_access()])
    cl.send_msg("s", t + 400, r1, "REPLY", x1, "slot 1 (answered first)")
    r0 = compound_reply(x0, [res_sequence(ses.sessionid, s0, 0, 1), ok(OP_PUTFH), res_getattr()])
    cl.send_msg("s", t + 800, r0, "REPLY", x0, "slot 0, split", cuts=[30, len(r0) + 4 - 30])
    cl.s.ack("c", t + 900)


def retransmitted_call(ses, t):
    """A call whose segment is resent by TCP after a 200 ms RTO (same sequence number), then
    answered."""
    cl = ses.cl
    x = cl.xid()
    msg = compound_call(x, ses.minor, [ses.seq_op(), op_putfh(), op_getattr()], cl.cred())
    seq = cl.s.next_seq("c")
    cl.send_msg("c", t, msg, "CALL", x, "SEQUENCE PUTFH GETATTR")
    cl.s.resend("c", t + 200000, seq, record(msg), "TCP retransmission of xid 0x%08x" % x)
    cl.reply(t + 200500, x, [ses.seq_res(), ok(OP_PUTFH), res_getattr()], "after the TCP resend")
    cl.s.ack("c", t + 200600)


def backchannel_call(ses, t, xid):
    """Server->client CB_COMPOUND (CB_SEQUENCE) on the fore connection, answered by the client."""
    s = ses.cl.s
    m = cb_compound_call(xid, ses.sessionid, 1)
    s.send("s", t, record(m), "CB CALL xid 0x%08x len %d CB_COMPOUND CB_SEQUENCE" % (xid, len(m)))
    r = cb_compound_reply(xid, ses.sessionid, 1)
    s.send("c", t + 300, record(r), "CB REPLY xid 0x%08x len %d" % (xid, len(r)))
    s.ack("s", t + 400)


def rpc_mechanics():
    """node-a flannel.1, v4.1 client 10.244.1.5:886: a call in three record-marking fragments,
    two calls in one segment answered out of order (one reply split over segments), a TCP-level
    retransmission, a backchannel CB_COMPOUND, a call left unanswered when the server closes the
    connection and answered after the reconnect from the same port; then 10.244.1.5:887 gets
    PROG_UNAVAIL (NFS_ACL) and MSG_DENIED AUTH_ERROR AUTH_TOOWEAK."""
    cap = Pcap()
    s, ses, _ = mount41(cap, 886, 0x3C4D0051, 0x7E000051, 0x3C00, 0x5A160001)
    cl = ses.cl
    x = cl.xid()
    m = compound_call(x, 1, [ses.seq_op(), op_putrootfh(), op_getfh(), op_getattr()], cl.cred())
    cl.send_msg("c", us(1.0), m, "CALL", x, "in 3 fragments (40, 60, rest)",
                fragments=[40, 60, len(m) - 100])
    cl.reply(us(1.0005), x, [ses.seq_res(), ok(OP_PUTROOTFH), res_getfh(), res_getattr()])
    out_of_order_pair(ses, us(2.0))
    retransmitted_call(ses, us(3.0))
    backchannel_call(ses, us(4.0), 0xCB000001)
    # server closes with a call outstanding; the client reconnects from the same port
    x = cl.xid()
    m = compound_call(x, 1, [ses.seq_op(), op_putfh(), op_getattr()], cl.cred())
    cl.send_msg("c", us(5.0), m, "CALL", x, "SEQUENCE PUTFH GETATTR (no reply on this connection)")
    s.ack("s", us(5.00004), "ACK (no reply)")
    s.fin("s", us(5.5))
    s.fin("c", us(5.5001))
    s.ack("s", us(5.5002))
    s2 = Stream(cap, s.link, mp.POD_IP["a"], 886, mp.POD_IP["b"], 2049, 0x3C4D0052, 0x7E000052,
                0x3C40, 0x6C40, 1200005600, 2200005600, label="10.244.1.5:886 (2nd)")
    t = s2.open(us(5.6))
    cl2 = Client(s2, 0, "node-a", cl.stamp)
    cl2.send_msg("c", t + 100, m, "CALL", x, "RPC resend after reconnect, same XID")
    cl2.reply(t + 600, x, [ses.seq_res(), ok(OP_PUTFH), res_getattr()], "answered")
    s2.ack("c", t + 700)
    # accept error and denial on a second connection
    s3 = Stream(cap, s.link, mp.POD_IP["a"], 887, mp.POD_IP["b"], 2049, 0x3C4D0053, 0x7E000053,
                0x3D00, 0x6D00, 1200006000, 2200006000)
    cl3 = Client(s3, 0x5A170001, "node-a", 0x65A1F000)
    t = s3.open(us(6.0)) + 100
    x = cl3.xid()
    cl3.send_msg("c", t, rpc_call(x, PROG_NFS_ACL, 3, 0, b"", cl3.cred()), "CALL", x,
                 "NFS_ACL v3 NULL")
    cl3.send_msg("s", t + 300, rpc_reply(x, accept_stat=PROG_UNAVAIL), "REPLY", x, "PROG_UNAVAIL")
    x = cl3.xid()
    cl3.send_msg("c", t + 1000, rpc_call(x, PROG_NFS, 4, 0, b"", cl3.cred()), "CALL", x,
                 "NFS v4 NULL AUTH_SYS")
    cl3.send_msg("s", t + 1300, rpc_denied_auth(x, AUTH_TOOWEAK), "REPLY", x,
                 "MSG_DENIED AUTH_ERROR AUTH_TOOWEAK")
    s3.ack("c", t + 1400)
    return cap


def nfs41_healthy():
    """node-a flannel.1: a normal v4.1 mount (port 888) and its traffic: one establishment,
    PUTROOTFH GETFH GETATTR, LOOKUP -> NFS4ERR_NOENT, OPEN -> NFS4ERR_DELAY then OK (new XID),
    out-of-order replies across slots, a backchannel CB_COMPOUND, a TCP-level retransmission,
    SEQUENCE heartbeats at 20 and 40 s, and a GETATTR at 44 s still pending when the capture
    ends (its TCP ACK is the last frame)."""
    cap = Pcap()
    s, ses, t = mount41(cap, 888, 0x3C4D0061, 0x7E000061, 0x3E00, 0x5A180001)
    ses.getroot(t + 1000)
    x = ses.cl.call(us(0.02), 1, [ses.seq_op(), op_putrootfh(), op_lookup("missing")],
                    "SEQUENCE PUTROOTFH LOOKUP missing")
    ses.cl.reply(us(0.0205), x, [ses.seq_res(), ok(OP_PUTROOTFH), err(OP_LOOKUP, NFS4ERR_NOENT)],
                 "LOOKUP -> NFS4ERR_NOENT")
    cid = ses.clientid
    for t, res, note in ((0.03, err(OP_OPEN, NFS4ERR_DELAY), "OPEN -> NFS4ERR_DELAY"),
                         (0.13, res_open(), "OPEN OK (retry, new XID)")):
        x = ses.cl.call(us(t), 1, [ses.seq_op(), op_putrootfh(), op_open_nocreate("data", 0, cid)],
                        "SEQUENCE PUTROOTFH OPEN data")
        ses.cl.reply(us(t) + 500, x, [ses.seq_res(), ok(OP_PUTROOTFH), res], note)
    ses.cl.s.ack("c", us(0.1306))
    out_of_order_pair(ses, us(1.0))
    backchannel_call(ses, us(2.0), 0xCB000101)
    retransmitted_call(ses, us(3.0))
    for t in (20.0, 40.0):
        ses.cl.rt(us(t), 1, [ses.seq_op()], [ses.seq_res()], "SEQUENCE heartbeat")
        s.ack("c", us(t) + 600)
    ses.cl.call(us(44.0), 1, [ses.seq_op(), op_putfh(), op_getattr()],
                "SEQUENCE PUTFH GETATTR (pending at the end)")
    s.ack("s", us(44.00004), "ACK (capture ends)")
    return cap


def nfs41_capture_drops():
    """nfs41_healthy() as a capture that dropped three of the server's frames (tcpdump's
    "packets dropped by kernel"): the LOOKUP reply (frame 13 there), the first segment of the
    split reply 0x5a180008 (21) and the first heartbeat's reply (32). The client's later
    segments acknowledge the bytes the capture lost; every call but the last was answered."""
    cap = nfs41_healthy()
    for frame in (32, 21, 13):
        del cap.records[frame - 1]
        del cap.notes[frame - 1]
    return cap


def nfs41_reply_lost_at_unmount():
    """node-a flannel.1: a v4.1 mount (port 893) whose last exchange is a GETATTR at 1 s; the
    capture dropped its reply, the server's last data, and the client unmounts 2 s later: its
    FIN acknowledges the reply's bytes, and the server's FIN follows. Nothing in the server's
    stream after the reply shows the gap: only the client's acknowledgement does."""
    cap = Pcap()
    s, ses, t = mount41(cap, 893, 0x3C4D0091, 0x7E000091, 0x4100, 0x5A1C0001)
    ses.getroot(t + 1000)
    s.ack("c", t + 1600)
    reply = len(cap.records) + 1  # rt() writes the call, then its reply
    ses.cl.rt(us(1.0), 1, [ses.seq_op(), op_putfh(), op_getattr()],
              [ses.seq_res(), ok(OP_PUTFH), res_getattr()], "SEQUENCE PUTFH GETATTR")
    s.fin("c", us(3.0))
    s.fin("s", us(3.0001))
    s.ack("c", us(3.0002))
    del cap.records[reply]
    del cap.notes[reply]
    return cap


def nfs41_reboot_control():
    """node-a flannel.1: one client (10.244.1.5) mounts (port 889, verifier ...31), reboots, and
    mounts again 30 s later from port 890 with a new verifier: same IP, new verifier, a new
    clientid; 2 establishments, no errors."""
    cap = Pcap()
    s, ses, t = mount41(cap, 889, 0x3C4D0071, 0x7E000071, 0x3F00, 0x5A190001,
                        verifier=bytes.fromhex("17a1b2c300000031"))
    ses.getroot(t + 1000)
    s.ack("c", t + 1600)
    s2, ses2, t = mount41(cap, 890, 0x3C4D0072, 0x7E000072, 0x3F40, 0x1C2D0001, t=us(30.0),
                          verifier=bytes.fromhex("17a1f00d00000032"))
    ses2.getroot(t + 1000)
    s2.ack("c", t + 1600)
    return cap


def nfs41_trunking_control():
    """node-a flannel.1: one client with two addresses, 10.244.1.5 (port 891) and 10.244.1.6
    (port 892), same owner and verifier.  The second EXCHANGE_ID returns the same clientid, the
    second connection joins the session with BIND_CONN_TO_SESSION; 1 establishment."""
    cap = Pcap()
    ver = bytes.fromhex("17a1b2c300000041")
    s, ses, t = mount41(cap, 891, 0x3C4D0081, 0x7E000081, 0x4000, 0x5A1A0001, verifier=ver)
    ses.getroot(t + 1000)
    s.ack("c", t + 1600)
    s2 = Stream(cap, Link("flannel", "a", "b"), "10.244.1.6", 892, mp.POD_IP["b"], 2049,
                0x3C4D0082, 0x7E000082, 0x4040, 0x7040, 1230000000, 2230000000)
    cl2 = Client(s2, 0x5A1B0001, "node-a", ses.cl.stamp)
    t = s2.open(us(1.0)) + 100
    cl2.rt(t, ses.minor, [op_exchange_id(ver, ses.owner)], [res_exchange_id(ses.clientid, 2, True)],
           "EXCHANGE_ID (same owner, same verifier)")
    cl2.rt(t + 1000, 1, [op_bind_conn(ses.sessionid)], [res_bind_conn(ses.sessionid)],
           "BIND_CONN_TO_SESSION")
    ses.seq += 1
    cl2.rt(t + 2000, 1, [op_sequence(ses.sessionid, 1, 1, 1), op_putrootfh(), op_getattr()],
           [res_sequence(ses.sessionid, 1, 1, 1), ok(OP_PUTROOTFH), res_getattr()],
           "SEQUENCE (slot 1) PUTROOTFH GETATTR")
    s2.ack("c", t + 2600)
    ses.cl.rt(us(2.0), 1, [ses.seq_op()], [ses.seq_res()], "SEQUENCE heartbeat")
    s.ack("c", us(2.0006))
    return cap


def refused_once_control():
    """lo: one connect to 127.0.0.1:20123 refused (RST|ACK), then 3 s later a new SYN from the same
    port is accepted, and a NFS v4 NULL and EXCHANGE_ID/CREATE_SESSION follow."""
    cap = Pcap()
    link = Link("lo")
    refused_attempt(cap, link, "127.0.0.1", 46610, "127.0.0.1", 20123, 0x5E6F7001, 0xB100,
                    3100000000, 0, "attempt 1 127.0.0.1:46610")
    s = Stream(cap, link, "127.0.0.1", 46610, "127.0.0.1", 20123, 0x5E6F7002, 0x0F1E2D3C, 0xB101,
               0xC200, 3100003000, 3900000000, mss=LO_MSS, label="attempt 2 127.0.0.1:46610")
    t = s.open(us(3.0), rtt_us=20)
    cl = Client(s, 0x2A3B0001, "node-a", 0x65A20000)
    x = cl.xid()
    cl.send_msg("c", t + 50, rpc_call(x, PROG_NFS, 4, 0, b"", cl.cred()), "CALL", x, "NFS v4 NULL")
    cl.send_msg("s", t + 80, rpc_reply(x), "REPLY", x, "NULL")
    ses = Session41(cl, 1, bytes.fromhex("17a1b2c300000051"), b"Linux NFSv4.1 node-a")
    ses.establish(t + 200, (GANESHA_EPOCH << 32) | 0x600)
    s.ack("c", t + 2200)
    return cap


def double_snat_and_collision():
    """node-a eth0 (VXLAN A->B, full outer checksums): the host client of node a, masqueraded to
    10.244.1.0:12346 with its first SYN's outer sport rewritten 50002 -> 45680 (Variant B, dropped),
    and a pod 10.244.1.5:790 on the same node; both present "Linux NFSv4.2 localhost" with
    different verifiers and evict each other (A, B, A)."""
    cap = Pcap()
    oids = {"a": mp.OuterIds(0x7D31), "b": mp.OuterIds(0x2B90)}
    host = Stream(cap, Link("vxlan", "a", "b", oids, {"c": 39003, "s": 57105}), mp.FLANNEL_IP["a"],
                  12346, mp.POD_IP["b"], 2049, 0xC0FFEE21, 0x3A5B7CAD, 0x9B00, 0x1C40, 2410000000,
                  2216000000, label="10.244.1.0:12346")
    pod = Stream(cap, Link("vxlan", "a", "b", oids, {"c": 40299, "s": 43383}), mp.POD_IP["a"], 790,
                 mp.POD_IP["b"], 2049, 0x0BADF02D, 0x600DCB1E, 0x4510, 0x7800, 1310000000,
                 871500000)
    syn = host.conv.syn(0)
    f = mp.variant_b_frame("a", "b", mp.inner_frame("a", "b", syn), oids["a"](0), 45680, 50002)
    mp.at(cap, 0, f, "10.244.1.0:12346 SYN #1 (Variant B, P_old 50002): " + mp.vx(f))
    a = Session41(Client(host, 0x7F3A0001, "localhost", 0x65A21001), 2,
                  bytes.fromhex("179f7e3a00000061"), OWNER42)
    b = Session41(Client(pod, 0x1B4C0001, "localhost", 0x65A21002), 2,
                  bytes.fromhex("17a0115c00000062"), OWNER42)
    cid = iter(range((GANESHA_EPOCH << 32) | 0xA00, (GANESHA_EPOCH << 32) | 0xA20))
    collision_storm([(a, us(1.00002)), (b, us(1.5))], cid, (2.5, 3.5, 4.5),
                    (NFS4ERR_EXPIRED, NFS4ERR_STALE_CLIENTID))
    return cap

# ---------------------------------------------------------------------------------------------
# 5. main
# ---------------------------------------------------------------------------------------------

FIXTURES = [
    ("nfs41-collision.pcap", nfs41_collision),
    ("nfs40-collision.pcap", nfs40_collision),
    ("nfs-reply-too-big.pcap", nfs_reply_too_big),
    ("nfs-request-too-big.pcap", nfs_request_too_big),
    ("nfs-reply-exceeds-session.pcap", nfs_reply_exceeds_session),
    ("nfs41-hang-vs-40.pcap", nfs41_hang_vs_40),
    ("nfs-dead-local-endpoint-same-port.pcap", lambda: dead_local_endpoint([46602] * 5)),
    ("nfs-dead-local-endpoint-new-port.pcap",
     lambda: dead_local_endpoint([46602, 51710, 38224, 60112, 43090])),
    ("nfs-hung-local-proxy.pcap", nfs_hung_local_proxy),
    ("nfs3-server-stops.pcap", nfs3_server_stops),
    ("rpc-mechanics.pcap", rpc_mechanics),
    ("nfs41-healthy.pcap", nfs41_healthy),
    ("nfs41-capture-drops.pcap", nfs41_capture_drops),
    ("nfs41-reply-lost-at-unmount.pcap", nfs41_reply_lost_at_unmount),
    ("nfs41-reboot-control.pcap", nfs41_reboot_control),
    ("nfs41-trunking-control.pcap", nfs41_trunking_control),
    ("refused-once-control.pcap", refused_once_control),
    ("double-snat-and-collision.pcap", double_snat_and_collision),
    ("udp-v3-mount.pcap", udp_v3_mount),
    ("udp-v3-server-gone.pcap", udp_v3_server_gone),
]


def main(argv):
    return mp.write_fixtures(argv, FIXTURES, "nfs", "nfs/")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

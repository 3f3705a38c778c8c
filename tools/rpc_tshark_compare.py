#!/usr/bin/python3
"""Compare vxcheck's per-connection ONC RPC counts with tshark's dissection (issue 19 item 5).

Usage: rpc_tshark_compare.py (--vxcheck PATH | --tshark-only [--strict]) [-v] [--rpc-port P]...
                             FILE|DIR...

For every capture this script runs

    tshark -r FILE -2 -T pdml -d tcp.port==2049,rpc -d udp.port==2049,rpc
           -d tcp.port==20049-21049,rpc -d udp.port==8472,vxlan -d udp.port==4789,vxlan
           [-d tcp.port==P,rpc ...]

and walks each frame's protocol list: every `rpc` element with an XID is one RPC message (the
fragment-only elements of a multi-fragment record are skipped), and the `nfs` / `nfs.cb` element
after it is its NFS body (minorversion, opcodes, nfsstat4 / nfsstat3). From the messages of each
TCP stream (tshark's tcp.stream) or UDP flow it computes the keys of the `rpc` object of issue 19
item 4:

    calls replies calls_c2s calls_s2c unique_call_xids matched_call_xids unmatched_call_xids
    unmatched_xids retransmitted_xids resent_from_earlier_connection procedures nfs_ops cb_ops
    errors nfs_versions

Names come from the RFCs (tables below), not from tshark's strings (domain.md 7.1 item 13).
With --vxcheck it runs `vxcheck analyze --json --all-ports FILE`, pairs each "connection" record
(client/server "ip:port", in order of first_seen) with tshark's connection, and compares the keys.
Every difference lands in one class:

    agree        equal
    <category>   a named, justified difference (CATEGORIES below); the justification is checked
                 from the capture's own bytes (this script reads the capture file and reassembles
                 each TCP direction itself), never inferred from a count alone
    UNEXPLAINED  anything else

With --tshark-only it prints tshark's side alone (one JSON object per connection with -v, a
table otherwise) and checks only that tshark ran; --strict also fails on every frame tshark marks
malformed (the generated captures of pcaps/nfs/ have none; the fuzz captures of the corpus do).

The last line is "N passed, M failed"; the exit status is 0 if and only if M == 0.  Written for
tshark 4.0 (Debian 12); standard library only.
"""

from __future__ import annotations

import argparse
import dataclasses
import ipaddress
import json
import os
import struct
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections import Counter, defaultdict
from typing import Optional

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tshark_compare import expand  # noqa: E402  (a directory stands for its captures)

# --------------------------------------------------------------------------------------------
# Names (RFC 5531, RFC 1813, RFC 1833, RFC 7530, RFC 8881)
# --------------------------------------------------------------------------------------------

PROGRAMS = {100000: "PORTMAP", 100003: "NFS", 100005: "MOUNT", 100021: "NLM", 100024: "NSM",
            100227: "NFS_ACL", 0x40000000: "NFS_CB"}

# The programs whose CALL starts a UDP flow in vxcheck (src/analyze/rpc_udp.cc).
UDP_FLOW_PROGRAMS = (100000, 100003, 100005, 100021, 100024, 100227)

PROCEDURES = {
    ("NFS", 3): ["NULL", "GETATTR", "SETATTR", "LOOKUP", "ACCESS", "READLINK", "READ", "WRITE",
                 "CREATE", "MKDIR", "SYMLINK", "MKNOD", "REMOVE", "RMDIR", "RENAME", "LINK",
                 "READDIR", "READDIRPLUS", "FSSTAT", "FSINFO", "PATHCONF", "COMMIT"],
    ("NFS", 4): ["NULL", "COMPOUND"],
    ("NFS_CB", 1): ["CB_NULL", "CB_COMPOUND"],
    ("MOUNT", 3): ["NULL", "MNT", "DUMP", "UMNT", "UMNTALL", "EXPORT"],
    ("PORTMAP", 2): ["NULL", "SET", "UNSET", "GETPORT", "DUMP", "CALLIT"],
    ("NFS_ACL", 3): ["NULL", "GETACL", "SETACL"],
}

NFS4_OPS = {
    3: "ACCESS", 4: "CLOSE", 5: "COMMIT", 6: "CREATE", 7: "DELEGPURGE", 8: "DELEGRETURN",
    9: "GETATTR", 10: "GETFH", 11: "LINK", 12: "LOCK", 13: "LOCKT", 14: "LOCKU", 15: "LOOKUP",
    16: "LOOKUPP", 17: "NVERIFY", 18: "OPEN", 19: "OPENATTR", 20: "OPEN_CONFIRM",
    21: "OPEN_DOWNGRADE", 22: "PUTFH", 23: "PUTPUBFH", 24: "PUTROOTFH", 25: "READ",
    26: "READDIR", 27: "READLINK", 28: "REMOVE", 29: "RENAME", 30: "RENEW", 31: "RESTOREFH",
    32: "SAVEFH", 33: "SECINFO", 34: "SETATTR", 35: "SETCLIENTID", 36: "SETCLIENTID_CONFIRM",
    37: "VERIFY", 38: "WRITE", 39: "RELEASE_LOCKOWNER", 40: "BACKCHANNEL_CTL",
    41: "BIND_CONN_TO_SESSION", 42: "EXCHANGE_ID", 43: "CREATE_SESSION", 44: "DESTROY_SESSION",
    45: "FREE_STATEID", 46: "GET_DIR_DELEGATION", 47: "GETDEVICEINFO", 48: "GETDEVICELIST",
    49: "LAYOUTCOMMIT", 50: "LAYOUTGET", 51: "LAYOUTRETURN", 52: "SECINFO_NO_NAME",
    53: "SEQUENCE", 54: "SET_SSV", 55: "TEST_STATEID", 56: "WANT_DELEGATION",
    57: "DESTROY_CLIENTID", 58: "RECLAIM_COMPLETE", 59: "ALLOCATE", 60: "COPY",
    61: "COPY_NOTIFY", 62: "DEALLOCATE", 63: "IO_ADVISE", 64: "LAYOUTERROR", 65: "LAYOUTSTATS",
    66: "OFFLOAD_CANCEL", 67: "OFFLOAD_STATUS", 68: "READ_PLUS", 69: "SEEK",
    70: "WRITE_SAME", 71: "CLONE", 72: "GETXATTR", 73: "SETXATTR", 74: "LISTXATTRS",
    75: "REMOVEXATTR", 10044: "ILLEGAL"}

CB_OPS = {3: "CB_GETATTR", 4: "CB_RECALL", 5: "CB_LAYOUTRECALL", 6: "CB_NOTIFY",
          7: "CB_PUSH_DELEG", 8: "CB_RECALL_ANY", 9: "CB_RECALLABLE_OBJ_AVAIL",
          10: "CB_RECALL_SLOT", 11: "CB_SEQUENCE", 12: "CB_WANTS_CANCELLED",
          13: "CB_NOTIFY_LOCK", 14: "CB_NOTIFY_DEVICEID", 15: "CB_OFFLOAD", 10044: "CB_ILLEGAL"}

NFS4ERR = {
    1: "PERM", 2: "NOENT", 5: "IO", 6: "NXIO", 13: "ACCESS", 17: "EXIST", 18: "XDEV",
    20: "NOTDIR", 21: "ISDIR", 22: "INVAL", 27: "FBIG", 28: "NOSPC", 30: "ROFS", 31: "MLINK",
    63: "NAMETOOLONG", 66: "NOTEMPTY", 69: "DQUOT", 70: "STALE", 10001: "BADHANDLE",
    10003: "BAD_COOKIE", 10004: "NOTSUPP", 10005: "TOOSMALL", 10006: "SERVERFAULT",
    10007: "BADTYPE", 10008: "DELAY", 10009: "SAME", 10010: "DENIED", 10011: "EXPIRED",
    10012: "LOCKED", 10013: "GRACE", 10014: "FHEXPIRED", 10015: "SHARE_DENIED",
    10016: "WRONGSEC", 10017: "CLID_INUSE", 10018: "RESOURCE", 10019: "MOVED",
    10020: "NOFILEHANDLE", 10021: "MINOR_VERS_MISMATCH", 10022: "STALE_CLIENTID",
    10023: "STALE_STATEID", 10024: "OLD_STATEID", 10025: "BAD_STATEID", 10026: "BAD_SEQID",
    10027: "NOT_SAME", 10028: "LOCK_RANGE", 10029: "SYMLINK", 10030: "RESTOREFH",
    10031: "LEASE_MOVED", 10032: "ATTRNOTSUPP", 10033: "NO_GRACE", 10034: "RECLAIM_BAD",
    10035: "RECLAIM_CONFLICT", 10036: "BADXDR", 10037: "LOCKS_HELD", 10038: "OPENMODE",
    10039: "BADOWNER", 10040: "BADCHAR", 10041: "BADNAME", 10042: "BAD_RANGE",
    10043: "LOCK_NOTSUPP", 10044: "OP_ILLEGAL", 10045: "DEADLOCK", 10046: "FILE_OPEN",
    10047: "ADMIN_REVOKED", 10048: "CB_PATH_DOWN", 10049: "BADIOMODE", 10050: "BADLAYOUT",
    10051: "BAD_SESSION_DIGEST", 10052: "BADSESSION", 10053: "BADSLOT",
    10054: "COMPLETE_ALREADY", 10055: "CONN_NOT_BOUND_TO_SESSION", 10056: "DELEG_ALREADY_WANTED",
    10057: "BACK_CHAN_BUSY", 10058: "LAYOUTTRYLATER", 10059: "LAYOUTUNAVAILABLE",
    10060: "NOMATCHING_LAYOUT", 10061: "RECALLCONFLICT", 10062: "UNKNOWN_LAYOUTTYPE",
    10063: "SEQ_MISORDERED", 10064: "SEQUENCE_POS", 10065: "REQ_TOO_BIG", 10066: "REP_TOO_BIG",
    10067: "REP_TOO_BIG_TO_CACHE", 10068: "RETRY_UNCACHED_REP", 10069: "UNSAFE_COMPOUND",
    10070: "TOO_MANY_OPS", 10071: "OP_NOT_IN_SESSION", 10072: "HASH_ALG_UNSUPP",
    10074: "CLIENTID_BUSY", 10075: "PNFS_IO_HOLE", 10076: "SEQ_FALSE_RETRY",
    10077: "BAD_HIGH_SLOT", 10078: "DEADSESSION", 10079: "ENCR_ALG_UNSUPP",
    10080: "PNFS_NO_LAYOUT", 10081: "NOT_ONLY_OP", 10082: "WRONG_CRED", 10083: "WRONG_TYPE",
    10084: "DIRDELEG_UNAVAIL", 10085: "REJECT_DELEG", 10086: "RETURNCONFLICT",
    10087: "DELEG_REVOKED", 10088: "PARTNER_NOTSUPP", 10089: "PARTNER_NO_AUTH",
    10090: "UNION_NOTSUPP", 10091: "OFFLOAD_DENIED", 10092: "WRONG_LFS",
    10093: "BADLABEL", 10094: "OFFLOAD_NO_REQS", 10095: "NOXATTR", 10096: "XATTR2BIG"}

NFS3ERR = {1: "PERM", 2: "NOENT", 5: "IO", 6: "NXIO", 13: "ACCES", 17: "EXIST", 18: "XDEV",
           19: "NODEV", 20: "NOTDIR", 21: "ISDIR", 22: "INVAL", 27: "FBIG", 28: "NOSPC",
           30: "ROFS", 31: "MLINK", 63: "NAMETOOLONG", 66: "NOTEMPTY", 69: "DQUOT",
           70: "STALE", 71: "REMOTE", 10001: "BADHANDLE", 10002: "NOT_SYNC",
           10003: "BAD_COOKIE", 10004: "NOTSUPP", 10005: "TOOSMALL", 10006: "SERVERFAULT",
           10007: "BADTYPE", 10008: "JUKEBOX"}

ACCEPT_STAT = {1: "PROG_UNAVAIL", 2: "PROG_MISMATCH", 3: "PROC_UNAVAIL", 4: "GARBAGE_ARGS",
               5: "SYSTEM_ERR"}
REJECT_STAT = {0: "RPC_MISMATCH", 1: "AUTH_ERROR"}
AUTH_STAT = {0: "AUTH_OK", 1: "AUTH_BADCRED", 2: "AUTH_REJECTEDCRED", 3: "AUTH_BADVERF",
             4: "AUTH_REJECTEDVERF", 5: "AUTH_TOOWEAK", 6: "AUTH_INVALIDRESP", 7: "AUTH_FAILED",
             8: "AUTH_KERB_GENERIC", 9: "AUTH_TIMEEXPIRE", 10: "AUTH_TKT_FILE",
             11: "AUTH_DECODE", 12: "AUTH_NET_ADDR", 13: "RPCSEC_GSS_CREDPROBLEM",
             14: "RPCSEC_GSS_CTXPROBLEM"}

NFS_PORT = 2049
EFS_PROXY_PORTS = "20049-21049"     # efs-utils / stunnel local TLS proxy range (domain.md 7, 7.1)
WELL_KNOWN_RPC_PORTS = (NFS_PORT, 111, 20048)
KEYS_NUM = ("calls", "replies", "calls_c2s", "calls_s2c", "unique_call_xids",
            "matched_call_xids", "unmatched_call_xids")
KEYS_LIST = ("unmatched_xids", "retransmitted_xids", "resent_from_earlier_connection")
KEYS_MAP = ("procedures", "nfs_ops", "cb_ops", "errors")
KEYS = KEYS_NUM + KEYS_LIST + KEYS_MAP + ("nfs_versions",)


def proc_name(prog: int, vers: int, proc: int) -> str:
    pname = PROGRAMS.get(prog, "prog%d" % prog)
    table = PROCEDURES.get((pname, vers), [])
    name = table[proc] if proc < len(table) else ("NULL" if proc == 0 else "proc%d" % proc)
    return "%s v%d %s" % (pname, vers, name)


def nfs4_error(status: int) -> str:
    return "NFS4ERR_" + NFS4ERR.get(status, str(status))


# --------------------------------------------------------------------------------------------
# tshark side
# --------------------------------------------------------------------------------------------


@dataclasses.dataclass
class Msg:
    """One RPC message as tshark dissected it."""
    frame: int
    time: float
    src: str              # "ip:port" of the sender
    dst: str
    proto: str            # "tcp" or "udp"
    stream: int           # tcp.stream or udp.stream
    xid: int
    msgtyp: int           # 0 CALL, 1 REPLY
    prog: Optional[int] = None
    vers: Optional[int] = None
    proc: Optional[int] = None
    replystat: Optional[int] = None
    accept: Optional[int] = None
    reject: Optional[int] = None
    auth: Optional[int] = None
    minor: Optional[int] = None
    rtime: Optional[float] = None   # replies: rpc.time, seconds since the matching call
    ops: tuple = ()           # NFSv4 / CB opcodes (calls)
    statuses: tuple = ()      # nfsstat4 / nfsstat3 values in order (replies)


@dataclasses.dataclass
class Frame:
    """Per-frame facts from tshark used by the category checks."""
    number: int
    malformed: bool = False
    tcp_retransmission: bool = False


def tshark_cmd(path: str, rpc_ports: list) -> list:
    cmd = ["tshark", "-r", path, "-2", "-T", "pdml", "-d", "tcp.port==%d,rpc" % NFS_PORT,
           "-d", "udp.port==%d,rpc" % NFS_PORT, "-d", "tcp.port==%s,rpc" % EFS_PROXY_PORTS,
           "-d", "udp.port==8472,vxlan", "-d", "udp.port==4789,vxlan"]
    for p in rpc_ports:
        cmd += ["-d", "tcp.port==%s,rpc" % p]
    return cmd


def _fields(elem) -> list:
    return [(f.get("name"), f.get("show"), f.get("value")) for f in elem.iter("field")]


def _int(v: str) -> int:
    return int(v, 0)


def run_tshark(path: str, rpc_ports: list):
    """Returns (messages, frames) or raises RuntimeError."""
    proc = subprocess.run(tshark_cmd(path, rpc_ports), stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, check=False)
    if proc.returncode != 0 or not proc.stdout:
        raise RuntimeError("tshark failed: %s" % proc.stderr.decode(errors="replace").strip())
    root = ET.fromstring(proc.stdout)
    msgs, frames = [], {}
    for pkt in root.iter("packet"):
        msgs_in_frame, fr = parse_packet(pkt)
        frames[fr.number] = fr
        msgs += msgs_in_frame
    return msgs, frames


def parse_packet(pkt):
    """The RPC messages of one PDML packet, and its Frame facts.  Addresses and ports are the
    innermost ones before the RPC layer."""
    number, t = 0, 0.0
    ip_src = ip_dst = None
    port_src = port_dst = None
    l4, stream = None, -1
    fr = Frame(0)
    msgs, cur = [], None
    for proto in pkt.findall("proto"):
        name = proto.get("name")
        flds = _fields(proto)
        if name == "frame":
            for n, show, _ in flds:
                if n == "frame.number":
                    number = int(show)
                elif n == "frame.time_epoch":
                    t = float(show)
            fr.number = number
        elif name in ("ip", "ipv6"):
            for n, show, _ in flds:
                if n in ("ip.src", "ipv6.src"):
                    ip_src = show
                elif n in ("ip.dst", "ipv6.dst"):
                    ip_dst = show
        elif name in ("tcp", "udp"):
            l4 = name
            for n, show, _ in flds:
                if n == name + ".srcport":
                    port_src = int(show)
                elif n == name + ".dstport":
                    port_dst = int(show)
                elif n == name + ".stream":
                    stream = int(show)
                elif n in ("tcp.analysis.retransmission", "tcp.analysis.fast_retransmission",
                           "tcp.analysis.spurious_retransmission"):
                    fr.tcp_retransmission = True
        elif name == "_ws.malformed":
            fr.malformed = True
        elif name == "rpc":
            got = {n: show for n, show, _ in flds}
            if "rpc.xid" not in got or "rpc.msgtyp" not in got:
                continue                                   # a fragment of a multi-fragment record
            cur = Msg(number, t, "%s:%s" % (ip_src, port_src), "%s:%s" % (ip_dst, port_dst), l4,
                      stream, _int(got["rpc.xid"]), int(got["rpc.msgtyp"]))
            if "rpc.time" in got:
                cur.rtime = float(got["rpc.time"])
            for key, attr in (("rpc.program", "prog"), ("rpc.programversion", "vers"),
                              ("rpc.procedure", "proc"), ("rpc.replystat", "replystat"),
                              ("rpc.state_accept", "accept"), ("rpc.state_reject", "reject"),
                              ("rpc.state_auth", "auth")):
                if key in got:
                    setattr(cur, attr, int(got[key]))
            msgs.append(cur)
        elif name in ("nfs", "nfs.cb") and cur is not None:
            ops, statuses = [], []
            for n, show, _ in flds:
                if n == "nfs.minorversion" and cur.minor is None:
                    cur.minor = int(show)
                elif n in ("nfs.opcode", "nfs.cb.operation"):
                    ops.append(int(show))
                elif n in ("nfs.nfsstat4", "nfs.status3", "nfs.nfsstat3"):
                    statuses.append(int(show))
            if cur.msgtyp == 0:
                cur.ops = tuple(ops)
            else:
                cur.statuses = tuple(statuses)
                cur.ops = tuple(ops)
    return msgs, fr


# --------------------------------------------------------------------------------------------
# Per-connection counts (issue 19 item 4)
# --------------------------------------------------------------------------------------------


@dataclasses.dataclass
class Conn:
    """One connection as tshark sees it (a TCP stream or a UDP flow)."""
    proto: str
    stream: int
    client: str
    server: str
    first_time: float
    msgs: list
    streams: tuple = ()       # tshark streams merged into this record (reconnect_folded)


def is_well_known(endpoint: str) -> bool:
    return int(endpoint.rsplit(":", 1)[1]) in WELL_KNOWN_RPC_PORTS


def orient(proto: str, msgs: list, syn_client: Optional[str]) -> tuple:
    """(client, server): the SYN sender; without a SYN, the side using a well-known RPC port is
    the server, else the side receiving the first call."""
    a, b = msgs[0].src, msgs[0].dst
    if syn_client in (a, b):
        return (syn_client, b if syn_client == a else a)
    if is_well_known(a) and not is_well_known(b):
        return b, a
    if is_well_known(b) and not is_well_known(a):
        return a, b
    first_call = next((m for m in msgs if m.msgtyp == 0), msgs[0])
    return first_call.src, first_call.dst


def rpc_counts(conn: Conn, earlier_calls: set) -> dict:
    """The `rpc` object of issue 19 item 4, computed from tshark's messages of one connection.

    earlier_calls holds (client IP, server, direction, xid, prog, vers, proc) of the calls on
    earlier connections; this connection's calls are added to it."""
    calls = [m for m in conn.msgs if m.msgtyp == 0]
    replies = [m for m in conn.msgs if m.msgtyp == 1]
    client_ip = conn.client.rsplit(":", 1)[0]
    call_keys = Counter((m.src, m.xid) for m in calls)
    reply_keys = {(m.dst, m.xid) for m in replies}
    matched = {k for k in call_keys if k in reply_keys}
    unmatched = sorted({k[1] for k in call_keys if k not in reply_keys})
    retrans = sorted({k[1] for k, n in call_keys.items() if n > 1})
    resent, mine = set(), set()
    procedures, nfs_ops, cb_ops, errors = Counter(), Counter(), Counter(), Counter()
    versions = set()
    for m in calls:
        direction = "c2s" if m.src == conn.client else "s2c"
        key = (client_ip, conn.server, direction, m.xid, m.prog, m.vers, m.proc)
        if key in earlier_calls:
            resent.add(m.xid)
        mine.add(key)
        procedures[proc_name(m.prog, m.vers, m.proc)] += 1
        if m.prog == 100003 and m.vers == 3:
            versions.add("3")
        elif m.prog == 100003 and m.vers == 4 and m.proc == 1 and m.minor is not None:
            versions.add("4.%d" % m.minor)
        if m.prog == 100003 and m.vers == 4 and m.proc == 1:
            for op in m.ops:
                nfs_ops[NFS4_OPS.get(op, "op%d" % op)] += 1
        elif m.prog == 0x40000000 and m.proc == 1:
            for op in m.ops:
                cb_ops[CB_OPS.get(op, "op%d" % op)] += 1
    for m in replies:
        name = reply_error(m)
        if name:
            errors[name] += 1
    earlier_calls |= mine
    hexes = lambda xs: ["0x%08x" % x for x in xs]  # noqa: E731
    return {
        "calls": len(calls), "replies": len(replies),
        "calls_c2s": sum(1 for m in calls if m.src == conn.client),
        "calls_s2c": sum(1 for m in calls if m.src != conn.client),
        "unique_call_xids": len(call_keys), "matched_call_xids": len(matched),
        "unmatched_call_xids": len(call_keys) - len(matched),
        # An RPC retransmission is a call sent again as a new record, on this connection or
        # (resent after a reconnect) on an earlier one: both are in retransmitted_xids.
        "unmatched_xids": hexes(unmatched), "retransmitted_xids": hexes(sorted(set(retrans) | resent)),
        "resent_from_earlier_connection": hexes(sorted(resent)),
        "procedures": dict(sorted(procedures.items())), "nfs_ops": dict(sorted(nfs_ops.items())),
        "cb_ops": dict(sorted(cb_ops.items())), "errors": dict(sorted(errors.items())),
        "nfs_versions": sorted(versions),
    }


def service_times(conn: Conn) -> dict:
    """Service response time per procedure from tshark's rpc.time of the replies: count, min,
    median, p99, max in seconds (the shape of `tshark -z rpc,srt`; printed with -v, not
    compared: vxcheck's key for it is not fixed yet)."""
    per = defaultdict(list)
    for m in conn.msgs:
        if m.msgtyp == 1 and m.rtime is not None and m.prog is not None:
            per[proc_name(m.prog, m.vers, m.proc)].append(m.rtime)
    out = {}
    for name, xs in sorted(per.items()):
        xs.sort()
        out[name] = {"count": len(xs), "min": xs[0], "median": xs[(len(xs) - 1) // 2],
                     "p99": xs[min(len(xs) - 1, (99 * len(xs) + 99) // 100 - 1)], "max": xs[-1]}
    return out


def reply_error(m: Msg) -> Optional[str]:
    """The error name a REPLY counts under, or None for success."""
    if m.replystat == 1:
        if m.reject == 1:
            return "MSG_DENIED:AUTH_ERROR:%s" % AUTH_STAT.get(m.auth, str(m.auth))
        return "MSG_DENIED:%s" % REJECT_STAT.get(m.reject, str(m.reject))
    if m.accept not in (None, 0):
        return ACCEPT_STAT.get(m.accept, "accept_stat_%d" % m.accept)
    if not m.statuses or m.statuses[0] == 0:
        return None
    if m.prog == 100003 and m.vers == 3:
        return "NFS3ERR_" + NFS3ERR.get(m.statuses[0], str(m.statuses[0]))
    if (m.prog == 100003 and m.vers == 4) or m.prog == 0x40000000:
        return nfs4_error(m.statuses[0])         # the COMPOUND status = the failing op's status
    return None


# --------------------------------------------------------------------------------------------
# The capture's own bytes: an independent reader (pcap, pcapng; Ethernet, VLAN, SLL, SLL2, RAW,
# NULL; IPv4, IPv6; VXLAN on 8472/4789) and a per-direction TCP view used by the categories
# --------------------------------------------------------------------------------------------

VXLAN_PORTS = (8472, 4789)


def read_records(path: str):
    """Yields (frame number, caplen, wirelen, linktype, bytes) for a pcap or pcapng file."""
    with open(path, "rb") as fh:
        data = fh.read()
    if len(data) < 24:
        return
    magic = data[:4]
    little = (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1")
    big = (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d")
    if magic in little + big:
        e = "<" if magic in little else ">"
        linktype = struct.unpack_from(e + "I", data, 20)[0] & 0x0FFFFFFF
        off, n = 24, 0
        while off + 16 <= len(data):
            _, _, caplen, wirelen = struct.unpack_from(e + "IIII", data, off)
            n += 1
            yield n, caplen, wirelen, linktype, data[off + 16:off + 16 + caplen]
            off += 16 + caplen
    elif magic == b"\x0a\x0d\x0d\x0a":
        yield from read_pcapng(data)


def read_pcapng(data: bytes):
    off, n, e, links = 0, 0, "<", []
    while off + 12 <= len(data):
        if data[off:off + 4] == b"\x0a\x0d\x0d\x0a":
            e = "<" if data[off + 8:off + 12] == b"\x4d\x3c\x2b\x1a" else ">"
            links = []
        btype, blen = struct.unpack_from(e + "II", data, off)
        if blen < 12 or off + blen > len(data):
            return
        body = data[off + 8:off + blen - 4]
        if btype == 1:
            links.append(struct.unpack_from(e + "H", body, 0)[0])
        elif btype == 6 and len(body) >= 20:
            ifid, _, _, caplen, wirelen = struct.unpack_from(e + "IIIII", body, 0)
            n += 1
            lt = links[ifid] if ifid < len(links) else -1
            yield n, caplen, wirelen, lt, body[20:20 + caplen]
        elif btype == 3 and len(body) >= 4:
            n += 1
            wirelen = struct.unpack_from(e + "I", body, 0)[0]
            yield n, len(body) - 4, wirelen, links[0] if links else -1, body[4:]
        off += blen


@dataclasses.dataclass
class Seg:
    """The innermost TCP segment or UDP datagram of a frame."""
    proto: str
    src: str
    dst: str
    seq: int = 0
    flags: int = 0
    payload: bytes = b""


def _l2(linktype: int, b: bytes):
    """(ethertype, offset of the network header) or None."""
    if linktype == 1:
        return _ether(b, 0)
    if linktype == 101 or linktype == 228 or linktype == 229:
        return (0x0800 if b[:1] and b[0] >> 4 == 4 else 0x86DD), 0
    if linktype == 0 and len(b) >= 4:
        fam = struct.unpack_from("<I", b, 0)[0]
        if fam > 0xFFFF:
            fam = struct.unpack_from(">I", b, 0)[0]
        return (0x0800 if fam == 2 else 0x86DD), 4
    if linktype == 113 and len(b) >= 16:
        return struct.unpack_from("!H", b, 14)[0], 16
    if linktype == 276 and len(b) >= 20:
        return struct.unpack_from("!H", b, 0)[0], 20
    return None


def _ether(b: bytes, off: int):
    if len(b) < off + 14:
        return None
    et, off = struct.unpack_from("!H", b, off + 12)[0], off + 14
    while et in (0x8100, 0x88A8) and len(b) >= off + 4:
        et, off = struct.unpack_from("!H", b, off + 2)[0], off + 4
    return et, off


def decode(linktype: int, b: bytes, depth: int = 0) -> Optional[Seg]:
    l2 = _l2(linktype, b) if depth == 0 else _ether(b, 0)
    if l2 is None:
        return None
    et, off = l2
    if et == 0x0800 and len(b) >= off + 20:
        ihl = (b[off] & 0x0F) * 4
        tot = struct.unpack_from("!H", b, off + 2)[0]
        if struct.unpack_from("!H", b, off + 6)[0] & 0x3FFF:
            return None                                   # a fragment
        proto = b[off + 9]
        src = ".".join(str(x) for x in b[off + 12:off + 16])
        dst = ".".join(str(x) for x in b[off + 16:off + 20])
        end = off + tot if tot else len(b)
        l4 = b[off + ihl:min(end, len(b))]
    elif et == 0x86DD and len(b) >= off + 40:
        proto = b[off + 6]
        src = str(ipaddress.IPv6Address(b[off + 8:off + 24]))
        dst = str(ipaddress.IPv6Address(b[off + 24:off + 40]))
        plen = struct.unpack_from("!H", b, off + 4)[0]
        p = off + 40
        while proto in (0, 43, 60) and len(b) >= p + 8:
            proto, p = b[p], p + (b[p + 1] + 1) * 8
        l4 = b[p:off + 40 + plen] if plen else b[p:]
    else:
        return None
    if proto == 6 and len(l4) >= 20:
        sp, dp, seq = struct.unpack_from("!HHI", l4, 0)
        doff = (l4[12] >> 4) * 4
        return Seg("tcp", "%s:%d" % (src, sp), "%s:%d" % (dst, dp), seq, l4[13], l4[doff:])
    if proto == 17 and len(l4) >= 8:
        sp, dp = struct.unpack_from("!HH", l4, 0)
        if depth < 3 and (dp in VXLAN_PORTS) and len(l4) >= 16:
            inner = decode(1, l4[16:], depth + 1)
            if inner is not None:
                return inner
        return Seg("udp", "%s:%d" % (src, sp), "%s:%d" % (dst, dp), payload=l4[8:])
    return None


MAX_STREAM_BYTES = 64 << 20      # per direction; a longer stream is not checked byte by byte


class Direction:
    """The bytes one side sent, placed by sequence number relative to the first byte seen (or
    ISN+1), with a mask of which offsets were captured."""

    def __init__(self, base: int):
        self.base, self.buf, self.have, self.too_long = base, bytearray(), bytearray(), False

    def add(self, seq: int, payload: bytes) -> bool:
        """Stores payload; returns True if every byte was captured before with the same value."""
        rel = (seq - self.base) & 0xFFFFFFFF
        if rel >= 1 << 31 or rel + len(payload) > MAX_STREAM_BYTES:
            self.too_long = True
            return False
        end = rel + len(payload)
        if end > len(self.buf):
            grow = end - len(self.buf)
            self.buf += bytes(grow)
            self.have += bytes(grow)
        dup = all(self.have[rel:end]) and self.buf[rel:end] == payload
        self.buf[rel:end] = payload
        self.have[rel:end] = b"\x01" * len(payload)
        return dup


@dataclasses.dataclass
class ByteConn:
    """One connection seen in the bytes: a 4-tuple generation (a new SYN with a new ISN after a
    FIN or RST starts the next generation)."""
    key: tuple                  # (proto, endpoint, endpoint) sorted
    gen: int
    syn_client: Optional[str] = None
    isn: dict = dataclasses.field(default_factory=dict)           # side -> ISN
    closed: bool = False
    frames: list = dataclasses.field(default_factory=list)
    dirs: dict = dataclasses.field(default_factory=dict)          # side -> Direction
    snaplen_cut: bool = False
    duplicate_frames: set = dataclasses.field(default_factory=set)


def byte_view(path: str):
    """(connections in order of first frame, frame number -> ByteConn)."""
    conns, current, by_frame = [], {}, {}
    for n, caplen, wirelen, lt, b in read_records(path):
        seg = decode(lt, b)
        if seg is None:
            continue
        key = (seg.proto,) + tuple(sorted((seg.src, seg.dst)))
        c = current.get(key)
        syn = seg.proto == "tcp" and seg.flags & 0x02
        syn_only = syn and not seg.flags & 0x10
        if c is None or (syn_only and c.closed and c.isn.get(seg.src) != seg.seq):
            c = ByteConn(key, 0 if c is None else c.gen + 1)
            current[key] = c
            conns.append(c)
        if syn_only:
            c.syn_client = seg.src
        if syn:
            c.isn[seg.src] = seg.seq
        if seg.proto == "tcp" and seg.flags & 0x05:
            c.closed = True
        if caplen < wirelen:
            c.snaplen_cut = True
        c.frames.append(n)
        by_frame[n] = c
        if seg.proto == "tcp" and seg.payload:
            if seg.src not in c.dirs:
                isn = c.isn.get(seg.src)
                c.dirs[seg.src] = Direction(seg.seq if isn is None else isn + 1)
            if c.dirs[seg.src].add(seg.seq, seg.payload):
                c.duplicate_frames.add(n)
    return conns, by_frame


def stream_facts(c: ByteConn) -> dict:
    """Per connection: a sequence gap in a direction, a last record that runs past the captured
    bytes (record marks read over the reassembled stream from its first byte), a garbled record,
    no SYN seen, and, without a SYN, whether a direction's first captured byte does not start a
    record (unaligned_start) and how many REPLY records answer a call the capture does not hold
    (orphan_replies; None when a direction cannot be read record by record from its start)."""
    mid = c.key[0] == "tcp" and c.syn_client is None
    facts = {"gap": False, "cut_at_end": False, "garbled_record": False,
             "mid_stream_start": mid, "unaligned_start": False, "orphan_replies": None,
             "snaplen_cut": c.snaplen_cut}
    messages = {}                                     # side -> [(xid, msg_type)] or None
    for side, d in c.dirs.items():
        messages[side] = None
        if d.too_long:
            continue
        if not all(d.have):
            facts["gap"] = True
            continue
        stream = bytes(d.buf)
        if mid and not plausible_message(first_fragment(stream, 0)):
            facts["unaligned_start"] = True       # without a SYN the first byte is mid-record
            continue
        off, first, msgs = 0, True, []
        while off + 4 <= len(stream):
            mark = struct.unpack_from("!I", stream, off)[0]
            frag = first_fragment(stream, off)
            if first and not plausible_message(frag):
                facts["garbled_record"] = True
            elif first:
                msgs.append(struct.unpack_from("!II", frag, 0))
            first = bool(mark & 0x80000000)          # the next fragment starts a new message
            off += 4 + (mark & 0x7FFFFFFF)
        if off != len(stream):
            facts["cut_at_end"] = True
        messages[side] = msgs
    if mid and messages and all(m is not None for m in messages.values()):
        facts["orphan_replies"] = orphan_replies(messages)
    return facts


def first_fragment(stream: bytes, off: int) -> bytes:
    """The fragment whose record mark is at off (cut at the end of the stream)."""
    mark = struct.unpack_from("!I", stream, off)[0] if off + 4 <= len(stream) else 0
    return stream[off + 4:off + 4 + (mark & 0x7FFFFFFF)]


def orphan_replies(messages: dict) -> int:
    """REPLY records whose xid no CALL record of the other direction carries: the call was sent
    before the capture started."""
    n = 0
    for side, msgs in messages.items():
        calls = {x for other, ms in messages.items() if other != side for x, t in ms if t == 0}
        n += sum(1 for x, t in msgs if t == 1 and x not in calls)
    return n


def mid_stream_explains(facts: dict, theirs: dict, mine: dict, diff: list) -> bool:
    """mid_stream_start holds when the connection has no SYN and either a direction's first
    bytes are not a record start (the tools resynchronise differently), or the difference is
    exactly the replies to calls sent before the capture: tshark dissects no REPLY whose call it
    has not seen (it shows "Continuation"), vxcheck counts every REPLY record."""
    if not facts["mid_stream_start"]:
        return False
    if facts["unaligned_start"]:
        return True
    orphans = facts["orphan_replies"]
    return (orphans is not None and orphans > 0 and diff == ["replies"]
            and mine.get("replies") == theirs.get("replies", 0) + orphans)


def plausible_message(frag: bytes) -> bool:
    """The first fragment of a record starts like an RPC message: xid, msg_type 0 or 1, and a
    CALL has rpcvers 2 (RFC 5531 section 9); a record of 16 MiB or more is not plausible."""
    if len(frag) < 12 or len(frag) >= 16 << 20:
        return len(frag) >= 8 and len(frag) < 16 << 20 and frag[4:8] == b"\0\0\0\1"
    msg_type, third = struct.unpack_from("!II", frag, 4)
    return msg_type == 1 or (msg_type == 0 and third == 2)


# --------------------------------------------------------------------------------------------
# Categories of justified differences
# --------------------------------------------------------------------------------------------

AGREE = "agree"
UNEXPLAINED = "UNEXPLAINED"

CATEGORIES = {
    "tcp_retransmission":
        "tshark dissected an RPC message in a segment whose bytes were all captured before at the "
        "same sequence numbers (a TCP-level retransmission, never a new RPC record); without the "
        "messages of those frames tshark's counts equal vxcheck's",
    "reconnect_folded":
        "a new SYN with a new ISN after FIN/RST on the same 4-tuple starts a new connection "
        "(issue 19 item 6); vxcheck reports fewer connections on this 4-tuple, and tshark's counts "
        "over the folded connections together equal vxcheck's",
    "record_cut_by_capture_end":
        "the last record of a direction runs past the captured bytes (its record mark announces "
        "more than the stream carries), so one tool counts a partial message the other does not",
    "stream_gap":
        "a direction of the connection has a sequence-number hole (capture loss); tshark and "
        "vxcheck resynchronise on record marks differently after it",
    "snaplen_cut":
        "frames of the connection are cut by the snaplen (caplen < wirelen), so records lose bytes",
    "mid_stream_start":
        "the capture has no SYN for the connection, and either a direction's first bytes do not "
        "start like an RPC record (the tools resynchronise differently), or the difference is "
        "exactly the REPLY records (read by record marks from the first byte) whose xid no "
        "captured CALL carries: tshark dissects no reply whose call it has not seen, vxcheck "
        "counts every reply",
    "garbled_record":
        "a record in the reassembled stream does not start like an RPC message (msg_type not 0/1, "
        "a CALL without rpcvers 2, or 16 MiB or more): vxcheck names it an anomaly and "
        "resynchronises on the next plausible record mark, tshark shows a continuation or a "
        "malformed packet",
    "port_not_decoded_by_tshark":
        "tshark dissected no RPC on the connection, whose ports are neither 2049, the efs-utils "
        "range nor a --rpc-port, while the client's first record is a plausible RPC message "
        "(vxcheck finds RPC by content, tshark by port); add --rpc-port to compare it",
    "rpc_over_udp":
        "a UDP flow (checked: IP protocol 17) whose first RPC message is not a CALL of a program "
        "vxcheck knows (portmap, NFS, MOUNT, NLM, NSM, NFS_ACL): vxcheck starts a UDP flow only "
        "at such a call, so it reports none",
}

# Categories that explain a difference without recomputing: a byte fact of the connection.
FACT_CATEGORIES = ("snaplen_cut", "stream_gap", "garbled_record",
                   "record_cut_by_capture_end")
FACT_KEY = {"record_cut_by_capture_end": "cut_at_end", "stream_gap": "gap",
            "snaplen_cut": "snaplen_cut", "garbled_record": "garbled_record"}


def differing(a: dict, b: dict) -> list:
    return [k for k in KEYS if a.get(k) != b.get(k)]


# --------------------------------------------------------------------------------------------
# One file
# --------------------------------------------------------------------------------------------


@dataclasses.dataclass
class Result:
    path: str
    passed: int = 0
    failed: int = 0
    classes: Counter = dataclasses.field(default_factory=Counter)
    lines: list = dataclasses.field(default_factory=list)


def tshark_connections(msgs: list, conns: list, by_frame: dict) -> list:
    """Group tshark's messages by the capture's own connections (4-tuple generations); a
    message in a frame this script cannot decode falls back to tshark's stream."""
    groups = defaultdict(list)
    fallback = defaultdict(list)
    for m in msgs:
        c = by_frame.get(m.frame)
        if c is not None:
            groups[id(c)].append(m)
        else:
            fallback[(m.proto, m.stream)].append(m)
    out = []
    for c in conns:
        ms = groups.get(id(c))
        if not ms:
            continue
        client, server = orient(c.key[0], ms, c.syn_client)
        out.append((Conn(c.key[0], c.gen, client, server, ms[0].time, ms), c))
    for (proto, stream), ms in fallback.items():
        client, server = orient(proto, ms, None)
        out.append((Conn(proto, stream, client, server, ms[0].time, ms), None))
    out.sort(key=lambda cc: cc[0].first_time)
    return out


def with_counts(pairs: list) -> list:
    earlier = set()
    return [(conn, bc, rpc_counts(conn, earlier)) for conn, bc in pairs]


def run_vxcheck(vxcheck: str, path: str) -> list:
    proc = subprocess.run([vxcheck, "analyze", "--json", "--all-ports", path],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False)
    if proc.returncode not in (0, 1, 2) or not proc.stdout:
        raise RuntimeError("vxcheck exit %d: %s" % (proc.returncode,
                                                    proc.stderr.decode(errors="replace").strip()))
    recs = [json.loads(line) for line in proc.stdout.decode().splitlines() if line.strip()]
    return [r for r in recs if r.get("type") == "connection"]


def compare_file(path: str, args) -> Result:
    res = Result(path)
    try:
        msgs, frames = run_tshark(path, args.rpc_port)
    except (RuntimeError, ET.ParseError, OSError) as exc:
        res.failed += 1
        res.lines.append("  tool failure: %s" % exc)
        return res
    conns, by_frame = byte_view(path)
    tsh = with_counts(tshark_connections(msgs, conns, by_frame))
    malformed = sorted(n for n, f in frames.items() if f.malformed)
    if malformed:
        res.lines.append("  tshark marks frames malformed: %s" % malformed[:20])
    if args.tshark_only:
        for conn, bc, counts in tsh:
            res.passed += 1
            res.classes["tshark"] += 1
            res.lines.append(render_tshark(conn, counts, args.verbose))
        if args.strict:
            res.failed += len(malformed)
        return res
    try:
        vx = run_vxcheck(args.vxcheck, path)
    except (RuntimeError, ValueError, OSError) as exc:
        res.failed += 1
        res.lines.append("  tool failure: %s" % exc)
        return res
    compare_connections(res, tsh, vx, conns, args.rpc_port)
    return res


def compare_connections(res: Result, tsh: list, vx: list, conns: list, rpc_ports: list) -> None:
    """Pairs each of tshark's connections with the vxcheck record of the same (client, server)
    whose time span holds its first message, and classifies every key.  Several tshark
    connections in one record are merged (reconnect_folded); a record without a tshark
    connection is compared with zero counts."""
    vx_by_tuple = defaultdict(list)
    for r in vx:
        vx_by_tuple[(r.get("client"), r.get("server"))].append(r)
    assigned, orphans = defaultdict(list), []
    for t in tsh:
        key = (t[0].client, t[0].server)
        r = owner(vx_by_tuple.get(key, []), t[0].first_time)
        if r is None:
            orphans.append((key, t))
        else:
            assigned[id(r)].append(t)
    ctx = (conns, rpc_ports)
    for key in sorted(vx_by_tuple):
        for r in sorted(vx_by_tuple[key], key=lambda r: _ts(r, "first_seen")):
            ts = assigned.get(id(r), [])
            t = ts[0] if len(ts) == 1 else (merge(ts, tsh) if ts else None)
            classify(res, key, t, r, ctx)
    for key, t in orphans:
        classify(res, key, t, None, ctx)


def _ts(record: dict, name: str) -> float:
    """A record's time `name` in epoch seconds (JSON schema v1: the number `name`_epoch_s)."""
    return float(record.get(name + "_epoch_s", 0.0))


def owner(records: list, when: float):
    """The record whose [first_seen, last_seen] holds `when`, else the latest one starting before
    it, else None."""
    slack = 1e-6
    for r in records:
        if _ts(r, "first_seen") - slack <= when <= _ts(r, "last_seen") + slack:
            return r
    before = [r for r in records if _ts(r, "first_seen") - slack <= when]
    return max(before, key=lambda r: _ts(r, "first_seen")) if before else None


def merge(ts: list, tsh: list) -> tuple:
    """One tshark entry for several connections of a 4-tuple that vxcheck reports as one; calls
    of every connection that starts earlier count as earlier for resent_from_earlier_connection."""
    first = min(t[0].first_time for t in ts)
    conn = dataclasses.replace(ts[0][0], msgs=sorted((m for t in ts for m in t[0].msgs),
                                                     key=lambda m: m.frame),
                               streams=tuple(t[0].stream for t in ts), first_time=first)
    earlier = set()
    for t in tsh:
        if t[0].first_time < first:
            rpc_counts(t[0], earlier)
    return conn, ts[0][1], rpc_counts(conn, earlier)


def classify(res: Result, key: tuple, t, r, byte_ctx: tuple) -> None:
    label = "%s -> %s" % key
    if r is None:
        udp = t[1] is not None and t[1].key[0] == "udp"      # IP protocol 17 in the bytes
        first = t[0].msgs[0] if t[0].msgs else None
        known = first is not None and first.msgtyp == 0 and first.prog in UDP_FLOW_PROGRAMS
        cat = "rpc_over_udp" if udp and not known else UNEXPLAINED
        note(res, label, "connection", cat, "tshark only: %d messages" % len(t[0].msgs))
        return
    if "rpc" not in r:
        note(res, label, "rpc", UNEXPLAINED, "vxcheck's connection record has no 'rpc' object")
        return
    mine = r["rpc"]
    theirs = t[2] if t is not None else rpc_counts(Conn("tcp", -1, key[0], key[1], 0.0, []),
                                                    set())
    diff = differing(theirs, mine)
    if not diff and t is not None and len(t[0].streams) > 1:
        note(res, label, "all keys", "reconnect_folded",
             "%d connections of this 4-tuple counted as one" % len(t[0].streams))
        return
    if not diff:
        res.passed += len(KEYS)
        res.classes[AGREE] += len(KEYS)
        return
    res.passed += len(KEYS) - len(diff)
    res.classes[AGREE] += len(KEYS) - len(diff)
    cat = (explain(t, mine, diff) if t is not None
           else untouched_by_tshark(key, byte_ctx, theirs, mine, diff))
    for k in diff:
        note(res, label, k, cat, "tshark %s, vxcheck %s" % (json.dumps(theirs.get(k)),
                                                          json.dumps(mine.get(k))))


def untouched_by_tshark(key: tuple, byte_ctx: tuple, theirs: Optional[dict] = None,
                        mine: Optional[dict] = None, diff: tuple = ()) -> str:
    """vxcheck counts RPC on a connection where tshark dissected none: justified when neither
    port is one tshark is told to decode as RPC and the client's first record is a plausible RPC
    message (vxcheck finds RPC by its content, tshark by port), or when the connection starts
    mid-stream and the counts differ by exactly its replies to calls before the capture
    (mid_stream_explains)."""
    conns, rpc_ports = byte_ctx
    decoded = {NFS_PORT} | set(range(20049, 21050))
    for p in rpc_ports:
        lo, _, hi = str(p).partition("-")
        decoded |= set(range(int(lo), int(hi or lo) + 1))
    for c in conns:
        if c.key[0] != "tcp" or set(c.key[1:]) != set(key):
            continue
        if mine is not None and mid_stream_explains(stream_facts(c), theirs, mine, list(diff)):
            return "mid_stream_start"
        ports = {int(e.rsplit(":", 1)[1]) for e in key}
        d = c.dirs.get(key[0])
        if ports & decoded or d is None or not all(d.have[:4]) or len(d.buf) < 4:
            continue
        n = struct.unpack_from("!I", d.buf, 0)[0] & 0x7FFFFFFF
        if plausible_message(bytes(d.buf[4:4 + n])):
            return "port_not_decoded_by_tshark"
    return UNEXPLAINED


def explain(t, mine: dict, diff: list) -> str:
    if t[1] is None:
        return UNEXPLAINED
    conn, bc, _ = t
    dups = bc.duplicate_frames
    if dups and any(m.frame in dups for m in conn.msgs):
        kept = dataclasses.replace(conn, msgs=[m for m in conn.msgs if m.frame not in dups])
        if not differing(rpc_counts(kept, set()), {**mine, "resent_from_earlier_connection":
                                                    t[2]["resent_from_earlier_connection"]}):
            return "tcp_retransmission"
    facts = stream_facts(bc)
    if mid_stream_explains(facts, t[2], mine, diff):
        return "mid_stream_start"
    for cat in FACT_CATEGORIES:
        if facts[FACT_KEY[cat]]:
            return cat
    return UNEXPLAINED


def note(res: Result, label: str, key: str, cat: str, text: str) -> None:
    res.classes[cat] += 1
    if cat == UNEXPLAINED:
        res.failed += 1
    else:
        res.passed += 1
    res.lines.append("  %-44s %-32s %-26s %s" % (label, key, cat, text))


def render_tshark(conn: Conn, counts: dict, verbose: bool) -> str:
    head = "%s -> %s (%s)" % (conn.client, conn.server, conn.proto)
    if verbose:
        return "  " + json.dumps({"client": conn.client, "server": conn.server,
                                  "proto": conn.proto, "rpc": counts,
                                  "srt": service_times(conn)}, sort_keys=False)
    procs = ", ".join("%s %d" % kv for kv in counts["procedures"].items())
    errs = ", ".join("%s %d" % kv for kv in counts["errors"].items()) or "-"
    return ("  %-46s calls %d (c2s %d, s2c %d) replies %d unmatched %s retransmitted %s "
            "resent %s\n      procedures: %s\n      errors: %s\n      versions: %s" % (
                head, counts["calls"], counts["calls_c2s"], counts["calls_s2c"],
                counts["replies"], counts["unmatched_xids"] or "-",
                counts["retransmitted_xids"] or "-",
                counts["resent_from_earlier_connection"] or "-", procs, errs,
                ",".join(counts["nfs_versions"]) or "-"))


# --------------------------------------------------------------------------------------------
# Self-test of the byte checks behind the categories (no tshark needed)
# --------------------------------------------------------------------------------------------


def mount_call_on_port_5555(gen):
    """A capture with one MOUNT MNT call over TCP 10.244.1.5:801 -> 10.244.2.5:5555."""
    cap = gen.Pcap()
    s = gen.Stream(cap, gen.Link("flannel", "a", "b"), "10.244.1.5", 801, "10.244.2.5", 5555,
                   1, 2, 3, 4, 5, 6)
    cl = gen.Client(s, 0x11110001, "node-a", 7)
    x = cl.xid()
    cl.send_msg("c", s.open(0) + 100, gen.rpc_call(x, gen.PROG_MOUNT, 3, 1, gen.opaque("/export"),
                                                   cl.cred()), "CALL", x, "MNT")
    return cap


def mid_stream_checks(gen, write) -> list:
    """nfs41-healthy without its handshake and first CALL (EXCHANGE_ID): one REPLY answers a call
    the capture does not hold; the same story from inside the reply of nfs-reply-exceeds-session
    starts mid-record."""
    healthy = gen.nfs41_healthy()
    orphan = write("orphan.pcap", healthy, lambda r: r[4:])[0]
    facts = stream_facts(orphan)
    zero = rpc_counts(Conn("tcp", -1, "10.244.1.5:888", "10.244.2.5:2049", 0.0, []), set())
    twelve, thirteen = {**zero, "replies": 12}, {**zero, "replies": 13}
    alone = write("orphan-alone.pcap", healthy, lambda r: r[4:5])
    key = ("10.244.1.5:888", "10.244.2.5:2049")
    one = {**zero, "replies": 1}
    unaligned = stream_facts(write("unaligned.pcap", gen.nfs_reply_exceeds_session(),
                                   lambda r: r[11:])[0])
    return [
        ("mid_stream_start: one reply without its call", facts["orphan_replies"] == 1
         and not facts["unaligned_start"]),
        ("mid_stream_start: explains exactly the orphan replies",
         mid_stream_explains(facts, twelve, thirteen, ["replies"])
         and not mid_stream_explains(facts, twelve, {**zero, "replies": 14}, ["replies"])
         and not mid_stream_explains(facts, twelve, {**thirteen, "calls": 1},
                                     ["calls", "replies"])),
        ("mid_stream_start: reached when tshark has no RPC on the connection",
         untouched_by_tshark(key, (alone, []), zero, one, ["replies"]) == "mid_stream_start"),
        ("mid_stream_start: a first byte inside a record", unaligned["unaligned_start"]),
        ("mid_stream_start: not with a SYN", not mid_stream_explains(
            stream_facts(write("whole.pcap", healthy)[0]), twelve, thirteen, ["replies"])),
    ]


def self_test(tmpdir: str) -> int:
    """Builds variants of the pcaps/nfs/ stories with tools/make_nfs_pcaps.py (drop a frame, cut
    a frame, corrupt a record) and checks that each byte fact fires where it must and nowhere
    else.  Returns the number of failed checks."""
    import make_nfs_pcaps as gen                     # pylint: disable=import-outside-toplevel

    def write(name, cap, edit=None):
        records = list(cap.records)
        if edit:
            records = edit(records)
        path = os.path.join(tmpdir, name)
        with open(path, "wb") as fh:
            fh.write(cap.header() + b"".join(records))
        return byte_view(path)[0]

    def cut(rec, n):
        """The record with its frame cut to n bytes (caplen n, wirelen kept)."""
        sec, frac, _, wire = struct.unpack_from("<IIII", rec, 0)
        return struct.pack("<IIII", sec, frac, n, wire) + rec[16:16 + n]

    def corrupt_msg_type(rec):
        """Frame 10 of nfs-reply-too-big: the CALL's msg_type (after Ethernet, IP, TCP with
        timestamps, record mark and xid) set to 7; TCP checksum left as is."""
        b = bytearray(rec)
        b[16 + 14 + 20 + 32 + 4 + 4 + 3] = 7
        return bytes(b)

    checks = []
    mech = write("mechanics.pcap", gen.rpc_mechanics())
    checks.append(("reconnect: two generations of 10.244.1.5:886",
                   [c.gen for c in mech if "10.244.1.5:886" in c.key] == [0, 1]))
    checks.append(("tcp_retransmission: frame 18 only", mech[0].duplicate_frames == {18}))
    checks.append(("clean story: no byte fact",
                   not any(any(stream_facts(c).values()) for c in mech)))
    cli, srv = "10.244.1.5:886", "10.244.2.5:2049"
    copies = [Msg(f, 3.0, a, b, "tcp", 0, 0x5a160007, typ, 100003, 4, 1, minor=1, ops=(53, 22, 9))
              for f, a, b, typ in ((17, cli, srv, 0), (18, cli, srv, 0), (19, srv, cli, 1))]
    seen = Conn("tcp", 0, cli, srv, 3.0, copies)
    once = rpc_counts(dataclasses.replace(seen, msgs=[copies[0], copies[2]]), set())
    both = rpc_counts(seen, set())
    checks.append(("tcp_retransmission explains a call tshark counts twice",
                   explain((seen, mech[0], both), once, differing(both, once))
                   == "tcp_retransmission"))
    big = gen.nfs_reply_exceeds_session()
    checks.append(("cut_at_end: last segment of the 6000-byte reply dropped",
                   stream_facts(write("cut.pcap", big, lambda r: r[:14])[0])["cut_at_end"]))
    checks.append(("gap: a middle segment of the reply dropped",
                   stream_facts(write("gap.pcap", big, lambda r: r[:11] + r[12:])[0])["gap"]))
    checks.append(("mid_stream_start: handshake dropped", stream_facts(
        write("mid.pcap", big, lambda r: r[3:])[0])["mid_stream_start"]))
    checks.append(("snaplen_cut: a frame cut to 96 bytes", stream_facts(
        write("snap.pcap", big, lambda r: r[:12] + [cut(r[12], 96)] + r[13:])[0])["snaplen_cut"]))
    rtb = gen.nfs_reply_too_big()
    checks.append(("garbled_record: msg_type 7", stream_facts(write(
        "garbled.pcap", rtb, lambda r: r[:9] + [corrupt_msg_type(r[9])] + r[10:])[0])[
            "garbled_record"]))
    odd = (write("port5555.pcap", mount_call_on_port_5555(gen)), [])
    key = ("10.244.1.5:801", "10.244.2.5:5555")
    checks.append(("port_not_decoded_by_tshark: RPC on TCP 5555",
                   untouched_by_tshark(key, odd) == "port_not_decoded_by_tshark"))
    checks.append(("port_not_decoded_by_tshark: not with --rpc-port 5555",
                   untouched_by_tshark(key, (odd[0], ["5555"])) == UNEXPLAINED))
    checks += mid_stream_checks(gen, write)
    failed = 0
    for name, ok in checks:
        print("%s %s" % ("ok  " if ok else "FAIL", name))
        failed += 0 if ok else 1
    print("%d passed, %d failed" % (len(checks) - failed, failed))
    return failed


# --------------------------------------------------------------------------------------------
# main
# --------------------------------------------------------------------------------------------


def main(argv: list) -> int:
    parser = argparse.ArgumentParser(
        description="Compare vxcheck's per-connection RPC counts with tshark's dissection.")
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--vxcheck", help="path of the vxcheck binary")
    mode.add_argument("--self-test", action="store_true",
                      help="check the byte facts behind the categories on edited stories")
    mode.add_argument("--tshark-only", action="store_true",
                      help="print tshark's side alone (vxcheck has no 'rpc' object yet)")
    parser.add_argument("--rpc-port", action="append", default=[],
                        help="another TCP port (or range a-b) tshark decodes as RPC")
    parser.add_argument("--strict", action="store_true",
                        help="with --tshark-only: a frame tshark marks malformed is a failure")
    parser.add_argument("-v", "--verbose", action="store_true")
    parser.add_argument("paths", nargs="*")
    args = parser.parse_args(argv)
    if args.self_test:
        import tempfile                               # pylint: disable=import-outside-toplevel
        with tempfile.TemporaryDirectory() as tmp:
            return 1 if self_test(tmp) else 0
    if not args.paths:
        parser.error("no capture given")
    results = [compare_file(p, args) for p in expand(args.paths)]
    totals = Counter()
    for r in results:
        print("%s: %d passed, %d failed" % (r.path, r.passed, r.failed))
        for line in r.lines:
            print(line)
        totals.update(r.classes)
    print("\ntotals:")
    for cat, n in sorted(totals.items()):
        print("  %-30s %d" % (cat, n))
    passed, failed = sum(r.passed for r in results), sum(r.failed for r in results)
    print("%d passed, %d failed" % (passed, failed))
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

#!/usr/bin/env python3
"""Minimal ONC RPC (RFC 5531) client for the vxcheck namespace lab.

Opens N TCP connections to HOST:PORT, one after the other. On each it sends an
NFS NULL call (program 100003, procedure 0: the "ping" that mount.nfs and
`rpcinfo -t` send first), waits for the reply and closes. Everything is bounded:
the connect timeout, the reply timeout and the number of connections.

It prints one line per connection, e.g.
  conn 1: 192.168.77.10:41234 -> 10.96.0.10:2049 connected in 0.001 s, NFSv3 NULL reply ok (xid 0x6c61...)
  conn 1: ... connect failed after 8.0 s: timed out

Only the Python standard library is used. Exit status is 0 even when a
connection fails (the lab records what happened; it does not judge).
"""
import argparse
import os
import socket
import struct
import sys
import time

NFS_PROGRAM = 100003


def null_call(xid: int, vers: int, pad: int = 0) -> bytes:
    # RPC call header: xid, CALL(0), rpcvers 2, prog, vers, proc 0 (NULL),
    # cred AUTH_NONE (flavor 0, length 0), verf AUTH_NONE; `pad` zero bytes of
    # arguments after it (NULL takes none: a server ignores them).
    body = struct.pack(">IIIIIIIIII", xid, 0, 2, NFS_PROGRAM, vers, 0, 0, 0, 0, 0)
    body += bytes(pad - pad % 4)
    # Record marking (RFC 5531 section 11): last-fragment bit + length.
    return struct.pack(">I", 0x80000000 | len(body)) + body


def recv_exact(sock: socket.socket, n: int, deadline: float) -> bytes:
    buf = b""
    while len(buf) < n:
        left = deadline - time.monotonic()
        if left <= 0:
            raise socket.timeout("reply timeout")
        sock.settimeout(left)
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise ConnectionError("peer closed after %d bytes" % len(buf))
        buf += chunk
    return buf


def describe_reply(data: bytes, xid: int) -> str:
    if len(data) < 24:
        return "short reply (%d bytes)" % len(data)
    rxid, mtype, reply_stat = struct.unpack(">III", data[:12])
    if rxid != xid or mtype != 1:
        return "not a reply to our call (xid 0x%08x type %d)" % (rxid, mtype)
    if reply_stat != 0:
        return "MSG_DENIED"
    _flavor, vlen = struct.unpack(">II", data[12:20])
    off = 20 + ((vlen + 3) & ~3)
    if len(data) < off + 4:
        return "short accepted reply"
    (accept_stat,) = struct.unpack(">I", data[off:off + 4])
    names = {0: "ok", 1: "PROG_UNAVAIL", 2: "PROG_MISMATCH", 3: "PROC_UNAVAIL", 4: "GARBAGE_ARGS", 5: "SYSTEM_ERR"}
    return "reply %s (xid 0x%08x)" % (names.get(accept_stat, str(accept_stat)), xid)


def one_connection(i: int, args) -> None:
    vers = args.vers[(i - 1) % len(args.vers)]
    xid = int.from_bytes(os.urandom(4), "big")
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    t0 = time.monotonic()
    try:
        s.settimeout(args.connect_timeout)
        try:
            s.connect((args.host, args.port))
        except (socket.timeout, OSError) as e:
            print("conn %d: -> %s:%d connect failed after %.1f s: %s"
                  % (i, args.host, args.port, time.monotonic() - t0, e), flush=True)
            return
        t_conn = time.monotonic() - t0
        local = "%s:%d" % s.getsockname()
        s.sendall(null_call(xid, vers))
        deadline = time.monotonic() + args.reply_timeout
        try:
            (mark,) = struct.unpack(">I", recv_exact(s, 4, deadline))
            data = recv_exact(s, min(mark & 0x7FFFFFFF, 4096), deadline)
            what = "NFSv%d NULL %s" % (vers, describe_reply(data, xid))
        except (socket.timeout, OSError, ConnectionError) as e:
            what = "NFSv%d NULL: no reply (%s)" % (vers, e)
        if args.big_call:
            # A second call, padded to a large segment (a path that drops large packets).
            big_xid = (xid + 1) & 0xFFFFFFFF
            s.sendall(null_call(big_xid, vers, args.big_call))
            deadline = time.monotonic() + args.reply_timeout
            try:
                (mark,) = struct.unpack(">I", recv_exact(s, 4, deadline))
                data = recv_exact(s, min(mark & 0x7FFFFFFF, 4096), deadline)
                what += ", %d-byte call %s" % (args.big_call, describe_reply(data, big_xid))
            except (socket.timeout, OSError, ConnectionError) as e:
                what += ", %d-byte call: no reply (%s), connection reset" % (args.big_call, e)
                # Give up as a client that resets its transport does: an abortive close (RST)
                # instead of a FIN queued behind data that is never acknowledged.
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        print("conn %d: %s -> %s:%d connected in %.3f s, %s"
              % (i, local, args.host, args.port, t_conn, what), flush=True)
    finally:
        s.close()


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("host")
    p.add_argument("port", type=int)
    p.add_argument("--count", type=int, default=3, help="connections, one after the other (max 20)")
    p.add_argument("--connect-timeout", type=float, default=5.0)
    p.add_argument("--reply-timeout", type=float, default=3.0)
    p.add_argument("--pause", type=float, default=0.5, help="seconds between connections")
    p.add_argument("--vers", type=lambda s: [int(v) for v in s.split(",")], default=[3, 4],
                   help="NFS versions to ping, used round robin (default 3,4)")
    p.add_argument("--big-call", type=int, default=0, metavar="BYTES",
                   help="after the NULL reply, send a NULL call with BYTES of padding (max 8000) "
                        "and wait for its reply")
    args = p.parse_args()
    args.big_call = max(0, min(args.big_call, 8000))
    args.count = max(1, min(args.count, 20))
    for i in range(1, args.count + 1):
        one_connection(i, args)
        if i < args.count:
            time.sleep(args.pause)
    return 0


if __name__ == "__main__":
    sys.exit(main())

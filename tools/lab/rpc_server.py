#!/usr/bin/env python3
"""FALLBACK server for the vxcheck lab, used only when nfs-ganesha cannot start
(lab.sh says so loudly when it falls back, and `lab.sh status` shows which one runs).

It is NOT an NFS server. It listens on ADDR:PORT, and on each connection reads
ONC RPC records (RFC 5531 record marking): a CALL gets an "accepted, SUCCESS"
reply with an empty body (what a real server answers to the NULL procedure);
anything else is echoed back. That is enough for the lab's clients, which only
connect, send a NULL call and wait for the answer.

Bounded: the process exits by itself after --lifetime seconds (default 4 h),
each connection after --idle seconds without data.
"""
import argparse
import socket
import struct
import threading
import time


def reply_for(record: bytes) -> bytes:
    if len(record) >= 8:
        xid, mtype = struct.unpack(">II", record[:8])
        if mtype == 0:  # CALL
            body = struct.pack(">IIIIII", xid, 1, 0, 0, 0, 0)  # REPLY, MSG_ACCEPTED, verf AUTH_NONE, SUCCESS
            return struct.pack(">I", 0x80000000 | len(body)) + body
    return struct.pack(">I", 0x80000000 | len(record)) + record  # echo


def serve(conn: socket.socket, idle: float) -> None:
    conn.settimeout(idle)
    buf = b""
    try:
        while True:
            data = conn.recv(65536)
            if not data:
                return
            buf += data
            while len(buf) >= 4:
                (mark,) = struct.unpack(">I", buf[:4])
                n = mark & 0x7FFFFFFF
                if n > 1 << 20:  # not record marking: plain echo
                    conn.sendall(buf)
                    buf = b""
                    break
                if len(buf) < 4 + n:
                    break
                conn.sendall(reply_for(buf[4:4 + n]))
                buf = buf[4 + n:]
    except OSError:
        return
    finally:
        conn.close()


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("addr")
    p.add_argument("port", type=int)
    p.add_argument("--lifetime", type=float, default=4 * 3600)
    p.add_argument("--idle", type=float, default=30.0)
    a = p.parse_args()
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((a.addr, a.port))
    s.listen(64)
    end = time.monotonic() + a.lifetime
    while time.monotonic() < end:
        s.settimeout(max(0.1, min(5.0, end - time.monotonic())))
        try:
            c, _ = s.accept()
        except socket.timeout:
            continue
        threading.Thread(target=serve, args=(c, a.idle), daemon=True).start()


if __name__ == "__main__":
    main()

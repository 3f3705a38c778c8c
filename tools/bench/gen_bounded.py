#!/usr/bin/python3
"""Write the captures of the bounded-memory floods (issue 22 item 4).

  --kind vtep      N VXLAN frames, each from a distinct outer VTEP pair (10.128.0.0/9 ->
                   10.0.0.0/9 by index) with a zero outer UDP checksum, all carrying the same
                   inner TCP ACK to port 2049: N pairs for the VTEP-mode table, one connection.
  --kind findings  N distinct connections to port 2049 whose SYN is sent twice, one second
                   apart, and never answered: N syn_dropped findings, each with two evidence
                   frames (`analyze --evidence`).
  --kind lists     N distinct connections to port 2049, each crafted to fill its lists: 4 ISNs
                   with 16 SYN transmissions each (distinct IP IDs), untunnelled (each also a
                   sighting): 64 frames per connection, all live at once.

(gen_flood.py writes the plain SYN flood of N distinct connections.) Classic pcap,
Ethernet, checksums correct (the outer UDP checksum zero), timestamps 1 microsecond apart except
the retransmissions. Deterministic. Standard library only.

Usage: gen_bounded.py --kind vtep|findings|lists [--count N] OUT.pcap
"""

import argparse
import struct

from gen_flood import csum  # this directory's


def ipv4(src: bytes, dst: bytes, proto: int, payload_len: int, ident: int) -> bytes:
    ip = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 20 + payload_len, ident & 0xffff, 0x4000, 64,
                     proto, 0, src, dst)
    return ip[:10] + struct.pack('!H', csum(ip)) + ip[12:]


def tcp(src: bytes, dst: bytes, sport: int, dport: int, seq: int, flags: int) -> bytes:
    t = struct.pack('!HHIIBBHHH', sport, dport, seq & 0xffffffff, 0, 5 << 4, flags, 64240, 0, 0)
    pseudo = src + dst + struct.pack('!BBH', 0, 6, len(t))
    return t[:16] + struct.pack('!H', csum(pseudo + t)) + t[18:]


ETH = bytes.fromhex('0a580af40001' '0a580af40102' '0800')


def record(f, ts_us: int, frame: bytes) -> None:
    f.write(struct.pack('<IIII', ts_us // 1000000, ts_us % 1000000, len(frame), len(frame)))
    f.write(frame)


def addr(prefix: int, i: int) -> bytes:
    return struct.pack('!I', prefix | (i & 0x7fffff))


def write_vtep(f, n: int) -> None:
    c, s = bytes([10, 244, 1, 5]), bytes([10, 244, 2, 7])
    inner_tcp = tcp(c, s, 45000, 2049, 1000, 0x10)
    inner = ETH + ipv4(c, s, 6, len(inner_tcp), 1) + inner_tcp
    vxlan = struct.pack('!II', 0x08000000, 1 << 8) + inner
    udp = struct.pack('!HHHH', 40000, 8472, 8 + len(vxlan), 0) + vxlan  # zero checksum
    base = 1700000000 * 1000000
    for i in range(n):
        # 2^23 addresses on each side: pairs (i, i) then (i, i + 1) ... stay distinct up to 8M.
        src = addr(0x0a800000, i)
        dst = addr(0x0a000000, i + (i >> 23))
        record(f, base + i, ETH + ipv4(src, dst, 17, len(udp), i) + udp)


def write_findings(f, n: int) -> None:
    dst = bytes([10, 96, 0, 10])
    base = 1700000000 * 1000000
    # In rounds of 100,000 connections: each SYN, then one second later its retransmission.
    for start in range(0, n, 100000):
        end = min(n, start + 100000)
        for again in (0, 1):
            for i in range(start, end):
                src = bytes([10, 244, (i >> 16) & 0xff, (i >> 8) & 0xff])
                sport = 1024 + (i & 0xff) * 200 + 7
                t = tcp(src, dst, sport, 2049, i * 7919, 0x02)
                ts = base + (start // 100000) * 3000000 + again * 1000000 + (i - start)
                record(f, ts, ETH + ipv4(src, dst, 6, len(t), i) + t)


def write_lists(f, n: int) -> None:
    dst = bytes([10, 96, 0, 10])
    base = 1700000000 * 1000000
    ts = base
    # Connection by connection: each one's 64 SYNs, then the next's.
    for i in range(n):
        src = bytes([10, 244, (i >> 16) & 0xff, (i >> 8) & 0xff])
        sport = 1024 + (i & 0xff) * 200 + 7
        for isn in range(4):
            for k in range(16):
                t = tcp(src, dst, sport, 2049, i * 7919 + isn * 1000003, 0x02)
                record(f, ts, ETH + ipv4(src, dst, 6, len(t), isn * 16 + k) + t)
                ts += 1


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--kind', choices=('vtep', 'findings', 'lists'), required=True)
    ap.add_argument('--count', type=int, default=1000000, help='pairs or findings')
    ap.add_argument('out', help='output pcap')
    args = ap.parse_args()
    with open(args.out, 'wb') as f:
        f.write(struct.pack('<IHHiIII', 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
        {'vtep': write_vtep, 'findings': write_findings, 'lists': write_lists}[args.kind](f, args.count)


if __name__ == '__main__':
    main()

#!/usr/bin/python3
"""Write a SYN flood capture: N distinct TCP connections to port 2049, one SYN each.

The memory test of issue 5 ("a flood of one million distinct flows stays under a stated
bound, with evictions counted"): every SYN opens a connection that vxcheck tracks until
--max-flows is reached, after which the least recently active ones are decided early and
counted as evicted. Classic pcap, Ethernet/IPv4/TCP with correct checksums, untunnelled
(a flood on flannel.1), 1 microsecond apart. Deterministic. Standard library only.

Usage: gen_flood.py [--flows N] OUT.pcap
"""

import argparse
import struct


def csum(data: bytes) -> int:
    if len(data) % 2:
        data += b'\0'
    s = sum(struct.unpack('!%dH' % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--flows', type=int, default=1000000, help='connections (default 1000000)')
    ap.add_argument('out', help='output pcap')
    args = ap.parse_args()
    eth = bytes.fromhex('0a580af40001' '0a580af40102' '0800')
    dst = bytes([10, 96, 0, 10])
    with open(args.out, 'wb') as f:
        f.write(struct.pack('<IHHiIII', 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
        for i in range(args.flows):
            src = bytes([10, 244, (i >> 16) & 0xff, (i >> 8) & 0xff])
            sport = 1024 + (i & 0xff) * 200 + 7
            tcp = struct.pack('!HHIIBBHHH', sport, 2049, i * 7919 & 0xffffffff, 0, 5 << 4, 0x02,
                              64240, 0, 0)
            pseudo = src + dst + struct.pack('!BBH', 0, 6, len(tcp))
            tcp = tcp[:16] + struct.pack('!H', csum(pseudo + tcp)) + tcp[18:]
            ip = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 20 + len(tcp), i & 0xffff, 0x4000, 64, 6, 0,
                             src, dst)
            ip = ip[:10] + struct.pack('!H', csum(ip)) + ip[12:]
            frame = eth + ip + tcp
            ts = 1700000000 * 1000000 + i
            f.write(struct.pack('<IIII', ts // 1000000, ts % 1000000, len(frame), len(frame)))
            f.write(frame)


if __name__ == '__main__':
    main()

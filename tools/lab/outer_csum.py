#!/usr/bin/env python3
"""Independent look at the VXLAN packets of a lab capture (Python stdlib only,
no code shared with vxcheck, so the two can be compared).

For every IPv4/UDP packet to or from port 8472 (Linux/Flannel VXLAN) in a
classic pcap file (what `tcpdump -w` writes) it prints:
  - the outer addresses, source port and stored UDP checksum;
  - the inner TCP/UDP checksum state: ok, or "partial" (the Linux
    CHECKSUM_PARTIAL form: the non-complemented pseudo-header sum, left for
    the NIC; seen when the capture tap sits before the NIC/veth fills it in);
  - the outer UDP checksum state, computed over the packet with the inner
    partial checksum replaced by its final value (that is what local checksum
    offload, LCO, assumes when it computes the outer checksum):
      ok       valid as captured
      ok(lco)  valid once the inner checksum is final
      BAD      neither; then also `valid-for-sport P` = the source port for which
               the stored checksum WOULD be valid (domain.md 2.4, Variant B):
               R = onesum(packet), P_old = fold(P_new + ~R)
      zero     the sender did not compute one (noudpcsum)

Usage: outer_csum.py FILE.pcap [--max N]   (N packet lines, then a summary)
"""
import argparse
import collections
import struct
import sys


def onesum(data: bytes, start: int = 0) -> int:
    if len(data) % 2:
        data += b"\0"
    s = start + sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return s


def fold(x: int) -> int:
    while x >> 16:
        x = (x & 0xFFFF) + (x >> 16)
    return x


def pseudo(src: bytes, dst: bytes, proto: int, length: int) -> int:
    return onesum(src + dst + struct.pack("!BBH", 0, proto, length))


def read_pcap(path):
    with open(path, "rb") as f:
        hdr = f.read(24)
        if len(hdr) < 24:
            return
        magic = struct.unpack("<I", hdr[:4])[0]
        if magic in (0xA1B2C3D4, 0xA1B23C4D):
            e = "<"
        elif magic in (0xD4C3B2A1, 0x4D3CB2A1):
            e = ">"
        else:
            raise SystemExit("%s: not a classic pcap file" % path)
        linktype = struct.unpack(e + "I", hdr[20:24])[0]
        n = 0
        while True:
            rh = f.read(16)
            if len(rh) < 16:
                return
            ts_s, ts_f, caplen, _wirelen = struct.unpack(e + "IIII", rh)
            data = f.read(caplen)
            n += 1
            yield n, ts_s + ts_f / 1e6, linktype, data


def ip_str(b: bytes) -> str:
    return ".".join(str(x) for x in b)


def inner_l4(frame: bytearray, off: int):
    """frame[off:] is an inner Ethernet frame. Returns a description dict and
    replaces a partial inner L4 checksum by its final value in place."""
    d = {"desc": "?", "state": "-"}
    if len(frame) < off + 14 + 20:
        return d
    ethertype = struct.unpack("!H", frame[off + 12:off + 14])[0]
    if ethertype != 0x0800:
        d["desc"] = "ethertype 0x%04x" % ethertype
        return d
    ip = off + 14
    ihl = (frame[ip] & 0x0F) * 4
    total = struct.unpack("!H", frame[ip + 2:ip + 4])[0]
    ipid = struct.unpack("!H", frame[ip + 4:ip + 6])[0]
    proto = frame[ip + 9]
    src, dst = bytes(frame[ip + 12:ip + 16]), bytes(frame[ip + 16:ip + 20])
    l4 = ip + ihl
    l4len = total - ihl
    if len(frame) < l4 + l4len or proto not in (6, 17):
        d["desc"] = "%s > %s proto %d" % (ip_str(src), ip_str(dst), proto)
        return d
    cko = l4 + (16 if proto == 6 else 6)
    sport, dport = struct.unpack("!HH", frame[l4:l4 + 4])
    ph = pseudo(src, dst, proto, l4len)
    stored = struct.unpack("!H", frame[cko:cko + 2])[0]
    if proto == 6:
        seq = struct.unpack("!I", frame[l4 + 4:l4 + 8])[0]
        flags = frame[l4 + 13]
        fl = "".join(c for c, bit in zip("FSRPAU", (1, 2, 4, 8, 16, 32)) if flags & bit) or "."
        doff = (frame[l4 + 12] >> 4) * 4
        d["desc"] = "%s:%d > %s:%d [%s] seq %d len %d ipid %d" % (
            ip_str(src), sport, ip_str(dst), dport, fl, seq, l4len - doff, ipid)
        d["syn"] = bool(flags & 2) and not flags & 16
    else:
        d["desc"] = "%s:%d > %s:%d udp len %d" % (ip_str(src), sport, ip_str(dst), dport, l4len)
    if onesum(bytes(frame[l4:l4 + l4len]), ph) == 0xFFFF:
        d["state"] = "ok"
    elif stored == ph or (stored == 0xFFFF and ph == 0):
        tmp = bytearray(frame[l4:l4 + l4len])
        tmp[cko - l4:cko - l4 + 2] = b"\0\0"
        final = (~onesum(bytes(tmp), ph)) & 0xFFFF
        if proto == 17 and final == 0:
            final = 0xFFFF
        frame[cko:cko + 2] = struct.pack("!H", final)
        d["state"] = "partial"
    else:
        d["state"] = "BAD"
    return d


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("pcap")
    ap.add_argument("--max", type=int, default=40, help="packet lines to print (summary always)")
    ap.add_argument("--port", type=int, default=8472)
    ap.add_argument("--frames", action="store_true", help="only print the number of frames in the file")
    a = ap.parse_args()
    if a.frames:
        print(sum(1 for _ in read_pcap(a.pcap)))
        return 0

    lines = 0
    stats = collections.Counter()
    sports = collections.OrderedDict()
    for n, ts, linktype, data in read_pcap(a.pcap):
        if linktype != 1 or len(data) < 14 + 20 + 8:
            continue
        frame = bytearray(data)
        if struct.unpack("!H", frame[12:14])[0] != 0x0800:
            continue
        ip = 14
        ihl = (frame[ip] & 0x0F) * 4
        if frame[ip + 9] != 17:
            continue
        src, dst = bytes(frame[ip + 12:ip + 16]), bytes(frame[ip + 16:ip + 20])
        u = ip + ihl
        sport, dport, ulen, ucheck = struct.unpack("!HHHH", frame[u:u + 8])
        if a.port not in (sport, dport) or len(frame) < u + ulen:
            continue
        inner = inner_l4(frame, u + 8 + 8)
        if ucheck == 0:
            state, extra = "zero", ""
        else:
            r = onesum(bytes(frame[u:u + ulen]), pseudo(src, dst, 17, ulen))
            if r == 0xFFFF:
                state = "ok(lco)" if inner["state"] == "partial" else "ok"
                extra = ""
            else:
                tmp = bytearray(frame[u:u + ulen])
                tmp[6:8] = b"\0\0"
                exp = (~onesum(bytes(tmp), pseudo(src, dst, 17, ulen))) & 0xFFFF or 0xFFFF
                p_old = fold(sport + ((~r) & 0xFFFF))
                state = "BAD"
                extra = " expected 0x%04x, stored value is valid-for-sport %d" % (exp, p_old)
        stats[state] += 1
        key = "%s:%d>%s:%d" % (ip_str(src), sport, ip_str(dst), dport)
        sports.setdefault(key, collections.Counter())[state] += 1
        if lines < a.max:
            print("  #%-4d %s csum 0x%04x %s%s | inner %s (inner csum %s)"
                  % (n, key, ucheck, state, extra, inner["desc"], inner["state"]))
            lines += 1
    if lines >= a.max:
        print("  ... (first %d VXLAN packets shown)" % a.max)
    print("  outer UDP checksum states: %s" % (", ".join("%s=%d" % kv for kv in sorted(stats.items())) or "no VXLAN packets"))
    for key, c in sports.items():
        print("    flow %-45s %s" % (key, ", ".join("%s=%d" % kv for kv in sorted(c.items()))))
    return 0


if __name__ == "__main__":
    sys.exit(main())

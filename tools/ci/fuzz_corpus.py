#!/usr/bin/env python3
"""Seed corpora for the libFuzzer targets (tests/fuzz) from the shipped captures.

    fuzz_corpus.py PCAP_DIR OUT_DIR

OUT_DIR/reader/ gets every capture file of PCAP_DIR and PCAP_DIR/bad as it is (fuzz_reader);
OUT_DIR/frame/ gets every frame of every classic pcap and pcapng file, one seed each, in the
input layout of tests/fuzz/fuzz_frame.cc: one flags byte (the link type, and whether the
snaplen cut the frame), then the frame's bytes. Identical seeds are written once. Reads the
files itself (no libpcap, no scapy); a file it cannot parse contributes no frame seeds.
OUT_DIR/rpc/ gets, for every TCP connection with payload in the captures of PCAP_DIR/nfs, its
payload segments in capture order in the input layout of tests/fuzz/fuzz_rpc.cc: one flags
byte (whether the client's SYN was seen), then per segment its direction, its length and its
bytes. Ethernet frames only, VXLAN (UDP 8472, 4789) looked through.
"""

import hashlib
import pathlib
import shutil
import struct
import sys

# LinkType in include/vxcheck/frame.h, by enum order, from the pcap LINKTYPE_ values.
LINK_INDEX = {1: 0, 113: 1, 276: 2, 101: 3, 228: 4, 229: 5, 0: 6, 108: 6}
UNSUPPORTED = 7
SNAPLEN_CUT = 0x10  # fuzz_frame.cc frame_flags::kSnaplenCut

PCAP_MAGICS = {
    b"\xd4\xc3\xb2\xa1": "<", b"\x4d\x3c\xb2\xa1": "<",
    b"\xa1\xb2\xc3\xd4": ">", b"\xa1\xb2\x3c\x4d": ">",
}


def classic_frames(data):
    """(linktype, caplen, wirelen, bytes) of each whole record of a classic pcap file."""
    end = PCAP_MAGICS[data[:4]]
    linktype = struct.unpack(end + "I", data[20:24])[0] & 0x0FFFFFFF
    off = 24
    while off + 16 <= len(data):
        _, _, caplen, wirelen = struct.unpack(end + "IIII", data[off:off + 16])
        off += 16
        if off + caplen > len(data):
            return
        yield linktype, caplen, wirelen, data[off:off + caplen]
        off += caplen


def pcapng_frames(data):
    """(linktype, caplen, wirelen, bytes) of each enhanced or simple packet block."""
    links = []
    end = "<"
    off = 0
    while off + 12 <= len(data):
        btype = struct.unpack(end + "I", data[off:off + 4])[0]
        if btype == 0x0A0D0D0A:  # section header: its byte-order magic sets the endianness
            end = "<" if data[off + 8:off + 12] == b"\x4d\x3c\x2b\x1a" else ">"
            links = []
        blen = struct.unpack(end + "I", data[off + 4:off + 8])[0]
        if blen < 12 or off + blen > len(data):
            return
        body = data[off + 8:off + blen - 4]
        if btype == 1 and len(body) >= 2:
            links.append(struct.unpack(end + "H", body[:2])[0])
        elif btype == 6 and len(body) >= 20:
            iface, _, _, caplen, wirelen = struct.unpack(end + "IIIII", body[:20])
            if iface < len(links) and 20 + caplen <= len(body):
                yield links[iface], caplen, wirelen, body[20:20 + caplen]
        elif btype == 3 and len(body) >= 4 and links:
            wirelen = struct.unpack(end + "I", body[:4])[0]
            packet = body[4:4 + wirelen]
            yield links[0], len(packet), wirelen, packet
        off += blen


def frames(data):
    if data[:4] in PCAP_MAGICS and len(data) >= 24:
        return classic_frames(data)
    if data[:4] == b"\x0a\x0d\x0d\x0a":
        return pcapng_frames(data)
    return iter(())


SEED_SYN = 0x01          # fuzz_rpc.cc conn_flags::kSyn
SEED_FROM_SERVER = 0x01  # fuzz_rpc.cc seg_flags::kFromServer
VXLAN_PORTS = (8472, 4789)


def tcp_segment(frame, depth=0):
    """(src, dst, flags, payload) of the innermost TCP segment of an Ethernet frame, or None."""
    if len(frame) < 14:
        return None
    ethertype, off = struct.unpack("!H", frame[12:14])[0], 14
    while ethertype in (0x8100, 0x88A8) and len(frame) >= off + 4:
        ethertype, off = struct.unpack("!H", frame[off + 2:off + 4])[0], off + 4
    if ethertype == 0x0800 and len(frame) >= off + 20:
        ihl, total = (frame[off] & 0x0F) * 4, struct.unpack("!H", frame[off + 2:off + 4])[0]
        proto, src, dst = frame[off + 9], frame[off + 12:off + 16], frame[off + 16:off + 20]
        l4 = frame[off + ihl:off + total]
    elif ethertype == 0x86DD and len(frame) >= off + 40:
        plen = struct.unpack("!H", frame[off + 4:off + 6])[0]
        proto, src, dst = frame[off + 6], frame[off + 8:off + 24], frame[off + 24:off + 40]
        l4 = frame[off + 40:off + 40 + plen]
    else:
        return None
    if proto == 17 and len(l4) >= 16 and depth < 2:
        if struct.unpack("!H", l4[2:4])[0] in VXLAN_PORTS:
            return tcp_segment(l4[16:], depth + 1)
        return None
    if proto != 6 or len(l4) < 20:
        return None
    sport, dport = struct.unpack("!HH", l4[:4])
    return (src, sport), (dst, dport), l4[13], l4[(l4[12] >> 4) * 4:]


def rpc_seeds(data):
    """The fuzz_rpc seeds of one Ethernet capture: one per connection (a new SYN on a 4-tuple
    starts the next) that carried payload."""
    conns, done = {}, []
    for linktype, _, _, packet in frames(data):
        seg = tcp_segment(packet) if linktype == 1 else None
        if seg is None:
            continue
        src, dst, flags, payload = seg
        key = tuple(sorted((src, dst)))
        syn_only = flags & 0x12 == 0x02
        c = conns.get(key)
        if c is None or (syn_only and c["segs"]):
            if c is not None:
                done.append(c)
            c = conns[key] = {"client": src if syn_only else None, "syn": syn_only, "segs": []}
        if c["client"] is None:
            c["client"] = dst if src[1] == 2049 else src
        if payload:
            c["segs"].append((src != c["client"], payload))
    out = []
    for c in done + list(conns.values()):
        if c["segs"]:
            seed = bytes([SEED_SYN if c["syn"] else 0])
            for from_server, payload in c["segs"]:
                head = SEED_FROM_SERVER if from_server else 0
                seed += struct.pack("!BH", head, len(payload)) + payload
            out.append(seed)
    return out


def write_seed(directory, seed, seen):
    digest = hashlib.sha1(seed).hexdigest()
    if digest not in seen:
        seen.add(digest)
        (directory / digest).write_bytes(seed)


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    pcaps = pathlib.Path(sys.argv[1])
    out = pathlib.Path(sys.argv[2])
    reader = out / "reader"
    frame = out / "frame"
    rpc = out / "rpc"
    for d in (reader, frame, rpc):
        shutil.rmtree(d, ignore_errors=True)
        d.mkdir(parents=True)
    files = sorted(p for d in (pcaps, pcaps / "bad") if d.is_dir() for p in d.iterdir()
                   if p.is_file() and p.suffix in (".pcap", ".pcapng"))
    seeds = set()
    for path in files:
        data = path.read_bytes()
        shutil.copyfile(path, reader / path.name)
        try:
            for linktype, caplen, wirelen, packet in frames(data):
                flags = LINK_INDEX.get(linktype, UNSUPPORTED)
                if wirelen > caplen:
                    flags |= SNAPLEN_CUT
                write_seed(frame, bytes([flags]) + packet, seeds)
        except struct.error:
            pass  # a damaged file: its whole records so far are in
    nfs = sorted(p for p in (pcaps / "nfs").glob("*.pcap*") if p.is_file())
    rpc_seen = set()
    for path in nfs:
        for seed in rpc_seeds(path.read_bytes()):
            write_seed(rpc, seed, rpc_seen)
    print(f"fuzz_corpus: {len(files)} files, {len(seeds)} frame seeds, "
          f"{len(rpc_seen)} rpc seeds from {len(nfs)} NFS captures in {out}")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Seed corpora for the libFuzzer targets (tests/fuzz) from the shipped captures.

    fuzz_corpus.py PCAP_DIR OUT_DIR

OUT_DIR/reader/ gets every capture file of PCAP_DIR and PCAP_DIR/bad as it is (fuzz_reader);
OUT_DIR/frame/ gets every frame of every classic pcap and pcapng file, one seed each, in the
input layout of tests/fuzz/fuzz_frame.cc: one flags byte (the link type, and whether the
snaplen cut the frame), then the frame's bytes. Identical seeds are written once. Reads the
files itself (no libpcap, no scapy); a file it cannot parse contributes no frame seeds.
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


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    pcaps = pathlib.Path(sys.argv[1])
    out = pathlib.Path(sys.argv[2])
    reader = out / "reader"
    frame = out / "frame"
    for d in (reader, frame):
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
                seed = bytes([flags]) + packet
                digest = hashlib.sha1(seed).hexdigest()
                if digest not in seeds:
                    seeds.add(digest)
                    (frame / digest).write_bytes(seed)
        except struct.error:
            pass  # a damaged file: its whole records so far are in
    print(f"fuzz_corpus: {len(files)} files, {len(seeds)} frame seeds in {out}")


if __name__ == "__main__":
    main()

#!/usr/bin/python3
"""Cross-check vxcheck's checksum verdicts against tshark's, checksum by checksum.

Usage: tshark_compare.py --vxcheck PATH [-v] FILE|DIR...

For every capture this script runs

    vxcheck analyze --json --packets all FILE
    tshark -r FILE -o ip.check_checksum:TRUE -o tcp.check_checksum:TRUE -o udp.check_checksum:TRUE
           -o ip.defragment:BOOL -o ipv6.defragment:BOOL
           -d udp.port==8472,vxlan -T fields -E occurrence=a -e ...

(the tshark fields are each IPv4/UDP/TCP/GRE checksum with its status and calculated value, plus
the lengths, UDP payloads and frame.protocols needed to check justifications). It pairs vxcheck's
n-th IPv4 / UDP / TCP / GRE verdict (layers are outermost first) with tshark's occurrences of the
same field, in order and on equal stored values, so that headers only tshark decodes (a GRE
payload, a header quoted in an ICMP error, ...) do not shift the pairs; the layers behind GRE,
ERSPAN, MPLS and IP-in-IP pair the same way once vxcheck decodes them.

Defragmentation (--defragment): tshark reassembles IP datagrams and puts the reassembled
datagram's checksums on the frame of the fragment that completed it; a vxcheck that reassembles
(its file summary has `datagrams_reassembled`) puts its verdicts there too, as a record of type
`datagram` with `reassembled` (merged here into that frame's checks, after the fragment's own). `auto`
(the default) turns tshark's reassembly on exactly when vxcheck's is, so the same comparison
holds for a vxcheck with and without reassembly; `on` / `off` force it. Every checksum of every
frame then lands in one class:

    agree        the same verdict: ok/good, or bad/bad with the same correct value
    <category>   a named, justified difference (CATEGORIES below). The justification is checked
                 against the packet's own values and recomputed checksum arithmetic, never inferred
                 from a verdict alone.
    UNEXPLAINED  anything else, with a hint about which check failed

A per-file table comes first (-v lists every item; UNEXPLAINED items are always listed), then the
totals per category, then a last line "N passed, M failed": M counts the UNEXPLAINED items plus
tool failures (a vxcheck crash, tshark errors). The exit status is 0 if and only if M == 0.

Checksum arithmetic follows /work/shared/domain.md section 0 (RFC 1071, RFC 1624). Written for
tshark 4.0 (Debian 12); standard library only.
"""

from __future__ import annotations

import argparse
import dataclasses
import ipaddress
import json
import os
import subprocess
import sys
from collections import Counter
from typing import Optional

# --------------------------------------------------------------------------------------------
# Classes of items
# --------------------------------------------------------------------------------------------

AGREE = "agree"
UNEXPLAINED = "UNEXPLAINED"

CATEGORIES = {
    "partial":
        "vxcheck partial, tshark bad: the field equals the pseudo-header sum recomputed here from the "
        "addresses and tshark's L4 length (or length 0), and both tools give the same final value "
        "(TX offload / GRO, domain.md 0.3, 3.2)",
    "local_checksum_offload":
        "outer UDP of a tunnel whose inner checksum(s) are partial: tshark's value over the raw bytes, "
        "with the inner final values substituted (RFC 1624), equals the stored field (vxcheck ok) or "
        "vxcheck's correct value (both bad) (domain.md 3.3)",
    "zero":
        "UDP over IPv4 with check 0x0000: vxcheck zero, tshark 'not present'",
    "zero_over_ipv6":
        "UDP over IPv6 with check 0x0000: vxcheck bad (zero_over_ipv6), tshark 'illegal'",
    "unverified":
        "vxcheck unverified, and its reason holds: snaplen (caplen < wire length, tshark does not "
        "verify either), fragment (tshark sees the fragment too), length_mismatch (a length field "
        "claims more than there is, or less than a header), super_packet (IP length 0)",
    "negative_zero":
        "TCP or IPv4 header checksum stored as 0xFFFF where tshark computes 0x0000: the two are the "
        "one's-complement zeros, so the sum over the covered bytes is 0xFFFF and the checksum "
        "verifies (RFC 1071, RFC 1624 3; a Linux receiver accepts it): vxcheck ok, tshark bad",
    "header_cut":
        "the snaplen cut the frame inside an IPv4 header: tshark reads its checksum field and calls it "
        "unverified, vxcheck records ipv4.header_truncated and gives no verdict; neither verifies",
    "ipv6_pseudo_header":
        "IPv6 routing header / home address option: vxcheck ok, tshark bad, and the two calculated "
        "values differ by exactly the pseudo-header address substitution (RFC 8200 8.1, RFC 6275)",
    "tshark_malformed":
        "tshark marks the frame malformed (e.g. UDP length 0 in a BIG TCP tunnel super-packet) and has "
        "no checksum for a header vxcheck judged; a vxcheck 'partial' must still be the pseudo-header "
        "sum over the captured L4 extent",
    "malformed_l4_header":
        "a TCP data offset that cannot be (anomaly, no vxcheck verdict); tshark flags the TCP header "
        "malformed too but still computes a checksum",
    "not_followed_encapsulation":
        "tshark decodes a header behind a carrier vxcheck does not follow: GRE (IP protocol 47), "
        "IP-in-IP (4/41), a UDP port that is not VXLAN/Geneve (e.g. VXLAN-GPE/NSH 4790), or a header "
        "quoted in an ICMP error",
    "vxlan_i_flag_clear":
        "VXLAN header whose I flag is clear: vxcheck stops (anomaly), tshark decodes the payload",
    "tunnel_depth_cap":
        "vxcheck stops at its encapsulation depth cap (anomaly), tshark decodes deeper",
    "raw_version_mismatch":
        "LINKTYPE_IPV4/IPV6 frame that holds the other IP version: vxcheck skips it as malformed, "
        "tshark decodes it",
    "fragment_overlap":
        "the L4 checksum of a datagram reassembled from overlapping fragments: tshark reassembles "
        "them (and flags the overlap itself, ip/ipv6.fragment.overlap), vxcheck discards the "
        "datagram as Linux does (inet_frag_queue_insert; RFC 5722 for IPv6) and names it "
        "ip.fragment_overlap on the frame",
    "vxlan_gpe_not_decoded":
        "the payload of UDP port 4790 where vxcheck stops: its bytes are a VXLAN-GPE header (version "
        "0, P bit set) whose next protocol is IPv4, IPv6, Ethernet or NSH (RFC 8300: version 0, its "
        "length inside the payload, next protocol IPv4/IPv6/Ethernet), and the inner IP header "
        "starts where those headers say; vxcheck decodes neither VXLAN-GPE nor NSH",
}

# --------------------------------------------------------------------------------------------
# Checksum arithmetic (domain.md section 0)
# --------------------------------------------------------------------------------------------


def fold(value: int) -> int:
    """Folds a non-negative sum to 16 bits with end-around carry."""
    while value > 0xFFFF:
        value = (value & 0xFFFF) + (value >> 16)
    return value


def add(*words: int) -> int:
    """One's-complement sum."""
    return fold(sum(words))


def neg(word: int) -> int:
    """One's-complement negation of a 16-bit word."""
    return ~word & 0xFFFF


def address_sum(address: str) -> int:
    data = ipaddress.ip_address(address).packed
    return add(*(int.from_bytes(data[i:i + 2], "big") for i in range(0, len(data), 2)))


def pseudo_header_sum(src: str, dst: str, proto: int, l4_length: int) -> int:
    """Non-complemented pseudo-header sum: the value Linux leaves in a CHECKSUM_PARTIAL field.

    The L4 length is added as a 32-bit quantity, as the kernel does (BIG TCP, > 65535).
    """
    return add(address_sum(src), address_sum(dst), proto, l4_length >> 16, l4_length & 0xFFFF)


def as_udp_checksum(value: int) -> int:
    """A computed UDP checksum of 0 is sent as 0xFFFF (RFC 768)."""
    return 0xFFFF if value == 0 else value


# --------------------------------------------------------------------------------------------
# Data model
# --------------------------------------------------------------------------------------------

KINDS = ("ipv4", "udp", "tcp", "gre")  # vxcheck's layer names for the checksums
TSHARK_PROTO = {"ipv4": "ip", "udp": "udp", "tcp": "tcp", "gre": "gre"}
NO_CALCULATED = {"gre"}  # tshark 4.0 has gre.checksum and its status, no calculated value
TS_BAD, TS_GOOD, TS_UNVERIFIED, TS_NOT_PRESENT, TS_ILLEGAL = range(5)  # *.checksum.status
TS_STATUS = {TS_BAD: "bad", TS_GOOD: "good", TS_UNVERIFIED: "unverified",
             TS_NOT_PRESENT: "not_present", TS_ILLEGAL: "illegal"}
PI_ERROR = 0x00800000  # epan/proto.h expert severity

# frame.protocols entries that are framing or IPv6 extension headers, not carriers of an IP header
LINK_TOKENS = {
    "eth", "ethertype", "vlan", "ieee8021ad", "sll", "null", "raw", "loop", "llc", "cmd", "mpls",
    "pwethheuristic", "pwethcw", "ipv6.hopopts", "ipv6.routing", "ipv6.dstopts", "ipv6.fraghdr",
}
IP_TOKENS = {"ip", "ipv6"}
ICMP_ERROR_TYPES = {"icmp": {3, 4, 5, 11, 12}, "icmpv6": {1, 2, 3, 4}}
VXCHECK_TUNNEL_PORTS = {4789, 8472, 6081}  # VXLAN (IANA, Flannel) and Geneve


@dataclasses.dataclass
class VxCheck:
    """One checksum verdict of vxcheck."""

    kind: str  # ipv4 | udp | tcp
    layer_index: int  # index into VxFrame.layers
    depth: int
    status: str
    stored: int
    expected: Optional[int]
    reason: Optional[str]

    @property
    def label(self) -> str:
        return f"d{self.depth}.{'ip' if self.kind == 'ipv4' else self.kind}"

    def describe(self) -> str:
        text = f"{self.status} F=0x{self.stored:04x}"
        if self.expected is not None:
            text += f" E=0x{self.expected:04x}"
        return text + (f" ({self.reason})" if self.reason else "")


@dataclasses.dataclass
class VxFrame:
    """One 'packet' line of vxcheck's JSON output."""

    number: int
    caplen: int
    wirelen: int
    layers: list  # the JSON layer objects, outermost first
    anomalies: list
    skipped: Optional[str]
    checks: dict  # kind -> [VxCheck], outermost first
    link_type: Optional[str] = None  # from the file's summary line

    def parent_ip(self, check: VxCheck) -> Optional[dict]:
        """The IPv4/IPv6 layer of an L4 check, or the IPv4 layer itself for a header check."""
        for layer in reversed(self.layers[: check.layer_index + 1]):
            if layer["proto"] in ("ipv4", "ipv6"):
                return layer
        return None

    def ip_layers(self) -> list:
        return [(i, l) for i, l in enumerate(self.layers) if l["proto"] in ("ipv4", "ipv6")]

    def all_checks(self) -> list:
        return sorted((c for kind in KINDS for c in self.checks[kind]), key=lambda c: c.layer_index)

    def merge(self, other: "VxFrame") -> None:
        """Appends another record of the same frame (a datagram reassembled on it) after this one.
        The fragment's own L4 check ('unverified (fragment)', when the fragment that completed the
        datagram is the first one) is the same header as the datagram's: the datagram's verdict
        replaces it, as tshark shows only the reassembled one on that frame."""
        if any(other.checks[kind] for kind in ("udp", "tcp")):
            for kind in ("udp", "tcp"):
                self.checks[kind] = [c for c in self.checks[kind] if c.reason != "fragment"]
        offset = len(self.layers)
        self.layers = self.layers + other.layers
        self.anomalies = self.anomalies + other.anomalies
        for kind in KINDS:
            for c in other.checks[kind]:
                c.layer_index += offset
                self.checks[kind].append(c)


@dataclasses.dataclass
class TsCheck:
    """One occurrence of ip.checksum, udp.checksum or tcp.checksum in tshark's output."""

    kind: str
    index: int  # n-th occurrence in the frame, 0-based
    stored: int
    status: int
    calculated: Optional[int] = None  # present when tshark verified (good or bad)
    l4_length: Optional[int] = None  # tcp.hdr_len + tcp.len, or udp.length
    header_length: Optional[int] = None  # tcp.hdr_len
    token: Optional[int] = None  # index of this header in frame.protocols, when it can be known

    @property
    def label(self) -> str:
        return f"tshark {TSHARK_PROTO[self.kind]}#{self.index + 1}"

    def describe(self) -> str:
        text = f"{TS_STATUS.get(self.status, self.status)} F=0x{self.stored:04x}"
        return text + (f" C=0x{self.calculated:04x}" if self.calculated is not None else "")


@dataclasses.dataclass
class TsFrame:
    """One line of tshark's field output."""

    number: int
    frame_len: int
    cap_len: int
    protocols: list  # frame.protocols, split on ':'
    malformed: list  # "[Malformed Packet: TCP]" and error-level expert messages; [] if not malformed
    fragment: bool  # an IPv4 header with MF or an offset, or an IPv6 Fragment header
    checks: dict = dataclasses.field(default_factory=dict)  # kind -> [TsCheck]
    notes: list = dataclasses.field(default_factory=list)  # field lists that did not line up
    udp_payloads: list = dataclasses.field(default_factory=list)  # udp.payload occurrences, bytes
    overlap: bool = False  # tshark reassembled this frame's datagram from overlapping fragments

    def carriers_before(self, token: int) -> list:
        """The protocols before frame.protocols[token], without framing: [(index, name)]."""
        return [(i, p) for i, p in enumerate(self.protocols[:token]) if p not in LINK_TOKENS]


@dataclasses.dataclass
class Item:
    """One checksum of one frame, classified."""

    frame: int
    vx: Optional[VxCheck]
    ts: Optional[TsCheck]
    category: str
    detail: str

    @property
    def label(self) -> str:
        return self.vx.label if self.vx is not None else self.ts.label


# --------------------------------------------------------------------------------------------
# Running vxcheck
# --------------------------------------------------------------------------------------------

CRASH_MARKERS = ("Sanitizer", "runtime error:", "Assertion", "terminate called")


def run_vxcheck(vxcheck: str, path: str) -> tuple:
    """Returns (frames by number, exit status, stderr, problems, whether vxcheck reassembles IP
    datagrams). Problems are tool failures."""
    proc = subprocess.run([vxcheck, "analyze", "--json", "--packets", "all", path],
                          capture_output=True, text=True, errors="replace")
    stderr = proc.stderr.strip()
    problems = []
    if proc.returncode < 0:
        problems.append(f"vxcheck killed by signal {-proc.returncode}")
    elif proc.returncode not in (0, 1, 2):
        problems.append(f"vxcheck exit status {proc.returncode}")
    elif proc.returncode == 2 and not stderr:
        problems.append("vxcheck exit status 2 without an error message")
    if any(marker in stderr for marker in CRASH_MARKERS):
        problems.append("vxcheck abort: " + stderr.splitlines()[0])
    frames = {}
    link_type = None
    reassembles = False
    for n, line in enumerate(proc.stdout.splitlines(), 1):
        try:
            obj = json.loads(line)
        except json.JSONDecodeError:
            problems.append(f"vxcheck output line {n} is not JSON")
            continue
        if obj.get("type") in ("packet", "datagram"):
            frame = parse_vx_packet(obj)
            if frame.number in frames:
                frames[frame.number].merge(frame)  # the datagram reassembled on this frame
            else:
                frames[frame.number] = frame
        elif obj.get("type") == "summary" and obj.get("scope") == "file":
            link_type = obj.get("link_type")
            reassembles = reassembles or "datagrams_reassembled" in obj
    for frame in frames.values():
        frame.link_type = link_type
    return frames, proc.returncode, stderr, problems, reassembles


def parse_vx_packet(obj: dict) -> VxFrame:
    frame = VxFrame(number=obj["frame"], caplen=obj.get("caplen", 0), wirelen=obj.get("wirelen", 0),
                    layers=obj.get("layers", []), anomalies=obj.get("anomalies", []),
                    skipped=obj.get("skip_reason"), checks={kind: [] for kind in KINDS})
    for i, layer in enumerate(frame.layers):
        c = layer.get("checksum")
        if layer["proto"] not in KINDS or c is None:
            continue
        frame.checks[layer["proto"]].append(VxCheck(
            kind=layer["proto"], layer_index=i, depth=layer.get("depth", 0), status=c["status"],
            stored=int(c["stored"], 16),
            expected=int(c["expected"], 16) if "expected" in c else None,
            reason=c.get("reason")))
    return frame


# --------------------------------------------------------------------------------------------
# Running tshark
# --------------------------------------------------------------------------------------------

TSHARK_COMMAND = [
    "tshark", "-n",
    "-o", "ip.check_checksum:TRUE", "-o", "tcp.check_checksum:TRUE", "-o", "udp.check_checksum:TRUE",
    "-d", "udp.port==8472,vxlan",
    "-T", "fields", "-E", "occurrence=a", "-E", "aggregator=|",
]


def defragment_options(on: bool) -> list:
    """Off: each fragment judged on its own (tshark reassembles by default). On: the reassembled
    datagram's checksums on the completing fragment's frame."""
    value = "TRUE" if on else "FALSE"
    return ["-o", f"ip.defragment:{value}", "-o", f"ipv6.defragment:{value}"]
TSHARK_FIELDS = [
    "frame.number", "frame.len", "frame.cap_len", "frame.protocols",
    "_ws.malformed", "_ws.expert.message", "_ws.expert.severity",
    "ip.checksum", "ip.checksum.status", "ip.checksum_calculated", "ip.flags.mf", "ip.frag_offset",
    "udp.checksum", "udp.checksum.status", "udp.checksum_calculated", "udp.length",
    "tcp.checksum", "tcp.checksum.status", "tcp.checksum_calculated", "tcp.hdr_len", "tcp.len",
    "gre.checksum", "gre.checksum.status", "udp.payload",
    "ip.fragment.overlap", "ipv6.fragment.overlap",
]


def run_tshark(path: str, defragment: bool = False) -> tuple:
    """Returns (frames by number, exit status, stderr)."""
    cmd = TSHARK_COMMAND + defragment_options(defragment) + ["-r", path]
    for name in TSHARK_FIELDS:
        cmd += ["-e", name]
    proc = subprocess.run(cmd, capture_output=True, text=True, errors="replace")
    frames = {}
    for line in proc.stdout.splitlines():
        if line.strip():
            frame = parse_tshark_line(line)
            frames[frame.number] = frame
    stderr = "\n".join(l for l in proc.stderr.splitlines() if "Running as user" not in l)
    return frames, proc.returncode, stderr.strip()


def values(cols: dict, name: str) -> list:
    """All occurrences of a field (occurrence=a, aggregator '|')."""
    text = cols.get(name, "")
    return text.split("|") if text else []


def parse_tshark_line(line: str) -> TsFrame:
    cols = dict(zip(TSHARK_FIELDS, line.rstrip("\n").split("\t")))
    protocols = cols.get("frame.protocols", "").split(":") if cols.get("frame.protocols") else []
    malformed = [m for m in values(cols, "_ws.malformed") if m.startswith("[")]
    if values(cols, "_ws.malformed"):
        # say why: tshark's error-level expert messages (e.g. "Bad length value 0 < 8")
        messages, severities = values(cols, "_ws.expert.message"), values(cols, "_ws.expert.severity")
        if len(messages) == len(severities):
            malformed += [m for m, sev in zip(messages, severities) if int(sev) >= PI_ERROR]
        malformed = malformed or ["malformed"]
    frame = TsFrame(
        number=int(cols["frame.number"]),
        frame_len=int(cols.get("frame.len") or 0),
        cap_len=int(cols.get("frame.cap_len") or 0),
        protocols=protocols,
        malformed=malformed,
        fragment=(any(v not in ("0", "False") for v in values(cols, "ip.flags.mf"))
                  or any(v != "0" for v in values(cols, "ip.frag_offset"))
                  or "ipv6.fraghdr" in protocols))
    for kind in KINDS:
        frame.checks[kind] = parse_tshark_checks(cols, kind, frame)
    frame.udp_payloads = [bytes.fromhex(v.replace(":", "")) for v in values(cols, "udp.payload")]
    frame.overlap = any(v not in ("0", "False", "") for name in ("ip.fragment.overlap",
                                                                 "ipv6.fragment.overlap")
                        for v in values(cols, name))
    return frame


def parse_tshark_checks(cols: dict, kind: str, frame: TsFrame) -> list:
    """Builds the per-occurrence records of one checksum field.

    -T fields prints each field's occurrences as a separate list, so a list lines up with the
    checksums only when every occurrence has that field; lists that do not line up are dropped.
    """
    p = TSHARK_PROTO[kind]
    stored = [int(v, 0) for v in values(cols, f"{p}.checksum")]
    status = [int(v) for v in values(cols, f"{p}.checksum.status")]
    if len(status) != len(stored):
        frame.notes.append(f"{p}: {len(stored)} checksums but {len(status)} statuses")
        return []
    checks = [TsCheck(kind, i, s, st) for i, (s, st) in enumerate(zip(stored, status))]

    # tshark adds the calculated value only where it verified (good or bad)
    calculated = [int(v, 0) for v in values(cols, f"{p}.checksum_calculated")]
    verified = [c for c in checks if c.status in (TS_GOOD, TS_BAD)]
    if kind in NO_CALCULATED:
        pass
    elif len(verified) == len(calculated):
        for c, value in zip(verified, calculated):
            c.calculated = value
    else:
        frame.notes.append(f"{p}: calculated values do not line up with the statuses")

    if kind == "udp":
        lengths = [int(v) for v in values(cols, "udp.length")]
        if len(lengths) == len(checks):
            for c, length in zip(checks, lengths):
                c.l4_length = length
    elif kind == "tcp":
        header = [int(v) for v in values(cols, "tcp.hdr_len")]
        segment = [int(v) for v in values(cols, "tcp.len")]
        if len(header) == len(checks):
            for i, c in enumerate(checks):
                c.header_length = header[i]
                if len(segment) == len(checks):
                    c.l4_length = header[i] + segment[i]

    tokens = [i for i, name in enumerate(frame.protocols) if name == p]
    if len(tokens) == len(checks):  # every header of this protocol has a checksum
        for c, token in zip(checks, tokens):
            c.token = token
    return checks


# --------------------------------------------------------------------------------------------
# Pairing vxcheck's verdicts with tshark's occurrences
# --------------------------------------------------------------------------------------------


def align(vx_checks: list, ts_checks: list) -> list:
    """Pairs in order on equal stored values. Returns [(VxCheck | None, TsCheck | None)].

    A tshark occurrence that vxcheck has no verdict for (a GRE payload, an ICMP-quoted header) is
    skipped over instead of shifting every later pair; either side may be left unpaired.
    """
    pairs = []
    j = 0
    for v in vx_checks:
        k = next((k for k in range(j, len(ts_checks)) if ts_checks[k].stored == v.stored), None)
        if k is None:
            pairs.append((v, None))
            continue
        pairs.extend((None, t) for t in ts_checks[j:k])
        pairs.append((v, ts_checks[k]))
        j = k + 1
    pairs.extend((None, t) for t in ts_checks[j:])
    return pairs


# --------------------------------------------------------------------------------------------
# Justifications. A rule returns (category, detail) when its justification holds for the item,
# otherwise None. The first rule that holds wins; if none does, the item is UNEXPLAINED.
# --------------------------------------------------------------------------------------------


class Context:
    """What the rules may look at for one frame."""

    def __init__(self, vx: Optional[VxFrame], ts: Optional[TsFrame]):
        self.vx = vx
        self.ts = ts
        self.partials = {}  # id(VxCheck) -> TsCheck, for pairs justified as 'partial'

    @property
    def caplen(self) -> int:
        return self.ts.cap_len if self.ts is not None else self.vx.caplen

    @property
    def wirelen(self) -> int:
        return self.ts.frame_len if self.ts is not None else self.vx.wirelen


def pseudo_addresses(ip: dict) -> tuple:
    """Source and destination of the pseudo-header (RFC 8200 8.1, RFC 6275 9.3.1)."""
    return ip.get("home_address", ip["src"]), ip.get("final_dst", ip["dst"])


def is_super_packet(ip: dict) -> bool:
    """IPv4 total length 0 or IPv6 payload length 0: a GSO / TSO / BIG TCP super-packet."""
    if ip["proto"] == "ipv4":
        return ip.get("total_length") == 0
    return ip.get("payload_length") == 0


def is_fragment(ip: dict) -> bool:
    frag = ip.get("fragment")
    return frag is not None and (frag.get("more") or frag.get("offset", 0) > 0)


# ---- pairs: both tools have the checksum ----------------------------------------------------


def rule_agree(ctx: Context, v: VxCheck, t: TsCheck):
    if v.reason is not None:
        return None
    if v.status == "ok" and t.status == TS_GOOD:
        return AGREE, "ok / good"
    if v.status == "bad" and t.status == TS_BAD:
        if v.expected is not None and t.calculated is not None and v.expected != t.calculated:
            return None
        return AGREE, "bad / bad, same correct value"
    return None


def rule_partial(ctx: Context, v: VxCheck, t: TsCheck):
    if v.kind == "ipv4" or v.status != "partial" or t.status != TS_BAD or t.l4_length is None:
        return None
    if v.expected != t.calculated:
        return None  # the tools disagree on the final value
    src, dst = pseudo_addresses(ctx.vx.parent_ip(v))
    proto = 6 if v.kind == "tcp" else 17
    length = 0 if v.reason == "partial_zero_length" else t.l4_length
    if pseudo_header_sum(src, dst, proto, length) != v.stored:
        return None
    ctx.partials[id(v)] = t
    return "partial", (f"F = onesum(pseudo {src} > {dst} proto {proto} len {length}); "
                       f"final 0x{t.calculated:04x} per both tools")


def rule_zero(ctx: Context, v: VxCheck, t: TsCheck):
    if v.kind != "udp" or v.stored != 0:
        return None
    ip_version = ctx.vx.parent_ip(v)["proto"]
    if v.status == "zero" and t.status == TS_NOT_PRESENT and ip_version == "ipv4":
        return "zero", "UDP over IPv4, check 0x0000: no checksum"
    if (v.status, v.reason, t.status, ip_version) == ("bad", "zero_over_ipv6", TS_ILLEGAL, "ipv6"):
        return "zero_over_ipv6", "UDP over IPv6, check 0x0000 (RFC 8200 8.1)"
    return None


def rule_negative_zero(ctx: Context, v: VxCheck, t: TsCheck):
    """0xFFFF for a computed 0x0000 (UDP maps a computed 0 to 0xFFFF itself: tshark agrees)."""
    if v.kind not in ("tcp", "ipv4") or v.status != "ok" or v.reason is not None:
        return None
    if t.status != TS_BAD or v.stored != 0xFFFF or t.stored != 0xFFFF or t.calculated != 0:
        return None
    return "negative_zero", "stored 0xFFFF, computed 0x0000: -0 and +0, the sum verifies"


def rule_unverified(ctx: Context, v: VxCheck, t: Optional[TsCheck]):
    """vxcheck could not verify; its stated reason must hold for this packet."""
    if v.status != "unverified":
        return None
    if t is not None and t.status not in (TS_UNVERIFIED, TS_GOOD, TS_BAD):
        return None
    ip = ctx.vx.parent_ip(v)
    tshark_verified = t is not None and t.status in (TS_GOOD, TS_BAD)
    why = None
    if v.reason == "snaplen":
        # tshark verifies only when every covered byte was captured
        if ctx.caplen < ctx.wirelen and not tshark_verified:
            why = f"caplen {ctx.caplen} < wire length {ctx.wirelen}"
    elif v.reason == "fragment":
        # a fragment's L4 checksum covers the reassembled datagram; tshark may compute over the part
        if ip is not None and is_fragment(ip) and (ctx.ts is None or ctx.ts.fragment):
            frag = ip["fragment"]
            why = f"{ip['proto']} fragment, offset {frag.get('offset')}, more={frag.get('more')}"
    elif v.reason == "super_packet":
        if ip is not None and is_super_packet(ip):
            why = f"{ip['proto']} length field 0 (GSO / BIG TCP super-packet)"
    elif v.reason == "length_mismatch":
        # tshark may compute over the bytes that are there
        why = length_mismatch(ctx, v, ip)
    if why is None:
        return None
    tshark = "tshark has no checksum" if t is None else f"tshark {TS_STATUS[t.status]}"
    return "unverified", f"{v.reason}: {why}; {tshark}"


def length_mismatch(ctx: Context, v: VxCheck, ip: Optional[dict]) -> Optional[str]:
    """Is a length field really unusable? A reason string if so."""
    if ip is None:
        return None
    if ip["proto"] == "ipv4":
        ip_length = ip.get("total_length", 0)
        payload_max = ip_length - 20  # the IPv4 header is at least 20 bytes
    else:
        payload_max = ip.get("payload_length", 0)
        ip_length = payload_max + 40
    if v.kind == "udp":
        udp_length = ctx.vx.layers[v.layer_index].get("length", 0)
        if udp_length == 0 and is_super_packet(ip):
            return None  # length 0 in a super-packet means "the captured extent" (RFC 2675 style)
        if udp_length < 8:
            return f"UDP length {udp_length} < 8"
        if udp_length > payload_max:
            return f"UDP length {udp_length} > IP payload (at most {payload_max})"
        return None
    if not is_super_packet(ip) and ip_length > ctx.vx.caplen:
        return f"IP length {ip_length} > captured frame {ctx.vx.caplen}"
    return None


def rule_ipv6_pseudo_header(ctx: Context, v: VxCheck, t: TsCheck):
    """tshark used the IPv6 header addresses where vxcheck used final destination / home address."""
    if v.kind == "ipv4" or v.status != "ok" or t.status != TS_BAD:
        return None
    ip = ctx.vx.parent_ip(v)
    if ip["proto"] != "ipv6" or v.expected is None or t.calculated is None:
        return None
    src, dst = pseudo_addresses(ip)
    if (src, dst) == (ip["src"], ip["dst"]):
        return None
    # ~C_tshark - ~C_vxcheck == sum(header addresses) - sum(pseudo-header addresses)
    lhs = add(neg(t.calculated), v.expected)
    rhs = add(address_sum(ip["src"]), address_sum(ip["dst"]),
              neg(add(address_sum(src), address_sum(dst))))
    if lhs != rhs and not {lhs, rhs} <= {0, 0xFFFF}:
        return None
    return "ipv6_pseudo_header", f"tshark used {ip['src']} > {ip['dst']}, vxcheck {src} > {dst}"


def rule_local_checksum_offload(ctx: Context, v: VxCheck, t: TsCheck):
    """Outer UDP checksum computed over the inner *final* checksums (local checksum offload).

    Needs the frame's 'partial' pairs, so it runs after the other rules have seen every pair.
    """
    if v.kind != "udp" or v.reason != "local_checksum_offload" or v.status not in ("ok", "bad"):
        return None
    if t.status != TS_BAD or t.calculated is None:
        return None
    inner = [(c, ctx.partials[id(c)]) for c in ctx.vx.all_checks()
             if c.layer_index > v.layer_index and id(c) in ctx.partials]
    if not inner:
        return None
    # tshark summed the partial P_k; with the final F_k the sum grows by F_k - P_k (RFC 1624):
    # C' = ~(~C + sum(~P_k + F_k)). The inner fields sit at even offsets from the outer UDP header
    # in every VXLAN/Geneve layout (8 + 8 + 14 + 4n + ...), so no byte swap is needed.
    total = neg(t.calculated)
    for c, tc in inner:
        total = add(total, neg(c.stored), tc.calculated)
    corrected = as_udp_checksum(neg(total))
    substituted = ", ".join(f"{c.label} 0x{c.stored:04x}->0x{tc.calculated:04x}" for c, tc in inner)
    detail = f"tshark C=0x{t.calculated:04x}; with {substituted} it is 0x{corrected:04x}"
    if v.status == "ok" and corrected == v.stored:
        return "local_checksum_offload", detail + " = the stored field"
    if v.status == "bad" and corrected == v.expected and corrected != v.stored:
        return "local_checksum_offload", detail + " = vxcheck's correct value (both bad)"
    return None


PAIR_RULES = [rule_agree, rule_partial, rule_zero, rule_negative_zero, rule_unverified,
              rule_ipv6_pseudo_header]
LATE_PAIR_RULES = [rule_local_checksum_offload]


# ---- only vxcheck has the checksum ----------------------------------------------------------


def rule_vx_only(ctx: Context, v: VxCheck):
    if v.status == "unverified":
        return rule_unverified(ctx, v, None)  # the stated reason must hold on its own
    if ctx.ts is None or not ctx.ts.malformed:
        return None
    tshark = f"tshark: {', '.join(ctx.ts.malformed)}"
    if v.status != "partial":
        return "tshark_malformed", f"{tshark}; vxcheck's {v.status} not cross-checked"
    # no L4 length from tshark: the field must be the partial sum over the captured extent
    length = partial_over_captured_extent(ctx, v)
    if length is None:
        return None
    return "tshark_malformed", f"{tshark}; F = onesum(pseudo, captured L4 length {length})"


def partial_over_captured_extent(ctx: Context, v: VxCheck) -> Optional[int]:
    """The L4 length (0, or the frame's tail from some header offset) whose pseudo-header sum is F.

    Tries every offset up to 256 bytes (link, IP and tunnel headers), so a random field would
    match by chance with probability about 256 / 65536.
    """
    src, dst = pseudo_addresses(ctx.vx.parent_ip(v))
    proto = 6 if v.kind == "tcp" else 17
    if v.reason == "partial_zero_length":
        return 0 if pseudo_header_sum(src, dst, proto, 0) == v.stored else None
    for before in range(256):
        length = ctx.vx.caplen - before
        if length >= 8 and pseudo_header_sum(src, dst, proto, length) == v.stored:
            return length
    return None


# ---- only tshark has the checksum -----------------------------------------------------------


def rule_ts_only(ctx: Context, t: TsCheck):
    if ctx.vx is None:
        return None
    return (rule_header_cut(ctx, t) or rule_raw_version_mismatch(ctx, t) or rule_malformed_l4_header(ctx, t)
            or rule_fragment_overlap(ctx, t) or rule_vxlan_gpe(ctx, t) or rule_gre_not_decoded(ctx, t) or rule_mpls_not_decoded(ctx, t)
            or rule_not_followed(ctx, t))


def rule_header_cut(ctx: Context, t: TsCheck):
    """An IPv4 header the snaplen cut: tshark has its checksum field but does not verify it."""
    if t.kind != "ipv4" or t.status != TS_UNVERIFIED or ctx.caplen >= ctx.wirelen:
        return None
    if "ipv4.header_truncated" not in ctx.vx.anomalies:
        return None
    return "header_cut", f"caplen {ctx.caplen} < wire length {ctx.wirelen}, inside the IPv4 header"


def rule_fragment_overlap(ctx: Context, t: TsCheck):
    """tshark's L4 checksum over a datagram it reassembled from overlapping fragments, which
    vxcheck discarded (and said so on this frame)."""
    if t.kind not in ("udp", "tcp") or not ctx.ts.overlap:
        return None
    if "ip.fragment_overlap" not in ctx.vx.anomalies:
        return None
    return "fragment_overlap", "tshark: fragment overlap; vxcheck: ip.fragment_overlap, datagram discarded"


GPE_NEXT = {1: "IPv4", 2: "IPv6", 3: "Ethernet", 4: "NSH"}  # VXLAN-GPE next protocol
NSH_NEXT = {1: "IPv4", 2: "IPv6", 3: "Ethernet"}  # RFC 8300 next protocol


def gpe_payload_words(payload: bytes) -> Optional[str]:
    """The headers a UDP 4790 payload holds, proved from its bytes; None when it is not VXLAN-GPE.

    VXLAN-GPE: flags(1: version 0x30 must be 0, P 0x04 set) reserved(2) next protocol(1) VNI(3)
    reserved(1). NSH (RFC 8300): version(2 bits) = 0, length (6 bits of byte 1, 4-byte words)
    inside the payload, MD type, next protocol. The inner header must start where they end: an IP
    header's version nibble, or 14 bytes of Ethernet.
    """
    if len(payload) < 8 or payload[0] & 0x30 or not payload[0] & 0x04:
        return None
    nxt = payload[3]
    if nxt not in GPE_NEXT:
        return None
    words = f"VXLAN-GPE flags 0x{payload[0]:02x}, next protocol {nxt} ({GPE_NEXT[nxt]})"
    at = 8
    if nxt == 4:
        nsh = payload[8:]
        if len(nsh) < 8 or nsh[0] >> 6 != 0 or nsh[3] not in NSH_NEXT:
            return None
        length = (nsh[1] & 0x3F) * 4
        if length < 8 or 8 + length > len(payload):
            return None
        nxt = nsh[3]
        words += (f"; NSH MD type {nsh[2] & 0x0F}, length {length} bytes, next protocol {nxt} "
                  f"({NSH_NEXT[nxt]})")
        at = 8 + length
    inner = payload[at:]
    if nxt in (1, 2) and (not inner or inner[0] >> 4 != (4 if nxt == 1 else 6)):
        return None
    if nxt == 3 and len(inner) < 14:
        return None
    return words + f"; the inner header at payload offset {at}"


def rule_vxlan_gpe(ctx: Context, t: TsCheck):
    """tshark's header is inside a VXLAN-GPE (and maybe NSH) payload that vxcheck stops at."""
    vx, ts = ctx.vx, ctx.ts
    ip_layers = vx.ip_layers()
    if not ip_layers or t.token is None:
        return None
    last_index, last_ip = ip_layers[-1]
    after = vx.layers[last_index + 1:]
    if len(after) != 1 or after[0]["proto"] != "udp" or after[0].get("dport") != 4790:
        return None
    udp = next((c for c in vx.checks["udp"] if c.layer_index == last_index + 1), None)
    ts_udp = ts.checks.get("udp", [])
    if udp is None or len(ts.udp_payloads) != len(ts_udp):
        return None  # the payload list does not line up with the UDP headers
    k = next((i for i, c in enumerate(ts_udp) if c.stored == udp.stored), None)
    if k is None or (ts_udp[k].token is not None and ts_udp[k].token >= t.token):
        return None  # tshark's header must lie behind that UDP header
    words = gpe_payload_words(ts.udp_payloads[k])
    if words is None:
        return None
    return "vxlan_gpe_not_decoded", f"{words}; vxcheck stops after udp {after[0].get('sport')} > 4790"


def rule_gre_not_decoded(ctx: Context, t: TsCheck):
    """tshark verifies a GRE header's checksum; vxcheck stopped at an IP header of protocol 47."""
    if t.kind != "gre":
        return None
    ip_layers = ctx.vx.ip_layers()
    if not ip_layers or any(l["proto"] == "gre" for l in ctx.vx.layers):
        return None
    last_index, last_ip = ip_layers[-1]
    if last_ip.get("protocol", last_ip.get("next_header")) != 47 or len(ctx.vx.layers) > last_index + 1:
        return None
    return "not_followed_encapsulation", (f"GRE header checksum; vxcheck stops after {last_ip['proto']} "
                                          f"{last_ip['src']} > {last_ip['dst']} (protocol 47)")


def rule_mpls_not_decoded(ctx: Context, t: TsCheck):
    """An IP header behind an MPLS label stack in a frame vxcheck skipped as not IP."""
    vx = ctx.vx
    if vx.skipped != "non_ip" or vx.ip_layers() or "mpls" not in ctx.ts.protocols:
        return None
    ethertypes = [l.get("ethertype") for l in vx.layers if "ethertype" in l]
    if not ethertypes or ethertypes[-1] not in (0x8847, 0x8848):
        return None
    return "not_followed_encapsulation", f"behind MPLS (ethertype 0x{ethertypes[-1]:04x}); vxcheck skips the frame"


def rule_raw_version_mismatch(ctx: Context, t: TsCheck):
    vx = ctx.vx
    if vx.skipped != "malformed" or "raw.version_mismatch" not in vx.anomalies:
        return None
    # tshark's "ip" dissector for LINKTYPE_IPV4 hands a version-6 packet to "ipv6"
    if vx.link_type == "IPV4" and not ctx.ts.checks["ipv4"] and "ipv6" in ctx.ts.protocols:
        found = "an IPv6 packet"
    elif vx.link_type == "IPV6" and ctx.ts.checks["ipv4"]:
        found = "an IPv4 packet"
    else:
        return None
    return "raw_version_mismatch", (f"link type {vx.link_type} holds {found} "
                                    f"(tshark: {':'.join(ctx.ts.protocols)}); vxcheck skips it")


def rule_malformed_l4_header(ctx: Context, t: TsCheck):
    """vxcheck dropped a TCP header with an impossible data offset; tshark flags it too."""
    if t.kind != "tcp" or t.header_length is None:
        return None
    if not any("TCP" in m for m in ctx.ts.malformed):
        return None
    ip_layers = ctx.vx.ip_layers()
    if not ip_layers:
        return None
    if t.token is not None:  # must be carried by the innermost IP header vxcheck decoded
        carried_by = sum(1 for _, p in ctx.ts.carriers_before(t.token) if p in IP_TOKENS)
        if carried_by != len(ip_layers):
            return None
    ip = ip_layers[-1][1]
    segment_max = ip.get("total_length", 0) - 20 if ip["proto"] == "ipv4" else ip.get("payload_length", 0)
    hdr = t.header_length
    if "tcp.data_offset_exceeds_segment" in ctx.vx.anomalies and hdr > segment_max:
        why = f"data offset {hdr} bytes > segment (at most {segment_max})"
    elif "tcp.data_offset_too_small" in ctx.vx.anomalies and hdr < 20:
        why = f"data offset {hdr} bytes < 20"
    else:
        return None
    return "malformed_l4_header", f"{why}; tshark: {', '.join(ctx.ts.malformed)}"


def rule_not_followed(ctx: Context, t: TsCheck):
    """tshark's header lies behind a carrier that vxcheck does not decode into.

    Walks tshark's IP headers up to this one in step with vxcheck's IP layers. At the first IP
    header vxcheck lacks, the protocol just before it is the carrier, and vxcheck's layers after
    its last IP layer must show why it stopped there.
    """
    if t.token is None:
        return None
    vx, ts = ctx.vx, ctx.ts
    ip_layers = vx.ip_layers()
    carrier = None
    seen = 0
    for _, name in ts.carriers_before(t.token) + [(t.token, ts.protocols[t.token])]:
        if name in IP_TOKENS:
            if seen == len(ip_layers):
                break
            seen += 1
        carrier = name
    else:
        return None  # vxcheck has every IP header up to this one
    if seen == 0 or carrier is None:
        return None
    last_index, last_ip = ip_layers[seen - 1]
    after = vx.layers[last_index + 1:]
    next_proto = after[0]["proto"] if after else None
    where = f"behind {carrier}; vxcheck stops after {last_ip['proto']} {last_ip['src']} > {last_ip['dst']}"
    ip_protocol = last_ip.get("protocol", last_ip.get("next_header"))

    if carrier == "gre" and ip_protocol == 47:
        return "not_followed_encapsulation", f"GRE payload, {where}"
    if carrier in IP_TOKENS and ip_protocol in (4, 41):
        return "not_followed_encapsulation", f"IP-in-IP payload, {where}"
    if carrier in ICMP_ERROR_TYPES and next_proto == carrier \
            and after[0].get("icmp_type") in ICMP_ERROR_TYPES[carrier]:
        return "not_followed_encapsulation", \
            f"header quoted in {carrier} error type {after[0]['icmp_type']}, {where}"
    if carrier in ("udp", "nsh", "vxlan-gpe") and next_proto == "udp" \
            and after[0].get("dport") not in VXCHECK_TUNNEL_PORTS:
        return "not_followed_encapsulation", f"payload of UDP port {after[0].get('dport')}, {where}"
    if carrier in ("vxlan", "geneve") and "decode.tunnel_depth_exceeded" in vx.anomalies:
        deepest = max(l.get("depth", 0) for l in vx.layers)
        return "tunnel_depth_cap", f"tshark header at depth {seen} > vxcheck's deepest d{deepest}"
    if carrier == "vxlan" and "vxlan.i_flag_clear" in vx.anomalies:
        vxlan = next((l for l in after if l["proto"] == "vxlan"), None)
        if vxlan is not None and not int(vxlan.get("flags", "0x08"), 16) & 0x08:
            return "vxlan_i_flag_clear", f"VXLAN flags {vxlan['flags']}, {where}"
    return None


# ---- hints for UNEXPLAINED items ------------------------------------------------------------


def diagnose(ctx: Context, v: Optional[VxCheck], t: Optional[TsCheck]) -> str:
    """Says which check failed, to start the investigation of an UNEXPLAINED item."""
    if v is None:
        path = ":".join(ctx.ts.protocols[: t.token + 1]) if t.token is not None else "?"
        return f"vxcheck has no verdict for this header (tshark: {path})"
    notes = []
    if t is None:
        malformed = f" ({', '.join(ctx.ts.malformed)})" if ctx.ts and ctx.ts.malformed else ""
        notes.append("tshark has no such checksum" + malformed)
    elif v.reason == "local_checksum_offload":
        notes.append(f"vxcheck {v.status} vs tshark {TS_STATUS.get(t.status, t.status)}; substituting the "
                     "inner final values into tshark's sum does not give vxcheck's verdict")
    elif v.status == "bad" and t.status == TS_BAD:
        notes.append("both bad, but the correct values differ")
    else:
        notes.append(f"vxcheck {v.status} vs tshark {TS_STATUS.get(t.status, t.status)}")
    if v.status == "unverified":
        notes.append(f"the reason '{v.reason}' does not hold for this packet")
        hint = super_packet_udp_hint(ctx, v)
        if hint:
            notes.append(hint)
    if v.status == "partial":
        notes.append("not the pseudo-header sum for tshark's L4 length, or final values differ")
    return "; ".join(notes)


def super_packet_udp_hint(ctx: Context, v: VxCheck) -> Optional[str]:
    """UDP length 0 in a super-packet: is the field the partial sum over the captured extent?"""
    ip = ctx.vx.parent_ip(v)
    if v.kind != "udp" or ip is None or not is_super_packet(ip):
        return None
    length = partial_over_captured_extent(ctx, v)
    if length is None:
        return None
    return (f"super-packet, UDP length 0: F is the partial sum over the captured L4 length {length}, "
            f"so 'partial' was expected")


# --------------------------------------------------------------------------------------------
# Per frame and per file
# --------------------------------------------------------------------------------------------


def classify_frame(vx: Optional[VxFrame], ts: Optional[TsFrame]) -> list:
    ctx = Context(vx, ts)
    number = vx.number if vx is not None else ts.number
    decided = []  # (VxCheck, TsCheck, found)
    late = []
    for kind in KINDS:
        vx_checks = vx.checks[kind] if vx is not None else []
        ts_checks = ts.checks.get(kind, []) if ts is not None else []
        for v, t in align(vx_checks, ts_checks):
            if v is not None and t is not None:
                found = first_rule(PAIR_RULES, ctx, v, t)
                if found is None:
                    late.append((v, t))
                    continue
            elif v is not None:
                found = rule_vx_only(ctx, v)
            else:
                found = rule_ts_only(ctx, t)
            decided.append((v, t, found))
    decided += [(v, t, first_rule(LATE_PAIR_RULES, ctx, v, t)) for v, t in late]

    items = []
    for v, t, found in decided:
        category, detail = found if found else (UNEXPLAINED, diagnose(ctx, v, t))
        items.append(Item(number, v, t, category, detail))
    # outermost first: vxcheck's layer order, then what only tshark has, in its order
    items.sort(key=lambda i: (0, i.vx.layer_index) if i.vx else (1, i.ts.token or 0, i.ts.kind))
    return items


def first_rule(rules: list, ctx: Context, v: VxCheck, t: TsCheck):
    for rule in rules:
        found = rule(ctx, v, t)
        if found:
            return found
    return None


@dataclasses.dataclass
class FileResult:
    path: str
    frames: int
    ts_malformed: int  # frames tshark marks malformed
    vx_rc: int
    items: list
    problems: list  # tool failures; each counts as one failure

    @property
    def failed(self) -> int:
        return sum(1 for i in self.items if i.category == UNEXPLAINED) + len(self.problems)

    @property
    def passed(self) -> int:
        return sum(1 for i in self.items if i.category != UNEXPLAINED)


def compare_file(vxcheck: str, path: str, defragment: str = "auto") -> FileResult:
    vx_frames, vx_rc, vx_err, problems, reassembles = run_vxcheck(vxcheck, path)
    ts_frames, ts_rc, ts_err = run_tshark(
        path, reassembles if defragment == "auto" else defragment == "on")
    if ts_rc != 0:
        problems.append(f"tshark exit status {ts_rc}: {ts_err.splitlines()[0] if ts_err else ''}")
    if vx_rc == 2 and ts_frames:
        problems.append(f"vxcheck input error on a file tshark reads: {vx_err.splitlines()[0]}")
    items = []
    for number in sorted(set(vx_frames) | set(ts_frames)):
        vx, ts = vx_frames.get(number), ts_frames.get(number)
        if ts is not None:
            problems += [f"frame {number}: tshark field lists: {note}" for note in ts.notes]
        items += classify_frame(vx, ts)
    malformed = sum(1 for f in ts_frames.values() if f.malformed)
    return FileResult(path, max(len(vx_frames), len(ts_frames)), malformed, vx_rc, items, problems)


# --------------------------------------------------------------------------------------------
# Output
# --------------------------------------------------------------------------------------------


def print_item(item: Item) -> None:
    vx = item.vx.describe() if item.vx else "-"
    ts = item.ts.describe() if item.ts else "-"
    print(f"    frame {item.frame:>4} {item.label:<14} vxcheck {vx:<46} tshark {ts:<28} "
          f"{item.category}: {item.detail}")


def print_report(results: list, verbose: bool) -> int:
    """Prints the table, the category totals and the final line; returns the failure count."""
    width = max([len(os.path.basename(r.path)) for r in results] + [4])
    header = (f"{'file':<{width}}  frames  ts-malformed  checks  agree  justified  unexplained  "
              f"vx-exit  categories")
    print(header)
    print("-" * len(header))
    totals = Counter()
    for r in results:
        cats = Counter(i.category for i in r.items)
        totals.update(cats)
        named = {c: n for c, n in sorted(cats.items()) if c not in (AGREE, UNEXPLAINED)}
        print(f"{os.path.basename(r.path):<{width}}  {r.frames:>6}  {r.ts_malformed:>12}  {len(r.items):>6}  "
              f"{cats[AGREE]:>5}  {sum(named.values()):>9}  {r.failed:>11}  {r.vx_rc:>7}  "
              + " ".join(f"{c}={n}" for c, n in named.items()))
        for problem in r.problems:
            print(f"    UNEXPLAINED tool failure: {problem}")
        for item in r.items:
            if verbose or item.category == UNEXPLAINED:
                print_item(item)
    print()
    print("totals:")
    for category in [AGREE, *CATEGORIES, UNEXPLAINED]:
        if totals[category]:
            print(f"  {category:<28} {totals[category]:>6}")
    failed = sum(r.failed for r in results)
    print(f"{sum(r.passed for r in results)} passed, {failed} failed")
    return failed


def expand(paths: list) -> list:
    """Files as given; a directory stands for its *.pcap / *.pcapng files (not subdirectories)."""
    files = []
    for path in paths:
        if os.path.isdir(path):
            files += sorted(os.path.join(path, name) for name in os.listdir(path)
                            if name.endswith((".pcap", ".pcapng"))
                            and os.path.isfile(os.path.join(path, name)))
        else:
            files.append(path)
    return files


def main(argv: list) -> int:
    parser = argparse.ArgumentParser(
        description="Compare vxcheck's checksum verdicts with tshark's, frame by frame.",
        epilog="justified differences:\n" + "\n".join(f"  {name}: {text}"
                                                     for name, text in CATEGORIES.items()),
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--vxcheck", required=True, help="the vxcheck binary")
    parser.add_argument("-v", "--verbose", action="store_true", help="list every checksum item")
    parser.add_argument("--defragment", choices=("auto", "on", "off"), default="auto",
                        help="tshark's IP reassembly: on, off, or as vxcheck's (auto, the default)")
    parser.add_argument("files", nargs="+",
                        help="pcap / pcapng captures; a directory means its *.pcap and *.pcapng")
    args = parser.parse_args(argv)
    try:
        results = [compare_file(args.vxcheck, path, args.defragment) for path in expand(args.files)]
    except OSError as e:  # tshark or vxcheck missing / not executable
        print(f"tshark_compare: {e}", file=sys.stderr)
        return 2
    return 0 if print_report(results, args.verbose) == 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

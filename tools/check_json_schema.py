#!/usr/bin/env python3
"""Checks vxcheck's JSON Lines output against its published schema (issue 20 item 2).

Usage: check_json_schema.py --vxcheck BIN [--schema FILE]

Validates every record of
  - every golden JSON output (tests/golden/*.jsonl),
  - the output of the JSON command-line cases below (run from the repository root), and
  - with --live (root), `vxcheck capture --json` on loopback for a second while a client is
    refused (its live `verdict` records),
against docs/schema/vxcheck-v1.schema.json (JSON Schema draft 2020-12, python3-jsonschema), and
fails when
  - a record does not validate,
  - a field has two JSON types across all the outputs (its path with list items as [], whatever
    the record type: one log index maps every record),
  - a time and its `_epoch_s` twin disagree, a cut list is longer than its `_total`,
  - a community_id differs from the spec's hash of the record's own addresses and ports
    (connections; TCP and UDP packets), computed here in Python,
  - a connection's community_id is on none of the packets of an output that lists them all,
  - a record type of the schema never occurs (`verdict` with --live, the others without;
    `status` records are the capture command's and not required).
"""

import argparse
import base64
import datetime
import glob
import hashlib
import json
import os
import socket
import struct
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# name: arguments (from the repository root). The JSON cases of tests/cli_test.sh and the
# shapes the golden cases lack: a read error, memory bounds hit, --no-rpc, two --port, several
# files with --packets bad, an unsupported link type, the lab's real kernel captures.
CLI_CASES = {
    "truncated-record": ["analyze", "--json", "pcaps/bad/truncated-record.pcap"],
    "unknown-linktype": ["analyze", "--json", "pcaps/bad/unknown-linktype.pcap"],
    "bounds": ["analyze", "--json", "--max-vtep-pairs", "1", "--evidence-budget", "1K",
               "pcaps/scenario-63s-variant-a.pcap"],
    "no-rpc": ["analyze", "--json", "--no-rpc", "--all-ports", "pcaps/nfs/nfs41-healthy.pcap"],
    "two-ports": ["analyze", "--json", "--port", "2049", "--port", "111",
                  "pcaps/nfs/udp-v3-mount.pcap"],
    "join-bad": ["analyze", "--json", "--packets", "bad"] +
                sorted(glob.glob("pcaps/scenario-join-*.pcap", root_dir=ROOT)),
    "lab-nfs-clients": ["analyze", "--json", "--packets", "all", "--all-ports",
                        "tools/lab/recorded/nfs-clients-node-a-flannel1.pcap",
                        "tools/lab/recorded/nfs-clients-node-a-eth0.pcap"],
    "lab-node-to-pod": ["analyze", "--json", "--packets", "all"] +
                       sorted(glob.glob("tools/lab/recorded/node-to-pod-prefix-*.pcap",
                                        root_dir=ROOT)),
}

PAIRS = {"timestamp": "timestamp_epoch_s", "first_seen": "first_seen_epoch_s",
         "last_seen": "last_seen_epoch_s", "decided_at": "decided_at_epoch_s"}


def json_type(v):
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, (int, float)):
        return "number"
    if isinstance(v, str):
        return "string"
    if v is None:
        return "null"
    return "array" if isinstance(v, list) else "object"


def walk(value, path, types, where):
    t = json_type(value)
    types.setdefault(path, {}).setdefault(t, where)
    if t == "object":
        for k, v in value.items():
            walk(v, path + "." + k, types, where)
    elif t == "array":
        for v in value:
            walk(v, path + "[]", types, where)


def epoch_of(rfc3339):
    whole, frac = rfc3339[:-1].split(".")
    t = datetime.datetime.strptime(whole, "%Y-%m-%dT%H:%M:%S").replace(
        tzinfo=datetime.timezone.utc)
    return t.timestamp() + int(frac) / 1e9


def community_id(saddr, daddr, sport, dport, proto):
    """The Community ID flow hash v1, seed 0, written from the spec (an oracle independent of
    vxcheck's C++): sha1(seed . saddr . daddr . proto . 0 . sport . dport), smaller end first."""
    fam = socket.AF_INET6 if ":" in saddr else socket.AF_INET
    a, b = socket.inet_pton(fam, saddr), socket.inet_pton(fam, daddr)
    if (b, dport) < (a, sport):
        a, b, sport, dport = b, a, dport, sport
    data = struct.pack("!H", 0) + a + b + struct.pack("!BBHH", proto, 0, sport, dport)
    return "1:" + base64.b64encode(hashlib.sha1(data).digest()).decode()


def expected_community_id(rec):
    if rec.get("type") in ("connection", "verdict"):
        proto = 6 if rec["transport"] == "tcp" else 17
        return community_id(rec["client_ip"], rec["server_ip"], rec["client_port"],
                            rec["server_port"], proto)
    if rec.get("type") == "packet":  # TCP and UDP packets: the innermost IP layer's flow
        layers = rec.get("layers", [])
        ips = [i for i, l in enumerate(layers) if l["proto"] in ("ipv4", "ipv6")]
        if ips and ips[-1] + 1 < len(layers) and layers[ips[-1] + 1]["proto"] in ("tcp", "udp"):
            ip, l4 = layers[ips[-1]], layers[ips[-1] + 1]
            return community_id(ip["src"], ip["dst"], l4["sport"], l4["dport"],
                                6 if l4["proto"] == "tcp" else 17)
    return None


def semantic_errors(rec):
    errors = []
    want = expected_community_id(rec)
    if want is not None and rec.get("community_id") != want:
        errors.append("community_id %s, the spec gives %s" % (rec.get("community_id"), want))
    for name, twin in PAIRS.items():
        if name in rec and twin in rec and abs(epoch_of(rec[name]) - rec[twin]) > 1e-6:
            errors.append("%s %s and %s %s disagree" % (name, rec[name], twin, rec[twin]))
    cut = [(rec, "corrupted_outer"), (rec, "syn_offsets_s"), (rec, "evidence")]
    if isinstance(rec.get("tunnel"), dict):
        cut += [(rec["tunnel"], k) for k in ("outer_sports", "outer_sports_reply")]
    if isinstance(rec.get("rpc"), dict):
        cut += [(rec["rpc"], k) for k in ("unmatched_xids", "retransmitted_xids",
                                          "resent_from_earlier_connection")]
    for obj, k in cut:
        if k in obj and len(obj[k]) > obj.get(k + "_total", -1):
            errors.append("%s has %d entries and %s_total %s" %
                          (k, len(obj[k]), k, obj.get(k + "_total")))
    return errors


def run_cli(vxcheck, args):
    p = subprocess.run([vxcheck] + args, cwd=ROOT, capture_output=True, text=True, timeout=60)
    if p.returncode not in (0, 1, 2):
        raise SystemExit("FAIL %s: exit %d: %s" % (" ".join(args), p.returncode, p.stderr))
    return p.stdout


def live_output(vxcheck):
    """`capture --json` on loopback while connections to a closed port are refused."""
    with socket.socket() as s:  # a port nobody listens on: the SYNs get RSTs
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    out = tempfile.TemporaryFile(mode="w+")
    p = subprocess.Popen([vxcheck, "capture", "-i", "lo", "--json", "--duration", "1",
                          "--status-interval", "0", "--port", str(port)],
                         stdout=out, stderr=subprocess.DEVNULL)
    try:
        time.sleep(0.3)  # the capture has its socket open by then
        for _ in range(3):
            with socket.socket() as c:
                c.settimeout(0.2)
                try:
                    c.connect(("127.0.0.1", port))
                except OSError:
                    pass
            time.sleep(0.1)
        p.wait(timeout=10)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    out.seek(0)
    return out.read()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--vxcheck", required=True)
    ap.add_argument("--schema", default=os.path.join(ROOT, "docs/schema/vxcheck-v1.schema.json"))
    ap.add_argument("--live", action="store_true",
                    help="check the live capture's output only (root; exit 77 otherwise)")
    args = ap.parse_args()
    try:
        import jsonschema
    except ImportError:
        raise SystemExit("FAIL: python3-jsonschema is not installed (tools/install-deps.sh)")
    with open(args.schema) as f:
        schema = json.load(f)
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)

    outputs = {}
    vxcheck = os.path.abspath(args.vxcheck)
    if args.live:
        if os.geteuid() != 0:
            print("capture on loopback: skipped (needs root)")
            return 77
        outputs["capture:lo"] = (live_output(vxcheck), None)
    else:
        for path in sorted(glob.glob(os.path.join(ROOT, "tests/golden/*.jsonl"))):
            with open(path) as f:
                outputs[os.path.relpath(path, ROOT)] = (f.read(), None)
        for name, cli in CLI_CASES.items():
            outputs["cli:" + name] = (run_cli(vxcheck, cli), None)

    failures = []
    types = {}
    seen = set()
    records = 0
    for source, (text, _) in outputs.items():
        packet_ids = set()
        connection_ids = []
        for n, line in enumerate(text.splitlines(), 1):
            where = "%s:%d" % (source, n)
            try:
                rec = json.loads(line)
            except json.JSONDecodeError as e:
                failures.append("%s: not JSON (%s)" % (where, e))
                continue
            records += 1
            seen.add(rec.get("type"))
            for e in validator.iter_errors(rec):
                failures.append("%s: %s at %s" % (where, e.message[:200], "/".join(map(str, e.absolute_path))))
            failures += ["%s: %s" % (where, e) for e in semantic_errors(rec)]
            walk(rec, "", types, where)
            if rec.get("type") == "packet" and "community_id" in rec:
                packet_ids.add(rec["community_id"])
            if rec.get("type") == "connection":
                connection_ids.append((where, rec.get("community_id")))
        if len(packet_ids) > 0 and any(k in source for k in ("lab-", "scenario-join.jsonl")):
            for where, cid in connection_ids:
                if cid not in packet_ids:
                    failures.append("%s: community_id %s is on no packet" % (where, cid))
    for path, ts in sorted(types.items()):
        if len(ts) > 1:
            failures.insert(0, "field %s has %d types: %s" % (
                path or "(record)", len(ts), ", ".join("%s (%s)" % kv for kv in sorted(ts.items()))))
    expected = {"verdict"} if args.live else {"packet", "summary", "connection", "connections"}
    for t in sorted(expected - seen):
        failures.append("no %s record in any output: the test covers less than the schema" % t)

    for f in failures[:60]:
        print("FAIL " + f)
    print("%d records from %d outputs, %d field paths: %d failures" %
          (records, len(outputs), len(types), len(failures)))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/python3
"""Compares the connection records of two `vxcheck analyze --json` outputs (tests/points_test.sh):
one scenario's points given as separate files and as one file that holds them all.

Usage: points_compare.py SEPARATE.jsonl ONE_FILE.jsonl [OLD=NEW ...]

Each connection (by client and server) must have the same verdicts, outcome, SYN counts, SYN
schedule, delay, tunnel ports and NAT findings. Point names are mapped with OLD=NEW (the -any
files name their points "ifindex N"); frame numbers are left out: they count per file.
"""

import json
import re
import sys

KEPT = ("verdicts", "outcome", "syn_attempts", "syns", "syn_offsets_s", "delay_s", "schedule",
        "tunnel", "inner_snat", "outer_snat", "corrupted_outer", "hops", "points")


def scrub(value, names):
    if isinstance(value, dict):
        return {k: scrub(v, names) for k, v in value.items() if k not in ("frame", "first_frame")}
    if isinstance(value, list):
        items = [scrub(v, names) for v in value]
        return sorted(items) if all(isinstance(v, str) for v in items) else items
    if isinstance(value, str):
        for old in sorted(names, key=len, reverse=True):  # "ifindex 21" before "ifindex 2"
            value = value.replace(old, names[old])
        return re.sub(r"frame \d+", "frame N", value)  # in explanations
    return value
    return value


def connections(path, names):
    out = {}
    with open(path) as f:
        for line in f:
            record = json.loads(line)
            if record.get("type") != "connection":
                continue
            key = (record["client"], record["server"])
            out[key] = {k: scrub(record[k], names) for k in KEPT if k in record}
    return out


def main():
    names = dict(arg.split("=", 1) for arg in sys.argv[3:])
    separate = connections(sys.argv[1], {})
    one = connections(sys.argv[2], names)
    if not separate:
        print(f"no connection in {sys.argv[1]}")
        return 1
    failed = 0
    for key in sorted(set(separate) | set(one)):
        if separate.get(key) != one.get(key):
            failed += 1
            print(f"{key}: separate files {json.dumps(separate.get(key), sort_keys=True)}")
            print(f"{key}: one file       {json.dumps(one.get(key), sort_keys=True)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

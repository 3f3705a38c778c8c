#!/usr/bin/python3
"""A header-only capture reports the same connections as the full one (issue 21 item 3).

Usage: header_only_test.py VXCHECK FULL CUT SNAPLEN

Runs `vxcheck analyze --json` on FULL and on CUT (FULL as `tcpdump -s SNAPLEN` writes it) and
checks, connection by connection:
  - the same connections (client, server), with the same tunnel (VTEPs, VNI, outer source ports)
    and the same facts that need no TCP flags (outer source port out of range, outer SNAT);
  - the cut capture's verdicts are the full one's, less only those that need what was not
    captured (the SYN story, the client known from its SYN, the outer checksum over the whole
    datagram), and nothing the full capture does not say;
  - the cut capture says what it could not decide: outcome `flags_not_captured` with the snaplen,
    and no SYN, delay or RPC call taken from a segment whose flags it did not see.
Prints "N passed, M failed"; exits 0 if and only if M == 0.
"""

import json
import subprocess
import sys

# Verdicts that need the flags, the client's SYN or the whole outer datagram.
UNDECIDABLE = {"delayed_connect", "syn_dropped", "syn_rejected", "inner_snat", "double_snat",
               "outer_checksum_corrupted", "nfs_endpoint_refused"}
SAME = ("client", "server", "tunnel", "outer_sport_out_of_range", "outer_snat")


def connections(vxcheck, path):
    out = subprocess.run([vxcheck, "analyze", "--json", path], capture_output=True, text=True,
                         check=False).stdout
    records = [json.loads(line) for line in out.splitlines() if line.strip()]
    return {(r["client"], r["server"]): r for r in records if r.get("type") == "connection"}


def main(argv):
    vxcheck, full_path, cut_path, snaplen = argv[0], argv[1], argv[2], int(argv[3])
    full, cut = connections(vxcheck, full_path), connections(vxcheck, cut_path)
    checks = []

    def check(ok, what):
        checks.append(ok)
        print(("ok    " if ok else "FAIL  ") + what)

    check(len(full) > 0, f"the full capture has connections ({len(full)})")
    check(sorted(full) == sorted(cut), f"the same connections: {sorted(full)} / {sorted(cut)}")
    for key, f in sorted(full.items()):
        c = cut.get(key)
        if c is None:
            continue
        name = f"{key[0]} -> {key[1]}"
        for field in SAME:
            check(f.get(field) == c.get(field), f"{name}: {field} {c.get(field)}")
        fv, cv = set(f["verdicts"]) - {"clean"}, set(c["verdicts"]) - {"clean"}
        check(cv <= fv, f"{name}: verdicts {sorted(cv)} all in the full capture's {sorted(fv)}")
        check(fv - cv <= UNDECIDABLE, f"{name}: missing only undecidable ones {sorted(fv - cv)}")
        check(c["outcome"] == "flags_not_captured", f"{name}: outcome {c['outcome']}")
        nc = c.get("flags_not_captured", {})
        check(nc.get("snaplen") == snaplen and nc.get("segments", 0) > 0,
              f"{name}: flags not captured {nc}")
        check(c["syns"] == 0 and "delay_s" not in c and c["history"] == "",
              f"{name}: no SYN, delay or event taken from a cut segment")
        check(c.get("rpc", {}).get("calls", 0) == 0, f"{name}: no RPC call from a cut segment")
        check("Not decided: the TCP flags" in c.get("explanation", ""),
              f"{name}: the explanation says what was not decided")
    failed = checks.count(False)
    print(f"{len(checks) - failed} passed, {failed} failed")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

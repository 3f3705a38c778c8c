#!/usr/bin/python3
"""Checks what `vxcheck capture` said in the lab (tests/lab/capture_lab_test.sh) against what the
kernel did (conntrack) and what the scenarios were. Prints 'N passed, M failed'."""
import json
import re
import subprocess
import sys
from pathlib import Path

out = Path(sys.argv[1])
passed = 0
failed = 0


def check(ok, what):
    global passed, failed
    if ok:
        passed += 1
        print(f"ok    {what}")
    else:
        failed += 1
        print(f"FAIL  {what}")


def lines(name, kind):
    path = out / f"{name}.jsonl"
    if not path.exists():
        return []
    result = []
    for line in path.read_text().splitlines():
        try:
            j = json.loads(line)
        except json.JSONDecodeError:
            continue
        if j.get("type") == kind:
            result.append(j)
    return result


def conntrack_outer(name):
    """UDP 8472 flows from node-a: port on the wire (reply dport) -> pre-NAT port (orig sport)."""
    text = (out / f"{name}-conntrack.txt").read_text() if (out / f"{name}-conntrack.txt").exists() else ""
    pat = re.compile(r"^udp .*src=192\.168\.77\.10 dst=192\.168\.77\.20 sport=(\d+) dport=8472 .*"
                     r"src=192\.168\.77\.20 dst=192\.168\.77\.10 sport=8472 dport=(\d+)")
    return {int(m.group(2)): int(m.group(1)) for m in map(pat.search, text.splitlines()) if m}


# --- phase 1: pre-fix rules -------------------------------------------------------------------
conns = lines("prefix-node-a", "connection")
events = lines("prefix-node-a", "verdict")
nat = conntrack_outer("prefix")
node = [c for c in conns if c["client"].startswith("10.244.1.0:")]
pods = [c for c in conns if c["client"].startswith("10.244.1.5:")]
check(len(node) == 3, f"3 node->ClusterIP connections seen on node-a (got {len(node)})")
check(any(w != p for w, p in nat.items()), f"conntrack shows the outer VXLAN port rewritten: {nat}")
for c in node:
    v = set(c["verdicts"])
    check({"double_snat", "outer_snat", "inner_snat", "outer_checksum_corrupted"} <= v,
          f"{c['client']}: double SNAT with a corrupted outer checksum ({sorted(v)})")
    for k in c.get("corrupted_outer", []):
        check(k["variant"] == "B" and nat.get(k["sport"]) == k.get("pre_nat_sport"),
              f"{c['client']}: variant B, pre-NAT port {k.get('pre_nat_sport')} == conntrack's "
              f"{nat.get(k['sport'])} for wire port {k['sport']}")
    check("D" in c["history"] and "d" in c["history"] and c["packets"] >= 6,
          f"{c['client']}: the NFS call and reply were tracked (history {c['history']}, "
          f"{c['packets']} packets)")
    check(any(e["client"] == c["client"] and "double_snat" in e["verdicts"] for e in events),
          f"{c['client']}: double_snat was printed live")
# Printed within a second of the decisive packet: the last packet the connection had when
# it was decided is that packet or a later one.
lags = [e["decided_at_epoch_s"] - e["last_seen_epoch_s"] for e in events]
check(events and max(lags) < 1.0, f"every live verdict within 1 s of its packet (max lag "
      f"{max(lags) if lags else None:.3f} s)")
clean = [c for c in pods if c["verdicts"] == ["clean"]]
dropped = [c for c in pods if "syn_dropped" in c["verdicts"]]
check(len(clean) == 1, f"pod->pod connection is clean ({[c['verdicts'] for c in pods]})")
check(len(dropped) == 1 and dropped[0]["syns"] >= 3,
      f"the injected DROP gives syn_dropped with >= 3 SYNs ({[(c['verdicts'], c['syns']) for c in dropped]})")
check(any("syn_dropped" in e["verdicts"] for e in events), "syn_dropped was printed live")
# Two interfaces are read one after the other, and their frames go on in time order: the
# capture written with -w shows the order the analysis saw.
pcap = out / "prefix-node-a.pcapng"
stamps = subprocess.run(["tshark", "-r", str(pcap), "-T", "fields", "-e", "frame.time_epoch"],
                        capture_output=True, text=True).stdout.split() if pcap.exists() else []
back = sum(1 for a, b in zip(stamps, stamps[1:]) if float(b) < float(a))
check(len(stamps) > 20 and back == 0,
      f"flannel.1 and eth0 analysed in time order ({back} of {len(stamps)} frames go back in time)")
b = lines("prefix-node-b", "connection")
check(any("outer_checksum_corrupted" in c["verdicts"] for c in b),
      "node-b's eth0 alone also shows the corrupted outer checksums")

metrics = (out / "prefix-metrics.txt").read_text() if (out / "prefix-metrics.txt").exists() else ""


def metric(name, labels=""):
    m = re.search(rf"^{re.escape(name)}{re.escape(labels)} ([0-9.e+]+)$", metrics, re.M)
    return float(m.group(1)) if m else None


live_double = sum(1 for e in events if "double_snat" in e["verdicts"])
metric_double = metric("vxcheck_connection_verdicts_total", '{verdict="double_snat"}')
check(metric_double == live_double,
      f"/metrics double_snat = {metric_double}, live verdict lines = {live_double}")
syn_dropped = metric("vxcheck_connection_verdicts_total", '{verdict="syn_dropped"}')
check(syn_dropped == 1, f"/metrics syn_dropped = {syn_dropped}")
frames = metric("vxcheck_frames_total", '{interface="eth0"}')
check(frames is not None and frames > 0, f"/metrics counts frames on eth0 ({frames})")
check(metric("vxcheck_capture_drops_total", '{interface="eth0"}') == 0, "/metrics: no kernel drops")
summaries = lines("prefix-node-a", "summary")
bad = sum(s["packets_with_bad_checksum"] for s in summaries if s.get("scope") == "file")
check(bad > 0, f"the final report counts the bad outer checksums ({bad} packets)")

# --- phase 2: post-fix rules ------------------------------------------------------------------
conns = lines("postfix-node-a", "connection")
node = [c for c in conns if c["client"].startswith("10.244.1.0:")]
check(len(node) == 3, f"3 node->ClusterIP connections under post-fix rules (got {len(node)})")
for c in node:
    v = set(c["verdicts"])
    check(not v & {"outer_snat", "double_snat", "outer_checksum_corrupted"},
          f"{c['client']}: no outer NAT verdict under post-fix rules ({sorted(v)})")
err = (out / "postfix-node-a.err").read_text() if (out / "postfix-node-a.err").exists() else ""
check("reopening" in err and "capturing again" in err,
      "flannel.1 going down and up: capture reported it and carried on")

print(f"{passed} passed, {failed} failed")
sys.exit(0 if failed == 0 else 1)

#!/usr/bin/python3
"""Check vxcheck's JSON report on a gen_capture.py file against the generator's manifest.

Usage: vxcheck analyze --json --no-progress FILE > report.jsonl
       tools/bench/check_capture.py FILE.manifest.json report.jsonl

Passes (exit 0) when the bad checksums are exactly the planted ones (inner TCP with the
planted stored/expected values, outer UDP on the NAT'd SYNs), no IPv4 checksum is bad or
partial, and the connections needing attention are exactly the planted ones with the planted
verdicts, delays and pre-NAT outer ports. Prints each mismatch; exit 1 if there is one.
"""

import json
import sys


def main():
    if len(sys.argv) != 3:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    manifest = json.load(open(sys.argv[1]))
    packets, conns, summaries = [], [], []
    for line in open(sys.argv[2]):
        o = json.loads(line)
        {'packet': packets, 'connection': conns, 'summary': summaries}.get(o['type'], []).append(o)
    problems = []

    bad = {}
    for p in packets:
        for layer in p['layers']:
            c = layer.get('checksum')
            if c and c['status'] == 'bad':
                bad[(p['frame'], layer['proto'], layer['depth'])] = (c['stored'], c.get('expected'))
        if p.get('anomalies'):
            problems.append('frame %d: anomalies %s' % (p['frame'], p['anomalies']))
    want = {(d['frame'], 'tcp', 1): (d['stored'], d['expected']) for d in manifest['bad_inner_tcp_checksums']}
    nat_frames = {f for d in manifest['double_snat'] for f in d['corrupted_frames']}
    for key in sorted(set(bad) | set(want) | {(f, 'udp', 0) for f in nat_frames}):
        if key in want:
            if bad.get(key) != want[key]:
                problems.append('frame %d %s@%d: planted bad %s, vxcheck says %s' % (key + (want[key], bad.get(key))))
        elif key[0] in nat_frames and key[1:] == ('udp', 0):
            if key not in bad:
                problems.append('frame %d: NAT\'d SYN, outer UDP checksum not reported bad' % key[0])
        else:
            problems.append('frame %d %s@%d: unexpected bad checksum %s' % (key + (bad[key],)))

    for s in summaries:
        for row in s['checksums']:
            if row['check'] == 'ipv4' and (row['bad'] or row['partial']):
                problems.append('summary: ipv4@%d has %d bad, %d partial' % (row['depth'], row['bad'], row['partial']))
        if s['skipped']['total']:
            problems.append('summary: %d frames skipped' % s['skipped']['total'])

    expected = {}
    for d in manifest['double_snat']:
        expected[d['connection'].split(' -> ')[0]] = (
            ['delayed_connect', 'inner_snat', 'outer_snat', 'double_snat', 'outer_checksum_corrupted'],
            d['delay_s'], d['pre_nat_outer_sport'])
    for d in manifest['syn_retransmissions']:
        expected[d['connection'].split(' -> ')[0]] = (['delayed_connect'], d['delay_s'], None)
    seen = set()
    for c in conns:
        if c['verdicts'] == ['clean']:
            continue
        seen.add(c['client'])
        exp = expected.get(c['client'])
        if exp is None:
            problems.append('connection %s: unexpected verdicts %s' % (c['client'], c['verdicts']))
            continue
        verdicts, delay, pre_nat = exp
        if sorted(c['verdicts']) != sorted(verdicts):
            problems.append('connection %s: verdicts %s, planted %s' % (c['client'], c['verdicts'], verdicts))
        if c.get('delay_s') is None or abs(c['delay_s'] - delay) > 0.01:
            problems.append('connection %s: delay %s, planted %s s' % (c['client'], c.get('delay_s'), delay))
        if pre_nat is not None:
            got = {x.get('pre_nat_sport') for x in c.get('corrupted_outer', [])}
            if got != {pre_nat}:
                problems.append('connection %s: pre-NAT outer sport %s, planted %d' % (c['client'], got, pre_nat))
    for client in sorted(set(expected) - seen):
        problems.append('connection %s: planted finding not reported' % client)

    for p in problems:
        print(p)
    print('%s: %d bad checksums, %d connections with findings, %d problem(s)'
          % ('OK' if not problems else 'MISMATCH', len(bad), len(seen), len(problems)))
    return 1 if problems else 0


if __name__ == '__main__':
    sys.exit(main())

#!/usr/bin/env bash
# Several input files are read as one timeline, merged by time (issue 18; src/app/merged_inputs.h):
#  - the report is the same, byte for byte, whatever the order of the files on the command line
#    (every order of four files once, else the rotations and their reversals), with --threads 1
#    and 2 and with --no-fast-path, in JSON (every packet listed) and in text;
#  - a mergecap of the files (one pcapng, an interface per file) gives the same connections;
#  - each file keeps its own IP reassembly;
#  - a pre-NAT tap that sees one direction of a connection (pcaps/nflog-one-way.pcap: an NFLOG
#    rule at OUTPUT) gives no rpc_unanswered; the same records logged after NAT (POSTROUTING) do.
# Usage: merge_test.sh VXCHECK
set -u
vxcheck=$1
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
passed=0
failed=0
pass() { passed=$((passed + 1)); }
fail() {
    echo "FAIL $*"
    failed=$((failed + 1))
}

orders() {  # N [all]: the orders of N files to try, one per line (indexes from 0): every one
    # with "all", else the rotations and their reversals
    /usr/bin/python3 - "$1" "${2:-}" <<'PY'
import itertools, sys
n = int(sys.argv[1])
if sys.argv[2] == "all":
    orders = list(itertools.permutations(range(n)))
else:
    base = list(range(n))
    orders = [base[i:] + base[:i] for i in range(n)]
    orders += [list(reversed(o)) for o in orders]
for o in orders:
    print(" ".join(map(str, o)))
PY
}

# same_in_every_order NAME [all] ARGS... -- FILES...: the report of every order of FILES (or of
# the rotations and reversals) equals that of the order given.
same_in_every_order() {
    local name=$1 which=
    shift
    if [ "$1" = all ]; then
        which=all
        shift
    fi
    local args=() files=()
    while [ "$1" != "--" ]; do args+=("$1"); shift; done
    shift
    files=("$@")
    "$vxcheck" analyze "${args[@]}" "${files[@]}" >"$tmp/$name.want" 2>"$tmp/$name.err"
    if [ ! -s "$tmp/$name.want" ]; then
        fail "$name: no output"
        cat "$tmp/$name.err"
        return
    fi
    local bad=0 order
    while read -r -a order; do
        local given=()
        for i in "${order[@]}"; do given+=("${files[$i]}"); done
        "$vxcheck" analyze "${args[@]}" "${given[@]}" >"$tmp/$name.got" 2>/dev/null
        if ! cmp -s "$tmp/$name.want" "$tmp/$name.got"; then
            fail "$name: order ${order[*]} gives another report"
            diff "$tmp/$name.want" "$tmp/$name.got" | head -5 | cut -c1-300
            bad=1
            break
        fi
    done < <(orders "${#files[@]}" "$which")
    [ "$bad" -eq 0 ] && pass
}

for story in prefix postfix unmatched skew kept-port in-range-partial pod-to-pod; do
    same_in_every_order "nat-$story" --json --packets all -- \
        pcaps/nat/$story-node-a-prenat.pcap pcaps/nat/$story-node-a-flannel1.pcap \
        pcaps/nat/$story-node-a-eth0.pcap pcaps/nat/$story-node-b-eth0.pcap \
        pcaps/nat/$story-node-b-flannel1.pcap
done
drop=(pcaps/nat/drop-node-a-flannel1.pcap pcaps/nat/drop-node-a-eth0.pcap
    pcaps/nat/drop-node-b-eth0.pcap pcaps/nat/drop-node-b-flannel1.pcap)
join=(pcaps/scenario-join-node-a-flannel1.pcap pcaps/scenario-join-node-a-eth0.pcap
    pcaps/scenario-join-node-b-eth0.pcap pcaps/scenario-join-node-b-flannel1.pcap)
lab=(tools/lab/recorded/node-to-pod-prefix-node-a-flannel1.pcap
    tools/lab/recorded/node-to-pod-prefix-node-a-eth0.pcap
    tools/lab/recorded/node-to-pod-prefix-node-b-eth0.pcap
    tools/lab/recorded/node-to-pod-prefix-node-b-flannel1.pcap)
same_in_every_order nat-drop --json --packets all -- "${drop[@]}"
same_in_every_order nat-drop-text -- "${drop[@]}"
same_in_every_order join all --json --packets all -- "${join[@]}"
same_in_every_order join-threads --json --packets all --threads 2 -- "${join[@]}"
same_in_every_order lab-text --all-ports -- "${lab[@]}"
same_in_every_order lab-no-fast-path --json --no-fast-path -- "${lab[@]}"

# --threads and --no-fast-path change nothing of a merged run.
"$vxcheck" analyze --json --packets all "${lab[@]}" >"$tmp/lab-1.jsonl" 2>/dev/null
"$vxcheck" analyze --json --packets all --threads 2 "${lab[@]}" >"$tmp/lab-2.jsonl" 2>/dev/null
"$vxcheck" analyze --json --packets all --no-fast-path "${lab[@]}" >"$tmp/lab-slow.jsonl" 2>/dev/null
if cmp -s "$tmp/lab-1.jsonl" "$tmp/lab-2.jsonl" && cmp -s "$tmp/lab-1.jsonl" "$tmp/lab-slow.jsonl"; then
    pass
else
    fail "lab: --threads 2 or --no-fast-path gives another report"
fi

# A mergecap of the files gives the connections of the files given separately (points_compare.py:
# verdicts, SYN counts, schedules, hops; the points are named after the interfaces mergecap
# writes with -I none, "interface N" in the order of its inputs).
if command -v mergecap >/dev/null; then
    for name in join drop; do
        declare -n set=$name
        mergecap -I none -F pcapng -w "$tmp/$name-merged.pcapng" "${set[@]}"
        maps=()
        for i in "${!set[@]}"; do
            maps+=("interface $i=$(basename "${set[$i]}" .pcap)")
        done
        "$vxcheck" analyze --json "${set[@]}" >"$tmp/$name-separate.jsonl" 2>/dev/null
        "$vxcheck" analyze --json "$tmp/$name-merged.pcapng" >"$tmp/$name-merged.jsonl" 2>/dev/null
        if /usr/bin/python3 tests/points_compare.py "$tmp/$name-separate.jsonl" \
            "$tmp/$name-merged.jsonl" "${maps[@]}"; then
            pass
        else
            fail "$name: a mergecap of the files gives other connections than the files"
        fi
        unset -n set
    done
fi

# Each file keeps its own IP reassembly: the same fragments at two points (one file given twice,
# its frames interleaved by the merge) are reassembled at each, and each file's summary is that of
# the file read alone.
file_summaries() {  # the file summaries of a --json output without their names, one per line
    /usr/bin/python3 -c '
import json, sys
for line in sys.stdin:
    r = json.loads(line)
    if r["type"] == "summary" and r["scope"] == "file":
        r.pop("point"); r.pop("file")
        print(json.dumps(r, sort_keys=True))
'
}
cp pcaps/fragments.pcap "$tmp/other.pcap"
alone=$("$vxcheck" analyze --json pcaps/fragments.pcap 2>/dev/null | file_summaries)
both=$("$vxcheck" analyze --json pcaps/fragments.pcap "$tmp/other.pcap" 2>/dev/null | file_summaries)
if [ -n "$alone" ] && [ "$both" = "$(printf '%s\n%s' "$alone" "$alone")" ] &&
    grep -q '"datagrams_reassembled": [1-9]' <<<"$alone"; then
    pass
else
    fail "fragments at two points: the file summaries differ from the file's alone"
    echo "alone: $alone"
    echo "both: $both"
fi

# One direction at a pre-NAT point is no evidence of an unanswered call.
verdicts() {  # the verdicts of the connections of a --json output, one line per connection
    /usr/bin/python3 -c '
import json, sys
for line in sys.stdin:
    r = json.loads(line)
    if r["type"] == "connection":
        print(r["client"], r["rpc"]["calls"], ",".join(r["verdicts"]))
'
}
got=$("$vxcheck" analyze --json pcaps/nflog-one-way.pcap 2>/dev/null | verdicts)
if [ "$got" = "192.168.1.10:1021 1 clean" ]; then
    pass
else
    fail "nflog-one-way: '$got', expected '192.168.1.10:1021 1 clean'"
fi
/usr/bin/python3 - "$tmp/after-nat.pcap" <<'PY'
import sys
sys.path.insert(0, "tools")
import make_points_pcaps as m
m.write(sys.argv[1], m.pcap_file(m.LINKTYPE_NFLOG, m.one_way(4)))
PY
got=$("$vxcheck" analyze --json "$tmp/after-nat.pcap" 2>/dev/null | verdicts)
if [ "$got" = "192.168.1.10:1021 1 rpc_unanswered" ]; then
    pass
else
    fail "nflog-one-way logged after NAT: '$got', expected '192.168.1.10:1021 1 rpc_unanswered'"
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]

#!/usr/bin/env bash
# Bad input from a user gets one line on stderr naming the thing and the problem, and exit 2;
# good input exits 0 (nothing found) or 1 (findings). Usage: cli_test.sh VXCHECK_BINARY
set -u
bin=$1
cd "$(dirname "$0")/.."
passed=0
failed=0

# expect NAME EXIT_CODE STDERR_REGEX -- ARGS...
expect() {
    local name=$1 code=$2 pattern=$3
    shift 4
    local err rc
    err=$("$bin" "$@" 2>&1 >/dev/null)
    rc=$?
    if [ "$rc" -ne "$code" ]; then
        echo "FAIL $name: exit $rc, expected $code (stderr: $err)"
        failed=$((failed + 1))
        return
    fi
    if [ -n "$pattern" ] && ! grep -Eq -- "$pattern" <<<"$err"; then
        echo "FAIL $name: stderr '$err' does not match /$pattern/"
        failed=$((failed + 1))
        return
    fi
    if [ "$code" -eq 2 ] && [ "$(wc -l <<<"$err")" -ne 1 ]; then
        echo "FAIL $name: expected exactly one line on stderr, got: $err"
        failed=$((failed + 1))
        return
    fi
    passed=$((passed + 1))
}

expect missing-file 2 '^vxcheck: error: /nonexistent/x.pcap: No such file or directory$' -- analyze /nonexistent/x.pcap
expect directory 2 'pcaps: is a directory' -- analyze pcaps
expect not-a-capture 2 'not-a-capture.pcap: not a pcap or pcapng capture' -- analyze pcaps/bad/not-a-capture.pcap
expect empty-file 2 'empty-file.pcap: empty file' -- analyze pcaps/bad/empty-file.pcap
expect broken-pcapng 2 'broken-pcapng.pcapng: broken pcapng section header' -- analyze pcaps/bad/broken-pcapng.pcapng
expect truncated-record 2 'truncated-record.pcap: stopped after frame 1: truncated dump file' -- analyze pcaps/bad/truncated-record.pcap
expect unknown-linktype 2 'unknown-linktype.pcap: link type DLT 147 is not supported \(2 frames counted, none analysed\)' -- analyze pcaps/bad/unknown-linktype.pcap
expect no-command 2 'no command given' --
expect unknown-command 2 "unknown command 'frobnicate'" -- frobnicate
expect no-files 2 'no capture file given' -- analyze
expect bad-option 2 "unrecognised option '--frob'" -- analyze --frob pcaps/vxlan-clean.pcap
expect bad-port 2 'vxlan-port 70000: not a UDP port' -- analyze --vxlan-port 70000 pcaps/vxlan-clean.pcap
expect bad-packets 2 'packets sometimes: expected bad, all or none' -- analyze --packets sometimes pcaps/vxlan-clean.pcap
expect bad-range 2 'vxlan-sport-range 9-3' -- analyze --vxlan-sport-range 9-3 pcaps/vxlan-clean.pcap
expect bad-evidence-budget 2 'evidence-budget 12x: expected a size in bytes' -- analyze --evidence-budget 12x pcaps/vxlan-clean.pcap
expect bad-max-vtep-pairs 2 '--max-vtep-pairs 0: expected a whole number from 1 to' -- analyze --max-vtep-pairs 0 pcaps/vxlan-clean.pcap
expect evidence-budget-suffix 0 '' -- analyze --evidence-budget 1M --max-vtep-pairs 4 pcaps/vxlan-clean.pcap
expect help 0 '' -- analyze --help
expect bad-reassembly-memory 2 'reassembly-memory 2G: at most 1G' -- analyze --reassembly-memory 2G pcaps/fragments.pcap
expect bad-reassembly-timeout 2 'reassembly-timeout 0: expected a whole number' -- analyze --reassembly-timeout 0 pcaps/fragments.pcap
expect clean 0 '' -- analyze pcaps/vxlan-clean.pcap
expect findings 1 '' -- analyze pcaps/vxlan-inner-bad-tcp.pcap
expect stdin 0 '' -- analyze - <pcaps/vxlan-clean.pcap

# The report of a file that ends mid-record still covers what was read.
out=$("$bin" analyze --json pcaps/bad/truncated-record.pcap 2>/dev/null)
if grep -q '"frames_read":1' <<<"$out" && grep -q '"error":"truncated dump file' <<<"$out"; then
    passed=$((passed + 1))
else
    echo "FAIL truncated-report: $out"
    failed=$((failed + 1))
fi
# Several files, one of them missing: the others are still analyzed, exit 2.
out=$("$bin" analyze pcaps/vxlan-clean.pcap /nonexistent.pcap 2>/dev/null)
rc=$?
if [ $rc -eq 2 ] && grep -q 'pcaps/vxlan-clean.pcap' <<<"$out"; then
    passed=$((passed + 1))
else
    echo "FAIL partial-input: exit $rc"
    failed=$((failed + 1))
fi

# --evidence: a pcapng whose frames carry comments that tshark shows as frame.comment.
if command -v tshark >/dev/null; then
    ev=$(mktemp --suffix=.pcapng)
    "$bin" analyze --evidence "$ev" pcaps/scenario-63s-variant-a.pcap >/dev/null 2>&1
    comments=$(tshark -r "$ev" -T fields -e frame.comment 2>/dev/null)
    if [ "$(grep -c 'outer_checksum_corrupted' <<<"$comments")" -eq 8 ] &&
        grep -q 'SYN #7 of ISN 1866109380 at +63.000 s, outer sport 45000' <<<"$comments"; then
        passed=$((passed + 1))
    else
        echo "FAIL evidence: tshark shows: $comments"
        failed=$((failed + 1))
    fi
    rm -f "$ev"
fi

# --evidence with RPC verdicts: the call and reply frames behind each finding, commented with the
# verdict, the XID and the procedure; tshark dissects the kept frame as that very message.
# evidence_has NAME FILTER PATTERN ARGS...: a frame of `analyze --evidence ARGS` that the display
# FILTER selects has a comment with PATTERN.
evidence_has() {
    local name=$1 filter=$2 pattern=$3
    shift 3
    "$bin" analyze --evidence "$ev" "$@" >/dev/null 2>&1
    rows=$(tshark -r "$ev" -Y "$filter" -T fields -e frame.comment 2>/dev/null)
    if grep -qF -- "$pattern" <<<"$rows"; then
        passed=$((passed + 1))
    else
        echo "FAIL $name: tshark shows: $rows"
        failed=$((failed + 1))
    fi
}
if command -v tshark >/dev/null; then
    ev=$(mktemp --suffix=.pcapng)
    evidence_has evidence-rpc-unanswered 'rpc.xid == 0x5a140004 && rpc.msgtyp == 0' \
        'rpc_unanswered: CALL xid 0x5a140004 NFS v4 COMPOUND (SEQUENCE PUTROOTFH GETFH GETATTR), no reply' \
        pcaps/nfs/nfs41-hang-vs-40.pcap
    evidence_has evidence-rpc-accept-error 'rpc.xid == 0x5a170001 && rpc.msgtyp == 1' \
        'rpc_accept_error: REPLY xid 0x5a170001 to NFS_ACL v3 NULL: PROG_UNAVAIL' \
        --all-ports pcaps/nfs/rpc-mechanics.pcap
    evidence_has evidence-rpc-session-limit 'frame.number == 4' \
        'REPLY xid 0x5a130004 to NFS v4 COMPOUND (SEQUENCE PUTFH READ), 6104 bytes > ca_maxresponsesize 4096 (frame 15 of' \
        pcaps/nfs/nfs-reply-exceeds-session.pcap
    evidence_has evidence-rpc-session-limit-call 'rpc.xid == 0x5a130005 && rpc.msgtyp == 0' \
        'CALL xid 0x5a130005 NFS v4 COMPOUND (SEQUENCE PUTFH READ), answered in frame 18' \
        pcaps/nfs/nfs-reply-exceeds-session.pcap
    rm -f "$ev"
fi

# Options validated: not a number, negative, out of range, given twice (before any interface is
# opened: nosuch0 does not exist).
expect duration-nan 2 '^vxcheck: error: --duration nan: expected a number of seconds' -- capture -i nosuch0 --duration nan
expect duration-inf 2 '--duration inf: expected a number of seconds' -- capture -i nosuch0 --duration inf
expect duration-negative 2 '--duration -1: expected a number of seconds' -- capture -i nosuch0 --duration=-1
expect max-flows-negative 2 '--max-flows -1: expected a whole number from 1' -- analyze --max-flows -1 pcaps/vxlan-clean.pcap
expect count-negative 2 '--count -5: expected a whole number' -- capture -i nosuch0 --count -5
expect threads-zero 2 '--threads 0: expected a whole number from 1 to 64' -- analyze --threads 0 pcaps/vxlan-clean.pcap
expect interface-twice 2 '^vxcheck: error: -i nosuch0: interface given twice$' -- capture -i nosuch0 -i nosuch0
expect buffer-size-2g 2 '--buffer-size 2048: expected a whole number from 1 to 1023 MiB' -- capture -i nosuch0 --buffer-size 2048
expect file-mode-bad 2 '--file-mode 0800: expected octal' -- analyze --file-mode 0800 pcaps/vxlan-clean.pcap

# A classic pcap whose frames go back in time (two captures concatenated) is read as written, with
# a warning that says so: the second copy of the 63-s scenario starts 63 s before the first ends.
cat_tmp=$(mktemp --suffix=.pcap)
{ cat pcaps/scenario-63s-variant-a.pcap; tail -c +25 pcaps/scenario-63s-variant-a.pcap; } >"$cat_tmp"
expect out-of-time-order 1 "11 frame\(s\) are stamped more than 1 s before.*first is frame 17, up to 63.0 s back.*not in time order" -- analyze "$cat_tmp"
expect in-time-order 1 "" -- analyze pcaps/scenario-63s-variant-a.pcap
if "$bin" analyze pcaps/scenario-63s-variant-a.pcap 2>&1 >/dev/null | grep -q 'time order'; then
    echo "FAIL in-time-order: a file in time order was warned about"
    failed=$((failed + 1))
else
    passed=$((passed + 1))
fi
rm -f "$cat_tmp"

# Outputs never destroy data: an output that is an input, another output, standard output or a
# symlink is refused before anything is read or written; files are created 0600 (--file-mode);
# a report that cannot be written is exit 2.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cp pcaps/scenario-63s-variant-a.pcap "$tmp/in.pcap"
sum=$(cksum <"$tmp/in.pcap")
expect evidence-is-input 2 "--evidence $tmp/in.pcap: is the input $tmp/in.pcap" -- analyze --evidence "$tmp/in.pcap" "$tmp/in.pcap"
expect evidence-is-input-by-link 2 'is the input' -- analyze --evidence "$tmp/./in.pcap" "$tmp/in.pcap"
expect write-is-evidence 2 "--evidence $tmp/x.pcapng: is also the --write file" -- capture -i nosuch0 --write "$tmp/x.pcapng" --evidence "$tmp/x.pcapng"
expect evidence-dash 2 '--evidence -: standard output carries the report' -- analyze --evidence - "$tmp/in.pcap"
echo precious >"$tmp/target"
ln -s "$tmp/target" "$tmp/link.pcapng"
expect evidence-symlink 2 "link.pcapng: is a symbolic link" -- analyze --evidence "$tmp/link.pcapng" "$tmp/in.pcap"
err=$("$bin" analyze "$tmp/in.pcap" 2>&1 >>"$tmp/in.pcap")
rc=$?
if [ $rc -eq 2 ] && grep -q 'standard output is the input' <<<"$err" && [ "$(cksum <"$tmp/in.pcap")" = "$sum" ] &&
    [ "$(cat "$tmp/target")" = precious ]; then
    passed=$((passed + 1))
else
    echo "FAIL inputs-kept: exit $rc ($err), or an input or a symlink's target changed"
    failed=$((failed + 1))
fi
err=$("$bin" analyze --evidence "$tmp/in.pcap" - 2>&1 >/dev/null <"$tmp/in.pcap")
rc=$?
err2=$("$bin" analyze --evidence "$tmp/out.pcapng" "$tmp/in.pcap" 2>&1 >"$tmp/out.pcapng")
rc2=$?
if [ $rc -eq 2 ] && grep -q 'is the input - (standard input)' <<<"$err" && [ $rc2 -eq 2 ] &&
    grep -q 'is standard output, where the report goes' <<<"$err2" &&
    [ "$(cksum <"$tmp/in.pcap")" = "$sum" ]; then
    passed=$((passed + 1))
else
    echo "FAIL stdin-stdout-kept: exit $rc ($err), exit $rc2 ($err2)"
    failed=$((failed + 1))
fi
out=$("$bin" analyze --evidence "$tmp/no/dir/e.pcapng" "$tmp/in.pcap" 2>"$tmp/err")
rc=$?
if [ $rc -eq 2 ] && [ -z "$out" ] && grep -q "directory $tmp/no/dir: No such file" "$tmp/err"; then
    passed=$((passed + 1))
else
    echo "FAIL evidence-checked-at-start: exit $rc, stdout ${#out} bytes, $(cat "$tmp/err")"
    failed=$((failed + 1))
fi
"$bin" analyze --evidence "$tmp/e.pcapng" "$tmp/in.pcap" >/dev/null 2>&1
"$bin" analyze --file-mode 0640 --evidence "$tmp/f.pcapng" "$tmp/in.pcap" >/dev/null 2>&1
if [ "$(stat -c %a "$tmp/e.pcapng")" = 600 ] && [ "$(stat -c %a "$tmp/f.pcapng")" = 640 ]; then
    passed=$((passed + 1))
else
    echo "FAIL file-mode: $(stat -c %a "$tmp/e.pcapng" "$tmp/f.pcapng" | tr '\n' ' ')"
    failed=$((failed + 1))
fi
err=$("$bin" analyze --evidence "$tmp/closed.pcapng" "$tmp/in.pcap" 2>&1 >&-)
rc=$?
if [ $rc -eq 2 ] && grep -q 'standard output is closed' <<<"$err" && [ ! -e "$tmp/closed.pcapng" ]; then
    passed=$((passed + 1))
else
    echo "FAIL stdout-closed: exit $rc, stderr: $err"
    failed=$((failed + 1))
fi
err=$("$bin" analyze "$tmp/in.pcap" 2>&1 >/dev/full)
rc=$?
if [ $rc -eq 2 ] &&
    [ "$err" = "vxcheck: error: the report could not be written to standard output: No space left on device" ]; then
    passed=$((passed + 1))
else
    echo "FAIL report-to-full-disk: exit $rc, stderr: $err"
    failed=$((failed + 1))
fi

# The memory bounds count what they drop: in the text report and in the JSON totals.
bounded=(analyze --max-vtep-pairs 1 --evidence-budget 1K --state-budget 1K
    pcaps/scenario-63s-variant-a.pcap)
text=$("$bin" "${bounded[@]}" 2>&1)
json=$("$bin" "${bounded[0]}" --json "${bounded[@]:1}" 2>&1)
if grep -q "(7 VTEP pairs' checksum modes forgotten for newer ones: --max-vtep-pairs)" <<<"$text" &&
    grep -q "evidence frames not kept: --evidence-budget spent)" <<<"$text" &&
    grep -q "SYN, checksum or sighting records not kept: --state-budget spent)" <<<"$text" &&
    grep -q "connections not analysed for RPC, or not to their end: --state-budget spent)" <<<"$text" &&
    grep -Eq '"dropped":\{"vtep_pairs":7,"evidence_frames":[1-9][0-9]*,"verdict_memory":0,"connection_detail":[1-9][0-9]*,"rpc_connections":[1-9][0-9]*\}' <<<"$json"; then
    passed=$((passed + 1))
else
    echo "FAIL bounds-counted: the dropped counters are not in the reports"
    failed=$((failed + 1))
fi

# IP reassembly: on by default (a datagram record on each completing frame, its UDP checksum
# verified), off with --reassembly-memory 0 (fragments unverified, no datagram record).
on=$("$bin" analyze --json --packets all pcaps/fragments.pcap 2>&1)
off=$("$bin" analyze --json --packets all --reassembly-memory 0 pcaps/fragments.pcap 2>&1)
if [ "$(grep -c '"type":"datagram"' <<<"$on")" -eq 2 ] && ! grep -q '"type":"datagram"' <<<"$off" &&
    grep -q '"datagrams_reassembled":2' <<<"$on" && ! grep -q datagrams_reassembled <<<"$off"; then
    passed=$((passed + 1))
else
    echo "FAIL reassembly-on-off: fragments.pcap reassembled with the default, not with 0"
    failed=$((failed + 1))
fi
if "$bin" analyze --help 2>&1 | grep -q -- '--reassembly-memory'; then
    passed=$((passed + 1))
else
    echo "FAIL help-reassembly: analyze --help does not explain --reassembly-memory"
    failed=$((failed + 1))
fi

# --no-fast-path: every frame through the general decoder gives the same report, packet lines
# included (--packets all), for every shipped capture.
for f in pcaps/*.pcap pcaps/*.pcapng pcaps/reassembly/*.pcap; do
    a=$("$bin" analyze --json --packets all "$f" 2>&1)
    b=$("$bin" analyze --json --packets all --no-fast-path "$f" 2>&1)
    if [ "$a" = "$b" ] && [ -n "$a" ]; then
        passed=$((passed + 1))
    else
        echo "FAIL no-fast-path: $f gives a different report"
        failed=$((failed + 1))
    fi
done

# bench: every pass runs, and the full pass (the frames through analyze's FrameConsumer) writes
# a report of analyze's size; with --threads 2 the report is the one thread's.
out=$("$bin" bench --json --repeat 1 --threads 2 pcaps/scenario-63s-variant-a.pcap 2>&1)
rc=$?
size=$("$bin" analyze pcaps/scenario-63s-variant-a.pcap 2>/dev/null | wc -c)
if [ $rc -eq 0 ] && grep -q '"output_identical":true' <<<"$out" &&
    grep -q "\"report_bytes\":$size," <<<"$out"; then
    passed=$((passed + 1))
else
    echo "FAIL bench: exit $rc, analyze report $size bytes: $out"
    failed=$((failed + 1))
fi
expect bench-missing-file 2 '/nonexistent/x.pcap: No such file or directory' -- bench /nonexistent/x.pcap
expect bench-unknown-linktype 2 'unknown-linktype.pcap: link type DLT 147 is not supported: no frame to benchmark' -- bench pcaps/bad/unknown-linktype.pcap

# --- tcpdump habits (issue 20): --version, -r, a read filter, -c, stdin, gzip ---------------
# verify NAME COMMAND...: passes when COMMAND succeeds.
verify() {
    local name=$1
    shift
    if "$@"; then
        passed=$((passed + 1))
    else
        echo "FAIL $name"
        failed=$((failed + 1))
    fi
}
# The connection and summary lines of a JSON report, the file and point names made one.
verdicts() { grep -E '"type":"(connection|summary)"' | sed -E 's/"(file|point)":"[^"]*"/"\1":"X"/g; s/"points":\["[^"]*"\]/"points":["X"]/g'; }

for cmd in "" analyze capture bench; do
    out=$("$bin" $cmd --version 2>&1)
    verify "version-${cmd:-top}" grep -Eq '^vxcheck [0-9]+\.[0-9]+\.[0-9]+.*'$'\n''libpcap version [0-9]' <<<"$out"
done
out=$("$bin" analyze -V pcaps/vxlan-clean.pcap 2>&1)
verify version-short grep -q '^libpcap version' <<<"$out"

scen=pcaps/scenario-63s-variant-a.pcap
rst=pcaps/scenario-rst-icmp-silent.pcap
# -r, repeatable, beside the files after the options; the same report as the files alone.
a=$("$bin" analyze --json -r "$scen" -r pcaps/vxlan-clean.pcap "$rst" 2>&1)
b=$("$bin" analyze --json "$scen" pcaps/vxlan-clean.pcap "$rst" 2>&1)
verify read-option test -n "$a" -a "$a" = "$b"
expect read-missing 2 '/nonexistent.pcap: No such file or directory' -- analyze -r /nonexistent.pcap

# A read filter after the files (quoted or as tcpdump's words) or with -f: rejected frames are
# counted in the report; the verdicts of what it keeps are those of the whole file when it keeps
# what they need: TCP port 2049 and ICMP (without ICMP, the rejected connection is not seen so).
full=$("$bin" analyze --json "$rst" 2>&1 | verdicts | grep connection)
kept=$("$bin" analyze --json -r "$rst" 'tcp port 2049 or icmp' 2>&1)
words=$("$bin" analyze --json "$rst" tcp port 2049 or icmp 2>&1)
minus=$("$bin" analyze --json -f 'tcp port 2049 or icmp' "$rst" 2>&1)
no_icmp=$("$bin" analyze --json "$rst" 'tcp port 2049' 2>&1 | verdicts | grep connection)
total=$(tcpdump -r "$rst" 2>/dev/null | wc -l)
tcp2049=$(tcpdump -r "$rst" 'tcp port 2049' 2>/dev/null | wc -l)
icmp=$(tcpdump -r "$rst" icmp 2>/dev/null | wc -l)
verify filter-keeps-verdicts test -n "$full" -a "$full" = "$(verdicts <<<"$kept" | grep connection)"
verify filter-words test "$kept" = "$words" -a "$kept" = "$minus"
verify filter-without-icmp-differs test "$icmp" -gt 0 -a "$no_icmp" != "$full"
verify filter-icmp-rejected grep -q '"syn_rejected"' <<<"$full"
verify filter-counted grep -q "\"frames_read\":$tcp2049,\"frames_filtered\":$((total - tcp2049))," \
    <<<"$("$bin" analyze --json "$rst" 'tcp port 2049' 2>&1)"
verify filter-counted-text grep -q "($tcp2049 frames, $((total - tcp2049)) filtered out" \
    <<<"$("$bin" analyze "$rst" 'tcp port 2049' 2>&1)"
expect filter-bad 2 "^vxcheck: error: analyze: filter 'tcp prot 2049': .*syntax error" -- analyze "$rst" 'tcp prot 2049'
expect filter-bad-words 2 "filter 'tcp prot 2049': .*syntax error" -- analyze "$rst" tcp prot 2049
expect filter-bad-f 2 "filter 'tcp prot 2049': .*syntax error" -- analyze -f 'tcp prot 2049' "$rst"
expect filter-twice 2 "two filters" -- analyze -f icmp "$rst" 'tcp port 2049'
expect filter-link-type 2 "filter 'ether host 1:2:3:4:5:6' for link type RAW" -- analyze pcaps/raw-ip.pcap 'ether host 1:2:3:4:5:6'

# -c: the first N frames (those the filter passes), over all files in time order (they are
# merged by time), as tcpdump -c. The lab recording is years later than the fixtures: none of its
# frames is among the first 20, so it is not read.
verify count-one-file grep -q '"scope":"file",.*"frames_read":5,' <<<"$("$bin" analyze --json -c 5 "$scen" 2>&1)"
out=$("$bin" analyze --json -c 20 tools/lab/recorded/node-to-pod-prefix-node-a-eth0.pcap \
    pcaps/vxlan-clean.pcap "$scen" 2>&1)
verify count-over-files grep -q '"scope":"total","frames_read":20,' <<<"$out"
verify count-stops-reading test "$(grep -c '"scope":"file"' <<<"$out")" -eq 2
out=$("$bin" analyze --json --threads 2 -c 3 "$scen" 'udp[6:2] = 0xffff' 2>&1)
verify count-after-filter grep -q '"frames_read":3,"frames_filtered":' <<<"$out"
expect count-bad 2 '--count x: expected a whole number' -- analyze -c x "$scen"

# Standard input from a pipe (tcpdump -w -): the report of the file, and no "file shrank".
a=$(tcpdump -r "$scen" -w - 2>/dev/null | "$bin" analyze --json - 2>"$tmp/err")
rc=$?
verify stdin-pipe test $rc -eq 1 -a -n "$a" -a "$(verdicts <<<"$a")" = "$("$bin" analyze --json "$scen" 2>&1 | verdicts)"
verify stdin-pipe-quiet test ! -s "$tmp/err"

# gzip: recognised by its magic, not its name; the verdicts of the uncompressed file (tshark
# reads the same frames); a corrupt or cut stream is one line, exit 2.
gzip -c "$scen" >"$tmp/scen.pcap.gz"
cp "$tmp/scen.pcap.gz" "$tmp/scenario-63s-variant-a.noname"
gzip -c pcaps/pcapng-two-blocks.pcapng >"$tmp/pcapng-two-blocks.pcapng.gz"
plain=$("$bin" analyze --json "$scen" 2>&1 | verdicts)
gz=$("$bin" analyze --json "$tmp/scen.pcap.gz" 2>&1)
verify gzip-verdicts test -n "$plain" -a "$plain" = "$(verdicts <<<"$gz")"
verify gzip-magic test "$plain" = "$("$bin" analyze --json "$tmp/scenario-63s-variant-a.noname" 2>&1 | verdicts)"
verify gzip-tshark grep -q "\"frames_read\":$(tshark -r "$tmp/scen.pcap.gz" 2>/dev/null | wc -l)," <<<"$gz"
plain=$("$bin" analyze --json pcaps/pcapng-two-blocks.pcapng 2>&1 | verdicts)
verify gzip-pcapng-stdin test -n "$plain" -a "$plain" = "$("$bin" analyze --json - <"$tmp/pcapng-two-blocks.pcapng.gz" 2>&1 | verdicts)"
printf '\037\213not deflate at all' >"$tmp/bad.gz"
expect gzip-corrupt 2 'bad.gz: corrupt gzip data' -- analyze "$tmp/bad.gz"
gzip -c pcaps/big-tcp.pcap | head -c 300 >"$tmp/cut.pcap.gz"
expect gzip-cut 2 'cut.pcap.gz: stopped after frame 0: the gzip stream is cut short' -- analyze "$tmp/cut.pcap.gz"

# The README's eth0 filter that keeps only NFS (and ICMP) inside VXLAN: the verdicts of the
# captures of NFS in VXLAN stay; of sender-offload's frames only the three VXLAN NFS SYNs pass.
nfs_in_vxlan='icmp or (udp port 8472 and udp[28:2] = 0x0800 and udp[30] & 0x0f = 5 and ((udp[39] = 6 and (udp[50:2] = 2049 or udp[52:2] = 2049)) or udp[39] = 1))'
verify readme-filter-in-readme grep -qF "'$nfs_in_vxlan'" README.md
for f in "$scen" pcaps/scenario-join-node-a-eth0.pcap pcaps/vxlan-nat-variants.pcap; do
    a=$("$bin" analyze --json "$f" 2>&1 | grep '"type":"connection"')
    b=$("$bin" analyze --json "$f" "$nfs_in_vxlan" 2>&1 | grep '"type":"connection"')
    verify "readme-filter-$(basename "$f")" test -n "$a" -a "$a" = "$b"
done
verify readme-filter-keeps-nfs grep -q '"frames_read":3,"frames_filtered":4,' \
    <<<"$("$bin" analyze --json pcaps/sender-offload.pcap "$nfs_in_vxlan" 2>&1)"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]

#!/usr/bin/env bash
# compare.sh: vxcheck analyze against the bare libpcap read loop, tcpdump and tshark, on the
# same capture in one go, the machine it ran on, and the issue-23 target ratios with PASS/FAIL.
#
# Usage: tools/bench/compare.sh [options] FILE [VXCHECK_BINARY] [READLOOP_BINARY]
#
#   --json             one JSON object on stdout instead of the text table
#   --runs N           rounds: each runs every tool but tshark once (tshark runs once, last);
#                      each tool's best run is kept (default 5)
#   --prefix N         tcpdump and tshark read only the first N frames, which the ratios use
#                      (default 500000; 0 = all of FILE)
#   --no-tcpdump-whole do not also run tcpdump once on all of FILE (a reference rate, not
#                      judged: tcpdump slows down over a long file, tools/bench/README.md)
#   --tcpdump-prefix   accepted for older command lines (tcpdump reads the prefix anyway)
#   --prefix-file P    keep the prefix capture at P and reuse it when it is newer than FILE
#   --no-tshark, --no-tcpdump   skip one of the slow tools (its ratio is then SKIP)
#   --no-warm          do not re-read the file (untimed) before each timed run
#
# Binaries default to build/src/vxcheck and build/tools/bench/vxcheck_readloop in the
# repository, else vxcheck / vxcheck_readloop on PATH. TCPDUMP, TSHARK and EDITCAP override
# those tools. Every rate is frames / wall-clock seconds of the whole process (date +%s.%N),
# with frames counted once with the read loop. Exit status: 0 every target passes, 1 a target
# fails or could not be measured (SKIP), 2 usage or tool error.
set -u -o pipefail

die() { echo "compare.sh: $*" >&2; exit 2; }

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)

json=0 runs=5 prefix=500000 prefix_file="" do_tshark=1 do_tcpdump=1 warm=1 tcpdump_whole=1
args=()
while [ $# -gt 0 ]; do
    case "$1" in
        --json) json=1 ;;
        --runs) [ $# -ge 2 ] || die "--runs needs a number"; runs=$2; shift ;;
        --runs=*) runs=${1#*=} ;;
        --prefix) [ $# -ge 2 ] || die "--prefix needs a number"; prefix=$2; shift ;;
        --prefix=*) prefix=${1#*=} ;;
        --prefix-file) [ $# -ge 2 ] || die "--prefix-file needs a path"; prefix_file=$2; shift ;;
        --prefix-file=*) prefix_file=${1#*=} ;;
        --tcpdump-prefix) ;;
        --no-tcpdump-whole) tcpdump_whole=0 ;;
        --no-tshark) do_tshark=0 ;;
        --no-tcpdump) do_tcpdump=0 ;;
        --no-warm) warm=0 ;;
        -h|--help) sed -n '2,23p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
        --) shift; args+=("$@"); break ;;
        -*) die "unknown option $1 (see --help)" ;;
        *) args+=("$1") ;;
    esac
    shift
done
[ ${#args[@]} -ge 1 ] && [ ${#args[@]} -le 3 ] || die "usage: compare.sh [--json] [--runs N] [--prefix N] FILE [VXCHECK_BINARY] [READLOOP_BINARY]"
[[ "$runs" =~ ^[1-9][0-9]*$ ]] || die "--runs $runs: expected a positive number"
[[ "$prefix" =~ ^[0-9]+$ ]] || die "--prefix $prefix: expected a number"

file=${args[0]}
[ -r "$file" ] || die "$file: cannot read"

pick() {  # pick DEFAULT_PATH NAME: the repository build, else PATH
    if [ -x "$1" ]; then echo "$1"; else command -v "$2" || true; fi
}
vx=${args[1]:-$(pick "$repo/build/src/vxcheck" vxcheck)}
rl=${args[2]:-$(pick "$repo/build/tools/bench/vxcheck_readloop" vxcheck_readloop)}
[ -n "$vx" ] && [ -x "$vx" ] || die "vxcheck binary not found (give it as the 2nd argument)"
[ -n "$rl" ] && [ -x "$rl" ] || die "vxcheck_readloop not found (build tools/bench, or give it as the 3rd argument)"
tcpdump=${TCPDUMP:-tcpdump} tshark=${TSHARK:-tshark} editcap=${EDITCAP:-editcap}
if [ $do_tcpdump = 1 ] && ! command -v "$tcpdump" >/dev/null; then die "tcpdump not found (or use --no-tcpdump)"; fi
if [ $do_tshark = 1 ] && ! command -v "$tshark" >/dev/null; then die "tshark not found (or use --no-tshark)"; fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/vxbench-compare.XXXXXX") || die "mktemp failed"
trap 'rm -rf "$tmp"' EXIT

log() { if [ $json = 0 ]; then printf '%s\n' "$*" >&2; fi; }

# time_cmd NAME CMD...: runs CMD with stdout to /dev/null; sets T (seconds) and RC.
time_cmd() {
    local name=$1 t0 t1
    shift
    t0=$(date +%s.%N)
    "$@" >/dev/null 2>"$tmp/$name.err"
    RC=$?
    t1=$(date +%s.%N)
    T=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.6f", b - a }')
}

# warm FILE: reads the file a timed run reads, untimed, before the run (unless --no-warm). This
# VM pages out file pages that look cold (DAMON: few accesses for 30 s), and a streaming
# benchmark reads each page once per run, so without it later tools would find part of the file
# on disk and earlier ones not (the tool order would decide the ratios).
warm() { if [ "$warm" = 1 ]; then cat "$1" >/dev/null; fi; }

rate() { awk -v n="$1" -v s="$2" 'BEGIN { if (s > 0) printf "%.1f", n / s; else print 0 }'; }
mpps() { awk -v r="$1" 'BEGIN { printf "%.4f", r / 1e6 }'; }

# The machine, printed with every run: numbers from different machines (or from a busy one) do
# not compare. How busy it is before we start: the load average lags by a minute, so also sample
# /proc/stat over one second (a build running beside the benchmark changes everything on 2 cores).
read -r load1 load5 load15 _ < /proc/loadavg
cores=$(nproc)
cpu_model=$(sed -n 's/^model name[[:space:]]*: *//p' /proc/cpuinfo 2>/dev/null | head -1)
[ -n "$cpu_model" ] || cpu_model=$(LC_ALL=C lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -1)
[ -n "$cpu_model" ] || cpu_model=unknown
kernel=$(uname -r)
mem_kib=$(awk '/^MemTotal:/ { print $2 }' /proc/meminfo 2>/dev/null)
cpu_busy=$( { head -1 /proc/stat; sleep 1; head -1 /proc/stat; } | awk '
    { idle = $5 + $6; total = 0; for (i = 2; i <= NF; i++) total += $i }
    NR == 1 { i0 = idle; t0 = total }
    NR == 2 { d = total - t0; busy = (d > 0) ? 100 * (1 - (idle - i0) / d) : 0; printf "%.0f", busy }')
if [ "${cpu_busy:-0}" -gt 20 ]; then
    log "warning: the CPUs were ${cpu_busy}% busy before starting (load average $load1): other work makes the numbers noisy"
fi

# Frames and bytes of the file: counted once with the read loop (this also warms the page cache).
count() {  # count FILE -> "packets bytes"
    "$rl" --json "$1" | sed -n 's/.*"packets":\([0-9]*\),"bytes":\([0-9]*\).*/\1 \2/p'
}
log "counting frames in $file with $rl"
read -r frames fbytes < <(count "$file") || true
[ -n "${frames:-}" ] && [ "$frames" -gt 0 ] || die "$file: the read loop found no packets"
log "  $frames frames, $fbytes captured bytes"

# tcpdump and tshark are slow (about 0.2 Mpps and 30 kpps), so they read only the first $prefix
# frames, and the ratios use those rates (issue 23). tshark's rate is the same over the first and
# the last 500k frames of the benchmark capture; tcpdump's is not (0.25 Mpps over the first 500k,
# 0.18 over the whole file: its own address hash), so it also reads the whole file once, for
# reference (--no-tcpdump-whole skips it).
slow_file=$file slow_frames=$frames
if [ $((do_tcpdump + do_tshark)) -gt 0 ] && [ "$prefix" -gt 0 ] && [ "$frames" -gt "$prefix" ]; then
    pf=${prefix_file:-$tmp/prefix.pcap}
    if [ -n "$prefix_file" ] && [ -s "$pf" ] && [ "$pf" -nt "$file" ]; then
        log "reusing $pf"
    else
        log "writing the first $prefix frames to $pf"
        if command -v "$editcap" >/dev/null; then
            # In FILE's own format: editcap writes pcapng unless told, and the slow tools should
            # read what the others read. (tcpdump -w below keeps classic pcap.)
            format=()
            case $(od -An -tx1 -N4 "$file" | tr -d ' \n') in
                d4c3b2a1|a1b2c3d4) format=(-F pcap) ;;
                4d3cb2a1|a1b23c4d) format=(-F nsecpcap) ;;
            esac
            "$editcap" "${format[@]}" -r "$file" "$pf" "1-$prefix" 2>"$tmp/editcap.err" || die "editcap failed: $(cat "$tmp/editcap.err")"
        else
            "$tcpdump" -r "$file" -c "$prefix" -w "$pf" 2>"$tmp/editcap.err" || die "tcpdump -w failed"
        fi
    fi
    read -r slow_frames _ < <(count "$pf") || true
    slow_file=$pf
fi

threads=0
if "$vx" analyze --help 2>&1 | grep -q -- '--threads'; then
    threads=1
else
    log "  vxcheck analyze --help does not mention --threads: vxcheck --threads 2 skipped"
fi

declare -A secs all pkts
pkts[cat]=$frames pkts[readloop]=$frames pkts[vxcheck]=$frames pkts[vxcheck_t2]=$frames
pkts[tcpdump]=$slow_frames pkts[tshark]=$slow_frames pkts[tcpdump_whole]=$frames
tcpdump_file=$slow_file
# run_once NAME OKRC WARM_FILE CMD...: one timed run (WARM_FILE read first, untimed); keeps the
# best (lowest) time in secs[NAME] and every time in all[NAME].
run_once() {
    local name=$1 okrc=$2 wf=$3
    shift 3
    warm "$wf"
    time_cmd "$name" "$@"
    if ! [[ " $okrc " == *" $RC "* ]]; then
        echo "compare.sh: $name exited with status $RC: $*" >&2
        sed -n '1,20p' "$tmp/$name.err" >&2
        exit 2
    fi
    all[$name]="${all[$name]:+${all[$name]} }$T"
    if [ -z "${secs[$name]:-}" ] || awk -v t="$T" -v b="${secs[$name]}" 'BEGIN { exit !(t < b) }'; then
        secs[$name]=$T
    fi
    log "  $name: $T s"
}
# In rounds, every tool once per round: the VM's speed drifts from minute to minute, and runs
# of one tool in a block would put each tool in a different minute (the ratios would depend on
# which tool ran when).
for ((round = 1; round <= runs; round++)); do
    log "round $round of $runs"
    # cat: reference only (how fast the file comes out of the page cache)
    run_once cat 0 "$file" cat "$file"
    run_once readloop 0 "$file" "$rl" "$file"
    run_once vxcheck "0 1" "$file" "$vx" analyze --packets none --no-progress "$file"
    if [ $threads = 1 ]; then
        run_once vxcheck_t2 "0 1" "$file" "$vx" analyze --threads 2 --packets none --no-progress "$file"
    fi
    if [ $do_tcpdump = 1 ]; then
        run_once tcpdump 0 "$tcpdump_file" "$tcpdump" -nn -vv -r "$tcpdump_file"
    fi
done
if [ $do_tcpdump = 1 ] && [ $tcpdump_whole = 1 ] && [ "$slow_file" != "$file" ]; then
    # The whole file once, for reference: it takes about ten times the prefix.
    run_once tcpdump_whole 0 "$file" "$tcpdump" -nn -vv -r "$file"
fi
if [ $do_tshark = 1 ]; then
    # tshark -V is the slowest by far: one run is enough.
    run_once tshark 0 "$slow_file" "$tshark" -r "$slow_file" -o ip.check_checksum:TRUE \
        -o tcp.check_checksum:TRUE -o udp.check_checksum:TRUE -d udp.port==8472,vxlan -V
fi
if [ $threads = 1 ]; then
    # The issue asks for output identical to one thread: compare the two reports (untimed).
    "$vx" analyze --packets none --no-progress "$file" >"$tmp/t1.txt" 2>/dev/null
    "$vx" analyze --threads 2 --packets none --no-progress "$file" >"$tmp/t2.txt" 2>/dev/null
    if cmp -s "$tmp/t1.txt" "$tmp/t2.txt"; then threads_same=true; else threads_same=false; fi
fi

declare -A pps
for k in "${!secs[@]}"; do pps[$k]=$(rate "${pkts[$k]}" "${secs[$k]}"); done

# ratio NAME NUM DEN TARGET: one line of the verdict table.
ratios=() all_pass=1
ratio() {
    local name=$1 num=$2 den=$3 target=$4 value verdict
    if [ -n "${pps[$num]:-}" ] && [ -n "${pps[$den]:-}" ]; then
        value=$(awk -v a="${pps[$num]}" -v b="${pps[$den]}" 'BEGIN { printf "%.3f", (b > 0) ? a / b : 0 }')
        if awk -v v="$value" -v t="$target" 'BEGIN { exit !(v >= t) }'; then verdict=PASS; else verdict=FAIL all_pass=0; fi
    else
        value="" verdict=SKIP all_pass=0
    fi
    ratios+=("$name|$value|$target|$verdict")
}
# info NAME NUM DEN: a ratio shown for reference, not a target (the targets compare vxcheck on
# one thread with the other single-threaded tools).
infos=()
info() {
    local value=""
    if [ -n "${pps[$2]:-}" ] && [ -n "${pps[$3]:-}" ]; then
        value=$(awk -v a="${pps[$2]}" -v b="${pps[$3]}" 'BEGIN { printf "%.3f", (b > 0) ? a / b : 0 }')
    fi
    infos+=("$1|$value")
}
info "vxcheck --threads 2 / vxcheck" vxcheck_t2 vxcheck
info "vxcheck / tcpdump -vv, whole file" vxcheck tcpdump_whole
info "vxcheck --threads 2 / tcpdump -vv" vxcheck_t2 tcpdump
info "vxcheck --threads 2 / tshark" vxcheck_t2 tshark
# Issue 23's targets (issue 5's were 0.60 and --threads 2 / vxcheck >= 1.7).
ratio "vxcheck / readloop" vxcheck readloop 0.75
ratio "vxcheck --threads 2 / readloop" vxcheck_t2 readloop 1.0
ratio "vxcheck / tcpdump -vv" vxcheck tcpdump 30
ratio "vxcheck / tshark" vxcheck tshark 150

order=(cat readloop vxcheck vxcheck_t2 tcpdump tcpdump_whole tshark)
declare -A label=(
    [cat]="cat FILE (reference)"
    [readloop]="bare read loop (pcap_next_ex, 1 MiB buffer)"
    [vxcheck]="vxcheck analyze"
    [vxcheck_t2]="vxcheck analyze --threads 2"
    [tcpdump]="tcpdump -nn -vv -r"
    [tcpdump_whole]="tcpdump -nn -vv -r, whole file (reference)"
    [tshark]="tshark -V, checksums on, VXLAN decode-as"
)

if [ $json = 1 ]; then
    jstr() { local s=${1//\\/\\\\}; s=${s//\"/\\\"}; printf '"%s"' "$s"; }
    printf '{"file":%s,"frames":%s,"bytes":%s,"prefix_frames":%s,"runs":%s,"load_before":%s,"cpu_busy_before_pct":%s,"cores":%s,' \
        "$(jstr "$file")" "$frames" "$fbytes" "$slow_frames" "$runs" "$load1" "${cpu_busy:-null}" "$cores"
    printf '"machine":{"cpu_model":%s,"cores":%s,"mem_kib":%s,"kernel":%s,"load_average_before":[%s,%s,%s],"cpu_busy_before_pct":%s},' \
        "$(jstr "$cpu_model")" "$cores" "${mem_kib:-null}" "$(jstr "$kernel")" "$load1" "$load5" "$load15" "${cpu_busy:-null}"
    printf '"vxcheck":%s,"readloop":%s,"tools":{' "$(jstr "$vx")" "$(jstr "$rl")"
    sep=""
    for k in "${order[@]}"; do
        [ -n "${secs[$k]:-}" ] || continue
        printf '%s"%s":{"packets":%s,"best_seconds":%s,"runs_seconds":[%s],"pps":%s,"mpps":%s}' \
            "$sep" "$k" "${pkts[$k]}" "${secs[$k]}" "${all[$k]// /,}" "${pps[$k]}" "$(mpps "${pps[$k]}")"
        sep=","
    done
    printf '},"threads_output_identical":%s,"ratios":[' "$([ $threads = 1 ] && echo "$threads_same" || echo null)"
    sep=""
    for r in "${ratios[@]}"; do
        IFS='|' read -r name value target verdict <<<"$r"
        printf '%s{"name":%s,"value":%s,"target":%s,"result":"%s"}' "$sep" "$(jstr "$name")" \
            "${value:-null}" "$target" "$verdict"
        sep=","
    done
    printf '],"reference_ratios":['
    sep=""
    for r in "${infos[@]}"; do
        IFS='|' read -r name value <<<"$r"
        printf '%s{"name":%s,"value":%s}' "$sep" "$(jstr "$name")" "${value:-null}"
        sep=","
    done
    printf '],"pass":%s}\n' "$([ $all_pass = 1 ] && echo true || echo false)"
else
    echo
    echo "file: $file  ($frames frames, $fbytes captured bytes)"
    echo "machine: $cpu_model, $cores cores, $((${mem_kib:-0} / 1048576)) GiB, kernel $kernel"
    echo "  before the runs: load average $load1 $load5 $load15, CPUs ${cpu_busy:-?}% busy"
    if [ "$slow_frames" != "$frames" ]; then
        echo "tcpdump and tshark read only the first $slow_frames frames (--prefix); the ratios use those rates"
    fi
    printf '%-46s %10s %10s %10s\n' "tool" "packets" "best s" "Mpps"
    for k in "${order[@]}"; do
        [ -n "${secs[$k]:-}" ] || continue
        printf '%-46s %10s %10.3f %10s\n' "${label[$k]}" "${pkts[$k]}" "${secs[$k]}" "$(mpps "${pps[$k]}")"
    done
    [ $threads = 1 ] && echo "vxcheck --threads 2 output identical to one thread: $threads_same"
    echo
    printf '%-32s %9s %8s  %s\n' "ratio (packets/s)" "value" "target" "result"
    for r in "${ratios[@]}"; do
        IFS='|' read -r name value target verdict <<<"$r"
        printf '%-32s %9s %8s  %s\n' "$name" "${value:--}" ">= $target" "$verdict"
    done
    for r in "${infos[@]}"; do
        IFS='|' read -r name value <<<"$r"
        printf '%-32s %9s %8s  %s\n' "$name" "${value:--}" "" "(reference, not a target)"
    done
    echo
    if [ $all_pass = 1 ]; then echo "all targets met"; else echo "targets not met (FAIL or SKIP above)"; fi
fi
[ $all_pass = 1 ]

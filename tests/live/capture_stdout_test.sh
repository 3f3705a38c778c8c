#!/usr/bin/env bash
# tcpdump habits of `vxcheck capture`, on loopback (root only: exit 77, skipped, otherwise):
#  - `capture -i any -w - | tshark -r -`: the pcapng on standard output has every frame vxcheck
#    counted, with Linux cooked v2 (SLL2) headers; the report goes to standard error;
#  - a filter on "any" runs in the kernel on the cooked socket (its offsets moved past the SLL2
#    header, indirect loads included): only the SYN and SYN-ACK of a connection pass
#    'tcp[tcpflags] & tcp-syn != 0';
#  - `capture -i lo -w -` with the text report: stdout is the pcapng alone;
#  - with -i any, each interface is a capture point of its own ("lo" here), not "any".
# Every run is bounded by -c, --duration and timeout. Usage: capture_stdout_test.sh VXCHECK
set -u
bin=$1
[ "$(id -u)" -eq 0 ] || { echo "skipped: needs root (packet sockets)"; exit 77; }
command -v tshark >/dev/null || { echo "skipped: no tshark"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failed=0
fail() {
    echo "FAIL $1"
    failed=1
}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# start NAME SECONDS ARGS...: a capture of at most SECONDS in the background, its pcapng on
# stdout read by tshark into $tmp/NAME.tshark, its stderr in $tmp/NAME.err; waits until it
# captures.
start() {
    local name=$1 seconds=$2
    shift 2
    (timeout $((seconds + 5)) "$bin" capture --status-interval 0 --duration "$seconds" "$@" -w - 2>"$tmp/$name.err" |
        tshark -r - -T fields -e frame.protocols -e sll.ifindex -e tcp.flags.syn \
            >"$tmp/$name.tshark" 2>/dev/null) &
    for _ in $(seq 160); do  # 8 s: a sanitizer build on a loaded machine starts slowly
        grep -q "capturing on" "$tmp/$name.err" 2>/dev/null && return
        sleep 0.05
    done
    fail "$name: the capture did not start: $(cat "$tmp/$name.err")"
}

# The three captures run at once (each tshark takes a while to start). Each ends at its -c
# count; --duration bounds it when frames go missing.
p_any=$(free_port)
p_syn=$(free_port)
p_lo=$(free_port)
start any 8 -i any -c 10 --json -f "udp port $p_any"
start syn 8 -i any -c 2 --port "$p_syn" --json -f "tcp[tcpflags] & tcp-syn != 0 and tcp port $p_syn"
start lo 8 -i lo -c 3 -f "udp port $p_lo"
python3 -c "
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for _ in range(10):
    s.sendto(b'x' * 32, ('127.0.0.1', $p_any))
for _ in range(3):
    s.sendto(b'y', ('127.0.0.1', $p_lo))
l = socket.socket()
l.bind(('127.0.0.1', $p_syn))
l.listen()
c = socket.create_connection(('127.0.0.1', $p_syn))
a, _ = l.accept()
c.sendall(b'hello')
a.recv(16)
c.close()
a.close()"
wait

lines=$(grep -c '^sll:ethertype:ip:udp' "$tmp/any.tshark")
lo=$(cat /sys/class/net/lo/ifindex)
[ "$lines" -eq 10 ] || fail "any: tshark read $lines SLL2 UDP frames, expected 10"
[ "$(cut -f2 "$tmp/any.tshark" | sort -u)" = "$lo" ] || fail "any: SLL2 interface index is not lo's ($lo)"
grep -q '"type":"summary",.*"scope":"file",.*"file":"any","link_type":"LINUX_SLL2","frames_read":10,' \
    "$tmp/any.err" || fail "any: no JSON report of 10 frames on stderr: $(cat "$tmp/any.err")"

[ "$(grep -c . "$tmp/syn.tshark")" -eq 2 ] && [ "$(cut -f3 "$tmp/syn.tshark" | sort -u)" = "1" ] ||
    fail "syn: expected the SYN and the SYN-ACK only, tshark read: $(cat "$tmp/syn.tshark")"
grep -q '"verdicts":\["clean"\]' "$tmp/syn.err" || fail "syn: no clean connection on stderr"
# -i any: the interface the frames came from is the capture point, not "any".
grep -q '"type":"connection".*"points":\["lo"\]' "$tmp/syn.err" || fail "syn: the point is not lo"

[ "$(grep -c '^eth:ethertype:ip:udp' "$tmp/lo.tshark")" -eq 3 ] || fail "lo: tshark did not read 3 frames"
grep -q '^No bad checksums' "$tmp/lo.err" && grep -q '(3 frames, ' "$tmp/lo.err" ||
    fail "lo: no text report on stderr: $(cat "$tmp/lo.err")"

[ "$failed" -eq 0 ] && echo "ok"
exit "$failed"

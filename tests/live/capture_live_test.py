#!/usr/bin/env python3
"""`vxcheck capture` on loopback or in a network namespace made for the test (issue 22).

Usage: capture_live_test.py VXCHECK CASE. One CTest per CASE; each is bounded in time (every
wait has a deadline), kills what it started and deletes the namespace it made on exit. Needs
root (packet sockets, namespaces): exits 77 (skipped) otherwise.

Cases:
  privileges      after start: no capability in any set of any thread, no_new_privs; -Z nobody
                  runs as nobody; -Z of a user that does not exist is refused
  metrics-idle    50 idle TCP connections do not keep /metrics from answering within 1 s
  metrics-errors  --metrics-listen names the problem: address in use, bad address, bad port,
                  address not available, permission
  signals         SIGHUP and SIGPIPE end the capture as SIGTERM does: the report, and a
                  --write pcapng whose every block is whole
  drain           frames queued at stop are read; those left (past --count) are counted
  buffer          the socket buffer is read back: the most accepted (1023 MiB) is granted whole; without
                  CAP_NET_ADMIN the capped buffer is reported and drops get no --buffer-size advice
  reopen          an interface that goes down, comes back, is deleted and created again is
                  captured again (with every capability dropped), its drops all still counted
  give-up         --give-up-after ends the capture with exit 2 and the report when an interface
                  does not come back
  json-lines      with --json, stdout and stderr together are JSON Lines: the status and the log
                  lines are JSON objects ("status", "log"), and `jq 'select(.type=="verdict")'`
                  over both streams of a run (as `kubectl logs` shows them) exits 0 with the
                  verdict
  metrics         /metrics of a live run passes `promtool check metrics`: no series twice, none
                  of a library's, build_info, interface_up, last_frame_timestamp_seconds,
                  tracked_connections and connections_evicted_total with the values of the run
  default-route   -i default-route captures the interface of the namespace's default route, and
                  is refused (exit 2) where there is none
"""

import json
import os
import re
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

VXCHECK = os.path.abspath(sys.argv[1]) if len(sys.argv) > 1 else ""
PROCS = []
NETNS = "vxcheck-live-%d" % os.getpid()
NETNS_MADE = False


def fail(msg):
    print("FAIL: " + msg, file=sys.stderr)
    sys.exit(1)


def check(cond, msg):
    if not cond:
        fail(msg)


class Capture:
    """A running `vxcheck capture` with stdout and stderr in files."""

    def __init__(self, args, netns=False, prefix=(), stdout=None, status="0"):
        self.dir = tempfile.mkdtemp(prefix="vxcheck-live-")
        self.out_path = os.path.join(self.dir, "out")
        self.err_path = os.path.join(self.dir, "err")
        cmd = list(prefix) + [VXCHECK, "capture", "--status-interval", status] + args
        if netns:
            cmd = ["ip", "netns", "exec", NETNS] + cmd
        self.out = open(self.out_path, "wb")
        self.err = open(self.err_path, "wb")
        self.proc = subprocess.Popen(cmd, stdout=stdout if stdout is not None else self.out,
                                     stderr=self.err, stdin=subprocess.DEVNULL)
        PROCS.append(self.proc)

    def stderr(self):
        with open(self.err_path, encoding="utf-8", errors="replace") as f:
            return f.read()

    def stdout(self):
        with open(self.out_path, encoding="utf-8", errors="replace") as f:
            return f.read()

    def wait_log(self, text, count=1, timeout=3.0):
        """Waits until `text` appears `count` times on stderr (or the process ends)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.stderr().count(text) >= count:
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.02)
        fail("no '%s' (x%d) on stderr within %.1f s:\n%s" % (text, count, timeout, self.stderr()))

    def started(self):
        self.wait_log("capturing on")
        return self

    def finish(self, sig=signal.SIGINT, timeout=4.0):
        if sig is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            fail("capture did not end within %.1f s of signal %s:\n%s" % (timeout, sig, self.stderr()))

    def summary(self, iface):
        for line in self.stdout().splitlines():
            if not line.startswith("{"):
                continue
            j = json.loads(line)
            if j.get("type") == "summary" and j.get("scope") == "file" and j.get("file") == iface:
                return j
        fail("no JSON summary of %s in:\n%s\n%s" % (iface, self.stdout(), self.stderr()))


def udp_send(port, n, size=64, addr="127.0.0.1"):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    payload = b"x" * size
    for _ in range(n):
        try:
            s.sendto(payload, (addr, port))
        except OSError:
            pass  # ENOBUFS under a burst: the frames that left are what counts
    s.close()


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def proc_status(pid):
    """{thread id: {field: value}} from /proc/PID/task/*/status."""
    threads = {}
    for tid in os.listdir("/proc/%d/task" % pid):
        fields = {}
        with open("/proc/%d/task/%s/status" % (pid, tid)) as f:
            for line in f:
                k, _, v = line.partition(":")
                fields[k] = v.strip()
        threads[tid] = fields
    return threads


def http_get(port, path="/metrics", timeout=1.0):
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    s.settimeout(timeout)
    s.sendall(("GET %s HTTP/1.1\r\nHost: x\r\n\r\n" % path).encode())
    data = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    s.close()
    return data.decode("utf-8", "replace")


def in_netns(*cmd):
    subprocess.run(["ip", "netns", "exec", NETNS] + list(cmd), check=True)


def make_netns_with_link():
    """A namespace with veth d0 (peer d1) at 10.9.0.1/24 and a static neighbour 10.9.0.2:
    frames sent to 10.9.0.2 leave through d0."""
    global NETNS_MADE
    if subprocess.run(["ip", "netns", "add", NETNS], check=False).returncode != 0:
        print("skipped: cannot create a network namespace here", file=sys.stderr)
        sys.exit(77)
    NETNS_MADE = True
    in_netns("ip", "link", "set", "lo", "up")
    add_link()


def add_link():
    in_netns("ip", "link", "add", "d0", "type", "veth", "peer", "name", "d1")
    in_netns("ip", "addr", "add", "10.9.0.1/24", "dev", "d0")
    in_netns("ip", "link", "set", "d1", "up")
    in_netns("ip", "link", "set", "d0", "up")
    in_netns("ip", "neigh", "replace", "10.9.0.2", "lladdr", "02:00:00:00:00:02", "dev", "d0")


def netns_udp_send(port, n, size=64):
    code = ("import socket\ns=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\n"
            "for _ in range(%d):\n"
            "    try: s.sendto(b'x'*%d,('10.9.0.2',%d))\n"
            "    except OSError: pass\n" % (n, size, port))
    in_netns(sys.executable, "-c", code)


# ---------------------------------------------------------------------------------------------

def case_privileges():
    port = free_port()
    cap = Capture(["-i", "lo", "--metrics-listen", "127.0.0.1:%d" % port]).started()
    check("vxcheck_frames_total" in http_get(port), "no /metrics after start")
    for tid, st in proc_status(cap.proc.pid).items():
        for k in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"):
            check(int(st[k], 16) == 0, "thread %s keeps %s %s" % (tid, k, st[k]))
        check(st["NoNewPrivs"] == "1", "thread %s: NoNewPrivs %s" % (tid, st["NoNewPrivs"]))
    check(cap.finish() in (0, 1), "capture failed:\n" + cap.stderr())

    cap = Capture(["-i", "lo", "-Z", "nobody"]).started()
    for tid, st in proc_status(cap.proc.pid).items():
        check(st["Uid"].split() == ["65534"] * 4, "thread %s: Uid %s" % (tid, st["Uid"]))
        check(st["Gid"].split() == ["65534"] * 4, "thread %s: Gid %s" % (tid, st["Gid"]))
        check(int(st["CapEff"], 16) == 0 and int(st["CapPrm"], 16) == 0, "caps with -Z")
    check(cap.finish() in (0, 1), "capture -Z nobody failed:\n" + cap.stderr())

    cap = Capture(["-i", "lo", "-Z", "no-such-user-vxcheck"])
    check(cap.finish(None) == 2, "-Z of a missing user not refused")
    check("no-such-user-vxcheck: no such user" in cap.stderr(), cap.stderr())


def case_metrics_idle():
    port = free_port()
    cap = Capture(["-i", "lo", "--metrics-listen", "127.0.0.1:%d" % port]).started()
    idle = []
    for i in range(50):
        s = socket.create_connection(("127.0.0.1", port), timeout=1)
        if i % 2:
            s.sendall(b"GET /metr")  # half a request, never finished
        idle.append(s)
    time.sleep(0.1)
    t0 = time.monotonic()
    text = http_get(port, timeout=1.0)
    took = time.monotonic() - t0
    check(text.startswith("HTTP/1.1 200") and "vxcheck_frames_total" in text, text[:200])
    check(took < 1.0, "/metrics took %.2f s with 50 idle clients" % took)
    check(http_get(port, "/other").startswith("HTTP/1.1 404"), "not 404 elsewhere")
    for s in idle:
        s.close()
    check(cap.finish() in (0, 1), "capture failed:\n" + cap.stderr())


def case_metrics_errors():
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen(1)
    port = busy.getsockname()[1]
    for listen, expected in (("127.0.0.1:%d" % port, "address already in use"),
                             ("300.1.2.3:9474", "bad address '300.1.2.3'"),
                             ("localhost-ish:9474", "bad address"),
                             ("127.0.0.1:99999", "bad port '99999'"),
                             ("10.255.255.254:9474", "address not available")):
        cap = Capture(["-i", "lo", "--metrics-listen", listen, "--duration", "2"])
        check(cap.finish(None) == 2, "--metrics-listen %s accepted" % listen)
        err = cap.stderr()
        check("--metrics-listen %s: %s" % (listen, expected) in err,
              "for %s expected '%s' in:\n%s" % (listen, expected, err))
        check("null context" not in err, err)
    busy.close()
    # A port below 1024 without CAP_NET_BIND_SERVICE.
    cap = Capture(["-i", "lo", "--metrics-listen", "127.0.0.1:1"],
                  prefix=["setpriv", "--bounding-set", "-net_bind_service", "--"])
    check(cap.finish(None) == 2, "port 1 without CAP_NET_BIND_SERVICE accepted")
    check("127.0.0.1:1: permission denied" in cap.stderr(), cap.stderr())


def pcapng_blocks(path):
    """Block types of a pcapng file; fails if any block is cut or inconsistent."""
    with open(path, "rb") as f:
        data = f.read()
    types, off = [], 0
    while off < len(data):
        check(off + 12 <= len(data), "pcapng cut inside a block header at %d" % off)
        btype, blen = struct.unpack_from("<II", data, off)
        check(blen >= 12 and blen % 4 == 0 and off + blen <= len(data),
              "pcapng block at %d cut (length %d, file %d)" % (off, blen, len(data)))
        check(struct.unpack_from("<I", data, off + blen - 4)[0] == blen, "block trailer")
        types.append(btype)
        off += blen
    return types


def case_signals():
    port = free_port()
    for sig in (signal.SIGHUP, signal.SIGPIPE):
        wdir = tempfile.mkdtemp(prefix="vxcheck-live-")
        pcap = os.path.join(wdir, "w.pcapng")
        cap = Capture(["-i", "lo", "--filter", "udp dst port %d" % port, "--json", "-w", pcap])
        cap.started()
        udp_send(port, 20, size=1000)
        time.sleep(0.3)  # read by then (what is still queued at the signal is drained anyway)
        rc = cap.finish(sig)
        check(rc in (0, 1), "%s: exit %d (killed?):\n%s" % (sig.name, rc, cap.stderr()))
        check(cap.summary("lo")["frames_read"] == 20, "%s: report: %s" % (sig.name, cap.stdout()))
        check(pcapng_blocks(pcap).count(6) == 20, "%s: --write holds not 20 frames" % sig.name)
        check("stopped by " + sig.name in cap.stderr(), cap.stderr())


def case_drain():
    port = free_port()
    # Frames queued while the process is stopped are read at SIGTERM.
    cap = Capture(["-i", "lo", "--filter", "udp dst port %d" % port, "--json"]).started()
    cap.proc.send_signal(signal.SIGSTOP)
    udp_send(port, 6000)
    cap.proc.send_signal(signal.SIGTERM)
    cap.proc.send_signal(signal.SIGCONT)
    check(cap.finish(None) in (0, 1), cap.stderr())
    s = cap.summary("lo")
    check(s["frames_read"] == 6000, "read %d of 6000 queued frames" % s["frames_read"])
    check("error" not in s, str(s))
    # Past --count the rest stays queued, and is counted.
    cap = Capture(["-i", "lo", "--filter", "udp dst port %d" % port, "--json", "--count",
                   "100"]).started()
    cap.proc.send_signal(signal.SIGSTOP)
    udp_send(port, 1000)
    cap.proc.send_signal(signal.SIGCONT)
    check(cap.finish(None) in (0, 1), cap.stderr())
    s = cap.summary("lo")
    m = re.search(r"(\d+) frames still queued at stop were not read", s.get("error", ""))
    # Loopback queues each frame twice (sent and received); 100 of them were read.
    check(m is not None and 1600 <= int(m.group(1)) <= 1800, "unread not counted: %s" % s)


def case_buffer():
    # The most --buffer-size accepts (what the kernel grants a socket at most) is granted whole.
    cap = Capture(["-i", "lo", "--buffer-size", "1023", "--duration", "0.2"])
    check(cap.finish(None) in (0, 1), cap.stderr())
    m = re.search(r"lo: socket buffer ([\d.]+) MiB", cap.stderr())
    check(m is not None and float(m.group(1)) >= 1023, "buffer: " + cap.stderr())
    # Without CAP_NET_ADMIN the buffer is capped at net.core.rmem_max: said so, and drops are
    # not met with "try --buffer-size".
    port = free_port()
    cap = Capture(["-i", "lo", "--filter", "udp dst port %d" % port, "--json"],
                  prefix=["setpriv", "--bounding-set", "-net_admin", "--"]).started()
    check("net.core.rmem_max caps it" in cap.stderr(), cap.stderr())
    cap.proc.send_signal(signal.SIGSTOP)
    udp_send(port, 3000, size=1200)
    cap.proc.send_signal(signal.SIGCONT)
    time.sleep(0.2)
    check(cap.finish() in (0, 1), cap.stderr())
    err = cap.summary("lo").get("error", "")
    check("frames dropped by the kernel" in err, "no drops: " + err)
    check("--buffer-size" not in err and "net.core.rmem_max" in err, err)


def case_reopen():
    make_netns_with_link()
    port = 9999
    cap = Capture(["-i", "d0", "--filter", "udp dst port %d" % port, "--json", "--buffer-size",
                   "1"], netns=True).started()
    cap.proc.send_signal(signal.SIGSTOP)
    netns_udp_send(port, 2500, size=1200)  # a 2 MiB buffer holds fewer
    cap.proc.send_signal(signal.SIGCONT)
    time.sleep(0.2)
    # Down and up, then deleted and created again (a new ifindex): bound again each time.
    in_netns("ip", "link", "set", "d0", "down")
    cap.wait_log("every second")
    in_netns("ip", "link", "set", "d0", "up")
    cap.wait_log("d0: capturing again")
    in_netns("ip", "link", "del", "d0")
    cap.wait_log("every second", count=2)
    add_link()
    cap.wait_log("d0: capturing again", count=2)
    netns_udp_send(port, 5)
    time.sleep(0.2)
    check(cap.finish() in (0, 1), cap.stderr())
    s = cap.summary("d0")
    m = re.search(r"(\d+) frames dropped by the kernel", s.get("error", ""))
    check(m is not None, "drops before the reopens lost: %s" % s)
    check(s["frames_read"] + int(m.group(1)) == 2505, "frames %s" % s)


def case_give_up():
    for bad in ("nan", "-1"):
        cap = Capture(["-i", "lo", "--give-up-after", bad])
        check(cap.finish(None) == 2 and ("--give-up-after %s: expected" % bad) in cap.stderr(),
              "--give-up-after %s accepted:\n%s" % (bad, cap.stderr()))
    make_netns_with_link()
    cap = Capture(["-i", "d0", "--json", "--give-up-after", "1"], netns=True).started()
    in_netns("ip", "link", "del", "d0")
    rc = cap.finish(None, timeout=4)
    check(rc == 2, "exit %d after giving up:\n%s" % (rc, cap.stderr()))
    check("--give-up-after" in cap.stderr(), cap.stderr())
    check("did not come back" in cap.summary("d0").get("error", ""), cap.stdout())


def tcp_connect(port, n=1):
    """n attempts to connect to 127.0.0.1:port; the sockets of those that succeeded."""
    kept = []
    for _ in range(n):
        s = socket.socket()
        s.settimeout(1.0)
        try:
            s.connect(("127.0.0.1", port))
            kept.append(s)
        except OSError:
            s.close()  # refused: a RST, the verdict syn_rejected
    return kept


def case_json_lines():
    port = free_port()  # nothing listens there: each SYN is answered by a RST
    cap = Capture(["-i", "lo", "--json", "--port", str(port)], status="0.2").started()
    tcp_connect(port, 2)
    deadline = time.monotonic() + 3.0
    while '"type":"verdict"' not in cap.stdout() and time.monotonic() < deadline:
        time.sleep(0.05)
    cap.wait_log('"type":"status"', count=2)
    check(cap.finish(signal.SIGTERM) in (0, 1), cap.stderr())
    out, err = cap.stdout(), cap.stderr()
    # What `kubectl logs` shows: both streams in one, here stderr's lines first (a status record
    # at the top made jq stop with exit 4 when it was a text line).
    both = os.path.join(cap.dir, "both")
    with open(both, "w") as f:
        f.write(err + out)
    with open(both) as f:
        r = subprocess.run(["jq", "-c", 'select(.type=="verdict")'], stdin=f,
                           capture_output=True, text=True, timeout=10)
    check(r.returncode == 0, "jq exit %d: %s\n%s" % (r.returncode, r.stderr, err + out))
    verdicts = [json.loads(line) for line in r.stdout.splitlines()]
    check(len(verdicts) >= 1 and all(v["type"] == "verdict" for v in verdicts),
          "no verdict through jq: " + out)
    check(str(port) in r.stdout, "the verdict is not the connection to %d: %s" % (port, r.stdout))
    types = {}
    for stream, text in (("stdout", out), ("stderr", err)):
        for line in text.splitlines():
            try:
                j = json.loads(line)
            except ValueError:
                fail("%s line is not JSON: %r" % (stream, line))
            check(isinstance(j, dict) and "type" in j, "%s line without a type: %r" % (stream, line))
            types.setdefault(stream, set()).add(j["type"])
    check(types.get("stderr") == {"log", "status"}, "stderr types %s" % types.get("stderr"))
    check("status" not in types["stdout"] and "verdict" in types["stdout"], str(types))
    status = [json.loads(line) for line in err.splitlines() if '"type":"status"' in line]
    last = status[-1]
    check(re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z$", last["timestamp"]) is not None,
          "status timestamp %r" % last["timestamp"])
    check(last["interfaces"][0]["interface"] == "lo" and last["interfaces"][0]["up"] is True,
          str(last))
    check(sum(last["verdicts"].values()) >= 1, "no verdict counted in %s" % last)


def metrics_samples(text):
    """{series: value} of an exposition; fails on a series given twice."""
    samples = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            series, _, value = line.rpartition(" ")
            check(series not in samples, "series twice: " + series)
            samples[series] = float(value)
    return samples


def case_metrics():
    mport = free_port()
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    port = server.getsockname()[1]
    start = time.time()
    cap = Capture(["-i", "lo", "--port", str(port), "--max-flows", "1", "--metrics-listen",
                   "127.0.0.1:%d" % mport]).started()
    # Three connections that stay open, with one tracked at most: two are decided early.
    kept = tcp_connect(port, 3)
    check(len(kept) == 3, "connections to the local server failed")
    deadline = time.monotonic() + 3.0
    text = ""
    while time.monotonic() < deadline:
        text = http_get(mport).split("\r\n\r\n", 1)[1]
        if 'vxcheck_connections_evicted_total{protocol="tcp"} 2' in text:
            break
        time.sleep(0.1)
    path = os.path.join(cap.dir, "metrics.txt")
    with open(path, "w") as f:
        f.write(text)
    with open(path) as f:
        r = subprocess.run(["promtool", "check", "metrics"], stdin=f, capture_output=True,
                           text=True, timeout=10)
    check(r.returncode == 0 and not (r.stdout + r.stderr).strip(),
          "promtool check metrics: %s%s\n%s" % (r.stdout, r.stderr, text))
    samples = metrics_samples(text)
    check(all(k.startswith("vxcheck_") for k in samples), "a series not vxcheck's own")
    check(any(k.startswith("vxcheck_build_info{") and v == 1 for k, v in samples.items()),
          "no build_info")
    check(samples.get('vxcheck_interface_up{interface="lo"}') == 1, "interface_up")
    last = samples.get('vxcheck_last_frame_timestamp_seconds{interface="lo"}', 0)
    check(start - 1 <= last <= time.time() + 1, "last frame at %s, run from %s" % (last, start))
    check(samples.get('vxcheck_connections_evicted_total{protocol="tcp"}') == 2, text)
    check(samples.get("vxcheck_tracked_connections") == 1, text)
    for s in kept:
        s.close()
    server.close()
    check(cap.finish() in (0, 1), cap.stderr())


def case_default_route():
    make_netns_with_link()
    # No default route in the namespace yet: refused, with what to do.
    cap = Capture(["-i", "default-route", "--duration", "0.2"], netns=True)
    check(cap.finish(None) == 2, "-i default-route without a default route: " + cap.stderr())
    check("no default route" in cap.stderr() and "-i IFACE" in cap.stderr(), cap.stderr())
    in_netns("ip", "route", "add", "default", "via", "10.9.0.2", "dev", "d0")
    cap = Capture(["-i", "default-route", "--json", "--filter", "udp dst port 9999"],
                  netns=True).started()
    check("default-route: d0 carries the default route" in cap.stderr(), cap.stderr())
    netns_udp_send(9999, 3)
    time.sleep(0.2)
    check(cap.finish() in (0, 1), cap.stderr())
    check(cap.summary("d0")["frames_read"] == 3, cap.stdout())
    # The same interface by its name and as the default route: given twice.
    cap = Capture(["-i", "d0", "-i", "default-route", "--duration", "0.2"], netns=True)
    check(cap.finish(None) == 2 and "d0 is given twice" in cap.stderr(), cap.stderr())


CASES = {
    "privileges": case_privileges,
    "metrics-idle": case_metrics_idle,
    "metrics-errors": case_metrics_errors,
    "signals": case_signals,
    "drain": case_drain,
    "buffer": case_buffer,
    "reopen": case_reopen,
    "give-up": case_give_up,
    "json-lines": case_json_lines,
    "metrics": case_metrics,
    "default-route": case_default_route,
}


def main():
    if len(sys.argv) != 3 or sys.argv[2] not in CASES:
        print(__doc__, file=sys.stderr)
        return 2
    if os.geteuid() != 0:
        print("skipped: needs root", file=sys.stderr)
        return 77
    try:
        CASES[sys.argv[2]]()
    finally:
        for p in PROCS:
            if p.poll() is None:
                p.kill()
                p.wait()
        if NETNS_MADE:
            subprocess.run(["ip", "netns", "del", NETNS], check=False)
    print("ok: " + sys.argv[2])
    return 0


if __name__ == "__main__":
    sys.exit(main())

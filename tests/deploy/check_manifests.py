#!/usr/bin/env python3
"""Renders deploy/ and checks it (issue 20 item 4).

Usage: check_manifests.py SOURCE_DIR VXCHECK CASE

Cases:
  manifests    every object against the API fields it uses (k8s_types.py: types, required
               fields, no unknown field), and what must hold between them: the Pod Security
               label, selectors that match the pods, ports and probes on the metrics port, the
               security context, the writable volume, args the binary accepts, --max-flows
               sized to the memory limit
  alerts       the PrometheusRule's rules with `promtool check rules`, the metrics they name
               exist in vxcheck, and `promtool test rules` on tests/deploy/alerts_test.yaml
  dockerignore the Docker build context (.dockerignore applied) configures with CMake as
               deploy/Dockerfile does
Rendering: kustomization.yaml's `resources` (files, or directories with their own
kustomization.yaml), as `kubectl apply -k` does for manifests without patches.
"""

import fnmatch
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile

import yaml

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import k8s_types as T  # noqa: E402

ERRORS = []


def error(msg):
    ERRORS.append(msg)


def render(directory):
    """The objects of a kustomization directory, each as (file, object)."""
    with open(os.path.join(directory, "kustomization.yaml")) as f:
        k = yaml.safe_load(f)
    allowed = {"apiVersion", "kind", "resources"}
    for key in set(k) - allowed:
        error("%s/kustomization.yaml: %s is not rendered by this check" % (directory, key))
    out = []
    for res in k.get("resources", []):
        path = os.path.join(directory, res)
        if os.path.isdir(path):
            out += render(path)
            continue
        with open(path) as f:
            for obj in yaml.safe_load_all(f):
                if obj is not None:
                    out.append((os.path.relpath(path), obj))
    return out


# --- types ------------------------------------------------------------------------------------

QTY_RE = re.compile(r"^([0-9]+(\.[0-9]+)?)(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$")
DURATION_RE = re.compile(r"^([0-9]+(ms|s|m|h|d|w|y))+$")
SUFFIX = {None: 1, "m": 1e-3, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "Ki": 2**10,
          "Mi": 2**20, "Gi": 2**30, "Ti": 2**40}


def quantity(value):
    m = QTY_RE.match(str(value))
    if not m:
        raise ValueError("not a quantity: %r" % value)
    return float(m.group(1)) * SUFFIX[m.group(3)]


def check_type(value, spec, where):
    if isinstance(spec, dict):
        if not isinstance(value, dict):
            return error("%s: expected an object, got %r" % (where, value))
        fields = {k.rstrip("!"): k.endswith("!") for k in spec}
        for name, required in fields.items():
            if required and name not in value:
                error("%s: required field %s missing" % (where, name))
        for name, v in value.items():
            if name not in fields:
                error("%s: unknown field %s" % (where, name))
                continue
            check_type(v, spec[name + ("!" if fields[name] else "")], "%s.%s" % (where, name))
    elif isinstance(spec, list):
        if not isinstance(value, list):
            return error("%s: expected a list, got %r" % (where, value))
        for i, v in enumerate(value):
            check_type(v, spec[0], "%s[%d]" % (where, i))
    elif isinstance(spec, tuple) and spec[0] == "enum":
        if value not in spec[1:]:
            error("%s: %r is not one of %s" % (where, value, ", ".join(spec[1:])))
    elif isinstance(spec, tuple) and spec[0] == "map":
        if not isinstance(value, dict):
            return error("%s: expected a map, got %r" % (where, value))
        for k, v in value.items():
            check_type(v, spec[1], "%s[%s]" % (where, k))
    elif spec is bool:
        if not isinstance(value, bool):
            error("%s: expected a boolean, got %r" % (where, value))
    elif spec is int:
        if not isinstance(value, int) or isinstance(value, bool):
            error("%s: expected an integer, got %r" % (where, value))
    elif spec is str:
        if not isinstance(value, str):
            error("%s: expected a string, got %r (quote it)" % (where, value))
    elif spec == T.INT_OR_STR:
        if not isinstance(value, (int, str)) or isinstance(value, bool):
            error("%s: expected an integer or a string, got %r" % (where, value))
    elif spec == T.QTY:
        try:
            quantity(value)
        except ValueError as e:
            error("%s: %s" % (where, e))
    elif spec == T.DURATION:
        if not isinstance(value, str) or not DURATION_RE.match(value):
            error("%s: %r is not a Prometheus duration" % (where, value))
    elif spec == T.ANY_OBJECT:
        if not isinstance(value, dict):
            error("%s: expected an object" % where)


DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
PORT_NAME = re.compile(r"^(?=.*[a-z])[a-z0-9]([-a-z0-9]{0,13}[a-z0-9])?$")
LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9])?$")
LABEL_KEY = re.compile(r"^([a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}"
                       r"[A-Za-z0-9])?$")


def check_labels(labels, where):
    for k, v in (labels or {}).items():
        if not LABEL_KEY.match(k):
            error("%s: bad label key %r" % (where, k))
        if not isinstance(v, str) or not LABEL_VALUE.match(v):
            error("%s: bad label value %r" % (where, v))


def check_object(path, obj):
    key = (obj.get("apiVersion"), obj.get("kind"))
    if key not in T.KINDS:
        return error("%s: %s %s is not a kind this check knows" % (path, *key))
    spec, namespaced = T.KINDS[key]
    where = "%s: %s/%s" % (path, key[1], obj.get("metadata", {}).get("name"))
    check_type(obj, spec, where)
    meta = obj.get("metadata", {})
    if not DNS_LABEL.match(str(meta.get("name", ""))):
        error("%s: name %r is not a DNS label" % (where, meta.get("name")))
    if namespaced != ("namespace" in meta):
        error("%s: namespace %s" % (where, "missing" if namespaced else "on a cluster object"))
    check_labels(meta.get("labels"), where + " labels")


# --- what must hold between the objects ----------------------------------------------------------

def selects(selector, labels):
    return all(labels.get(k) == v for k, v in (selector or {}).items())


def one(objects, kind):
    found = [o for _, o in objects if o.get("kind") == kind]
    if len(found) != 1:
        error("expected one %s, found %d" % (kind, len(found)))
        return {}
    return found[0]


def capture_options(vxcheck):
    """The long and short options `vxcheck capture --help` lists."""
    text = subprocess.run([vxcheck, "capture", "--help"], capture_output=True, text=True,
                          check=True).stdout
    longs = set(re.findall(r"^\s+(?:-\w \[ )?(--[a-z0-9-]+)", text, re.M))
    shorts = set(re.findall(r"^\s+(-\w) \[ --", text, re.M))
    return longs | shorts


def expand(arg, env):
    def var(m):
        if m.group(1) not in env:
            error("args: $(%s) is not in the container's env" % m.group(1))
            return m.group(0)
        return env[m.group(1)]
    return re.sub(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)", var, arg)


def check_args(container, vxcheck, ports):
    env = {e["name"]: e.get("value", "") for e in container.get("env", [])}
    args = [expand(a, env) for a in container.get("args", [])]
    if not args or args[0] != "capture":
        return error("args: expected 'capture ...', got %r" % args), {}
    known = capture_options(vxcheck)
    values = {}
    i = 1
    while i < len(args):
        opt = args[i]
        if not opt.startswith("-") or opt not in known:
            error("args: %r is not an option of 'vxcheck capture' (see --help)" % opt)
            i += 1
            continue
        if opt == "--json":
            values[opt] = True
            i += 1
            continue
        if i + 1 >= len(args):
            error("args: %s needs a value" % opt)
            break
        values.setdefault(opt, []).append(args[i + 1])
        i += 2
    # The binary's own parser accepts the option names and arities (--help after them ends the
    # run once they are parsed).
    r = subprocess.run([vxcheck] + args + ["--help"], capture_output=True, text=True)
    if r.returncode != 0:
        error("args: vxcheck refuses them: %s" % r.stderr.strip())
    for name in values.get("-i", []) + values.get("--interface", []):
        if not re.match(r"^[A-Za-z0-9_.:-]{1,15}$", name):
            error("args: -i %r is no interface name" % name)
    listen = values.get("--metrics-listen", [""])[0]
    if not re.match(r"^0\.0\.0\.0:\d+$|^\[::\]:\d+$", listen):
        error("args: --metrics-listen %r does not listen on every address (probes, Prometheus)"
              % listen)
    elif int(listen.rsplit(":", 1)[1]) not in ports.values():
        error("args: --metrics-listen %s is not a containerPort %s" % (listen, ports))
    if "--json" not in values:
        error("args: no --json: `kubectl logs | jq` needs JSON Lines")
    return values


# What vxcheck holds at most (deploy/daemonset.yaml's comment states the same sum; the figures
# are README "Running it safely" and tools/bench/README.md "Memory bound at the defaults").
KIB, MIB = 1024, 1024 * 1024
PROCESS = 20 * MIB
# A tracked connection's record, its place in the index and a SYN's history (flood_rss.sh's 1M-
# connection SYN flood: about 1.1 KiB each); what connections hold beyond that (SYN history,
# sightings, ONC RPC state) is bounded as a whole by --state-budget.
PER_CONNECTION = 1.1 * KIB
PER_CONNECTION_BOOKKEEPING = 2 * 40 + 64  # pending events, counted verdicts
VTEP_PAIRS = 65536 * 80 + 512 * KIB


def memory_bound(values):
    flows = int(values.get("--max-flows", ["200000"])[0])
    def size(option, default):
        m = re.match(r"^(\d+)([KMG]?)$", values.get(option, [default])[0])
        return int(m.group(1)) * {"": 1, "K": KIB, "M": MIB, "G": 1024 * MIB}[m.group(2)]
    evidence_bytes = size("--evidence-budget", "64M")
    state_bytes = size("--state-budget", "128M")
    interfaces = len(values.get("-i", [])) + len(values.get("--interface", []))
    buffer = int(values.get("--buffer-size", ["32"])[0]) * MIB
    return (PROCESS + flows * (PER_CONNECTION + PER_CONNECTION_BOOKKEEPING) + evidence_bytes +
            state_bytes + VTEP_PAIRS + interfaces * buffer)


def check_probe(probe, name, ports):
    if not probe:
        return error("container: no %s" % name)
    get = probe.get("httpGet", {})
    port = get.get("port")
    if get.get("path") != "/metrics" or (port not in ports and port not in ports.values()):
        error("%s: expected httpGet /metrics on the metrics port %s, got %r" % (name, ports, get))


def check_pod(ds, vxcheck):
    pod = ds["spec"]["template"]
    spec = pod["spec"]
    if not selects(ds["spec"]["selector"].get("matchLabels"), pod["metadata"].get("labels", {})):
        error("DaemonSet: selector does not match its pod template's labels")
    if spec.get("nodeSelector", {}).get("kubernetes.io/os") != "linux":
        error("DaemonSet: no nodeSelector kubernetes.io/os: linux")
    if spec.get("hostNetwork") is not True or spec.get("dnsPolicy") != "ClusterFirstWithHostNet":
        error("DaemonSet: hostNetwork with dnsPolicy ClusterFirstWithHostNet expected")
    if len(spec["containers"]) != 1:
        error("DaemonSet: expected one container")
        return {}, 0
    c = spec["containers"][0]
    sc = c.get("securityContext", {})
    seccomp = sc.get("seccompProfile") or spec.get("securityContext", {}).get("seccompProfile")
    if (seccomp or {}).get("type") != "RuntimeDefault":
        error("container: seccompProfile RuntimeDefault expected")
    if sc.get("allowPrivilegeEscalation") is not False:
        error("container: allowPrivilegeEscalation must be false")
    if sc.get("privileged"):
        error("container: privileged")
    caps = sc.get("capabilities", {})
    if caps.get("drop") != ["ALL"]:
        error("container: capabilities.drop must be [ALL]")
    for cap in caps.get("add", []):
        if cap not in T.CAPABILITIES:
            error("container: %s is no capability" % cap)
    needed = {"NET_RAW", "NET_ADMIN"} | ({"SETUID", "SETGID"} if "-Z" in str(c.get("args")) else set())
    if set(caps.get("add", [])) != needed:
        error("container: capabilities.add %s, needed exactly %s" % (caps.get("add"), sorted(needed)))
    ports = {p.get("name"): p["containerPort"] for p in c.get("ports", [])}
    for name, number in ports.items():
        if not PORT_NAME.match(str(name)) or not 0 < number < 65536:
            error("container: bad port %s %s" % (name, number))
    if "metrics" not in ports:
        error("container: no port named metrics")
    check_probe(c.get("readinessProbe"), "readinessProbe", ports)
    check_probe(c.get("livenessProbe"), "livenessProbe", ports)
    volumes = {v["name"]: v for v in spec.get("volumes", [])}
    writable = [m for m in c.get("volumeMounts", []) if not m.get("readOnly")
                and "emptyDir" in volumes.get(m["name"], {})]
    for m in c.get("volumeMounts", []):
        if m["name"] not in volumes:
            error("container: volumeMount %s names no volume" % m["name"])
    if sc.get("readOnlyRootFilesystem") is not True:
        error("container: readOnlyRootFilesystem expected")
    if not writable:
        error("container: no writable emptyDir for --write/--evidence")
    values = check_args(c, vxcheck, ports)
    for opt in ("--write", "-w", "--evidence"):
        for path in values.get(opt, []):
            if not any(path.startswith(m["mountPath"].rstrip("/") + "/") for m in writable):
                error("args: %s %s is not on a writable volume" % (opt, path))
    limit = quantity(c.get("resources", {}).get("limits", {}).get("memory", "0"))
    bound = memory_bound(values)
    if limit <= bound:
        error("container: memory limit %.0f MiB is not above what vxcheck may hold with these "
              "args, %.0f MiB (lower --max-flows or raise the limit)" % (limit / MIB, bound / MIB))
    print("memory: bound %.1f MiB with these args, limit %.0f MiB" % (bound / MIB, limit / MIB))
    return ports, bound


def check_stated_sum(path, bound):
    """The sum daemonset.yaml's comment states is the one computed from its args."""
    with open(path) as f:
        m = re.search(r"^#\s+sum\s+(\d+) MiB", f.read(), re.M)
    if m is None:
        error("%s: no '# sum N MiB' line stating the memory arithmetic" % path)
    elif int(m.group(1)) != math.ceil(bound / MIB):
        error("%s: states a sum of %s MiB, the args give %d MiB" %
              (path, m.group(1), math.ceil(bound / MIB)))


def case_manifests(source, vxcheck):
    deploy = os.path.join(source, "deploy")
    objects = render(deploy) + render(os.path.join(deploy, "monitoring"))
    for path, obj in objects:
        check_object(path, obj)
    if ERRORS:
        return
    ns, ds, svc, sm = (one(objects, k) for k in
                       ("Namespace", "DaemonSet", "Service", "ServiceMonitor"))
    if ERRORS:
        return
    labels = ns.get("metadata", {}).get("labels", {})
    if labels.get("pod-security.kubernetes.io/enforce") != "privileged":
        error("Namespace: pod-security.kubernetes.io/enforce must be privileged (hostNetwork, "
              "NET_RAW and NET_ADMIN are beyond baseline)")
    for path, obj in objects:
        if obj["kind"] != "Namespace" and obj["metadata"].get("namespace") != ns["metadata"]["name"]:
            error("%s: not in namespace %s" % (path, ns["metadata"]["name"]))
    ports, bound = check_pod(ds, vxcheck)
    check_stated_sum(os.path.join(deploy, "daemonset.yaml"), bound)
    pod_labels = ds["spec"]["template"]["metadata"]["labels"]
    if not svc["spec"].get("selector") or not selects(svc["spec"]["selector"], pod_labels):
        error("Service: selector does not match the DaemonSet's pods")
    svc_ports = {p.get("name"): p for p in svc["spec"]["ports"]}
    metrics = svc_ports.get("metrics")
    if metrics is None:
        error("Service: no port named metrics")
    elif metrics.get("targetPort") not in ("metrics", ports.get("metrics")):
        error("Service: port metrics targets %r, not the container's metrics port" %
              metrics.get("targetPort"))
    if not selects(sm["spec"]["selector"].get("matchLabels"), svc["metadata"].get("labels", {})):
        error("ServiceMonitor: selector does not match the Service's labels")
    if svc["metadata"]["namespace"] not in sm["spec"].get("namespaceSelector", {}).get(
            "matchNames", [sm["metadata"]["namespace"]]):
        error("ServiceMonitor: namespaceSelector does not include the Service's namespace")
    for ep in sm["spec"]["endpoints"]:
        if ep.get("port") not in svc_ports or ep.get("path", "/metrics") != "/metrics":
            error("ServiceMonitor: endpoint %r is not the Service's metrics port" % ep)


# --- alerts ---------------------------------------------------------------------------------------

def promtool():
    tool = shutil.which("promtool")
    if tool is None:
        print("FAIL: promtool not found (Debian package prometheus; tools/install-deps.sh)")
        sys.exit(1)
    return tool


def case_alerts(source, vxcheck):
    del vxcheck
    rules = one(render(os.path.join(source, "deploy", "monitoring")), "PrometheusRule")
    work = tempfile.mkdtemp(prefix="vxcheck-alerts-")
    try:
        with open(os.path.join(work, "rules.yaml"), "w") as f:
            yaml.safe_dump(rules["spec"], f)
        r = subprocess.run([promtool(), "check", "rules", "rules.yaml"], cwd=work,
                           capture_output=True, text=True)
        if r.returncode != 0:
            error("promtool check rules: %s%s" % (r.stdout, r.stderr))
        with open(os.path.join(source, "src", "app", "metrics.cc")) as f:
            names = set(re.findall(r'\.Name\("(vxcheck_[a-z_]+)"\)', f.read()))
        alerts = set()
        for group in rules["spec"]["groups"]:
            for rule in group["rules"]:
                alerts.add(rule.get("alert"))
                for used in re.findall(r"vxcheck_[a-z_]+", rule["expr"]):
                    base = re.sub(r"_(bucket|sum|count)$", "", used)
                    if used not in names and base not in names:
                        error("alert %s: %s is no metric of vxcheck" % (rule.get("alert"), used))
        for needed in ("VxcheckDoubleSNAT", "VxcheckSynDropped"):
            if needed not in alerts:
                error("PrometheusRule: no alert %s" % needed)
        shutil.copy(os.path.join(source, "tests", "deploy", "alerts_test.yaml"), work)
        r = subprocess.run([promtool(), "test", "rules", "alerts_test.yaml"], cwd=work,
                           capture_output=True, text=True)
        if r.returncode != 0:
            error("promtool test rules: %s%s" % (r.stdout, r.stderr))
    finally:
        shutil.rmtree(work)


# --- .dockerignore --------------------------------------------------------------------------------

def ignored(rel, patterns):
    """Docker's rule: the last matching pattern decides; a pattern matches a path or any of
    its parents; `**` matches any number of directories."""
    parts = rel.split("/")
    result = False
    for neg, pat in patterns:
        regex = fnmatch.translate(pat).replace(".*.*/", "(.*/)?")
        for i in range(1, len(parts) + 1):
            if re.match(regex, "/".join(parts[:i])):
                result = not neg
                break
    return result


def case_dockerignore(source, vxcheck):
    del vxcheck
    with open(os.path.join(source, ".dockerignore")) as f:
        patterns = []
        for line in f:
            line = line.strip()
            if line and not line.startswith("#"):
                neg = line.startswith("!")
                patterns.append((neg, line.lstrip("!").strip("/")))
    files = subprocess.run(["git", "-C", source, "ls-files", "--cached", "--others", "--exclude-standard"], capture_output=True, text=True,
                           check=True).stdout.split()
    work = tempfile.mkdtemp(prefix="vxcheck-docker-")
    try:
        ctx = os.path.join(work, "src")
        kept = 0
        for rel in files:
            if ignored(rel, patterns) or not os.path.exists(os.path.join(source, rel)):
                continue
            os.makedirs(os.path.dirname(os.path.join(ctx, rel)), exist_ok=True)
            shutil.copy2(os.path.join(source, rel), os.path.join(ctx, rel))
            kept += 1
        for needed in ("CMakeLists.txt", "src/app/main.cc", "deploy/Dockerfile"):
            if not os.path.exists(os.path.join(ctx, needed)):
                error(".dockerignore: %s is left out of the build context" % needed)
        for unwanted in (".git", "pcaps", "tests"):
            if os.path.exists(os.path.join(ctx, unwanted)):
                error(".dockerignore: %s is in the build context" % unwanted)
        # As deploy/Dockerfile configures (generating also checks every source file exists).
        r = subprocess.run(["cmake", "-S", ctx, "-B", os.path.join(work, "build"),
                            "-DCMAKE_BUILD_TYPE=Release", "-DVXCHECK_BUILD_TESTS=OFF"],
                           capture_output=True, text=True)
        if r.returncode != 0:
            error("the build context does not configure:\n%s" % r.stderr[-3000:])
        print("build context: %d of %d files" % (kept, len(files)))
    finally:
        shutil.rmtree(work)


CASES = {"manifests": case_manifests, "alerts": case_alerts, "dockerignore": case_dockerignore}


def main():
    if len(sys.argv) != 4 or sys.argv[3] not in CASES:
        print(__doc__, file=sys.stderr)
        return 2
    CASES[sys.argv[3]](os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2]))
    for e in ERRORS:
        print("FAIL: " + e)
    if ERRORS:
        return 1
    print("ok: " + sys.argv[3])
    return 0


if __name__ == "__main__":
    sys.exit(main())

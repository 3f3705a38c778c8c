#!/usr/bin/env bash
# vxcheck network-namespace lab: two Flannel (VXLAN) Kubernetes "nodes" and two pods,
# built from network namespaces on one Linux host, with kube-proxy's ClusterIP NAT rules
# as they were before and after kubernetes PR 92035. It reproduces (or not) the double
# SNAT of VXLAN traffic described in shared/domain.md sections 2 and 5, captures it at four
# points and feeds the captures to vxcheck.
#
#   tools/lab/lab.sh up [--rules prefix|postfix] [--flannel current|old] [--server auto|ganesha|python]
#   tools/lab/lab.sh down
#   tools/lab/lab.sh status
#   tools/lab/lab.sh scenario NAME --out DIR         (NAME: see `lab.sh scenarios`)
#   tools/lab/lab.sh analyze --out DIR [NAME...]     (build vxcheck, run it on DIR's captures)
#   tools/lab/lab.sh run-all --out DIR [--no-analyze] (up, every scenario, analyze, down)
#
# Safety (this script runs as root):
#   - Every interface, address, route, neighbour, fdb entry and iptables rule it creates lives
#     inside the network namespaces it creates (all named vxl-*). veth pairs are created with
#     both ends already inside namespaces, so nothing ever appears in the host namespace; the
#     host's interfaces, routes, sysctls and firewall are never touched.
#   - 192.168.77.0/24 (underlay) and 10.244.0.0/16, 10.96.0.0/12 (cluster) exist only inside
#     the namespaces; the namespaces have no link to the host, so nothing can leave.
#   - Every wait is bounded (timeout(1) or a counted loop); every process the lab starts runs
#     inside a lab namespace and is killed by its PID on `down` (and on EXIT/INT/TERM of the
#     command that started it). `down` also removes leftovers of an earlier crashed run.
#
# Packages the lab needs (installed by ensure_packages when missing, Debian 12 names):
#   iproute2 (ip, bridge, ss)  iptables  conntrack  ethtool  tcpdump  python3  procps (sysctl)
#   nfs-ganesha nfs-ganesha-vfs (the NFS server in the server pod; optional, see start_server)
#   libnfs-utils (nfs-ls, nfs-cat: the real NFS clients of the nfs-clients scenario; optional)
#   cmake g++ make + vxcheck's build deps (only for `analyze`: tools/install-deps.sh)
set -euo pipefail

LAB_PACKAGES=(iproute2 iptables conntrack ethtool tcpdump python3 procps)
SERVER_PACKAGES=(nfs-ganesha nfs-ganesha-vfs)
CLIENT_PACKAGES=(libnfs-utils)

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
STATE=/tmp/vxl-lab            # ganesha config/export/logs, pid files, current mode
BUILD=/tmp/build-lab          # where `analyze` builds vxcheck
PY=/usr/bin/python3

# ---- topology (names and numbers from the brief; all only inside the namespaces) ----------
NS_UNDERLAY=vxl-underlay
NS_NODE_A=vxl-node-a
NS_NODE_B=vxl-node-b
NS_POD_A=vxl-pod-a
NS_POD_B=vxl-pod-b
ALL_NS=("$NS_POD_A" "$NS_POD_B" "$NS_NODE_A" "$NS_NODE_B" "$NS_UNDERLAY")

UNDERLAY_GW=192.168.77.1      # on the underlay bridge: the nodes' default gateway (goes nowhere)
NODE_A_IP=192.168.77.10
NODE_B_IP=192.168.77.20
CLUSTER_CIDR=10.244.0.0/16    # flannel "Network"
NODE_A_SUBNET=10.244.1.0/24   # flannel lease of node-a
NODE_B_SUBNET=10.244.2.0/24
NODE_A_VTEP=10.244.1.0        # flannel.1 address = network address of the lease, /32
NODE_B_VTEP=10.244.2.0
POD_A_IP=10.244.1.5
POD_B_IP=10.244.2.5
SVC_IP=10.96.0.10             # ClusterIP of the "nfs" service
SVC_PORT=2049
VXLAN_PORT=8472
# Fixed MACs so captures are reproducible. Real flannel lets the kernel choose flannel.1's MAC
# and publishes it to the other nodes in the node annotation flannel.alpha.coreos.com/backend-data
# ({"VtepMAC": ...}); each node then programs the fdb/neighbour entries below from it.
MAC_A_ETH0=02:00:c0:a8:4d:0a
MAC_B_ETH0=02:00:c0:a8:4d:14
MAC_A_VTEP=0e:00:0a:f4:01:00
MAC_B_VTEP=0e:00:0a:f4:02:00
MAC_POD_A=02:00:0a:f4:01:05
MAC_POD_B=02:00:0a:f4:02:05

SCENARIOS=(node-to-pod-prefix node-to-pod-postfix pod-to-pod silent-drop silent-drop-raw
           silent-drop-forward data-drop node-to-pod-prefix-nicsim node-to-pod-prefix-workaround
           node-to-pod-postfix-oldflannel nfs-clients)
# data-drop: VXLAN packets of DATA_DROP_MIN bytes or more are dropped at node-b; the large call
# has DATA_DROP_CALL bytes of padding (one segment below flannel's MTU, well above the limit).
DATA_DROP_MIN=1000
DATA_DROP_CALL=1200
# NFLOG groups of the pre-NAT taps (pre_nat_taps_on).
NFLOG_TCP=1
NFLOG_VXLAN=2

log()  { printf '[lab] %s\n' "$*" >&2; }
warn() { printf '[lab] WARNING: %s\n' "$*" >&2; }
die()  { printf '[lab] ERROR: %s\n' "$*" >&2; exit 1; }
nsx()  { local ns=$1; shift; ip netns exec "$ns" "$@"; }   # run a command inside a namespace

# ---- packages ---------------------------------------------------------------------------------
missing_packages() {
    local p
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || echo "$p"
    done
}

# Installs the Debian packages in $@ that are missing (apt-get; needs root and the Debian mirror).
install_packages() {
    local missing
    missing=$(missing_packages "$@")
    [ -z "$missing" ] && return 0
    log "installing: $(echo $missing)"
    DEBIAN_FRONTEND=noninteractive timeout 600 apt-get install -y -q --no-install-recommends $missing \
        >"${STATE}.apt.log" 2>&1 || {
        DEBIAN_FRONTEND=noninteractive timeout 300 apt-get update -q >>"${STATE}.apt.log" 2>&1 || true
        DEBIAN_FRONTEND=noninteractive timeout 600 apt-get install -y -q --no-install-recommends $missing \
            >>"${STATE}.apt.log" 2>&1
    } || return 1
}

ensure_packages() {
    [ "$(id -u)" -eq 0 ] || die "must run as root (creates network namespaces)"
    install_packages "${LAB_PACKAGES[@]}" || die "could not install ${LAB_PACKAGES[*]} (see ${STATE}.apt.log)"
    # The NFS server is optional: without it the lab falls back to rpc_server.py.
    # Note for systemd hosts: nfs-ganesha pulls in rpcbind, whose package enables and starts
    # rpcbind.service/.socket on the HOST. The lab does not use that one (it runs a private
    # rpcbind inside the server pod); the lab does not touch host services, so it only warns.
    install_packages "${SERVER_PACKAGES[@]}" || warn "could not install nfs-ganesha; the fallback server will be used"
    install_packages "${CLIENT_PACKAGES[@]}" || warn "could not install libnfs-utils; the nfs-clients scenario has no clients"
    if command -v systemctl >/dev/null && systemctl is-active --quiet rpcbind.socket rpcbind.service 2>/dev/null; then
        warn "rpcbind is active on the host (installed with nfs-ganesha); the lab does not need it:" \
             "'systemctl disable --now rpcbind.service rpcbind.socket' if you do not want it"
    fi
}

# ---- preflight: kernel features ----------------------------------------------------------------
preflight() {
    local t=vxl-preflight
    ip netns del "$t" 2>/dev/null || true
    ip netns add "$t" || die "cannot create network namespaces"
    local ok=1
    nsx "$t" ip link add vxl-pf type vxlan id 1 dstport "$VXLAN_PORT" nolearning 2>/dev/null \
        || { warn "kernel: no vxlan support"; ok=0; }
    # iptables: Debian 12's iptables is iptables-nft (nf_tables backend, xtables matches via
    # nft_compat). It must accept MASQUERADE --random-fully, which kube-proxy and flannel use.
    if ! nsx "$t" iptables -t nat -A POSTROUTING -m mark --mark 0x4000/0x4000 -j MASQUERADE --random-fully 2>/dev/null; then
        warn "iptables ($(iptables -V 2>&1)) rejects MASQUERADE --random-fully"; ok=0
    fi
    nsx "$t" conntrack -L >/dev/null 2>&1 || { warn "conntrack -L does not work (nf_conntrack_netlink?)"; ok=0; }
    ip netns del "$t"
    [ "$ok" = 1 ] || die "kernel/userspace preflight failed (see warnings)"
    log "preflight ok: kernel $(uname -r), $(iptables -V)"
}

# ---- topology ----------------------------------------------------------------------------------
lab_is_up() { ip netns list 2>/dev/null | grep -qw "$NS_NODE_A"; }

create_namespaces() {
    local ns
    for ns in "${ALL_NS[@]}"; do
        ip netns add "$ns"
        # IPv4-only nodes: without this, IPv6 link-local/MLD chatter from every new interface
        # lands in the captures (per-namespace sysctl; the host's setting is not touched).
        # Not in the server pod: nfs-ganesha/rpcbind need IPv6 sockets there (ganesha listens on
        # [::ffff:10.244.2.5]), and its chatter stays on node-b's cni0, away from the captures.
        [ "$ns" = "$NS_POD_B" ] || nsx "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
        nsx "$ns" ip link set lo up
    done
}

# The "physical" network: one L2 switch (a bridge in vxl-underlay) and each node's eth0 on it.
build_underlay() {
    nsx "$NS_UNDERLAY" ip link add vxl-br0 type bridge
    nsx "$NS_UNDERLAY" ip link set vxl-br0 up
    nsx "$NS_UNDERLAY" ip addr add "$UNDERLAY_GW/24" dev vxl-br0
    # A switch does not run the host firewall on bridged frames (br_netfilter is built in here).
    nsx "$NS_UNDERLAY" sysctl -qw net.bridge.bridge-nf-call-iptables=0 2>/dev/null || true
    nsx "$NS_UNDERLAY" sysctl -qw net.ipv4.ip_forward=0
    local node ip mac port
    for node in a b; do
        if [ $node = a ]; then ip=$NODE_A_IP; mac=$MAC_A_ETH0; else ip=$NODE_B_IP; mac=$MAC_B_ETH0; fi
        port=vxl-port-$node
        # Both ends are created directly inside their namespaces: never visible on the host.
        ip -n "$NS_UNDERLAY" link add "$port" type veth peer name eth0 netns "vxl-node-$node"
        nsx "$NS_UNDERLAY" ip link set "$port" master vxl-br0 up
        nsx "vxl-node-$node" ip link set eth0 address "$mac" mtu 1500 up
        nsx "vxl-node-$node" ip addr add "$ip/24" dev eth0
        # Like a real node: default route via the underlay gateway. ClusterIPs have no route of
        # their own; kube-proxy's DNAT in nat OUTPUT/PREROUTING re-routes them before they leave.
        nsx "vxl-node-$node" ip route add default via "$UNDERLAY_GW" dev eth0
    done
}

# What flanneld's vxlan backend does on a node (flannel pkg/backend/vxlan/{vxlan.go,device.go}):
# one vxlan device flannel.<VNI> with the lease's network address as a /32, then for every
# other node's lease: fdb entry (peer VTEP MAC -> peer node IP), permanent neighbour entry
# (peer x.y.z.0 -> peer VTEP MAC) and an onlink route for the peer's /24 via its x.y.z.0.
# Learning is off, so nothing is ever flooded or learned; no ARP happens on flannel.1.
build_flannel() {
    local me=$1 my_ip=$2 my_vtep=$3 my_mac=$4 peer_ip=$5 peer_vtep=$6 peer_mac=$7 peer_subnet=$8
    local ns=vxl-node-$me
    # VNI 1 -> "flannel.1"; port 0 in flannel's config = kernel default 8472; MTU = eth0 - 50.
    # udpcsum is NOT given: flannel never sets IFLA_VXLAN_UDP_CSUM, so the kernel default applies,
    # which since Linux 4.6 is "outer UDP checksum on" (domain.md 1.3). `ip -d link` shows it.
    nsx "$ns" ip link add flannel.1 type vxlan id 1 local "$my_ip" dev eth0 dstport "$VXLAN_PORT" nolearning
    nsx "$ns" ip link set flannel.1 address "$my_mac" mtu 1450 up
    nsx "$ns" ip addr add "$my_vtep/32" dev flannel.1
    # flannel: netlink.NeighSet(AF_BRIDGE, NTF_SELF, NUD_PERMANENT) == bridge fdb ... self permanent
    nsx "$ns" bridge fdb append "$peer_mac" dev flannel.1 dst "$peer_ip" self permanent
    nsx "$ns" ip neigh replace "$peer_vtep" lladdr "$peer_mac" dev flannel.1 nud permanent
    nsx "$ns" ip route replace "$peer_subnet" via "$peer_vtep" dev flannel.1 onlink
}

# What the bridge CNI plugin (flannel's CNI delegates to it) does for a pod: a cni0 bridge with
# the lease's .1 as gateway, one veth per pod, pod MTU = flannel MTU (1450, from subnet.env).
build_pod() {
    local me=$1 gw=$2 subnet_len=$3 pod_ip=$4 pod_mac=$5
    local ns=vxl-node-$me pod=vxl-pod-$me
    nsx "$ns" ip link add cni0 type bridge
    nsx "$ns" ip link set cni0 mtu 1450 up
    nsx "$ns" ip addr add "$gw/$subnet_len" dev cni0
    ip -n "$ns" link add "vxl-veth-p$me" mtu 1450 type veth peer name eth0 netns "$pod"
    nsx "$ns" ip link set "vxl-veth-p$me" master cni0 up
    nsx "$pod" ip link set eth0 address "$pod_mac" mtu 1450 up
    nsx "$pod" ip addr add "$pod_ip/$subnet_len" dev eth0
    nsx "$pod" ip route add default via "$gw" dev eth0
}

node_sysctls() {
    local ns
    for ns in "$NS_NODE_A" "$NS_NODE_B"; do
        nsx "$ns" sysctl -qw net.ipv4.ip_forward=1
        # kubeadm's preflight requires bridge-nf-call-iptables=1: pod traffic crossing cni0 is
        # seen by iptables (kube-proxy's rules must see pod -> ClusterIP).
        nsx "$ns" sysctl -qw net.bridge.bridge-nf-call-iptables=1 2>/dev/null || true
    done
}

# ---- iptables: kube-proxy (iptables mode) + flanneld ----------------------------------------
# Writes the nat table of one node with iptables-restore (atomic, replaces only the nat table
# of that namespace). The chain and rule layout is kube-proxy's, with readable chain names
# instead of the hashed KUBE-SVC-xxxx / KUBE-SEP-xxxx.
#   rules   = prefix   kube-proxy before PR 92035 (k8s < 1.16.13/1.17.9/1.18.6 with --random-fully)
#             postfix  after PR 92035 ("unmark packets before masquerading them")
#   flannel = current  flannel as in its current source (pkg/trafficmngr/iptables masqRules()):
#                      FLANNEL-POSTRTG is appended (-A) after kube-proxy's jump (kube-proxy
#                      prepends its own), and its first rule RETURNs packets carrying kube-proxy's
#                      mark ("to avoid double NAT bug on some kernel version").
#             old      the older rule set without that RETURN (the 4-rule list quoted in
#                      flannel#1679), evaluated BEFORE KUBE-POSTROUTING (the ordering that
#                      domain.md 2.1 "residual path" needs; an assumption of this lab): it
#                      masquerades the host->pod inner packet itself, so KUBE-POSTROUTING never
#                      unmarks it and the outer packet is masqueraded anyway, even post-fix.
nat_rules() {
    local pod_subnet=$1 rules=$2 flannel=$3
    cat <<EOF
*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
:KUBE-SERVICES - [0:0]
:KUBE-SVC-LAB-NFS - [0:0]
:KUBE-SEP-LAB-NFS-B - [0:0]
:KUBE-MARK-MASQ - [0:0]
:KUBE-POSTROUTING - [0:0]
:FLANNEL-POSTRTG - [0:0]
-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
-A OUTPUT -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
EOF
    # kube-proxy prepends its POSTROUTING jump; current flannel appends its own after it.
    if [ "$flannel" = old ]; then
        echo '-A POSTROUTING -m comment --comment "flanneld masq" -j FLANNEL-POSTRTG'
        echo '-A POSTROUTING -m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING'
    else
        echo '-A POSTROUTING -m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING'
        echo '-A POSTROUTING -m comment --comment "flanneld masq" -j FLANNEL-POSTRTG'
    fi
    cat <<EOF
-A KUBE-MARK-MASQ -j MARK --or-mark 0x4000
-A KUBE-SERVICES -d $SVC_IP/32 -p tcp -m comment --comment "lab/nfs:nfs cluster IP" -m tcp --dport $SVC_PORT -j KUBE-SVC-LAB-NFS
-A KUBE-SVC-LAB-NFS ! -s $CLUSTER_CIDR -d $SVC_IP/32 -p tcp -m comment --comment "lab/nfs:nfs cluster IP" -m tcp --dport $SVC_PORT -j KUBE-MARK-MASQ
-A KUBE-SVC-LAB-NFS -m comment --comment "lab/nfs:nfs -> $POD_B_IP:$SVC_PORT" -j KUBE-SEP-LAB-NFS-B
-A KUBE-SEP-LAB-NFS-B -s $POD_B_IP/32 -m comment --comment "lab/nfs:nfs" -j KUBE-MARK-MASQ
-A KUBE-SEP-LAB-NFS-B -p tcp -m comment --comment "lab/nfs:nfs" -m tcp -j DNAT --to-destination $POD_B_IP:$SVC_PORT
EOF
    # KUBE-MARK-MASQ sets the skb mark in the nat table, i.e. only on the FIRST packet of a
    # connection (later packets skip nat), and the mark is a per-skb field that stays on the skb
    # when flannel.1 encapsulates it in the same namespace (domain.md 2.1 step 3).
    if [ "$rules" = prefix ]; then
        echo '-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -m mark --mark 0x4000/0x4000 -j MASQUERADE --random-fully'
    else
        echo '-A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN'
        echo '-A KUBE-POSTROUTING -j MARK --xor-mark 0x4000'
        echo '-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE --random-fully'
    fi
    # flanneld --ip-masq rules (pkg/trafficmngr/iptables masqRules()).
    if [ "$flannel" = old ]; then
        cat <<EOF
-A FLANNEL-POSTRTG -s $CLUSTER_CIDR -d $CLUSTER_CIDR -m comment --comment "flanneld masq" -j RETURN
-A FLANNEL-POSTRTG -s $CLUSTER_CIDR ! -d 224.0.0.0/4 -m comment --comment "flanneld masq" -j MASQUERADE --random-fully
-A FLANNEL-POSTRTG ! -s $CLUSTER_CIDR -d $pod_subnet -m comment --comment "flanneld masq" -j RETURN
-A FLANNEL-POSTRTG ! -s $CLUSTER_CIDR -d $CLUSTER_CIDR -m comment --comment "flanneld masq" -j MASQUERADE --random-fully
EOF
    else
        cat <<EOF
-A FLANNEL-POSTRTG -m mark --mark 0x4000/0x4000 -m comment --comment "flanneld masq" -j RETURN
-A FLANNEL-POSTRTG -s $pod_subnet -d $CLUSTER_CIDR -m comment --comment "flanneld masq" -j RETURN
-A FLANNEL-POSTRTG -s $CLUSTER_CIDR -d $pod_subnet -m comment --comment "flanneld masq" -j RETURN
-A FLANNEL-POSTRTG ! -s $CLUSTER_CIDR -d $pod_subnet -m comment --comment "flanneld masq" -j RETURN
-A FLANNEL-POSTRTG -s $CLUSTER_CIDR ! -d 224.0.0.0/4 -m comment --comment "flanneld masq" -j MASQUERADE --random-fully
-A FLANNEL-POSTRTG ! -s $CLUSTER_CIDR -d $CLUSTER_CIDR -m comment --comment "flanneld masq" -j MASQUERADE --random-fully
EOF
    fi
    echo COMMIT
}

# flanneld also accepts forwarding to/from the cluster network (FLANNEL-FWD, filter table).
filter_rules() {
    cat <<EOF
*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:FLANNEL-FWD - [0:0]
-A FORWARD -m comment --comment "flanneld forward" -j FLANNEL-FWD
-A FLANNEL-FWD -s $CLUSTER_CIDR -m comment --comment "flanneld forward" -j ACCEPT
-A FLANNEL-FWD -d $CLUSTER_CIDR -m comment --comment "flanneld forward" -j ACCEPT
COMMIT
EOF
}

apply_rules() {
    local rules=$1 flannel=$2
    case $rules in prefix|postfix) ;; *) die "--rules must be prefix or postfix" ;; esac
    case $flannel in current|old) ;; *) die "--flannel must be current or old" ;; esac
    # iptables-restore replaces only the tables present in its input (here: nat, then filter).
    nat_rules "$NODE_A_SUBNET" "$rules" "$flannel" | nsx "$NS_NODE_A" iptables-restore
    nat_rules "$NODE_B_SUBNET" "$rules" "$flannel" | nsx "$NS_NODE_B" iptables-restore
    filter_rules | nsx "$NS_NODE_A" iptables-restore
    filter_rules | nsx "$NS_NODE_B" iptables-restore
    echo "$rules $flannel" >"$STATE/rules"
}

# ---- the server pod: nfs-ganesha (VFS) or the python fallback ------------------------------------
# nfs-ganesha runs as an ordinary process inside vxl-pod-b's network namespace, with its own
# rpcbind (ganesha registers NFS/MOUNT with rpcbind and stalls at start-up without one). Both run
# under `ip netns exec`, which gives them a private mount namespace (mounts do not propagate back
# to the host), and there a tmpfs is mounted over /run so rpcbind's socket and lock files
# (/run/rpcbind.sock, /run/rpcbind/) are private to the pod and never touch the host's /run.
# No systemd, no dbus (ganesha logs "dbus_bus_get failed" and carries on), no Kerberos.
# ganesha exports a temp dir with FSAL VFS for NFSv3 and NFSv4.0/4.1/4.2 over TCP on
# 10.244.2.5:2049 (MOUNT on 20048). Its lifetime is bounded by timeout(1); `down` kills it by PID.
ganesha_conf() {
    cat <<EOF
NFS_CORE_PARAM {
    Protocols = 3, 4;
    NFS_Port = $SVC_PORT;
    Bind_addr = $POD_B_IP;
    Enable_NLM = false;
    Enable_RQUOTA = false;
    Enable_UDP = false;
    MNT_Port = 20048;
}
NFSV4 {
    Graceless = true;
    Minor_Versions = 0, 1, 2;
    RecoveryBackend = fs;
    RecoveryRoot = "$STATE/ganesha/recovery";
}
EXPORT {
    Export_Id = 1;
    Path = "$STATE/export";
    Pseudo = /export;
    Access_Type = RW;
    Squash = No_Root_Squash;
    Protocols = 3, 4;
    Transports = TCP;
    SecType = sys;
    FSAL { Name = VFS; }
}
LOG { Default_Log_Level = EVENT; }
EOF
}

wait_listen() {   # ns addr port seconds
    local i
    for ((i = 0; i < $4 * 5; i++)); do
        nsx "$1" ss -Hltn "src $2 and sport = :$3" 2>/dev/null | grep -q . && return 0
        sleep 0.2
    done
    return 1
}

start_server() {
    local mode=$1
    mkdir -p "$STATE/export" "$STATE/ganesha/recovery"
    echo "hello from the vxcheck lab" >"$STATE/export/README"
    if [ "$mode" != python ] && command -v ganesha.nfsd >/dev/null; then
        ganesha_conf >"$STATE/ganesha/ganesha.conf"
        ip netns exec "$NS_POD_B" timeout -k 5 4h sh -c '
            mount -t tmpfs vxl-pod-b-run /run && mkdir -p /run/rpcbind || exit 1
            rpcbind -f -w >"$1/ganesha/rpcbind.log" 2>&1 &
            sleep 0.5
            exec ganesha.nfsd -F -f "$1/ganesha/ganesha.conf" -L "$1/ganesha/ganesha.log" \
                -p "$1/ganesha/ganesha.pid" -N NIV_EVENT' vxl-ganesha "$STATE" \
            >"$STATE/ganesha/stdout.log" 2>&1 &
        echo $! >"$STATE/server.pid"
        if wait_listen "$NS_POD_B" "$POD_B_IP" "$SVC_PORT" 30; then
            echo ganesha >"$STATE/server"
            log "server: nfs-ganesha $(dpkg-query -W -f='${Version}' nfs-ganesha 2>/dev/null) (FSAL VFS, NFSv3+v4.x, TCP) on $POD_B_IP:$SVC_PORT"
            return 0
        fi
        warn "nfs-ganesha did not listen on $POD_B_IP:$SVC_PORT within 30 s; last log lines:"
        tail -n 15 "$STATE/ganesha/ganesha.log" >&2 2>/dev/null || true
        stop_server
        [ "$mode" = ganesha ] && die "--server ganesha requested but it did not start"
    fi
    # FALLBACK: not an NFS server; answers ONC RPC calls with "accepted, SUCCESS" (see rpc_server.py).
    warn "using the FALLBACK server tools/lab/rpc_server.py (answers RPC NULL calls, not NFS)"
    ip netns exec "$NS_POD_B" timeout -k 5 4h "$PY" "$HERE/rpc_server.py" "$POD_B_IP" "$SVC_PORT" \
        >"$STATE/rpc_server.log" 2>&1 &
    echo $! >"$STATE/server.pid"
    wait_listen "$NS_POD_B" "$POD_B_IP" "$SVC_PORT" 10 || die "fallback server did not start"
    echo python-fallback >"$STATE/server"
}

stop_server() {
    local pid
    if [ -f "$STATE/server.pid" ]; then
        pid=$(cat "$STATE/server.pid")
        kill -TERM "$pid" 2>/dev/null || true
        for _ in $(seq 1 25); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
        kill -KILL "$pid" 2>/dev/null || true
        rm -f "$STATE/server.pid"
    fi
}

# Kills every process still running inside one of the lab's namespaces (only ours live there).
kill_ns_processes() {
    local ns pids
    for ns in "${ALL_NS[@]}"; do
        ip netns list 2>/dev/null | grep -qw "$ns" || continue
        pids=$(ip netns pids "$ns" 2>/dev/null || true)
        [ -n "$pids" ] && kill -TERM $pids 2>/dev/null || true
    done
    sleep 0.5
    for ns in "${ALL_NS[@]}"; do
        ip netns list 2>/dev/null | grep -qw "$ns" || continue
        pids=$(ip netns pids "$ns" 2>/dev/null || true)
        [ -n "$pids" ] && kill -KILL $pids 2>/dev/null || true
    done
}

# ---- up / down ---------------------------------------------------------------------------------
lab_down() {
    stop_server
    kill_ns_processes
    local ns
    # Deleting a namespace deletes every interface, route, rule and conntrack entry in it.
    for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep '^vxl-' || true); do
        ip netns del "$ns" 2>/dev/null || warn "could not delete namespace $ns"
    done
    rm -rf "$STATE"
}

lab_up() {
    local rules=prefix flannel=current server=auto
    while [ $# -gt 0 ]; do
        case $1 in
            --rules) rules=${2:?}; shift 2 ;;
            --flannel) flannel=${2:?}; shift 2 ;;
            --server) server=${2:?}; shift 2 ;;
            *) die "up: unknown option $1" ;;
        esac
    done
    case $rules in prefix|postfix) ;; *) die "--rules must be prefix or postfix" ;; esac
    case $flannel in current|old) ;; *) die "--flannel must be current or old" ;; esac
    case $server in auto|ganesha|python) ;; *) die "--server must be auto, ganesha or python" ;; esac
    ensure_packages
    preflight
    if lab_is_up || ip netns list 2>/dev/null | grep -q '^vxl-'; then
        log "removing leftovers of an earlier lab"
        lab_down
    fi
    # Anything failing from here on tears the half-built lab down again.
    trap 'rc=$?; if [ $rc -ne 0 ]; then warn "up failed (exit $rc), tearing down"; lab_down; fi' EXIT
    trap 'exit 130' INT TERM
    mkdir -p "$STATE"
    log "creating namespaces ${ALL_NS[*]}"
    create_namespaces
    build_underlay
    build_flannel a "$NODE_A_IP" "$NODE_A_VTEP" "$MAC_A_VTEP" "$NODE_B_IP" "$NODE_B_VTEP" "$MAC_B_VTEP" "$NODE_B_SUBNET"
    build_flannel b "$NODE_B_IP" "$NODE_B_VTEP" "$MAC_B_VTEP" "$NODE_A_IP" "$NODE_A_VTEP" "$MAC_A_VTEP" "$NODE_A_SUBNET"
    build_pod a 10.244.1.1 24 "$POD_A_IP" "$MAC_POD_A"
    build_pod b 10.244.2.1 24 "$POD_B_IP" "$MAC_POD_B"
    node_sysctls
    apply_rules "$rules" "$flannel"
    start_server "$server"
    # Sanity check (bounded): pod-a reaches the server in pod-b through the tunnel.
    local check
    check=$(ip netns exec "$NS_POD_A" timeout -k 5 15 "$PY" "$HERE/rpc_client.py" "$POD_B_IP" "$SVC_PORT" \
        --count 1 --connect-timeout 3 --vers 3 2>&1 || true)
    case $check in *"reply ok"*) log "sanity: pod-a -> pod-b: $check" ;; *) warn "sanity check pod-a -> pod-b failed: $check" ;; esac
    trap - EXIT INT TERM
    log "lab is up: rules=$rules flannel=$flannel server=$(cat "$STATE/server")"
}

lab_status() {
    lab_is_up || { echo "lab is down"; return 0; }
    echo "rules/flannel: $(cat "$STATE/rules" 2>/dev/null)   server: $(cat "$STATE/server" 2>/dev/null)"
    local ns
    for ns in "$NS_NODE_A" "$NS_NODE_B"; do
        echo "== $ns"
        nsx "$ns" ip -br addr
        nsx "$ns" ip route
        nsx "$ns" ip -d link show flannel.1 | grep -o 'vxlan id.*' | head -1
        nsx "$ns" bridge fdb show dev flannel.1
        nsx "$ns" ip neigh show dev flannel.1
        nsx "$ns" ethtool -k flannel.1 | grep -E '^\s*(tx-checksumming|tx-checksum-ip-generic):'
    done
    echo "== $NS_NODE_A nat table"
    nsx "$NS_NODE_A" iptables -t nat -S
}

# ---- captures ----------------------------------------------------------------------------------
CAPTURE_PIDS=()
SCENARIO_CLEANUP=()    # commands that undo per-scenario changes, run on exit

start_capture() {   # ns iface file logfile
    local ns=$1 ifc=$2 file=$3 errf=$4 i
    # -s 0: whole frames. -U: write each packet as it arrives. -Z root: Debian's tcpdump drops
    # to user "tcpdump" after opening the device, which could not write into a root-owned DIR.
    # --immediate-mode: hand each packet to tcpdump at once; otherwise TPACKET_V3 keeps packets in
    # a kernel block for up to a second and SIGINT loses the last ones ("received by filter" >
    # "captured"). No filter: the lab is quiet, and vxcheck counts what it skips (ARP).
    ip netns exec "$ns" timeout -k 5 300 tcpdump -i "$ifc" -s 0 -U --immediate-mode -n -Z root -w "$file" >"$errf" 2>&1 &
    CAPTURE_PIDS+=($!)
    for ((i = 0; i < 50; i++)); do
        grep -q "listening on" "$errf" 2>/dev/null && return 0
        sleep 0.1
    done
    die "tcpdump on $ns/$ifc did not start: $(cat "$errf")"
}

stop_captures() {
    local pid i
    sleep 1     # let the last packets (FIN/ACK) reach the capture files
    for pid in "${CAPTURE_PIDS[@]}"; do kill -INT "$pid" 2>/dev/null || true; done
    for pid in "${CAPTURE_PIDS[@]}"; do
        for ((i = 0; i < 50; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    CAPTURE_PIDS=()
}

scenario_exit() {
    local rc=$? c
    stop_captures
    # Undo in reverse order (last change first).
    for ((c = ${#SCENARIO_CLEANUP[@]} - 1; c >= 0; c--)); do eval "${SCENARIO_CLEANUP[c]}" || true; done
    SCENARIO_CLEANUP=()
    return $rc
}

# ---- scenario helpers ----------------------------------------------------------------------------
# "nicsim": make the underlay behave like a physical NIC. On veth the kernel never computes or
# verifies checksums: a CHECKSUM_PARTIAL skb crosses unchanged (receiver trusts it) and a
# finished one is marked CHECKSUM_UNNECESSARY when the peer has rx-checksumming on. With
#   tx off on node-a eth0   the stack finishes the inner TCP checksum in software before the
#                           capture tap (as a real NIC would, after the tap, on the wire), and
#   rx off on every underlay veth end   the receiving stack verifies the outer UDP checksum and
#                           drops bad ones ("UDP: bad checksum", Udp InCsumErrors).
nicsim_on() {
    local ns dev
    for ns in "$NS_NODE_A" "$NS_NODE_B"; do nsx "$ns" ethtool -K eth0 tx off rx off >/dev/null 2>&1; done
    for dev in vxl-port-a vxl-port-b; do nsx "$NS_UNDERLAY" ethtool -K "$dev" tx off rx off >/dev/null 2>&1; done
    SCENARIO_CLEANUP+=("nicsim_off")
}
nicsim_off() {
    local ns dev
    for ns in "$NS_NODE_A" "$NS_NODE_B"; do nsx "$ns" ethtool -K eth0 tx on rx on >/dev/null 2>&1 || true; done
    for dev in vxl-port-a vxl-port-b; do nsx "$NS_UNDERLAY" ethtool -K "$dev" tx on rx on >/dev/null 2>&1 || true; done
}

counters() {   # ns -> a few kernel counters (per namespace)
    nsx "$1" cat /proc/net/snmp /proc/net/netstat | awk '
        /^Udp:/ { if (!u) { split($0, h); u = 1 } else { for (i = 2; i <= NF; i++) if (h[i] ~ /InCsumErrors|InErrors|InDatagrams|NoPorts/) printf "Udp.%s=%s ", h[i], $i } }
        /^TcpExt:/ { if (!t) { split($0, th); t = 1 } else { for (i = 2; i <= NF; i++) if (th[i] ~ /TimeoutRehash|TCPSynRetrans/) printf "TcpExt.%s=%s ", th[i], $i } }
        /^Tcp:/ { if (!tc) { split($0, tch); tc = 1 } else { for (i = 2; i <= NF; i++) if (tch[i] ~ /RetransSegs|InCsumErrors/) printf "Tcp.%s=%s ", tch[i], $i } }
        END { print "" }'
}

scenario_names() { printf '%s\n' "${SCENARIOS[@]}"; }

# The pre-NAT taps on node-a (issue 18): NFLOG rules in the raw table, which runs before
# conntrack and every nat chain, so what they log is the packet as its sender made it:
#   group NFLOG_TCP    the host's TCP to port SVC_PORT (raw OUTPUT: before kube-proxy's DNAT in
#                      nat OUTPUT and any MASQUERADE in POSTROUTING) and the pods' (raw
#                      PREROUTING on cni0: before DNAT in nat PREROUTING);
#   group NFLOG_VXLAN  the outer VXLAN packets the vxlan driver sends (raw OUTPUT: the outer
#                      source port before the MASQUERADE of a marked packet in POSTROUTING).
# Captured with `tcpdump -i nflog:N` (link type NFLOG, 239). The rules are removed on exit.
pre_nat_taps_on() {
    local rule
    local rules=(
        "OUTPUT -p tcp --dport $SVC_PORT -j NFLOG --nflog-group $NFLOG_TCP --nflog-threshold 1 --nflog-prefix host-tcp"
        "PREROUTING -i cni0 -p tcp --dport $SVC_PORT -j NFLOG --nflog-group $NFLOG_TCP --nflog-threshold 1 --nflog-prefix pod-tcp"
        "OUTPUT -p udp --dport $VXLAN_PORT -j NFLOG --nflog-group $NFLOG_VXLAN --nflog-threshold 1 --nflog-prefix vxlan-out"
    )
    for rule in "${rules[@]}"; do
        # shellcheck disable=SC2086  # the rule is words
        nsx "$NS_NODE_A" iptables -t raw -A $rule
        SCENARIO_CLEANUP+=("nsx $NS_NODE_A iptables -t raw -D $rule")
    done
}

# The nfs-clients traffic: libnfs's nfs-ls and nfs-cat (libnfs-utils 4.0 has no nfs-stat), each
# bounded by timeout(1), in sequence: NFSv3 (portmapper on 111 and MOUNT on 20048 first, then
# NFS) and NFSv4 from pod-a straight to pod-b, and NFSv4 from node-a's host network through the
# ClusterIP, whose rules forward 2049 only (NFSv3 needs MOUNT, which is not behind it). Prints
# each command and its output; a failing client is reported, never fatal.
nfs_clients() {
    if ! command -v nfs-ls >/dev/null || ! command -v nfs-cat >/dev/null; then
        warn "nfs-ls/nfs-cat not installed (libnfs-utils): no clients run"
        return 0
    fi
    local spec ns host vers tool path rc
    for spec in "$NS_POD_A $POD_B_IP 3" "$NS_POD_A $POD_B_IP 4" "$NS_NODE_A $SVC_IP 4"; do
        read -r ns host vers <<<"$spec"
        for tool in nfs-ls nfs-cat; do
            # NFSv3 mounts the export's real path (MOUNT), NFSv4 walks ganesha's pseudo fs.
            path=/export
            [ "$vers" = 3 ] && path=$STATE/export
            [ "$tool" = nfs-cat ] && path=$path/README
            echo "\$ ${ns#vxl-}: $tool nfs://$host$path?version=$vers"
            rc=0
            ip netns exec "$ns" timeout -k 2 20 "$tool" "nfs://$host$path?version=$vers" 2>&1 || rc=$?
            echo "(exit $rc)"
        done
    done
}

describe_scenario() {
    case $1 in
        node-to-pod-prefix) echo "host-network client on node-a -> ClusterIP $SVC_IP:$SVC_PORT (3 conns), kube-proxy pre-PR-92035 rules; expect double_snat + outer_checksum_corrupted (variant B)" ;;
        node-to-pod-postfix) echo "same client, kube-proxy post-PR-92035 rules; expect inner_snat only, outer untouched" ;;
        pod-to-pod) echo "pod-a -> pod-b $POD_B_IP:$SVC_PORT directly (3 conns); expect clean" ;;
        silent-drop) echo "pod-a -> pod-b with node-b FORWARD dropping SYNs to $SVC_PORT, 8 s connect timeout, no other traffic; expect syn_dropped, seen up to node-b flannel.1, the order beyond unknown" ;;
        silent-drop-raw) echo "pod-a sends UDP to pod-b, then node-b's raw PREROUTING drops every VXLAN packet; pod-a -> pod-b, 8 s connect timeout; expect syn_dropped, last seen at node-b eth0, missing at node-b flannel.1" ;;
        silent-drop-forward) echo "pod-a sends UDP to pod-b, then node-b's FORWARD drops SYNs to $SVC_PORT (after flannel.1); pod-a -> pod-b, 8 s connect timeout; expect syn_dropped, last seen at node-b flannel.1, missing at node-b cni0" ;;
        data-drop) echo "pod-a sends UDP to pod-b, then node-b's raw PREROUTING drops VXLAN packets of $DATA_DROP_MIN bytes or more; pod-a -> pod-b, a NULL call, then a ${DATA_DROP_CALL}-byte call; expect rpc_unanswered, the large call's transmissions last seen at node-b eth0, missing at node-b flannel.1" ;;
        node-to-pod-prefix-nicsim) echo "as node-to-pod-prefix, underlay veths behave like NICs (sw checksum, rx verify): corrupted packets are dropped at node-b" ;;
        node-to-pod-prefix-workaround) echo "as -nicsim plus flannel's workaround 'ethtool -K flannel.1 tx-checksum-ip-generic off': outer still NATed, checksum right" ;;
        node-to-pod-postfix-oldflannel) echo "post-PR-92035 kube-proxy, but the older FLANNEL-POSTRTG (no mark RETURN) evaluated first (flannel#1679), with nicsim" ;;
        nfs-clients) echo "real NFS clients (libnfs nfs-ls, nfs-cat; NFSv3 and v4) from pod-a to pod-b and from node-a's host network through the ClusterIP (v4 only), pre-PR-92035 rules; expect double_snat on the ClusterIP connections and no rpc_*/nfs_* verdict" ;;
        *) return 1 ;;
    esac
}

# Two UDP datagrams from a connected socket in NS to HOST:9 (discard; pod-b answers with ICMP
# port unreachable): other traffic to the server's node, seen at every capture point.
warm_up() {
    ip netns exec "$1" timeout -k 2 5 "$PY" -c '
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.connect((sys.argv[1], 9))
for _ in range(2):
    s.send(b"vxcheck lab: other traffic before the drop")
    time.sleep(0.1)
' "$2" || warn "warm-up traffic failed"
    sleep 0.3
}

# The silent drops, injected while the captures run (undone when the scenario ends).
inject_drop() {
    case $1 in
        silent-drop-raw)
            # Dropped before conntrack, routing and decapsulation: node-b's eth0 tap sees the
            # packets, its flannel.1 never does.
            nsx "$NS_NODE_B" iptables -t raw -I PREROUTING -i eth0 -p udp --dport "$VXLAN_PORT" -j DROP
            SCENARIO_CLEANUP+=("nsx $NS_NODE_B iptables -t raw -D PREROUTING -i eth0 -p udp --dport $VXLAN_PORT -j DROP") ;;
        data-drop)
            # An underlay that drops large packets (a path MTU below the VXLAN packet): the
            # handshake, ACKs and small calls get through, a large call never does.
            nsx "$NS_NODE_B" iptables -t raw -I PREROUTING -i eth0 -p udp --dport "$VXLAN_PORT" -m length --length "$DATA_DROP_MIN:65535" -j DROP
            SCENARIO_CLEANUP+=("nsx $NS_NODE_B iptables -t raw -D PREROUTING -i eth0 -p udp --dport $VXLAN_PORT -m length --length $DATA_DROP_MIN:65535 -j DROP") ;;
        silent-drop-forward)
            # Decapsulated by flannel.1, then dropped when forwarded to the pod: node-b's
            # flannel.1 sees the SYNs, its cni0 never does.
            nsx "$NS_NODE_B" iptables -I FORWARD -i flannel.1 -p tcp --dport "$SVC_PORT" --syn -j DROP
            SCENARIO_CLEANUP+=("nsx $NS_NODE_B iptables -D FORWARD -i flannel.1 -p tcp --dport $SVC_PORT --syn -j DROP") ;;
    esac
}

run_scenario() {
    local name=$1 out=$2
    describe_scenario "$name" >/dev/null || die "unknown scenario '$name' (lab.sh scenarios)"
    lab_is_up || die "the lab is down: run 'lab.sh up' first"
    mkdir -p "$out/logs"
    out=$(cd "$out" && pwd)
    trap scenario_exit EXIT
    trap 'exit 130' INT TERM

    local rules=prefix flannel=current client_ns=$NS_NODE_A target=$SVC_IP count=3 ctimeout=5 nicsim=0 big=0
    case $name in
        node-to-pod-prefix) ;;
        node-to-pod-postfix) rules=postfix ;;
        pod-to-pod) client_ns=$NS_POD_A target=$POD_B_IP ;;
        # LAB_DROP_TIMEOUT: a shorter connect timeout (fewer SYNs) for the lab test.
        silent-drop|silent-drop-raw|silent-drop-forward) client_ns=$NS_POD_A target=$POD_B_IP count=1 ctimeout=${LAB_DROP_TIMEOUT:-8} ;;
        data-drop) client_ns=$NS_POD_A target=$POD_B_IP count=1 big=$DATA_DROP_CALL ;;
        node-to-pod-prefix-nicsim) nicsim=1 ;;
        node-to-pod-prefix-workaround) nicsim=1 ;;
        node-to-pod-postfix-oldflannel) rules=postfix flannel=old nicsim=1 ;;
        nfs-clients) ;;
    esac
    log "scenario $name: $(describe_scenario "$name")"
    local prev_rules
    prev_rules=$(cat "$STATE/rules" 2>/dev/null || echo "prefix current")
    apply_rules "$rules" "$flannel"
    SCENARIO_CLEANUP+=("apply_rules $prev_rules")
    [ "$nicsim" = 1 ] && nicsim_on
    if [ "$name" = node-to-pod-prefix-workaround ]; then
        # flannel#1279 / Documentation/troubleshooting.md: finish the inner checksum in software
        # before the tunnel, so the outer checksum is not computed by LCO over a partial one.
        local ns
        for ns in "$NS_NODE_A" "$NS_NODE_B"; do nsx "$ns" ethtool -K flannel.1 tx-checksum-ip-generic off >/dev/null; done
        SCENARIO_CLEANUP+=("nsx $NS_NODE_A ethtool -K flannel.1 tx-checksum-ip-generic on >/dev/null; nsx $NS_NODE_B ethtool -K flannel.1 tx-checksum-ip-generic on >/dev/null")
    fi
    if [ "$name" = silent-drop ]; then
        # A firewall on the server's node that drops the SYN without answering (no RST, no ICMP).
        nsx "$NS_NODE_B" iptables -I FORWARD -p tcp --dport "$SVC_PORT" --syn -j DROP
        SCENARIO_CLEANUP+=("nsx $NS_NODE_B iptables -D FORWARD -p tcp --dport $SVC_PORT --syn -j DROP")
    fi
    pre_nat_taps_on
    # Fresh state: no conntrack entries from earlier scenarios (NAT bindings, UDP flows).
    local ns
    for ns in "$NS_NODE_A" "$NS_NODE_B"; do nsx "$ns" conntrack -F >/dev/null 2>&1 || true; done

    {
        echo "scenario: $name"
        echo "what: $(describe_scenario "$name")"
        echo "date: $(date -u +%FT%TZ)  kernel: $(uname -r)  $(iptables -V)  server: $(cat "$STATE/server")"
        echo "rules: kube-proxy=$rules flannel=$flannel nicsim=$nicsim"
        echo "node-a flannel.1: $(nsx "$NS_NODE_A" ip -d link show flannel.1 | grep -o 'vxlan id.*' | head -1)"
        echo "node-a offloads: flannel.1 $(nsx "$NS_NODE_A" ethtool -k flannel.1 | grep -E '^\s*tx-checksum-ip-generic' | tr -s ' \t' ' ')," \
             "eth0 $(nsx "$NS_NODE_A" ethtool -k eth0 | grep -E '^(tx|rx)-checksumming' | tr -s ' ' | tr '\n' ' ')"
        echo "counters before: node-a $(counters "$NS_NODE_A")"
        echo "counters before: node-b $(counters "$NS_NODE_B")"
        [ "$client_ns" = "$NS_NODE_A" ] || echo "counters before: ${client_ns#vxl-} $(counters "$client_ns")"
    } >"$out/$name-state.txt"

    start_capture "$NS_NODE_A" flannel.1 "$out/$name-node-a-flannel1.pcap" "$out/logs/$name-node-a-flannel1.tcpdump.log"
    start_capture "$NS_NODE_A" eth0 "$out/$name-node-a-eth0.pcap" "$out/logs/$name-node-a-eth0.tcpdump.log"
    start_capture "$NS_NODE_B" eth0 "$out/$name-node-b-eth0.pcap" "$out/logs/$name-node-b-eth0.tcpdump.log"
    start_capture "$NS_NODE_B" flannel.1 "$out/$name-node-b-flannel1.pcap" "$out/logs/$name-node-b-flannel1.tcpdump.log"
    # Before NAT (the taps above) and the pod side of both nodes.
    start_capture "$NS_NODE_A" "nflog:$NFLOG_TCP" "$out/$name-node-a-prenat-tcp.pcap" "$out/logs/$name-node-a-prenat-tcp.tcpdump.log"
    start_capture "$NS_NODE_A" "nflog:$NFLOG_VXLAN" "$out/$name-node-a-prenat-vxlan.pcap" "$out/logs/$name-node-a-prenat-vxlan.tcpdump.log"
    start_capture "$NS_NODE_A" cni0 "$out/$name-node-a-cni0.pcap" "$out/logs/$name-node-a-cni0.tcpdump.log"
    start_capture "$NS_NODE_B" cni0 "$out/$name-node-b-cni0.pcap" "$out/logs/$name-node-b-cni0.tcpdump.log"

    case $name in
        silent-drop-raw|silent-drop-forward|data-drop)
            # A real node has other traffic: pod-a's UDP to pod-b crosses every point before the
            # drop starts, as a healthy exchange before an outage does.
            warm_up "$NS_POD_A" "$POD_B_IP"
            inject_drop "$name" ;;
    esac
    if [ "$name" = nfs-clients ]; then
        nfs_clients | tee "$out/$name-client.txt" >&2 || true
    else
        log "traffic: from $client_ns to $target:$SVC_PORT, $count connection(s), connect timeout ${ctimeout}s"
        ip netns exec "$client_ns" timeout -k 5 $((count * (ctimeout + 5) + 10)) "$PY" "$HERE/rpc_client.py" \
            "$target" "$SVC_PORT" --count "$count" --connect-timeout "$ctimeout" --reply-timeout 3 --big-call "$big" \
            | tee "$out/$name-client.txt" >&2 || true
    fi

    # conntrack of node-a right after the traffic (UDP entries expire after 30 s unreplied).
    nsx "$NS_NODE_A" conntrack -L >"$out/$name-conntrack.txt" 2>/dev/null || true
    nsx "$NS_NODE_B" conntrack -L >"$out/$name-node-b-conntrack.txt" 2>/dev/null || true
    stop_captures
    {
        echo "counters after:  node-a $(counters "$NS_NODE_A")"
        echo "counters after:  node-b $(counters "$NS_NODE_B")"
        [ "$client_ns" = "$NS_NODE_A" ] || echo "counters after:  ${client_ns#vxl-} $(counters "$client_ns")"
        echo "--- node-a nat table with counters (which rules fired)"
        nsx "$NS_NODE_A" iptables -t nat -L -v -n --line-numbers
    } >>"$out/$name-state.txt"
    [ -n "${LAB_NO_SUMMARY:-}" ] || summarize "$name" "$out"
    scenario_exit
    trap - EXIT INT TERM
}

# Prints what the captures show. Runs in a subshell with errexit off: a reporting hiccup
# (e.g. SIGPIPE from head) must not abort the scenario.
summarize() (
    set +e +o pipefail
    local name=$1 out=$2 f
    echo
    echo "===== $name: $(describe_scenario "$name")"
    echo "--- client"
    sed 's/^/  /' "$out/$name-client.txt"
    echo "--- packets per capture point"
    for f in node-a-prenat-tcp node-a-prenat-vxlan node-a-cni0 node-a-flannel1 node-a-eth0 node-b-eth0 node-b-flannel1 node-b-cni0; do
        printf '  %-16s %4s frames\n' "$f" "$("$PY" "$HERE/outer_csum.py" --frames "$out/$name-$f.pcap")"
    done
    # tcpdump calls UDP 8472 "OTV" unless told -T vxlan; in that default mode it prints the outer
    # UDP checksum verdict. It checks it against the bytes as captured, so an outer checksum made
    # by local checksum offload over a still-partial inner one is ALSO shown as "bad" (see the
    # outer_csum.py lines below for the real verdict).
    echo "--- tcpdump -nn -vv -r $name-node-a-eth0.pcap udp   (outer headers, first 6)"
    tcpdump -nn -vv -r "$out/$name-node-a-eth0.pcap" udp 2>/dev/null | grep -E '^ +[0-9]' | head -6 | sed 's/^ */  /'
    echo "--- tcpdump -nn -v -T vxlan -r $name-node-a-eth0.pcap udp   (inner packets, first 6)"
    tcpdump -nn -v -T vxlan -r "$out/$name-node-a-eth0.pcap" udp 2>/dev/null | grep -E '^ +10\.' | head -6 \
        | sed -E 's/^ */  /; s/, win .*(, length)/\1/'
    echo "--- outer_csum.py $name-node-a-eth0.pcap (independent check; partial inner checksums made final first)"
    "$PY" "$HERE/outer_csum.py" "$out/$name-node-a-eth0.pcap" --max 12 | sed 's/^  //; s/^/  /'
    echo "--- outer_csum.py $name-node-b-eth0.pcap (summary)"
    "$PY" "$HERE/outer_csum.py" "$out/$name-node-b-eth0.pcap" --max 0 | tail -n +2
    echo "--- node-a conntrack: outer VXLAN flows (orig sport != reply dport means the outer packet was SNATed) and $SVC_PORT flows"
    grep -E "dport=($VXLAN_PORT|$SVC_PORT) " "$out/$name-conntrack.txt" | sed -E 's/ +/ /g; s/^/  /' || echo "  (none)"
    echo "--- counters"
    grep -E '^counters' "$out/$name-state.txt" | sed 's/^/  /'
)

# ---- analyze ------------------------------------------------------------------------------------
build_vxcheck() {
    log "building vxcheck into $BUILD"
    if [ -x "$REPO/tools/install-deps.sh" ]; then "$REPO/tools/install-deps.sh" >&2 || warn "install-deps.sh failed"; fi
    timeout 900 cmake -S "$REPO" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DVXCHECK_BUILD_TESTS=OFF >"$BUILD.log" 2>&1 \
        && timeout 1800 cmake --build "$BUILD" -j2 >>"$BUILD.log" 2>&1 \
        || { tail -n 30 "$BUILD.log" >&2; die "vxcheck build failed (log: $BUILD.log)"; }
}

analyze() {
    local out="" names=() n
    while [ $# -gt 0 ]; do
        case $1 in
            --out) out=${2:?}; shift 2 ;;
            *) names+=("$1"); shift ;;
        esac
    done
    [ -n "$out" ] || die "analyze: --out DIR required"
    [ ${#names[@]} -gt 0 ] || names=("${SCENARIOS[@]}")
    build_vxcheck
    local vx="$BUILD/src/vxcheck"
    for n in "${names[@]}"; do
        [ -f "$out/$n-node-a-eth0.pcap" ] || continue
        # Every point, named (NAME=FILE), in path order; the pre-NAT taps and cni0 captures of
        # runs recorded before they existed are left out.
        local files=() point
        for point in node-a-prenat-tcp node-a-prenat-vxlan node-a-cni0 node-a-flannel1 node-a-eth0 \
                     node-b-eth0 node-b-flannel1 node-b-cni0; do
            [ -f "$out/$n-$point.pcap" ] && files+=("$point=$out/$n-$point.pcap")
        done
        local rc=0
        timeout -k 5 120 "$vx" analyze "${files[@]}" >"$out/$n-vxcheck.txt" 2>&1 || rc=$?
        timeout -k 5 120 "$vx" analyze --json "${files[@]}" >"$out/$n-vxcheck.json" 2>"$out/logs/$n-vxcheck-json.err" || true
        echo
        echo "===== vxcheck on $n (exit $rc; text: $n-vxcheck.txt, JSON: $n-vxcheck.json)"
        # Verdicts next to node-a's conntrack (what really was NATed) and the expectation.
        "$PY" "$HERE/compare.py" "$out" "$n" || true
    done
}

# ---- run-all -------------------------------------------------------------------------------------
run_all() {
    local out="" do_analyze=1 s
    while [ $# -gt 0 ]; do
        case $1 in
            --out) out=${2:?}; shift 2 ;;
            --no-analyze) do_analyze=0; shift ;;
            *) die "run-all: unknown option $1" ;;
        esac
    done
    [ -n "$out" ] || die "run-all: --out DIR required"
    mkdir -p "$out"
    trap 'lab_down' EXIT
    trap 'exit 130' INT TERM
    lab_up --rules prefix
    trap 'lab_down' EXIT           # lab_up cleared the trap it set for itself
    trap 'exit 130' INT TERM
    for s in "${SCENARIOS[@]}"; do
        # Each scenario runs in a subshell so its own EXIT trap (stop captures, undo changes)
        # fires when it ends; the lab stays up in between.
        ( run_scenario "$s" "$out" ) 2>&1 | tee "$out/$s-summary.txt" || warn "scenario $s failed"
    done
    lab_down
    trap - EXIT
    [ "$do_analyze" = 1 ] && analyze --out "$out" 2>&1 | tee "$out/vxcheck-verdicts.txt"
    log "done: captures and reports in $out"
}

usage() { sed -n '2,28p' "$0" | sed 's/^# \{0,1\}//'; }

main() {
    local cmd=${1:-}
    [ $# -gt 0 ] && shift
    case $cmd in
        up) lab_up "$@" ;;
        down) lab_down; log "lab is down" ;;
        status) lab_status ;;
        scenarios) for s in "${SCENARIOS[@]}"; do printf '%-32s %s\n' "$s" "$(describe_scenario "$s")"; done ;;
        scenario)
            local name=${1:-} out=""
            [ -n "$name" ] || die "scenario NAME --out DIR"
            shift
            while [ $# -gt 0 ]; do case $1 in --out) out=${2:?}; shift 2 ;; *) die "scenario: unknown option $1" ;; esac; done
            [ -n "$out" ] || die "scenario: --out DIR required"
            ensure_packages
            if lab_is_up; then
                run_scenario "$name" "$out"
            else
                # No lab yet: build one just for this scenario and tear it down afterwards.
                log "lab is down: bringing it up for this scenario (and down again afterwards)"
                lab_up
                trap 'lab_down' EXIT
                trap 'exit 130' INT TERM
                ( run_scenario "$name" "$out" ) || warn "scenario $name failed"
                lab_down
                trap - EXIT
            fi ;;
        analyze) analyze "$@" ;;
        run-all) run_all "$@" ;;
        -h|--help|help|"") usage ;;
        *) usage; exit 2 ;;
    esac
}

# Run only when executed: tests source this file to reuse lab_up, apply_rules and lab_down.
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    main "$@"
fi

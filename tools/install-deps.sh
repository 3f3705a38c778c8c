#!/usr/bin/env bash
# Installs the Debian 12 packages vxcheck needs to build and test, if any are missing.
# Idempotent: does nothing (and needs no network) when everything is already there.
set -euo pipefail

packages=(
    cmake g++ make pkg-config
    ccache   # rebuilds of unchanged sources (CMakeLists.txt: VXCHECK_CCACHE)
    libpcap-dev libboost-program-options-dev libspdlog-dev nlohmann-json3-dev
    libgtest-dev libgmock-dev prometheus-cpp-dev
    libcap-dev   # capture drops its capabilities (src/app/privileges.cc)
    libssl-dev   # libcrypto's SHA-1 for the Community ID (src/track/community_id.cc)
    python3-jsonschema   # the JSON schema test (tools/check_json_schema.py)
    zlib1g-dev   # gzip-compressed captures are read as they are (src/capture/gzip_stream.cc)
    python3 tshark tcpdump   # fixture generator, test oracle, benchmark comparison
    clang-format clang libclang-rt-14-dev   # CI: the format check, the libFuzzer targets
    iproute2 iptables conntrack ethtool curl   # the network-namespace lab and its test
    libnfs-utils   # the lab's real NFS clients (nfs-ls, nfs-cat; scenario nfs-clients)
    jq prometheus python3-yaml   # deploy/ tests: jq over capture's output, promtool, manifests
)

missing=()
for p in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$p")
    fi
done
if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi

echo "install-deps: installing ${missing[*]}" >&2
sudo=""
if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "install-deps: need root (or sudo) to install: ${missing[*]}" >&2; exit 1; }
    sudo="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null

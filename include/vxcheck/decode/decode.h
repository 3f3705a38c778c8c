#pragma once
// decode(): frame bytes -> layer stack. The protocol graph (link type, ethertype, IP protocol and
// UDP port -> next layer) lives in src/decode/decode.cc only.

#include <algorithm>
#include <cstdint>
#include <vector>

#include "vxcheck/decode/packet.h"
#include "vxcheck/decode/reassembly.h"
#include "vxcheck/frame.h"

namespace vxcheck::decode {

struct DecodeOptions {
    std::vector<std::uint16_t> vxlan_ports{8472, 4789};  // Linux/Flannel default, IANA
    std::vector<std::uint16_t> geneve_ports{6081};
    std::uint8_t max_tunnel_depth =
        4;  // nesting cap over every tunnel kind (VXLAN, Geneve, GRE, IP-in-IP)
    // Whether a caller may decode and verify frames of a fixed shape at fixed offsets, with the
    // same result as decode() and verify() (the fast path, include/vxcheck/fastpath/); false
    // sends every frame through decode() and verify() (--no-fast-path). decode() ignores it.
    bool fast_path = true;
    // IP reassembly, in capture order after decode() (decode/reassembly.h; app's
    // ReassemblyStage): its memory cap and timeout; `reassemble` false leaves fragments as they
    // are (each checksum `unverified (fragment)`). decode() ignores them.
    bool reassemble = true;
    ReassemblyOptions reassembly{};

    /// Whether UDP destination port `port` carries VXLAN (RFC 7348 5: matched on it alone).
    [[nodiscard]] bool is_vxlan_port(std::uint16_t port) const noexcept {
        return std::find(vxlan_ports.begin(), vxlan_ports.end(), port) != vxlan_ports.end();
    }
    /// Whether UDP destination port `port` carries Geneve.
    [[nodiscard]] bool is_geneve_port(std::uint16_t port) const noexcept {
        return std::find(geneve_ports.begin(), geneve_ports.end(), port) != geneve_ports.end();
    }
};

/// Decodes `frame` into `out` (reset first). Never throws, never reads past frame.data; problems
/// are recorded as anomalies and, when no IP layer could be decoded, as a skip reason.
void decode(const RawFrame& frame, const DecodeOptions& options, DecodedPacket& out) noexcept;

}  // namespace vxcheck::decode

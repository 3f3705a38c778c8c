#pragma once
// Private to src/decode: one decode_<layer>() per protocol. Each checks lengths before it reads,
// records what it finds in `pkt`, and says how to find the next layer; only decode.cc maps that
// to a protocol (the graph lives in one place).

#include <cstdint>

#include "vxcheck/bytes.h"
#include "vxcheck/decode/packet.h"

namespace vxcheck::decode {

/// How the next layer is chosen: by a key looked up in decode.cc, or directly.
enum class Via : std::uint8_t { End, Ethertype, IpProtocol, UdpDstPort, Direct };

struct Step {
    Via via = Via::End;
    std::uint32_t key = 0;      // ethertype, IP protocol, UDP port, or a Proto for Via::Direct
    Bytes bytes;                // where the next layer starts (as captured)
    std::uint32_t claimed = 0;  // how long the enclosing header says it is (>= bytes.size() if cut)
};

inline constexpr Step kEnd{};

/// Records `a` and ends decoding of this frame.
inline Step fail(DecodedPacket& pkt, Anomaly a) noexcept {
    pkt.note(a);
    return kEnd;
}

Step decode_ethernet(const Step& in, DecodedPacket& pkt) noexcept;
Step decode_vlan(const Step& in, DecodedPacket& pkt) noexcept;
Step decode_sll(const Step& in, DecodedPacket& pkt) noexcept;
Step decode_sll2(const Step& in, DecodedPacket& pkt) noexcept;
Step decode_null(const Step& in, DecodedPacket& pkt) noexcept;
Step decode_ipv4(const Step& in, DecodedPacket& pkt) noexcept;
Step decode_ipv6(const Step& in, DecodedPacket& pkt) noexcept;
Step decode_tcp(const Step& in, DecodedPacket& pkt) noexcept;
Step decode_udp(const Step& in, DecodedPacket& pkt) noexcept;
Step decode_icmp(const Step& in, DecodedPacket& pkt, Proto proto) noexcept;
Step decode_vxlan(const Step& in, DecodedPacket& pkt) noexcept;
Step decode_geneve(const Step& in, DecodedPacket& pkt) noexcept;

}  // namespace vxcheck::decode

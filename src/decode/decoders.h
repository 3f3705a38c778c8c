#pragma once
// Private to src/decode: one decode_<layer>() per protocol. Each checks lengths before it reads,
// records what it finds in `pkt`, and says how to find the next layer; only decode.cc maps that
// to a protocol (the graph lives in one place).

#include <cstdint>

#include "vxcheck/bytes.h"
#include "vxcheck/decode/header_rules.h"
#include "vxcheck/decode/packet.h"
#include "vxcheck/wire.h"

namespace vxcheck::decode {

/// How the next layer is chosen: by a key looked up in decode.cc, or directly.
enum class Via : std::uint8_t { End, Ethertype, IpProtocol, UdpDstPort, Direct, GreProtocol };

/// Where the decode loop is: a decoder reads its layer from it and leaves the next one in it.
/// Decoders update it member by member, in place: returning it by value made the loop copy it
/// whole, and those wide loads of fields just stored narrow stall the CPU (store forwarding)
/// for longer than the decoding of a header takes.
struct Step {
    Via via = Via::End;
    std::uint32_t key = 0;      // ethertype, IP protocol, UDP port, or a Proto for Via::Direct
    Bytes bytes;                // where the next layer starts (as captured)
    std::uint32_t claimed = 0;  // how long the enclosing header says it is (>= bytes.size() if cut)
};

/// Nothing to decode after this layer.
inline void end(Step& s) noexcept {
    s.via = Via::End;
}

/// Records `a` and ends decoding of this frame.
inline void fail(Step& s, DecodedPacket& pkt, Anomaly a) noexcept {
    pkt.note(a);
    s.via = Via::End;
}

/// The next layer: chosen by `via` and `key`, it starts `header_len` bytes into the current one.
inline void next(Step& s, Via via, std::uint32_t key, std::size_t header_len) noexcept {
    s.via = via;
    s.key = key;
    s.bytes = s.bytes.subspan(header_len);
    s.claimed -= static_cast<std::uint32_t>(header_len);
}

// Each reads its layer at `s` and leaves in `s` what follows (or Via::End).
void decode_ethernet(Step& s, DecodedPacket& pkt) noexcept;
void decode_vlan(Step& s, DecodedPacket& pkt) noexcept;
void decode_sll(Step& s, DecodedPacket& pkt) noexcept;
void decode_sll2(Step& s, DecodedPacket& pkt) noexcept;
void decode_null(Step& s, DecodedPacket& pkt) noexcept;
void decode_nflog(Step& s, DecodedPacket& pkt) noexcept;
void decode_ipv4(Step& s, DecodedPacket& pkt) noexcept;
void decode_ipv6(Step& s, DecodedPacket& pkt) noexcept;
void decode_tcp(Step& s, DecodedPacket& pkt) noexcept;
void decode_udp(Step& s, DecodedPacket& pkt) noexcept;
void decode_icmp(Step& s, DecodedPacket& pkt, Proto proto) noexcept;
void decode_vxlan(Step& s, DecodedPacket& pkt) noexcept;
void decode_geneve(Step& s, DecodedPacket& pkt) noexcept;
void decode_gre(Step& s, DecodedPacket& pkt) noexcept;
void decode_erspan(Step& s, DecodedPacket& pkt) noexcept;
void decode_mpls(Step& s, DecodedPacket& pkt) noexcept;

}  // namespace vxcheck::decode

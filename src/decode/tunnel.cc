// Overlay tunnels carried in UDP, matched on the destination port only (RFC 7348 5).
//
//  VXLAN (RFC 7348):  flags(1: R R R R I R R R) reserved(3) VNI(3) reserved(1)
//  Geneve (RFC 8926): ver(2)|optlen(6, 4-byte words) O|C|rsvd(6) protocol(2) VNI(3) rsvd(1)
//                     options(optlen*4)
//
// VXLAN-GPE (UDP 4790) is a different header (next-protocol byte) and is not decoded here.

#include "decoders.h"

namespace vxcheck::decode {
namespace {
constexpr std::size_t kGeneveBaseLen = 8;
}  // namespace

using wire::kEthertypeTransparentBridging;
using wire::kVxlanHeaderLen;

void decode_vxlan(Step& s, DecodedPacket& pkt) noexcept {
    const Bytes b = s.bytes;
    if (b.size() < kVxlanHeaderLen) {
        return fail(s, pkt, Anomaly::VxlanTruncated);
    }
    auto& info = pkt.add<VxlanInfo>(Proto::Vxlan, kVxlanHeaderLen, s.claimed, b);
    info.flags = b[0];
    info.vni = be24(b, 4);
    if (!vxlan_i_flag(b)) {
        return fail(s, pkt, Anomaly::VxlanIFlagClear);
    }
    if (vxlan_reserved_nonzero(b)) {
        pkt.note(Anomaly::VxlanReservedNonzero);  // receivers ignore them (RFC 7348): go on
    }
    pkt.enter_tunnel();
    next(s, Via::Ethertype, kEthertypeTransparentBridging, kVxlanHeaderLen);
}

void decode_geneve(Step& s, DecodedPacket& pkt) noexcept {
    const Bytes b = s.bytes;
    if (b.size() < kGeneveBaseLen) {
        return fail(s, pkt, Anomaly::GeneveTruncated);
    }
    if ((b[0] >> 6) != 0) {
        return fail(s, pkt, Anomaly::GeneveBadVersion);
    }
    const std::size_t header_len = kGeneveBaseLen + std::size_t{b[0] & 0x3fU} * 4;
    if (header_len > b.size()) {
        return fail(s, pkt, Anomaly::GeneveTruncated);
    }
    auto& info = pkt.add<GeneveInfo>(Proto::Geneve, header_len, s.claimed, b);
    info.options_len = static_cast<std::uint8_t>(header_len - kGeneveBaseLen);
    info.oam = (b[1] & 0x80U) != 0;
    info.critical = (b[1] & 0x40U) != 0;
    info.protocol = be16(b, 2);
    info.vni = be24(b, 4);
    pkt.enter_tunnel();
    next(s, Via::Ethertype, info.protocol, header_len);
}

}  // namespace vxcheck::decode

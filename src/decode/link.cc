// Link layers: Ethernet II / 802.3 (IEEE 802.3), 802.1Q / 802.1ad tags, Linux cooked capture
// v1 and v2 (libpcap's LINKTYPE_LINUX_SLL / _SLL2) and BSD loopback (DLT_NULL).
//
//  Ethernet:  dst(6) src(6) ethertype(2)
//  VLAN tag:  TCI(2: PCP 3 | DEI 1 | VID 12) ethertype(2)      (follows a 0x8100/0x88a8/0x9100)
//  SLL v1:    pkttype(2) hatype(2) halen(2) addr(8) protocol(2)
//  SLL v2:    protocol(2) reserved(2) ifindex(4) hatype(2) pkttype(1) halen(1) addr(8)
//  NULL:      address family(4), in the capturing host's byte order

#include "decoders.h"

namespace vxcheck::decode {
namespace {

using wire::kEthernetHeaderLen;
using wire::kMinEthertype;
using wire::kVlanTagLen;

constexpr std::size_t kSllHeaderLen = 16;
constexpr std::size_t kSll2HeaderLen = 20;
constexpr std::size_t kNullHeaderLen = 4;
constexpr int kMaxVlanTags = 4;

// BSD loopback families: AF_INET is 2 everywhere; AF_INET6 differs per OS.
constexpr std::uint32_t kAfInet = 2;
constexpr std::uint32_t kAfInet6Linux = 10;
constexpr std::uint32_t kAfInet6NetBsd = 24;
constexpr std::uint32_t kAfInet6FreeBsd = 28;
constexpr std::uint32_t kAfInet6Darwin = 30;

void next_by_ethertype(Step& s, std::size_t header_len, std::uint16_t ethertype) noexcept {
    if (ethertype < kMinEthertype) {
        return end(s);  // 802.3 frame with LLC (STP, CDP...): not IP
    }
    next(s, Via::Ethertype, ethertype, header_len);
}

}  // namespace

void decode_ethernet(Step& s, DecodedPacket& pkt) noexcept {
    if (s.bytes.size() < kEthernetHeaderLen) {
        return fail(s, pkt, Anomaly::LinkTruncated);
    }
    const std::uint16_t ethertype = be16(s.bytes, wire::kEthertypeOffset);
    pkt.add<EthernetInfo>(Proto::Ethernet, kEthernetHeaderLen, s.claimed, s.bytes).ethertype =
        ethertype;
    next_by_ethertype(s, kEthernetHeaderLen, ethertype);
}

void decode_vlan(Step& s, DecodedPacket& pkt) noexcept {
    if (s.bytes.size() < kVlanTagLen) {
        return fail(s, pkt, Anomaly::VlanTruncated);
    }
    int tags = 0;
    for (const Layer& l : pkt.layers()) {
        tags += (l.proto == Proto::Vlan && l.depth == pkt.depth()) ? 1 : 0;
    }
    if (tags >= kMaxVlanTags) {
        return fail(s, pkt, Anomaly::VlanTooManyTags);
    }
    // The TPID that announced this tag is the ethertype of the layer before it.
    std::uint16_t tpid = 0;
    if (!pkt.layers().empty()) {
        const Layer& prev = pkt.layers().back();
        if (const auto* e = prev.as<EthernetInfo>()) {
            tpid = e->ethertype;
        } else if (const auto* v = prev.as<VlanInfo>()) {
            tpid = v->ethertype;
        } else if (const auto* sll = prev.as<SllInfo>()) {
            tpid = sll->protocol;
        }
    }
    const std::uint16_t tci = be16(s.bytes, 0);
    const std::uint16_t ethertype = be16(s.bytes, 2);
    auto& info = pkt.add<VlanInfo>(Proto::Vlan, kVlanTagLen, s.claimed, s.bytes);
    info.tpid = tpid;
    info.vid = static_cast<std::uint16_t>(tci & 0x0fff);
    info.ethertype = ethertype;
    next_by_ethertype(s, kVlanTagLen, ethertype);
}

void decode_sll(Step& s, DecodedPacket& pkt) noexcept {
    if (s.bytes.size() < kSllHeaderLen) {
        return fail(s, pkt, Anomaly::LinkTruncated);
    }
    auto& info = pkt.add<SllInfo>(Proto::Sll, kSllHeaderLen, s.claimed, s.bytes);
    info.packet_type = be16(s.bytes, 0);
    info.protocol = be16(s.bytes, 14);
    next_by_ethertype(s, kSllHeaderLen, info.protocol);
}

void decode_sll2(Step& s, DecodedPacket& pkt) noexcept {
    if (s.bytes.size() < kSll2HeaderLen) {
        return fail(s, pkt, Anomaly::LinkTruncated);
    }
    auto& info = pkt.add<SllInfo>(Proto::Sll2, kSll2HeaderLen, s.claimed, s.bytes);
    info.packet_type = u8(s.bytes, 10);
    info.protocol = be16(s.bytes, 0);
    info.ifindex = be32(s.bytes, 4);
    next_by_ethertype(s, kSll2HeaderLen, info.protocol);
}

void decode_null(Step& s, DecodedPacket& pkt) noexcept {
    if (s.bytes.size() < kNullHeaderLen) {
        return fail(s, pkt, Anomaly::LinkTruncated);
    }
    std::uint32_t family = le32(s.bytes, 0);
    if ((family & 0xffff0000U) != 0) {
        family = be32(s.bytes, 0);  // written by a big-endian host
    }
    pkt.add<NullInfo>(Proto::Null, kNullHeaderLen, s.claimed, s.bytes).family = family;
    switch (family) {
        case kAfInet:
            return next(s, Via::Direct, static_cast<std::uint32_t>(Proto::Ipv4), kNullHeaderLen);
        case kAfInet6Linux:
        case kAfInet6NetBsd:
        case kAfInet6FreeBsd:
        case kAfInet6Darwin:
            return next(s, Via::Direct, static_cast<std::uint32_t>(Proto::Ipv6), kNullHeaderLen);
        default:
            return fail(s, pkt, Anomaly::NullUnknownFamily);
    }
}

}  // namespace vxcheck::decode

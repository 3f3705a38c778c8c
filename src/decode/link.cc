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

constexpr std::size_t kEthernetHeaderLen = 14;
constexpr std::size_t kVlanTagLen = 4;
constexpr std::size_t kSllHeaderLen = 16;
constexpr std::size_t kSll2HeaderLen = 20;
constexpr std::size_t kNullHeaderLen = 4;
constexpr std::uint16_t kMinEthertype = 0x0600;  // smaller values are 802.3 lengths (LLC follows)
constexpr int kMaxVlanTags = 4;

// BSD loopback families: AF_INET is 2 everywhere; AF_INET6 differs per OS.
constexpr std::uint32_t kAfInet = 2;
constexpr std::uint32_t kAfInet6Linux = 10;
constexpr std::uint32_t kAfInet6NetBsd = 24;
constexpr std::uint32_t kAfInet6FreeBsd = 28;
constexpr std::uint32_t kAfInet6Darwin = 30;

Layer make_layer(Proto proto, const Step& in, std::size_t header_len, LayerInfo info) noexcept {
    return Layer{.proto = proto,
                 .header_len = static_cast<std::uint16_t>(header_len),
                 .claimed_len = in.claimed,
                 .bytes = in.bytes,
                 .info = info};
}

Step next_by_ethertype(const Step& in, std::size_t header_len, std::uint16_t ethertype) noexcept {
    if (ethertype < kMinEthertype) {
        return kEnd;  // 802.3 frame with LLC (STP, CDP...): not IP
    }
    return {.via = Via::Ethertype,
            .key = ethertype,
            .bytes = in.bytes.subspan(header_len),
            .claimed = in.claimed - static_cast<std::uint32_t>(header_len)};
}

}  // namespace

Step decode_ethernet(const Step& in, DecodedPacket& pkt) noexcept {
    if (in.bytes.size() < kEthernetHeaderLen) {
        return fail(pkt, Anomaly::LinkTruncated);
    }
    const std::uint16_t ethertype = be16(in.bytes, 12);
    pkt.push(make_layer(Proto::Ethernet, in, kEthernetHeaderLen, EthernetInfo{ethertype}));
    return next_by_ethertype(in, kEthernetHeaderLen, ethertype);
}

Step decode_vlan(const Step& in, DecodedPacket& pkt) noexcept {
    if (in.bytes.size() < kVlanTagLen) {
        return fail(pkt, Anomaly::VlanTruncated);
    }
    int tags = 0;
    for (const Layer& l : pkt.layers()) {
        tags += (l.proto == Proto::Vlan && l.depth == pkt.depth()) ? 1 : 0;
    }
    if (tags >= kMaxVlanTags) {
        return fail(pkt, Anomaly::VlanTooManyTags);
    }
    // The TPID that announced this tag is the ethertype of the layer before it.
    std::uint16_t tpid = 0;
    if (!pkt.layers().empty()) {
        const Layer& prev = pkt.layers().back();
        if (const auto* e = prev.as<EthernetInfo>()) {
            tpid = e->ethertype;
        } else if (const auto* v = prev.as<VlanInfo>()) {
            tpid = v->ethertype;
        } else if (const auto* s = prev.as<SllInfo>()) {
            tpid = s->protocol;
        }
    }
    const std::uint16_t tci = be16(in.bytes, 0);
    const std::uint16_t ethertype = be16(in.bytes, 2);
    pkt.push(make_layer(Proto::Vlan, in, kVlanTagLen,
                        VlanInfo{.tpid = tpid,
                                 .vid = static_cast<std::uint16_t>(tci & 0x0fff),
                                 .ethertype = ethertype}));
    return next_by_ethertype(in, kVlanTagLen, ethertype);
}

Step decode_sll(const Step& in, DecodedPacket& pkt) noexcept {
    if (in.bytes.size() < kSllHeaderLen) {
        return fail(pkt, Anomaly::LinkTruncated);
    }
    const SllInfo info{.packet_type = be16(in.bytes, 0), .protocol = be16(in.bytes, 14)};
    pkt.push(make_layer(Proto::Sll, in, kSllHeaderLen, info));
    return next_by_ethertype(in, kSllHeaderLen, info.protocol);
}

Step decode_sll2(const Step& in, DecodedPacket& pkt) noexcept {
    if (in.bytes.size() < kSll2HeaderLen) {
        return fail(pkt, Anomaly::LinkTruncated);
    }
    const SllInfo info{.packet_type = u8(in.bytes, 10),
                       .protocol = be16(in.bytes, 0),
                       .ifindex = be32(in.bytes, 4)};
    pkt.push(make_layer(Proto::Sll2, in, kSll2HeaderLen, info));
    return next_by_ethertype(in, kSll2HeaderLen, info.protocol);
}

Step decode_null(const Step& in, DecodedPacket& pkt) noexcept {
    if (in.bytes.size() < kNullHeaderLen) {
        return fail(pkt, Anomaly::LinkTruncated);
    }
    std::uint32_t family = le32(in.bytes, 0);
    if ((family & 0xffff0000U) != 0) {
        family = be32(in.bytes, 0);  // written by a big-endian host
    }
    pkt.push(make_layer(Proto::Null, in, kNullHeaderLen, NullInfo{family}));
    Step next{.via = Via::Direct,
              .bytes = in.bytes.subspan(kNullHeaderLen),
              .claimed = in.claimed - static_cast<std::uint32_t>(kNullHeaderLen)};
    switch (family) {
        case kAfInet:
            next.key = static_cast<std::uint32_t>(Proto::Ipv4);
            return next;
        case kAfInet6Linux:
        case kAfInet6NetBsd:
        case kAfInet6FreeBsd:
        case kAfInet6Darwin:
            next.key = static_cast<std::uint32_t>(Proto::Ipv6);
            return next;
        default:
            return fail(pkt, Anomaly::NullUnknownFamily);
    }
}

}  // namespace vxcheck::decode

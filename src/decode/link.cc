// Link layers: Ethernet II / 802.3 (IEEE 802.3), 802.1Q / 802.1ad tags, Linux cooked capture
// v1 and v2 (libpcap's LINKTYPE_LINUX_SLL / _SLL2) and BSD loopback (DLT_NULL).
//
//  Ethernet:  dst(6) src(6) ethertype(2)
//  VLAN tag:  TCI(2: PCP 3 | DEI 1 | VID 12) ethertype(2)      (follows a 0x8100/0x88a8/0x9100)
//  SLL v1:    pkttype(2) hatype(2) halen(2) addr(8) protocol(2)
//  SLL v2:    protocol(2) reserved(2) ifindex(4) hatype(2) pkttype(1) halen(1) addr(8)
//  NULL:      address family(4), in the capturing host's byte order
//  NFLOG:     family(1) version(1) resource id = group(2, big-endian), then TLVs: length(2)
//             type(2) in the capturing host's byte order, value, padded to 4 bytes; the IP
//             packet is the value of NFULA_PAYLOAD (libpcap pcap/nflog.h, Linux
//             nfnetlink_log.h; the interface indexes in their values are big-endian)

#include <algorithm>

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

constexpr std::size_t kNflogHeaderLen = 4;
constexpr std::size_t kNflogTlvHeaderLen = 4;
constexpr std::uint16_t kNflogTypeMask = 0x3fff;  // without NLA_F_NESTED, NLA_F_NET_BYTEORDER
constexpr std::uint16_t kNfulaPacketHdr = 1;
constexpr std::uint16_t kNfulaIfindexIndev = 4;
constexpr std::uint16_t kNfulaIfindexOutdev = 5;
constexpr std::uint16_t kNfulaPayload = 9;
constexpr std::uint16_t kNfulaPrefix = 10;
constexpr std::uint8_t kNflogAfInet = 2;
constexpr std::uint8_t kNflogAfInet6 = 10;

// Where an NFLOG message's TLVs put the packet, and what they say of it.
struct NflogTlvs {
    std::size_t payload_at = 0;  // 0: no payload TLV
    std::uint32_t payload_len = 0;
    bool malformed = false;
    Anomaly anomaly = Anomaly::NflogTlvTruncated;
};

// Whether a first TLV of length `len` fits the message.
bool first_tlv_fits(std::uint16_t len, std::uint32_t claimed) noexcept {
    return len >= kNflogTlvHeaderLen && kNflogHeaderLen + len <= claimed;
}

// Reads the TLVs after the header. Their lengths are in the capturing host's byte order: the
// first TLV's length is read big-endian only if it fits the message so and not little-endian.
NflogTlvs read_nflog_tlvs(Bytes b, std::uint32_t claimed, NflogInfo& info) noexcept {
    NflogTlvs out;
    bool big = false;
    if (b.size() >= kNflogHeaderLen + 2) {
        const auto little = static_cast<std::uint16_t>(b[4] | (b[5] << 8));
        big = !first_tlv_fits(little, claimed) && first_tlv_fits(be16(b, 4), claimed);
    }
    const auto rd16 = [&](std::size_t at) noexcept {
        return big ? be16(b, at) : static_cast<std::uint16_t>(b[at] | (b[at + 1] << 8));
    };
    std::size_t at = kNflogHeaderLen;
    while (at < b.size()) {
        if (at + kNflogTlvHeaderLen > b.size()) {
            out.malformed = claimed <= b.size();  // not cut by the snaplen: it lies
            return out;
        }
        const std::uint16_t len = rd16(at);
        const auto type = static_cast<std::uint16_t>(rd16(at + 2) & kNflogTypeMask);
        if (len < kNflogTlvHeaderLen) {
            out.malformed = true;
            out.anomaly = Anomaly::NflogTlvTooShort;
            return out;
        }
        if (at + len > claimed) {
            out.malformed = true;
            return out;
        }
        const std::size_t value = at + kNflogTlvHeaderLen;
        const std::size_t value_len = len - kNflogTlvHeaderLen;
        const std::size_t have = value <= b.size() ? std::min(value_len, b.size() - value) : 0;
        if (type == kNfulaPayload) {
            out.payload_at = value;
            out.payload_len = static_cast<std::uint32_t>(value_len);
        } else if (type == kNfulaPacketHdr && have >= 4) {
            info.has_hook = true;
            info.hw_protocol = be16(b, value);
            info.hook = b[value + 2];
        } else if (type == kNfulaIfindexIndev && have >= 4) {
            info.indev = be32(b, value);
        } else if (type == kNfulaIfindexOutdev && have >= 4) {
            info.outdev = be32(b, value);
        } else if (type == kNfulaPrefix) {
            const auto* p = reinterpret_cast<const char*>(b.data() + value);
            info.prefix = std::string_view(p, have);
            info.prefix = info.prefix.substr(0, info.prefix.find('\0'));
        }
        at += (std::size_t{len} + 3U) & ~std::size_t{3};
    }
    return out;
}

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

void decode_nflog(Step& s, DecodedPacket& pkt) noexcept {
    if (s.bytes.size() < kNflogHeaderLen) {
        return fail(s, pkt, Anomaly::NflogTruncated);
    }
    NflogInfo info;
    info.family = s.bytes[0];
    info.version = s.bytes[1];
    info.group = be16(s.bytes, 2);
    if (info.version != 0) {
        pkt.add<NflogInfo>(Proto::Nflog, kNflogHeaderLen, s.claimed, s.bytes) = info;
        return fail(s, pkt, Anomaly::NflogBadVersion);
    }
    const NflogTlvs tlvs = read_nflog_tlvs(s.bytes, s.claimed, info);
    const std::size_t header_len = tlvs.payload_at != 0 ? tlvs.payload_at : kNflogHeaderLen;
    pkt.add<NflogInfo>(Proto::Nflog, header_len, s.claimed, s.bytes) = info;
    if (tlvs.malformed) {
        return fail(s, pkt, tlvs.anomaly);
    }
    if (tlvs.payload_at == 0 || tlvs.payload_at > s.bytes.size()) {
        return fail(s, pkt,
                    tlvs.payload_at == 0 ? Anomaly::NflogNoPayload : Anomaly::NflogTlvTruncated);
    }
    const int version = tlvs.payload_len != 0 && tlvs.payload_at < s.bytes.size()
                            ? s.bytes[tlvs.payload_at] >> 4
                            : 0;
    Proto proto = Proto::None;
    if (info.family == kNflogAfInet || (info.family != kNflogAfInet6 && version == 4)) {
        proto = Proto::Ipv4;
    } else if (info.family == kNflogAfInet6 || version == 6) {
        proto = Proto::Ipv6;
    } else {
        return fail(s, pkt, Anomaly::NflogUnknownFamily);
    }
    next(s, Via::Direct, static_cast<std::uint32_t>(proto), tlvs.payload_at);
    // The packet ends with its TLV's value, whatever TLVs follow it.
    s.bytes = s.bytes.first(std::min<std::size_t>(s.bytes.size(), tlvs.payload_len));
    s.claimed = tlvs.payload_len;
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

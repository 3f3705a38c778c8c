// GRE (RFC 2784, key and sequence number from RFC 2890) and the ERSPAN headers it carries.
//
//   GRE:  C R K S s Recur(3) | A Flags(4) Ver(3) | Protocol Type(2)
//         [Checksum(2) Reserved1(2)]   if C
//         [Key(4)]                     if K
//         [Sequence Number(4)]         if S
//         [Acknowledgment Number(4)]   if A (version 1 only)
//
// Version 0 is decoded as RFC 2784/2890 say; R (RFC 1701 source routing) is not decoded: its
// routing entries are a variable list that nothing sends any more, so a set R is an anomaly and
// decoding stops. Version 1 is PPTP's enhanced GRE (RFC 2637 4.1): K set, C and R clear,
// protocol PPP (0x880B), key = payload length(2) call ID(2). Its PPP payload is followed into
// IPv4 (PPP protocol 0x0021) and IPv6 (0x0057), as Wireshark does; any other PPP protocol (MPPE
// compressed or encrypted data, control protocols) ends decoding without an anomaly. Any other
// GRE version, or a version 1 header that breaks those rules, is gre.bad_version.
//
// The protocol type is an EtherType; decode.cc maps it (Via::GreProtocol), with ERSPAN added:
//   type I   0x88BE without S: the mirrored Ethernet frame follows the GRE header directly
//   type II  0x88BE with S:    Ver(4)=1 VLAN(12) | COS(3) En(2) T(1) Session ID(10)
//                              Reserved(12) Index(20)
//   type III 0x22EB:           Ver(4)=2 VLAN(12) | COS(3) BSO(2) T(1) Session ID(10)
//                              Timestamp(32) | SGT(16) P(1) FT(5) HW ID(6) D(1) Gra(2) O(1)
//                              [platform specific subheader(8)] if O
// (draft-foschiano-erspan-03). An ERSPAN III frame type other than Ethernet (FT 0) is an
// anomaly and ends decoding.
//
// Cisco MetaData (protocol 0x8909, Cisco IOS GRE with "cts sgt inline") sits between the GRE
// header and the payload and is decoded as part of the GRE layer, as Wireshark does:
//   Protocol Type(2) Version(1)=1 Length(1)=1 Option(2) SGT(2)
// its protocol type names the payload. With any other version or length it is an unknown
// protocol (gre.unknown_protocol).

#include "decoders.h"

namespace vxcheck::decode {
namespace {

constexpr std::size_t kGreBaseLen = 4;
constexpr std::uint8_t kGreFlagChecksum = 0x80;
constexpr std::uint8_t kGreFlagRouting = 0x40;
constexpr std::uint8_t kGreFlagKey = 0x20;
constexpr std::uint8_t kGreFlagSequence = 0x10;
constexpr std::uint8_t kGreFlagAck = 0x80;  // second byte, version 1
constexpr std::uint8_t kGreVersionMask = 0x07;

constexpr std::uint16_t kPppIpv4 = 0x0021;  // PPP protocol numbers (RFC 1332, RFC 5072)
constexpr std::uint16_t kPppIpv6 = 0x0057;
constexpr std::uint16_t kEthertypeCiscoMetadata = 0x8909;
constexpr std::size_t kCiscoMetadataLen = 8;

constexpr std::size_t kErspan2Len = 8;
constexpr std::size_t kErspan3Len = 12;
constexpr std::size_t kErspan3SubheaderLen = 8;
constexpr std::uint8_t kErspanVersion2 = 1;  // the Ver field of type II
constexpr std::uint8_t kErspanVersion3 = 2;  // the Ver field of type III

// RFC 2637 4.1: what a version 1 header must look like.
bool valid_enhanced_gre(std::uint8_t flags, std::uint16_t protocol) noexcept {
    return (flags & (kGreFlagChecksum | kGreFlagRouting)) == 0 && (flags & kGreFlagKey) != 0 &&
           protocol == wire::kEthertypePpp;
}

// The header length the flags announce (version 0 or a valid version 1).
std::size_t gre_header_len(std::uint8_t flags, std::uint8_t flags2, std::uint8_t version) noexcept {
    std::size_t len = kGreBaseLen;
    len += (flags & kGreFlagChecksum) != 0 ? 4 : 0;
    len += (flags & kGreFlagKey) != 0 ? 4 : 0;
    len += (flags & kGreFlagSequence) != 0 ? 4 : 0;
    len += version == 1 && (flags2 & kGreFlagAck) != 0 ? 4 : 0;
    return len;
}

// Cisco MetaData as Cisco IOS sends it in GRE: version 1, length 1 (one SGT option).
bool cisco_metadata_valid(Bytes md) noexcept {
    return md.size() >= kCiscoMetadataLen && md[2] == 1 && md[3] == 1;
}

// PPP in enhanced GRE (RFC 1661): address and control FF 03 unless compressed away (ACFC), then
// the protocol, in one byte when that byte is odd (PFC, RFC 1661 6.5), else two. The protocol
// after the PPP header (IPv4 or IPv6, Proto::None for any other), its length in `len`.
Proto ppp_payload(Bytes p, std::size_t& len) noexcept {
    std::size_t off = p.size() >= 2 && p[0] == 0xff && p[1] == 0x03 ? 2 : 0;
    if (off >= p.size()) {
        return Proto::None;
    }
    std::uint16_t protocol = p[off];
    if ((protocol & 1U) != 0) {
        off += 1;
    } else if (off + 2 <= p.size()) {
        protocol = be16(p, off);
        off += 2;
    } else {
        return Proto::None;
    }
    len = off;
    return protocol == kPppIpv4 ? Proto::Ipv4 : protocol == kPppIpv6 ? Proto::Ipv6 : Proto::None;
}

// Reads the optional fields, in their order, into `info`. Precondition: b holds the header.
void read_gre_fields(Bytes b, GreInfo& info) noexcept {
    std::size_t off = kGreBaseLen;
    if (info.has_checksum) {
        info.checksum = be16(b, off);
        off += 4;
    }
    if (info.has_key) {
        info.key = be32(b, off);
        off += 4;
    }
    if (info.has_sequence) {
        info.sequence = be32(b, off);
        off += 4;
    }
    if (info.has_ack) {
        info.ack = be32(b, off);
    }
}

}  // namespace

void decode_gre(Step& s, DecodedPacket& pkt) noexcept {
    const Bytes b = s.bytes;
    if (b.size() < kGreBaseLen) {
        return fail(s, pkt, Anomaly::GreTruncated);
    }
    const std::uint8_t flags = b[0];
    const std::uint8_t version = b[1] & kGreVersionMask;
    const std::uint16_t protocol = be16(b, 2);
    if (version > 1 || (version == 1 && !valid_enhanced_gre(flags, protocol))) {
        return fail(s, pkt, Anomaly::GreBadVersion);
    }
    if ((flags & kGreFlagRouting) != 0) {
        return fail(s, pkt, Anomaly::GreRoutingPresent);
    }
    const std::size_t base_len = gre_header_len(flags, b[1], version);
    if (base_len > b.size()) {
        return fail(s, pkt, Anomaly::GreTruncated);
    }
    const bool metadata =
        protocol == kEthertypeCiscoMetadata && cisco_metadata_valid(b.subspan(base_len));
    const std::size_t header_len = base_len + (metadata ? kCiscoMetadataLen : 0);
    auto& info = pkt.add<GreInfo>(Proto::Gre, header_len, s.claimed, b);
    info.version = version;
    info.protocol = protocol;
    info.has_checksum = (flags & kGreFlagChecksum) != 0;
    info.has_key = (flags & kGreFlagKey) != 0;
    info.has_sequence = (flags & kGreFlagSequence) != 0;
    info.has_ack = version == 1 && (b[1] & kGreFlagAck) != 0;
    info.metadata = metadata;
    read_gre_fields(b, info);
    if (header_len == b.size()) {
        return end(s);  // nothing follows a keepalive
    }
    if (version == 1) {
        std::size_t ppp_len = 0;
        const Proto inner = ppp_payload(b.subspan(header_len), ppp_len);
        if (inner == Proto::None) {
            return end(s);
        }
        pkt.enter_tunnel();
        return next(s, Via::Direct, static_cast<std::uint32_t>(inner), header_len + ppp_len);
    }
    std::uint16_t key = protocol;
    if (metadata) {
        key = be16(b, base_len);
        info.sgt = be16(b, base_len + 6);
    }
    if (protocol == wire::kEthertypeErspan2 && !info.has_sequence) {
        key = wire::kEthertypeTransparentBridging;  // ERSPAN type I: no ERSPAN header
    }
    // The tunnel's inner frame starts after the ERSPAN header, when there is one (as it starts
    // after the VXLAN header): that header is at the GRE layer's depth.
    if (key != wire::kEthertypeErspan2 && key != wire::kEthertypeErspan3) {
        pkt.enter_tunnel();
    }
    next(s, Via::GreProtocol, key, header_len);
}

void decode_erspan(Step& s, DecodedPacket& pkt) noexcept {
    const Bytes b = s.bytes;
    if (b.size() < kErspan2Len) {
        return fail(s, pkt, Anomaly::ErspanTruncated);
    }
    const std::uint8_t version = b[0] >> 4;
    if (version != kErspanVersion2 && version != kErspanVersion3) {
        return fail(s, pkt, Anomaly::ErspanBadVersion);
    }
    std::size_t header_len = kErspan2Len;
    if (version == kErspanVersion3) {
        if (b.size() < kErspan3Len) {
            return fail(s, pkt, Anomaly::ErspanTruncated);
        }
        header_len = kErspan3Len + ((b[11] & 0x01U) != 0 ? kErspan3SubheaderLen : 0);
        if (header_len > b.size()) {
            return fail(s, pkt, Anomaly::ErspanTruncated);
        }
    }
    auto& info = pkt.add<ErspanInfo>(Proto::Erspan, header_len, s.claimed, b);
    info.version = version;
    info.vlan = be16(b, 0) & 0x0fffU;
    info.truncated = (b[2] & 0x04U) != 0;
    info.session_id = be16(b, 2) & 0x03ffU;
    if (version == kErspanVersion3) {
        info.frame_type = static_cast<std::uint8_t>((b[10] >> 2) & 0x1fU);
        if (info.frame_type != 0) {
            return fail(s, pkt, Anomaly::ErspanUnknownFrameType);
        }
    }
    pkt.enter_tunnel();
    next(s, Via::Direct, static_cast<std::uint32_t>(Proto::Ethernet), header_len);
}

}  // namespace vxcheck::decode

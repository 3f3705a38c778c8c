// Transport layers.
//
//  TCP (RFC 9293):  sport(2) dport(2) seq(4) ack(4) doff(4)|rsv(4) flags(8) window(2)
//                   checksum(2) urgent(2) options((doff-5)*4)
//  UDP (RFC 768):   sport(2) dport(2) length(2) checksum(2)
//  ICMP / ICMPv6:   type(1) code(1) checksum(2) ...
//
// The TCP segment length is what the IP header leaves (TCP has no length field); UDP carries its
// own, which must fit inside the IP payload.

#include "decoders.h"

namespace vxcheck::decode {
namespace {
constexpr std::size_t kTcpMinHeaderLen = 20;
constexpr std::size_t kUdpHeaderLen = 8;
constexpr std::size_t kIcmpHeaderLen = 4;

bool in_first_fragment(const Layer& ip) noexcept {
    if (const auto* v4 = ip.as<Ipv4Info>()) {
        return v4->more_fragments;
    }
    const auto* v6 = ip.as<Ipv6Info>();
    return v6 != nullptr && v6->fragment && v6->more_fragments;
}
bool ip_length_from_capture(const Layer& ip) noexcept {
    if (const auto* v4 = ip.as<Ipv4Info>()) {
        return v4->length_from_capture;
    }
    const auto* v6 = ip.as<Ipv6Info>();
    return v6 != nullptr && v6->length_from_capture;
}
}  // namespace

Step decode_tcp(const Step& in, DecodedPacket& pkt) noexcept {
    const Bytes b = in.bytes;
    if (b.size() < kTcpMinHeaderLen) {
        return fail(pkt, Anomaly::TcpHeaderTruncated);
    }
    const std::size_t header_len = std::size_t{b[12]} / 16 * 4;
    if (header_len < kTcpMinHeaderLen) {
        return fail(pkt, Anomaly::TcpDataOffsetTooSmall);
    }
    if (header_len > in.claimed) {
        return fail(pkt, Anomaly::TcpDataOffsetExceedsSegment);
    }
    if (header_len > b.size()) {
        return fail(pkt, Anomaly::TcpHeaderTruncated);
    }
    pkt.push(Layer{.proto = Proto::Tcp,
                   .header_len = static_cast<std::uint16_t>(header_len),
                   .claimed_len = in.claimed,
                   .bytes = b,
                   .info = TcpInfo{.sport = be16(b, 0),
                                   .dport = be16(b, 2),
                                   .seq = be32(b, 4),
                                   .ack = be32(b, 8),
                                   .flags = b[13],
                                   .window = be16(b, 14),
                                   .checksum = be16(b, 16)}});
    return kEnd;
}

Step decode_udp(const Step& in, DecodedPacket& pkt) noexcept {
    const Bytes b = in.bytes;
    if (b.size() < kUdpHeaderLen) {
        return fail(pkt, Anomaly::UdpHeaderTruncated);
    }
    const UdpInfo info{
        .sport = be16(b, 0), .dport = be16(b, 2), .length = be16(b, 4), .checksum = be16(b, 6)};
    std::uint32_t claimed = info.length;
    bool decode_payload = true;
    const int ip = pkt.enclosing_ip(pkt.layers().size());
    if (ip >= 0 && in_first_fragment(pkt.layers()[static_cast<std::size_t>(ip)])) {
        // The datagram continues in later fragments: its length is not this packet's to match.
        pkt.push(Layer{.proto = Proto::Udp,
                       .header_len = kUdpHeaderLen,
                       .claimed_len = in.claimed,
                       .bytes = b,
                       .info = info});
        return kEnd;
    }
    const bool super_packet =
        ip >= 0 && ip_length_from_capture(pkt.layers()[static_cast<std::size_t>(ip)]);
    if (info.length == 0 && super_packet) {
        claimed = in.claimed;  // a UDP tunnel super-packet (BIG TCP): 16 bits cannot hold it
    } else if (info.length < kUdpHeaderLen) {
        pkt.note(Anomaly::UdpLengthTooSmall);
        claimed = in.claimed;
        decode_payload = false;
    } else if (info.length > in.claimed) {
        pkt.note(Anomaly::UdpLengthExceedsIp);
        claimed = in.claimed;
        decode_payload = false;
    } else if (info.length < in.claimed) {
        pkt.note(Anomaly::UdpLengthShort);
    }
    const Bytes extent = clip(b, claimed);
    pkt.push(Layer{.proto = Proto::Udp,
                   .header_len = kUdpHeaderLen,
                   .claimed_len = claimed,
                   .bytes = extent,
                   .info = info});
    if (!decode_payload) {
        return kEnd;
    }
    return {.via = Via::UdpDstPort,
            .key = info.dport,
            .bytes = extent.subspan(kUdpHeaderLen),
            .claimed = claimed - static_cast<std::uint32_t>(kUdpHeaderLen)};
}

Step decode_icmp(const Step& in, DecodedPacket& pkt, Proto proto) noexcept {
    const Bytes b = in.bytes;
    if (b.size() < kIcmpHeaderLen) {
        return fail(pkt, Anomaly::IcmpTruncated);
    }
    pkt.push(Layer{.proto = proto,
                   .header_len = kIcmpHeaderLen,
                   .claimed_len = in.claimed,
                   .bytes = b,
                   .info = IcmpInfo{.type = b[0], .code = b[1], .checksum = be16(b, 2)}});
    return kEnd;
}

}  // namespace vxcheck::decode

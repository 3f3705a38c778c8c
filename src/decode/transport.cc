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

using wire::kIcmpHeaderLen;
using wire::kTcpMinHeaderLen;
using wire::kUdpHeaderLen;
constexpr std::size_t kTcpPortsLen = 4;  // the least of a header that is still a segment

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

// A header-only capture (tcpdump -s 96) cuts the TCP header of a tunnelled segment: what was
// captured of it is still a segment (ports, sequence numbers, flags when captured), kept as a
// layer with the anomaly noted. Only a cut by the snaplen qualifies: a segment the IP header
// says is shorter than a TCP header is malformed, not cut.
bool cut_by_snaplen(const Step& s, const DecodedPacket& pkt) noexcept {
    return s.bytes.size() < s.claimed && pkt.frame().snaplen_cut();
}

void decode_tcp(Step& s, DecodedPacket& pkt) noexcept {
    const Bytes b = s.bytes;
    if (b.size() < kTcpMinHeaderLen) {
        pkt.note(Anomaly::TcpHeaderTruncated);
        if (b.size() >= kTcpPortsLen && s.claimed >= kTcpMinHeaderLen && cut_by_snaplen(s, pkt)) {
            read_partial_tcp_header(b, pkt.add<TcpInfo>(Proto::Tcp, b.size(), s.claimed, b));
        }
        return end(s);
    }
    const std::size_t header_len = tcp_header_len(b);
    if (header_len < kTcpMinHeaderLen) {
        return fail(s, pkt, Anomaly::TcpDataOffsetTooSmall);
    }
    if (header_len > s.claimed) {
        return fail(s, pkt, Anomaly::TcpDataOffsetExceedsSegment);
    }
    if (header_len > b.size()) {
        // The options are cut: the fixed header, flags included, is all there. The layer's
        // header is what was captured of it (the data offset stays in the header's bytes).
        pkt.note(Anomaly::TcpHeaderTruncated);
        if (cut_by_snaplen(s, pkt)) {
            read_tcp_header(b, pkt.add<TcpInfo>(Proto::Tcp, b.size(), s.claimed, b));
        }
        return end(s);
    }
    read_tcp_header(b, pkt.add<TcpInfo>(Proto::Tcp, header_len, s.claimed, b));
    end(s);
}

void decode_udp(Step& s, DecodedPacket& pkt) noexcept {
    const Bytes b = s.bytes;
    const std::uint32_t in_claimed = s.claimed;
    if (b.size() < kUdpHeaderLen) {
        return fail(s, pkt, Anomaly::UdpHeaderTruncated);
    }
    UdpInfo info;
    read_udp_header(b, info);
    // Filled in place once the extent is known (see DecodedPacket::add).
    const auto add_udp = [&](std::uint32_t claimed_len, Bytes bytes) {
        read_udp_header(b, pkt.add<UdpInfo>(Proto::Udp, kUdpHeaderLen, claimed_len, bytes));
    };
    std::uint32_t claimed = info.length;
    bool decode_payload = true;
    const int ip = pkt.enclosing_ip(pkt.layers().size());
    if (ip >= 0 && in_first_fragment(pkt.layers()[static_cast<std::size_t>(ip)])) {
        // The datagram continues in later fragments: its length is not this packet's to match.
        add_udp(in_claimed, b);
        return end(s);
    }
    const bool super_packet =
        ip >= 0 && ip_length_from_capture(pkt.layers()[static_cast<std::size_t>(ip)]);
    if (info.length == 0 && super_packet) {
        claimed = in_claimed;  // a UDP tunnel super-packet (BIG TCP): 16 bits cannot hold it
    } else if (info.length < kUdpHeaderLen) {
        pkt.note(Anomaly::UdpLengthTooSmall);
        claimed = in_claimed;
        decode_payload = false;
    } else if (info.length > in_claimed) {
        pkt.note(Anomaly::UdpLengthExceedsIp);
        claimed = in_claimed;
        decode_payload = false;
    } else if (info.length < in_claimed) {
        pkt.note(Anomaly::UdpLengthShort);
    }
    const Bytes extent = clip(b, claimed);
    add_udp(claimed, extent);
    if (!decode_payload) {
        return end(s);
    }
    s.bytes = extent;
    s.claimed = claimed;
    next(s, Via::UdpDstPort, info.dport, kUdpHeaderLen);
}

void decode_icmp(Step& s, DecodedPacket& pkt, Proto proto) noexcept {
    const Bytes b = s.bytes;
    if (b.size() < kIcmpHeaderLen) {
        return fail(s, pkt, Anomaly::IcmpTruncated);
    }
    auto& info = pkt.add<IcmpInfo>(proto, kIcmpHeaderLen, s.claimed, b);
    info.type = b[0];
    info.code = b[1];
    info.checksum = be16(b, 2);
    end(s);
}

}  // namespace vxcheck::decode

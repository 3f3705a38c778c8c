// The fast path (include/vxcheck/app/fast_path.h). Every condition below is one under which the
// general decoder notes no anomaly and takes the same branch, and the general verifier reaches
// "ok" (or "zero" for an outer UDP checksum of 0) by the same sums, added in the same order:
// the inner IPv4 header's and the TCP segment's sums are reused for the outer UDP checksum, as
// verify.cc's sum_reusing_inner() reuses them.

#include "vxcheck/app/fast_path.h"

#include <algorithm>

#include "vxcheck/verify/checksum.h"

namespace vxcheck::app {
namespace {

using decode::Proto;
using verify::Check;
using verify::Status;
using verify::Verdict;

constexpr std::size_t kEthernetLen = 14;
constexpr std::size_t kIpv4Len = 20;  // no options
constexpr std::size_t kUdpLen = 8;
constexpr std::size_t kVxlanLen = 8;
constexpr std::size_t kTcpMinLen = 20;
constexpr std::uint16_t kEthertypeIpv4 = 0x0800;
constexpr std::uint8_t kIpProtoTcp = 6;
constexpr std::uint8_t kIpProtoUdp = 17;
constexpr std::uint8_t kVxlanFlagI = 0x08;
constexpr std::uint16_t kFlagDf = 0x4000;
constexpr std::uint16_t kFragmentBits = 0x3fff;  // MF and the fragment offset

// An IPv4 header at the start of `b` with version 4 and no options, not a fragment, a total
// length that covers at least `min_payload` more bytes and ends within `b`, and a checksum that
// verifies. Its total length, or 0.
std::uint16_t plain_ipv4(Bytes b, std::uint8_t protocol, std::size_t min_payload) noexcept {
    if (b.size() < kIpv4Len || b[0] != 0x45 || b[9] != protocol ||
        (be16(b, 6) & kFragmentBits) != 0) {
        return 0;
    }
    const std::uint16_t total = be16(b, 2);
    if (total < kIpv4Len + min_payload || total > b.size() ||
        verify::sum_of_fixed<kIpv4Len>(b.data()) != 0xffff) {
        return 0;
    }
    return total;
}

// The TCP segment that fills `segment`: its header length if the data offset fits, else 0.
std::size_t tcp_header_len(Bytes segment) noexcept {
    if (segment.size() < kTcpMinLen) {
        return 0;
    }
    const std::size_t len = std::size_t{segment[12]} / 16 * 4;
    return len >= kTcpMinLen && len <= segment.size() ? len : 0;
}

// What the frame claims to be long, as decode() starts from.
std::uint32_t frame_claimed(const RawFrame& frame) noexcept {
    return std::max({frame.wirelen, frame.caplen, static_cast<std::uint32_t>(frame.data.size())});
}

void add_ethernet(decode::DecodedPacket& pkt, Bytes b, std::uint32_t claimed) noexcept {
    pkt.add<decode::EthernetInfo>(Proto::Ethernet, kEthernetLen, claimed, b).ethertype =
        kEthertypeIpv4;
}

// `packet`: the IPv4 header and its payload, exactly.
void add_ipv4(decode::DecodedPacket& pkt, Bytes packet) noexcept {
    auto& info = pkt.add<decode::Ipv4Info>(Proto::Ipv4, kIpv4Len,
                                           static_cast<std::uint32_t>(packet.size()), packet);
    info.src = be32(packet, 12);
    info.dst = be32(packet, 16);
    info.total_length = static_cast<std::uint16_t>(packet.size());
    info.id = be16(packet, 4);
    info.dont_fragment = (be16(packet, 6) & kFlagDf) != 0;
    info.ttl = packet[8];
    info.protocol = packet[9];
    info.checksum = be16(packet, 10);
}

void add_tcp(decode::DecodedPacket& pkt, Bytes segment, std::size_t header_len) noexcept {
    auto& info = pkt.add<decode::TcpInfo>(Proto::Tcp, header_len,
                                          static_cast<std::uint32_t>(segment.size()), segment);
    info.sport = be16(segment, 0);
    info.dport = be16(segment, 2);
    info.seq = be32(segment, 4);
    info.ack = be32(segment, 8);
    info.flags = segment[13];
    info.window = be16(segment, 14);
    info.checksum = be16(segment, 16);
}

Verdict verdict(std::size_t layer, std::uint8_t depth, Check check, Status status,
                std::uint16_t stored, std::uint16_t residual) noexcept {
    Verdict v{.layer = static_cast<std::uint8_t>(layer),
              .depth = depth,
              .check = check,
              .status = status,
              .stored = stored};
    verify::set_residual(v, residual);
    return v;
}

// sum_of() a TCP segment that fills the IPv4 packet `ip`, and the residual of its checksum.
struct TcpSums {
    std::uint16_t data = 0;
    std::uint16_t residual = 0;
};

TcpSums tcp_sums(Bytes ip, Bytes segment) noexcept {
    const std::uint16_t data = verify::sum_of(segment);
    const std::uint16_t pseudo = verify::ipv4_pseudo_sum(
        be32(ip, 12), be32(ip, 16), kIpProtoTcp, static_cast<std::uint32_t>(segment.size()));
    return {data, verify::ones_add(pseudo, data)};
}

// Ethernet / IPv4 / TCP, `ip` the IPv4 packet.
bool take_plain(const RawFrame& frame, Bytes ip, decode::DecodedPacket& pkt,
                verify::Verdicts& verdicts) noexcept {
    const Bytes segment = ip.subspan(kIpv4Len);
    const std::size_t tcp_len = tcp_header_len(segment);
    if (tcp_len == 0) {
        return false;
    }
    const TcpSums tcp = tcp_sums(ip, segment);
    if (tcp.residual != 0xffff) {
        return false;
    }
    pkt.reset(frame);
    add_ethernet(pkt, frame.data, frame_claimed(frame));
    add_ipv4(pkt, ip);
    add_tcp(pkt, segment, tcp_len);
    const std::span<Verdict> v = verdicts.reset(2);
    v[0] = verdict(1, 0, Check::Ipv4Header, Status::Ok, be16(ip, 10), 0xffff);
    v[1] = verdict(2, 0, Check::Tcp, Status::Ok, be16(segment, 16), tcp.residual);
    return true;
}

// Ethernet / IPv4 / UDP / VXLAN / Ethernet / IPv4 / TCP, `ip` the outer IPv4 packet.
bool take_tunnelled(const RawFrame& frame, Bytes ip, const decode::DecodeOptions& options,
                    decode::DecodedPacket& pkt, verify::Verdicts& verdicts) noexcept {
    constexpr std::size_t kInnerOffset = kUdpLen + kVxlanLen + kEthernetLen;  // in the datagram
    const Bytes udp = ip.subspan(kIpv4Len);
    // plain_ipv4() left room for the UDP header and VXLAN header; the lengths must agree
    // exactly (a shorter UDP length is an anomaly), the port must be a VXLAN one, the VXLAN
    // header have only the I flag and zero reserved bytes, and the inner frame be IPv4.
    const std::uint16_t dport = be16(udp, 2);
    if (be16(udp, 4) != udp.size() || udp.size() < kInnerOffset + kIpv4Len ||
        options.max_tunnel_depth < 1 ||
        std::find(options.vxlan_ports.begin(), options.vxlan_ports.end(), dport) ==
            options.vxlan_ports.end()) {
        return false;
    }
    const Bytes vxlan = udp.subspan(kUdpLen);
    if (vxlan[0] != kVxlanFlagI || vxlan[1] != 0 || vxlan[2] != 0 || vxlan[3] != 0 ||
        vxlan[7] != 0 || be16(vxlan, kVxlanLen + 12) != kEthertypeIpv4) {
        return false;
    }
    const Bytes inner_frame = vxlan.subspan(kVxlanLen);
    const Bytes inner_ip = udp.subspan(kInnerOffset);
    // The inner packet fills the inner frame exactly (padding would be summed as a gap).
    if (plain_ipv4(inner_ip, kIpProtoTcp, kTcpMinLen) != inner_ip.size()) {
        return false;
    }
    const Bytes segment = inner_ip.subspan(kIpv4Len);
    const std::size_t tcp_len = tcp_header_len(segment);
    if (tcp_len == 0) {
        return false;
    }
    const TcpSums tcp = tcp_sums(inner_ip, segment);
    if (tcp.residual != 0xffff) {
        return false;
    }
    // The outer UDP checksum covers the inner headers and segment again: their sums are reused,
    // added in frame order after the UDP, VXLAN and inner Ethernet headers (an even length, so
    // no byte lane moves).
    const std::uint16_t udp_stored = be16(udp, 6);
    verify::InternetChecksum data;
    data.add_sum(verify::sum_of_fixed<kInnerOffset>(udp.data()), kInnerOffset);
    data.add_sum(0xffff, kIpv4Len);  // the inner header's sum: it verified
    data.add_sum(tcp.data, segment.size());
    const std::uint16_t udp_residual =
        verify::ones_add(verify::ipv4_pseudo_sum(be32(ip, 12), be32(ip, 16), kIpProtoUdp,
                                                 static_cast<std::uint32_t>(udp.size())),
                         data.sum());
    if (udp_stored != 0 && udp_residual != 0xffff) {
        return false;
    }

    pkt.reset(frame);
    add_ethernet(pkt, frame.data, frame_claimed(frame));
    add_ipv4(pkt, ip);
    auto& u =
        pkt.add<decode::UdpInfo>(Proto::Udp, kUdpLen, static_cast<std::uint32_t>(udp.size()), udp);
    u.sport = be16(udp, 0);
    u.dport = dport;
    u.length = static_cast<std::uint16_t>(udp.size());
    u.checksum = udp_stored;
    auto& x = pkt.add<decode::VxlanInfo>(Proto::Vxlan, kVxlanLen,
                                         static_cast<std::uint32_t>(vxlan.size()), vxlan);
    x.flags = kVxlanFlagI;
    x.vni = be24(vxlan, 4);
    pkt.enter_tunnel();
    add_ethernet(pkt, inner_frame, static_cast<std::uint32_t>(inner_frame.size()));
    add_ipv4(pkt, inner_ip);
    add_tcp(pkt, segment, tcp_len);
    const std::span<Verdict> v = verdicts.reset(4);
    v[0] = verdict(1, 0, Check::Ipv4Header, Status::Ok, be16(ip, 10), 0xffff);
    v[1] = verdict(2, 0, Check::Udp, udp_stored == 0 ? Status::Zero : Status::Ok, udp_stored,
                   udp_residual);
    v[2] = verdict(5, 1, Check::Ipv4Header, Status::Ok, be16(inner_ip, 10), 0xffff);
    v[3] = verdict(6, 1, Check::Tcp, Status::Ok, be16(segment, 16), tcp.residual);
    return true;
}

}  // namespace

CommonFrame take_common_frame(const RawFrame& frame, const decode::DecodeOptions& options,
                              decode::DecodedPacket& pkt, verify::Verdicts& verdicts) noexcept {
    const Bytes data = frame.data;
    if (frame.link != LinkType::Ethernet || data.size() < kEthernetLen + kIpv4Len ||
        be16(data, 12) != kEthertypeIpv4) {
        return CommonFrame::None;
    }
    const Bytes after_ethernet = data.subspan(kEthernetLen);
    const std::uint8_t protocol = after_ethernet[9];
    if (protocol == kIpProtoTcp) {
        const std::uint16_t total = plain_ipv4(after_ethernet, kIpProtoTcp, kTcpMinLen);
        return total != 0 && take_plain(frame, after_ethernet.first(total), pkt, verdicts)
                   ? CommonFrame::PlainTcp
                   : CommonFrame::None;
    }
    if (protocol == kIpProtoUdp) {
        const std::uint16_t total =
            plain_ipv4(after_ethernet, kIpProtoUdp, kUdpLen + kVxlanLen + kEthernetLen);
        return total != 0 &&
                       take_tunnelled(frame, after_ethernet.first(total), options, pkt, verdicts)
                   ? CommonFrame::TcpInVxlan
                   : CommonFrame::None;
    }
    return CommonFrame::None;
}

}  // namespace vxcheck::app

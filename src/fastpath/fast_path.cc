// The fast path (include/vxcheck/fastpath/fast_path.h). Every header condition below is a rule
// of decode/header_rules.h under which the general decoder notes no anomaly and takes the same
// branch; every checksum verdict is the status ladder's (verify/status_ladder.h) over the same
// sums, added in the same order: the inner IPv4 header's and the TCP segment's sums are reused
// for the outer UDP checksum, as verify.cc's sum_reusing_inner() reuses them. The digest is
// filled with analyze's own setters (Segment::set_ipv4_endpoints, ...), from the bytes instead
// of from layers.

#include "vxcheck/fastpath/fast_path.h"

#include <algorithm>
#include <optional>
#include <type_traits>

#include "vxcheck/decode/header_rules.h"
#include "vxcheck/verify/checksum.h"
#include "vxcheck/verify/status_ladder.h"
#include "vxcheck/wire.h"

namespace vxcheck::fastpath {
namespace {

using decode::Proto;
using verify::Check;
using verify::L4Status;
using verify::L4Sums;
using verify::Status;
using verify::Verdict;
using wire::kEthernetHeaderLen;
using wire::kEthertypeIpv4;
using wire::kEthertypeOffset;
using wire::kIpProtoTcp;
using wire::kIpProtoUdp;
using wire::kIpv4ChecksumOffset;
using wire::kIpv4MinHeaderLen;
using wire::kIpv4ProtocolOffset;
using wire::kTcpChecksumOffset;
using wire::kTcpMinHeaderLen;
using wire::kUdpChecksumOffset;
using wire::kUdpHeaderLen;
using wire::kUdpLengthOffset;
using wire::kVxlanHeaderLen;

// Where the inner IPv4 packet starts in a VXLAN datagram.
constexpr std::size_t kInnerIpInDatagram = kUdpHeaderLen + kVxlanHeaderLen + kEthernetHeaderLen;

// An IPv4 header at the start of `b` that is plain (header_rules.h) with at least
// `min_payload` bytes after it, carries `protocol`, and whose checksum verifies. Its total
// length, or 0.
std::uint16_t plain_ipv4(Bytes b, std::uint8_t protocol, std::size_t min_payload) noexcept {
    if (b.size() < kIpv4MinHeaderLen || b[kIpv4ProtocolOffset] != protocol ||
        !decode::ipv4_header_plain(b, min_payload) ||
        verify::sum_of_fixed<kIpv4MinHeaderLen>(b.data()) != 0xffff) {
        return 0;
    }
    return be16(b, 2);
}

// The TCP segment that fills `segment`: its header length if the data offset fits, else 0.
std::size_t tcp_header_len(Bytes segment) noexcept {
    if (segment.size() < kTcpMinHeaderLen) {
        return 0;
    }
    const std::size_t len = decode::tcp_header_len(segment);
    return len >= kTcpMinHeaderLen && len <= segment.size() ? len : 0;
}

// Where the headers of a frame of either shape are, once its headers (not yet its TCP and UDP
// checksums) passed every check: the outer IPv4 packet and, for TCP in VXLAN, the inner one
// inside it. Plain scalars without initializers, written whole by parse() when the frame has
// one of the two shapes: it is declared for every frame, and zeroing spans for every frame
// would cost stores that the frames the fast path declines never read.
struct Headers {
    const std::uint8_t* ip_start;  // the outer IPv4 header
    std::uint16_t ip_len;          // the outer IPv4 total length, within the frame
    std::uint16_t inner_len;       // the total length of the IPv4 packet that carries the segment
    std::uint8_t inner_offset;     // where that packet starts, from ip_start (0: plain TCP)
    std::uint8_t tcp_len;          // the TCP header's length

    [[nodiscard]] Bytes ip() const noexcept { return {ip_start, ip_len}; }  // exactly
    [[nodiscard]] Bytes udp() const noexcept { return ip().subspan(kIpv4MinHeaderLen); }
    [[nodiscard]] Bytes vxlan() const noexcept { return udp().subspan(kUdpHeaderLen); }
    [[nodiscard]] Bytes inner_frame() const noexcept { return vxlan().subspan(kVxlanHeaderLen); }
    [[nodiscard]] Bytes inner_ip() const noexcept { return {ip_start + inner_offset, inner_len}; }
    [[nodiscard]] Bytes segment() const noexcept { return inner_ip().subspan(kIpv4MinHeaderLen); }
};
static_assert(std::is_trivially_default_constructible_v<Headers>);

// Ethernet / IPv4 / TCP.
bool parse_plain(Bytes after_ethernet, Headers& h) noexcept {
    const std::uint16_t total = plain_ipv4(after_ethernet, kIpProtoTcp, kTcpMinHeaderLen);
    if (total == 0) {
        return false;
    }
    const std::size_t tcp_len =
        tcp_header_len(after_ethernet.subspan(kIpv4MinHeaderLen, total - kIpv4MinHeaderLen));
    h = Headers{.ip_start = after_ethernet.data(),
                .ip_len = total,
                .inner_len = total,
                .inner_offset = 0,
                .tcp_len = static_cast<std::uint8_t>(tcp_len)};
    return tcp_len != 0;
}

// Ethernet / IPv4 / UDP / VXLAN / Ethernet / IPv4 / TCP. The lengths must agree exactly (a
// shorter UDP length is an anomaly, padding in the inner frame would be a gap to sum), the port
// be a VXLAN one, the VXLAN header be plain and the inner frame be IPv4.
bool parse_vxlan(Bytes after_ethernet, const decode::DecodeOptions& options, Headers& h) noexcept {
    const std::uint16_t total = plain_ipv4(after_ethernet, kIpProtoUdp, kInnerIpInDatagram);
    if (total == 0) {
        return false;
    }
    const Bytes udp = after_ethernet.subspan(kIpv4MinHeaderLen, total - kIpv4MinHeaderLen);
    const std::uint16_t dport = be16(udp, 2);
    if (be16(udp, kUdpLengthOffset) != udp.size() ||
        udp.size() < kInnerIpInDatagram + kIpv4MinHeaderLen || options.max_tunnel_depth < 1 ||
        !options.is_vxlan_port(dport)) {
        return false;
    }
    const Bytes x = udp.subspan(kUdpHeaderLen);
    if (!decode::vxlan_header_plain(x) ||
        be16(x, kVxlanHeaderLen + kEthertypeOffset) != kEthertypeIpv4) {
        return false;
    }
    const Bytes inner_ip = udp.subspan(kInnerIpInDatagram);
    if (plain_ipv4(inner_ip, kIpProtoTcp, kTcpMinHeaderLen) != inner_ip.size()) {
        return false;
    }
    const std::size_t tcp_len = tcp_header_len(inner_ip.subspan(kIpv4MinHeaderLen));
    h = Headers{.ip_start = after_ethernet.data(),
                .ip_len = total,
                .inner_len = static_cast<std::uint16_t>(inner_ip.size()),
                .inner_offset = kIpv4MinHeaderLen + kInnerIpInDatagram,
                .tcp_len = static_cast<std::uint8_t>(tcp_len)};
    return tcp_len != 0;
}

Shape parse(const RawFrame& frame, const decode::DecodeOptions& options, Headers& h) noexcept {
    const Bytes data = frame.data;
    if (frame.link != LinkType::Ethernet || data.size() < kEthernetHeaderLen + kIpv4MinHeaderLen ||
        be16(data, kEthertypeOffset) != kEthertypeIpv4) {
        return Shape::None;
    }
    const Bytes after_ethernet = data.subspan(kEthernetHeaderLen);
    switch (after_ethernet[kIpv4ProtocolOffset]) {
        case kIpProtoTcp:
            return parse_plain(after_ethernet, h) ? Shape::PlainTcp : Shape::None;
        case kIpProtoUdp:
            return parse_vxlan(after_ethernet, options, h) ? Shape::TcpInVxlan : Shape::None;
        default:
            return Shape::None;
    }
}

// The verdicts the fast path writes: none bad. (Unverified cannot come up: every covered byte
// is captured, nothing is a fragment or a super-packet.)
bool takes(const L4Status& s) noexcept {
    return s.status != Status::Bad && s.status != Status::Unverified;
}

Verdict ipv4_verdict(std::uint8_t layer, std::uint8_t depth, Bytes ip) noexcept {
    Verdict v{.layer = layer,
              .depth = depth,
              .check = Check::Ipv4Header,
              .status = Status::Ok,
              .stored = be16(ip, kIpv4ChecksumOffset)};
    verify::set_residual(v, 0xffff);  // plain_ipv4() checked that it verifies
    return v;
}

Verdict l4_verdict(std::uint8_t layer, std::uint8_t depth, Check check, std::uint16_t stored,
                   const L4Status& s) noexcept {
    Verdict v{.layer = layer,
              .depth = depth,
              .check = check,
              .status = s.status,
              .reason = s.reason,
              .stored = stored};
    verify::set_residual(v, s.residual);
    return v;
}

// The TCP checksum's sums (all of the segment captured) and its rung of the ladder.
struct TcpChecksum {
    std::uint16_t data;  // sum_of() the segment
    std::uint16_t stored;
    L4Status status;
};

TcpChecksum check_tcp(const Headers& h) noexcept {
    const Bytes seg = h.segment();
    TcpChecksum c{
        .data = verify::sum_of(seg), .stored = be16(seg, kTcpChecksumOffset), .status = {}};
    L4Sums s{.captured = true,
             .stored = c.stored,
             .pseudo = verify::ipv4_pseudo_sum(be32(h.inner_ip(), 12), be32(h.inner_ip(), 16),
                                               kIpProtoTcp, static_cast<std::uint32_t>(seg.size())),
             .length = static_cast<std::uint32_t>(seg.size())};
    s.residual = verify::ones_add(s.pseudo, c.data);
    c.status = verify::classify_l4(s);
    return c;
}

// The outer UDP checksum of TCP in VXLAN. It covers the inner headers and segment again: their
// sums are reused, added in frame order after the UDP, VXLAN and inner Ethernet headers (an
// even length, so no byte lane moves).
L4Status check_outer_udp(const Headers& h, const TcpChecksum& tcp) noexcept {
    const Bytes udp = h.udp();
    verify::InternetChecksum data;
    data.add_sum(verify::sum_of_fixed<kInnerIpInDatagram>(udp.data()), kInnerIpInDatagram);
    data.add_sum(0xffff, kIpv4MinHeaderLen);  // the inner header's sum: it verified
    data.add_sum(tcp.data, h.segment().size());
    L4Sums s{.udp = true,
             .captured = true,
             .stored = be16(udp, kUdpChecksumOffset),
             .pseudo = verify::ipv4_pseudo_sum(be32(h.ip(), 12), be32(h.ip(), 16), kIpProtoUdp,
                                               static_cast<std::uint32_t>(udp.size())),
             .length = static_cast<std::uint32_t>(udp.size())};
    s.residual = verify::ones_add(s.pseudo, data.sum());
    // The one partial checksum the datagram can cover is the TCP one, whose field is at an
    // even offset in the datagram.
    static_assert((kInnerIpInDatagram + kIpv4MinHeaderLen + kTcpChecksumOffset) % 2 == 0);
    return verify::classify_l4(s, [&tcp]() noexcept {
        return tcp.status.status == Status::Partial
                   ? std::optional<std::uint16_t>{verify::partial_substitution(
                         tcp.stored,
                         verify::expected_from_residual(tcp.status.residual, tcp.stored), false)}
                   : std::nullopt;
    });
}

// What analyze::digest() would take from the layers: the segment (its tunnel set by the caller).
void digest_segment(const Headers& h, std::uint8_t tcp_layer, analyze::PacketDigest& d) noexcept {
    d.has_segment = true;
    analyze::Segment& s = d.segment;
    decode::read_tcp_header(h.segment(), s.t);
    s.tcp_layer = tcp_layer;
    s.payload = static_cast<std::uint32_t>(h.segment().size() - h.tcp_len);
    s.ip_id = be16(h.inner_ip(), 4);
    if ((s.t.flags & decode::tcp_flag::kSyn) != 0) {
        s.set_syn_options(h.segment().subspan(kTcpMinHeaderLen, h.tcp_len - kTcpMinHeaderLen));
    }
    s.set_ipv4_endpoints(be32(h.inner_ip(), 12), be32(h.inner_ip(), 16));
}

// The checksums of a parsed frame: its verdicts and digest, if no checksum is bad. The digest
// comes first, so that the connection's lines are on their way (`prefetch`) while the segment
// is summed.
bool verify_and_digest(const RawFrame& frame, Shape shape, const Headers& h,
                       verify::Verdicts& verdicts, analyze::PacketDigest& d,
                       Prefetch prefetch) noexcept {
    d.begin(frame.ts);
    digest_segment(
        h, shape == Shape::PlainTcp ? plain_tcp::kTcpLayer : tcp_in_vxlan::kInnerTcpLayer, d);
    d.segment.payload_offset =
        static_cast<std::uint32_t>(h.segment().data() - frame.data.data()) + h.tcp_len;
    prefetch.start(d.segment.hash);
    const TcpChecksum tcp = check_tcp(h);
    if (!takes(tcp.status)) {
        return false;
    }
    if (shape == Shape::PlainTcp) {
        namespace p = plain_tcp;
        const std::span<Verdict> v = verdicts.reset(p::kVerdictCount);
        v[p::kIpv4Verdict] = ipv4_verdict(p::kIpv4Layer, 0, h.ip());
        v[p::kTcpVerdict] = l4_verdict(p::kTcpLayer, 0, Check::Tcp, tcp.stored, tcp.status);
        d.segment.no_tunnel();
        return true;
    }
    const L4Status udp = check_outer_udp(h, tcp);
    if (!takes(udp)) {
        return false;
    }
    namespace t = tcp_in_vxlan;
    const std::span<Verdict> v = verdicts.reset(t::kVerdictCount);
    v[t::kOuterIpv4Verdict] = ipv4_verdict(t::kOuterIpv4Layer, 0, h.ip());
    v[t::kOuterUdpVerdict] =
        l4_verdict(t::kOuterUdpLayer, 0, Check::Udp, be16(h.udp(), kUdpChecksumOffset), udp);
    v[t::kInnerIpv4Verdict] = ipv4_verdict(t::kInnerIpv4Layer, t::kInnerDepth, h.inner_ip());
    v[t::kInnerTcpVerdict] =
        l4_verdict(t::kInnerTcpLayer, t::kInnerDepth, Check::Tcp, tcp.stored, tcp.status);
    bool zero = false;
    if (analyze::shows_vtep_mode(v[t::kOuterUdpVerdict], zero)) {
        d.add_vtep((std::uint64_t{be32(h.ip(), 12)} << 32) | be32(h.ip(), 16), zero);
    }
    d.segment.set_ipv4_tunnel(be24(h.vxlan(), 4), be16(h.udp(), 0), be32(h.ip(), 12),
                              be32(h.ip(), 16), &v[t::kOuterUdpVerdict]);
    return true;
}

// What the frame claims to be long, as decode() starts from.
std::uint32_t frame_claimed(const RawFrame& frame) noexcept {
    return std::max({frame.wirelen, frame.caplen, static_cast<std::uint32_t>(frame.data.size())});
}

void add_ethernet(decode::DecodedPacket& pkt, Bytes b, std::uint32_t claimed) noexcept {
    pkt.add<decode::EthernetInfo>(Proto::Ethernet, kEthernetHeaderLen, claimed, b).ethertype =
        kEthertypeIpv4;
}

// `packet`: the IPv4 header and its payload, exactly.
void add_ipv4(decode::DecodedPacket& pkt, Bytes packet) noexcept {
    decode::read_ipv4_header(
        packet, pkt.add<decode::Ipv4Info>(Proto::Ipv4, kIpv4MinHeaderLen,
                                          static_cast<std::uint32_t>(packet.size()), packet));
}

}  // namespace

Shape take_frame(const RawFrame& frame, const decode::DecodeOptions& options,
                 decode::DecodedPacket& pkt, verify::Verdicts& verdicts,
                 analyze::PacketDigest& digest, Prefetch prefetch) noexcept {
    Headers h;
    const Shape shape = parse(frame, options, h);
    if (shape == Shape::None || !verify_and_digest(frame, shape, h, verdicts, digest, prefetch)) {
        return Shape::None;
    }
    pkt.reset(frame);
    return shape;
}

// The layers in the order of the positions in fast_path.h (the test checks each position).
void build_layers(const RawFrame& frame, Shape shape, const decode::DecodeOptions& options,
                  decode::DecodedPacket& pkt) noexcept {
    Headers h;
    pkt.reset(frame);
    if (shape == Shape::None || parse(frame, options, h) != shape) {
        return;  // not a frame take_frame() took
    }
    add_ethernet(pkt, frame.data, frame_claimed(frame));
    add_ipv4(pkt, h.ip());
    if (shape == Shape::TcpInVxlan) {
        decode::read_udp_header(
            h.udp(), pkt.add<decode::UdpInfo>(Proto::Udp, kUdpHeaderLen,
                                              static_cast<std::uint32_t>(h.udp().size()), h.udp()));
        auto& x = pkt.add<decode::VxlanInfo>(
            Proto::Vxlan, kVxlanHeaderLen, static_cast<std::uint32_t>(h.vxlan().size()), h.vxlan());
        x.flags = wire::kVxlanFlagI;
        x.vni = be24(h.vxlan(), 4);
        pkt.enter_tunnel();
        add_ethernet(pkt, h.inner_frame(), static_cast<std::uint32_t>(h.inner_frame().size()));
        add_ipv4(pkt, h.inner_ip());
    }
    decode::read_tcp_header(
        h.segment(),
        pkt.add<decode::TcpInfo>(Proto::Tcp, h.tcp_len,
                                 static_cast<std::uint32_t>(h.segment().size()), h.segment()));
}

}  // namespace vxcheck::fastpath

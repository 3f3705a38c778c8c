// digest(): the segment, tunnel and VTEP modes of a decoded, verified packet, for the
// connection analysis (see digest.h).

#include "vxcheck/analyze/digest.h"

#include <algorithm>

#include "vtep_modes.h"
#include "vxcheck/decode/header_rules.h"
#include "vxcheck/wire.h"

namespace vxcheck::analyze {
namespace {

using decode::Layer;
using decode::Proto;
using track::FlowKey;

// The innermost TCP layer and the IP layer that carries it (indices into pkt.layers()), or
// nothing: where digest() starts.
struct InnerTcp {
    std::size_t tcp = 0;
    std::size_t ip = 0;
    const decode::TcpInfo* info = nullptr;
};

std::optional<InnerTcp> inner_tcp(const decode::DecodedPacket& pkt) noexcept {
    const int t = pkt.innermost(Proto::Tcp);
    if (t < 0) {
        return std::nullopt;
    }
    const int ip = pkt.enclosing_ip(static_cast<std::size_t>(t));
    const auto* info = pkt.layers()[static_cast<std::size_t>(t)].as<decode::TcpInfo>();
    if (ip < 0 || info == nullptr) {
        return std::nullopt;
    }
    return InnerTcp{static_cast<std::size_t>(t), static_cast<std::size_t>(ip), info};
}

// Where a TCP layer's payload starts in the frame (the frame's size when it is not there).
std::uint32_t payload_offset(Bytes frame, const Layer& tcp) noexcept {
    const auto* begin = frame.data();
    const auto* at = tcp.bytes.data();
    if (at == nullptr || at < begin || at > begin + frame.size()) {
        return static_cast<std::uint32_t>(frame.size());
    }
    return static_cast<std::uint32_t>(at - begin) + tcp.header_len;
}

}  // namespace

bool shows_vtep_mode(const verify::Verdict& v, bool& zero) noexcept {
    // A 0 over IPv6 is a bad verdict (RFC 8200 8.1) but the same mode: a tunnel that sends no
    // outer checksums (RFC 6935; Linux udp6zerocsumtx).
    zero = v.status == verify::Status::Zero ||
           (v.status == verify::Status::Bad && v.reason == verify::Reason::ZeroOverIpv6);
    return zero || v.status == verify::Status::Ok || v.status == verify::Status::Partial;
}

// Written in place, field by field, and only what is read later: the digest is a few hundred
// bytes, and clearing it whole, or building endpoints and copying them into the key, cost as
// much as the rest (stores that later wider loads cannot be forwarded from).
void Segment::set_ipv4_endpoints(std::uint32_t sa, std::uint32_t da) noexcept {
    const std::uint16_t sp = t.sport;
    const std::uint16_t dp = t.dport;
    src.set_ipv4(sa, sp);
    dst.set_ipv4(da, dp);
    // FlowKey::of(src, dst), from the numbers: an IPv4 endpoint orders by address, then port.
    const bool src_first = sa < da || (sa == da && sp < dp);
    key.lo.set_ipv4(src_first ? sa : da, src_first ? sp : dp);
    key.hi.set_ipv4(src_first ? da : sa, src_first ? dp : sp);
    src_is_lo = src_first;
    hash = src_first ? track::FlowKeyHash::ipv4(sa, sp, da, dp)
                     : track::FlowKeyHash::ipv4(da, dp, sa, sp);
}

void Segment::set_tunnel(std::uint32_t tunnel_vni, std::uint16_t sport,
                         const verify::Verdict* outer) noexcept {
    tunnelled = true;
    vni = tunnel_vni;
    outer_sport = sport;
    outer_verdict_known = outer != nullptr;
    if (outer != nullptr) {
        outer_verdict = *outer;
    }
}

void Segment::set_ipv4_tunnel(std::uint32_t tunnel_vni, std::uint16_t sport, std::uint32_t osa,
                              std::uint32_t oda, const verify::Verdict* outer) noexcept {
    set_tunnel(tunnel_vni, sport, outer);
    outer_src.set_ipv4(osa, 0);
    outer_dst.set_ipv4(oda, 0);
}

void Segment::set_syn_options(Bytes options) noexcept {
    const decode::TcpOptions o = decode::parse_tcp_options(options);
    tsval = o.tsval;
    syn = SynOptions::of(o);
}

void Segment::no_tunnel() noexcept {
    tunnelled = false;
    outer_verdict_known = false;
    outer_sport = 0;
    vni = 0;
}

PacketDigest digest(const decode::DecodedPacket& pkt, const verify::Verdicts& verdicts) noexcept {
    PacketDigest d;
    digest(pkt, verdicts, d);
    return d;
}

void digest(const decode::DecodedPacket& pkt, const verify::Verdicts& verdicts,
            PacketDigest& d) noexcept {
    d.begin(pkt.frame().ts);
    for_each_vtep_sighting(pkt, verdicts, [&d](const Layer& ip, bool zero) {
        if (const auto* v4 = ip.as<decode::Ipv4Info>()) {
            d.add_vtep((std::uint64_t{v4->src} << 32) | v4->dst, zero);
        } else {
            d.vteps_complete = false;  // on_packet walks the layers itself
        }
    });
    const std::optional<InnerTcp> inner = inner_tcp(pkt);
    if (!inner) {
        d.icmp = static_cast<std::int8_t>(
            std::max(pkt.innermost(Proto::Icmpv4), pkt.innermost(Proto::Icmpv6)));
        return;
    }
    const auto layers = pkt.layers();
    d.has_segment = true;
    Segment& s = d.segment;
    const Layer& tcp = layers[inner->tcp];
    const Layer& ip = layers[inner->ip];
    s.t = *inner->info;
    s.tcp_layer = static_cast<std::uint8_t>(inner->tcp);
    // A header cut inside its fixed part (a header-only capture) has no data offset to tell
    // where the payload starts: the segment counts as carrying none (its flags are not known
    // either, and the analysis takes it for neither a SYN nor data).
    // The data offset of a header whose options were cut is read from its captured bytes.
    const std::size_t header_len =
        s.t.complete() ? std::max<std::size_t>(tcp.header_len, decode::tcp_header_len(tcp.bytes))
                       : tcp.claimed_len + 1U;
    s.payload = header_len <= tcp.claimed_len
                    ? tcp.claimed_len - static_cast<std::uint32_t>(header_len)
                    : 0;
    s.payload_offset = payload_offset(pkt.frame().data, tcp);
    if ((s.t.flags & decode::tcp_flag::kSyn) != 0) {
        const Bytes header = tcp.header();
        s.set_syn_options(
            header.subspan(std::min<std::size_t>(wire::kTcpMinHeaderLen, header.size())));
    }
    if (const auto* v4 = ip.as<decode::Ipv4Info>()) {
        s.ip_id = v4->id;
        s.set_ipv4_endpoints(v4->src, v4->dst);
    } else {
        s.ip_id = 0;
        s.src = track::source_of(ip, s.t.sport);
        s.dst = track::destination_of(ip, s.t.dport);
        s.key = FlowKey::of(s.src, s.dst);
        s.src_is_lo = s.src < s.dst;  // as FlowKey::of orders them
        s.hash = track::FlowKeyHash{}(s.key);
    }
    s.no_tunnel();
    // The tunnel whose payload holds this segment: the nearest VXLAN/Geneve before it.
    for (std::size_t i = inner->ip; i-- > 1;) {
        if (layers[i].proto != Proto::Vxlan && layers[i].proto != Proto::Geneve) {
            continue;
        }
        const auto* udp = layers[i - 1].as<decode::UdpInfo>();
        const int oip = pkt.enclosing_ip(i - 1);
        if (udp == nullptr || oip < 0) {
            break;
        }
        std::uint32_t vni = 0;
        if (const auto* x = layers[i].as<decode::VxlanInfo>()) {
            vni = x->vni;
        } else if (const auto* g = layers[i].as<decode::GeneveInfo>()) {
            vni = g->vni;
        }
        const verify::Verdict* outer = verdicts.for_layer(i - 1);
        const Layer& outer_ip = layers[static_cast<std::size_t>(oip)];
        if (const auto* ov4 = outer_ip.as<decode::Ipv4Info>()) {
            s.set_ipv4_tunnel(vni, udp->sport, ov4->src, ov4->dst, outer);
        } else {
            s.set_tunnel(vni, udp->sport, outer);
            s.outer_src = track::source_of(outer_ip, 0);
            s.outer_dst = track::destination_of(outer_ip, 0);
        }
        break;
    }
}

}  // namespace vxcheck::analyze

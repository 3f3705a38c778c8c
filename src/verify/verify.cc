// Checksum verdicts (domain spec 0.3, 2, 3). An IPv4 header checksum is ok or bad (or, in a
// super-packet, unverified: left for the NIC). Each TCP and UDP checksum gets the status the
// ladder in verify/status_ladder.h gives it (zero, fragment, not captured, ok, partial, partial
// over length 0, super-packet, local-checksum-offload substitution, bad); this file computes
// the sums and facts the ladder reads. Layers are verified innermost first, so that a tunnel's
// outer UDP checksum can reuse the inner sums and substitute the inner partial checksums.

#include "vxcheck/verify/verify.h"

#include <algorithm>
#include <optional>

#include "vxcheck/verify/checksum.h"
#include "vxcheck/verify/pseudo_header.h"
#include "vxcheck/verify/status_ladder.h"
#include "vxcheck/wire.h"

namespace vxcheck::verify {
namespace {

using decode::DecodedPacket;
using decode::Ipv4Info;
using decode::Ipv6Info;
using decode::Layer;
using decode::Proto;

using wire::kTcpChecksumOffset;
using wire::kUdpChecksumOffset;

// The folded sum of the pseudo-header (RFC 768 / RFC 8200 8.1) of `ip` for protocol `proto`,
// length `len`.
std::uint16_t pseudo_sum(const Layer& ip, std::uint8_t proto, std::uint32_t len) noexcept {
    if (const auto* v4 = ip.as<Ipv4Info>()) {
        return ipv4_pseudo_sum(v4->src, ipv4_final_destination(ip, *v4), proto, len);
    }
    InternetChecksum sum;
    if (const auto* v6 = ip.as<Ipv6Info>()) {
        sum.add(v6->pseudo_src);
        sum.add(v6->pseudo_dst);
    }
    // The length as two words, as for IPv4 (ipv4_pseudo_sum).
    sum.add_word(static_cast<std::uint16_t>(len >> 16));
    sum.add_word(proto);
    sum.add_word(static_cast<std::uint16_t>(len));
    return sum.sum();
}

bool ip_is_fragment(const Layer& ip) noexcept {
    if (const auto* v4 = ip.as<Ipv4Info>()) {
        return v4->is_fragment();
    }
    const auto* v6 = ip.as<Ipv6Info>();
    return v6 != nullptr && v6->is_fragment();
}

bool ip_length_from_capture(const Layer& ip) noexcept {
    if (const auto* v4 = ip.as<Ipv4Info>()) {
        return v4->length_from_capture;
    }
    const auto* v6 = ip.as<Ipv6Info>();
    return v6 != nullptr && v6->length_from_capture;
}

// A length field claimed more than the wire carried: that, not the snaplen, is the problem.
bool has_length_lie(const DecodedPacket& pkt) noexcept {
    for (const decode::Anomaly a : pkt.anomalies()) {
        if (a == decode::Anomaly::Ipv4TotalLenExceedsFrame ||
            a == decode::Anomaly::Ipv6PayloadLenExceedsFrame ||
            a == decode::Anomaly::UdpLengthExceedsIp || a == decode::Anomaly::UdpLengthTooSmall) {
            return true;
        }
    }
    return false;
}

// Per-packet scratch of verify(), filled for the packet's layers only (never all kMax).
struct Work {
    static constexpr std::uint8_t kNone = 0xff;
    std::array<std::uint8_t, Verdicts::kMax> slot;  // verdict index of layer i, or kNone
    std::array<std::uint8_t, Verdicts::kMax> ip;    // enclosing IP layer of L4 layer i
    // sum_of() the bytes layer i's checksum covers, once computed (IPv4: its header; L4: its
    // segment or datagram). A tunnel's outer UDP checksum covers the inner headers and segment
    // again: those sums are reused rather than the bytes read twice.
    std::array<std::uint16_t, Verdicts::kMax> sum;
    std::array<bool, Verdicts::kMax> has_sum;
};

Bytes covered(const Layer& l) noexcept {
    return l.proto == Proto::Ipv4 ? l.header() : l.bytes;
}

// sum_of(span), where span holds the bytes of the layers after `index`: their known sums are
// added in place of their bytes (layers are in frame order; one inside another taken is skipped).
std::uint16_t sum_reusing_inner(const DecodedPacket& pkt, const Work& w, std::size_t index,
                                Bytes span) noexcept {
    const auto layers = pkt.layers();
    const std::uint8_t* pos = span.data();
    const std::uint8_t* const end = span.data() + span.size();
    InternetChecksum sum;
    const auto add_gap = [&](const std::uint8_t* until) {
        if (until != pos) {  // empty between adjacent layers: nothing to call sum_of() for
            const Bytes gap{pos, until};
            sum.add_sum(sum_of(gap), gap.size());
        }
    };
    for (std::size_t j = index + 1; j < layers.size(); ++j) {
        if (!w.has_sum[j]) {
            continue;
        }
        const Bytes inner = covered(layers[j]);
        if (inner.data() < pos || inner.data() + inner.size() > end) {
            continue;
        }
        add_gap(inner.data());
        sum.add_sum(w.sum[j], inner.size());
        pos = inner.data() + inner.size();
    }
    add_gap(end);
    return sum.sum();
}

Verdict verify_ipv4_header(const Layer& ip, std::size_t index, Work& w) noexcept {
    const auto& info = std::get<Ipv4Info>(ip.info);
    const std::uint16_t r = sum_of(ip.header());
    w.sum[index] = r;
    w.has_sum[index] = true;
    // A super-packet (total length 0) whose header checksum is wrong was left for the NIC to
    // fill in (TSO on e1000e/igb-class NICs writes 0 there): never call it bad.
    const bool left_for_nic = r != 0xffff && info.length_from_capture;
    Verdict v{.layer = static_cast<std::uint8_t>(index),
              .depth = ip.depth,
              .check = Check::Ipv4Header,
              .status = r == 0xffff    ? Status::Ok
                        : left_for_nic ? Status::Unverified
                                       : Status::Bad,
              .reason = left_for_nic ? Reason::SuperPacket : Reason::None,
              .stored = info.checksum};
    set_residual(v, r);
    return v;
}

// Sum of (final - partial) over the inner partial checksums covered by the L4 layer at `outer`,
// placed in the byte lanes they occupy relative to the start of that layer; none if there are
// none.
std::optional<std::uint16_t> inner_partial_delta(const DecodedPacket& pkt, std::size_t outer,
                                                 const Work& w,
                                                 std::span<const Verdict> verdicts) noexcept {
    std::optional<std::uint16_t> delta;
    const auto layers = pkt.layers();
    for (std::size_t j = outer + 1; j < layers.size(); ++j) {
        if (w.slot[j] == Work::kNone) {
            continue;
        }
        const Verdict& inner = verdicts[w.slot[j]];
        if (inner.status != Status::Partial || !inner.expected_known) {
            continue;
        }
        const std::size_t field =
            layers[j].offset +
            (layers[j].proto == Proto::Tcp ? kTcpChecksumOffset : kUdpChecksumOffset);
        const bool odd = ((field - layers[outer].offset) & 1U) != 0;
        delta =
            ones_add(delta.value_or(0), partial_substitution(inner.stored, inner.expected, odd));
    }
    return delta;
}

// The GRE checksum (RFC 2784 2.5): over the GRE header and payload, no pseudo-header. It
// cannot be checked when the enclosing IP packet is a fragment or the payload was not all
// captured; otherwise it verifies or it is bad (no offload leaves a partial form in it).
Verdict verify_gre(const DecodedPacket& pkt, std::size_t index, Work& w) noexcept {
    const Layer& gre = pkt.layers()[index];
    Verdict v{.layer = static_cast<std::uint8_t>(index),
              .depth = gre.depth,
              .check = Check::Gre,
              .stored = std::get<decode::GreInfo>(gre.info).checksum};
    const int ip = pkt.enclosing_ip(index);
    if (ip >= 0 && ip_is_fragment(pkt.layers()[static_cast<std::size_t>(ip)])) {
        v.status = Status::Unverified;
        v.reason = Reason::Fragment;
        return v;
    }
    if (gre.truncated()) {
        v.status = Status::Unverified;
        v.reason = pkt.frame().snaplen_cut() && !has_length_lie(pkt) ? Reason::Snaplen
                                                                     : Reason::LengthMismatch;
        return v;
    }
    const std::uint16_t r = sum_reusing_inner(pkt, w, index, gre.bytes);
    w.sum[index] = r;
    w.has_sum[index] = true;
    v.status = r == 0xffff ? Status::Ok : Status::Bad;
    set_residual(v, r);
    return v;
}

bool has_gre_checksum(const Layer& l) noexcept {
    const auto* g = l.as<decode::GreInfo>();
    return g != nullptr && g->has_checksum;
}

bool is_tunnel(Proto p) noexcept {
    return p == Proto::Vxlan || p == Proto::Geneve;
}

// The facts the status ladder (status_ladder.h) reads, and the ladder's answer.
Verdict verify_l4(const DecodedPacket& pkt, std::size_t index, Work& w,
                  std::span<const Verdict> verdicts) noexcept {
    const auto layers = pkt.layers();
    const Layer& l4 = layers[index];
    const Layer& ip = layers[w.ip[index]];
    const bool is_udp = l4.proto == Proto::Udp;
    const std::uint8_t proto = is_udp ? wire::kIpProtoUdp : wire::kIpProtoTcp;

    Verdict v{.layer = static_cast<std::uint8_t>(index),
              .depth = l4.depth,
              .check = is_udp ? Check::Udp : Check::Tcp};
    std::uint32_t l4_len = l4.claimed_len;
    bool length_ok = true;
    if (is_udp) {
        const auto& udp = std::get<decode::UdpInfo>(l4.info);
        v.stored = udp.checksum;
        // The decoder clamps lying lengths; a super-packet's UDP length 0 means "see the IP".
        const bool super_packet = udp.length == 0 && ip_length_from_capture(ip);
        length_ok = super_packet || udp.length == l4.claimed_len;
        l4_len = super_packet ? l4.claimed_len : udp.length;
    } else {
        v.stored = std::get<decode::TcpInfo>(l4.info).checksum;
    }

    L4Sums s{.udp = is_udp,
             .over_ipv6 = ip.proto == Proto::Ipv6,
             .fragment = ip_is_fragment(ip),
             .length_from_capture = ip_length_from_capture(ip),
             .stored = v.stored};
    // A fragment's checksum covers the reassembled datagram: nothing here can be expected.
    s.captured = !s.fragment && length_ok && l4.bytes.size() == l4_len;
    if (s.captured) {
        const std::uint16_t data = sum_reusing_inner(pkt, w, index, l4.bytes);
        w.sum[index] = data;
        w.has_sum[index] = true;
        // The pseudo-header sum is never 0 (the protocol word is not), so adding the two folded
        // sums gives exactly the sum over pseudo-header and bytes together.
        s.pseudo = pseudo_sum(ip, proto, l4_len);
        s.length = l4_len;
        s.residual = ones_add(s.pseudo, data);
    } else {
        s.cut_by_snaplen = pkt.frame().snaplen_cut() && !has_length_lie(pkt);
    }
    const bool tunnel = is_udp && index + 1 < layers.size() && is_tunnel(layers[index + 1].proto);
    const L4Status st = classify_l4(s, [&]() noexcept {
        return tunnel ? inner_partial_delta(pkt, index, w, verdicts)
                      : std::optional<std::uint16_t>{};
    });
    v.status = st.status;
    v.reason = st.reason;
    if (s.captured) {
        set_residual(v, st.residual);
    }
    return v;
}

}  // namespace

std::uint32_t ipv4_final_destination(const Layer& ip, const Ipv4Info& v4) noexcept {
    constexpr std::uint8_t kEol = 0;
    constexpr std::uint8_t kNop = 1;
    constexpr std::uint8_t kLsrr = 131;
    constexpr std::uint8_t kSsrr = 137;
    constexpr std::size_t kMinRouteLen = 7;  // type, length, pointer, one address
    if (ip.header_len <= wire::kIpv4MinHeaderLen) {
        return v4.dst;  // no options: the common case, one compare
    }
    const Bytes h = ip.header();
    std::size_t i = wire::kIpv4MinHeaderLen;
    while (i < h.size() && h[i] != kEol) {
        if (h[i] == kNop) {
            ++i;
            continue;
        }
        const std::size_t len = i + 1 < h.size() ? h[i + 1] : 0;
        if (len < 2 || len > h.size() - i) {
            break;
        }
        if ((h[i] == kLsrr || h[i] == kSsrr) && len >= kMinRouteLen && h[i + 2] <= len) {
            return be32(h, i + len - 4);
        }
        i += len;
    }
    return v4.dst;
}

bool Verdicts::any(Status s) const noexcept {
    return std::any_of(items().begin(), items().end(),
                       [s](const Verdict& v) { return v.status == s; });
}

const Verdict* Verdicts::for_layer(std::size_t layer) const noexcept {
    for (const Verdict& v : items()) {
        if (v.layer == layer) {
            return &v;
        }
    }
    return nullptr;
}

void Verdicts::add(const Verdict& v) noexcept {
    if (count_ < kMax) {
        items_[count_++] = v;
    }
}

std::span<Verdict> Verdicts::reset(std::size_t n) noexcept {
    count_ = static_cast<std::uint8_t>(std::min(n, kMax));
    return {items_.data(), count_};
}

void verify(const decode::DecodedPacket& pkt, Verdicts& out) noexcept {
    const auto layers = pkt.layers();
    // Which layers get a verdict (in layer order) and the IP layer each L4 checksum uses.
    Work w;
    std::size_t n = 0;
    int last_ip = -1;
    for (std::size_t i = 0; i < layers.size(); ++i) {
        const Proto p = layers[i].proto;
        w.slot[i] = Work::kNone;
        w.has_sum[i] = false;
        if (p == Proto::Ipv4 || has_gre_checksum(layers[i])) {
            w.slot[i] = static_cast<std::uint8_t>(n++);
        } else if ((p == Proto::Tcp || p == Proto::Udp) && last_ip >= 0) {
            w.slot[i] = static_cast<std::uint8_t>(n++);
            w.ip[i] = static_cast<std::uint8_t>(last_ip);
        }
        if (p == Proto::Ipv4 || p == Proto::Ipv6) {
            last_ip = static_cast<int>(i);
        }
    }
    // Innermost first: a tunnel's outer UDP verdict uses the inner ones and their sums.
    const std::span<Verdict> items = out.reset(n);
    for (std::size_t i = layers.size(); i-- > 0;) {
        if (w.slot[i] == Work::kNone) {
            continue;
        }
        const Proto p = layers[i].proto;
        items[w.slot[i]] = p == Proto::Ipv4  ? verify_ipv4_header(layers[i], i, w)
                           : p == Proto::Gre ? verify_gre(pkt, i, w)
                                             : verify_l4(pkt, i, w, items);
    }
}

std::string_view to_string(Status s) noexcept {
    switch (s) {
        case Status::Ok:
            return "ok";
        case Status::Bad:
            return "bad";
        case Status::Partial:
            return "partial";
        case Status::Zero:
            return "zero";
        case Status::Unverified:
            return "unverified";
    }
    return "unknown";
}

std::string_view to_string(Reason r) noexcept {
    switch (r) {
        case Reason::None:
            return "";
        case Reason::Snaplen:
            return "snaplen";
        case Reason::Fragment:
            return "fragment";
        case Reason::LengthMismatch:
            return "length_mismatch";
        case Reason::SuperPacket:
            return "super_packet";
        case Reason::LocalChecksumOffload:
            return "local_checksum_offload";
        case Reason::PartialZeroLength:
            return "partial_zero_length";
        case Reason::ZeroOverIpv6:
            return "zero_over_ipv6";
        case Reason::KernelNotReady:
            return "kernel_csum_not_ready";
    }
    return "unknown";
}

std::string_view to_string(Check c) noexcept {
    switch (c) {
        case Check::Ipv4Header:
            return "ipv4";
        case Check::Tcp:
            return "tcp";
        case Check::Udp:
            return "udp";
        case Check::Gre:
            return "gre";
    }
    return "unknown";
}

}  // namespace vxcheck::verify

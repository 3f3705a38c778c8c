// The connection rules (domain spec 2, 4, 5) as pure functions; see rules.h.

#include "vxcheck/analyze/rules.h"

#include <algorithm>
#include <array>
#include <cmath>

#include "vxcheck/verify/checksum.h"

namespace vxcheck::analyze {

Schedule classify_schedule(std::span<const double> offsets) noexcept {
    // SYN n (n >= 1) goes one RTO after SYN n-1. The RTO starts at 1 s (RFC 6298 2.1,
    // TCP_TIMEOUT_INIT), stays there for the first `linear` retransmissions after the first
    // (tcp_syn_linear_timeouts: 0 before Linux 6.5, 4 by default since), then doubles, capped
    // at TCP_RTO_MAX, 120 s (tcp_retransmit_timer()). Classic: 0, 1, 3, 7, 15, 31, 63, 127, 247
    // ... s; linear: 0, 1, 2, 3, 4, 5, 7, 11, 19, 35, 67, 131 ... s (domain spec 4.1). How many
    // come depends on tcp_syn_retries (or TCP_SYNCNT), so any prefix matches.
    constexpr double kRtoMaxS = 120;
    const auto matches = [&](unsigned linear) {
        double at = 0;
        double rto = 1;
        for (std::size_t i = 1; i < offsets.size(); ++i) {
            at += rto;
            const double tol = std::max(0.25, 0.1 * at);
            if (std::fabs(offsets[i] - at) > tol) {
                return false;
            }
            if (i > linear) {
                rto = std::min(2 * rto, kRtoMaxS);
            }
        }
        return true;
    };
    if (offsets.size() < 2) {
        return Schedule::None;
    }
    const bool classic = matches(0);
    const bool linear = matches(4);
    if (classic && linear) {
        return Schedule::ClassicOrLinear;
    }
    return classic ? Schedule::Classic : linear ? Schedule::Linear : Schedule::Other;
}

bool attempt_dropped(const AttemptFacts& a) noexcept {
    return !a.answered && !a.rst && !a.icmp && a.syns >= 2;
}

bool attempt_rejected(const AttemptFacts& a) noexcept {
    return a.rst || a.icmp;
}

Outcome outcome_of(const AttemptFacts& a) noexcept {
    if (a.answered) {
        return Outcome::Established;
    }
    if (a.rst) {
        return Outcome::RejectedRst;
    }
    if (a.icmp) {
        return Outcome::RejectedIcmp;
    }
    return a.syns >= 2 ? Outcome::Dropped : Outcome::Unanswered;
}

VtepMode vtep_mode(std::uint64_t zero, std::uint64_t full) noexcept {
    if (zero == full) {
        return VtepMode::Unknown;
    }
    return zero > full ? VtepMode::Zero : VtepMode::Full;
}

bool is_flannel_address(const track::Endpoint& e, std::uint8_t prefix_len) noexcept {
    if (e.v6 || prefix_len >= 32) {
        return false;
    }
    const std::uint32_t host_mask = (1U << (32 - prefix_len)) - 1U;
    return (e.ipv4() & host_mask) == 0;
}

InnerSnatReason masqueraded_port(std::uint16_t port, const ConnectionOptions& o) noexcept {
    using Kind = InnerSnatReason::Kind;
    if (port >= 600 && port <= 664) {
        return {.kind = Kind::MasqueradePrivilegedPort, .port = port};
    }
    if (port >= 1024 && (port < o.ephemeral_min || port > o.ephemeral_max)) {
        return {.kind = Kind::OutsideEphemeralRange,
                .port = port,
                .range_min = o.ephemeral_min,
                .range_max = o.ephemeral_max};
    }
    return {};
}

std::optional<Corruption> classify_corruption(std::uint16_t stored, std::uint16_t residual,
                                              std::uint16_t sport, VtepMode mode,
                                              const ConnectionOptions& o) noexcept {
    // Variant B: the field is the valid checksum for the pre-NAT port, so the residual is
    // P_new - P_old and P_old = P_new + ~R (domain spec 2.4).
    const std::uint16_t p_old = verify::ones_add(sport, verify::ones_neg(residual));
    // NAT never leaves a 0: it does not update a UDP checksum of 0 (the "no checksum" value),
    // and an update that computes 0 stores 0xffff (CSUM_MANGLED_0; domain spec 2.2). A 0 is a
    // tunnel sent without checksums (over IPv6 too: RFC 6935, udp6zerocsumtx), not NAT's mark.
    if (stored == 0) {
        return std::nullopt;
    }
    if (stored == 0xffff && mode != VtepMode::Full) {
        return Corruption{
            .variant = CorruptionVariant::A,
            .pre_nat_sport = std::nullopt,
            .confidence = mode == VtepMode::Zero ? Confidence::High : Confidence::Medium};
    }
    const auto in_range = [&](std::uint16_t p) {
        return p >= o.vxlan_sport_min && p <= o.vxlan_sport_max;
    };
    if (mode != VtepMode::Zero && p_old != sport && in_range(p_old)) {
        return Corruption{.variant = CorruptionVariant::B,
                          .pre_nat_sport = p_old,
                          .confidence = in_range(sport) ? Confidence::Medium : Confidence::High};
    }
    return std::nullopt;  // a bad checksum, but not the NAT fingerprint
}

std::uint16_t address_word_sum(const track::Endpoint& e) noexcept {
    const std::size_t bytes = e.v6 ? 16 : 4;
    std::uint16_t sum = 0;
    for (std::size_t i = 0; i < bytes; i += 2) {
        sum = verify::ones_add(sum, static_cast<std::uint16_t>(e.addr[i] << 8 | e.addr[i + 1]));
    }
    return sum == 0 ? std::uint16_t{0xffff} : sum;
}

// One's-complement negation distributes over the sum: the words' onesum(~old_i, new_i) is
// onesum(~sum(old), sum(new)).
std::uint16_t variant_a_field(const track::Endpoint& old_src,
                              const track::Endpoint& new_src) noexcept {
    const std::uint16_t f =
        verify::ones_add(verify::ones_neg(address_word_sum(old_src)), address_word_sum(new_src));
    return f == 0 ? std::uint16_t{0xffff} : f;
}

// field = ~sum(old) + sum(new), so sum(old) = ~(field + ~sum(new)).
std::uint16_t rewritten_source_sum(std::uint16_t field, const track::Endpoint& new_src) noexcept {
    const std::uint16_t s =
        verify::ones_neg(verify::ones_add(field, verify::ones_neg(address_word_sum(new_src))));
    return s == 0 ? std::uint16_t{0xffff} : s;
}

std::optional<Corruption> classify_rewritten_source(
    std::uint16_t stored, const track::Endpoint& new_src,
    std::span<const track::Endpoint> zero_sources) noexcept {
    if (stored == 0 || stored == 0xffff) {
        return std::nullopt;
    }
    for (const track::Endpoint& old_src : zero_sources) {
        if (old_src.v6 == new_src.v6 && old_src.addr != new_src.addr &&
            variant_a_field(old_src, new_src) == stored) {
            return Corruption{.variant = CorruptionVariant::A,
                              .pre_nat_sport = std::nullopt,
                              .confidence = Confidence::High,
                              .pre_nat_src = old_src};
        }
    }
    return std::nullopt;
}

OuterSnatReason outer_snat(std::optional<std::uint16_t> out_of_range,
                           std::span<const CorruptedOuter> corrupted,
                           const ConnectionOptions& o) noexcept {
    using Kind = OuterSnatReason::Kind;
    if (out_of_range) {
        return {.kind = Kind::PortOutOfRange,
                .port = *out_of_range,
                .range_min = o.vxlan_sport_min,
                .range_max = o.vxlan_sport_max};
    }
    if (corrupted.empty()) {
        return {};
    }
    const CorruptedOuter& c = corrupted.front();
    if (c.variant == CorruptionVariant::B) {
        return {.kind = Kind::VariantB,
                .port = c.sport,
                .pre_nat_port = *c.pre_nat_sport,
                .confidence = c.confidence};
    }
    return {.kind = Kind::VariantA,
            .port = c.sport,
            .confidence = c.confidence,
            .stored = c.stored,
            .pre_nat_src = c.pre_nat_src};
}

InnerSnatReason inner_snat(std::optional<track::Endpoint> client, const OuterSnatReason& outer,
                           const ConnectionOptions& o) noexcept {
    if (!client || !is_flannel_address(*client, o.flannel_prefix_len)) {
        return {};
    }
    if (const InnerSnatReason r = masqueraded_port(client->port, o)) {
        return r;
    }
    if (outer) {
        return {.kind = InnerSnatReason::Kind::InferredFromOuterNat, .port = client->port};
    }
    return {};
}

bool is_loopback(const track::Endpoint& e) noexcept {
    if (!e.v6) {
        return e.addr[0] == 127;
    }
    for (std::size_t i = 0; i + 1 < e.addr.size(); ++i) {
        if (e.addr[i] != 0) {
            return false;
        }
    }
    return e.addr[15] == 1;
}

bool is_loopback_proxy(const track::Endpoint& e) noexcept {
    return e.port >= kEfsProxyPortMin && e.port <= kEfsProxyPortMax && is_loopback(e);
}

std::optional<RefusedEndpoint::Why> nfs_endpoint(const track::Endpoint& server,
                                                 bool nfs_program_seen) noexcept {
    using Why = RefusedEndpoint::Why;
    if (server.port == kNfsPort) {
        return Why::NfsPort;
    }
    if (is_loopback_proxy(server)) {
        return Why::LoopbackProxyPort;
    }
    if (nfs_program_seen) {
        return Why::NfsProgramSeen;
    }
    return std::nullopt;
}

RefusedRun refused_run(std::span<const ConnectAttempt> attempts, std::size_t i,
                       double min_gap_s) noexcept {
    if (i >= attempts.size() || !attempts[i].refused) {
        return {.first = i, .count = 0};
    }
    const auto joins = [&](std::size_t k) {  // attempts[k] continues the run of attempts[k - 1]
        return attempts[k].refused && attempts[k - 1].refused &&
               attempts[k].t_s - attempts[k - 1].t_s >= min_gap_s;
    };
    std::size_t first = i;
    while (first > 0 && joins(first)) {
        --first;
    }
    std::size_t last = i;
    while (last + 1 < attempts.size() && joins(last + 1)) {
        ++last;
    }
    return {.first = first, .count = last - first + 1};
}

std::vector<Verdict> verdicts_of(const VerdictFacts& f) {
    std::vector<Verdict> v;
    if (f.dropped) {
        v.push_back(Verdict::SynDropped);
    }
    if (f.rejected) {
        v.push_back(Verdict::SynRejected);
    }
    if (f.delayed) {
        v.push_back(Verdict::DelayedConnect);
    }
    if (f.inner_snat) {
        v.push_back(Verdict::InnerSnat);
    }
    if (f.outer_snat) {
        v.push_back(Verdict::OuterSnat);
    }
    if (f.inner_snat && f.outer_snat) {
        v.push_back(Verdict::DoubleSnat);
    }
    if (f.corrupted) {
        v.push_back(Verdict::OuterChecksumCorrupted);
    }
    if (f.endpoint_refused) {
        v.push_back(Verdict::NfsEndpointRefused);
    }
    if (v.empty()) {
        v.push_back(Verdict::Clean);
    }
    return v;
}

}  // namespace vxcheck::analyze

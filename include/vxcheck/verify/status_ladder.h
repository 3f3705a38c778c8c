#pragma once
// The checksum-status ladder of one TCP or UDP checksum (domain spec 0.3, 2, 3): the one place
// that decides zero, ok, partial, partial over length 0, local-checksum-offload substitution,
// unverified or bad, and in which order. The general verifier (verify()) and the fast path
// both call it with the sums they computed; neither restates it.

#include <cstdint>
#include <optional>

#include "vxcheck/verify/checksum.h"
#include "vxcheck/verify/verify.h"

namespace vxcheck::verify {

/// What the ladder reads of one L4 checksum. The sums are meaningful only when `captured`.
struct L4Sums {
    bool udp = false;        // UDP (0 may mean "no checksum"), else TCP
    bool over_ipv6 = false;  // carried by IPv6, where a UDP checksum of 0 is not allowed
    bool fragment = false;   // the IP packet is a fragment: the checksum covers the datagram
    bool captured = false;   // every covered byte was captured and the lengths agree
    /// Not captured because the snaplen cut the frame, with no length field lying about it
    /// (else the lengths are the problem: LengthMismatch).
    bool cut_by_snaplen = false;
    bool length_from_capture = false;  // IP total length 0 (super-packet): the extent is a guess
    std::uint16_t stored = 0;          // the checksum field as captured
    std::uint16_t residual = 0;        // sum over pseudo-header and covered bytes (0xffff = ok)
    std::uint16_t pseudo = 0;          // the pseudo-header's sum over `length`
    std::uint32_t length = 0;          // the L4 length the pseudo-header counts
};

/// The pseudo-header's sum over L4 length 0, from its sum `pseudo` over `length`: the length's
/// two words taken out again (one's-complement subtraction; exact, as neither sum is 0: the
/// protocol word is not).
[[nodiscard]] constexpr std::uint16_t pseudo_sum_without_length(std::uint16_t pseudo,
                                                                std::uint32_t length) noexcept {
    return ones_add(ones_add(pseudo, ones_neg(static_cast<std::uint16_t>(length >> 16))),
                    ones_neg(static_cast<std::uint16_t>(length)));
}

/// The ladder's answer: a status, its reason, and the residual the verdict carries (after the
/// local-checksum-offload substitution when that rung decided).
struct L4Status {
    Status status = Status::Bad;
    Reason reason = Reason::None;
    std::uint16_t residual = 0;

    bool operator==(const L4Status&) const = default;
};

/// The rungs, in this order; the first that applies decides:
///  1. UDP 0: "no checksum" over IPv4 (Zero), an error over IPv6 (Bad, ZeroOverIpv6);
///  2. a fragment: Unverified (Fragment);
///  3. covered bytes not all captured: Unverified (Snaplen, or LengthMismatch);
///  4. residual 0xffff: Ok;
///  5. field == pseudo-header sum over the L4 length: Partial, the NIC fills it later;
///  6. field == pseudo-header sum over length 0: Partial (PartialZeroLength, igb-style TSO);
///  7. IP total length 0: the length is a guess, so Unverified (SuperPacket) rather than bad;
///  8. `inner_partial_delta()` gives the sum of (final - partial) over the partial inner
///     checksums this one covers (a tunnel's outer UDP; lanes already placed): local checksum
///     offload computed the field over their final values, so the residual with it added
///     decides, Ok or Bad (LocalChecksumOffload);
///  9. Bad.
/// `inner_partial_delta` is called only when rung 8 is reached; it returns std::nullopt when
/// there is nothing to substitute (no tunnel, or no partial inner checksum).
template <typename InnerPartialDelta>
[[nodiscard]] constexpr L4Status classify_l4(const L4Sums& s,
                                             InnerPartialDelta&& inner_partial_delta) noexcept {
    if (s.udp && s.stored == 0) {
        return s.over_ipv6 ? L4Status{Status::Bad, Reason::ZeroOverIpv6, s.residual}
                           : L4Status{Status::Zero, Reason::None, s.residual};
    }
    if (s.fragment) {
        return {Status::Unverified, Reason::Fragment, s.residual};
    }
    if (!s.captured) {
        return {Status::Unverified, s.cut_by_snaplen ? Reason::Snaplen : Reason::LengthMismatch,
                s.residual};
    }
    if (s.residual == 0xffff) {
        return {Status::Ok, Reason::None, s.residual};
    }
    if (s.stored == s.pseudo) {
        return {Status::Partial, Reason::None, s.residual};
    }
    if (s.stored == pseudo_sum_without_length(s.pseudo, s.length)) {
        return {Status::Partial, Reason::PartialZeroLength, s.residual};
    }
    if (s.length_from_capture) {
        return {Status::Unverified, Reason::SuperPacket, s.residual};
    }
    if (const std::optional<std::uint16_t> delta = inner_partial_delta()) {
        const std::uint16_t r = ones_add(s.residual, *delta);
        return {r == 0xffff ? Status::Ok : Status::Bad, Reason::LocalChecksumOffload, r};
    }
    return {Status::Bad, Reason::None, s.residual};
}

/// classify_l4() of a checksum that covers no partial inner checksum.
[[nodiscard]] constexpr L4Status classify_l4(const L4Sums& s) noexcept {
    return classify_l4(s, []() noexcept { return std::optional<std::uint16_t>{}; });
}

/// What one partial inner checksum adds at rung 8: its final value minus the partial one
/// (RFC 1624), byte-swapped when the field sits at an odd offset from the start of the outer
/// checksum's coverage.
[[nodiscard]] constexpr std::uint16_t partial_substitution(std::uint16_t partial,
                                                           std::uint16_t final_value,
                                                           bool odd_offset) noexcept {
    const std::uint16_t d = ones_add(ones_neg(partial), final_value);
    return odd_offset ? static_cast<std::uint16_t>((d << 8) | (d >> 8)) : d;
}

}  // namespace vxcheck::verify

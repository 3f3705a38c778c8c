#pragma once
// The one Internet-checksum primitive (RFC 1071) and the RFC 1624 incremental update.
// Values are 16-bit words as they read on the wire (big-endian), returned in host integers.

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "vxcheck/bytes.h"

namespace vxcheck::verify {

/// One's-complement sum over any number of byte spans, as if they were one contiguous stream
/// (an odd-length span shifts the next one by a byte; that is handled). 64-bit accumulation.
class InternetChecksum {
  public:
    void add(Bytes bytes) noexcept;
    /// Adds `sum` = sum_of(span) of a `length`-byte span summed earlier, exactly as add(span)
    /// would (so that bytes covered by two checksums are read once).
    void add_sum(std::uint16_t sum, std::size_t length) noexcept {
        if (odd_) {
            // This span starts in the low byte of a word: its byte lanes are swapped.
            sum = static_cast<std::uint16_t>((sum << 8) | (sum >> 8));
        }
        acc_ += sum;
        odd_ = odd_ != ((length & 1U) != 0);
    }
    /// Adds one 16-bit word (e.g. a pseudo-header field given as a number). Requires an even
    /// position in the stream, as every pseudo-header field has.
    void add_word(std::uint16_t word) noexcept { acc_ += word; }
    /// The folded one's-complement sum (not complemented). 0 only if everything added was 0.
    [[nodiscard]] std::uint16_t sum() const noexcept {
        std::uint64_t s = acc_;
        s = (s & 0xffffffffU) + (s >> 32);
        s = (s & 0xffffffffU) + (s >> 32);
        s = (s & 0xffffU) + (s >> 16);
        s = (s & 0xffffU) + (s >> 16);
        return static_cast<std::uint16_t>(s);
    }

  private:
    std::uint64_t acc_ = 0;  // big-endian word sum, carries kept in the upper bits
    bool odd_ = false;       // an odd number of bytes has been added so far
};

/// The folded one's-complement sum of `bytes` as big-endian words from an even position (odd
/// length padded with a zero byte): what InternetChecksum{}.add(bytes).sum() gives.
[[nodiscard]] std::uint16_t sum_of(Bytes bytes) noexcept;

/// The folded sum of an IPv4 pseudo-header (RFC 768, RFC 9293 3.1) for protocol `proto` over
/// `len` bytes; addresses as host-order numbers. A 32-bit length (BIG TCP) folds in as two words,
/// as the kernel's csum_tcpudp_magic() does; for ordinary lengths the high word is 0.
[[nodiscard]] inline std::uint16_t ipv4_pseudo_sum(std::uint32_t src, std::uint32_t dst,
                                                   std::uint8_t proto, std::uint32_t len) noexcept {
    // The words added as the 32-bit numbers they pair into: 2^16 is 1 modulo 0xffff, so the
    // folded sum is the one of the seven 16-bit words (zero only when every word is), in 12
    // instructions instead of 25 (it runs twice a frame on the fast path).
    std::uint64_t s = std::uint64_t{src} + dst + len + proto;  // < 2^34
    s = (s & 0xffffffffU) + (s >> 32);                         // <= 2^32 + 2
    s = (s & 0xffffU) + (s >> 16);                             // <= 0x1ffff
    s = (s & 0xffffU) + (s >> 16);                             // <= 0x10000
    s = (s & 0xffffU) + (s >> 16);                             // <= 0xffff
    return static_cast<std::uint16_t>(s);
}

/// sum_of() N bytes at p, N even and small (a header): the words are added as 32-bit loads
/// into 64 bits, where they cannot overflow, and folded once, with no call, loop or carry
/// chain. The same value as sum_of(Bytes{p, N}): both are the one's-complement sum, 0 only when
/// every byte is.
template <std::size_t N>
[[nodiscard]] inline std::uint16_t sum_of_fixed(const std::uint8_t* p) noexcept {
    static_assert(N % 2 == 0 && N <= 256, "an even, header-sized span");
    std::uint64_t s = 0;
    std::size_t i = 0;
    for (; i + 4 <= N; i += 4) {
        std::uint32_t w;
        std::memcpy(&w, p + i, sizeof w);
        s += w;
    }
    if constexpr (N % 4 != 0) {
        std::uint16_t w;
        std::memcpy(&w, p + i, sizeof w);
        s += w;
    }
    s = (s & 0xffffffffU) + (s >> 32);
    s = (s & 0xffffU) + (s >> 16);
    s = (s & 0xffffU) + (s >> 16);
    s = (s & 0xffffU) + (s >> 16);
    auto v = static_cast<std::uint16_t>(s);  // native-endian words: swap on little-endian hosts
    if constexpr (std::endian::native == std::endian::little) {
        v = static_cast<std::uint16_t>((v << 8) | (v >> 8));
    }
    return v;
}

/// 16-bit one's-complement addition (end-around carry).
[[nodiscard]] constexpr std::uint16_t ones_add(std::uint16_t a, std::uint16_t b) noexcept {
    const std::uint32_t s = std::uint32_t{a} + b;
    return static_cast<std::uint16_t>((s & 0xffffU) + (s >> 16));
}

[[nodiscard]] constexpr std::uint16_t ones_neg(std::uint16_t a) noexcept {
    return static_cast<std::uint16_t>(~a);
}

/// RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m'), the checksum after field m becomes m_new.
[[nodiscard]] constexpr std::uint16_t incremental_update(std::uint16_t hc, std::uint16_t m,
                                                         std::uint16_t m_new) noexcept {
    return ones_neg(ones_add(ones_add(ones_neg(hc), ones_neg(m)), m_new));
}

/// The checksum field that makes a segment valid, given the segment's residual R (sum over
/// everything including the stored field F): C = ~(R - F). For UDP a 0 must be sent as 0xffff.
[[nodiscard]] constexpr std::uint16_t expected_from_residual(std::uint16_t residual,
                                                             std::uint16_t stored) noexcept {
    return ones_neg(ones_add(residual, ones_neg(stored)));
}

}  // namespace vxcheck::verify

#pragma once
// SipHash-c-d (Aumasson and Bernstein, "SipHash: a fast short-input PRF", 2012): a keyed hash
// whose outputs nobody can predict without the 128-bit key, so that keys chosen from outside
// cannot be aimed at one slot of a hash table. Inline for the per-packet path: a flow key is a
// few words, and a call into a library costs as much as the rounds themselves.
//
// Rules:
// - siphash() is the reference definition over bytes (the message read as little-endian words,
//   the last block padded with zeros and the length's low byte at the top), checked against the
//   published test vectors.
// - siphash_words() is the same function of the message made of the words' little-endian bytes
//   followed by the low `tail_bytes` bytes of `tail` (at most 7): no byte loads, no loop.

#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>

namespace vxcheck::track {

/// The 128-bit key, as the two little-endian words of its 16 bytes.
struct SipKey {
    std::uint64_t k0 = 0;
    std::uint64_t k1 = 0;
    bool operator==(const SipKey&) const = default;
};

namespace sip_detail {

struct State {
    std::uint64_t v0;
    std::uint64_t v1;
    std::uint64_t v2;
    std::uint64_t v3;

    constexpr explicit State(SipKey k) noexcept
        : v0(k.k0 ^ 0x736f6d6570736575ULL),
          v1(k.k1 ^ 0x646f72616e646f6dULL),
          v2(k.k0 ^ 0x6c7967656e657261ULL),
          v3(k.k1 ^ 0x7465646279746573ULL) {}

    constexpr void round() noexcept {
        v0 += v1;
        v1 = std::rotl(v1, 13);
        v1 ^= v0;
        v0 = std::rotl(v0, 32);
        v2 += v3;
        v3 = std::rotl(v3, 16);
        v3 ^= v2;
        v0 += v3;
        v3 = std::rotl(v3, 21);
        v3 ^= v0;
        v2 += v1;
        v1 = std::rotl(v1, 17);
        v1 ^= v2;
        v2 = std::rotl(v2, 32);
    }

    template <int C>
    constexpr void absorb(std::uint64_t m) noexcept {
        v3 ^= m;
#pragma GCC unroll 4
        for (int i = 0; i < C; ++i) {
            round();
        }
        v0 ^= m;
    }

    template <int D>
    constexpr std::uint64_t finish() noexcept {
        v2 ^= 0xff;
#pragma GCC unroll 4
        for (int i = 0; i < D; ++i) {
            round();
        }
        return v0 ^ v1 ^ v2 ^ v3;
    }
};

}  // namespace sip_detail

/// SipHash-C-D of the n bytes at p under key k.
template <int C, int D>
constexpr std::uint64_t siphash(SipKey k, const std::uint8_t* p, std::size_t n) noexcept {
    sip_detail::State s(k);
    std::size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        std::uint64_t m = 0;
        for (std::size_t b = 0; b < 8; ++b) {
            m |= std::uint64_t{p[i + b]} << (8 * b);
        }
        s.absorb<C>(m);
    }
    std::uint64_t last = std::uint64_t{static_cast<std::uint8_t>(n)} << 56;
    for (std::size_t b = 0; i + b < n; ++b) {
        last |= std::uint64_t{p[i + b]} << (8 * b);
    }
    s.absorb<C>(last);
    return s.finish<D>();
}

/// SipHash-C-D under key k of the 8 * N bytes that are the words of w, each little-endian, and
/// then the low tail_bytes bytes of tail (the rest of tail zero, tail_bytes < 8).
template <int C, int D, std::size_t N>
constexpr std::uint64_t siphash_words(SipKey k, const std::array<std::uint64_t, N>& w,
                                      std::uint64_t tail = 0, std::size_t tail_bytes = 0) noexcept {
    static_assert(N < 31, "the length's low byte is 8 * N + tail_bytes");
    sip_detail::State s(k);
    for (const std::uint64_t m : w) {
        s.absorb<C>(m);
    }
    s.absorb<C>(tail | (std::uint64_t{8 * N + tail_bytes} << 56));
    return s.finish<D>();
}

}  // namespace vxcheck::track

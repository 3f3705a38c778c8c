// RFC 1071 Internet checksum. The sum is byte-order independent (RFC 1071 2(B)): we add
// native-endian words, fold to 16 bits and swap once at the end on little-endian hosts.
//
// The bulk is summed with SIMD into 32-bit lanes, flushed to 64 bits before they could
// overflow, so the loop needs no end-around carry, and independent accumulators keep the adds
// from waiting on each other. AVX2 (64 bytes an iteration, and its own tail: a masked last
// load) takes every span of 32 bytes or more when the CPU has it, chosen once at start-up so
// that the build stays portable; otherwise SSE2 (32 bytes), which is part of x86-64 itself,
// takes the bulk. The rest, and everything on other CPUs, is the scalar 64-bit
// end-around-carry sum. Every grouping of the words gives the same folded value, and an outer
// checksum reuses the sums of the inner spans it covers (src/verify/verify.cc).

#include "vxcheck/verify/checksum.h"

#include <algorithm>
#include <bit>
#include <cstdlib>
#include <cstring>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define VXCHECK_X86_SIMD 1
#endif

namespace vxcheck::verify {
namespace {

constexpr std::uint16_t swap16(std::uint16_t v) noexcept {
    return static_cast<std::uint16_t>((v << 8) | (v >> 8));
}

inline void add_carry(std::uint64_t& sum, std::uint64_t w) noexcept {
    sum += w;
    sum += static_cast<std::uint64_t>(sum < w);  // end-around carry
}

constexpr std::uint16_t fold64(std::uint64_t sum) noexcept {
    sum = (sum & 0xffffffffU) + (sum >> 32);
    sum = (sum & 0xffffffffU) + (sum >> 32);
    sum = (sum & 0xffffU) + (sum >> 16);
    sum = (sum & 0xffffU) + (sum >> 16);
    return static_cast<std::uint16_t>(sum);
}

#if defined(VXCHECK_X86_SIMD) && defined(__SSE2__)
// Each 32-bit lane gains at most 0xffff per loop iteration: flushing to 64 bits every 32768
// iterations keeps it from overflowing, whatever the length.
constexpr std::size_t kItersPerFlush = 32768;

// Sum of the native-endian 16-bit words of p[0, n), n a multiple of 32, as a 64-bit number.
std::uint64_t sum_sse2(const std::uint8_t* p, std::size_t n) noexcept {
    constexpr std::size_t kStep = 32;
    const __m128i zero = _mm_setzero_si128();
    std::uint64_t total = 0;
    while (n != 0) {
        const std::size_t iters = std::min(n / kStep, kItersPerFlush);
        __m128i a0 = zero;
        __m128i a1 = zero;
        __m128i a2 = zero;
        __m128i a3 = zero;
        for (std::size_t i = 0; i < iters; ++i) {
            const __m128i v0 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
            const __m128i v1 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 16));
            a0 = _mm_add_epi32(a0, _mm_unpacklo_epi16(v0, zero));
            a1 = _mm_add_epi32(a1, _mm_unpackhi_epi16(v0, zero));
            a2 = _mm_add_epi32(a2, _mm_unpacklo_epi16(v1, zero));
            a3 = _mm_add_epi32(a3, _mm_unpackhi_epi16(v1, zero));
            p += kStep;
        }
        n -= iters * kStep;
        // Widen the lanes to 64 bits before adding them together.
        const __m128i s01 = _mm_add_epi64(
            _mm_add_epi64(_mm_unpacklo_epi32(a0, zero), _mm_unpackhi_epi32(a0, zero)),
            _mm_add_epi64(_mm_unpacklo_epi32(a1, zero), _mm_unpackhi_epi32(a1, zero)));
        const __m128i s23 = _mm_add_epi64(
            _mm_add_epi64(_mm_unpacklo_epi32(a2, zero), _mm_unpackhi_epi32(a2, zero)),
            _mm_add_epi64(_mm_unpacklo_epi32(a3, zero), _mm_unpackhi_epi32(a3, zero)));
        std::uint64_t lanes[2];
        std::memcpy(lanes, &s01, sizeof lanes);
        total += lanes[0] + lanes[1];
        std::memcpy(lanes, &s23, sizeof lanes);
        total += lanes[0] + lanes[1];
    }
    return total;
}

// The whole span p[0, n), n >= 32, 64 bytes an iteration: the native-endian word sum as a 64-bit
// number. Each 16-bit word u is made signed as u - 32768 (flip its top bit), so that vpmaddwd
// (multiply by 1, add pairs) sums pairs of words into 32-bit lanes in one instruction; the
// 32768s are added back at the end. A lane moves by at most 65536 per iteration: flushing every
// 16384 iterations (1 MiB) keeps it in range, and a header-to-jumbo span never needs it. The
// tail is one 32-byte step and then the last < 32 bytes, as the 32 bytes that end the span with
// those already summed masked to zero (a zero word adds 32768 less, given back like the rest);
// a lone last byte is the low byte of its word. No scalar loop, however long the tail.
alignas(64) constexpr std::uint8_t kTailMask[64] = {
    0,    0,    0,    0,    0,    0,    0,    0,    0,    0,    0,    0,    0,    0,    0,    0,
    0,    0,    0,    0,    0,    0,    0,    0,    0,    0,    0,    0,    0,    0,    0,    0,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

__attribute__((target("avx2"))) inline std::int64_t lanes_sum(__m256i a0, __m256i a1) noexcept {
    const __m256i s =
        _mm256_add_epi64(_mm256_add_epi64(_mm256_cvtepi32_epi64(_mm256_castsi256_si128(a0)),
                                          _mm256_cvtepi32_epi64(_mm256_extracti128_si256(a0, 1))),
                         _mm256_add_epi64(_mm256_cvtepi32_epi64(_mm256_castsi256_si128(a1)),
                                          _mm256_cvtepi32_epi64(_mm256_extracti128_si256(a1, 1))));
    const __m128i h = _mm_add_epi64(_mm256_castsi256_si128(s), _mm256_extracti128_si256(s, 1));
    return _mm_cvtsi128_si64(h) + _mm_extract_epi64(h, 1);
}

__attribute__((target("avx2"))) std::uint64_t sum_avx2(const std::uint8_t* p,
                                                       std::size_t n) noexcept {
    constexpr std::size_t kStep = 64;
    constexpr std::size_t kMaddItersPerFlush = 16384;
    const __m256i flip = _mm256_set1_epi16(static_cast<short>(0x8000));
    const __m256i ones = _mm256_set1_epi16(1);
    const auto madd = [ flip, ones ](__m256i v) __attribute__((target("avx2"))) {
        return _mm256_madd_epi16(_mm256_xor_si256(v, flip), ones);
    };
    std::uint64_t odd = 0;
    if ((n & 1U) != 0) {
        --n;
        odd = p[n];  // x86 is little-endian: the low byte of a word padded with zero
    }
    const std::uint8_t* const end = p + n;
    std::uint64_t words = 0;  // 16-bit lanes given to vpmaddwd, each 32768 short
    std::int64_t total = 0;
    __m256i a0 = _mm256_setzero_si256();
    __m256i a1 = _mm256_setzero_si256();
    while (n >= kStep) {
        const std::size_t iters = std::min(n / kStep, kMaddItersPerFlush);
        for (std::size_t i = 0; i < iters; ++i) {
            a0 =
                _mm256_add_epi32(a0, madd(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p))));
            a1 = _mm256_add_epi32(
                a1, madd(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + 32))));
            p += kStep;
        }
        n -= iters * kStep;
        words += iters * (kStep / 2);
        if (n >= kStep) {  // another full flush follows: empty the lanes first
            total += lanes_sum(a0, a1);
            a0 = _mm256_setzero_si256();
            a1 = _mm256_setzero_si256();
        }
    }
    if (n >= 32) {
        a0 = _mm256_add_epi32(a0, madd(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p))));
        n -= 32;
        words += 16;
    }
    if (n != 0) {  // 0 < n < 32, even; the span has 32 bytes before `end`
        const __m256i last =
            _mm256_and_si256(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(end - 32)),
                             _mm256_loadu_si256(reinterpret_cast<const __m256i*>(kTailMask + n)));
        a1 = _mm256_add_epi32(a1, madd(last));
        words += 16;
    }
    total += lanes_sum(a0, a1);
    return static_cast<std::uint64_t>(total) + words * 32768U + odd;
}

struct BulkSum {
    // Either the whole span (n >= whole_from), or the largest multiple of `step` in it, the rest
    // summed by the scalar loop.
    std::uint64_t (*whole)(const std::uint8_t*, std::size_t) noexcept;
    std::size_t whole_from;
    std::uint64_t (*fn)(const std::uint8_t*, std::size_t) noexcept;
    std::size_t step;  // a power of two
};

// VXCHECK_NO_AVX2 (any value) keeps the SSE2 path on an AVX2 machine: for its test (CTest
// checksum_sse2_path) and for comparing the two.
BulkSum pick_bulk_sum() noexcept {
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2") && std::getenv("VXCHECK_NO_AVX2") == nullptr) {
        return {sum_avx2, 32, nullptr, 0};
    }
    return {nullptr, 0, sum_sse2, 32};
}

// Chosen once, before main(); constant afterwards.
const BulkSum kBulk = pick_bulk_sum();
#endif

// The n < 8 bytes at p as the native 64-bit word they start (the rest zero). Built from loads,
// not by copying bytes into a zeroed word: reading that word back would wait for the byte
// stores (no store forwarding from several narrow stores to one wide load).
std::uint64_t tail_word(const std::uint8_t* p, std::size_t n) noexcept {
    if constexpr (std::endian::native == std::endian::little) {
        std::uint64_t w = 0;
        std::size_t i = 0;
        if ((n & 4U) != 0) {
            std::uint32_t v;
            std::memcpy(&v, p, sizeof v);
            w = v;
            i = 4;
        }
        if ((n & 2U) != 0) {
            std::uint16_t v;
            std::memcpy(&v, p + i, sizeof v);
            w |= std::uint64_t{v} << (8 * i);
            i += 2;
        }
        if ((n & 1U) != 0) {
            w |= std::uint64_t{p[i]} << (8 * i);
        }
        return w;
    } else {
        std::uint64_t w = 0;
        std::memcpy(&w, p, n);  // the tail keeps its byte positions; the pad is zero
        return w;
    }
}

// One's-complement sum of n bytes read as native-endian words (odd tail zero-padded).
std::uint16_t native_sum(const std::uint8_t* p, std::size_t n) noexcept {
    std::uint64_t sum = 0;
#if defined(VXCHECK_X86_SIMD) && defined(__SSE2__)
    if (kBulk.whole != nullptr && n >= kBulk.whole_from) {
        return fold64(kBulk.whole(p, n));
    }
    if (kBulk.fn != nullptr && n >= kBulk.step) {
        const std::size_t bulk = n & ~(kBulk.step - 1);  // step: a power of two
        sum = kBulk.fn(p, bulk);  // < 2^62 for any span that fits in memory: no carry out
        p += bulk;
        n -= bulk;
    }
#endif
    while (n >= 8) {
        std::uint64_t w;
        std::memcpy(&w, p, sizeof w);
        add_carry(sum, w);
        p += 8;
        n -= 8;
    }
    if (n > 0) {
        add_carry(sum, tail_word(p, n));
    }
    return fold64(sum);
}

}  // namespace

std::uint16_t sum_of(Bytes bytes) noexcept {
    std::uint16_t s = native_sum(bytes.data(), bytes.size());
    if constexpr (std::endian::native == std::endian::little) {
        s = swap16(s);
    }
    return s;
}

void InternetChecksum::add(Bytes bytes) noexcept {
    add_sum(sum_of(bytes), bytes.size());
}

}  // namespace vxcheck::verify

// InternetChecksum and the RFC 1624 helpers against RFC vectors, hand-computed values and a naive
// word-at-a-time reference (packet_builder's ref_sum).

#include "vxcheck/verify/checksum.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <vector>

#include "packet_builder.h"

namespace vxcheck::verify {
namespace {

using test::ByteVec;
using test::from_hex;

std::uint16_t sum_of(const ByteVec& b) {
    InternetChecksum c;
    c.add(Bytes{b.data(), b.size()});
    return c.sum();
}

std::uint16_t reference(const ByteVec& b) {
    return test::ref_fold(test::ref_sum(b.data(), b.size()));
}

// --- fixed vectors ---------------------------------------------------------------------------

struct SumCase {
    const char* name;
    const char* hex;
    std::uint16_t sum;
};

const SumCase kSumCases[] = {
    // RFC 1071 4.1 / domain spec 0.1.
    SumCase{"rfc1071", "00 01 f2 03 f4 f5 f6 f7", 0xddf2}, SumCase{"empty", "", 0x0000},
    SumCase{"all_zero", "00 00 00 00 00 00 00 00 00 00 00", 0x0000},
    SumCase{"one_byte_is_high_byte", "01", 0x0100},
    SumCase{"three_bytes_padded", "01 02 03", 0x0402},
    SumCase{"odd_tail_ff", "ff ff ff", 0xff00},  // 0xffff + 0xff00
    SumCase{"end_around_carry", "ff ff 00 01", 0x0001},
    SumCase{"carry_once", "80 00 80 00", 0x0001},
    SumCase{"negative_zero_stays", "ff ff ff ff", 0xffff},
    SumCase{"nonzero_never_folds_to_zero", "ff fe 00 01", 0xffff},
    // 9 bytes: exercises the 8-byte loop plus a 1-byte tail.
    SumCase{"nine_bytes", "12 34 56 78 9a bc de f0 11", 0xf359},
    // Domain spec 0.3 pseudo-header as bytes: 10.244.1.0 -> 10.244.2.5, TCP, length 40.
    SumCase{"pseudo_header_0x191b", "0a f4 01 00 0a f4 02 05 00 06 00 28", 0x191b}};

TEST(FixedSum, MatchesHandComputedValues) {
    for (const SumCase& row : kSumCases) {
        SCOPED_TRACE(row.name);
        const ByteVec b = from_hex(row.hex);
        EXPECT_EQ(sum_of(b), row.sum) << row.hex;
        EXPECT_EQ(reference(b), row.sum) << "the reference disagrees with the table";
    }
}

TEST(InternetChecksum, Rfc1071ChecksumAndVerification) {
    const ByteVec b = from_hex("00 01 f2 03 f4 f5 f6 f7");
    EXPECT_EQ(ones_neg(sum_of(b)), 0x220d);
    // Summing the data plus the checksum gives all ones: the validity test.
    InternetChecksum c;
    c.add(Bytes{b.data(), b.size()});
    c.add_word(0x220d);
    EXPECT_EQ(c.sum(), 0xffff);
}

TEST(InternetChecksum, DomainPartialWorkedValueFromWords) {
    // TCP 10.244.1.0 -> 10.244.2.5, L4 length 40: the non-complemented pseudo sum is 0x191B.
    InternetChecksum c;
    for (const std::uint16_t w :
         std::initializer_list<std::uint16_t>{0x0af4, 0x0100, 0x0af4, 0x0205, 0x0006, 0x0028}) {
        c.add_word(w);
    }
    EXPECT_EQ(c.sum(), 0x191b);
}

// ipv4_pseudo_sum adds 32-bit numbers; the reference adds the pseudo-header's seven words.
TEST(InternetChecksum, Ipv4PseudoSumEqualsTheSumOfItsWords) {
    const auto reference = [](std::uint32_t src, std::uint32_t dst, std::uint8_t proto,
                              std::uint32_t len) {
        InternetChecksum c;
        for (const std::uint32_t w : {src >> 16, src & 0xffffU, dst >> 16, dst & 0xffffU, len >> 16,
                                      std::uint32_t{proto}, len & 0xffffU}) {
            c.add_word(static_cast<std::uint16_t>(w));
        }
        return c.sum();
    };
    EXPECT_EQ(ipv4_pseudo_sum(0x0af40100, 0x0af40205, 6, 40), 0x191b);  // domain spec 0.3
    EXPECT_EQ(ipv4_pseudo_sum(0, 0, 0, 0), 0);
    EXPECT_EQ(ipv4_pseudo_sum(0xffffffff, 0xffffffff, 0xff, 0xffffffff), 0x00ff);  // 6 x 0xffff
    EXPECT_EQ(ipv4_pseudo_sum(0xffff0000, 0, 0, 0), 0xffff);  // a nonzero multiple of 0xffff
    std::uint64_t x = 0x9e3779b97f4a7c15ULL;
    for (int i = 0; i < 100000; ++i) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        const auto src = static_cast<std::uint32_t>(x);
        const auto dst = static_cast<std::uint32_t>(x >> 32);
        const auto proto = static_cast<std::uint8_t>(x >> 13);
        // Mostly ordinary lengths, sometimes BIG TCP's 32-bit ones, sometimes extremes.
        const std::uint32_t len = i % 3 == 0   ? static_cast<std::uint32_t>(x >> 20)
                                  : i % 3 == 1 ? static_cast<std::uint32_t>(x >> 48)
                                               : (i % 2 == 0 ? 0xffffffffU : 0U);
        ASSERT_EQ(ipv4_pseudo_sum(src, dst, proto, len), reference(src, dst, proto, len))
            << std::hex << src << " " << dst << " " << unsigned{proto} << " " << len;
    }
}

TEST(InternetChecksum, WordsAndBytesAgree) {
    InternetChecksum words;
    words.add_word(0x0001);
    words.add_word(0xf203);
    InternetChecksum bytes;
    const ByteVec b = from_hex("00 01 f2 03");
    bytes.add(Bytes{b.data(), b.size()});
    EXPECT_EQ(words.sum(), bytes.sum());
    EXPECT_EQ(words.sum(), 0xf204);
}

TEST(InternetChecksum, AddWordAfterEvenSpan) {
    const ByteVec b = from_hex("00 01 f2 03 f4 f5");
    InternetChecksum c;
    c.add(Bytes{b.data(), b.size()});
    c.add_word(0xf6f7);
    EXPECT_EQ(c.sum(), 0xddf2);
}

TEST(InternetChecksum, EmptySpansChangeNothing) {
    const ByteVec b = from_hex("00 01 f2");
    InternetChecksum c;
    c.add(Bytes{});
    c.add(Bytes{b.data(), b.size()});  // odd: next span starts in a low byte
    c.add(Bytes{});
    const ByteVec rest = from_hex("03 f4 f5 f6 f7");
    c.add(Bytes{rest.data(), rest.size()});
    EXPECT_EQ(c.sum(), 0xddf2);
}

TEST(InternetChecksum, SplitAtOddBoundary) {
    // "00 01 f2" + "03 f4 f5 f6 f7": the second span's first byte is a low byte.
    const ByteVec b = from_hex("00 01 f2 03 f4 f5 f6 f7");
    InternetChecksum c;
    c.add(Bytes{b.data(), 3});
    c.add(Bytes{b.data() + 3, 5});
    EXPECT_EQ(c.sum(), 0xddf2);
    InternetChecksum one_by_one;
    for (const std::uint8_t byte : b) {
        one_by_one.add(Bytes{&byte, 1});
    }
    EXPECT_EQ(one_by_one.sum(), 0xddf2);
}

TEST(InternetChecksum, UnalignedStartAddress) {
    // The same 64 bytes summed from addresses with every alignment.
    std::vector<std::uint8_t> storage(64 + 8);
    for (std::size_t shift = 0; shift < 8; ++shift) {
        for (std::size_t i = 0; i < 64; ++i) {
            storage[shift + i] = static_cast<std::uint8_t>(0xa5 ^ (i * 7));
        }
        const ByteVec copy(storage.begin() + static_cast<std::ptrdiff_t>(shift),
                           storage.begin() + static_cast<std::ptrdiff_t>(shift + 64));
        InternetChecksum c;
        c.add(Bytes{storage.data() + shift, 64});
        EXPECT_EQ(c.sum(), reference(copy)) << "shift " << shift;
    }
}

TEST(InternetChecksum, RandomSplitsMatchContiguousSum) {
    std::mt19937 rng(20240229);
    for (int iter = 0; iter < 400; ++iter) {
        const std::size_t len = std::uniform_int_distribution<std::size_t>(0, 300)(rng);
        ByteVec b(len);
        // Bias towards 0xff / 0x00 so carries and negative zero show up.
        for (auto& x : b) {
            const unsigned r = rng() % 4;
            x = r == 0 ? 0xff : r == 1 ? 0x00 : static_cast<std::uint8_t>(rng());
        }
        const std::uint16_t want = reference(b);
        InternetChecksum whole;
        whole.add(Bytes{b.data(), b.size()});
        ASSERT_EQ(whole.sum(), want) << "len " << len;

        InternetChecksum split;
        std::size_t pos = 0;
        std::string cuts;
        while (pos < len) {
            const std::size_t n = std::uniform_int_distribution<std::size_t>(0, len - pos)(rng);
            split.add(Bytes{b.data() + pos, n});
            pos += n;
            cuts += std::to_string(n) + ",";
        }
        ASSERT_EQ(split.sum(), want) << "len " << len << " cuts " << cuts;
    }
}

TEST(InternetChecksum, LargeBuffers) {
    // 1 MiB of 0xff: every word is 0xffff, the sum stays negative zero.
    const ByteVec ones(1U << 20, 0xff);
    EXPECT_EQ(sum_of(ones), 0xffff);
    // 1 MiB of zeros sums to zero.
    const ByteVec zeros(1U << 20, 0x00);
    EXPECT_EQ(sum_of(zeros), 0x0000);
    // 64 KiB + 3 of pseudo-random bytes against the reference.
    std::mt19937 rng(7);
    ByteVec b((1U << 16) + 3);
    for (auto& x : b) {
        x = static_cast<std::uint8_t>(rng());
    }
    EXPECT_EQ(sum_of(b), reference(b));
    // 0x0001 repeated 0x10001 times: 0x10001 -> folds to 0x0002.
    ByteVec ones_words;
    for (int i = 0; i < 0x10001; ++i) {
        ones_words.push_back(0x00);
        ones_words.push_back(0x01);
    }
    EXPECT_EQ(sum_of(ones_words), 0x0002);
}

TEST(InternetChecksum, ManySpansAccumulate) {
    // 100000 spans of "ff ff" keep the accumulator's carries: still 0xffff.
    const ByteVec b{0xff, 0xff};
    InternetChecksum c;
    for (int i = 0; i < 100000; ++i) {
        c.add(Bytes{b.data(), b.size()});
    }
    EXPECT_EQ(c.sum(), 0xffff);
}

// --- one's-complement helpers -------------------------------------------------------------------

TEST(OnesComplement, Add) {
    EXPECT_EQ(ones_add(0x0000, 0x0000), 0x0000);
    EXPECT_EQ(ones_add(0xffff, 0x0001), 0x0001);
    EXPECT_EQ(ones_add(0x8000, 0x8000), 0x0001);
    EXPECT_EQ(ones_add(0xffff, 0xffff), 0xffff);
    EXPECT_EQ(ones_add(0x1234, 0xedcb), 0xffff);  // x + ~x = -0
    EXPECT_EQ(ones_neg(0x0000), 0xffff);
    EXPECT_EQ(ones_neg(0x220d), 0xddf2);
}

// RFC 1624 4: C = 0xCD7A (sum of the other words), m = 0x5555 -> HC = 0xDD2F; m' = 0x3285.
TEST(IncrementalUpdate, Rfc1624Section4Example) {
    EXPECT_EQ(ones_neg(ones_add(0xcd7a, 0x5555)), 0xdd2f);
    // Full recomputation after the change: ~(0xCD7A + 0x3285) = ~0xFFFF = 0x0000.
    EXPECT_EQ(ones_neg(ones_add(0xcd7a, 0x3285)), 0x0000);
    // Eqn. 3 agrees (RFC 1141's HC - ~m - m' form would give 0xFFFF here).
    EXPECT_EQ(incremental_update(0xdd2f, 0x5555, 0x3285), 0x0000);
}

TEST(IncrementalUpdate, MatchesRecomputationForRandomHeaders) {
    std::mt19937 rng(1624);
    for (int iter = 0; iter < 500; ++iter) {
        ByteVec h(20);
        for (auto& x : h) {
            x = static_cast<std::uint8_t>(rng());
        }
        h[0] |= 0x01;  // never all zero: recomputation then cannot produce the other zero
        h[10] = 0;
        h[11] = 0;
        const auto hc = static_cast<std::uint16_t>(~reference(h));
        const std::size_t word = (rng() % 9) * 2 + 2;  // any word but the first and checksum
        const std::size_t at = word == 10 ? 12 : word;
        const auto m = static_cast<std::uint16_t>((h[at] << 8) | h[at + 1]);
        const auto m_new = static_cast<std::uint16_t>(rng());
        h[at] = static_cast<std::uint8_t>(m_new >> 8);
        h[at + 1] = static_cast<std::uint8_t>(m_new);
        const auto recomputed = static_cast<std::uint16_t>(~reference(h));
        ASSERT_EQ(incremental_update(hc, m, m_new), recomputed)
            << std::hex << "hc " << hc << " m " << m << " m' " << m_new;
    }
}

TEST(ExpectedFromResidual, RemovesStoredFieldAndComplements) {
    // RFC 1071 data with a wrong field 0x1234: R = 0xDDF2 + 0x1234 = 0xF026 -> expected 0x220D.
    EXPECT_EQ(expected_from_residual(0xf026, 0x1234), 0x220d);
    // A valid segment (R = 0xFFFF) expects what it stores.
    EXPECT_EQ(expected_from_residual(0xffff, 0x220d), 0x220d);
    // Field 0 (UDP "no checksum"): R is the sum of the rest.
    EXPECT_EQ(expected_from_residual(0xddf2, 0x0000), 0x220d);
}

}  // namespace
}  // namespace vxcheck::verify

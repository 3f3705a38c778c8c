// The checksum-status ladder (verify/status_ladder.h): one test per rung, named after it, and
// the order between rungs that could both apply. The sums are given as numbers: the ladder
// decides from them alone (verify_test.cc checks the sums of real frames).

#include "vxcheck/verify/status_ladder.h"

#include <gtest/gtest.h>

#include <optional>
#include <random>

namespace vxcheck::verify {
namespace {

// TCP 10.244.1.0 -> 10.244.2.5, L4 length 40 (domain spec 0.3): pseudo-header sum 0x191B.
constexpr std::uint16_t kPseudo = 0x191b;
constexpr std::uint32_t kLength = 40;
constexpr std::uint16_t kPseudoZeroLength = 0x18f3;  // the same over length 0

// A captured checksum with residual `residual` and field `stored`: no rung before 4 applies.
L4Sums captured(std::uint16_t stored, std::uint16_t residual, bool udp = false) {
    return L4Sums{.udp = udp,
                  .captured = true,
                  .stored = stored,
                  .residual = residual,
                  .pseudo = kPseudo,
                  .length = kLength};
}

std::optional<std::uint16_t> substitute(std::uint16_t delta) {
    return delta;
}

TEST(StatusLadder, UdpZeroOverIpv4IsZero) {
    L4Sums s = captured(0, 0x1234, true);
    EXPECT_EQ(classify_l4(s), (L4Status{Status::Zero, Reason::None, 0x1234}));
}

TEST(StatusLadder, UdpZeroOverIpv6IsBad) {
    L4Sums s = captured(0, 0x1234, true);
    s.over_ipv6 = true;
    EXPECT_EQ(classify_l4(s), (L4Status{Status::Bad, Reason::ZeroOverIpv6, 0x1234}));
}

TEST(StatusLadder, TcpZeroIsAnOrdinaryValue) {
    EXPECT_EQ(classify_l4(captured(0, 0xffff)).status, Status::Ok);
    EXPECT_EQ(classify_l4(captured(0, 0x1234)).status, Status::Bad);
}

TEST(StatusLadder, UdpZeroComesBeforeFragment) {
    L4Sums s = captured(0, 0, true);
    s.fragment = true;
    s.captured = false;
    EXPECT_EQ(classify_l4(s).status, Status::Zero);
}

TEST(StatusLadder, FragmentIsUnverified) {
    L4Sums s = captured(0x1111, 0xffff);
    s.fragment = true;
    EXPECT_EQ(classify_l4(s), (L4Status{Status::Unverified, Reason::Fragment, 0xffff}));
}

TEST(StatusLadder, CutBySnaplenIsUnverifiedSnaplen) {
    L4Sums s{.cut_by_snaplen = true, .stored = 0x1111};
    EXPECT_EQ(classify_l4(s), (L4Status{Status::Unverified, Reason::Snaplen, 0}));
}

TEST(StatusLadder, UncapturedByALengthLieIsUnverifiedLengthMismatch) {
    L4Sums s{.cut_by_snaplen = false, .stored = 0x1111};
    EXPECT_EQ(classify_l4(s), (L4Status{Status::Unverified, Reason::LengthMismatch, 0}));
}

TEST(StatusLadder, ResidualAllOnesIsOk) {
    EXPECT_EQ(classify_l4(captured(0x9955, 0xffff)), (L4Status{Status::Ok, Reason::None, 0xffff}));
}

TEST(StatusLadder, FieldEqualToThePseudoHeaderSumIsPartial) {
    EXPECT_EQ(classify_l4(captured(kPseudo, 0x4242)),
              (L4Status{Status::Partial, Reason::None, 0x4242}));
}

TEST(StatusLadder, OkComesBeforePartial) {
    // A field that both verifies and equals the pseudo-header sum is ok.
    EXPECT_EQ(classify_l4(captured(kPseudo, 0xffff)).status, Status::Ok);
}

TEST(StatusLadder, FieldEqualToThePseudoHeaderSumOverLengthZeroIsPartialZeroLength) {
    EXPECT_EQ(classify_l4(captured(kPseudoZeroLength, 0x4242)),
              (L4Status{Status::Partial, Reason::PartialZeroLength, 0x4242}));
}

TEST(StatusLadder, PseudoSumWithoutLengthEqualsTheSumOverLengthZero) {
    EXPECT_EQ(pseudo_sum_without_length(kPseudo, kLength), kPseudoZeroLength);
    std::mt19937 gen(17);
    const auto rng = [&gen] { return static_cast<std::uint32_t>(gen()); };
    for (int i = 0; i < 10000; ++i) {
        const std::uint32_t src = rng();
        const std::uint32_t dst = rng();
        const auto proto = static_cast<std::uint8_t>(1 + rng() % 255);
        const std::uint32_t len = i % 2 == 0 ? rng() % 65536 : rng();
        EXPECT_EQ(pseudo_sum_without_length(ipv4_pseudo_sum(src, dst, proto, len), len),
                  ipv4_pseudo_sum(src, dst, proto, 0));
    }
}

TEST(StatusLadder, SuperPacketIsUnverifiedRatherThanBad) {
    L4Sums s = captured(0x1111, 0x4242);
    s.length_from_capture = true;
    EXPECT_EQ(classify_l4(s), (L4Status{Status::Unverified, Reason::SuperPacket, 0x4242}));
    // ... but a partial field is still recognised first.
    s.stored = kPseudo;
    EXPECT_EQ(classify_l4(s).status, Status::Partial);
}

TEST(StatusLadder, LocalChecksumOffloadSubstitutionThatVerifiesIsOk) {
    // Residual 0x4242 plus a substitution delta of ~0x4242 = 0xbdbd gives 0xffff.
    const L4Status st =
        classify_l4(captured(0x1111, 0x4242, true), [] { return substitute(0xbdbd); });
    EXPECT_EQ(st, (L4Status{Status::Ok, Reason::LocalChecksumOffload, 0xffff}));
}

TEST(StatusLadder, LocalChecksumOffloadSubstitutionThatFailsIsBad) {
    const L4Status st =
        classify_l4(captured(0x1111, 0x4242, true), [] { return substitute(0x0001); });
    EXPECT_EQ(st, (L4Status{Status::Bad, Reason::LocalChecksumOffload, 0x4243}));
}

TEST(StatusLadder, SubstitutionIsAskedForOnlyWhenNoEarlierRungApplies) {
    int asked = 0;
    const auto delta = [&asked] {
        ++asked;
        return substitute(0);
    };
    EXPECT_EQ(classify_l4(captured(0x1111, 0xffff, true), delta).status, Status::Ok);
    EXPECT_EQ(classify_l4(captured(kPseudo, 0x4242, true), delta).status, Status::Partial);
    EXPECT_EQ(classify_l4(captured(kPseudoZeroLength, 0x4242, true), delta).status,
              Status::Partial);
    EXPECT_EQ(asked, 0);
    EXPECT_EQ(classify_l4(captured(0x1111, 0x4242, true), delta).reason,
              Reason::LocalChecksumOffload);
    EXPECT_EQ(asked, 1);
}

TEST(StatusLadder, OtherwiseBad) {
    EXPECT_EQ(classify_l4(captured(0x1111, 0x4242)), (L4Status{Status::Bad, Reason::None, 0x4242}));
    // Nothing to substitute: still bad, with no reason.
    EXPECT_EQ(
        classify_l4(captured(0x1111, 0x4242, true), [] { return std::optional<std::uint16_t>{}; }),
        (L4Status{Status::Bad, Reason::None, 0x4242}));
}

TEST(StatusLadder, PartialSubstitutionIsFinalMinusPartialInItsByteLane) {
    // 0x191B partial, 0x9955 final: 0x9955 - 0x191B = 0x803A.
    EXPECT_EQ(partial_substitution(0x191b, 0x9955, false), 0x803a);
    EXPECT_EQ(partial_substitution(0x191b, 0x9955, true), 0x3a80);
}

}  // namespace
}  // namespace vxcheck::verify

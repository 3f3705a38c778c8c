// The connection rules, each pinned by a test named after it (domain spec 2, 4, 5).

#include "vxcheck/analyze/rules.h"

#include <gtest/gtest.h>

#include <vector>

#include "vxcheck/verify/checksum.h"

namespace vxcheck::analyze {
namespace {

const ConnectionOptions kDefaults{};

track::Endpoint ip(std::uint32_t a, std::uint16_t port = 0) {
    return track::ipv4_endpoint(a, port);
}
constexpr std::uint32_t kFlannelAddr = 0x0af40100;  // 10.244.1.0
constexpr std::uint32_t kPodAddr = 0x0af40105;      // 10.244.1.5

// --- SYN schedules (domain spec 4.1) ---

TEST(ConnectionRules, ScheduleClassicWithinTolerance) {
    const std::vector<double> exact{0, 1, 3, 7, 15, 31, 63};
    EXPECT_EQ(classify_schedule(exact), Schedule::Classic);
    // 10% of the scheduled time, or 0.25 s, whichever is larger.
    const std::vector<double> late{0, 1.2, 3.25, 7.6, 16.4, 33.9, 68.9};
    EXPECT_EQ(classify_schedule(late), Schedule::Classic);
    const std::vector<double> too_late{0, 1, 3, 7, 15, 31, 70};
    EXPECT_EQ(classify_schedule(too_late), Schedule::Other);
}

TEST(ConnectionRules, ScheduleLinearForLinux65) {
    const std::vector<double> linear{0, 1, 2, 3, 4, 5, 7, 11, 19, 35, 67};
    EXPECT_EQ(classify_schedule(linear), Schedule::Linear);
}

TEST(ConnectionRules, ScheduleGoesOnPastSixRetriesWithTheRtoCappedAt120s) {
    // tcp_syn_retries 8: the RTO doubles to 64 s, then TCP_RTO_MAX (120 s) caps it.
    const std::vector<double> classic{0, 1, 3, 7, 15, 31, 63, 127, 247};
    EXPECT_EQ(classify_schedule(classic), Schedule::Classic);
    const std::vector<double> uncapped{0, 1, 3, 7, 15, 31, 63, 127, 255, 511};
    EXPECT_EQ(classify_schedule(uncapped), Schedule::Other);
    // Linear (tcp_syn_linear_timeouts 4) with tcp_syn_retries 8.
    const std::vector<double> linear{0, 1, 2, 3, 4, 5, 7, 11, 19, 35, 67, 131, 251};
    EXPECT_EQ(classify_schedule(linear), Schedule::Linear);
}

TEST(ConnectionRules, ScheduleOneRetryAtOneSecondIsClassicOrLinear) {
    const std::vector<double> one{0, 1.05};
    EXPECT_EQ(classify_schedule(one), Schedule::ClassicOrLinear);
}

TEST(ConnectionRules, ScheduleNeedsTwoSyns) {
    EXPECT_EQ(classify_schedule(std::vector<double>{0}), Schedule::None);
    EXPECT_EQ(classify_schedule(std::vector<double>{}), Schedule::None);
}

TEST(ConnectionRules, ScheduleOtherForApplicationRetries) {
    EXPECT_EQ(classify_schedule(std::vector<double>{0, 5, 10}), Schedule::Other);
}

// --- Dropped vs rejected (domain spec 4.3) ---

TEST(ConnectionRules, SynDroppedNeedsTwoSynsWithSameIsnAndNoAnswer) {
    EXPECT_TRUE(attempt_dropped({.syns = 2}));
    EXPECT_FALSE(attempt_dropped({.syns = 1}));
    EXPECT_FALSE(attempt_dropped({.syns = 3, .answered = true}));
    EXPECT_FALSE(attempt_dropped({.syns = 3, .rst = true}));
    EXPECT_FALSE(attempt_dropped({.syns = 3, .icmp = true}));
}

TEST(ConnectionRules, SynRejectedByRstOrIcmp) {
    EXPECT_TRUE(attempt_rejected({.syns = 1, .rst = true}));
    EXPECT_TRUE(attempt_rejected({.syns = 1, .icmp = true}));
    EXPECT_FALSE(attempt_rejected({.syns = 5}));
}

TEST(ConnectionRules, OutcomeAnswerFirstThenRstThenIcmp) {
    EXPECT_EQ(outcome_of({.syns = 2, .answered = true, .rst = true}), Outcome::Established);
    EXPECT_EQ(outcome_of({.syns = 1, .rst = true, .icmp = true}), Outcome::RejectedRst);
    EXPECT_EQ(outcome_of({.syns = 1, .icmp = true}), Outcome::RejectedIcmp);
    EXPECT_EQ(outcome_of({.syns = 2}), Outcome::Dropped);
    EXPECT_EQ(outcome_of({.syns = 1}), Outcome::Unanswered);
}

TEST(ConnectionRules, OutcomeNamesAreTheJsonStrings) {
    EXPECT_EQ(to_string(Outcome::NoSyn), "no_syn");
    EXPECT_EQ(to_string(Outcome::RejectedIcmp), "rejected_icmp");
    EXPECT_EQ(to_string(Schedule::None), "");
    EXPECT_EQ(to_string(Schedule::ClassicOrLinear), "classic_or_linear");
    EXPECT_EQ(to_string(CorruptionVariant::B), "B");
}

// --- VTEP modes (domain spec 2.4) ---

TEST(ConnectionRules, VtepModeIsTheMajorityAndUnknownOnATie) {
    EXPECT_EQ(vtep_mode(3, 1), VtepMode::Zero);
    EXPECT_EQ(vtep_mode(1, 3), VtepMode::Full);
    EXPECT_EQ(vtep_mode(2, 2), VtepMode::Unknown);
    EXPECT_EQ(vtep_mode(0, 0), VtepMode::Unknown);
}

// --- Masquerade signatures (domain spec 5.1) ---

TEST(ConnectionRules, FlannelAddressIsXyz0OfPrefix) {
    EXPECT_TRUE(is_flannel_address(ip(kFlannelAddr), 24));
    EXPECT_FALSE(is_flannel_address(ip(kPodAddr), 24));
    EXPECT_TRUE(is_flannel_address(ip(0x0af40180), 25));  // 10.244.1.128/25
    EXPECT_FALSE(is_flannel_address(ip(kFlannelAddr), 32));
    track::Endpoint v6;
    v6.v6 = true;
    EXPECT_FALSE(is_flannel_address(v6, 24));
}

TEST(ConnectionRules, MasqueradePort600To664IsInnerSnat) {
    for (const std::uint16_t p : {std::uint16_t{600}, std::uint16_t{612}, std::uint16_t{664}}) {
        const InnerSnatReason r = masqueraded_port(p, kDefaults);
        EXPECT_EQ(r.kind, InnerSnatReason::Kind::MasqueradePrivilegedPort) << p;
        EXPECT_EQ(r.port, p);
    }
}

TEST(ConnectionRules, NfsReservedPorts665To1023AreNotMasqueradeEvidence) {
    for (const int port : {599, 665, 800, 1023}) {
        const auto p = static_cast<std::uint16_t>(port);
        EXPECT_FALSE(masqueraded_port(p, kDefaults)) << p;
    }
}

TEST(ConnectionRules, PortAbove1024OutsideEphemeralRangeIsInnerSnat) {
    const InnerSnatReason r = masqueraded_port(23456, kDefaults);
    EXPECT_EQ(r.kind, InnerSnatReason::Kind::OutsideEphemeralRange);
    EXPECT_EQ(r.range_min, 32768);
    EXPECT_EQ(r.range_max, 60999);
    EXPECT_TRUE(masqueraded_port(61000, kDefaults));
    EXPECT_FALSE(masqueraded_port(40000, kDefaults));
}

TEST(ConnectionRules, InnerSnatNeedsTheFlannelAddress) {
    EXPECT_FALSE(inner_snat(ip(kPodAddr, 612), {}, kDefaults));
    EXPECT_FALSE(inner_snat(std::nullopt, {}, kDefaults));
    EXPECT_EQ(inner_snat(ip(kFlannelAddr, 612), {}, kDefaults).kind,
              InnerSnatReason::Kind::MasqueradePrivilegedPort);
}

TEST(ConnectionRules, InnerSnatInferredFromOuterNatOnAnEphemeralPort) {
    const OuterSnatReason outer{.kind = OuterSnatReason::Kind::PortOutOfRange, .port = 7103};
    EXPECT_FALSE(inner_snat(ip(kFlannelAddr, 40000), {}, kDefaults));
    const InnerSnatReason r = inner_snat(ip(kFlannelAddr, 40000), outer, kDefaults);
    EXPECT_EQ(r.kind, InnerSnatReason::Kind::InferredFromOuterNat);
    EXPECT_EQ(r.port, 40000);
    EXPECT_FALSE(inner_snat(ip(kPodAddr, 40000), outer, kDefaults));
}

// --- Checksum fingerprints (domain spec 2.3, 2.4) ---

TEST(ConnectionRules, VariantAIs0xffffOnAZeroChecksumPair) {
    const auto a = classify_corruption(0xffff, 0xb942, 7103, VtepMode::Zero, kDefaults);
    ASSERT_TRUE(a);
    EXPECT_EQ(a->variant, CorruptionVariant::A);
    EXPECT_FALSE(a->pre_nat_sport);
    EXPECT_TRUE(classify_corruption(0xffff, 0xb942, 7103, VtepMode::Unknown, kDefaults));
    // A pair known to send full checksums: 0xffff is not variant A.
    const auto full = classify_corruption(0xffff, 0xb942, 7103, VtepMode::Full, kDefaults);
    EXPECT_TRUE(!full || full->variant != CorruptionVariant::A);
}

TEST(ConnectionRules, VariantBRecoversThePreNatPortFromTheResidual) {
    // Domain spec 2.4's synthetic check: 50000 rewritten to 7103, residual 0x586e.
    const auto b = classify_corruption(0x9f2b, 0x586e, 7103, VtepMode::Full, kDefaults);
    ASSERT_TRUE(b);
    EXPECT_EQ(b->variant, CorruptionVariant::B);
    EXPECT_EQ(b->pre_nat_sport, 50000);
    EXPECT_TRUE(classify_corruption(0x9f2b, 0x586e, 7103, VtepMode::Unknown, kDefaults));
}

TEST(ConnectionRules, TheFingerprintsConfidenceFollowsWhatElseTheWireShows) {
    // Variant A: high once the pair is known to send zero checksums.
    EXPECT_EQ(classify_corruption(0xffff, 0xb942, 7103, VtepMode::Zero, kDefaults)->confidence,
              Confidence::High);
    EXPECT_EQ(classify_corruption(0xffff, 0xb942, 7103, VtepMode::Unknown, kDefaults)->confidence,
              Confidence::Medium);
    // Variant B: 7103 on the wire is outside 32768-60998, so NAT rewrote it: high.
    EXPECT_EQ(classify_corruption(0x9f2b, 0x586e, 7103, VtepMode::Full, kDefaults)->confidence,
              Confidence::High);
    // 45000 on the wire is inside the range; the residual still gives back 50000: medium.
    const std::uint16_t residual = verify::ones_add(45000, verify::ones_neg(50000));
    const auto inside = classify_corruption(0x1234, residual, 45000, VtepMode::Full, kDefaults);
    ASSERT_TRUE(inside);
    EXPECT_EQ(inside->pre_nat_sport, 50000);
    EXPECT_EQ(inside->confidence, Confidence::Medium);
}

TEST(ConnectionRules, VariantBNeedsAPreNatPortInTheVxlanRangeAndNotAZeroPair) {
    EXPECT_FALSE(classify_corruption(0x9f2b, 0x586e, 7103, VtepMode::Zero, kDefaults));
    // A residual that gives back a port outside 32768-60998 is not the fingerprint.
    const std::uint16_t residual = verify::ones_add(7103, verify::ones_neg(1000));
    EXPECT_FALSE(classify_corruption(0x1234, residual, 7103, VtepMode::Full, kDefaults));
    // P_old == P_new: nothing was rewritten.
    EXPECT_FALSE(classify_corruption(0x1234, 0xffff, 40000, VtepMode::Full, kDefaults));
}

TEST(ConnectionRules, AZeroOuterChecksumIsNeverTheNatFingerprint) {
    // A tunnel over IPv6 sent without outer checksums: the verdict is bad (RFC 8200 8.1), and
    // the residual is whatever the packet sums to; P_new + ~R lands in the VXLAN range here.
    const std::uint16_t residual = verify::ones_add(7103, verify::ones_neg(50000));
    for (const VtepMode mode : {VtepMode::Unknown, VtepMode::Full, VtepMode::Zero}) {
        EXPECT_FALSE(classify_corruption(0x0000, residual, 7103, mode, kDefaults));
    }
    EXPECT_TRUE(classify_corruption(0x1234, residual, 7103, VtepMode::Unknown, kDefaults));
}

TEST(ConnectionRules, VariantAFieldIsTheAddressChangeAddedToZero) {
    // Domain spec 2.3: 192.168.1.10 -> 192.168.1.99 leaves ~0xc0a8 + ~0x010a + 0xc0a8 + 0x0163.
    EXPECT_EQ(variant_a_field(ip(0xc0a8010a), ip(0xc0a80163)), 0x0059);
    // The address kept: ~a + a is 0xffff whatever a is (the 0xffff of calico#3145).
    EXPECT_EQ(variant_a_field(ip(0xc0a8010a), ip(0xc0a8010a)), 0xffff);
    EXPECT_EQ(variant_a_field(ip(0x0a000001, 7103), ip(0x0a000001, 45000)), 0xffff);
    // IPv6: eight words each. fd00::10 -> fd00::99: only the last word changes, by 0x89.
    track::Endpoint a6;
    track::Endpoint b6;
    a6.v6 = b6.v6 = true;
    a6.addr[0] = b6.addr[0] = 0xfd;
    a6.addr[15] = 0x10;
    b6.addr[15] = 0x99;
    EXPECT_EQ(variant_a_field(a6, b6), 0x0089);
}

TEST(ConnectionRules, RewrittenSourceSumIsTheSumOfEveryAddressThatGivesTheField) {
    // The index VtepModes searches is keyed by the old address's word sum: for every old and
    // new address, the sum derived from the field is old's own.
    std::uint32_t x = 0x9e3779b9;
    for (int i = 0; i < 20000; ++i) {
        x = x * 1664525U + 1013904223U;
        const track::Endpoint old_src = ip(x);
        x = x * 1664525U + 1013904223U;
        const track::Endpoint new_src = ip(i % 7 == 0 ? 0xc0a80163 : x);
        const std::uint16_t field = variant_a_field(old_src, new_src);
        if (field == 0xffff) {
            continue;  // the address kept (or the same sum): classify_corruption's case
        }
        ASSERT_EQ(rewritten_source_sum(field, new_src), address_word_sum(old_src))
            << std::hex << x << " field " << field;
    }
    EXPECT_EQ(address_word_sum(ip(0xc0a8010a)), 0xc1b2);  // 0xc0a8 + 0x010a
    EXPECT_EQ(address_word_sum(ip(0)), 0xffff);           // zero in its non-zero-word form
    EXPECT_EQ(rewritten_source_sum(0x0059, ip(0xc0a80163)), 0xc1b2);
}

TEST(ConnectionRules, VariantAWithARewrittenSourceNamesTheAddressThatExplainsTheField) {
    const track::Endpoint node = ip(0xc0a8010a);    // 192.168.1.10, sends zero checksums
    const track::Endpoint other = ip(0xc0a8011e);   // 192.168.1.30, another zero sender
    const track::Endpoint second = ip(0xc0a80163);  // 192.168.1.99, NAT's choice
    const std::vector<track::Endpoint> zero{other, node};
    const auto a = classify_rewritten_source(0x0059, second, zero);
    ASSERT_TRUE(a);
    EXPECT_EQ(a->variant, CorruptionVariant::A);
    EXPECT_FALSE(a->pre_nat_sport);
    EXPECT_EQ(a->confidence, Confidence::High);
    ASSERT_TRUE(a->pre_nat_src);
    EXPECT_EQ(*a->pre_nat_src, node);
    // A field no zero sender explains, or no zero sender at all: not the fingerprint.
    EXPECT_FALSE(classify_rewritten_source(0x0058, second, zero));
    EXPECT_FALSE(classify_rewritten_source(0x0059, second, {}));
    // 0 and 0xffff are classify_corruption's: no checksum, and variant A with the address kept.
    EXPECT_FALSE(classify_rewritten_source(0x0000, second, zero));
    EXPECT_FALSE(classify_rewritten_source(0xffff, second, std::vector<track::Endpoint>{second}));
    // The source itself is not a rewritten address, nor is one of the other family.
    EXPECT_FALSE(classify_rewritten_source(0x0059, node, std::vector<track::Endpoint>{node}));
    track::Endpoint v6 = second;
    v6.v6 = true;
    EXPECT_FALSE(classify_rewritten_source(variant_a_field(node, second), v6,
                                           std::vector<track::Endpoint>{node}));
}

TEST(ConnectionRules, OuterSnatPortOutsideDriverRangeComesFirst) {
    const std::vector<CorruptedOuter> b{{.variant = CorruptionVariant::B,
                                         .sport = 7103,
                                         .pre_nat_sport = 50000,
                                         .stored = 0,
                                         .expected = 0,
                                         .point = 0,
                                         .frame = 0,
                                         .delivered_at = std::nullopt}};
    const OuterSnatReason r = outer_snat(std::uint16_t{7103}, b, kDefaults);
    EXPECT_EQ(r.kind, OuterSnatReason::Kind::PortOutOfRange);
    EXPECT_EQ(r.port, 7103);
    EXPECT_EQ(r.range_min, 32768);
    EXPECT_EQ(r.range_max, 60998);
    const OuterSnatReason c = outer_snat(std::nullopt, b, kDefaults);
    EXPECT_EQ(c.kind, OuterSnatReason::Kind::VariantB);
    EXPECT_EQ(c.pre_nat_port, 50000);
    EXPECT_FALSE(outer_snat(std::nullopt, {}, kDefaults));
}

// --- The verdict set ---

TEST(ConnectionRules, DoubleSnatIsInnerAndOuterSnat) {
    EXPECT_EQ(verdicts_of({.inner_snat = true, .outer_snat = true}),
              (std::vector<Verdict>{Verdict::InnerSnat, Verdict::OuterSnat, Verdict::DoubleSnat}));
    EXPECT_EQ(verdicts_of({.outer_snat = true}), (std::vector<Verdict>{Verdict::OuterSnat}));
}

TEST(ConnectionRules, VerdictsAreInEnumOrderAndCleanWhenNothingApplies) {
    EXPECT_EQ(verdicts_of({}), (std::vector<Verdict>{Verdict::Clean}));
    EXPECT_EQ(verdicts_of({.dropped = true, .rejected = true, .delayed = true, .corrupted = true}),
              (std::vector<Verdict>{Verdict::SynDropped, Verdict::SynRejected,
                                    Verdict::DelayedConnect, Verdict::OuterChecksumCorrupted}));
}

}  // namespace
}  // namespace vxcheck::analyze

// Live capture counts each verdict of a connection once, though it reports a connection when it
// gains a verdict and again at the end; the memory of what was counted is bounded (as many
// connections as may be tracked) and counts what it forgot (issue 22 item 4).

#include "app/verdict_memory.h"

#include <gtest/gtest.h>

namespace vxcheck::app {
namespace {

analyze::ConnectionReport report(std::uint32_t n, std::vector<analyze::Verdict> verdicts) {
    analyze::ConnectionReport c;
    c.client = track::ipv4_endpoint(0x0af40000U + n, 40000);
    c.server = track::ipv4_endpoint(0x0af40101U, 2049);
    c.verdicts = std::move(verdicts);
    return c;
}

constexpr std::uint32_t bit(analyze::Verdict v) {
    return 1U << static_cast<unsigned>(v);
}

TEST(VerdictMemory, AVerdictReportedTwiceCountsOnce) {
    VerdictMemory m(8);
    using V = analyze::Verdict;
    EXPECT_EQ(m.gained(report(1, {V::SynDropped})), bit(V::SynDropped));
    EXPECT_EQ(m.gained(report(1, {V::SynDropped, V::OuterSnat})), bit(V::OuterSnat));
    EXPECT_EQ(m.gained(report(1, {V::SynDropped})), 0U);
}

TEST(VerdictMemory, HoldsAtMostItsCapacityAndCountsWhatItForgets) {
    VerdictMemory m(3);
    using V = analyze::Verdict;
    for (std::uint32_t n = 0; n < 10; ++n) {
        m.gained(report(n, {V::SynDropped}));
    }
    EXPECT_EQ(m.size(), 3U);
    EXPECT_EQ(m.evicted(), 7U);
    EXPECT_EQ(m.gained(report(9, {V::SynDropped})), 0U);                  // remembered
    EXPECT_EQ(m.gained(report(0, {V::SynDropped})), bit(V::SynDropped));  // forgotten
}

TEST(VerdictMemory, CleanConnectionsAreCountedWithoutBeingRemembered) {
    VerdictMemory m(3);
    for (std::uint32_t n = 0; n < 10; ++n) {
        EXPECT_EQ(m.gained(report(n, {analyze::Verdict::Clean})), bit(analyze::Verdict::Clean));
    }
    EXPECT_EQ(m.size(), 0U);
    EXPECT_EQ(m.evicted(), 0U);
}

}  // namespace
}  // namespace vxcheck::app

// Capture points beyond analyze::kMaxPoints (connection_report.h): analysed, never followed
// across points. A SYN seen there joins the transmission with its IP ID and TSval unless the
// first such point that saw that transmission sees it again; no hop names such a point; the run
// counts the points.

#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "feeder.h"
#include "packet_builder.h"
#include "vxcheck/analyze/connections.h"

namespace vxcheck::test {
namespace {

namespace tf = decode::tcp_flag;
using analyze::kMaxPoints;
using analyze::Verdict;

constexpr std::uint32_t kIsn = 4000;
constexpr std::uint16_t kPoints = kMaxPoints + 8;
constexpr std::uint16_t kBeyond = kMaxPoints + 3;  // a point not followed

PacketBuilder syn(std::uint16_t ip_id) {
    return PacketBuilder()
        .ethernet()
        .ipv4("10.244.1.5", "10.244.1.9")
        .ipv4_id(ip_id)
        .tcp(41000, 2049, tf::kSyn, kIsn);
}
PacketBuilder syn_ack() {
    return PacketBuilder()
        .ethernet()
        .ipv4("10.244.1.9", "10.244.1.5")
        .tcp(2049, 41000, tf::kSyn | tf::kAck, 9000, kIsn + 1);
}

analyze::ConnectionReport only(analyze::ConnectionAnalyzer& a) {
    auto r = a.finish();
    EXPECT_EQ(r.size(), 1U);
    return r.empty() ? analyze::ConnectionReport{} : r.front();
}

class PointsBeyondCap : public ::testing::Test {
  protected:
    PointsBeyondCap() {
        for (std::uint16_t p = 0; p < kPoints; ++p) {
            a.add_point("veth" + std::to_string(p));
        }
    }
    // One transmission (IP ID) seen at the points [from, to), a microsecond apart from t_s.
    void cross(std::uint16_t ip_id, double t_s, std::uint16_t from, std::uint16_t to) {
        for (std::uint16_t p = from; p < to; ++p) {
            feed.at_point(p);
            feed.send_at(syn(ip_id), t_s + (p - from) * 1e-6);
        }
    }
    analyze::ConnectionAnalyzer a{{}};
    Feeder feed{a};
};

TEST_F(PointsBeyondCap, OneSynAtEveryPointCountsOnceAsAtEachPointAlone) {
    cross(1, 0.0, 0, kPoints);
    cross(2, 1.0, 0, kPoints);  // the retransmission, one second later
    feed.at_point(kPoints - 1);
    feed.send_at(syn_ack(), 1.001);
    const auto r = only(a);
    EXPECT_EQ(r.syns, 2U);
    EXPECT_EQ(r.verdicts, std::vector<Verdict>{Verdict::DelayedConnect});
    EXPECT_EQ(r.points.size(), std::size_t{kMaxPoints});
    EXPECT_TRUE(r.points_beyond_cap);
    EXPECT_TRUE(r.hops.empty());
    EXPECT_EQ(a.stats().points_not_followed, 8U);
}

TEST_F(PointsBeyondCap, TheSameSynTwiceAtItsFirstPointBeyondTheCapIsTwoTransmissions) {
    feed.at_point(kBeyond);
    feed.send_at(syn(1), 0.0);
    feed.send_at(syn(1), 0.5);  // the same IP ID again where it was seen: not another point's copy
    const auto r = only(a);
    EXPECT_EQ(r.syns, 2U);
    EXPECT_TRUE(r.points.empty());
    EXPECT_TRUE(r.points_beyond_cap);
}

TEST_F(PointsBeyondCap, TheSameSynAtAnotherPointBeyondTheCapIsOneTransmission) {
    feed.at_point(kBeyond);
    feed.send_at(syn(1), 0.0);
    feed.at_point(kBeyond + 1);
    feed.send_at(syn(1), 0.000001);
    EXPECT_EQ(only(a).syns, 1U);
}

TEST_F(PointsBeyondCap, NoHopNamesAPointBeyondTheCap) {
    // SYN #1 at points 0, 1 and one beyond the cap; SYN #2 at point 0 only, never answered.
    cross(1, 0.0, 0, 2);
    feed.at_point(kBeyond);
    feed.send_at(syn(1), 0.000002);
    cross(2, 1.0, 0, 1);
    const auto r = only(a);
    // SYN #1's last point is unknown (it was seen beyond the cap): no hop for it. SYN #2 never
    // reached point 1, and was last seen at point 0.
    ASSERT_EQ(r.hops.size(), 1U);
    EXPECT_EQ(r.hops[0].kind, analyze::Hop::Kind::NeverReached);
    EXPECT_EQ(r.hops[0].syn_number, 2U);
    EXPECT_EQ(r.hops[0].last_point, 0);
    EXPECT_EQ(r.hops[0].missing, analyze::PointMask{1} << 1);
    EXPECT_EQ(r.points, (std::vector<std::string>{"veth0", "veth1"}));
}

TEST_F(PointsBeyondCap, ThePointsFollowedReachTheCap) {
    // The last point followed joins and names hops as any other: SYN #2 never reached it.
    const std::uint16_t last = kMaxPoints - 1;
    feed.at_point(0);
    feed.send_at(syn(1), 0.0);
    feed.at_point(last);
    feed.send_at(syn(1), 0.000001);
    feed.at_point(0);
    feed.send_at(syn(2), 1.0);
    const auto r = only(a);
    EXPECT_EQ(r.syns, 2U);
    EXPECT_FALSE(r.points_beyond_cap);
    ASSERT_FALSE(r.hops.empty());
    EXPECT_EQ(r.hops.back().kind, analyze::Hop::Kind::NeverReached);
    EXPECT_EQ(r.hops.back().missing, analyze::PointMask{1} << last);
    EXPECT_EQ(a.stats().points_not_followed, 0U);
}

TEST_F(PointsBeyondCap, EachPointBeyondTheCapIsCountedOnce) {
    feed.at_point(kBeyond);
    feed.send_at(syn(1), 0.0);
    feed.send_at(syn_ack(), 0.001);
    feed.at_point(kBeyond + 2);
    feed.send_at(syn(2), 0.002);
    EXPECT_EQ(a.stats().points_not_followed, 2U);
}

}  // namespace
}  // namespace vxcheck::test

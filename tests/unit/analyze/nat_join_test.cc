// The join across NAT (issue 18 items 3-5): the same SYN before and after NAT, recognised by
// its ISN, IP ID, TSval, window scale and MSS (clamping only lowers it) within the join window
// and in the order NAT imposes; never a wrong join. And the path other SYNs to the same node
// took, to tell where a SYN stopped.

#include <gtest/gtest.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "feeder.h"
#include "packet_builder.h"
#include "vxcheck/analyze/connections.h"

namespace vxcheck::test {
namespace {

namespace tf = decode::tcp_flag;
using analyze::ConnectionReport;
using analyze::NatJoinProblem;

constexpr std::uint32_t kIsn = 0x6A5B4C3D;
constexpr std::uint16_t kId = 0x4100;

ByteVec timestamp(std::uint32_t tsval) {
    return {1,
            1,
            8,
            10,
            static_cast<std::uint8_t>(tsval >> 24),
            static_cast<std::uint8_t>(tsval >> 16),
            static_cast<std::uint8_t>(tsval >> 8),
            static_cast<std::uint8_t>(tsval),
            0,
            0,
            0,
            0};
}

// A SYN's options as Linux orders them: an MSS and a window-scale option when given, around
// the timestamp option.
ByteVec syn_options(std::optional<std::uint16_t> mss, std::optional<std::uint8_t> wscale) {
    ByteVec o;
    if (mss) {
        o.insert(o.end(),
                 {2, 4, static_cast<std::uint8_t>(*mss >> 8), static_cast<std::uint8_t>(*mss)});
    }
    const ByteVec ts = timestamp(3100000000U);
    o.insert(o.end(), ts.begin(), ts.end());
    if (wscale) {
        o.insert(o.end(), {1, 3, 3, *wscale});
    }
    return o;
}

// The host client's SYN to the ClusterIP, as sent.
PacketBuilder pre_nat(std::uint16_t ip_id = kId, std::uint16_t sport = 40000) {
    return PacketBuilder()
        .ethernet()
        .ipv4("192.168.1.10", "10.96.0.10")
        .ipv4_id(ip_id)
        .tcp(sport, 2049, tf::kSyn, kIsn)
        .tcp_options(timestamp(3100000000U));
}

// The same SYN after DNAT to the pod and MASQUERADE to flannel.1's address.
PacketBuilder post_nat(std::uint16_t ip_id = kId) {
    return PacketBuilder()
        .ethernet()
        .ipv4("10.244.1.0", "10.244.2.5")
        .ipv4_id(ip_id)
        .tcp(23456, 2049, tf::kSyn, kIsn)
        .tcp_options(timestamp(3100000000U));
}

// A SYN from `src`:`sport` inside VXLAN between the two nodes.
PacketBuilder in_vxlan(std::string_view src, std::string_view dst, std::uint16_t sport) {
    return PacketBuilder()
        .ethernet()
        .ipv4("192.168.1.10", "192.168.1.20")
        .udp(50001, 8472)
        .vxlan(1)
        .ethernet()
        .ipv4(src, dst)
        .ipv4_id(kId)
        .tcp(sport, 2049, tf::kSyn, kIsn)
        .tcp_options(timestamp(3100000000U));
}

class NatJoin : public ::testing::Test {
  protected:
    NatJoin() {
        a.add_point("prenat");
        a.add_point("flannel1");
        a.add_point("eth0");
    }
    analyze::ConnectionAnalyzer a{{}};
    Feeder feed{a};

    void at(std::uint16_t point, const PacketBuilder& b, double t_s) {
        feed.at_point(point);
        feed.send_at(b, t_s);
    }
};

TEST_F(NatJoin, TheSameSynUnderAnotherTupleWithinTheWindowIsOneConnection) {
    at(0, pre_nat(), 0.0);
    at(1, post_nat(), 0.000005);
    const std::vector<ConnectionReport> r = a.finish();
    ASSERT_EQ(r.size(), 1U);
    ASSERT_TRUE(r[0].as_sent);
    EXPECT_EQ(track::to_string(r[0].as_sent->client), "192.168.1.10:40000");
    EXPECT_EQ(track::to_string(r[0].as_sent->server), "10.96.0.10:2049");
    EXPECT_EQ(r[0].as_sent->point, 0);
    EXPECT_EQ(track::to_string(r[0].client), "10.244.1.0:23456");  // the underlay tuple stays
    EXPECT_EQ(r[0].inner_snat.kind, analyze::InnerSnatReason::Kind::Rewritten);
    ASSERT_EQ(r[0].path.size(), 2U);
    EXPECT_TRUE(r[0].path[0].pre_nat);
    EXPECT_EQ(r[0].path[1].point, 1);
}

// A data segment of a connection whose SYN came before the capture: from the client as sent
// (pre) or after DNAT and MASQUERADE; `ip_id`, `seq`, `len` the segment's.
PacketBuilder data_segment(bool pre, std::uint16_t ip_id, std::uint32_t seq, std::size_t len) {
    PacketBuilder b;
    b.ethernet()
        .ipv4(pre ? "192.168.1.10" : "10.244.1.0", pre ? "10.96.0.10" : "10.244.2.5")
        .ipv4_id(ip_id)
        .tcp(pre ? 40000 : 23456, 2049, tf::kAck | tf::kPsh, seq, 0x11335578)
        .payload(len);
    return b;
}

TEST_F(NatJoin, AConnectionWithoutSynsIsJoinedByItsClientsDataSegments) {
    at(0, data_segment(true, 0x4400, 5000, 44), 0.0);
    at(1, data_segment(false, 0x4400, 5000, 44), 0.000005);
    at(0, data_segment(true, 0x4401, 5044, 44), 1.0);
    at(1, data_segment(false, 0x4401, 5044, 44), 1.000005);
    const std::vector<ConnectionReport> r = a.finish();
    ASSERT_EQ(r.size(), 1U);
    EXPECT_EQ(r[0].outcome, analyze::Outcome::NoSyn);
    ASSERT_TRUE(r[0].as_sent);
    EXPECT_EQ(track::to_string(r[0].as_sent->client), "192.168.1.10:40000");
    EXPECT_EQ(track::to_string(r[0].as_sent->server), "10.96.0.10:2049");
    EXPECT_EQ(r[0].as_sent->point, 0);
    EXPECT_EQ(track::to_string(r[0].client), "10.244.1.0:23456");
    EXPECT_EQ(r[0].inner_snat.kind, analyze::InnerSnatReason::Kind::Rewritten);
    ASSERT_EQ(r[0].path.size(), 2U);
    EXPECT_TRUE(r[0].path[0].pre_nat);
    EXPECT_EQ(r[0].path[0].first_frame, 1U);
}

TEST_F(NatJoin, DataSegmentsThatDifferInIpIdLengthOrAckAreNotJoined) {
    at(0, data_segment(true, 0x4400, 5000, 44), 0.0);
    at(1, data_segment(false, 0x4401, 5000, 44), 0.000005);  // another IP ID
    at(0, data_segment(true, 0x4402, 5044, 44), 1.0);
    at(1, data_segment(false, 0x4402, 5044, 40), 1.000005);  // another length
    const std::vector<ConnectionReport> r = a.finish();
    ASSERT_EQ(r.size(), 2U);
    for (const ConnectionReport& c : r) {
        EXPECT_FALSE(c.as_sent);
    }
}

TEST_F(NatJoin, TheJoinDoesNotDependOnWhichFileIsReadFirst) {
    at(1, post_nat(), 0.000005);  // the post-NAT point's file first
    at(0, pre_nat(), 0.0);
    const std::vector<ConnectionReport> r = a.finish();
    ASSERT_EQ(r.size(), 1U);
    ASSERT_TRUE(r[0].as_sent);
    EXPECT_EQ(track::to_string(r[0].as_sent->client), "192.168.1.10:40000");
    EXPECT_EQ(track::to_string(r[0].client), "10.244.1.0:23456");
}

TEST_F(NatJoin, SightingsFurtherApartThanTheWindowAreNotJoinedButReportedAsClockSkew) {
    at(0, pre_nat(), 0.0);
    at(1, post_nat(), 5.0);  // the points' clocks disagree by 5 s
    const std::vector<ConnectionReport> r = a.finish();
    ASSERT_EQ(r.size(), 2U);
    for (const ConnectionReport& c : r) {
        EXPECT_FALSE(c.as_sent);
        EXPECT_EQ(c.nat_problem, NatJoinProblem::ClockSkew);
        EXPECT_NEAR(c.nat_skew_s, 5.0, 1e-3);
    }
}

TEST_F(NatJoin, ATunnelledSightingBeforeAPlainOneIsTheWrongOrderForNat) {
    at(2, in_vxlan("192.168.1.10", "10.96.0.10", 40000), 0.0);  // inside the tunnel first
    at(1, post_nat(), 0.000005);  // then without it, under another tuple
    const std::vector<ConnectionReport> r = a.finish();
    ASSERT_EQ(r.size(), 2U);
    for (const ConnectionReport& c : r) {
        EXPECT_FALSE(c.as_sent);
        EXPECT_EQ(c.nat_problem, NatJoinProblem::WrongOrder);
    }
}

TEST_F(NatJoin, OnePointSeeingOneSynIdentityUnderTwoTuplesJoinsNothing) {
    at(1, pre_nat(), 0.0);
    at(1, post_nat(), 0.000005);  // the same point: two SYNs that happen to share the identity
    const std::vector<ConnectionReport> r = a.finish();
    ASSERT_EQ(r.size(), 2U);
    for (const ConnectionReport& c : r) {
        EXPECT_FALSE(c.as_sent);
        EXPECT_EQ(c.nat_problem, NatJoinProblem::None);
    }
}

TEST_F(NatJoin, TheSameIsnWithAnotherIpIdIsAnotherSyn) {
    at(0, pre_nat(kId), 0.0);
    at(1, post_nat(kId + 1), 0.000005);
    const std::vector<ConnectionReport> r = a.finish();
    ASSERT_EQ(r.size(), 2U);
    for (const ConnectionReport& c : r) {
        EXPECT_FALSE(c.as_sent);
        EXPECT_EQ(c.nat_problem, NatJoinProblem::None);
    }
}

// NAT keeps a SYN's options; MSS clamping (TCPMSS) between the two points lowers the MSS
// option, or adds one at most 536 to a SYN without one; nothing raises or removes one, nor
// touches the window scale. In either order of reading the two points' files.
TEST(NatJoinSynOptions, TheSameSynAfterNatHasItsOptionsOrAClampedMss) {
    using Mss = std::optional<std::uint16_t>;
    using Wscale = std::optional<std::uint8_t>;
    struct Row {
        const char* name;
        Mss pre_mss;
        Wscale pre_wscale;
        Mss post_mss;
        Wscale post_wscale;
        bool joined;
    };
    const std::vector<Row> rows{
        {"the same options", 1460, 7, 1460, 7, true},
        {"no options but the timestamp", std::nullopt, std::nullopt, std::nullopt, std::nullopt,
         true},
        {"another window scale", 1460, 7, 1460, 8, false},
        {"a window scale removed", 1460, 7, 1460, std::nullopt, false},
        {"a window scale added", 1460, std::nullopt, 1460, 7, false},
        {"the MSS clamped", 1460, 7, 1410, 7, true},
        {"the MSS raised", 1410, 7, 1460, 7, false},
        {"the MSS removed", 1460, 7, std::nullopt, 7, false},
        {"an MSS added at the IPv4 default", std::nullopt, 7, 536, 7, true},
        {"an MSS added above the IPv4 default", std::nullopt, 7, 537, 7, false},
    };
    for (const Row& row : rows) {
        for (const bool post_first : {false, true}) {
            SCOPED_TRACE(std::string(row.name) + (post_first ? ", post-NAT file first" : ""));
            analyze::ConnectionAnalyzer a{{}};
            a.add_point("prenat");
            a.add_point("flannel1");
            Feeder feed{a};
            PacketBuilder pre = pre_nat();
            pre.tcp_options(syn_options(row.pre_mss, row.pre_wscale));
            PacketBuilder post = post_nat();
            post.tcp_options(syn_options(row.post_mss, row.post_wscale));
            if (post_first) {
                feed.at_point(1);
                feed.send_at(post, 0.000005);
            }
            feed.at_point(0);
            feed.send_at(pre, 0.0);
            if (!post_first) {
                feed.at_point(1);
                feed.send_at(post, 0.000005);
            }
            const std::vector<ConnectionReport> r = a.finish();
            ASSERT_EQ(r.size(), row.joined ? 1U : 2U);
            for (const ConnectionReport& c : r) {
                EXPECT_EQ(c.as_sent.has_value(), row.joined);
                EXPECT_EQ(c.nat_problem, NatJoinProblem::None);
            }
        }
    }
}

// A SYN sharing the ISN, IP ID and TSval of the one indexed but not its options (another window
// scale, or an MSS above the indexed one's) does not take its slot within the window: the
// indexed SYN's own post-NAT sighting still joins it.
TEST(NatJoinSynOptions, AnotherSynWithTheSameIdentityLeavesTheIndexedOneItsSlot) {
    struct Other {
        const char* name;
        std::uint16_t mss;
        std::uint8_t wscale;
    };
    for (const Other& o :
         {Other{"another window scale", 1460, 8}, Other{"the MSS raised", 1500, 7}}) {
        SCOPED_TRACE(o.name);
        analyze::ConnectionAnalyzer a{{}};
        a.add_point("prenat");
        a.add_point("flannel1");
        a.add_point("eth0");
        Feeder feed{a};
        PacketBuilder pre = pre_nat();
        pre.tcp_options(syn_options(1460, 7));
        const PacketBuilder other = PacketBuilder()  // under a third tuple
                                        .ethernet()
                                        .ipv4("10.244.1.0", "10.244.2.5")
                                        .ipv4_id(kId)
                                        .tcp(23457, 2049, tf::kSyn, kIsn)
                                        .tcp_options(syn_options(o.mss, o.wscale));
        PacketBuilder post = post_nat();
        post.tcp_options(syn_options(1410, 7));
        feed.at_point(0);
        feed.send_at(pre, 0.0);
        feed.at_point(1);
        feed.send_at(other, 0.000002);
        feed.at_point(2);
        feed.send_at(post, 0.000005);
        const std::vector<ConnectionReport> r = a.finish();
        ASSERT_EQ(r.size(), 2U);
        const ConnectionReport& joined = r[0].as_sent ? r[0] : r[1];
        const ConnectionReport& lone = r[0].as_sent ? r[1] : r[0];
        ASSERT_TRUE(joined.as_sent);
        EXPECT_EQ(track::to_string(joined.as_sent->client), "192.168.1.10:40000");
        EXPECT_EQ(track::to_string(joined.client), "10.244.1.0:23456");
        EXPECT_EQ(track::to_string(lone.client), "10.244.1.0:23457");
        EXPECT_FALSE(lone.as_sent);
    }
}

// Further apart than the window the order of two sightings is not known: options that fit
// clamping in either order are the same SYN (clock skew), other window scales another SYN.
TEST_F(NatJoin, SightingsFurtherApartThanTheWindowAreComparedInEitherOrder) {
    PacketBuilder pre = pre_nat();
    pre.tcp_options(syn_options(1410, 7));
    PacketBuilder post = post_nat();
    post.tcp_options(syn_options(1460, 7));  // higher, but which one came first is not known
    at(0, pre, 0.0);
    at(1, post, 5.0);
    std::vector<ConnectionReport> r = a.finish();
    ASSERT_EQ(r.size(), 2U);
    for (const ConnectionReport& c : r) {
        EXPECT_EQ(c.nat_problem, NatJoinProblem::ClockSkew);
    }

    analyze::ConnectionAnalyzer b{{}};
    b.add_point("prenat");
    b.add_point("flannel1");
    Feeder feed_b{b};
    post.tcp_options(syn_options(1460, 8));
    feed_b.at_point(0);
    feed_b.send_at(pre, 0.0);
    feed_b.at_point(1);
    feed_b.send_at(post, 5.0);
    r = b.finish();
    ASSERT_EQ(r.size(), 2U);
    for (const ConnectionReport& c : r) {
        EXPECT_FALSE(c.as_sent);
        EXPECT_EQ(c.nat_problem, NatJoinProblem::None);
    }
}

TEST_F(NatJoin, APreNatRecordWithNoPostNatMatchIsReportedUnmatched) {
    at(0, pre_nat(), 0.0);
    at(1, post_nat(), 0.000005);
    at(0, pre_nat(0x4200, 40002), 0.5);  // at the pre-NAT point only
    const std::vector<ConnectionReport> r = a.finish();
    ASSERT_EQ(r.size(), 2U);
    const ConnectionReport& lone = r[0].as_sent ? r[1] : r[0];
    EXPECT_EQ(lone.client.port, 40002);
    EXPECT_EQ(lone.nat_problem, NatJoinProblem::Unmatched);
}

TEST_F(NatJoin, WithoutAPreNatPointNothingChanges) {
    at(1, post_nat(), 0.0);
    at(2, in_vxlan("10.244.1.0", "10.244.2.5", 23456), 0.00002);
    const std::vector<ConnectionReport> r = a.finish();
    ASSERT_EQ(r.size(), 1U);  // one tuple at both points: one record, no NAT path
    EXPECT_FALSE(r[0].as_sent);
    EXPECT_TRUE(r[0].path.empty());
    EXPECT_EQ(r[0].nat_problem, NatJoinProblem::None);
    EXPECT_EQ(r[0].syns, 1U);
}

// Pod to pod over three points: a SYN that stopped after the second point never reached the
// third, which another SYN to the same node showed comes next.
TEST_F(NatJoin, ASynThatStoppedShortMissesThePointOtherSynsToItsNodeReached) {
    const auto pod_syn = [](std::uint16_t sport, std::uint16_t id, bool tunnelled) {
        PacketBuilder b;
        b.ethernet();
        if (tunnelled) {
            b.ipv4("192.168.1.10", "192.168.1.20").udp(50001, 8472).vxlan(1).ethernet();
        }
        b.ipv4("10.244.1.5", "10.244.2.5")
            .ipv4_id(id)
            .tcp(sport, 2049, tf::kSyn, kIsn + sport)
            .tcp_options(timestamp(7U + sport));
        return b;
    };
    at(0, pod_syn(41000, 1, false), 0.0);     // flannel.1
    at(1, pod_syn(41000, 1, true), 0.00001);  // eth0, in the tunnel
    at(2, pod_syn(41000, 1, false), 0.00002);
    at(0, pod_syn(41002, 9, false), 1.0);
    at(1, pod_syn(41002, 9, true), 1.00001);  // never at point 2
    const std::vector<ConnectionReport> r = a.finish();
    ASSERT_EQ(r.size(), 2U);
    const ConnectionReport& lost = r[0].client.port == 41002 ? r[0] : r[1];
    const ConnectionReport& fine = r[0].client.port == 41002 ? r[1] : r[0];
    ASSERT_EQ(lost.hops.size(), 1U);
    EXPECT_EQ(lost.hops[0].kind, analyze::Hop::Kind::NeverReached);
    EXPECT_EQ(lost.hops[0].last_point, 1);
    EXPECT_EQ(lost.hops[0].missing, 1U << 2);
    ASSERT_EQ(lost.path.size(), 2U);
    EXPECT_FALSE(lost.path[0].tunnelled);  // the first hop as it was seen there, not later
    EXPECT_TRUE(lost.path[1].tunnelled);
    EXPECT_EQ(lost.path[1].outer_sport, 50001);
    EXPECT_TRUE(fine.hops.empty());
    EXPECT_TRUE(fine.path.empty());
}

}  // namespace
}  // namespace vxcheck::test

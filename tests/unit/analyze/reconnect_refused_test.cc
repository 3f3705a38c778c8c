// Connections that come back (issue 19 item 6) and nfs_endpoint_refused (issue 19; domain spec 7,
// 7.1 items 10 and 12): a SYN with a new ISN on a closed 4-tuple starts a new connection, and a
// run of refused reconnects to an NFS endpoint gets the verdict on every attempt.

#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "feeder.h"
#include "packet_builder.h"
#include "vxcheck/analyze/connections.h"
#include "vxcheck/analyze/plugin.h"
#include "vxcheck/analyze/rules.h"

namespace vxcheck::test {
namespace {

namespace tf = decode::tcp_flag;
using analyze::ConnectAttempt;
using analyze::ConnectionReport;
using analyze::RefusedEndpoint;
using analyze::Verdict;

struct Path {
    std::string client = "10.244.1.5";
    std::string server = "10.244.2.5";
    std::uint16_t dport = 2049;
};

PacketBuilder syn(const Path& p, std::uint16_t sport, std::uint32_t isn) {
    return PacketBuilder().ethernet().ipv4(p.client, p.server).tcp(sport, p.dport, tf::kSyn, isn);
}
PacketBuilder answer(const Path& p, std::uint16_t sport, std::uint8_t flags, std::uint32_t ack) {
    return PacketBuilder().ethernet().ipv4(p.server, p.client).tcp(p.dport, sport, flags, 77, ack);
}
PacketBuilder from_client(const Path& p, std::uint16_t sport, std::uint8_t flags,
                          std::uint32_t seq) {
    return PacketBuilder().ethernet().ipv4(p.client, p.server).tcp(sport, p.dport, flags, seq, 78);
}

// Three refused attempts from `sport`, at 0, 3 and 9 s (the kernel's reconnect cadence).
void refuse_three(Feeder& feed, const Path& p, std::uint16_t sport) {
    for (std::uint32_t i = 0; i < 3; ++i) {
        const double t = 3.0 * ((1U << i) - 1);
        feed.send_at(syn(p, sport, 1000 * (i + 1)), t);
        feed.send_at(answer(p, sport, tf::kRst | tf::kAck, 1000 * (i + 1) + 1), t + 18e-6);
    }
}

class Analyzer : public ::testing::Test {
  protected:
    Analyzer() { a.add_point("p"); }
    // A refused attempt: SYN at t, RST|ACK (ack = ISN+1) 20 us later.
    void refused(const Path& p, std::uint16_t sport, std::uint32_t isn, double t) {
        feed.send_at(syn(p, sport, isn), t);
        feed.send_at(answer(p, sport, tf::kRst | tf::kAck, isn + 1), t + 20e-6);
    }
    void accepted(const Path& p, std::uint16_t sport, std::uint32_t isn, double t) {
        feed.send_at(syn(p, sport, isn), t);
        feed.send_at(answer(p, sport, tf::kSyn | tf::kAck, isn + 1), t + 20e-6);
        feed.send_at(from_client(p, sport, tf::kAck, isn + 1), t + 40e-6);
    }
    analyze::ConnectionAnalyzer a{{}};
    Feeder feed{a};
};

unsigned with_verdict(const std::vector<ConnectionReport>& rs, Verdict v) {
    unsigned n = 0;
    for (const ConnectionReport& r : rs) {
        n += r.has(v) ? 1U : 0U;
    }
    return n;
}

// --- Connections that come back ----------------------------------------------------------------

TEST_F(Analyzer, ASynWithANewIsnAfterARstIsANewConnection) {
    const Path p;
    refused(p, 40000, 1000, 0);
    accepted(p, 40000, 5000, 3);
    const auto rs = a.finish();
    ASSERT_EQ(rs.size(), 2U);
    EXPECT_EQ(rs[0].verdicts, std::vector<Verdict>{Verdict::SynRejected});
    EXPECT_EQ(rs[0].attempts, 1U);
    EXPECT_EQ(rs[1].verdicts, std::vector<Verdict>{Verdict::Clean});
    EXPECT_EQ(rs[1].outcome, analyze::Outcome::Established);
    EXPECT_EQ(a.stats().reconnections, 1U);
}

TEST_F(Analyzer, ASynWithANewIsnAfterAFinIsANewConnection) {
    const Path p;
    accepted(p, 40000, 1000, 0);
    feed.send_at(from_client(p, 40000, tf::kFin | tf::kAck, 1001), 1);
    feed.send_at(answer(p, 40000, tf::kFin | tf::kAck, 1002), 1.001);
    accepted(p, 40000, 9000, 2);
    EXPECT_EQ(a.finish().size(), 2U);
}

TEST_F(Analyzer, ASynRetransmissionAfterARstStaysInItsConnection) {
    const Path p;
    refused(p, 40000, 1000, 0);
    feed.send_at(syn(p, 40000, 1000), 1);  // the same ISN
    EXPECT_EQ(a.finish().size(), 1U);
}

TEST_F(Analyzer, ANewIsnOnAnOpenFourTupleIsAnotherAttemptOfTheConnection) {
    const Path p;
    feed.send_at(syn(p, 40000, 1000), 0);
    feed.send_at(syn(p, 40000, 2000), 3);  // no FIN or RST before it
    const auto rs = a.finish();
    ASSERT_EQ(rs.size(), 1U);
    EXPECT_EQ(rs[0].attempts, 2U);
}

// Records the order of a plug-in's calls.
class CallLog final : public analyze::ConnectionPlugin {
  public:
    void on_segment(const analyze::SegmentView& s) override {
        log.push_back("segment " + std::to_string(s.flow) + " seq " + std::to_string(s.seq));
    }
    void decide(analyze::FlowId flow, ConnectionReport&) override {
        log.push_back("decide " + std::to_string(flow));
    }
    void forget(analyze::FlowId flow) noexcept override {
        log.push_back("forget " + std::to_string(flow));
    }
    std::vector<std::string> log;
};

TEST_F(Analyzer, PluginsSeeTheOldConnectionDecidedAndForgottenBeforeTheNewOnesFirstSegment) {
    CallLog plugin;
    a.add_plugin(plugin);
    const Path p;
    refused(p, 40000, 1000, 0);
    feed.send_at(syn(p, 40000, 5000), 3);
    ASSERT_EQ(plugin.log.size(), 5U);
    EXPECT_EQ(plugin.log[2].rfind("decide ", 0), 0U);
    EXPECT_EQ(plugin.log[3].rfind("forget ", 0), 0U);
    EXPECT_EQ(plugin.log[4].substr(plugin.log[4].find(" seq ")), " seq 5000");
}

// --- The refused-run rule -----------------------------------------------------------------------

TEST(RefusedRun, RefusedAttemptsAtLeastTheGapApartAreOneRun) {
    const std::array<ConnectAttempt, 4> at{{{0, true}, {3, true}, {9, true}, {21, true}}};
    const auto r = analyze::refused_run(at, 2, 1.0);
    EXPECT_EQ(r.first, 0U);
    EXPECT_EQ(r.count, 4U);
}

TEST(RefusedRun, AnAcceptedAttemptEndsTheRun) {
    const std::array<ConnectAttempt, 4> at{{{0, true}, {3, true}, {9, false}, {21, true}}};
    EXPECT_EQ(analyze::refused_run(at, 0, 1.0).count, 2U);
    EXPECT_EQ(analyze::refused_run(at, 3, 1.0).count, 1U);
    EXPECT_EQ(analyze::refused_run(at, 2, 1.0).count, 0U);
}

TEST(RefusedRun, AnAttemptSoonerThanTheGapStartsANewRun) {
    const std::array<ConnectAttempt, 4> at{{{0, true}, {3, true}, {3.5, true}, {7, true}}};
    EXPECT_EQ(analyze::refused_run(at, 0, 1.0).count, 2U);
    const auto r = analyze::refused_run(at, 3, 1.0);
    EXPECT_EQ(r.first, 2U);
    EXPECT_EQ(r.count, 2U);
}

TEST(NfsEndpoint, Port2049OrALoopbackProxyPortOrAServerThatCarriedNfs) {
    using Why = RefusedEndpoint::Why;
    const auto lo = track::ipv4_endpoint(0x7f000001, 20123);
    EXPECT_EQ(analyze::nfs_endpoint(track::ipv4_endpoint(0x0af40205, 2049), false), Why::NfsPort);
    EXPECT_EQ(analyze::nfs_endpoint(lo, false), Why::LoopbackProxyPort);
    EXPECT_EQ(analyze::nfs_endpoint(track::ipv4_endpoint(0x7f000001, 21050), false), std::nullopt);
    EXPECT_EQ(analyze::nfs_endpoint(track::ipv4_endpoint(0x0af40205, 20123), false), std::nullopt);
    EXPECT_EQ(analyze::nfs_endpoint(track::ipv4_endpoint(0x0af40205, 5555), true),
              Why::NfsProgramSeen);
    track::Endpoint v6lo;
    v6lo.v6 = true;
    v6lo.addr[15] = 1;
    v6lo.port = 20049;
    EXPECT_TRUE(analyze::is_loopback(v6lo));
    EXPECT_EQ(analyze::nfs_endpoint(v6lo, false), Why::LoopbackProxyPort);
}

// --- nfs_endpoint_refused through the analyzer ---------------------------------------------------

TEST_F(Analyzer, ThreeRefusedReconnectsFromOneSourcePortGiveEveryAttemptTheVerdict) {
    const Path p;
    refused(p, 46602, 1000, 0);
    refused(p, 46602, 2000, 3);
    refused(p, 46602, 3000, 9);
    const auto rs = a.finish();
    ASSERT_EQ(rs.size(), 3U);
    for (std::size_t i = 0; i < rs.size(); ++i) {
        ASSERT_TRUE(rs[i].refused) << i;
        EXPECT_EQ(rs[i].verdicts,
                  (std::vector<Verdict>{Verdict::SynRejected, Verdict::NfsEndpointRefused}));
        EXPECT_EQ(rs[i].refused->attempts, 3U);
        EXPECT_EQ(rs[i].refused->number, i + 1);
        EXPECT_EQ(rs[i].refused->why, RefusedEndpoint::Why::NfsPort);
        ASSERT_EQ(rs[i].refused->gaps_s.size(), 2U);
        EXPECT_NEAR(rs[i].refused->gaps_s[0], 3.0, 1e-9);
        EXPECT_NEAR(rs[i].refused->gaps_s[1], 6.0, 1e-9);
        EXPECT_EQ(rs[i].refused->sports, (std::vector<std::uint16_t>{46602, 46602, 46602}));
    }
}

TEST_F(Analyzer, RefusedReconnectsFromChangingSourcePortsCountForTheClientIp) {
    const Path p;
    refused(p, 46602, 1000, 0);
    refused(p, 51710, 2000, 3);
    refused(p, 38224, 3000, 9);
    const auto rs = a.finish();
    ASSERT_EQ(rs.size(), 3U);
    EXPECT_EQ(with_verdict(rs, Verdict::NfsEndpointRefused), 3U);
    EXPECT_EQ(rs[0].refused->sports, (std::vector<std::uint16_t>{46602, 51710, 38224}));
}

TEST_F(Analyzer, TwoRefusedAttemptsStaySilent) {
    const Path p;
    refused(p, 46602, 1000, 0);
    refused(p, 46602, 2000, 3);
    EXPECT_EQ(with_verdict(a.finish(), Verdict::NfsEndpointRefused), 0U);
}

TEST_F(Analyzer, OneRefusedConnectBeforeASuccessfulOneStaysSilent) {
    const Path p;
    refused(p, 46610, 1000, 0);
    accepted(p, 46610, 2000, 3);
    const auto rs = a.finish();
    ASSERT_EQ(rs.size(), 2U);
    EXPECT_EQ(with_verdict(rs, Verdict::NfsEndpointRefused), 0U);
}

TEST_F(Analyzer, RefusedAttemptsSoonerThanOneSecondApartStaySilent) {
    const Path p;
    refused(p, 46602, 1000, 0);
    refused(p, 46602, 2000, 0.5);
    refused(p, 46602, 3000, 0.9);
    EXPECT_EQ(with_verdict(a.finish(), Verdict::NfsEndpointRefused), 0U);
}

TEST_F(Analyzer, SynRetransmissionsOfOneIsnCountAsOneAttempt) {
    const Path p;
    feed.send_at(syn(p, 46602, 1000), 0);
    feed.send_at(syn(p, 46602, 1000), 1);
    feed.send_at(answer(p, 46602, tf::kRst | tf::kAck, 1001), 1.0001);
    refused(p, 46602, 2000, 4);
    EXPECT_EQ(with_verdict(a.finish(), Verdict::NfsEndpointRefused), 0U);
}

TEST(RefusedEndpointRule, AnotherPortCountsOnlyWhereNfsWasSeen) {
    analyze::ConnectionOptions o;
    o.all_ports = true;
    const Path p{.dport = 5555};
    for (const bool nfs_seen : {false, true}) {
        analyze::ConnectionAnalyzer a{o};
        a.add_point("p");
        Feeder feed{a};
        if (nfs_seen) {
            track::Endpoint server = track::ipv4_endpoint(0x0af40205, 5555);
            a.note_rpc_program(server, analyze::kNfsProgram);
        }
        refuse_three(feed, p, 800);
        EXPECT_EQ(with_verdict(a.finish(), Verdict::NfsEndpointRefused), nfs_seen ? 3U : 0U);
    }
}

TEST(RefusedEndpointRule, TheLoopbackProxyRangeIsWatchedByDefault) {
    analyze::ConnectionAnalyzer a{{}};
    a.add_point("lo");
    Feeder feed{a};
    const Path p{.client = "127.0.0.1", .server = "127.0.0.1", .dport = 20123};
    refuse_three(feed, p, 46602);
    const auto rs = a.finish();
    ASSERT_EQ(rs.size(), 3U);
    EXPECT_EQ(with_verdict(rs, Verdict::NfsEndpointRefused), 3U);
    EXPECT_EQ(rs[0].refused->why, RefusedEndpoint::Why::LoopbackProxyPort);
}

TEST(RefusedEndpointRule, TheLoopbackProxyRangeIsNotWatchedWhenTurnedOff) {
    analyze::ConnectionOptions o;
    o.loopback_proxy_ports = false;
    analyze::ConnectionAnalyzer a{o};
    a.add_point("lo");
    Feeder feed{a};
    const Path p{.client = "127.0.0.1", .server = "127.0.0.1", .dport = 20123};
    feed.send_at(syn(p, 46602, 1000), 0);
    EXPECT_TRUE(a.finish().empty());
}

TEST(RefusedEndpointRule, TheRegistryOfRefusedAttemptsIsBoundedAndCountsWhatItDrops) {
    analyze::ConnectionAnalyzer a{{}};
    a.add_point("p");
    Feeder feed{a};
    const std::size_t n = 4096 + 3;  // 4096: kMaxRefusedGroups (src/analyze/refused.h)
    for (std::size_t i = 0; i < n; ++i) {
        const Path p{.client =
                         "10.1." + std::to_string(i / 250) + "." + std::to_string(i % 250 + 1)};
        feed.send_at(syn(p, 900, 1000), 0.001 * static_cast<double>(i));
        feed.send_at(answer(p, 900, tf::kRst | tf::kAck, 1001), 0.001 * static_cast<double>(i));
    }
    EXPECT_EQ(a.stats().refused_not_recorded, 3U);
    EXPECT_EQ(a.finish().size(), n);
}

}  // namespace
}  // namespace vxcheck::test

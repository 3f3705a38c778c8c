// SYN tracking and the capture-point join through the analyzer, packet by packet (domain spec
// 4.3, 5.3): answers match by ISN, the same SYN at two points is one transmission.

#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "feeder.h"
#include "packet_builder.h"
#include "vxcheck/analyze/connections.h"

namespace vxcheck::test {
namespace {

namespace tf = decode::tcp_flag;
using analyze::Outcome;
using analyze::Verdict;

constexpr std::uint32_t kIsn = 1000;

PacketBuilder syn(std::uint32_t isn = kIsn, std::uint16_t ip_id = 1) {
    return PacketBuilder()
        .ethernet()
        .ipv4("10.244.1.5", "10.96.0.10")
        .ipv4_id(ip_id)
        .tcp(40000, 2049, tf::kSyn, isn);
}
PacketBuilder reply(std::uint8_t flags, std::uint32_t ack) {
    return PacketBuilder()
        .ethernet()
        .ipv4("10.96.0.10", "10.244.1.5")
        .tcp(2049, 40000, flags, 77, ack);
}

analyze::ConnectionReport only(analyze::ConnectionAnalyzer& a) {
    auto r = a.finish();
    EXPECT_EQ(r.size(), 1U);
    return r.empty() ? analyze::ConnectionReport{} : r.front();
}

// A connection analyzer over one capture point, and its feeder.
class SynTracking : public ::testing::Test {
  protected:
    SynTracking() { a.add_point("p"); }
    analyze::ConnectionAnalyzer a{{}};
    Feeder feed{a};
};

// The same over two capture points.
class CaptureJoin : public ::testing::Test {
  protected:
    CaptureJoin() {
        a.add_point("client-eth0");
        a.add_point("server-eth0");
    }
    analyze::ConnectionAnalyzer a{{}};
    Feeder feed{a};
};

TEST_F(SynTracking, SynAckAnswersTheAttemptWhoseIsnPlusOneItAcks) {
    feed.send(syn(kIsn, 1));
    feed.send(syn(kIsn, 2));                          // one second later: a retransmission
    feed.send(reply(tf::kSyn | tf::kAck, kIsn + 7));  // not this attempt's answer
    feed.send(reply(tf::kSyn | tf::kAck, kIsn + 1));
    const auto r = only(a);
    EXPECT_EQ(r.outcome, Outcome::Established);
    EXPECT_EQ(r.syns, 2U);
    ASSERT_TRUE(r.delay_s);
    EXPECT_DOUBLE_EQ(*r.delay_s, 1.0);
    EXPECT_EQ(r.schedule, analyze::Schedule::ClassicOrLinear);
    EXPECT_EQ(r.verdicts, std::vector<Verdict>{Verdict::DelayedConnect});
}

TEST_F(SynTracking, RstWithAckIsnPlusOneRejectsTheSyn) {
    feed.send(syn());
    feed.send(reply(tf::kRst | tf::kAck, kIsn + 1));
    const auto r = only(a);
    EXPECT_EQ(r.outcome, Outcome::RejectedRst);
    EXPECT_EQ(r.verdicts, std::vector<Verdict>{Verdict::SynRejected});
}

TEST_F(SynTracking, RstWithAnotherAckIsNoAnswer) {
    feed.send(syn());
    feed.send(reply(tf::kRst | tf::kAck, kIsn + 2));
    EXPECT_EQ(only(a).outcome, Outcome::Unanswered);
}

// TCP Fast Open (RFC 7413): a SYN with 50 bytes of data. A server that takes the data acks
// ISN+1+50; Linux resets such a SYN to a closed port with the same ack.
PacketBuilder syn_with_data(std::uint16_t ip_id = 1) {
    return PacketBuilder()
        .ethernet()
        .ipv4("10.244.1.5", "10.96.0.10")
        .ipv4_id(ip_id)
        .tcp(40000, 2049, tf::kSyn, kIsn)
        .payload(50);
}

TEST_F(SynTracking, SynAckThatTakesTheSynDataAnswersIt) {
    feed.send(syn_with_data());
    feed.send(reply(tf::kSyn | tf::kAck, kIsn + 1 + 50));
    const auto r = only(a);
    EXPECT_EQ(r.outcome, Outcome::Established);
    EXPECT_EQ(r.verdicts, std::vector<Verdict>{Verdict::Clean});
}

TEST_F(SynTracking, RstThatAcksTheSynDataRejectsIt) {
    feed.send(syn_with_data());
    feed.send(reply(tf::kRst | tf::kAck, kIsn + 1 + 50));
    const auto r = only(a);
    EXPECT_EQ(r.outcome, Outcome::RejectedRst);
    EXPECT_EQ(r.verdicts, std::vector<Verdict>{Verdict::SynRejected});
}

TEST_F(SynTracking, AnAckBeyondTheSynDataIsNoAnswer) {
    feed.send(syn_with_data());
    feed.send(reply(tf::kSyn | tf::kAck, kIsn + 1 + 51));
    feed.send(reply(tf::kRst | tf::kAck, kIsn + 1 + 51));
    EXPECT_EQ(only(a).outcome, Outcome::Unanswered);
}

// Seen at the server: its SYN-ACK to the first SYN never reached the client, which sent the SYN
// again a second later; the answer to that one got through.
TEST_F(SynTracking, ASynSentAgainAfterTheAnswerDelaysTheConnect) {
    feed.send_at(syn(kIsn, 1), 0);
    feed.send_at(reply(tf::kSyn | tf::kAck, kIsn + 1), 0.001);
    feed.send_at(syn(kIsn, 2), 1.0);
    feed.send_at(reply(tf::kSyn | tf::kAck, kIsn + 1), 1.001);
    const auto r = only(a);
    EXPECT_EQ(r.outcome, Outcome::Established);
    EXPECT_EQ(r.syns, 2U);
    ASSERT_TRUE(r.delay_s);
    EXPECT_DOUBLE_EQ(*r.delay_s, 1.0);
    EXPECT_EQ(r.verdicts, std::vector<Verdict>{Verdict::DelayedConnect});
}

TEST_F(SynTracking, ACopyOfTheAnsweredSynDelaysNothing) {
    // The same IP ID (and no TSval) as the answered SYN: a duplicate, not a retransmission.
    feed.send_at(syn(kIsn, 1), 0);
    feed.send_at(reply(tf::kSyn | tf::kAck, kIsn + 1), 0.001);
    feed.send_at(syn(kIsn, 1), 0.002);
    const auto r = only(a);
    EXPECT_EQ(r.outcome, Outcome::Established);
    EXPECT_FALSE(r.delay_s);
    EXPECT_EQ(r.verdicts, std::vector<Verdict>{Verdict::Clean});
}

TEST_F(SynTracking, IcmpUnreachableQuotingTheSynRejectsIt) {
    feed.send(syn());
    // The quoted SYN: IPv4 header 10.244.1.5 -> 10.96.0.10, TCP 40000 -> 2049, seq kIsn.
    ByteVec quote{0x45, 0, 0,  40, 0, 1,  0,    0,    64,   6,    0, 0, 10,   244,
                  1,    5, 10, 96, 0, 10, 0x9c, 0x40, 0x08, 0x01, 0, 0, 0x03, 0xe8};
    feed.send(
        PacketBuilder().ethernet().ipv4("10.96.0.10", "10.244.1.5").icmp(3, 3).payload(quote));
    const auto r = only(a);
    EXPECT_EQ(r.outcome, Outcome::RejectedIcmp);
    EXPECT_EQ(r.icmp_type, 3);
    EXPECT_EQ(r.icmp_code, 3);
    EXPECT_EQ(r.verdicts, std::vector<Verdict>{Verdict::SynRejected});
}

TEST_F(SynTracking, SynDroppedWhenRetransmittedAndNeverAnswered) {
    feed.send(syn(kIsn, 1));
    feed.send(syn(kIsn, 2));
    const auto r = only(a);
    EXPECT_EQ(r.outcome, Outcome::Dropped);
    EXPECT_EQ(r.verdicts, std::vector<Verdict>{Verdict::SynDropped});
}

TEST_F(SynTracking, ANewIsnIsANewAttempt) {
    feed.send(syn(kIsn, 1));
    feed.send(syn(kIsn + 500, 2));
    const auto r = only(a);
    EXPECT_EQ(r.attempts, 2U);
    EXPECT_EQ(r.syns, 1U);
    EXPECT_EQ(r.outcome, Outcome::Unanswered);
    EXPECT_EQ(r.verdicts, std::vector<Verdict>{Verdict::Clean});
}

TEST_F(CaptureJoin, TheSameSynAtTwoPointsIsOneTransmission) {
    feed.send(syn(kIsn, 1));
    feed.at_point(1);
    feed.send(syn(kIsn, 1));  // same IP ID: seen again, not retransmitted
    const auto r = only(a);
    EXPECT_EQ(r.syns, 1U);
    EXPECT_EQ(r.points, (std::vector<std::string>{"client-eth0", "server-eth0"}));
    ASSERT_EQ(r.evidence.size(), 2U);
    EXPECT_EQ(r.evidence[1].note.kind, analyze::EvidenceNote::Kind::SynSeenAgain);
    EXPECT_TRUE(r.hops.empty());
}

TEST_F(CaptureJoin, ASynNeverSeenAtTheOtherPointIsAHop) {
    feed.send(syn(kIsn, 1));
    feed.at_point(1);
    feed.send(syn(kIsn, 1));
    feed.at_point(0);
    feed.send(syn(kIsn, 2));  // the retransmission never reached the server's side
    const auto r = only(a);
    ASSERT_EQ(r.hops.size(), 2U);
    // SYN #1 reached both points and was lost after them: nothing captured says where.
    EXPECT_EQ(r.hops[0].kind, analyze::Hop::Kind::OrderUnknown);
    EXPECT_EQ(r.hops[0].syn_number, 1U);
    EXPECT_EQ(r.hops[0].seen, 0b11U);
    EXPECT_EQ(r.hops[1].kind, analyze::Hop::Kind::NeverReached);
    EXPECT_EQ(r.hops[1].syn_number, 2U);
    EXPECT_EQ(r.hops[1].last_point, 0);
    EXPECT_EQ(r.hops[1].missing, 1U << 1);
}

// An MSS option and a window-scale option of `wscale`.
PacketBuilder syn_with(std::uint16_t mss, std::uint8_t wscale) {
    PacketBuilder b = syn(kIsn, 1);
    b.tcp_options({2, 4, static_cast<std::uint8_t>(mss >> 8), static_cast<std::uint8_t>(mss), 1, 3,
                   3, wscale});
    return b;
}

TEST_F(CaptureJoin, AnotherWindowScaleAtTheOtherPointIsAnotherTransmission) {
    feed.send(syn_with(1460, 7));
    feed.at_point(1);
    feed.send(syn_with(1460, 8));  // same IP ID, but nothing between points rewrites the shift
    EXPECT_EQ(only(a).syns, 2U);
}

// Clamping lowers the MSS between points; the order in which the points report one SYN need
// not be its path's, so a lower MSS at either point is the same transmission.
TEST_F(CaptureJoin, AClampedMssAtEitherPointIsTheSameTransmission) {
    for (const bool clamped_first : {false, true}) {
        SCOPED_TRACE(clamped_first ? "clamped first" : "clamped second");
        analyze::ConnectionAnalyzer b{{}};
        b.add_point("client-eth0");
        b.add_point("server-eth0");
        Feeder f{b};
        f.send(syn_with(clamped_first ? 1360 : 1460, 7));
        f.at_point(1);
        f.send(syn_with(clamped_first ? 1460 : 1360, 7));
        EXPECT_EQ(only(b).syns, 1U);
    }
}

TEST(FlowManagement, EvictionDecidesTheLeastRecentlyActiveWhenTheTableIsFull) {
    analyze::ConnectionOptions o;
    o.max_flows = 16;
    analyze::ConnectionAnalyzer a(o);
    a.add_point("p");
    Feeder feed(a);
    for (std::uint16_t i = 0; i < 17; ++i) {
        feed.send(PacketBuilder()
                      .ethernet()
                      .ipv4("10.244.1.5", "10.96.0.10")
                      .tcp(static_cast<std::uint16_t>(40000 + i), 2049, tf::kSyn, kIsn));
    }
    EXPECT_EQ(a.stats().evicted, 1U);  // one per new connection
    EXPECT_EQ(a.open_connections(), 16U);
    const auto decided = a.take_decided();
    ASSERT_EQ(decided.size(), 1U);
    EXPECT_EQ(decided[0].client.port, 40000);
    EXPECT_EQ(decided[0].evidence.size(), 1U) << "an evicted connection keeps its evidence";
    EXPECT_TRUE(a.take_decided().empty());
}

}  // namespace
}  // namespace vxcheck::test

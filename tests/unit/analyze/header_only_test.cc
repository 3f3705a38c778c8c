// Connections from header-only captures (issue 21 item 3): a segment whose flags the snaplen cut
// off is taken for neither a SYN, an answer nor data, and the report says what it could not
// decide.

#include <gtest/gtest.h>

#include "feeder.h"
#include "vxcheck/analyze/connections.h"

namespace vxcheck::test {
namespace {

namespace tf = decode::tcp_flag;
using analyze::Outcome;

constexpr std::size_t kPlainHeaders = 14 + 20;  // before the TCP header

PacketBuilder segment(std::uint8_t flags, bool from_client, std::uint32_t seq, std::uint32_t ack) {
    PacketBuilder b;
    b.ethernet();
    if (from_client) {
        b.ipv4("10.244.1.5", "10.244.2.5").tcp(40000, 2049, flags, seq, ack);
    } else {
        b.ipv4("10.244.2.5", "10.244.1.5").tcp(2049, 40000, flags, seq, ack);
    }
    return b;
}

std::vector<analyze::ConnectionReport> run(const std::vector<PacketBuilder>& packets) {
    analyze::ConnectionAnalyzer a{analyze::ConnectionOptions{}};
    a.add_point("test");
    Feeder feed(a);
    for (const PacketBuilder& p : packets) {
        feed.send(p);
    }
    return a.finish();
}

TEST(HeaderOnlyConnections, SegmentsWithoutFlagsAreNoSynsAndTheOutcomeIsUndecided) {
    // The SYN retransmissions and the SYN-ACK of a delayed connect, cut after seq and ack.
    std::vector<PacketBuilder> cut;
    for (int i = 0; i < 3; ++i) {
        cut.push_back(segment(tf::kSyn, true, 1000, 0).snaplen(kPlainHeaders + 12));
    }
    cut.push_back(segment(tf::kSyn | tf::kAck, false, 5000, 1001).snaplen(kPlainHeaders + 12));
    const auto reports = run(cut);
    ASSERT_EQ(reports.size(), 1U);
    const analyze::ConnectionReport& r = reports[0];
    EXPECT_EQ(r.client.port, 40000);  // by the NFS server port
    EXPECT_EQ(r.server.port, 2049);
    EXPECT_EQ(r.outcome, Outcome::FlagsNotCaptured);
    EXPECT_EQ(r.syns, 0U);
    EXPECT_FALSE(r.delay_s.has_value());
    EXPECT_FALSE(r.has(analyze::Verdict::DelayedConnect));
    EXPECT_EQ(r.flags_not_captured, 4U);
    EXPECT_EQ(r.flags_snaplen, kPlainHeaders + 12);
    EXPECT_EQ(r.history, "");
}

TEST(HeaderOnlyConnections, CapturedFlagsStillDecideAndTheCutOnesAreCounted) {
    // The same story with the flags captured on the first SYN and the SYN-ACK only.
    const auto reports = run({segment(tf::kSyn, true, 1000, 0),
                              segment(tf::kSyn, true, 1000, 0).snaplen(kPlainHeaders + 12),
                              segment(tf::kSyn | tf::kAck, false, 5000, 1001),
                              segment(tf::kAck, true, 1001, 5001).snaplen(kPlainHeaders + 8)});
    ASSERT_EQ(reports.size(), 1U);
    const analyze::ConnectionReport& r = reports[0];
    EXPECT_EQ(r.outcome, Outcome::Established);
    EXPECT_EQ(r.syns, 1U);  // the cut retransmission is not taken for a SYN
    EXPECT_EQ(r.flags_not_captured, 2U);
    EXPECT_EQ(r.flags_snaplen, kPlainHeaders + 12);
}

TEST(HeaderOnlyConnections, AFullCaptureCountsNothingUndecided) {
    const auto reports =
        run({segment(tf::kSyn, true, 1000, 0), segment(tf::kSyn | tf::kAck, false, 5000, 1001)});
    ASSERT_EQ(reports.size(), 1U);
    EXPECT_EQ(reports[0].flags_not_captured, 0U);
    EXPECT_EQ(reports[0].outcome, Outcome::Established);
}

}  // namespace
}  // namespace vxcheck::test

// Where the data packets of a connection with verdicts were lost (issue 18 item 5, data_path.cc):
// each data segment followed across capture points, the points where it was seen in path order,
// and the first point after its last one that saw other data of its direction and never saw it.

#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "feeder.h"
#include "packet_builder.h"
#include "vxcheck/analyze/connections.h"

namespace vxcheck::test {
namespace {

namespace tf = decode::tcp_flag;
using analyze::ConnectionReport;
using analyze::Hop;
using Kind = analyze::Hop::Kind;

// Pod a's node: flannel.1 (0), eth0 (1); pod b's node: eth0 (2), flannel.1 (3).
constexpr std::uint16_t kAFl = 0;
constexpr std::uint16_t kAEth = 1;
constexpr std::uint16_t kBEth = 2;
constexpr std::uint16_t kBFl = 3;
constexpr double kHop = 0.00002;  // seconds between two points
constexpr std::uint32_t kIsn = 0x10000000;
constexpr std::uint32_t kIsnS = 0x20000000;

std::uint32_t bit(std::uint16_t p) {
    return 1U << p;
}

PacketBuilder at_point(std::uint16_t point, bool back) {
    PacketBuilder b;
    b.ethernet();
    if (point == kAEth || point == kBEth) {
        b.ipv4(back ? "192.168.1.20" : "192.168.1.10", back ? "192.168.1.10" : "192.168.1.20")
            .udp(50001, 8472)
            .vxlan(1)
            .ethernet();
    }
    return b;
}

// A segment of pod a's connection 10.244.1.5:41000 -> 10.244.2.5:2049 as seen at `point`.
PacketBuilder client_seg(std::uint16_t point, std::uint16_t ip_id, std::uint8_t flags,
                         std::uint32_t seq, std::size_t payload = 0) {
    PacketBuilder b = at_point(point, false);
    b.ipv4("10.244.1.5", "10.244.2.5").ipv4_id(ip_id).tcp(41000, 2049, flags, seq, kIsnS + 1);
    if (payload != 0) {
        b.payload(payload);
    }
    return b;
}

PacketBuilder server_seg(std::uint16_t point, std::uint16_t ip_id, std::uint8_t flags,
                         std::uint32_t seq, std::uint32_t ack, std::size_t payload = 0) {
    PacketBuilder b = at_point(point, true);
    b.ipv4("10.244.2.5", "10.244.1.5").ipv4_id(ip_id).tcp(2049, 41000, flags, seq, ack);
    if (payload != 0) {
        b.payload(payload);
    }
    return b;
}

class DataPath : public ::testing::Test {
  protected:
    DataPath() {
        for (int p = 0; p < 4; ++p) {
            a.add_point("p" + std::to_string(p));
        }
    }
    analyze::ConnectionAnalyzer a{{}};
    Feeder feed{a};
    std::vector<ConnectionReport> reports;

    void at(std::uint16_t point, const PacketBuilder& b, double t_s) {
        feed.at_point(point);
        feed.send_at(b, t_s);
    }
    // The client's packet at the points kAFl..last, kHop apart from t_s.
    template <typename Make>
    void forward(Make make, std::uint16_t last, double t_s) {
        for (std::uint16_t p = kAFl; p <= last; ++p) {
            at(p, make(p), t_s + kHop * p);
        }
    }
    // The server's packet from kBFl back to kAFl.
    template <typename Make>
    void back(Make make, double t_s) {
        for (int p = kBFl; p >= kAFl; --p) {
            const auto point = static_cast<std::uint16_t>(p);
            at(point, make(point), t_s + kHop * (kBFl - p));
        }
    }
    // The handshake at 1 s; with `delayed`, a first SYN at 0 s lost after node a's eth0 (the
    // connection then has a verdict: delayed_connect).
    void handshake(bool delayed) {
        if (delayed) {
            forward([](std::uint16_t p) { return client_seg(p, 0x100, tf::kSyn, kIsn); }, kAEth, 0);
        }
        forward([](std::uint16_t p) { return client_seg(p, 0x101, tf::kSyn, kIsn); }, kBFl, 1);
        back([](std::uint16_t p) { return server_seg(p, 0, tf::kSyn | tf::kAck, kIsnS, kIsn + 1); },
             1.0003);
        forward([](std::uint16_t p) { return client_seg(p, 0x102, tf::kAck, kIsn + 1); }, kBFl,
                1.0006);
    }
    // A data segment from the client: seq offset from the ISN, IP ID, length, last point.
    void data(std::uint32_t off, std::uint16_t id, std::size_t len, std::uint16_t last, double t) {
        forward(
            [=](std::uint16_t p) {
                return client_seg(p, id, tf::kAck | tf::kPsh, kIsn + 1 + off, len);
            },
            last, t);
    }
    const ConnectionReport& only() {
        reports = a.finish();
        EXPECT_EQ(reports.size(), 1U);
        return reports.front();
    }
    static std::vector<const Hop*> data_hops(const ConnectionReport& r) {
        std::vector<const Hop*> out;
        for (const Hop& h : r.hops) {
            if (h.kind == Kind::DataNeverReached) {
                out.push_back(&h);
            }
        }
        return out;
    }
};

TEST_F(DataPath, LostDataSegmentNamesItsLastPointAndTheFirstMissing) {
    handshake(true);
    data(0, 0x103, 100, kBFl, 1.001);
    data(100, 0x104, 1400, kAEth, 1.002);  // never reaches node b's eth0
    data(1500, 0x105, 100, kBFl, 1.003);
    data(1600, 0x106, 100, kBFl, 2.0);  // the points capture on
    const ConnectionReport& r = only();
    EXPECT_TRUE(r.has(analyze::Verdict::DelayedConnect));
    const std::vector<const Hop*> lost = data_hops(r);
    ASSERT_EQ(lost.size(), 1U);
    const Hop& h = *lost.front();
    EXPECT_TRUE(h.from_client);
    EXPECT_EQ(h.seq, kIsn + 101);
    EXPECT_EQ(h.length, 1400U);
    EXPECT_EQ(h.first_point, kAFl);
    EXPECT_EQ(h.seen, bit(kAFl) | bit(kAEth));
    EXPECT_EQ(h.seen_order, (std::vector<std::uint16_t>{kAFl, kAEth}));
    EXPECT_EQ(h.last_point, kAEth);
    EXPECT_EQ(h.missing, bit(kBEth));  // the first missing, not every point after it
    EXPECT_NEAR(h.offset_s, 1.002, 1e-6);
    EXPECT_EQ(r.data_followed, 4U);
    EXPECT_EQ(r.data_lost, 1U);
    EXPECT_EQ(r.data_not_judged, 0U);
}

TEST_F(DataPath, AcknowledgedDataWasDeliveredWhateverTheLastPointMissed) {
    // Node b's flannel.1 capture dropped the segment (busy), yet the server acknowledged it.
    handshake(true);
    data(0, 0x103, 100, kBFl, 1.001);
    data(100, 0x104, 1400, kBEth, 1.002);
    back([](std::uint16_t p) { return server_seg(p, 1, tf::kAck, kIsnS + 1, kIsn + 1501); }, 1.003);
    data(1500, 0x105, 100, kBFl, 2.0);
    const ConnectionReport& r = only();
    EXPECT_TRUE(data_hops(r).empty());
    EXPECT_EQ(r.data_lost, 0U);
}

TEST_F(DataPath, ConnectionWithoutVerdictsListsNoDataHops) {
    handshake(false);
    data(0, 0x103, 100, kBFl, 1.001);
    data(100, 0x104, 1400, kAEth, 1.002);
    data(1500, 0x105, 100, kBFl, 2.0);
    const ConnectionReport& r = only();
    EXPECT_TRUE(r.has(analyze::Verdict::Clean));
    EXPECT_TRUE(data_hops(r).empty());
    EXPECT_EQ(r.data_followed, 0U);
}

TEST_F(DataPath, TheRetransmissionThatGotThroughDoesNotHideTheLostOriginal) {
    handshake(true);
    data(0, 0x103, 100, kBFl, 1.001);
    data(100, 0x104, 500, kAEth, 1.002);  // lost after node a's eth0
    data(100, 0x105, 500, kBFl, 1.210);   // its retransmission (new IP ID) gets through
    // and is acknowledged: the bytes arrived, the original did not.
    back([](std::uint16_t p) { return server_seg(p, 1, tf::kAck, kIsnS + 1, kIsn + 601); }, 1.211);
    data(600, 0x106, 100, kBFl, 2.0);
    const ConnectionReport& r = only();
    const std::vector<const Hop*> lost = data_hops(r);
    ASSERT_EQ(lost.size(), 1U);
    EXPECT_EQ(lost.front()->seq, kIsn + 101);
    EXPECT_EQ(lost.front()->frame, 19U);  // the original's first frame at node a's flannel.1
    EXPECT_EQ(lost.front()->missing, bit(kBEth));
    EXPECT_EQ(r.data_followed, 4U);
}

TEST_F(DataPath, SegmentsCutAndMergedByOffloadsAreTheSameData) {
    handshake(true);
    // 2,000 bytes: one segment on node a's flannel.1 (TSO), two on the wire, one again on node
    // b's flannel.1 (GRO).
    at(kAFl, client_seg(kAFl, 0x103, tf::kAck | tf::kPsh, kIsn + 1, 2000), 1.001);
    for (const std::uint16_t p : {kAEth, kBEth}) {
        at(p, client_seg(p, 0x103, tf::kAck, kIsn + 1, 1000), 1.001 + kHop * p);
        at(p, client_seg(p, 0x104, tf::kAck | tf::kPsh, kIsn + 1001, 1000),
           1.001 + kHop * p + 0.000001);
    }
    at(kBFl, client_seg(kBFl, 0x103, tf::kAck | tf::kPsh, kIsn + 1, 2000), 1.001 + kHop * kBFl);
    data(2000, 0x105, 100, kBFl, 2.0);
    const ConnectionReport& r = only();
    EXPECT_TRUE(data_hops(r).empty());
    EXPECT_EQ(r.data_lost, 0U);
}

TEST_F(DataPath, APointThatWasNotCapturingThenExpectsNothing) {
    handshake(true);
    data(0, 0x103, 100, kBFl, 1.001);
    data(100, 0x104, 100, kBFl, 1.002);
    // From 1.5 s on node b's points capture nothing more (their files end); node a's go on.
    data(200, 0x105, 100, kAEth, 3.0);
    data(300, 0x106, 100, kAEth, 4.0);
    const ConnectionReport& r = only();
    EXPECT_TRUE(data_hops(r).empty());
    EXPECT_EQ(r.data_lost, 0U);
}

TEST_F(DataPath, APointThatSawNoDataOfThatDirectionExpectsNone) {
    // Node b's flannel.1 saw the handshake but no data of the client's (a capture filter on
    // SYN and RST, say): it is expected by no data segment.
    handshake(true);
    data(0, 0x103, 100, kBEth, 1.001);
    data(100, 0x104, 100, kBEth, 1.002);
    at(kBFl, client_seg(kBFl, 0x105, tf::kAck, kIsn + 201), 2.0);
    const ConnectionReport& r = only();
    EXPECT_TRUE(data_hops(r).empty());
    EXPECT_EQ(r.data_followed, 2U);
}

TEST_F(DataPath, DataStillOnItsWayAtTheEndIsNotJudged) {
    handshake(true);
    data(0, 0x103, 100, kBFl, 1.001);
    data(100, 0x104, 100, kAEth, 1.002);  // the capture ends a few microseconds later
    const ConnectionReport& r = only();
    EXPECT_TRUE(data_hops(r).empty());
    EXPECT_EQ(r.data_lost, 0U);
    EXPECT_EQ(r.data_not_judged, 1U);
}

TEST_F(DataPath, ALaterSegmentThatOvertookItProvesItLost) {
    // The capture ends right after, but node b's eth0 saw the next segment and not this one.
    handshake(true);
    data(0, 0x103, 100, kBFl, 1.001);
    data(100, 0x104, 100, kAEth, 1.002);
    data(200, 0x105, 100, kBFl, 1.00201);
    const ConnectionReport& r = only();
    const std::vector<const Hop*> lost = data_hops(r);
    ASSERT_EQ(lost.size(), 1U);
    EXPECT_EQ(lost.front()->seq, kIsn + 101);
    EXPECT_EQ(lost.front()->missing, bit(kBEth));
    EXPECT_EQ(r.data_not_judged, 0U);
}

TEST_F(DataPath, AServerReplyLostOnTheWayBackNamesTheClientsNode) {
    handshake(true);
    data(0, 0x103, 100, kBFl, 1.001);
    back(
        [](std::uint16_t p) {
            return server_seg(p, 1, tf::kAck | tf::kPsh, kIsnS + 1, kIsn + 101, 200);
        },
        1.002);
    // The next reply reaches node b's eth0 and no further.
    for (int p = kBFl; p >= kBEth; --p) {
        const auto point = static_cast<std::uint16_t>(p);
        at(point, server_seg(point, 2, tf::kAck | tf::kPsh, kIsnS + 201, kIsn + 101, 300),
           1.003 + kHop * (kBFl - p));
    }
    back(
        [](std::uint16_t p) {
            return server_seg(p, 3, tf::kAck | tf::kPsh, kIsnS + 501, kIsn + 101, 100);
        },
        2.0);
    const ConnectionReport& r = only();
    const std::vector<const Hop*> lost = data_hops(r);
    ASSERT_EQ(lost.size(), 1U);
    EXPECT_FALSE(lost.front()->from_client);
    EXPECT_EQ(lost.front()->seen_order, (std::vector<std::uint16_t>{kBFl, kBEth}));
    EXPECT_EQ(lost.front()->last_point, kBEth);
    EXPECT_EQ(lost.front()->missing, bit(kAEth));
}

}  // namespace
}  // namespace vxcheck::test

// The plug-in point for per-connection analyzers: a test plug-in that counts payload bytes per
// direction sees every segment with its direction and payload, the close events, decides with
// the connection, and forgets it when it leaves the table.

#include "vxcheck/analyze/plugin.h"

#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <new>
#include <vector>

#include "feeder.h"
#include "packet_builder.h"
#include "vxcheck/analyze/connections.h"
#include "vxcheck/decode/decode.h"
#include "vxcheck/verify/verify.h"

namespace vxcheck::test {
namespace {

namespace tf = decode::tcp_flag;
using analyze::FlowId;

class PayloadCounter final : public analyze::ConnectionPlugin {
  public:
    struct PerFlow {
        std::array<std::uint64_t, 2> bytes{};  // [0] client -> server
        std::uint8_t first_byte = 0;
        unsigned closes = 0;
    };

    void on_segment(const analyze::SegmentView& s) override {
        PerFlow& p = state_.get(s.flow);
        p.bytes[s.from_client ? 0 : 1] += s.payload.size();
        if (!s.payload.empty() && p.first_byte == 0) {
            p.first_byte = s.payload[0];
        }
        ++segments;
    }
    void on_bare_ack(const analyze::BareAck& a) noexcept override {
        ++bare_acks;
        last_bare_ack = a.ts;
    }
    void on_close(FlowId flow, analyze::CloseEvent, bool) override { ++state_.get(flow).closes; }
    void decide(FlowId flow, analyze::ConnectionReport& r) override {
        decided.push_back(*state_.find(flow));
        if (state_.find(flow)->bytes[0] > 100) {
            r.verdicts.push_back(analyze::Verdict::SynRejected);  // any verdict, to see it kept
        }
    }
    void forget(FlowId flow) noexcept override {
        state_.erase(flow);
        ++forgotten;
    }

    std::uint64_t segments = 0;
    std::uint64_t bare_acks = 0;
    Timestamp last_bare_ack;
    std::uint64_t forgotten = 0;
    std::vector<PerFlow> decided;

  private:
    analyze::FlowStorage<PerFlow> state_;
};

PacketBuilder segment(bool from_client, std::uint8_t flags, std::size_t payload,
                      std::uint8_t fill) {
    PacketBuilder b;
    b.ethernet();
    if (from_client) {
        b.ipv4("10.244.1.5", "10.244.2.7").tcp(40000, 2049, flags, 1000, 0);
    } else {
        b.ipv4("10.244.2.7", "10.244.1.5").tcp(2049, 40000, flags, 5000, 1001);
    }
    if (payload != 0) {
        b.payload(ByteVec(payload, fill));
    }
    return b;
}

TEST(ConnectionPlugin, SeesEveryTrackedSegmentWithDirectionAndPayload) {
    analyze::ConnectionAnalyzer a({});
    a.add_point("p");
    PayloadCounter counter;
    a.add_plugin(counter);
    Feeder feed(a);
    feed.send(segment(true, tf::kSyn, 0, 0), true);
    feed.send(segment(false, tf::kSyn | tf::kAck, 0, 0), false);
    feed.send(segment(true, tf::kAck, 0, 0), true);                  // a bare ACK: its time only
    feed.send(segment(true, tf::kAck | tf::kPsh, 120, 0x80), true);  // an RPC record mark
    feed.send(segment(false, tf::kAck | tf::kPsh, 40, 0x11), false);
    feed.send(segment(true, tf::kAck, 0, 0), true);
    feed.send(segment(true, tf::kFin | tf::kAck, 0, 0), true);
    feed.send(PacketBuilder().ethernet().ipv4("10.1.1.1", "10.1.1.2").tcp(5, 6, tf::kSyn), true);
    EXPECT_EQ(counter.segments, 5U)
        << "only segments of tracked (watched) connections, with payload or SYN/FIN/RST";
    EXPECT_EQ(counter.bare_acks, 2U);
    EXPECT_EQ(counter.last_bare_ack.sec, 1700000006) << "the sixth packet, a second apart";

    const auto reports = a.finish();
    ASSERT_EQ(reports.size(), 1U);
    ASSERT_EQ(counter.decided.size(), 1U);
    EXPECT_EQ(counter.decided[0].bytes[0], 120U);
    EXPECT_EQ(counter.decided[0].bytes[1], 40U);
    EXPECT_EQ(counter.decided[0].first_byte, 0x80);
    EXPECT_EQ(counter.decided[0].closes, 1U);
    EXPECT_EQ(counter.forgotten, 1U);
    EXPECT_EQ(reports[0].verdicts, std::vector<analyze::Verdict>{analyze::Verdict::SynRejected})
        << "a plug-in's verdict replaces clean";
}

TEST(ConnectionPlugin, PayloadIsWhatWasCapturedNotWhatTheHeadersClaim) {
    analyze::ConnectionAnalyzer a({});
    a.add_point("p");
    PayloadCounter counter;
    a.add_plugin(counter);
    Feeder feed(a);
    PacketBuilder b = segment(true, tf::kAck, 100, 0x22);
    b.snaplen(14 + 20 + 20 + 30);
    feed.send(b, true);
    const auto reports = a.finish();
    ASSERT_EQ(counter.decided.size(), 1U);
    EXPECT_EQ(counter.decided[0].bytes[0], 30U);
}

TEST(ConnectionPlugin, NoPluginNoChange) {
    analyze::ConnectionAnalyzer a({});
    a.add_point("p");
    Feeder feed(a);
    feed.send(segment(true, tf::kSyn, 0, 0), true);
    const auto reports = a.finish();
    ASSERT_EQ(reports.size(), 1U);
    EXPECT_EQ(reports[0].verdicts, std::vector<analyze::Verdict>{analyze::Verdict::Clean});
}

// A plug-in whose state cannot grow.
class OutOfMemory final : public analyze::ConnectionPlugin {
  public:
    void on_segment(const analyze::SegmentView&) override { throw std::bad_alloc(); }
    void decide(FlowId, analyze::ConnectionReport&) override {}
    void forget(FlowId) noexcept override {}
};

TEST(ConnectionPlugin, APluginOutOfMemoryIsCountedAndMarksTheConnection) {
    analyze::ConnectionAnalyzer a({});
    a.add_point("p");
    OutOfMemory oom;
    a.add_plugin(oom);
    Feeder feed(a);
    feed.send(segment(true, tf::kSyn, 0, 0));
    EXPECT_EQ(a.stats().alloc_failures, 1U);
    const auto reports = a.finish();
    ASSERT_EQ(reports.size(), 1U);
    EXPECT_TRUE(reports[0].incomplete);
    EXPECT_EQ(reports[0].syns, 1U) << "the TCP parts ran before the plug-ins";
}

TEST(FlowStorage, StateIsCreatedOnFirstUseAndErased) {
    analyze::FlowStorage<int> s;
    EXPECT_EQ(s.find(7), nullptr);
    s.get(7) = 3;
    ASSERT_NE(s.find(7), nullptr);
    EXPECT_EQ(*s.find(7), 3);
    s.erase(7);
    EXPECT_EQ(s.find(7), nullptr);
    s.erase(1000);  // never had state: nothing happens
}

TEST(FlowStorage, AForgottenStateIsResetAndServesTheNextConnection) {
    analyze::FlowStorage<std::vector<int>> s;
    s.get(3).assign(5, 1);
    const std::vector<int>* first = s.find(3);
    s.erase(3);
    std::vector<int>& next = s.get(9);
    EXPECT_EQ(&next, first) << "the freed state is reused";
    EXPECT_TRUE(next.empty()) << "and starts from T{}";
    EXPECT_EQ(s.find(3), nullptr);
}

}  // namespace
}  // namespace vxcheck::test

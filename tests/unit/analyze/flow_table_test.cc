// The connection table under load: thousands of connections, each found again by its later
// packets (a lost or duplicated table entry would create a second flow, and the SYN-ACK would
// not answer the SYN), through evictions that delete entries from the middle of probe runs.

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "packet_builder.h"
#include "vxcheck/analyze/connections.h"
#include "vxcheck/decode/decode.h"
#include "vxcheck/track/flow_key.h"
#include "vxcheck/verify/verify.h"

namespace vxcheck::test {
namespace {

namespace tf = decode::tcp_flag;

std::string client_ip(std::size_t i) {
    return "10.244." + std::to_string(1 + i / 250) + "." + std::to_string(1 + i % 250);
}
std::uint16_t client_port(std::size_t i) {
    return static_cast<std::uint16_t>(33000 + (i * 7) % 20000);
}
std::uint32_t isn(std::size_t i) {
    return static_cast<std::uint32_t>(i * 2654435761U);
}

// Feeds built packets to an analyzer, one second apart, with a digest as analyze computes it.
class Feeder {
  public:
    explicit Feeder(analyze::ConnectionAnalyzer& a) : analyzer_(a) {}

    void send(const PacketBuilder& b) {
        const BuiltPacket p = b.build();
        RawFrame frame = p.frame(++number_);
        frame.ts = Timestamp{.sec = 1700000000 + static_cast<std::int64_t>(number_), .nsec = 0};
        decode::decode(frame, options_, packet_);
        verify::verify(packet_, verdicts_);
        const analyze::PacketDigest d = analyze::digest(packet_, verdicts_);
        analyzer_.on_packet({0, packet_, verdicts_, &d});
    }
    void syn(std::size_t i) {
        send(PacketBuilder()
                 .ethernet()
                 .ipv4(client_ip(i), "10.96.0.10")
                 .tcp(client_port(i), 2049, tf::kSyn, isn(i)));
    }
    void syn_ack(std::size_t i) {
        send(PacketBuilder()
                 .ethernet()
                 .ipv4("10.96.0.10", client_ip(i))
                 .tcp(2049, client_port(i), tf::kSyn | tf::kAck, 77, isn(i) + 1));
    }

  private:
    analyze::ConnectionAnalyzer& analyzer_;
    decode::DecodeOptions options_;
    decode::DecodedPacket packet_;
    verify::Verdicts verdicts_;
    std::uint64_t number_ = 0;
};

TEST(FlowTable, ThousandsOfConnectionsAreEachFoundAgain) {
    constexpr std::size_t kN = 5000;  // the table grows from 1024 slots several times
    analyze::ConnectionAnalyzer a({});
    a.add_point("p");
    Feeder feed(a);
    for (std::size_t i = 0; i < kN; ++i) {
        feed.syn(i);
    }
    for (std::size_t k = 0; k < kN; ++k) {
        feed.syn_ack((k * 3037) % kN);  // 3037 is prime to 5000: every one, out of order
    }
    EXPECT_EQ(a.stats().flows_created, kN);
    EXPECT_EQ(a.open_connections(), kN);
    const auto reports = a.finish();
    ASSERT_EQ(reports.size(), kN);
    for (std::size_t i = 0; i < kN; ++i) {
        SCOPED_TRACE(i);
        EXPECT_EQ(reports[i].outcome, "established");  // finish() orders by first packet
        EXPECT_EQ(track::to_string(reports[i].client),
                  client_ip(i) + ":" + std::to_string(client_port(i)));
        EXPECT_EQ(reports[i].packets, 2U);
    }
    EXPECT_EQ(a.open_connections(), 0U);
}

TEST(FlowTable, EvictionsLeaveTheOtherConnectionsFindable) {
    constexpr std::size_t kN = 6000;
    constexpr std::size_t kMax = 1000;
    analyze::ConnectionOptions options;
    options.max_flows = kMax;
    analyze::ConnectionAnalyzer a(options);
    a.add_point("p");
    Feeder feed(a);
    std::vector<analyze::ConnectionReport> decided;
    for (std::size_t i = 0; i < kN; ++i) {
        feed.syn(i);
        for (auto& r : a.take_decided()) {
            decided.push_back(std::move(r));
        }
    }
    EXPECT_EQ(a.stats().flows_created, kN);
    EXPECT_EQ(a.stats().evicted, decided.size());
    EXPECT_EQ(a.stats().peak_flows, kMax);
    EXPECT_EQ(decided.size() + a.open_connections(), kN);
    // The least recently active went first: every survivor is among the latest SYNs, and each
    // is found again by its SYN-ACK (a new flow would count as created).
    const std::size_t open = a.open_connections();
    for (std::size_t i = kN - open; i < kN; ++i) {
        feed.syn_ack(i);
    }
    EXPECT_EQ(a.stats().flows_created, kN);
    EXPECT_TRUE(a.take_decided().empty());
    const auto rest = a.finish();
    ASSERT_EQ(rest.size(), open);
    for (const auto& r : rest) {
        EXPECT_EQ(r.outcome, "established") << track::to_string(r.client);
    }
    for (const auto& r : decided) {
        EXPECT_EQ(r.outcome, "unanswered") << track::to_string(r.client);
    }
}

}  // namespace
}  // namespace vxcheck::test

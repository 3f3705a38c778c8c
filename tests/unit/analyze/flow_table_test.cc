// The connection table under load: thousands of connections, each found again by its later
// packets (a lost or duplicated table entry would create a second flow, and the SYN-ACK would
// not answer the SYN), through evictions that delete entries from the middle of probe runs.

#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "feeder.h"
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

void syn(Feeder& feed, std::size_t i) {
    feed.send(PacketBuilder()
                  .ethernet()
                  .ipv4(client_ip(i), "10.96.0.10")
                  .tcp(client_port(i), 2049, tf::kSyn, isn(i)));
}
void syn_ack(Feeder& feed, std::size_t i) {
    feed.send(PacketBuilder()
                  .ethernet()
                  .ipv4("10.96.0.10", client_ip(i))
                  .tcp(2049, client_port(i), tf::kSyn | tf::kAck, 77, isn(i) + 1));
}

TEST(FlowTable, ThousandsOfConnectionsAreEachFoundAgain) {
    constexpr std::size_t kN = 5000;  // the table grows from 1024 slots several times
    analyze::ConnectionAnalyzer a({});
    a.add_point("p");
    Feeder feed(a);
    for (std::size_t i = 0; i < kN; ++i) {
        syn(feed, i);
    }
    for (std::size_t k = 0; k < kN; ++k) {
        syn_ack(feed, (k * 3037) % kN);  // 3037 is prime to 5000: every one, out of order
    }
    EXPECT_EQ(a.stats().flows_created, kN);
    EXPECT_EQ(a.open_connections(), kN);
    const auto reports = a.finish();
    ASSERT_EQ(reports.size(), kN);
    for (std::size_t i = 0; i < kN; ++i) {
        SCOPED_TRACE(i);
        EXPECT_EQ(reports[i].outcome,
                  analyze::Outcome::Established);  // finish() orders by first packet
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
        syn(feed, i);
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
        syn_ack(feed, i);
    }
    EXPECT_EQ(a.stats().flows_created, kN);
    EXPECT_TRUE(a.take_decided().empty());
    const auto rest = a.finish();
    ASSERT_EQ(rest.size(), open);
    for (const auto& r : rest) {
        EXPECT_EQ(r.outcome, analyze::Outcome::Established) << track::to_string(r.client);
    }
    for (const auto& r : decided) {
        EXPECT_EQ(r.outcome, analyze::Outcome::Unanswered) << track::to_string(r.client);
    }
}

// The per-segment state kept in a flow's first two cache lines: the client side (one of the
// key's endpoints), the history letters, the outer source ports (the list searched only when
// the port changes) and the VTEP pair (written when it changes).
PacketBuilder tunnelled(const std::string& outer_src, const std::string& outer_dst,
                        std::uint16_t outer_sport, const std::string& src, std::uint16_t sport,
                        const std::string& dst, std::uint16_t dport, std::uint8_t flags,
                        std::size_t payload = 0) {
    PacketBuilder b;
    b.ethernet()
        .ipv4(outer_src, outer_dst)
        .udp(outer_sport, 8472)
        .vxlan(1)
        .ethernet()
        .ipv4(src, dst)
        .tcp(sport, dport, flags, 1000, 1);
    if (payload != 0) {
        b.payload(payload);
    }
    return b;
}

TEST(FlowState, ClientHistoryOuterPortsAndVtepPair) {
    analyze::ConnectionAnalyzer a({});
    a.add_point("p");
    Feeder feed(a);
    // The server speaks first (a capture that starts mid-handshake): the client is the other
    // side, which here sorts after the server in the key.
    const std::string c = "10.244.9.9";
    const std::string srv = "10.96.0.10";
    feed.send(
        tunnelled("192.168.1.20", "192.168.1.10", 40001, srv, 2049, c, 51000, tf::kSyn | tf::kAck));
    feed.send(tunnelled("192.168.1.10", "192.168.1.20", 41000, c, 51000, srv, 2049, tf::kAck));
    feed.send(tunnelled("192.168.1.10", "192.168.1.20", 42000, c, 51000, srv, 2049, tf::kAck, 100));
    feed.send(tunnelled("192.168.1.10", "192.168.1.20", 41000, c, 51000, srv, 2049, tf::kAck));
    feed.send(tunnelled("192.168.1.10", "192.168.1.20", 42000, c, 51000, srv, 2049, tf::kAck, 100));
    // The client's VTEP moves (a rescheduled pod's node): the last pair is reported.
    feed.send(
        tunnelled("192.168.1.11", "192.168.1.20", 42000, c, 51000, srv, 2049, tf::kFin | tf::kAck));
    feed.send(
        tunnelled("192.168.1.20", "192.168.1.11", 40001, srv, 2049, c, 51000, tf::kRst | tf::kAck));
    const auto r = a.finish();
    ASSERT_EQ(r.size(), 1U);
    EXPECT_EQ(track::to_string(r[0].client), c + ":51000");
    EXPECT_EQ(track::to_string(r[0].server), srv + ":2049");
    EXPECT_EQ(r[0].history, "hADFr");
    EXPECT_EQ(r[0].outer_sports, (std::vector<std::uint16_t>{41000, 42000}));
    EXPECT_EQ(r[0].outer_sports_reply, (std::vector<std::uint16_t>{40001}));
    EXPECT_EQ(track::ip_to_string(r[0].outer_client), "192.168.1.11");
    EXPECT_EQ(track::ip_to_string(r[0].outer_server), "192.168.1.20");
    EXPECT_EQ(r[0].packets, 7U);
}

TEST(FlowState, BothEndpointsOneIsAlwaysTheClient) {
    analyze::ConnectionAnalyzer a({});
    a.add_point("p");
    Feeder feed(a);
    const auto self = [](std::uint8_t flags) {
        return PacketBuilder()
            .ethernet()
            .ipv4("127.0.0.1", "127.0.0.1")
            .tcp(2049, 2049, flags, 5, 9);
    };
    feed.send(self(tf::kSyn | tf::kAck));
    feed.send(self(tf::kAck));
    const auto r = a.finish();
    ASSERT_EQ(r.size(), 1U);
    EXPECT_EQ(r[0].history, "HA");  // every segment from the client, as s.src == client
}

}  // namespace
}  // namespace vxcheck::test

namespace vxcheck {
namespace {

// ip_to_string formats IPv4 by hand: it must say what inet_ntop says, for every octet value in
// every position (IPv6 still goes through inet_ntop).
TEST(EndpointText, Ipv4AsInetNtopWritesIt) {
    track::Endpoint e;
    for (unsigned v = 0; v < 256; ++v) {
        for (std::size_t pos = 0; pos < 4; ++pos) {
            const std::array<std::uint8_t, 4> a{static_cast<std::uint8_t>(pos == 0 ? v : 10),
                                                static_cast<std::uint8_t>(pos == 1 ? v : 0),
                                                static_cast<std::uint8_t>(pos == 2 ? v : 255),
                                                static_cast<std::uint8_t>(pos == 3 ? v : 7)};
            e.set_ipv4((std::uint32_t{a[0]} << 24) | (std::uint32_t{a[1]} << 16) |
                           (std::uint32_t{a[2]} << 8) | a[3],
                       2049);
            char want[INET_ADDRSTRLEN];
            ASSERT_NE(inet_ntop(AF_INET, a.data(), want, sizeof want), nullptr);
            ASSERT_EQ(track::ip_to_string(e), want);
            ASSERT_EQ(track::to_string(e), std::string(want) + ":2049");
        }
    }
    track::Endpoint v6;
    v6.v6 = true;
    v6.addr = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01};
    v6.port = 443;
    EXPECT_EQ(track::to_string(v6), "[2001:db8::1]:443");
}

}  // namespace
}  // namespace vxcheck

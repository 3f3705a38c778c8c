// Eviction and idle expiry off the packet path (issue 22, item 5): a full table decides one
// connection per new one, the oldest in its queue without a packet since it joined it (a
// second chance for the others); idle expiry walks only the queue's idle end; and nothing that
// is reported depends on the process's flow-hash key.

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "feeder.h"
#include "packet_builder.h"
#include "vxcheck/analyze/connections.h"
#include "vxcheck/track/flow_key.h"

namespace vxcheck::test {
namespace {

namespace tf = decode::tcp_flag;

// Connection i: client 10.244.(i / 200).(i % 200 + 1), port 40000 + i % 1000, to NFS.
std::string client(std::size_t i) {
    return "10.244." + std::to_string(i / 200) + "." + std::to_string(i % 200 + 1) + ":" +
           std::to_string(40000 + i % 1000);
}

// A segment of connection i: from the client (SYN, ACK) or from the server (SYN-ACK).
PacketBuilder segment(std::size_t i, std::uint8_t flags) {
    const std::string ip = client(i).substr(0, client(i).find(':'));
    const auto port = static_cast<std::uint16_t>(40000 + i % 1000);
    const auto seq = static_cast<std::uint32_t>(1000 + i);
    PacketBuilder b;
    if (flags == (tf::kSyn | tf::kAck)) {
        b.ethernet().ipv4("10.96.0.10", ip).tcp(2049, port, flags, 77, seq + 1);
    } else {
        b.ethernet().ipv4(ip, "10.96.0.10").tcp(port, 2049, flags, seq, 0);
    }
    return b;
}
PacketBuilder syn(std::size_t i) {
    return segment(i, tf::kSyn);
}
PacketBuilder syn_ack(std::size_t i) {
    return segment(i, tf::kSyn | tf::kAck);
}
PacketBuilder ack(std::size_t i) {
    return segment(i, tf::kAck);
}

std::vector<std::string> clients(const std::vector<analyze::ConnectionReport>& reports) {
    std::vector<std::string> out;
    for (const auto& r : reports) {
        out.push_back(track::to_string(r.client));
    }
    return out;
}

analyze::ConnectionOptions with_max_flows(std::size_t n) {
    analyze::ConnectionOptions o;
    o.max_flows = n;
    return o;
}

TEST(Eviction, AFullTableDecidesOneConnectionPerNewOne) {
    analyze::ConnectionAnalyzer a(with_max_flows(16));
    a.add_point("p");
    Feeder feed(a);
    for (std::size_t i = 0; i < 16; ++i) {
        feed.send(syn(i));
    }
    EXPECT_TRUE(a.take_decided().empty());
    feed.send(syn(16));
    EXPECT_EQ(clients(a.take_decided()), std::vector<std::string>{client(0)});
    for (std::size_t i = 17; i < 27; ++i) {
        feed.send(syn(i));
        ASSERT_EQ(a.take_decided().size(), 1U) << i;
    }
    EXPECT_EQ(a.stats().evicted, 11U);
    EXPECT_EQ(a.open_connections(), 16U);
}

TEST(Eviction, ConnectionsActiveSinceTheyJoinedTheQueueGetASecondChance) {
    analyze::ConnectionAnalyzer a(with_max_flows(4));
    a.add_point("p");
    Feeder feed(a);
    for (std::size_t i = 0; i < 4; ++i) {
        feed.send(syn(i));
    }
    feed.send(syn_ack(0));  // 0 and 2 are active again, 1 and 3 are not
    feed.send(syn_ack(2));
    feed.send(syn(4));
    feed.send(syn(5));
    feed.send(syn(6));  // 0 and 2 have had their second chance and are oldest now
    EXPECT_EQ(clients(a.take_decided()),
              (std::vector<std::string>{client(1), client(3), client(0)}));
    const auto rest = a.finish();  // by first packet
    EXPECT_EQ(clients(rest),
              (std::vector<std::string>{client(2), client(4), client(5), client(6)}));
}

TEST(Eviction, IdleExpiryDecidesTheIdleConnectionsOnly) {
    analyze::ConnectionOptions o;
    o.idle_timeout_s = 60;
    analyze::ConnectionAnalyzer a(o);
    a.add_point("p");
    Feeder feed(a);
    feed.send_at(syn(0), 0);  // idle from t = 0
    feed.send_at(syn(1), 1);  // active throughout
    feed.send_at(syn(2), 2);  // idle from t = 50: not long enough
    feed.send_at(syn(3), 3);  // active once more at t = 4, then idle
    feed.send_at(ack(3), 4);
    feed.send_at(syn_ack(2), 50);
    // The sweep runs every 65,536 packets: the rest from connection 1, up to t = 100.
    constexpr std::size_t kSweep = 65536;
    for (std::size_t n = 6; n < kSweep; ++n) {
        feed.send_at(ack(1), 50 + 50.0 * static_cast<double>(n) / kSweep);
    }
    EXPECT_EQ(a.stats().expired, 2U);
    EXPECT_EQ(clients(a.take_decided()), (std::vector<std::string>{client(0), client(3)}));
    EXPECT_EQ(a.open_connections(), 2U);
}

// A run that evicts and expires, with the flow hash under `key`: the reports as text.
std::vector<std::string> run_with_key(track::SipKey key) {
    const track::SipKey saved = track::flow_hash_key();
    track::set_flow_hash_key(key);
    std::vector<std::string> out;
    {
        analyze::ConnectionAnalyzer a(with_max_flows(50));
        a.add_point("p");
        Feeder feed(a);
        for (std::size_t i = 0; i < 400; ++i) {
            feed.send(syn(i));
            if (i % 3 == 0) {
                feed.send(syn_ack(i / 2));  // some answered, some of them evicted already
            }
            for (const auto& r : a.take_decided()) {
                out.push_back("early " + track::to_string(r.client) + " " +
                              std::to_string(r.packets));
            }
        }
        for (const auto& r : a.finish()) {
            out.push_back("end " + track::to_string(r.client) + " " + std::to_string(r.packets));
        }
    }
    track::set_flow_hash_key(saved);
    return out;
}

TEST(Eviction, WhatIsReportedDoesNotDependOnTheFlowHashKey) {
    const std::vector<std::string> one = run_with_key({.k0 = 1, .k1 = 2});
    EXPECT_GT(one.size(), 350U);
    EXPECT_EQ(one, run_with_key({.k0 = 0x5eed, .k1 = 0xfeed}));
    EXPECT_EQ(one, run_with_key(track::flow_hash_key()));
}

}  // namespace
}  // namespace vxcheck::test

// Where a lone dropped SYN was lost (issue 18 item 5, nat_join.h): the path order to the
// server's node is learned from any packet recognisable at several points (a ping, a UDP
// exchange, another connection's data), not only from other SYNs; where nothing captured
// teaches it, the report says so instead of guessing.

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
using Kind = analyze::Hop::Kind;

// Pod a's node: flannel.1 (0), eth0 (1); pod b's node: eth0 (2), flannel.1 (3), cni0 (4).
constexpr std::uint16_t kAFl = 0;
constexpr std::uint16_t kAEth = 1;
constexpr std::uint16_t kBEth = 2;
constexpr std::uint16_t kBFl = 3;
constexpr std::uint16_t kBCni = 4;
constexpr double kHop = 0.00002;  // seconds between two points

bool tunnelled_at(std::uint16_t point) {
    return point == kAEth || point == kBEth;
}

// The start of a packet between pod a and pod b as captured at `point` (tunnelled on eth0).
PacketBuilder at_point(std::uint16_t point, bool back = false) {
    PacketBuilder b;
    b.ethernet();
    if (tunnelled_at(point)) {
        b.ipv4(back ? "192.168.1.20" : "192.168.1.10", back ? "192.168.1.10" : "192.168.1.20")
            .udp(50001, 8472)
            .vxlan(1)
            .ethernet();
    }
    return b;
}

PacketBuilder syn_at(std::uint16_t point, std::uint16_t ip_id) {
    return at_point(point)
        .ipv4("10.244.1.5", "10.244.2.5")
        .ipv4_id(ip_id)
        .tcp(41010, 2049, tf::kSyn, 0x3C4D5E6F);
}

PacketBuilder ping_at(std::uint16_t point) {
    return at_point(point)
        .ipv4("10.244.1.5", "10.244.2.5")
        .ipv4_id(0x6100)
        .icmp(8, 0)
        .payload(ByteVec{0x0b, 0xee, 0, 1, 1, 2, 3, 4});
}

PacketBuilder udp_at(std::uint16_t point) {
    return at_point(point)
        .ipv4("10.244.1.5", "10.244.2.5")
        .ipv4_id(0x6200)
        .udp(5353, 53)
        .payload(ByteVec{'q', 'u', 'e', 'r', 'y'});
}

// A data segment of another connection (port 8080, not watched) from pod a to pod b.
PacketBuilder data_at(std::uint16_t point) {
    return at_point(point)
        .ipv4("10.244.1.5", "10.244.2.5")
        .ipv4_id(0x6300)
        .tcp(45000, 8080, tf::kAck | tf::kPsh, 5000, 7000)
        .payload(100);
}

class PathOrder : public ::testing::Test {
  protected:
    explicit PathOrder(int points = 5) {
        for (int p = 0; p < points; ++p) {
            a.add_point("p" + std::to_string(p));
        }
    }
    analyze::ConnectionAnalyzer a{{}};
    Feeder feed{a};

    void at(std::uint16_t point, const PacketBuilder& b, double t_s) {
        feed.at_point(point);
        feed.send_at(b, t_s);
    }
    // `make` at the points first..last in path order, kHop apart from t_s.
    template <typename Make>
    void along(Make make, std::uint16_t first, std::uint16_t last, double t_s) {
        for (std::uint16_t p = first; p <= last; ++p) {
            at(p, make(p), t_s + kHop * (p - first));
        }
    }
    // Three transmissions of the dropped SYN (0, 1, 3 s after t_s), each up to `last`.
    void dropped_syns(std::uint16_t last, double t_s) {
        std::uint16_t id = 0x5200;
        for (const double dt : {0.0, 1.0, 3.0}) {
            const std::uint16_t this_id = id++;
            along([this_id](std::uint16_t p) { return syn_at(p, this_id); }, kAFl, last, t_s + dt);
        }
    }
    const ConnectionReport& only() {
        reports = a.finish();
        EXPECT_EQ(reports.size(), 1U);
        return reports.front();
    }
    std::vector<ConnectionReport> reports;
};

void expect_lost_after(const ConnectionReport& r, std::uint16_t last, std::uint16_t missing) {
    EXPECT_TRUE(r.has(analyze::Verdict::SynDropped));
    ASSERT_EQ(r.hops.size(), 3U);
    for (const analyze::Hop& h : r.hops) {
        EXPECT_EQ(h.kind, Kind::NeverReached);
        EXPECT_EQ(h.last_point, last) << "SYN #" << h.syn_number;
        EXPECT_EQ(h.missing, 1U << missing) << "SYN #" << h.syn_number;
    }
}

TEST_F(PathOrder, APingBeforeTheDropShowsTheRawPreroutingDropAfterNodeBsEth0) {
    along(ping_at, kAFl, kBCni, 0.0);
    dropped_syns(kBEth, 1.0);
    expect_lost_after(only(), kBEth, kBFl);
}

TEST_F(PathOrder, AUdpExchangeShowsTheForwardDropAfterNodeBsFlannel1) {
    along(udp_at, kAFl, kBCni, 0.0);
    dropped_syns(kBFl, 1.0);
    expect_lost_after(only(), kBFl, kBCni);
}

TEST_F(PathOrder, AnotherConnectionsDataOnAnUnwatchedPortTeachesTheOrder) {
    along(data_at, kAFl, kBCni, 0.0);
    dropped_syns(kBEth, 1.0);
    expect_lost_after(only(), kBEth, kBFl);
}

TEST_F(PathOrder, TrafficAfterTheDropTeachesTheOrderToo) {
    dropped_syns(kBEth, 0.0);
    along(ping_at, kAFl, kBCni, 10.0);  // the capture ran on; the rule was removed
    expect_lost_after(only(), kBEth, kBFl);
}

TEST_F(PathOrder, TheReplyDirectionTeachesTheWayBackNotTheWayThere) {
    // pod b's answer to pod a seen at every point on its way back: the path to pod a's node.
    for (std::uint16_t p = kBCni + 1; p-- > 0;) {
        at(p,
           at_point(p, true)
               .ipv4("10.244.2.5", "10.244.1.5")
               .ipv4_id(0x7200)
               .icmp(0, 0)
               .payload(ByteVec{0x0b, 0xee, 0, 1, 1, 2, 3, 4}),
           kHop * (kBCni - p));
    }
    dropped_syns(kBEth, 1.0);
    const ConnectionReport& r = only();
    ASSERT_EQ(r.hops.size(), 3U);
    for (const analyze::Hop& h : r.hops) {
        EXPECT_EQ(h.kind, Kind::OrderUnknown);  // nothing went to pod b's node
    }
}

TEST_F(PathOrder, WithNothingElseCapturedTheOrderBeyondIsUnknown) {
    dropped_syns(kBEth, 0.0);
    const ConnectionReport& r = only();
    ASSERT_EQ(r.hops.size(), 3U);
    for (const analyze::Hop& h : r.hops) {
        EXPECT_EQ(h.kind, Kind::OrderUnknown);
        EXPECT_EQ(h.seen, 0b111U);
        EXPECT_TRUE(h.last_known);  // its own sightings ordered the points it reached
        EXPECT_EQ(h.last_point, kBEth);
        EXPECT_EQ(h.missing, 0U);
    }
    EXPECT_TRUE(r.path.empty());
}

TEST_F(PathOrder, TrafficSeenAtOnePointOnlyIsOnThePathInAnUnknownPlace) {
    at(kBFl, ping_at(kBFl), 0.0);  // only node b's flannel.1 saw it
    dropped_syns(kBEth, 1.0);
    const ConnectionReport& r = only();
    ASSERT_EQ(r.hops.size(), 3U);
    EXPECT_EQ(r.hops[0].kind, Kind::OrderUnknown);
    EXPECT_EQ(r.hops[0].missing, 1U << kBFl);
}

TEST_F(PathOrder, SightingsFurtherApartThanTheJoinWindowTeachNothing) {
    along(ping_at, kAFl, kBEth, 0.0);
    at(kBFl, ping_at(kBFl), 5.0);  // the same IP packet 5 s later: another one, or clock skew
    dropped_syns(kBEth, 10.0);
    const ConnectionReport& r = only();
    ASSERT_EQ(r.hops.size(), 3U);
    EXPECT_EQ(r.hops[0].kind, Kind::OrderUnknown);
}

TEST_F(PathOrder, AnAnsweredSynGetsNoOrderUnknownHop) {
    along([](std::uint16_t p) { return syn_at(p, 0x5200); }, kAFl, kBEth, 0.0);
    at(kBEth,
       at_point(kBEth, true)
           .ipv4("10.244.2.5", "10.244.1.5")
           .tcp(2049, 41010, tf::kSyn | tf::kAck, 77, 0x3C4D5E70),
       0.001);
    const ConnectionReport& r = only();
    EXPECT_TRUE(r.hops.empty());
}

// A pre-NAT tap on node a (NFLOG at OUTPUT, the outer VXLAN packet as sent: the lab's
// node-a-prenat-vxlan) is a sixth point. NFLOG stamps a packet when its reader gets it, which
// may be after node b captured it.
constexpr std::uint16_t kANflog = 5;

// An NFLOG message (host byte order TLVs) carrying `ip`: PACKET_HDR (IPv4, hook 3: OUTPUT),
// then NFULA_PAYLOAD.
PacketBuilder nflog_at_output(const ByteVec& ip) {
    ByteVec m = {2, 0, 0, 5};
    const auto tlv = [&m](std::uint16_t type, const ByteVec& value) {
        const auto len = static_cast<std::uint16_t>(4 + value.size());
        m.push_back(static_cast<std::uint8_t>(len));
        m.push_back(static_cast<std::uint8_t>(len >> 8));
        m.push_back(static_cast<std::uint8_t>(type));
        m.push_back(static_cast<std::uint8_t>(type >> 8));
        m.insert(m.end(), value.begin(), value.end());
        while (m.size() % 4 != 0) {
            m.push_back(0);
        }
    };
    tlv(1, {0x08, 0x00, 3, 0});
    tlv(9, ip);
    return PacketBuilder().payload(m).link_type(LinkType::Nflog);
}

class PathOrderWithPreNatTap : public PathOrder {
  protected:
    PathOrderWithPreNatTap() : PathOrder(6) {}
};

// The UDP exchange's outer packet, logged before NAT (another outer source port than on the
// wire), stamped between its sightings at node b's flannel.1 and cni0. It cannot be ordered
// against those untunnelled sightings, and it must not hide the one at flannel.1 from the one at
// cni0: the path still says flannel.1 comes before cni0, so a SYN dropped after node b's eth0
// never reached flannel.1 (not "flannel.1 or cni0").
TEST_F(PathOrderWithPreNatTap, ALateNflogSightingLeavesTheOrderAfterItKnown) {
    const BuiltPacket outer = PacketBuilder()
                                  .ipv4("192.168.1.10", "192.168.1.20")
                                  .udp(40000, 8472)
                                  .vxlan(1)
                                  .ethernet()
                                  .ipv4("10.244.1.5", "10.244.2.5")
                                  .ipv4_id(0x6200)
                                  .udp(5353, 53)
                                  .payload(ByteVec{'q', 'u', 'e', 'r', 'y'})
                                  .build();
    along(udp_at, kAFl, kBFl, 0.0);
    at(kANflog, nflog_at_output(outer.bytes), kHop * 3.5);
    at(kBCni, udp_at(kBCni), kHop * 4);
    dropped_syns(kBEth, 1.0);
    expect_lost_after(only(), kBEth, kBFl);
}

class OnePoint : public PathOrder {
  protected:
    OnePoint() : PathOrder(1) {}
};

TEST_F(OnePoint, OnePointGetsNoHops) {
    at(0, ping_at(kAFl), 0.0);
    for (const double t : {1.0, 2.0, 4.0}) {
        at(0, syn_at(kAFl, 0x5200), t);
    }
    const ConnectionReport& r = only();
    EXPECT_TRUE(r.has(analyze::Verdict::SynDropped));
    EXPECT_TRUE(r.hops.empty());
}

}  // namespace
}  // namespace vxcheck::test

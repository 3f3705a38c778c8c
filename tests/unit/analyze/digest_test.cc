// digest(): what the connection analysis takes from a packet, pulled out of its layers. Each
// field against the packet that was built; the VTEP sightings and when digest() gives up on
// them (IPv6 VTEPs, more tunnels than it keeps) so that on_packet walks the layers itself.

#include <gtest/gtest.h>

#include <cstdint>

#include "packet_builder.h"
#include "vxcheck/analyze/connections.h"
#include "vxcheck/track/flow_key.h"

namespace vxcheck::test {
namespace {

namespace tf = decode::tcp_flag;
using analyze::PacketDigest;

// The address as Ipv4Info holds it: a host-order number, first octet highest.
std::uint32_t v4(std::string_view text) {
    return ipv4_addr(text);
}

// An NFS reply from a pod to flannel.1's address, through VXLAN between two VTEPs.
PacketBuilder tunnelled_reply() {
    return PacketBuilder()
        .ethernet()
        .ipv4("192.168.1.10", "192.168.1.20")
        .udp(40299, 8472)
        .vxlan(7)
        .ethernet()
        .ipv4("10.244.2.5", "10.244.1.0")
        .ipv4_id(4321)
        .tcp(2049, 612, tf::kAck | tf::kPsh, 5000, 6000)
        .payload(100);
}

TEST(Digest, TunnelledSegmentAllFields) {
    const Dissection d(tunnelled_reply());
    const PacketDigest g = analyze::digest(d.decoded(), d.verdicts());
    ASSERT_TRUE(g.has_segment);
    const analyze::Segment& s = g.segment;
    EXPECT_EQ(s.t.sport, 2049);
    EXPECT_EQ(s.t.dport, 612);
    EXPECT_EQ(s.t.seq, 5000U);
    EXPECT_EQ(s.t.ack, 6000U);
    EXPECT_EQ(s.payload, 100U);
    EXPECT_EQ(s.ip_id, 4321);
    EXPECT_EQ(track::to_string(s.src), "10.244.2.5:2049");
    EXPECT_EQ(track::to_string(s.dst), "10.244.1.0:612");
    // The key is FlowKey::of either way round, and the hash is FlowKeyHash's.
    EXPECT_EQ(s.key, track::FlowKey::of(s.dst, s.src));
    EXPECT_EQ(track::to_string(s.key.lo), "10.244.1.0:612");
    EXPECT_EQ(s.hash, track::FlowKeyHash{}(s.key));
    EXPECT_EQ(d.decoded().layers()[s.tcp_layer].proto, decode::Proto::Tcp);
    ASSERT_TRUE(s.tunnelled);
    EXPECT_EQ(s.vni, 7U);
    EXPECT_EQ(s.outer_sport, 40299);
    EXPECT_EQ(track::ip_to_string(s.outer_src), "192.168.1.10");
    EXPECT_EQ(track::ip_to_string(s.outer_dst), "192.168.1.20");
    ASSERT_NE(s.outer_checksum(), nullptr);
    EXPECT_EQ(s.outer_checksum()->status, verify::Status::Ok);
    EXPECT_EQ(g.ts.sec, d.decoded().frame().ts.sec);
    EXPECT_EQ(g.ts.nsec, d.decoded().frame().ts.nsec);
    // One VTEP pair, full checksums.
    EXPECT_TRUE(g.vteps_complete);
    ASSERT_EQ(g.vtep_count, 1);
    EXPECT_EQ(g.vteps[0].pair, (std::uint64_t{v4("192.168.1.10")} << 32) | v4("192.168.1.20"));
    EXPECT_FALSE(g.vteps[0].zero);
    EXPECT_EQ(g.icmp, -1);
}

TEST(Digest, SameKeyBothDirectionsAndEqualAddresses) {
    const auto key_of = [](std::string_view a, std::uint16_t pa, std::string_view b,
                           std::uint16_t pb) {
        const Dissection d(PacketBuilder().ethernet().ipv4(a, b).tcp(pa, pb));
        const PacketDigest g = analyze::digest(d.decoded(), d.verdicts());
        EXPECT_TRUE(g.has_segment);
        EXPECT_EQ(g.segment.key, track::FlowKey::of(g.segment.src, g.segment.dst));
        return g.segment.key;
    };
    EXPECT_EQ(key_of("10.0.0.1", 40000, "10.0.0.2", 2049),
              key_of("10.0.0.2", 2049, "10.0.0.1", 40000));
    // Same address: the ports decide the order.
    EXPECT_EQ(key_of("10.0.0.1", 40000, "10.0.0.1", 2049),
              key_of("10.0.0.1", 2049, "10.0.0.1", 40000));
    // An address whose first octet is above 127: ordered as an unsigned number.
    EXPECT_EQ(key_of("200.0.0.1", 1, "10.0.0.1", 2), key_of("10.0.0.1", 2, "200.0.0.1", 1));
}

TEST(Digest, PlainSegmentHasNoTunnelAndNoSightings) {
    const Dissection d(
        PacketBuilder().ethernet().ipv4("10.244.1.5", "10.96.0.10").tcp(40000, 2049));
    const PacketDigest g = analyze::digest(d.decoded(), d.verdicts());
    ASSERT_TRUE(g.has_segment);
    EXPECT_FALSE(g.segment.tunnelled);
    EXPECT_EQ(g.vtep_count, 0);
    EXPECT_TRUE(g.vteps_complete);
}

TEST(Digest, ZeroOuterChecksumIsAZeroSighting) {
    const Dissection d(PacketBuilder()
                           .ethernet()
                           .ipv4("192.168.1.18", "192.168.1.11")
                           .udp(33000, 8472)
                           .zero_udp_checksum()
                           .vxlan(1)
                           .ethernet()
                           .ipv4("10.244.8.3", "10.244.1.9")
                           .tcp(41000, 2049));
    const PacketDigest g = analyze::digest(d.decoded(), d.verdicts());
    ASSERT_EQ(g.vtep_count, 1);
    EXPECT_TRUE(g.vteps[0].zero);
    ASSERT_TRUE(g.segment.tunnelled);
    EXPECT_EQ(g.segment.outer_checksum()->status, verify::Status::Zero);
}

TEST(Digest, Ipv6VtepLeavesTheSightingsToOnPacket) {
    const Dissection d(PacketBuilder()
                           .ethernet()
                           .ipv6("fd00::10", "fd00::20")
                           .udp(40000, 8472)
                           .vxlan(1)
                           .ethernet()
                           .ipv4("10.244.1.5", "10.244.2.5")
                           .tcp(40000, 2049));
    const PacketDigest g = analyze::digest(d.decoded(), d.verdicts());
    EXPECT_FALSE(g.vteps_complete);
    ASSERT_TRUE(g.segment.tunnelled);
    EXPECT_EQ(track::ip_to_string(g.segment.outer_src), "fd00::10");
}

TEST(Digest, ThreeTunnelsAreMoreThanItKeeps) {
    PacketBuilder b;
    b.ethernet();
    for (int i = 0; i < 3; ++i) {
        b.ipv4("192.168.1." + std::to_string(10 + i), "192.168.2." + std::to_string(10 + i))
            .udp(static_cast<std::uint16_t>(40000 + i), 8472)
            .vxlan(static_cast<std::uint32_t>(i + 1))
            .ethernet();
    }
    b.ipv4("10.244.1.5", "10.244.2.5").tcp(40000, 2049);
    const Dissection d(b);
    const PacketDigest g = analyze::digest(d.decoded(), d.verdicts());
    EXPECT_FALSE(g.vteps_complete);
    ASSERT_TRUE(g.segment.tunnelled);
    EXPECT_EQ(g.segment.vni, 3U);  // the tunnel nearest the segment
    EXPECT_EQ(g.segment.outer_sport, 40002);
}

// A Linux SYN's options: mss 1460, sackOK, TS val 0x01020304 ecr 0, nop, wscale 7.
const ByteVec kLinuxSynOptions{2, 4, 0x05, 0xb4, 4, 2, 8, 10, 1, 2, 3, 4, 0, 0, 0, 0, 1, 3, 3, 7};

TEST(Digest, SynCarriesItsTsvalMssAndWindowScale) {
    const Dissection d(PacketBuilder()
                           .ethernet()
                           .ipv4("10.244.1.5", "10.96.0.10")
                           .tcp(40000, 2049, tf::kSyn, 1000)
                           .tcp_options(kLinuxSynOptions));
    const PacketDigest g = analyze::digest(d.decoded(), d.verdicts());
    const analyze::Segment& s = g.segment;
    EXPECT_EQ(s.tsval, 0x01020304U);
    ASSERT_TRUE(s.syn.has_mss());
    EXPECT_EQ(s.syn.mss, 1460);
    ASSERT_TRUE(s.syn.has_wscale());
    EXPECT_EQ(s.syn.wscale, 7);
}

// A SYN without options overwrites what an earlier SYN's left.
TEST(Digest, SynWithoutOptionsHasNone) {
    const Dissection with(PacketBuilder()
                              .ethernet()
                              .ipv4("10.244.1.5", "10.96.0.10")
                              .tcp(40000, 2049, tf::kSyn | tf::kAck, 1000, 5)
                              .tcp_options(kLinuxSynOptions));
    const Dissection without(PacketBuilder()
                                 .ethernet()
                                 .ipv4("10.244.1.5", "10.96.0.10")
                                 .tcp(40000, 2049, tf::kSyn, 1000));
    PacketDigest g;
    analyze::digest(with.decoded(), with.verdicts(), g);
    ASSERT_TRUE(g.segment.syn.has_mss());
    analyze::digest(without.decoded(), without.verdicts(), g);
    EXPECT_FALSE(g.segment.tsval);
    EXPECT_FALSE(g.segment.syn.has_mss());
    EXPECT_FALSE(g.segment.syn.has_wscale());
    EXPECT_EQ(g.segment.syn, analyze::SynOptions{});
}

TEST(Digest, IcmpWithoutSegment) {
    const Dissection d(PacketBuilder().ethernet().ipv4("10.0.0.1", "10.0.0.2").icmp(3, 3));
    const PacketDigest g = analyze::digest(d.decoded(), d.verdicts());
    EXPECT_FALSE(g.has_segment);
    ASSERT_GE(g.icmp, 0);
    EXPECT_EQ(d.decoded().layers()[static_cast<std::size_t>(g.icmp)].proto, decode::Proto::Icmpv4);
}

// The per-packet form overwrites everything a packet before left behind.
TEST(Digest, IntoAnOldDigestLeavesNothingOfIt) {
    const Dissection tunnelled(tunnelled_reply());
    const Dissection plain(PacketBuilder().ethernet().ipv4("10.0.0.1", "10.0.0.2").tcp(1, 2));
    PacketDigest g;
    analyze::digest(tunnelled.decoded(), tunnelled.verdicts(), g);
    analyze::digest(plain.decoded(), plain.verdicts(), g);
    const PacketDigest fresh = analyze::digest(plain.decoded(), plain.verdicts());
    EXPECT_EQ(g.has_segment, fresh.has_segment);
    EXPECT_EQ(g.segment.key, fresh.segment.key);
    EXPECT_EQ(g.segment.tunnelled, fresh.segment.tunnelled);
    EXPECT_EQ(g.segment.outer_verdict_known, fresh.segment.outer_verdict_known);
    EXPECT_EQ(g.segment.vni, fresh.segment.vni);
    EXPECT_EQ(g.vtep_count, fresh.vtep_count);
    EXPECT_EQ(g.icmp, fresh.icmp);
}

}  // namespace
}  // namespace vxcheck::test

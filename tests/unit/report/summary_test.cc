// Summary: every frame read is counted as decoded or skipped (by reason), verdicts by check,
// depth and status, and merge() adds per-file summaries into a total.

#include "vxcheck/report/summary.h"

#include <gtest/gtest.h>

#include "packet_builder.h"

namespace vxcheck::test {
namespace {

using verify::Check;
using verify::Status;

std::size_t idx(auto e) {
    return static_cast<std::size_t>(e);
}

void add(report::Summary& s, const PacketBuilder& b) {
    const Dissection d(b);
    s.add(d.decoded(), d.verdicts());
}

// TCP 1 -> 2 in VXLAN, the outer UDP checksum 0 (the builder's last layer is the TCP one).
PacketBuilder tcp_in_vxlan_without_outer_checksum() {
    return PacketBuilder()
        .ethernet()
        .ipv4("192.168.0.1", "192.168.0.2")
        .udp(5, 8472)
        .zero_udp_checksum()
        .vxlan(1)
        .ethernet()
        .ipv4("10.0.0.1", "10.0.0.2")
        .tcp(1, 2);
}

TEST(Summary, CountsFramesVerdictsAndAnomalies) {
    report::Summary s;
    add(s, PacketBuilder().ethernet().ipv4("10.0.0.1", "10.0.0.2").tcp(1, 2).payload(4));
    add(s, tcp_in_vxlan_without_outer_checksum().corrupt_checksum(0x10));
    add(s, PacketBuilder().ethernet().ethertype(0x0806).payload(28));
    add(s, PacketBuilder().ethernet().vlan(1).vlan(2).vlan(3).vlan(4).vlan(5));
    add(s, PacketBuilder().ethernet().link_type(LinkType::Unsupported));

    EXPECT_EQ(s.frames_read, 5U);
    EXPECT_EQ(s.decoded, 2U);
    EXPECT_EQ(s.skipped[idx(decode::SkipReason::NonIp)], 1U);
    EXPECT_EQ(s.skipped[idx(decode::SkipReason::Malformed)], 1U);
    EXPECT_EQ(s.skipped[idx(decode::SkipReason::UnsupportedLinkType)], 1U);
    EXPECT_EQ(s.skipped_total(), 3U);
    EXPECT_EQ(s.decoded + s.skipped_total(), s.frames_read);
    EXPECT_EQ(s.anomalies[idx(decode::Anomaly::VlanTooManyTags)], 1U);
    EXPECT_EQ(s.packets_with_anomalies, 1U);
    EXPECT_EQ(s.packets_with_bad_checksum, 1U);
    EXPECT_EQ(s.checksums[idx(Check::Tcp)][0][idx(Status::Ok)], 1U);
    EXPECT_EQ(s.checksums[idx(Check::Tcp)][1][idx(Status::Bad)], 1U);
    EXPECT_EQ(s.checksums[idx(Check::Udp)][0][idx(Status::Zero)], 1U);
    EXPECT_EQ(s.checksums[idx(Check::Ipv4Header)][0][idx(Status::Ok)], 2U);
    EXPECT_EQ(s.checksums[idx(Check::Ipv4Header)][1][idx(Status::Ok)], 1U);
    EXPECT_EQ(s.checksum_count(Status::Ok), 4U);
    EXPECT_EQ(s.checksum_count(Status::Bad), 1U);
    EXPECT_EQ(s.checksum_count(Status::Zero), 1U);
}

// add_fast_path() counts a frame of either shape of decode/shapes.h from its verdicts alone,
// exactly as add() counts it from its layers, anomalies and verdicts.
TEST(Summary, AddFastPathTalliesAsAddDoesForBothShapes) {
    const PacketBuilder shapes[] = {
        PacketBuilder().ethernet().ipv4("10.0.0.1", "10.0.0.2").tcp(1, 2).partial_checksum(),
        tcp_in_vxlan_without_outer_checksum().payload(9),
    };
    for (const PacketBuilder& b : shapes) {
        const Dissection d(b);
        report::Summary general;
        report::Summary fast;
        EXPECT_FALSE(general.add(d.decoded(), d.verdicts()));
        fast.add_fast_path(d.decoded().frame(), d.verdicts());
        EXPECT_EQ(general.frames_read, fast.frames_read);
        EXPECT_EQ(general.decoded, fast.decoded);
        EXPECT_EQ(general.bytes_captured, fast.bytes_captured);
        EXPECT_TRUE(general.checksums == fast.checksums);
        EXPECT_EQ(fast.checksum_count(Status::Partial) + fast.checksum_count(Status::Zero), 1U);
    }
}

TEST(Summary, MergeAddsEverything) {
    report::Summary a;
    report::Summary b;
    add(a, PacketBuilder().ethernet().ipv4("10.0.0.1", "10.0.0.2").udp(1, 2).zero_udp_checksum());
    add(b, PacketBuilder().ethernet().ipv4("10.0.0.1", "10.0.0.2").udp(1, 2).corrupt_checksum(1));
    add(b, PacketBuilder().ethernet().ethertype(0x0806).payload(28));
    report::Summary total;
    total.merge(a);
    total.merge(b);
    EXPECT_EQ(total.frames_read, 3U);
    EXPECT_EQ(total.decoded, 2U);
    EXPECT_EQ(total.skipped_total(), 1U);
    EXPECT_EQ(total.packets_with_bad_checksum, 1U);
    EXPECT_EQ(total.checksum_count(Status::Zero), 1U);
    EXPECT_EQ(total.checksum_count(Status::Bad), 1U);
    EXPECT_EQ(total.bytes_captured, a.bytes_captured + b.bytes_captured);
}

TEST(Summary, TheSpanIsTheEarliestToTheLatestStampInAnyOrder) {
    // A file's frames need not be in time order (a late frame of another interface), nor
    // files' summaries merged in it.
    const Dissection d(PacketBuilder().ethernet().ipv4("10.0.0.1", "10.0.0.2").tcp(1, 2));
    const auto count = [&d](report::Summary& s, std::int64_t sec) {
        RawFrame f = d.packet().frame();
        f.ts = Timestamp{.sec = sec, .nsec = 0};
        s.add_fast_path(f, d.verdicts());
    };
    const auto at = [](std::int64_t sec) { return Timestamp{.sec = sec, .nsec = 0}; };
    report::Summary a;
    for (const std::int64_t sec : {20, 10, 40, 30}) {
        count(a, sec);
    }
    EXPECT_EQ(a.first_ts, at(10));
    EXPECT_EQ(a.last_ts, at(40));
    report::Summary b;
    count(b, 50);
    count(b, 5);
    report::Summary total;
    total.merge(b);
    total.merge(a);
    total.merge(report::Summary{});  // no frames: no stamps
    EXPECT_EQ(total.frames_read, 6U);
    EXPECT_EQ(total.first_ts, at(5));
    EXPECT_EQ(total.last_ts, at(50));
}

TEST(Summary, DeepTunnelsAreTalliedAtTheLastDepth) {
    PacketBuilder b = PacketBuilder().ethernet();
    for (int i = 0; i < 10; ++i) {
        b.ipv4("192.168.0.1", "192.168.0.2").udp(5, 8472).vxlan(1).ethernet();
    }
    b.ipv4("10.0.0.1", "10.0.0.2");
    decode::DecodeOptions deep;
    deep.max_tunnel_depth = 20;
    const Dissection d(b, deep);
    report::Summary s;
    s.add(d.decoded(), d.verdicts());
    // The layer stack (32) ends at depth 7; nothing is lost or out of range.
    std::uint64_t ipv4 = 0;
    for (std::size_t depth = 0; depth <= report::kMaxDepth; ++depth) {
        ipv4 += s.checksums[idx(Check::Ipv4Header)][depth][idx(Status::Ok)];
    }
    EXPECT_EQ(ipv4, 8U);
}

}  // namespace
}  // namespace vxcheck::test

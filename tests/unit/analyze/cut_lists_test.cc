// A list a report cuts at a bound carries the total it was cut from (issue 20 item 2): the outer
// source ports of a connection (kMaxSports kept) and its evidence frames (kMaxEvidence kept).

#include <gtest/gtest.h>

#include <cstdint>

#include "feeder.h"
#include "packet_builder.h"
#include "vxcheck/analyze/connections.h"

namespace vxcheck::test {
namespace {

namespace tf = decode::tcp_flag;

// A client SYN in VXLAN with outer source port `outer`, IP ID `id`.
PacketBuilder syn(std::uint16_t outer, std::uint16_t id, std::uint32_t isn = 1000) {
    PacketBuilder b;
    b.ethernet().ipv4("192.168.1.10", "192.168.1.20").udp(outer, 8472).zero_udp_checksum();
    b.vxlan(1).ethernet().ipv4("10.244.1.5", "10.244.2.7").ipv4_id(id);
    b.tcp(45000, 2049, tf::kSyn, isn);
    return b;
}

TEST(CutLists, OuterSourcePortsBeyondTheListAreCountedInTheTotal) {
    analyze::ConnectionAnalyzer a(analyze::ConnectionOptions{});
    a.add_point("p");
    Feeder feed(a);
    for (std::uint16_t i = 0; i < 11; ++i) {  // 11 distinct ports, then the first again
        feed.send(syn(static_cast<std::uint16_t>(40000 + i), i));
    }
    feed.send(syn(40000, 11));
    const auto reports = a.finish();
    ASSERT_EQ(reports.size(), 1U);
    EXPECT_EQ(reports[0].outer_sports.size(), 8U);
    EXPECT_EQ(reports[0].outer_sports_total[0], 11U);  // the port seen again is in the list
}

TEST(CutLists, EvidenceFramesBeyondTheListAreCountedInTheTotal) {
    analyze::ConnectionAnalyzer a(analyze::ConnectionOptions{});
    a.add_point("p");
    Feeder feed(a);
    // Three ISNs of 16 transmissions each: 48 SYNs, each a frame of evidence; 32 are kept.
    for (std::uint32_t isn = 1; isn <= 3; ++isn) {
        for (std::uint16_t i = 0; i < 16; ++i) {
            feed.send(syn(40000, static_cast<std::uint16_t>(isn * 100 + i), isn * 1000));
        }
    }
    const auto reports = a.finish();
    ASSERT_EQ(reports.size(), 1U);
    EXPECT_EQ(reports[0].evidence.size(), 32U);
    EXPECT_EQ(reports[0].evidence_total, 48U);
}

}  // namespace
}  // namespace vxcheck::test

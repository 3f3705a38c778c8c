// Header-only captures (tcpdump -s 96, issue 21 item 3): a TCP header cut by the snaplen after
// its ports is still a segment with the fields that were captured, and never more.

#include <gtest/gtest.h>

#include <algorithm>

#include "packet_builder.h"
#include "vxcheck/decode/decode.h"
#include "vxcheck/verify/verify.h"

namespace vxcheck::test {
namespace {

using decode::Proto;
namespace tf = decode::tcp_flag;

constexpr std::size_t kVxlanHeaders = 14 + 20 + 8 + 8 + 14 + 20;  // before the inner TCP header

PacketBuilder vxlan_syn() {
    return PacketBuilder()
        .ethernet()
        .ipv4("192.168.1.10", "192.168.1.20")
        .udp(7103, 8472)
        .vxlan(1)
        .ethernet()
        .ipv4("10.244.1.0", "10.244.2.5")
        .tcp(612, 2049, tf::kSyn, 0x6f3a91c4, 0x01020304)
        .tcp_options(ByteVec(20, 0x01));
}

const decode::TcpInfo* tcp_of(const decode::DecodedPacket& p) {
    const int t = p.innermost(Proto::Tcp);
    return t < 0 ? nullptr : p.layers()[static_cast<std::size_t>(t)].as<decode::TcpInfo>();
}

TEST(HeaderOnlyCapture, ACutTcpHeaderKeepsTheCapturedFieldsAndOnlyThose) {
    for (std::size_t tcp_bytes = 0; tcp_bytes <= 40; ++tcp_bytes) {
        SCOPED_TRACE(tcp_bytes);
        const BuiltPacket b = vxlan_syn().snaplen(kVxlanHeaders + tcp_bytes).build();
        const RawFrame f = b.frame(1);
        decode::DecodedPacket p;
        decode::decode(f, {}, p);
        const decode::TcpInfo* t = tcp_of(p);
        if (tcp_bytes < 4) {
            EXPECT_EQ(t, nullptr);
            continue;
        }
        ASSERT_NE(t, nullptr);
        EXPECT_EQ(t->sport, 612);
        EXPECT_EQ(t->dport, 2049);
        EXPECT_EQ(t->captured, std::min<std::size_t>(tcp_bytes, 20));
        EXPECT_EQ(t->seq_known(), tcp_bytes >= 8);
        EXPECT_EQ(t->seq, tcp_bytes >= 8 ? 0x6f3a91c4U : 0U);
        EXPECT_EQ(t->ack_known(), tcp_bytes >= 12);
        EXPECT_EQ(t->ack, tcp_bytes >= 12 ? 0x01020304U : 0U);
        EXPECT_EQ(t->flags_known(), tcp_bytes >= 14);
        EXPECT_EQ(t->flags, tcp_bytes >= 14 ? tf::kSyn : 0);
        const auto anomalies = p.anomalies();
        EXPECT_EQ(
            std::count(anomalies.begin(), anomalies.end(), decode::Anomaly::TcpHeaderTruncated),
            tcp_bytes < 40 ? 1 : 0);
        verify::Verdicts v;
        verify::verify(p, v);
        const verify::Verdict* tcp_verdict =
            v.for_layer(static_cast<std::size_t>(p.innermost(Proto::Tcp)));
        ASSERT_NE(tcp_verdict, nullptr);
        if (tcp_bytes < 40) {
            EXPECT_EQ(tcp_verdict->status, verify::Status::Unverified);  // the segment is cut
        }
    }
}

TEST(HeaderOnlyCapture, AShortSegmentThatIsNotCutIsMalformedNotASegment) {
    // The IP header says the segment is 19 bytes and all of it was captured: not a snaplen cut.
    const BuiltPacket b =
        PacketBuilder().ethernet().ipv4("10.0.0.1", "10.0.0.2").ip_protocol(6).payload(19).build();
    decode::DecodedPacket p;
    const RawFrame f = b.frame(1);
    decode::decode(f, {}, p);
    EXPECT_EQ(tcp_of(p), nullptr);
}

TEST(HeaderOnlyCapture, CutsInsideTheOuterHeadersAreNamedAnomaliesWithoutASegment) {
    // tcpdump -s 64 / -s 80 and every other cut before the inner TCP ports.
    for (std::size_t n = 1; n < kVxlanHeaders + 4; ++n) {
        SCOPED_TRACE(n);
        const BuiltPacket b = vxlan_syn().snaplen(n).build();
        const RawFrame f = b.frame(1);
        decode::DecodedPacket p;
        decode::decode(f, {}, p);
        EXPECT_EQ(tcp_of(p), nullptr);
        EXPECT_FALSE(p.anomalies().empty() && p.decoded()) << "a cut must be named";
    }
}

}  // namespace
}  // namespace vxcheck::test

// TCP, UDP and ICMP headers: fields and every length check.

#include <gtest/gtest.h>

#include "packet_builder.h"
#include "vxcheck/decode/decode.h"

namespace vxcheck::test {
namespace {

using decode::Proto;
namespace tf = decode::tcp_flag;

PacketBuilder eth4() {
    return PacketBuilder().ethernet().ipv4("10.244.1.0", "10.244.2.5");
}

// MSS 1460, SACK permitted, timestamps, NOP, window scale 7: 20 bytes.
const ByteVec kSynOptions{0x02, 0x04, 0x05, 0xb4, 0x04, 0x02, 0x08, 0x0a, 0x00, 0x00,
                          0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x01, 0x03, 0x03, 0x07};

std::vector<DecodeRow> transport_rows() {
    return {
        {"tcp_syn_with_options", eth4().tcp(40000, 2049, tf::kSyn).tcp_options(kSynOptions),
         "ethernet ipv4 tcp", ""},
        {"tcp_max_data_offset", eth4().tcp(1, 2).tcp_options(ByteVec(40, 0x01)).payload(4),
         "ethernet ipv4 tcp", ""},
        {"tcp_header_truncated", eth4().ip_protocol(6).payload(19), "ethernet ipv4",
         "tcp.header_truncated"},
        // A snaplen cut keeps what was captured of the header as a segment (issue 21 item 3).
        {"tcp_header_cut_by_snaplen", eth4().tcp(1, 2).payload(10).snaplen(14 + 20 + 12),
         "ethernet ipv4 tcp", "tcp.header_truncated"},
        {"tcp_header_cut_by_snaplen_inside_the_ports", eth4().tcp(1, 2).snaplen(14 + 20 + 3),
         "ethernet ipv4", "tcp.header_truncated"},
        {"tcp_options_cut_by_snaplen",
         eth4().tcp(1, 2).tcp_options(kSynOptions).snaplen(14 + 20 + 30), "ethernet ipv4 tcp",
         "tcp.header_truncated"},
        {"tcp_data_offset_too_small", eth4().tcp(1, 2).tcp_data_offset(4), "ethernet ipv4",
         "tcp.data_offset_too_small"},
        {"tcp_data_offset_zero", eth4().tcp(1, 2).tcp_data_offset(0), "ethernet ipv4",
         "tcp.data_offset_too_small"},
        {"tcp_data_offset_exceeds_segment", eth4().tcp(1, 2).tcp_data_offset(6), "ethernet ipv4",
         "tcp.data_offset_exceeds_segment"},
        {"tcp_data_offset_15_within_segment", eth4().tcp(1, 2).tcp_data_offset(15).payload(40),
         "ethernet ipv4 tcp", ""},
        {"udp", eth4().udp(40000, 53).payload(20), "ethernet ipv4 udp", ""},
        {"udp_empty", eth4().udp(40000, 53), "ethernet ipv4 udp", ""},
        {"udp_unknown_port_payload_not_decoded", eth4().udp(1, 9).payload(40), "ethernet ipv4 udp",
         ""},
        {"udp_header_truncated", eth4().ip_protocol(17).payload(7), "ethernet ipv4",
         "udp.header_truncated"},
        {"udp_length_too_small", eth4().udp(1, 2).udp_length(7).payload(8), "ethernet ipv4 udp",
         "udp.length_too_small"},
        {"udp_length_zero", eth4().udp(1, 2).udp_length(0).payload(8), "ethernet ipv4 udp",
         "udp.length_too_small"},
        {"udp_length_exceeds_ip_payload", eth4().udp(1, 2).udp_length(100).payload(12),
         "ethernet ipv4 udp", "udp.length_exceeds_ip_payload"},
        {"udp_length_short_of_ip_payload", eth4().udp(1, 2).udp_length(12).payload(12),
         "ethernet ipv4 udp", "udp.length_short_of_ip_payload"},
        {"udp_length_exceeds_but_tunnel_not_decoded",
         eth4().udp(50000, 8472).udp_length(200).vxlan(1).ethernet().ipv4("1.1.1.1", "2.2.2.2"),
         "ethernet ipv4 udp", "udp.length_exceeds_ip_payload"},
        {"udp_first_fragment_length_not_checked",
         eth4().ipv4_fragment(0, true).udp(1, 2).udp_length(3000).payload(64), "ethernet ipv4 udp",
         ""},
        {"icmp_echo", eth4().icmp(8, 0).payload(8), "ethernet ipv4 icmp", ""},
        {"icmp_truncated", eth4().ip_protocol(1).payload(3), "ethernet ipv4", "icmp.truncated"},
        {"icmp_header_only", eth4().ip_protocol(1).payload(4), "ethernet ipv4 icmp", ""},
        {"icmpv6_truncated",
         PacketBuilder().ethernet().ipv6("fd00::1", "fd00::2").ip_protocol(58).payload(2),
         "ethernet ipv6", "icmp.truncated"},
    };
}

TEST(TransportDecode, Table) {
    for (const DecodeRow& row : transport_rows()) {
        SCOPED_TRACE(row.name);
        expect_decodes_as(row);
    }
}

// --- fields --------------------------------------------------------------------------------------

TEST(TcpDecode, Fields) {
    const Dissection d(eth4()
                           .tcp(0x9c40, 0x0801, tf::kSyn | tf::kAck, 0x01020304, 0xa0b0c0d0)
                           .tcp_options(kSynOptions)
                           .payload(5));
    const decode::Layer* l = d.find(Proto::Tcp);
    ASSERT_NE(l, nullptr);
    const auto* tcp = l->as<decode::TcpInfo>();
    EXPECT_EQ(tcp->sport, 0x9c40);
    EXPECT_EQ(tcp->dport, 0x0801);
    EXPECT_EQ(tcp->seq, 0x01020304U);
    EXPECT_EQ(tcp->ack, 0xa0b0c0d0U);
    EXPECT_EQ(tcp->flags, 0x12);
    EXPECT_EQ(tcp->window, 64240);
    EXPECT_EQ(tcp->checksum, d.packet().be16_at(l->offset + 16));
    EXPECT_EQ(l->header_len, 40);
    EXPECT_EQ(l->claimed_len, 45U);
    EXPECT_EQ(l->payload().size(), 5U);
    EXPECT_EQ(l->header().size(), 40U);
}

TEST(TcpDecode, AllFlagBitsKept) {
    const Dissection d(eth4().tcp(1, 2, 0xff));
    EXPECT_EQ(d.find(Proto::Tcp)->as<decode::TcpInfo>()->flags, 0xff);
}

TEST(UdpDecode, Fields) {
    const Dissection d(eth4().udp(53, 40000).payload(11));
    const decode::Layer* l = d.find(Proto::Udp);
    ASSERT_NE(l, nullptr);
    const auto* udp = l->as<decode::UdpInfo>();
    EXPECT_EQ(udp->sport, 53);
    EXPECT_EQ(udp->dport, 40000);
    EXPECT_EQ(udp->length, 19);
    EXPECT_EQ(udp->checksum, d.packet().be16_at(l->offset + 6));
    EXPECT_EQ(l->header_len, 8);
    EXPECT_EQ(l->claimed_len, 19U);
}

TEST(UdpDecode, ShortLengthClipsTheView) {
    // UDP says 12 bytes, IP carries 20: the datagram is the first 12, the rest is trailing data.
    const Dissection d(eth4().udp(1, 2).udp_length(12).payload(12));
    const decode::Layer* l = d.find(Proto::Udp);
    EXPECT_EQ(l->claimed_len, 12U);
    EXPECT_EQ(l->bytes.size(), 12U);
}

TEST(UdpDecode, LyingLengthIsClampedToTheIpPayload) {
    const Dissection d(eth4().udp(1, 2).udp_length(100).payload(12));
    const decode::Layer* l = d.find(Proto::Udp);
    EXPECT_EQ(l->as<decode::UdpInfo>()->length, 100);
    EXPECT_EQ(l->claimed_len, 20U);
    EXPECT_EQ(l->bytes.size(), 20U);
}

TEST(IcmpDecode, Fields) {
    const Dissection d(eth4().icmp(3, 3).payload(28));
    const decode::Layer* l = d.find(Proto::Icmpv4);
    ASSERT_NE(l, nullptr);
    EXPECT_EQ(l->as<decode::IcmpInfo>()->type, 3);
    EXPECT_EQ(l->as<decode::IcmpInfo>()->code, 3);
    EXPECT_EQ(l->as<decode::IcmpInfo>()->checksum, d.packet().be16_at(l->offset + 2));
    EXPECT_EQ(l->header_len, 4);
}

}  // namespace
}  // namespace vxcheck::test

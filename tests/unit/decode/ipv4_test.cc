// IPv4 (RFC 791): options, fragments, super-packets and every length check.

#include <gtest/gtest.h>

#include "packet_builder.h"
#include "vxcheck/decode/decode.h"

namespace vxcheck::test {
namespace {

using decode::Proto;

constexpr const char* kSrc = "10.244.1.0";
constexpr const char* kDst = "10.244.2.5";

PacketBuilder eth4() {
    return PacketBuilder().ethernet().ipv4(kSrc, kDst);
}

// NOP NOP, then Record Route (type 7, length 7, pointer 4, one empty slot) + EOL: 12 bytes.
const ByteVec kOptions{0x01, 0x01, 0x07, 0x07, 0x04, 0, 0, 0, 0, 0x00, 0x00, 0x00};

std::vector<DecodeRow> ipv4_rows() {
    return {
        {"tcp", eth4().tcp(1, 2).payload(10), "ethernet ipv4 tcp", ""},
        {"udp", eth4().udp(1, 2).payload(10), "ethernet ipv4 udp", ""},
        {"icmp", eth4().icmp(8, 0).payload(16), "ethernet ipv4 icmp", ""},
        {"options", eth4().ipv4_options(kOptions).tcp(1, 2).payload(10), "ethernet ipv4 tcp", ""},
        {"max_options", eth4().ipv4_options(ByteVec(40, 0x01)).tcp(1, 2), "ethernet ipv4 tcp", ""},
        {"unknown_protocol", eth4().ip_protocol(253).payload(24), "ethernet ipv4", ""},
        {"no_payload", eth4(), "ethernet ipv4", ""},
        {"ethernet_padding", eth4().tcp(1, 2).trailer(6), "ethernet ipv4 tcp", ""},
        {"dont_fragment", eth4().ipv4_dont_fragment().tcp(1, 2), "ethernet ipv4 tcp", ""},
        // Fragments: the first carries the transport header, the others do not.
        {"first_fragment_tcp", eth4().ipv4_fragment(0, true).tcp(1, 2).payload(64),
         "ethernet ipv4 tcp", ""},
        {"first_fragment_udp_not_matched_to_tunnel",
         eth4().ipv4_fragment(0, true).udp(50000, 8472).vxlan(1).ethernet().ipv4(kSrc, kDst),
         "ethernet ipv4 udp", ""},
        {"middle_fragment", eth4().ipv4_fragment(1480, true).payload(64), "ethernet ipv4", ""},
        {"last_fragment", eth4().ipv4_fragment(2960, false).payload(64), "ethernet ipv4", ""},
        {"last_fragment_looks_like_tcp", eth4().ipv4_fragment(8, false).tcp(1, 2), "ethernet ipv4",
         ""},
        // Super-packets (TSO / BIG TCP): total length 0, extent from the capture.
        {"total_length_zero", eth4().ip_total_length(0).tcp(1, 2).payload(3000),
         "ethernet ipv4 tcp", ""},
        // Length checks, in the order of style rule 1.
        {"header_truncated_short_frame", PacketBuilder().ethernet().ethertype(0x0800).payload(19),
         "ethernet", "ipv4.header_truncated", "malformed"},
        {"header_truncated_by_snaplen", eth4().tcp(1, 2).snaplen(14 + 19), "ethernet",
         "ipv4.header_truncated", "malformed"},
        {"bad_version", eth4().ip_version(6).tcp(1, 2), "ethernet", "ipv4.bad_version",
         "malformed"},
        {"ihl_too_small", eth4().ipv4_ihl(4).tcp(1, 2), "ethernet", "ipv4.header_len_too_small",
         "malformed"},
        {"ihl_zero", eth4().ipv4_ihl(0).tcp(1, 2), "ethernet", "ipv4.header_len_too_small",
         "malformed"},
        {"ihl_past_captured_bytes", eth4().ipv4_ihl(15).tcp(1, 2), "ethernet",
         "ipv4.header_truncated", "malformed"},
        {"options_cut_by_snaplen", eth4().ipv4_options(kOptions).tcp(1, 2).snaplen(14 + 24),
         "ethernet", "ipv4.header_truncated", "malformed"},
        {"total_length_below_header", eth4().ip_total_length(19).tcp(1, 2), "ethernet",
         "ipv4.total_len_too_small", "malformed"},
        {"total_length_below_options", eth4().ipv4_options(kOptions).ip_total_length(20).tcp(1, 2),
         "ethernet", "ipv4.total_len_too_small", "malformed"},
        {"total_length_exactly_header", eth4().ip_total_length(20).tcp(1, 2), "ethernet ipv4",
         "tcp.header_truncated"},
        {"total_length_exceeds_frame", eth4().ip_total_length(200).tcp(1, 2).payload(10),
         "ethernet ipv4 tcp", "ipv4.total_len_exceeds_frame"},
        {"total_length_exceeds_cut_frame_is_not_a_lie",
         eth4().tcp(1, 2).payload(100).snaplen(14 + 20 + 20 + 10), "ethernet ipv4 tcp", ""},
        {"total_length_short_of_frame", eth4().ip_total_length(44).tcp(1, 2).payload(10),
         "ethernet ipv4 tcp", ""},
    };
}

TEST(Ipv4Decode, Table) {
    for (const DecodeRow& row : ipv4_rows()) {
        SCOPED_TRACE(row.name);
        expect_decodes_as(row);
    }
}

// --- fields --------------------------------------------------------------------------------------

TEST(Ipv4Decode, Fields) {
    const Dissection d(
        eth4().ipv4_id(0xbeef).ipv4_ttl(63).ipv4_dont_fragment().tcp(1, 2).payload(4));
    const decode::Layer* l = d.find(Proto::Ipv4);
    ASSERT_NE(l, nullptr);
    const auto* ip = l->as<decode::Ipv4Info>();
    EXPECT_EQ(ip->src, 0x0af40100U);
    EXPECT_EQ(ip->dst, 0x0af40205U);
    EXPECT_EQ(ip->total_length, 44);
    EXPECT_EQ(ip->id, 0xbeef);
    EXPECT_EQ(ip->ttl, 63);
    EXPECT_EQ(ip->protocol, 6);
    EXPECT_TRUE(ip->dont_fragment);
    EXPECT_FALSE(ip->more_fragments);
    EXPECT_EQ(ip->frag_offset, 0);
    EXPECT_FALSE(ip->is_fragment());
    EXPECT_FALSE(ip->length_from_capture);
    EXPECT_EQ(ip->checksum, d.packet().be16_at(14 + 10));
    EXPECT_EQ(l->header_len, 20);
    EXPECT_EQ(l->claimed_len, 44U);
    EXPECT_EQ(l->bytes.size(), 44U);
    EXPECT_FALSE(l->truncated());
}

TEST(Ipv4Decode, OptionsExtendTheHeader) {
    const Dissection d(eth4().ipv4_options(kOptions).tcp(1, 2));
    EXPECT_EQ(d.find(Proto::Ipv4)->header_len, 32);
    EXPECT_EQ(d.find(Proto::Tcp)->offset, 14U + 32);
}

TEST(Ipv4Decode, FragmentFields) {
    const Dissection d(eth4().ipv4_fragment(2960, true).payload(8));
    const auto* ip = d.find(Proto::Ipv4)->as<decode::Ipv4Info>();
    EXPECT_EQ(ip->frag_offset, 2960);  // bytes, not 8-byte units
    EXPECT_TRUE(ip->more_fragments);
    EXPECT_TRUE(ip->is_fragment());
    // The largest offset: 0x1fff * 8.
    const Dissection max(eth4().ipv4_fragment(0xfff8, false).payload(8));
    EXPECT_EQ(max.find(Proto::Ipv4)->as<decode::Ipv4Info>()->frag_offset, 0xfff8);
}

TEST(Ipv4Decode, EthernetPaddingIsOutsideTheIpExtent) {
    const Dissection d(eth4().tcp(1, 2).trailer(6));
    EXPECT_EQ(d.packet().caplen, 14U + 40 + 6);
    EXPECT_EQ(d.find(Proto::Ipv4)->bytes.size(), 40U);
    EXPECT_EQ(d.find(Proto::Tcp)->bytes.size(), 20U);
    EXPECT_EQ(d.find(Proto::Tcp)->claimed_len, 20U);
}

TEST(Ipv4Decode, TotalLengthZeroTakesTheCapturedExtent) {
    const Dissection d(eth4().ip_total_length(0).tcp(1, 2).payload(3000));
    const decode::Layer* l = d.find(Proto::Ipv4);
    EXPECT_TRUE(l->as<decode::Ipv4Info>()->length_from_capture);
    EXPECT_EQ(l->claimed_len, 20U + 20 + 3000);
    EXPECT_EQ(d.find(Proto::Tcp)->claimed_len, 20U + 3000);
}

TEST(Ipv4Decode, SnaplenCutKeepsTheClaimedLength) {
    const Dissection d(eth4().tcp(1, 2).payload(100).snaplen(64));
    const decode::Layer* l = d.find(Proto::Ipv4);
    EXPECT_EQ(l->claimed_len, 140U);
    EXPECT_EQ(l->bytes.size(), 64U - 14);
    EXPECT_TRUE(l->truncated());
    EXPECT_TRUE(d.find(Proto::Tcp)->truncated());
}

}  // namespace
}  // namespace vxcheck::test

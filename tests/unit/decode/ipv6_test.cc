// IPv6 (RFC 8200) and its extension headers, including the pseudo-header addresses the upper
// layer uses (Routing header final destination, Home Address option).

#include <gtest/gtest.h>

#include "packet_builder.h"
#include "vxcheck/decode/decode.h"

namespace vxcheck::test {
namespace {

using decode::Proto;

constexpr const char* kSrc = "fd00:1::1";
constexpr const char* kDst = "fd00:2::5";

PacketBuilder eth6() {
    return PacketBuilder().ethernet().ipv6(kSrc, kDst);
}

// AH (RFC 4302): next, len (4-byte units minus 2), reserved(2), SPI(4), seq(4): 12 bytes.
const ByteVec kAh{0, 1, 0, 0, 0, 0, 0x10, 0x01, 0, 0, 0, 0x01};

std::vector<DecodeRow> ipv6_rows() {
    PacketBuilder eight = eth6();
    for (int i = 0; i < 8; ++i) {
        eight.dest_options();
    }
    PacketBuilder nine = eth6();
    for (int i = 0; i < 9; ++i) {
        nine.dest_options();
    }
    return {
        {"tcp", eth6().tcp(1, 2).payload(10), "ethernet ipv6 tcp", ""},
        {"udp", eth6().udp(1, 2).payload(10), "ethernet ipv6 udp", ""},
        {"icmpv6", eth6().icmp(128, 0).payload(8), "ethernet ipv6 icmpv6", ""},
        {"no_next_header", eth6().dest_options(), "ethernet ipv6", ""},
        {"hop_by_hop", eth6().hop_by_hop().tcp(1, 2), "ethernet ipv6 tcp", ""},
        {"hop_by_hop_long", eth6().hop_by_hop(3).udp(1, 2), "ethernet ipv6 udp", ""},
        {"dest_options", eth6().dest_options(1).tcp(1, 2), "ethernet ipv6 tcp", ""},
        {"home_address", eth6().home_address("fd00:9::9").tcp(1, 2), "ethernet ipv6 tcp", ""},
        {"routing_type0", eth6().routing(0, 2, {"fd00:3::3", "fd00:4::4"}).tcp(1, 2),
         "ethernet ipv6 tcp", ""},
        {"routing_type2", eth6().routing(2, 1, {"fd00:9::9"}).udp(1, 2), "ethernet ipv6 udp", ""},
        {"routing_srh", eth6().routing(4, 1, {"fd00:4::4", "fd00:3::3"}).tcp(1, 2),
         "ethernet ipv6 tcp", ""},
        {"routing_unknown_type", eth6().routing(3, 1, {"fd00:4::4"}).tcp(1, 2), "ethernet ipv6 tcp",
         ""},
        {"routing_segments_left_zero_without_addresses", eth6().routing(0, 0, {}).tcp(1, 2),
         "ethernet ipv6 tcp", ""},
        {"all_kinds_chained",
         eth6()
             .hop_by_hop()
             .dest_options()
             .routing(0, 1, {"fd00:3::3"})
             .ipv6_fragment(0, false)
             .ipv6_ext(51, kAh)
             .dest_options()
             .tcp(1, 2)
             .payload(4),
         "ethernet ipv6 tcp", ""},
        {"ah", eth6().ipv6_ext(51, kAh).udp(1, 2), "ethernet ipv6 udp", ""},
        {"atomic_fragment", eth6().ipv6_fragment(0, false).tcp(1, 2), "ethernet ipv6 tcp", ""},
        {"first_fragment", eth6().ipv6_fragment(0, true).udp(1, 2).payload(64), "ethernet ipv6 udp",
         ""},
        {"non_first_fragment", eth6().ipv6_fragment(1448, true).payload(64), "ethernet ipv6", ""},
        {"last_fragment_looks_like_tcp", eth6().ipv6_fragment(8, false).tcp(1, 2), "ethernet ipv6",
         ""},
        {"eight_ext_headers", eight.tcp(1, 2), "ethernet ipv6 tcp", ""},
        {"nine_ext_headers", nine.tcp(1, 2), "ethernet ipv6", "ipv6.too_many_ext_headers"},
        {"payload_length_zero_jumbo", eth6().ipv6_payload_length(0).tcp(1, 2).payload(100),
         "ethernet ipv6 tcp", ""},
        // Errors.
        {"header_truncated", PacketBuilder().ethernet().ethertype(0x86dd).payload(39), "ethernet",
         "ipv6.header_truncated", "malformed"},
        {"bad_version", eth6().ip_version(4).tcp(1, 2), "ethernet", "ipv6.bad_version",
         "malformed"},
        {"payload_length_exceeds_frame", eth6().ipv6_payload_length(500).tcp(1, 2),
         "ethernet ipv6 tcp", "ipv6.payload_len_exceeds_frame"},
        {"payload_length_exceeds_cut_frame", eth6().tcp(1, 2).payload(100).snaplen(14 + 40 + 30),
         "ethernet ipv6 tcp", ""},
        {"ext_header_length_past_payload", eth6().hop_by_hop().patch(1, 5).tcp(1, 2),
         "ethernet ipv6", "ipv6.ext_header_truncated"},
        {"ext_header_missing", eth6().ip_protocol(0), "ethernet ipv6", "ipv6.ext_header_truncated"},
        {"ext_header_one_byte", eth6().ip_protocol(60).payload(1), "ethernet ipv6",
         "ipv6.ext_header_truncated"},
        {"ext_header_cut_by_snaplen", eth6().hop_by_hop(2).tcp(1, 2).snaplen(14 + 40 + 10),
         "ethernet ipv6", "ipv6.ext_header_truncated"},
        {"routing_type0_without_addresses", eth6().routing(0, 1, {}).tcp(1, 2), "ethernet ipv6 tcp",
         "ipv6.bad_routing_header"},
        {"routing_srh_without_segments", eth6().routing(4, 1, {}).tcp(1, 2), "ethernet ipv6 tcp",
         "ipv6.bad_routing_header"},
    };
}

TEST(Ipv6Decode, Table) {
    for (const DecodeRow& row : ipv6_rows()) {
        SCOPED_TRACE(row.name);
        expect_decodes_as(row);
    }
}

// --- fields and pseudo-header addresses ----------------------------------------------------------

ByteVec addr(std::string_view text) {
    const auto a = ipv6_addr(text);
    return {a.begin(), a.end()};
}

ByteVec view(Bytes b) {
    return {b.begin(), b.end()};
}

const decode::Ipv6Info& ip6(const Dissection& d) {
    const decode::Layer* l = d.find(Proto::Ipv6);
    EXPECT_NE(l, nullptr);
    return *l->as<decode::Ipv6Info>();
}

TEST(Ipv6Decode, Fields) {
    const Dissection d(eth6().tcp(1, 2).payload(12));
    const auto& ip = ip6(d);
    EXPECT_EQ(view(ip.src), addr(kSrc));
    EXPECT_EQ(view(ip.dst), addr(kDst));
    EXPECT_EQ(view(ip.pseudo_src), addr(kSrc));
    EXPECT_EQ(view(ip.pseudo_dst), addr(kDst));
    EXPECT_EQ(ip.payload_length, 32);
    EXPECT_EQ(ip.next_header, 6);
    EXPECT_EQ(ip.hop_limit, 64);
    EXPECT_FALSE(ip.fragment);
    EXPECT_FALSE(ip.length_from_capture);
    EXPECT_EQ(d.find(Proto::Ipv6)->header_len, 40);
    EXPECT_EQ(d.find(Proto::Ipv6)->claimed_len, 72U);
}

TEST(Ipv6Decode, ExtensionHeadersCountInTheHeaderLength) {
    const Dissection d(eth6().hop_by_hop().dest_options(1).tcp(1, 2));
    EXPECT_EQ(d.find(Proto::Ipv6)->header_len, 40 + 8 + 16);
    EXPECT_EQ(d.find(Proto::Tcp)->offset, 14U + 64);
    EXPECT_EQ(ip6(d).next_header, 6);
}

TEST(Ipv6Decode, AhLengthIsInFourByteUnits) {
    const Dissection d(eth6().ipv6_ext(51, kAh).udp(1, 2));
    EXPECT_EQ(d.find(Proto::Ipv6)->header_len, 40 + 12);
    EXPECT_EQ(d.find(Proto::Udp)->offset, 14U + 52);
}

struct PseudoCase {
    std::string name;
    PacketBuilder builder;
    const char* pseudo_src;
    const char* pseudo_dst;
};

std::vector<PseudoCase> pseudo_rows() {
    return {
        PseudoCase{"plain", eth6().tcp(1, 2), kSrc, kDst},
        // RFC 8200 8.1: with segments left the final destination is the last address (type 0/2).
        PseudoCase{"type0_last_address", eth6().routing(0, 2, {"fd00:3::3", "fd00:4::4"}).tcp(1, 2),
                   kSrc, "fd00:4::4"},
        PseudoCase{"type0_one_segment_left",
                   eth6().routing(0, 1, {"fd00:3::3", "fd00:4::4"}).tcp(1, 2), kSrc, "fd00:4::4"},
        PseudoCase{"type0_no_segments_left",
                   eth6().routing(0, 0, {"fd00:3::3", "fd00:4::4"}).tcp(1, 2), kSrc, kDst},
        PseudoCase{"type2_home_address", eth6().routing(2, 1, {"fd00:9::9"}).tcp(1, 2), kSrc,
                   "fd00:9::9"},
        // RFC 8754: Segment List[0] is the final segment.
        PseudoCase{"srh_segment_list_0",
                   eth6().routing(4, 2, {"fd00:4::4", "fd00:3::3", "fd00:2::5"}).tcp(1, 2), kSrc,
                   "fd00:4::4"},
        PseudoCase{"srh_no_segments_left", eth6().routing(4, 0, {"fd00:4::4"}).tcp(1, 2), kSrc,
                   kDst},
        PseudoCase{"unknown_type_keeps_destination", eth6().routing(3, 1, {"fd00:4::4"}).tcp(1, 2),
                   kSrc, kDst},
        // RFC 6275 6.3: the Home Address option replaces the source.
        PseudoCase{"home_address_option", eth6().home_address("fd00:9::9").tcp(1, 2), "fd00:9::9",
                   kDst},
        PseudoCase{"home_address_and_routing",
                   eth6().routing(2, 1, {"fd00:8::8"}).home_address("fd00:9::9").udp(1, 2),
                   "fd00:9::9", "fd00:8::8"},
        PseudoCase{"hop_by_hop_is_not_scanned_for_home_address",
                   eth6()
                       .ipv6_ext(0,
                                 [] {
                                     ByteVec h{0, 2, 1, 2, 0, 0, 201, 16};
                                     const auto a = ipv6_addr("fd00:9::9");
                                     h.insert(h.end(), a.begin(), a.end());
                                     return h;
                                 }())
                       .tcp(1, 2),
                   kSrc, kDst}};
}

TEST(Ipv6Pseudo, Table) {
    for (const PseudoCase& row : pseudo_rows()) {
        SCOPED_TRACE(row.name);
        const Dissection d(row.builder);
        const auto& ip = ip6(d);
        EXPECT_EQ(view(ip.src), addr(kSrc));  // the header fields themselves are unchanged
        EXPECT_EQ(view(ip.dst), addr(kDst));
        EXPECT_EQ(view(ip.pseudo_src), addr(row.pseudo_src));
        EXPECT_EQ(view(ip.pseudo_dst), addr(row.pseudo_dst));
        EXPECT_EQ(d.anomaly_names(), "");
    }
}

TEST(Ipv6Decode, FragmentFields) {
    const Dissection d(eth6().ipv6_fragment(1448, true).payload(16));
    const auto& ip = ip6(d);
    EXPECT_TRUE(ip.fragment);
    EXPECT_TRUE(ip.more_fragments);
    EXPECT_EQ(ip.frag_offset, 1448);
    EXPECT_TRUE(ip.is_fragment());
    EXPECT_EQ(d.find(Proto::Ipv6)->header_len, 48);

    const Dissection atomic(eth6().ipv6_fragment(0, false).tcp(1, 2));
    EXPECT_TRUE(ip6(atomic).fragment);
    EXPECT_FALSE(ip6(atomic).is_fragment());  // RFC 6946 atomic fragment: a whole datagram
}

TEST(Ipv6Decode, PayloadLengthZeroTakesTheCapturedExtent) {
    const Dissection d(eth6().ipv6_payload_length(0).tcp(1, 2).payload(100));
    EXPECT_TRUE(ip6(d).length_from_capture);
    EXPECT_EQ(d.find(Proto::Ipv6)->claimed_len, 40U + 120);
    EXPECT_EQ(d.find(Proto::Tcp)->claimed_len, 120U);
}

TEST(Ipv6Decode, PayloadLengthZeroWithoutPayloadIsNotASuperPacket) {
    const Dissection d(eth6().ip_protocol(59));
    EXPECT_FALSE(ip6(d).length_from_capture);
    EXPECT_EQ(d.find(Proto::Ipv6)->claimed_len, 40U);
}

}  // namespace
}  // namespace vxcheck::test

// GRE (RFC 2784/2890), its ERSPAN II/III payloads and PPTP's version 1 (RFC 2637): what each
// header decodes to, the anomalies of bad ones, and the tunnel depth cap across tunnel kinds.

#include <gtest/gtest.h>

#include "packet_builder.h"
#include "vxcheck/decode/decode.h"

namespace vxcheck::test {
namespace {

using decode::Proto;

PacketBuilder outer4() {
    return PacketBuilder().ethernet().ipv4("192.168.0.10", "192.168.0.11");
}

PacketBuilder& inner_tcp(PacketBuilder& b) {
    return b.ipv4("10.244.1.5", "10.244.2.5").tcp(40000, 2049).payload(8);
}

PacketBuilder gre_tcp(bool checksum = false, std::optional<std::uint32_t> key = std::nullopt,
                      std::optional<std::uint32_t> seq = std::nullopt) {
    PacketBuilder b = outer4().gre(checksum, key, seq);
    return inner_tcp(b);
}

PacketBuilder erspan_tcp(std::uint8_t type, bool subheader = false) {
    PacketBuilder b =
        outer4().gre(false, std::nullopt, 7).erspan(type, 100, 5, subheader).ethernet();
    return inner_tcp(b);
}

decode::DecodeOptions max_depth(std::uint8_t depth) {
    decode::DecodeOptions o;
    o.max_tunnel_depth = depth;
    return o;
}

// Four GRE tunnels inside each other, around an inner TCP segment.
PacketBuilder gre_nested(int n) {
    PacketBuilder b = outer4();
    for (int i = 0; i < n; ++i) {
        b.gre().ipv4("172.16.0.1", "172.16.0.2");
    }
    return b.tcp(1, 2);
}

std::vector<DecodeRow> gre_rows() {
    PacketBuilder over6 = PacketBuilder().ethernet().ipv6("fd00::a", "fd00::b").gre();
    PacketBuilder teb = outer4().gre(false, 0x00123400).ethernet();
    PacketBuilder in6 = outer4().gre();
    PacketBuilder mpls = outer4().gre().mpls(16);
    PacketBuilder type1 = outer4().gre().ethertype(0x88be).ethernet();
    // Cisco MetaData (0x8909): payload type IPv4, version 1, length 1, option 1, SGT 0x0007.
    PacketBuilder metadata = outer4().gre(false, 40).ethertype(0x8909).payload(
        {0x08, 0x00, 0x01, 0x01, 0x00, 0x01, 0x00, 0x07});
    return {
        {"gre_ipv4", gre_tcp(), "ethernet ipv4 gre / ipv4 tcp", ""},
        {"gre_checksum_key_sequence", gre_tcp(true, 42, 9), "ethernet ipv4 gre / ipv4 tcp", ""},
        {"gre_over_ipv6", inner_tcp(over6), "ethernet ipv6 gre / ipv4 tcp", ""},
        {"gre_ipv6_payload", in6.ipv6("fd00:1::1", "fd00:2::1").udp(1, 2),
         "ethernet ipv4 gre / ipv6 udp", ""},
        {"gre_transparent_ethernet", inner_tcp(teb), "ethernet ipv4 gre / ethernet ipv4 tcp", ""},
        {"gre_mpls", inner_tcp(mpls), "ethernet ipv4 gre / mpls ipv4 tcp", ""},
        {"erspan_type1", inner_tcp(type1), "ethernet ipv4 gre / ethernet ipv4 tcp", ""},
        {"erspan_type2", erspan_tcp(2), "ethernet ipv4 gre erspan / ethernet ipv4 tcp", ""},
        {"erspan_type3", erspan_tcp(3), "ethernet ipv4 gre erspan / ethernet ipv4 tcp", ""},
        {"erspan_type3_subheader", erspan_tcp(3, true),
         "ethernet ipv4 gre erspan / ethernet ipv4 tcp", ""},
        {"gre_cisco_metadata", inner_tcp(metadata), "ethernet ipv4 gre / ipv4 tcp", ""},
        {"gre_keepalive_empty", outer4().gre().ethertype(0x0000), "ethernet ipv4 gre", ""},
        // Bad input.
        {"gre_truncated", outer4().ip_protocol(47).payload(3), "ethernet ipv4", "gre.truncated"},
        {"gre_options_truncated", outer4().gre().patch(0, 0xb0).payload(4), "ethernet ipv4",
         "gre.truncated"},
        {"gre_unknown_protocol", outer4().gre().ethertype(0x88b5).payload(20), "ethernet ipv4 gre",
         "gre.unknown_protocol"},
        {"gre_version_2", outer4().gre().patch(1, 0x02).payload(20), "ethernet ipv4",
         "gre.bad_version"},
        {"gre_version_1_not_pptp", outer4().gre().patch(1, 0x01).payload(20), "ethernet ipv4",
         "gre.bad_version"},
        {"gre_routing_present", outer4().gre().patch(0, 0x40).payload(20), "ethernet ipv4",
         "gre.routing_present"},
        {"gre_cisco_metadata_version_2",
         outer4().gre().ethertype(0x8909).payload({0x08, 0x00, 0x02, 0x01, 0x00, 0x01, 0, 0, 0x45}),
         "ethernet ipv4 gre", "gre.unknown_protocol"},
        {"erspan_truncated", outer4().gre(false, std::nullopt, 1).ethertype(0x88be).payload(7),
         "ethernet ipv4 gre", "erspan.truncated"},
        {"erspan3_truncated",
         outer4()
             .gre(false, std::nullopt, 1)
             .ethertype(0x22eb)
             .payload({0x20, 0, 0, 1, 0, 0, 0, 0, 0, 0}),
         "ethernet ipv4 gre", "erspan.truncated"},
        {"erspan_bad_version",
         outer4()
             .gre(false, std::nullopt, 1)
             .ethertype(0x88be)
             .payload({0x30, 0, 0, 1, 0, 0, 0, 0}),
         "ethernet ipv4 gre", "erspan.bad_version"},
        {"erspan3_ip_frame_type", outer4().gre(false, std::nullopt, 1).erspan(3, 1).patch(10, 0x08),
         "ethernet ipv4 gre erspan", "erspan.unknown_frame_type"},
        // The depth cap counts GRE tunnels as it counts VXLAN ones.
        {"gre_at_depth_cap", gre_nested(2), "ethernet ipv4 gre / ipv4 gre / ipv4 tcp", "", "none",
         max_depth(2)},
        {"gre_past_depth_cap", gre_nested(3), "ethernet ipv4 gre / ipv4 gre / ipv4",
         "decode.tunnel_depth_exceeded", "none", max_depth(2)},
        {"gre_inside_vxlan_past_cap",
         [] {
             PacketBuilder b =
                 outer4().udp(5000, 8472).vxlan(1).ethernet().ipv4("10.0.0.1", "10.0.0.2");
             return b.gre().ipv4("10.1.0.1", "10.1.0.2").tcp(1, 2);
         }(),
         "ethernet ipv4 udp vxlan / ethernet ipv4", "decode.tunnel_depth_exceeded", "none",
         max_depth(1)},
    };
}

TEST(GreDecode, Table) {
    for (const DecodeRow& row : gre_rows()) {
        SCOPED_TRACE(row.name);
        expect_decodes_as(row);
    }
}

TEST(GreDecode, ReadsKeySequenceAndProtocol) {
    const Dissection d(gre_tcp(true, 0xdeadbeef, 77));
    const decode::Layer* gre = d.find(Proto::Gre);
    ASSERT_NE(gre, nullptr);
    const auto* info = gre->as<decode::GreInfo>();
    ASSERT_NE(info, nullptr);
    EXPECT_EQ(gre->header_len, 16);
    EXPECT_EQ(info->version, 0);
    EXPECT_TRUE(info->has_checksum);
    EXPECT_EQ(info->key, 0xdeadbeefU);
    EXPECT_EQ(info->sequence, 77U);
    EXPECT_EQ(info->protocol, 0x0800);
    EXPECT_EQ(gre->depth, 0);
    EXPECT_EQ(d.find(Proto::Ipv4, 1)->depth, 1);
}

TEST(GreDecode, ErspanHeadersReadTheirFields) {
    for (const std::uint8_t type : {std::uint8_t{2}, std::uint8_t{3}}) {
        SCOPED_TRACE(int{type});
        const Dissection d(erspan_tcp(type, type == 3));
        const decode::Layer* e = d.find(Proto::Erspan);
        ASSERT_NE(e, nullptr);
        const auto* info = e->as<decode::ErspanInfo>();
        EXPECT_EQ(info->version, type - 1);
        EXPECT_EQ(info->session_id, 100);
        EXPECT_EQ(info->vlan, 5);
        EXPECT_EQ(e->header_len, type == 2 ? 8 : 20);
        EXPECT_EQ(e->depth, 0);
        EXPECT_EQ(d.find(Proto::Ethernet, 1)->depth, 1);
    }
}

// RFC 2637 4.1: K set (payload length, call ID), S and A optional, protocol PPP; the PPP
// payload is followed into IPv4 and IPv6, with or without address/control and protocol
// compression, and ends at any other PPP protocol.
TEST(GreDecode, PptpEnhancedGreIsFollowedThroughPpp) {
    // flags K|S, A|version 1, protocol 0x880b, key = length 4, call ID 0x1234, seq 5, ack 6.
    const ByteVec gre = from_hex("30 81 88 0b 00 04 12 34 00 00 00 05 00 00 00 06");
    const auto with_ppp = [&](const char* ppp) {
        ByteVec bytes = gre;
        const ByteVec p = from_hex(ppp);
        bytes.insert(bytes.end(), p.begin(), p.end());
        return outer4().ip_protocol(47).payload(bytes);
    };
    for (const char* ppp : {"ff 03 00 21", "00 21", "21"}) {
        SCOPED_TRACE(ppp);
        PacketBuilder b = with_ppp(ppp);
        const Dissection d(inner_tcp(b));
        EXPECT_EQ(d.layer_names(), "ethernet ipv4 gre / ipv4 tcp");
        EXPECT_EQ(d.anomaly_names(), "");
        EXPECT_EQ(d.verdict_names(), "ipv4@0=ok ipv4@1=ok tcp@1=ok");
    }
    PacketBuilder v6 = with_ppp("ff 03 00 57");
    EXPECT_EQ(Dissection(v6.ipv6("fd00::1", "fd00::2").udp(1, 2)).layer_names(),
              "ethernet ipv4 gre / ipv6 udp");
    const Dissection mppe(with_ppp("ff 03 00 fd 90 00 12 34"));  // compressed/encrypted data
    EXPECT_EQ(mppe.layer_names(), "ethernet ipv4 gre");
    EXPECT_EQ(mppe.anomaly_names(), "");
    const auto* info = mppe.find(Proto::Gre)->as<decode::GreInfo>();
    EXPECT_EQ(info->version, 1);
    EXPECT_EQ(info->key, 0x00041234U);
    EXPECT_EQ(info->sequence, 5U);
    EXPECT_TRUE(info->has_ack);
    EXPECT_EQ(info->ack, 6U);
    EXPECT_EQ(mppe.find(Proto::Gre)->header_len, 16);
}

}  // namespace
}  // namespace vxcheck::test

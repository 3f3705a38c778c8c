// Overlay tunnels: VXLAN (RFC 7348) and Geneve (RFC 8926), matched on the UDP destination port;
// VXLAN-GPE is not decoded; nesting and the layer stack are capped.

#include <gtest/gtest.h>

#include "packet_builder.h"
#include "vxcheck/decode/decode.h"

namespace vxcheck::test {
namespace {

using decode::Proto;

PacketBuilder outer(std::uint16_t dport = 8472) {
    return PacketBuilder().ethernet().ipv4("192.168.0.10", "192.168.0.11").udp(50000, dport);
}

PacketBuilder& inner_tcp(PacketBuilder& b) {
    return b.ethernet().ipv4("10.244.1.0", "10.244.2.5").tcp(40000, 2049).payload(8);
}

PacketBuilder vxlan_tcp(std::uint16_t dport = 8472) {
    PacketBuilder b = outer(dport).vxlan(1);
    return inner_tcp(b);
}

PacketBuilder geneve_tcp(ByteVec options = {}) {
    PacketBuilder b = outer(6081).geneve(7, std::move(options));
    return inner_tcp(b);
}

// n VXLAN headers nested inside each other around an inner TCP segment.
PacketBuilder nested(int n, int vlans_per_frame = 0) {
    PacketBuilder b = PacketBuilder().ethernet();
    for (int i = 0; i < n; ++i) {
        for (int v = 0; v < vlans_per_frame; ++v) {
            b.vlan(static_cast<std::uint16_t>(v + 1));
        }
        b.ipv4("192.168.0.10", "192.168.0.11")
            .udp(50000, 8472)
            .vxlan(static_cast<std::uint32_t>(i + 1))
            .ethernet();
    }
    return b.ipv4("10.244.1.0", "10.244.2.5").tcp(40000, 2049);
}

// VXLAN-GPE (draft-ietf-nvo3-vxlan-gpe): flags 0x0c (I|P), reserved, next protocol 1 = IPv4.
const ByteVec kGpeHeader{0x0c, 0x00, 0x00, 0x01, 0x00, 0x00, 0x01, 0x00};

decode::DecodeOptions ports(std::vector<std::uint16_t> vxlan, std::vector<std::uint16_t> geneve) {
    decode::DecodeOptions o;
    o.vxlan_ports = std::move(vxlan);
    o.geneve_ports = std::move(geneve);
    return o;
}

decode::DecodeOptions max_depth(std::uint8_t depth) {
    decode::DecodeOptions o;
    o.max_tunnel_depth = depth;
    return o;
}

const char* const kVxlanTcp = "ethernet ipv4 udp vxlan / ethernet ipv4 tcp";
const char* const kGeneveTcp = "ethernet ipv4 udp geneve / ethernet ipv4 tcp";

std::vector<DecodeRow> tunnel_rows() {
    PacketBuilder v6_outer =
        PacketBuilder().ethernet().ipv6("fd00::a", "fd00::b").udp(50000, 4789).vxlan(9);
    PacketBuilder v6_inner = outer().vxlan(9);
    PacketBuilder arp_inner = outer().vxlan(1);
    PacketBuilder gen_v4 = outer(6081).geneve(7);
    PacketBuilder gen_v6 = outer(6081).geneve(7);
    return {
        // VXLAN.
        {"vxlan_8472", vxlan_tcp(8472), kVxlanTcp, ""},
        {"vxlan_4789", vxlan_tcp(4789), kVxlanTcp, ""},
        {"vxlan_over_ipv6", inner_tcp(v6_outer), "ethernet ipv6 udp vxlan / ethernet ipv4 tcp", ""},
        {"vxlan_inner_ipv6", v6_inner.ethernet().ipv6("fd00:1::1", "fd00:2::5").udp(1, 2),
         "ethernet ipv4 udp vxlan / ethernet ipv6 udp", ""},
        {"vxlan_inner_vlan",
         outer().vxlan(1).ethernet().vlan(5).ipv4("10.0.0.1", "10.0.0.2").udp(1, 2),
         "ethernet ipv4 udp vxlan / ethernet vlan ipv4 udp", ""},
        {"vxlan_inner_arp", arp_inner.ethernet().ethertype(0x0806).payload(28),
         "ethernet ipv4 udp vxlan / ethernet", ""},
        {"vxlan_outer_vlan",
         PacketBuilder()
             .ethernet()
             .vlan(30)
             .ipv4("192.168.0.10", "192.168.0.11")
             .udp(50000, 8472)
             .vxlan(1)
             .ethernet()
             .ipv4("10.0.0.1", "10.0.0.2")
             .tcp(1, 2),
         "ethernet vlan ipv4 udp vxlan / ethernet ipv4 tcp", ""},
        {"vxlan_source_port_is_not_matched",
         PacketBuilder().ethernet().ipv4("1.1.1.1", "2.2.2.2").udp(8472, 40000).payload(30),
         "ethernet ipv4 udp", ""},
        {"vxlan_truncated", outer().payload(7), "ethernet ipv4 udp", "vxlan.truncated"},
        {"vxlan_inner_ethernet_truncated", outer().vxlan(1).payload(13), "ethernet ipv4 udp vxlan",
         "link.truncated"},
        {"vxlan_inner_cut_by_snaplen", vxlan_tcp().snaplen(14 + 20 + 8 + 8 + 14 + 10),
         "ethernet ipv4 udp vxlan / ethernet", "ipv4.header_truncated"},
        {"vxlan_gpe_4790_not_decoded", outer(4790).payload(kGpeHeader).payload(40),
         "ethernet ipv4 udp", ""},
        // Geneve.
        {"geneve", geneve_tcp(), kGeneveTcp, ""},
        {"geneve_with_options", geneve_tcp([] {
             ByteVec o = geneve_option(0x0102, 0x80, {1, 2, 3, 4});
             const ByteVec o2 = geneve_option(0xffff, 0x01, {9, 9, 9, 9, 9, 9, 9});
             o.insert(o.end(), o2.begin(), o2.end());
             return o;
         }()),
         kGeneveTcp, ""},
        {"geneve_max_options", geneve_tcp(ByteVec(252, 0)), kGeneveTcp, ""},
        {"geneve_ipv4_payload", gen_v4.ipv4("10.0.0.1", "10.0.0.2").tcp(1, 2),
         "ethernet ipv4 udp geneve / ipv4 tcp", ""},
        {"geneve_ipv6_payload", gen_v6.ipv6("fd00::1", "fd00::2").udp(1, 2),
         "ethernet ipv4 udp geneve / ipv6 udp", ""},
        {"geneve_unknown_protocol", outer(6081).geneve(7, {}, 0x88b5).payload(20),
         "ethernet ipv4 udp geneve", ""},
        {"geneve_bad_version", outer(6081).geneve(7, {}, 0, 0, 1).ethernet(), "ethernet ipv4 udp",
         "geneve.bad_version"},
        {"geneve_truncated", outer(6081).payload(7), "ethernet ipv4 udp", "geneve.truncated"},
        {"geneve_options_truncated", outer(6081).geneve(7, ByteVec(4, 0)).patch(0, 0x03),
         "ethernet ipv4 udp", "geneve.truncated"},
        // Ports are configurable (--vxlan-port / --geneve-port).
        {"custom_vxlan_port", vxlan_tcp(9999), kVxlanTcp, "", "none", ports({9999}, {6081})},
        {"custom_vxlan_port_replaces_defaults", vxlan_tcp(8472), "ethernet ipv4 udp", "", "none",
         ports({9999}, {6081})},
        {"no_tunnel_ports", vxlan_tcp(4789), "ethernet ipv4 udp", "", "none", ports({}, {})},
        {"custom_geneve_port",
         [] {
             PacketBuilder b = outer(7000).geneve(7);
             return inner_tcp(b);
         }(),
         kGeneveTcp, "", "none", ports({8472}, {7000})},
        // Nesting depth and layer stack caps.
        {"nested_two", nested(2),
         "ethernet ipv4 udp vxlan / ethernet ipv4 udp vxlan / ethernet ipv4 tcp", ""},
        {"nested_at_depth_cap", nested(4),
         "ethernet ipv4 udp vxlan / ethernet ipv4 udp vxlan / ethernet ipv4 udp vxlan / "
         "ethernet ipv4 udp vxlan / ethernet ipv4 tcp",
         ""},
        {"nested_past_depth_cap", nested(5),
         "ethernet ipv4 udp vxlan / ethernet ipv4 udp vxlan / ethernet ipv4 udp vxlan / "
         "ethernet ipv4 udp vxlan / ethernet ipv4 udp",
         "decode.tunnel_depth_exceeded"},
        {"depth_cap_one", nested(2), "ethernet ipv4 udp vxlan / ethernet ipv4 udp",
         "decode.tunnel_depth_exceeded", "none", max_depth(1)},
        {"depth_cap_zero", vxlan_tcp(), "ethernet ipv4 udp", "decode.tunnel_depth_exceeded", "none",
         max_depth(0)},
        {"layer_stack_full", nested(8), "", "decode.too_many_layers", "none", max_depth(16)},
        {"layer_stack_full_with_vlans", nested(4, 4), "", "decode.too_many_layers"},
    };
}

TEST(TunnelDecode, Table) {
    for (const DecodeRow& row : tunnel_rows()) {
        SCOPED_TRACE(row.name);
        if (row.layers.empty()) {
            // Rows whose stack is too long to spell out: only anomalies and invariants.
            const Dissection d(row.builder, row.options);
            EXPECT_EQ(d.anomaly_names(), row.anomalies);
            EXPECT_EQ(d.skip_name(), row.skip);
            EXPECT_EQ(d.decoded().layers().size(), decode::DecodedPacket::kMaxLayers);
            EXPECT_EQ(check_invariants(d.decoded(), d.verdicts()), "");
            continue;
        }
        expect_decodes_as(row);
    }
}

// --- VXLAN flags and reserved fields -------------------------------------------------------------

struct VxlanFlagCase {
    std::string name;
    std::size_t byte;
    std::uint8_t value;
    const char* layers;
    const char* anomalies;
};

TEST(VxlanFlags, Table) {
    for (const VxlanFlagCase& c : std::vector<VxlanFlagCase>{
             VxlanFlagCase{"i_flag_only", 0, 0x08, kVxlanTcp, ""},
             VxlanFlagCase{"i_flag_clear", 0, 0x00, "ethernet ipv4 udp vxlan",
                           "vxlan.i_flag_clear"},
             VxlanFlagCase{"i_flag_clear_other_bits_set", 0, 0xf7, "ethernet ipv4 udp vxlan",
                           "vxlan.i_flag_clear"},
             VxlanFlagCase{"gbp_bit", 0, 0x88, kVxlanTcp, "vxlan.reserved_nonzero"},
             VxlanFlagCase{"low_flag_bit", 0, 0x09, kVxlanTcp, "vxlan.reserved_nonzero"},
             VxlanFlagCase{"reserved_byte_1", 1, 0x01, kVxlanTcp, "vxlan.reserved_nonzero"},
             VxlanFlagCase{"reserved_byte_2", 2, 0x80, kVxlanTcp, "vxlan.reserved_nonzero"},
             VxlanFlagCase{"reserved_byte_3", 3, 0x10, kVxlanTcp, "vxlan.reserved_nonzero"},
             VxlanFlagCase{"reserved_byte_7", 7, 0xff, kVxlanTcp, "vxlan.reserved_nonzero"}}) {
        SCOPED_TRACE(c.name);
        PacketBuilder b = outer().vxlan(1).patch(c.byte, c.value);
        const Dissection patched(inner_tcp(b));
        EXPECT_EQ(patched.layer_names(), c.layers);
        EXPECT_EQ(patched.anomaly_names(), c.anomalies);
        EXPECT_EQ(patched.skip_name(), "none");
        EXPECT_EQ(check_invariants(patched.decoded(), patched.verdicts()), "");
    }
}

// --- fields --------------------------------------------------------------------------------------

TEST(VxlanDecode, FieldsAndDepths) {
    const Dissection d(
        outer().vxlan(0xabcdef).ethernet().ipv4("10.244.1.0", "10.244.2.5").tcp(1, 2));
    const decode::Layer* vx = d.find(Proto::Vxlan);
    ASSERT_NE(vx, nullptr);
    EXPECT_EQ(vx->as<decode::VxlanInfo>()->vni, 0xabcdefU);
    EXPECT_EQ(vx->as<decode::VxlanInfo>()->flags, 0x08);
    EXPECT_EQ(vx->depth, 0);  // the tunnel header belongs to the outer packet
    EXPECT_EQ(vx->offset, 14U + 20 + 8);
    EXPECT_EQ(vx->header_len, 8);
    EXPECT_EQ(d.find(Proto::Ethernet, 1)->depth, 1);
    EXPECT_EQ(d.find(Proto::Ethernet, 1)->offset, 14U + 20 + 8 + 8);
    EXPECT_EQ(d.find(Proto::Ipv4, 1)->depth, 1);
    EXPECT_EQ(d.find(Proto::Tcp)->depth, 1);
    EXPECT_EQ(d.decoded().depth(), 1);
    // Every layer's offset is where the builder put it.
    const auto layers = d.decoded().layers();
    ASSERT_EQ(layers.size(), 7U);
    for (std::size_t i = 0; i < layers.size(); ++i) {
        EXPECT_EQ(layers[i].offset, d.packet().layers[i].offset) << i;
        EXPECT_EQ(layers[i].depth, d.packet().layers[i].depth) << i;
    }
}

TEST(VxlanDecode, VniMaxAndZero) {
    for (const std::uint32_t vni : {0U, 1U, 0xffffffU}) {
        const Dissection d(outer().vxlan(vni).ethernet().ipv4("10.0.0.1", "10.0.0.2"));
        EXPECT_EQ(d.find(Proto::Vxlan)->as<decode::VxlanInfo>()->vni, vni);
    }
}

TEST(GeneveDecode, FieldsWithOptions) {
    const ByteVec opts = geneve_option(0x0102, 0x80, {1, 2, 3, 4, 5});  // 4 + 8 bytes
    PacketBuilder b = outer(6081).geneve(0x123456, opts, 0, 0xc0);
    const Dissection d(inner_tcp(b));
    const decode::Layer* g = d.find(Proto::Geneve);
    ASSERT_NE(g, nullptr);
    const auto* info = g->as<decode::GeneveInfo>();
    EXPECT_EQ(info->options_len, 12);
    EXPECT_TRUE(info->oam);
    EXPECT_TRUE(info->critical);
    EXPECT_EQ(info->protocol, 0x6558);
    EXPECT_EQ(info->vni, 0x123456U);
    EXPECT_EQ(g->header_len, 20);
    EXPECT_EQ(d.find(Proto::Ethernet, 1)->offset, g->offset + 20);
    EXPECT_EQ(d.find(Proto::Ethernet, 1)->depth, 1);
}

TEST(GeneveDecode, FlagsClear) {
    const Dissection d(geneve_tcp());
    const auto* info = d.find(Proto::Geneve)->as<decode::GeneveInfo>();
    EXPECT_FALSE(info->oam);
    EXPECT_FALSE(info->critical);
    EXPECT_EQ(info->options_len, 0);
}

TEST(TunnelDecode, DepthCapCountsVxlanAndGeneveTogether) {
    PacketBuilder b =
        outer(8472).vxlan(1).ethernet().ipv4("10.0.0.1", "10.0.0.2").udp(1, 6081).geneve(2);
    const Dissection d(inner_tcp(b), max_depth(1));
    EXPECT_EQ(d.layer_names(), "ethernet ipv4 udp vxlan / ethernet ipv4 udp");
    EXPECT_EQ(d.anomaly_names(), "decode.tunnel_depth_exceeded");
}

}  // namespace
}  // namespace vxcheck::test

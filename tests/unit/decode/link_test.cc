// Link layers: Ethernet, 802.1Q / 802.1ad (QinQ), Linux cooked v1/v2, DLT_NULL, raw IP.

#include <gtest/gtest.h>

#include "packet_builder.h"
#include "vxcheck/decode/decode.h"

namespace vxcheck::test {
namespace {

using decode::Proto;

constexpr const char* kSrc = "10.244.1.0";
constexpr const char* kDst = "10.244.2.5";
constexpr const char* kSrc6 = "fd00:1::1";
constexpr const char* kDst6 = "fd00:2::5";

PacketBuilder tcp4(PacketBuilder b) {
    return b.ipv4(kSrc, kDst).tcp(40000, 2049).payload(8);
}
PacketBuilder udp6(PacketBuilder b) {
    return b.ipv6(kSrc6, kDst6).udp(40000, 53).payload(8);
}

std::vector<DecodeRow> link_rows() {
    return {
        // Ethernet.
        {"ethernet_ipv4_tcp", tcp4(PacketBuilder().ethernet()), "ethernet ipv4 tcp", ""},
        {"ethernet_ipv6_udp", udp6(PacketBuilder().ethernet()), "ethernet ipv6 udp", ""},
        {"ethernet_arp_is_non_ip", PacketBuilder().ethernet().ethertype(0x0806).payload(28),
         "ethernet", "", "non_ip"},
        {"ethernet_8023_length_is_non_ip", PacketBuilder().ethernet().ethertype(0x0026).payload(38),
         "ethernet", "", "non_ip"},
        {"ethernet_truncated", PacketBuilder().payload(13).link_type(LinkType::Ethernet), "",
         "link.truncated", "malformed"},
        {"ethernet_cut_by_snaplen", tcp4(PacketBuilder().ethernet()).snaplen(12), "",
         "link.truncated", "malformed"},
        {"ethernet_header_only", PacketBuilder().ethernet().ethertype(0x0800), "ethernet",
         "ipv4.header_truncated", "malformed"},
        // VLAN tags.
        {"vlan_8021q", tcp4(PacketBuilder().ethernet().vlan(100)), "ethernet vlan ipv4 tcp", ""},
        {"qinq_88a8", udp6(PacketBuilder().ethernet().vlan(100, 0x88a8).vlan(200)),
         "ethernet vlan vlan ipv6 udp", ""},
        {"qinq_9100", tcp4(PacketBuilder().ethernet().vlan(10, 0x9100).vlan(20)),
         "ethernet vlan vlan ipv4 tcp", ""},
        {"four_tags_allowed",
         tcp4(PacketBuilder().ethernet().vlan(1, 0x88a8).vlan(2).vlan(3).vlan(4)),
         "ethernet vlan vlan vlan vlan ipv4 tcp", ""},
        {"five_tags_rejected",
         tcp4(PacketBuilder().ethernet().vlan(1, 0x88a8).vlan(2).vlan(3).vlan(4).vlan(5)),
         "ethernet vlan vlan vlan vlan", "vlan.too_many_tags", "malformed"},
        {"vlan_truncated", PacketBuilder().ethernet().ethertype(0x8100).payload(3), "ethernet",
         "vlan.truncated", "malformed"},
        {"vlan_then_arp", PacketBuilder().ethernet().vlan(7).ethertype(0x0806).payload(28),
         "ethernet vlan", "", "non_ip"},
        // Linux cooked capture v1.
        {"sll_ipv4_tcp", tcp4(PacketBuilder().sll(4)), "sll ipv4 tcp", ""},
        {"sll_ipv6_udp", udp6(PacketBuilder().sll()), "sll ipv6 udp", ""},
        {"sll_vlan", tcp4(PacketBuilder().sll().vlan(42)), "sll vlan ipv4 tcp", ""},
        {"sll_8022_is_non_ip", PacketBuilder().sll().ethertype(0x0004).payload(20), "sll", "",
         "non_ip"},
        {"sll_truncated", tcp4(PacketBuilder().sll()).snaplen(15), "", "link.truncated",
         "malformed"},
        // Linux cooked capture v2.
        {"sll2_ipv4_tcp", tcp4(PacketBuilder().sll2(7, 4)), "sll2 ipv4 tcp", ""},
        {"sll2_ipv6_udp", udp6(PacketBuilder().sll2()), "sll2 ipv6 udp", ""},
        {"sll2_truncated", tcp4(PacketBuilder().sll2()).snaplen(19), "", "link.truncated",
         "malformed"},
        {"sll2_arp_is_non_ip", PacketBuilder().sll2().ethertype(0x0806).payload(28), "sll2", "",
         "non_ip"},
        // DLT_NULL: AF_INET is 2 everywhere, AF_INET6 is 10 / 24 / 28 / 30 by OS; either order.
        {"null_le_inet", tcp4(PacketBuilder().null_link(2)), "null ipv4 tcp", ""},
        {"null_be_inet", tcp4(PacketBuilder().null_link(2, true)), "null ipv4 tcp", ""},
        {"null_le_inet6_linux", udp6(PacketBuilder().null_link(10)), "null ipv6 udp", ""},
        {"null_be_inet6_linux", udp6(PacketBuilder().null_link(10, true)), "null ipv6 udp", ""},
        {"null_le_inet6_bsd", udp6(PacketBuilder().null_link(24)), "null ipv6 udp", ""},
        {"null_be_inet6_bsd", udp6(PacketBuilder().null_link(24, true)), "null ipv6 udp", ""},
        {"null_le_inet6_freebsd", udp6(PacketBuilder().null_link(28)), "null ipv6 udp", ""},
        {"null_be_inet6_freebsd", udp6(PacketBuilder().null_link(28, true)), "null ipv6 udp", ""},
        {"null_le_inet6_darwin", udp6(PacketBuilder().null_link(30)), "null ipv6 udp", ""},
        {"null_be_inet6_darwin", udp6(PacketBuilder().null_link(30, true)), "null ipv6 udp", ""},
        {"null_unknown_family", tcp4(PacketBuilder().null_link(7)), "null", "null.unknown_family",
         "malformed"},
        {"null_truncated", tcp4(PacketBuilder().null_link(2)).snaplen(3), "", "link.truncated",
         "malformed"},
        // Raw IP: LINKTYPE_RAW picks by version; LINKTYPE_IPV4/IPV6 must match it.
        {"raw_ipv4", tcp4(PacketBuilder()), "ipv4 tcp", ""},
        {"raw_ipv6", udp6(PacketBuilder()), "ipv6 udp", ""},
        {"raw_ipv4_linktype", tcp4(PacketBuilder()).link_type(LinkType::RawIpv4), "ipv4 tcp", ""},
        {"raw_ipv6_linktype", udp6(PacketBuilder()).link_type(LinkType::RawIpv6), "ipv6 udp", ""},
        {"raw_ipv4_linktype_holding_ipv6", udp6(PacketBuilder()).link_type(LinkType::RawIpv4), "",
         "raw.version_mismatch", "malformed"},
        {"raw_ipv6_linktype_holding_ipv4", tcp4(PacketBuilder()).link_type(LinkType::RawIpv6), "",
         "raw.version_mismatch", "malformed"},
        {"raw_unknown_version", tcp4(PacketBuilder()).ip_version(5), "", "raw.unknown_version",
         "malformed"},
        {"raw_ipv4_linktype_unknown_version",
         tcp4(PacketBuilder()).ip_version(0).link_type(LinkType::RawIpv4), "",
         "raw.unknown_version", "malformed"},
        {"raw_empty", PacketBuilder().payload(0).link_type(LinkType::RawIp), "", "link.truncated",
         "malformed"},
        {"unsupported_link_type", tcp4(PacketBuilder().ethernet()).link_type(LinkType::Unsupported),
         "", "", "unsupported_linktype"},
    };
}

TEST(LinkDecode, Table) {
    for (const DecodeRow& row : link_rows()) {
        SCOPED_TRACE(row.name);
        expect_decodes_as(row);
    }
}

// --- fields --------------------------------------------------------------------------------------

TEST(EthernetDecode, Fields) {
    const Dissection d(tcp4(PacketBuilder().ethernet()));
    const decode::Layer* eth = d.find(Proto::Ethernet);
    ASSERT_NE(eth, nullptr);
    EXPECT_EQ(eth->as<decode::EthernetInfo>()->ethertype, 0x0800);
    EXPECT_EQ(eth->offset, 0U);
    EXPECT_EQ(eth->header_len, 14);
    EXPECT_EQ(eth->bytes.size(), 14U + 20 + 20 + 8);
    EXPECT_EQ(d.find(Proto::Ipv4)->offset, 14U);
    EXPECT_EQ(d.find(Proto::Tcp)->offset, 34U);
}

TEST(VlanDecode, QinQFieldsAndTpids) {
    const Dissection d(tcp4(PacketBuilder().ethernet().vlan(0x064, 0x88a8, 5).vlan(0xabc)));
    const auto* outer = d.find(Proto::Vlan, 0)->as<decode::VlanInfo>();
    const auto* inner = d.find(Proto::Vlan, 1)->as<decode::VlanInfo>();
    ASSERT_NE(outer, nullptr);
    ASSERT_NE(inner, nullptr);
    EXPECT_EQ(outer->tpid, 0x88a8);
    EXPECT_EQ(outer->vid, 0x064);  // PCP bits do not leak into the VID
    EXPECT_EQ(outer->ethertype, 0x8100);
    EXPECT_EQ(inner->tpid, 0x8100);
    EXPECT_EQ(inner->vid, 0xabc);
    EXPECT_EQ(inner->ethertype, 0x0800);
    EXPECT_EQ(d.find(Proto::Vlan, 0)->offset, 14U);
    EXPECT_EQ(d.find(Proto::Vlan, 1)->offset, 18U);
    EXPECT_EQ(d.find(Proto::Ipv4)->offset, 22U);
}

TEST(VlanDecode, PcpAndDeiAreMaskedOut) {
    // TCI 0xf00f: PCP 7, DEI 1, VID 0x00f.
    const Dissection d(tcp4(PacketBuilder().ethernet().vlan(0x00f, 0x8100, 7).patch(0, 0xf0)));
    EXPECT_EQ(d.find(Proto::Vlan)->as<decode::VlanInfo>()->vid, 0x00f);
}

TEST(VlanDecode, TpidAfterSll) {
    const Dissection d(tcp4(PacketBuilder().sll().vlan(42)));
    EXPECT_EQ(d.find(Proto::Vlan)->as<decode::VlanInfo>()->tpid, 0x8100);
}

TEST(SllDecode, Fields) {
    const Dissection d(tcp4(PacketBuilder().sll(4)));
    const decode::Layer* l = d.find(Proto::Sll);
    ASSERT_NE(l, nullptr);
    const auto* info = l->as<decode::SllInfo>();
    EXPECT_EQ(info->packet_type, 4);  // outgoing
    EXPECT_EQ(info->protocol, 0x0800);
    EXPECT_EQ(info->ifindex, 0U);  // not in v1
    EXPECT_EQ(l->header_len, 16);
    EXPECT_EQ(d.find(Proto::Ipv4)->offset, 16U);
}

TEST(Sll2Decode, Fields) {
    const Dissection d(udp6(PacketBuilder().sll2(0x01020304, 3)));
    const decode::Layer* l = d.find(Proto::Sll2);
    ASSERT_NE(l, nullptr);
    const auto* info = l->as<decode::SllInfo>();
    EXPECT_EQ(info->packet_type, 3);
    EXPECT_EQ(info->protocol, 0x86dd);
    EXPECT_EQ(info->ifindex, 0x01020304U);
    EXPECT_EQ(l->header_len, 20);
    EXPECT_EQ(d.find(Proto::Ipv6)->offset, 20U);
}

TEST(NullDecode, FamilyInEitherByteOrder) {
    for (const bool be : {false, true}) {
        for (const std::uint32_t family : {2U, 10U, 24U, 28U, 30U}) {
            PacketBuilder b = PacketBuilder().null_link(family, be);
            const Dissection d(family == 2 ? tcp4(b) : udp6(b));
            SCOPED_TRACE(std::to_string(family) + (be ? " big-endian" : " little-endian"));
            ASSERT_NE(d.find(Proto::Null), nullptr);
            EXPECT_EQ(d.find(Proto::Null)->as<decode::NullInfo>()->family, family);
            EXPECT_EQ(d.find(Proto::Null)->header_len, 4);
            EXPECT_EQ(d.find(family == 2 ? Proto::Ipv4 : Proto::Ipv6)->offset, 4U);
        }
    }
}

TEST(NullDecode, FamilyBytesOnTheWire) {
    const BuiltPacket le = PacketBuilder().null_link(24).ipv6(kSrc6, kDst6).build();
    const BuiltPacket be = PacketBuilder().null_link(24, true).ipv6(kSrc6, kDst6).build();
    EXPECT_EQ(to_hex(le.bytes.data(), 4), "18 00 00 00 ");
    EXPECT_EQ(to_hex(be.bytes.data(), 4), "00 00 00 18 ");
}

TEST(RawDecode, IpStartsAtOffsetZero) {
    const Dissection d(tcp4(PacketBuilder()));
    EXPECT_EQ(d.packet().link, LinkType::RawIp);
    EXPECT_EQ(d.find(Proto::Ipv4)->offset, 0U);
    EXPECT_EQ(d.find(Proto::Tcp)->offset, 20U);
}

}  // namespace
}  // namespace vxcheck::test

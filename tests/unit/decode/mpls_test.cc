// MPLS label stacks (RFC 3032): entries until bottom of stack, then IPv4/IPv6 by the first
// nibble or a pseudowire control word (RFC 4385) before an Ethernet frame; stacks without a
// bottom, too long or with an unknown payload are named anomalies.

#include <gtest/gtest.h>

#include "packet_builder.h"
#include "vxcheck/decode/decode.h"

namespace vxcheck::test {
namespace {

using decode::Proto;

PacketBuilder& tcp4(PacketBuilder& b) {
    return b.ipv4("10.0.0.1", "10.0.0.2").tcp(40000, 80).payload(4);
}

const ByteVec kControlWord{0x00, 0x00, 0x00, 0x00};

std::vector<DecodeRow> mpls_rows() {
    PacketBuilder one = PacketBuilder().ethernet().mpls(100);
    PacketBuilder two = PacketBuilder().ethernet().mpls(100).mpls(200);
    PacketBuilder v6 = PacketBuilder().ethernet().mpls(3);
    PacketBuilder pw =
        PacketBuilder().ethernet().mpls(100).mpls(300).payload(kControlWord).ethernet();
    PacketBuilder multicast = PacketBuilder().ethernet().ethertype(0x8848).mpls(7);
    PacketBuilder many = PacketBuilder().ethernet();
    for (std::uint32_t i = 0; i < 17; ++i) {
        many.mpls(16 + i);
    }
    PacketBuilder at_cap = PacketBuilder().ethernet();
    for (std::uint32_t i = 0; i < 16; ++i) {
        at_cap.mpls(16 + i);
    }
    return {
        {"one_label_ipv4", tcp4(one), "ethernet mpls ipv4 tcp", ""},
        {"two_labels_ipv4", tcp4(two), "ethernet mpls mpls ipv4 tcp", ""},
        {"ipv6_by_first_nibble", v6.ipv6("fd00::1", "fd00::2").udp(1, 2), "ethernet mpls ipv6 udp",
         ""},
        {"pseudowire_ethernet_with_control_word", tcp4(pw), "ethernet mpls mpls ethernet ipv4 tcp",
         ""},
        {"multicast_ethertype", tcp4(multicast), "ethernet mpls ipv4 tcp", ""},
        {"sixteen_labels", tcp4(at_cap), "", ""},
        {"nothing_after_the_stack", PacketBuilder().ethernet().mpls(1).ethertype(0x8847),
         "ethernet mpls", "", "non_ip"},
        // Bad input.
        {"no_bottom_of_stack", PacketBuilder().ethernet().mpls(100).mpls(200).mpls_no_bottom(),
         "ethernet mpls mpls", "mpls.no_bottom_of_stack", "malformed"},
        {"no_bottom_partial_entry",
         PacketBuilder().ethernet().mpls(100).mpls_no_bottom().payload(2), "ethernet mpls",
         "mpls.no_bottom_of_stack", "malformed"},
        {"cut_by_snaplen", tcp4(PacketBuilder().ethernet().mpls(1).mpls(2).mpls(3)).snaplen(20),
         "ethernet mpls", "mpls.truncated", "malformed"},
        {"too_many_labels", tcp4(many), "", "mpls.too_many_labels", "malformed"},
        {"unknown_payload", PacketBuilder().ethernet().mpls(1).payload({0x10, 0, 0, 0, 1, 2}),
         "ethernet mpls", "mpls.unknown_payload", "malformed"},
        {"control_word_truncated", PacketBuilder().ethernet().mpls(1).payload({0x00, 0x00}),
         "ethernet", "mpls.truncated", "malformed"},
    };
}

TEST(MplsDecode, Table) {
    for (const DecodeRow& row : mpls_rows()) {
        SCOPED_TRACE(row.name);
        if (row.layers.empty()) {
            // Stacks too long to spell out: the count of MPLS layers instead.
            const Dissection d(row.builder, row.options);
            EXPECT_EQ(d.anomaly_names(), row.anomalies);
            EXPECT_EQ(d.skip_name(), row.skip);
            std::size_t labels = 0;
            while (d.find(Proto::Mpls, labels) != nullptr) {
                ++labels;
            }
            EXPECT_EQ(labels, 16U);
            EXPECT_EQ(check_invariants(d.decoded(), d.verdicts()), "");
            continue;
        }
        expect_decodes_as(row);
    }
}

TEST(MplsDecode, ReadsEachEntryAndTheControlWord) {
    PacketBuilder b = PacketBuilder()
                          .ethernet()
                          .mpls(1000, 63, 5)
                          .mpls(0xfffff, 1)
                          .payload(kControlWord)
                          .ethernet();
    const Dissection d(tcp4(b));
    const decode::Layer* top = d.find(Proto::Mpls, 0);
    const decode::Layer* bottom = d.find(Proto::Mpls, 1);
    ASSERT_NE(bottom, nullptr);
    const auto* t = top->as<decode::MplsInfo>();
    const auto* m = bottom->as<decode::MplsInfo>();
    EXPECT_EQ(t->label, 1000U);
    EXPECT_EQ(t->tc, 5);
    EXPECT_EQ(t->ttl, 63);
    EXPECT_FALSE(t->bottom);
    EXPECT_EQ(top->header_len, 4);
    EXPECT_EQ(m->label, 0xfffffU);
    EXPECT_TRUE(m->bottom);
    EXPECT_TRUE(m->control_word);
    EXPECT_EQ(bottom->header_len, 8);
    // MPLS is not an IP tunnel: the IP packet after the stack is the outer one.
    EXPECT_EQ(d.find(Proto::Ipv4)->depth, 0);
    EXPECT_EQ(d.verdict_names(), "ipv4@0=ok tcp@0=ok");
}

}  // namespace
}  // namespace vxcheck::test

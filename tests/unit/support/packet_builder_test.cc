// The builder itself, against frames assembled independently (Python struct, see the hex below),
// so that decode/verify tests built on it rest on checked bytes.

#include "packet_builder.h"

#include <gtest/gtest.h>

namespace vxcheck::test {
namespace {

std::string hex_of(const BuiltPacket& p) {
    return to_hex(p.bytes.data(), p.bytes.size());
}

std::string hex_of(const char* spaced) {
    const ByteVec b = from_hex(spaced);
    return to_hex(b.data(), b.size());
}

PacketBuilder inner_tcp(PacketBuilder b) {
    return b.ethernet().ipv4("10.244.1.0", "10.244.2.5").tcp(40000, 2049).payload(20);
}

// Ethernet / IPv4 10.244.1.0 -> 10.244.2.5 / TCP 40000 -> 2049 ACK / 20 bytes 00..13.
constexpr const char* kTcp4 =
    "02 00 00 00 00 0b 02 00 00 00 00 0a 08 00 45 00 00 3c 12 34 00 00 40 06 4f 9c 0a f4 01 00 "
    "0a f4 02 05 9c 40 08 01 00 00 03 e8 00 00 00 00 50 10 fa f0 99 55 00 00 00 01 02 03 04 05 "
    "06 07 08 09 0a 0b 0c 0d 0e 0f 10 11 12 13";

// The same segment in VXLAN 1 over 192.168.0.10:50000 -> 192.168.0.11:8472, outer UDP checksum
// 0x9d71 (and the zero-checksum variant).
constexpr const char* kVxlanFull =
    "02 00 00 00 00 0b 02 00 00 00 00 0a 08 00 45 00 00 6e 12 34 00 00 40 11 e6 e5 c0 a8 00 0a "
    "c0 a8 00 0b c3 50 21 18 00 5a 9d 71 08 00 00 00 00 00 01 00 02 00 00 00 00 0b 02 00 00 00 "
    "00 0a 08 00 45 00 00 3c 12 34 00 00 40 06 4f 9c 0a f4 01 00 0a f4 02 05 9c 40 08 01 00 00 "
    "03 e8 00 00 00 00 50 10 fa f0 99 55 00 00 00 01 02 03 04 05 06 07 08 09 0a 0b 0c 0d 0e 0f "
    "10 11 12 13";
constexpr const char* kVxlanZero =
    "02 00 00 00 00 0b 02 00 00 00 00 0a 08 00 45 00 00 6e 12 34 00 00 40 11 e6 e5 c0 a8 00 0a "
    "c0 a8 00 0b c3 50 21 18 00 5a 00 00 08 00 00 00 00 00 01 00 02 00 00 00 00 0b 02 00 00 00 "
    "00 0a 08 00 45 00 00 3c 12 34 00 00 40 06 4f 9c 0a f4 01 00 0a f4 02 05 9c 40 08 01 00 00 "
    "03 e8 00 00 00 00 50 10 fa f0 99 55 00 00 00 01 02 03 04 05 06 07 08 09 0a 0b 0c 0d 0e 0f "
    "10 11 12 13";

// Ethernet / IPv6 fd00:1::1 -> fd00:2::5 / UDP 40000 -> 53 / 12 bytes.
constexpr const char* kUdp6 =
    "02 00 00 00 00 0b 02 00 00 00 00 0a 86 dd 60 00 00 00 00 14 11 40 fd 00 00 01 00 00 00 00 "
    "00 00 00 00 00 00 00 01 fd 00 00 02 00 00 00 00 00 00 00 00 00 00 00 05 9c 40 00 35 00 14 "
    "4b 22 00 01 02 03 04 05 06 07 08 09 0a 0b";

// IPv6 with a type 0 Routing header (segments left 1; fd00:3::3, fd00:4::4) / TCP / 8 bytes:
// the TCP checksum 0x0697 uses the final destination fd00:4::4.
constexpr const char* kRouting6 =
    "02 00 00 00 00 0b 02 00 00 00 00 0a 86 dd 60 00 00 00 00 44 2b 40 fd 00 00 01 00 00 00 00 "
    "00 00 00 00 00 00 00 01 fd 00 00 02 00 00 00 00 00 00 00 00 00 00 00 05 06 04 00 01 00 00 "
    "00 00 fd 00 00 03 00 00 00 00 00 00 00 00 00 00 00 03 fd 00 00 04 00 00 00 00 00 00 00 00 "
    "00 00 00 04 9c 40 08 01 00 00 03 e8 00 00 00 00 50 10 fa f0 06 97 00 00 00 01 02 03 04 05 "
    "06 07";

TEST(PacketBuilder, TcpOverIpv4MatchesIndependentBytes) {
    const BuiltPacket p = inner_tcp(PacketBuilder()).build();
    EXPECT_EQ(hex_of(p), hex_of(kTcp4));
    EXPECT_EQ(p.caplen, 74U);
    EXPECT_EQ(p.wirelen, 74U);
    EXPECT_EQ(p.link, LinkType::Ethernet);
}

TEST(PacketBuilder, VxlanMatchesIndependentBytes) {
    const BuiltPacket full = inner_tcp(PacketBuilder()
                                           .ethernet()
                                           .ipv4("192.168.0.10", "192.168.0.11")
                                           .udp(50000, 8472)
                                           .vxlan(1))
                                 .build();
    EXPECT_EQ(hex_of(full), hex_of(kVxlanFull));
    const BuiltPacket zero = inner_tcp(PacketBuilder()
                                           .ethernet()
                                           .ipv4("192.168.0.10", "192.168.0.11")
                                           .udp(50000, 8472)
                                           .zero_udp_checksum()
                                           .vxlan(1))
                                 .build();
    EXPECT_EQ(hex_of(zero), hex_of(kVxlanZero));
}

TEST(PacketBuilder, UdpOverIpv6MatchesIndependentBytes) {
    const BuiltPacket p = PacketBuilder()
                              .ethernet()
                              .ipv6("fd00:1::1", "fd00:2::5")
                              .udp(40000, 53)
                              .payload(12)
                              .build();
    EXPECT_EQ(hex_of(p), hex_of(kUdp6));
}

TEST(PacketBuilder, RoutingHeaderUsesFinalDestination) {
    const BuiltPacket p = PacketBuilder()
                              .ethernet()
                              .ipv6("fd00:1::1", "fd00:2::5")
                              .routing(0, 1, {"fd00:3::3", "fd00:4::4"})
                              .tcp(40000, 2049)
                              .payload(8)
                              .build();
    EXPECT_EQ(hex_of(p), hex_of(kRouting6));
}

TEST(PacketBuilder, ChecksumModes) {
    auto tcp_field = [](PacketBuilder b) {
        const BuiltPacket p = b.build();
        return p.be16_at(p.layer(Kind::Tcp).offset + 16);
    };
    const PacketBuilder base = inner_tcp(PacketBuilder());
    EXPECT_EQ(tcp_field(base), 0x9955);
    EXPECT_EQ(tcp_field(PacketBuilder(base).corrupt_checksum(0x0100)), 0x9855);
    EXPECT_EQ(tcp_field(PacketBuilder(base).checksum(0xbeef)), 0xbeef);
    // Partial forms (domain spec 0.3): 0x191B over L4 length 40, 0x18F3 over length 0.
    EXPECT_EQ(tcp_field(PacketBuilder()
                            .ethernet()
                            .ipv4("10.244.1.0", "10.244.2.5")
                            .tcp(40000, 2049)
                            .partial_checksum()
                            .payload(20)),
              0x191b);
    EXPECT_EQ(tcp_field(PacketBuilder()
                            .ethernet()
                            .ipv4("10.244.1.0", "10.244.2.5")
                            .tcp(40000, 2049)
                            .partial_checksum_zero_length()
                            .payload(20)),
              0x18f3);
}

TEST(PacketBuilder, CorruptionsTargetTheMostRecentChecksummedLayer) {
    // corrupt_checksum() right after ipv4() hits the header checksum, not the TCP one.
    const BuiltPacket p = PacketBuilder()
                              .ethernet()
                              .ipv4("10.244.1.0", "10.244.2.5")
                              .corrupt_checksum(0x0001)
                              .tcp(40000, 2049)
                              .payload(20)
                              .build();
    EXPECT_EQ(p.be16_at(14 + 10), 0x4f9d);
    EXPECT_EQ(p.be16_at(34 + 16), 0x9955);
}

TEST(PacketBuilder, UdpComputedZeroIsSentAsAllOnes) {
    // Payload 0x4a78 makes the UDP sum 0xFFFF, so the checksum computes to 0 (python-checked).
    const BuiltPacket p = PacketBuilder()
                              .ethernet()
                              .ipv4("10.244.1.0", "10.244.2.5")
                              .udp(40000, 53)
                              .payload({0x4a, 0x78})
                              .build();
    EXPECT_EQ(p.be16_at(34 + 6), 0xffff);
}

TEST(PacketBuilder, LocalChecksumOffloadRewritesInnerAfterOuter) {
    const BuiltPacket p = inner_tcp(PacketBuilder()
                                        .ethernet()
                                        .ipv4("192.168.0.10", "192.168.0.11")
                                        .udp(50000, 8472)
                                        .vxlan(1))
                              .local_checksum_offload()
                              .build();
    // Outer computed over the final inner checksum (0x9955), inner left partial (0x191B).
    EXPECT_EQ(p.be16_at(p.layer(Kind::Udp).offset + 6), 0x9d71);
    EXPECT_EQ(p.be16_at(p.layer(Kind::Tcp).offset + 16), 0x191b);
}

TEST(PacketBuilder, LengthOverridesAndSnaplen) {
    const BuiltPacket p = PacketBuilder()
                              .ethernet()
                              .ipv4("10.0.0.1", "10.0.0.2")
                              .ip_total_length(0x0123)
                              .udp(1, 2)
                              .udp_length(0x0456)
                              .payload(30)
                              .snaplen(40)
                              .build();
    EXPECT_EQ(p.wirelen, 14U + 20 + 8 + 30);
    EXPECT_EQ(p.caplen, 40U);
    EXPECT_EQ(p.bytes.size(), 40U);
    EXPECT_EQ(p.be16_at(14 + 2), 0x0123);
    EXPECT_EQ(p.be16_at(34 + 4), 0x0456);
    EXPECT_TRUE(p.frame().snaplen_cut());
}

TEST(PacketBuilder, TcpDataOffsetAndOptions) {
    const BuiltPacket p = PacketBuilder()
                              .ethernet()
                              .ipv4("10.0.0.1", "10.0.0.2")
                              .tcp(1, 2)
                              .tcp_options({0x02, 0x04, 0x05, 0xb4})
                              .build();
    EXPECT_EQ(p.bytes[34 + 12], 0x60);
    const BuiltPacket q = PacketBuilder()
                              .ethernet()
                              .ipv4("10.0.0.1", "10.0.0.2")
                              .tcp(1, 2)
                              .tcp_data_offset(15)
                              .build();
    EXPECT_EQ(q.bytes[34 + 12], 0xf0);
}

TEST(PacketBuilder, LinkTypes) {
    EXPECT_EQ(PacketBuilder().sll().ipv4("1.1.1.1", "2.2.2.2").build().link, LinkType::LinuxSll);
    EXPECT_EQ(PacketBuilder().sll2().ipv4("1.1.1.1", "2.2.2.2").build().link, LinkType::LinuxSll2);
    EXPECT_EQ(PacketBuilder().null_link().ipv4("1.1.1.1", "2.2.2.2").build().link, LinkType::Null);
    EXPECT_EQ(PacketBuilder().ipv6("::1", "::2").build().link, LinkType::RawIp);
    EXPECT_EQ(PacketBuilder().ipv4("1.1.1.1", "2.2.2.2").link_type(LinkType::RawIpv4).build().link,
              LinkType::RawIpv4);
    // SLL v1: protocol at 14; SLL2: protocol at 0, ifindex at 4, packet type at 10.
    const BuiltPacket sll = PacketBuilder().sll(4).ipv4("1.1.1.1", "2.2.2.2").build();
    EXPECT_EQ(sll.be16_at(0), 4);
    EXPECT_EQ(sll.be16_at(14), 0x0800);
    const BuiltPacket sll2 = PacketBuilder().sll2(9, 4).ipv6("::1", "::2").build();
    EXPECT_EQ(sll2.be16_at(0), 0x86dd);
    EXPECT_EQ(sll2.be16_at(6), 9);
    EXPECT_EQ(sll2.bytes[10], 4);
}

TEST(PacketBuilder, MisuseThrows) {
    EXPECT_THROW((void)PacketBuilder().build(), std::logic_error);
    EXPECT_THROW(PacketBuilder().ethernet().vxlan(1), std::logic_error);
    EXPECT_THROW(PacketBuilder().ethernet().partial_checksum(), std::logic_error);
    EXPECT_THROW(PacketBuilder().ethernet().hop_by_hop(), std::logic_error);
    EXPECT_THROW(PacketBuilder().ethernet().ipv4("10.0.0.300", "1.1.1.1"), std::invalid_argument);
    EXPECT_THROW((void)from_hex("abc"), std::invalid_argument);
}

}  // namespace
}  // namespace vxcheck::test

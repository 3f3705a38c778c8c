// The header acceptance rules shared by the decoders and the fast path (decode/header_rules.h):
// each rule against hand-made headers, and "plain" against what decode() notes.

#include "vxcheck/decode/header_rules.h"

#include <gtest/gtest.h>

#include <array>
#include <cstdint>

#include "packet_builder.h"

namespace vxcheck::test {
namespace {

// IPv4 header, no options, total length 40, protocol TCP, not a fragment (checksum left 0).
std::array<std::uint8_t, 40> ipv4_packet() {
    std::array<std::uint8_t, 40> b{};
    b[0] = 0x45;
    b[3] = 40;
    b[6] = 0x40;  // DF: not a fragment
    b[8] = 64;
    b[9] = 6;
    return b;
}

TEST(HeaderRules, IpVersionIsTheHighNibble) {
    const std::array<std::uint8_t, 1> v4{0x45};
    const std::array<std::uint8_t, 1> v6{0x60};
    EXPECT_EQ(decode::ip_version(v4), 4U);
    EXPECT_EQ(decode::ip_version(v6), 6U);
}

TEST(HeaderRules, Ipv4HeaderLenIsIhlTimesFour) {
    const std::array<std::uint8_t, 1> five{0x45};
    const std::array<std::uint8_t, 1> fifteen{0x4f};
    EXPECT_EQ(decode::ipv4_header_len(five), 20U);
    EXPECT_EQ(decode::ipv4_header_len(fifteen), 60U);
}

TEST(HeaderRules, Ipv4HeaderPlainIsVersion4Ihl5NoFragmentLengthsThatAgree) {
    auto b = ipv4_packet();
    EXPECT_TRUE(decode::ipv4_header_plain(b, 20));
    EXPECT_FALSE(decode::ipv4_header_plain(b, 21)) << "total length must cover min_payload";
    b[0] = 0x46;
    EXPECT_FALSE(decode::ipv4_header_plain(b, 0)) << "options";
    b[0] = 0x55;
    EXPECT_FALSE(decode::ipv4_header_plain(b, 0)) << "version 5";
    b = ipv4_packet();
    b[6] = 0x20;
    EXPECT_FALSE(decode::ipv4_header_plain(b, 0)) << "MF";
    b[6] = 0x00;
    b[7] = 0x01;
    EXPECT_FALSE(decode::ipv4_header_plain(b, 0)) << "fragment offset";
    b = ipv4_packet();
    b[3] = 41;
    EXPECT_FALSE(decode::ipv4_header_plain(b, 0)) << "total length beyond the bytes";
    b[3] = 19;
    EXPECT_FALSE(decode::ipv4_header_plain(b, 0)) << "total length below the header";
    b[3] = 0;
    EXPECT_FALSE(decode::ipv4_header_plain(b, 0)) << "super-packet (total length 0)";
}

TEST(HeaderRules, Ipv4HeaderPlainFramesDecodeWithoutAnomaly) {
    const Dissection d(
        PacketBuilder().ethernet().ipv4("10.0.0.1", "10.0.0.2").tcp(1, 2).payload(10));
    const Bytes ip = Bytes(d.packet().bytes).subspan(14);
    ASSERT_TRUE(decode::ipv4_header_plain(ip, 20));
    EXPECT_EQ(d.anomaly_names(), "");
}

TEST(HeaderRules, TcpHeaderLenIsDataOffsetTimesFour) {
    std::array<std::uint8_t, 20> t{};
    t[12] = 0x50;
    EXPECT_EQ(decode::tcp_header_len(t), 20U);
    t[12] = 0xf0;
    EXPECT_EQ(decode::tcp_header_len(t), 60U);
}

TEST(HeaderRules, VxlanHeaderPlainIsFlagsIAndReservedZero) {
    std::array<std::uint8_t, 8> x{0x08, 0, 0, 0, 0, 0, 1, 0};
    EXPECT_TRUE(decode::vxlan_i_flag(x));
    EXPECT_FALSE(decode::vxlan_reserved_nonzero(x));
    EXPECT_TRUE(decode::vxlan_header_plain(x));
    for (const std::size_t reserved : {1U, 2U, 3U, 7U}) {
        auto y = x;
        y[reserved] = 1;
        EXPECT_TRUE(decode::vxlan_reserved_nonzero(y)) << "byte " << reserved;
        EXPECT_FALSE(decode::vxlan_header_plain(y)) << "byte " << reserved;
    }
    x[0] = 0x0c;
    EXPECT_TRUE(decode::vxlan_reserved_nonzero(x));
    EXPECT_FALSE(decode::vxlan_header_plain(x));
    x[0] = 0x00;
    EXPECT_FALSE(decode::vxlan_i_flag(x));
    EXPECT_FALSE(decode::vxlan_header_plain(x));
}

}  // namespace
}  // namespace vxcheck::test

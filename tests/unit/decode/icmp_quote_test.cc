// ICMP error quotes and TCP options, the two parsers the connection analysis reads.

#include "vxcheck/decode/icmp_quote.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "vxcheck/decode/tcp_options.h"

namespace vxcheck::decode {
namespace {

// ICMP type 3 code 3, then an IPv4 header of `ihl` words (protocol TCP), then 8 TCP bytes.
std::vector<std::uint8_t> icmp_v4(std::uint8_t ihl, std::uint8_t proto = 6) {
    std::vector<std::uint8_t> b{3, 3, 0, 0, 0, 0, 0, 0};
    std::vector<std::uint8_t> ip(std::size_t{ihl} * 4, 0);
    if (ip.size() < 20) {
        ip.resize(20, 0);
    }
    ip[0] = static_cast<std::uint8_t>(0x40 | ihl);
    ip[9] = proto;
    ip[12] = 10, ip[13] = 244, ip[14] = 1, ip[15] = 0;
    ip[16] = 10, ip[17] = 96, ip[18] = 0, ip[19] = 10;
    b.insert(b.end(), ip.begin(), ip.end());
    const std::uint8_t tcp[8] = {0x02, 0x64, 0x08, 0x01, 0x12, 0x34, 0x56, 0x78};  // 612 -> 2049
    b.insert(b.end(), tcp, tcp + 8);
    return b;
}

TEST(IcmpQuote, QuotedTcpOfAnIpv4ErrorGivesAddressesPortsAndSeq) {
    const auto b = icmp_v4(5);
    const auto q = quoted_tcp(Bytes{b.data(), b.size()}, false);
    ASSERT_TRUE(q);
    EXPECT_FALSE(q->v6);
    EXPECT_EQ(q->src[0], 10);
    EXPECT_EQ(q->src[3], 0);
    EXPECT_EQ(q->dst[3], 10);
    EXPECT_EQ(q->sport, 612);
    EXPECT_EQ(q->dport, 2049);
    EXPECT_EQ(q->seq, 0x12345678U);
}

TEST(IcmpQuote, Ipv4OptionsInTheQuoteAreSkipped) {
    const auto b = icmp_v4(6);
    const auto q = quoted_tcp(Bytes{b.data(), b.size()}, false);
    ASSERT_TRUE(q);
    EXPECT_EQ(q->sport, 612);
}

TEST(IcmpQuote, QuotedIpv4HeaderLengthBelowFiveWordsIsRejected) {
    for (std::uint8_t ihl = 0; ihl < 5; ++ihl) {
        const auto b = icmp_v4(ihl);
        EXPECT_FALSE(quoted_tcp(Bytes{b.data(), b.size()}, false)) << int{ihl};
    }
}

TEST(IcmpQuote, NotTcpOrTooShortIsRejected) {
    const auto udp = icmp_v4(5, 17);
    EXPECT_FALSE(quoted_tcp(Bytes{udp.data(), udp.size()}, false));
    auto cut = icmp_v4(5);
    cut.resize(cut.size() - 1);  // 7 of the 8 TCP bytes
    EXPECT_FALSE(quoted_tcp(Bytes{cut.data(), cut.size()}, false));
    EXPECT_FALSE(quoted_tcp(Bytes{cut.data(), 7}, false));  // not even the error header
    const auto v4 = icmp_v4(5);
    EXPECT_FALSE(quoted_tcp(Bytes{v4.data(), v4.size()}, true)) << "version 4 as ICMPv6";
}

TEST(IcmpQuote, QuotedTcpOfAnIpv6Error) {
    std::vector<std::uint8_t> b{1, 4, 0, 0, 0, 0, 0, 0};
    std::vector<std::uint8_t> ip(40, 0);
    ip[0] = 0x60;
    ip[6] = 6;
    ip[8] = 0xfd;
    ip[39] = 5;
    b.insert(b.end(), ip.begin(), ip.end());
    const std::uint8_t tcp[8] = {0x9c, 0x40, 0x08, 0x01, 0, 0, 0, 9};
    b.insert(b.end(), tcp, tcp + 8);
    const auto q = quoted_tcp(Bytes{b.data(), b.size()}, true);
    ASSERT_TRUE(q);
    EXPECT_TRUE(q->v6);
    EXPECT_EQ(q->src[0], 0xfd);
    EXPECT_EQ(q->dst[15], 5);
    EXPECT_EQ(q->sport, 40000);
    EXPECT_EQ(q->seq, 9U);
}

TEST(TcpOptions, MssWindowScaleAndTimestampOfALinuxSyn) {
    // mss 1460, sackOK, TS val 0x01020304 ecr 0, nop, wscale 7.
    const std::vector<std::uint8_t> o{2, 4, 0x05, 0xb4, 4, 2, 8, 10, 1, 2,
                                      3, 4, 0,    0,    0, 0, 1, 3,  3, 7};
    const TcpOptions t = parse_tcp_options(Bytes{o.data(), o.size()});
    EXPECT_EQ(t.mss, 1460);
    EXPECT_EQ(t.window_scale, 7);
    EXPECT_EQ(t.tsval, 0x01020304U);
    EXPECT_EQ(t.tsecr, 0U);
    EXPECT_FALSE(t.malformed);
    EXPECT_EQ(tcp_tsval(Bytes{o.data(), o.size()}), 0x01020304U);
}

TEST(TcpOptions, EndOfListStopsTheWalk) {
    const std::vector<std::uint8_t> o{0, 8, 10, 1, 2, 3, 4, 0, 0, 0, 0};
    EXPECT_FALSE(tcp_tsval(Bytes{o.data(), o.size()}));
    EXPECT_FALSE(parse_tcp_options(Bytes{o.data(), o.size()}).malformed);
}

TEST(TcpOptions, LengthBelowTwoOrPastTheEndIsMalformed) {
    const std::vector<std::uint8_t> zero_len{1, 5, 0, 8, 10};
    EXPECT_TRUE(parse_tcp_options(Bytes{zero_len.data(), zero_len.size()}).malformed);
    EXPECT_FALSE(tcp_tsval(Bytes{zero_len.data(), zero_len.size()}));
    const std::vector<std::uint8_t> past{8, 10, 1, 2, 3};
    EXPECT_TRUE(parse_tcp_options(Bytes{past.data(), past.size()}).malformed);
    EXPECT_FALSE(tcp_tsval(Bytes{past.data(), past.size()}));
}

TEST(TcpOptions, TheFirstOptionOfEachKindCounts) {
    // mss 1360, mss 1460, wscale 7, wscale 9, TS val 5, TS val 6, end.
    const std::vector<std::uint8_t> o{2, 4,  0x05, 0x50, 2, 4, 0x05, 0xb4, 3, 3, 7, 3,
                                      3, 9,  8,    10,   0, 0, 0,    5,    0, 0, 0, 0,
                                      8, 10, 0,    0,    0, 6, 0,    0,    0, 0, 0, 0};
    const TcpOptions t = parse_tcp_options(Bytes{o.data(), o.size()});
    EXPECT_EQ(t.mss, 1360);
    EXPECT_EQ(t.window_scale, 7);
    EXPECT_EQ(t.tsval, 5U);
    EXPECT_EQ(tcp_tsval(Bytes{o.data(), o.size()}), 5U);
}

TEST(TcpOptions, TimestampWithAWrongLengthIsSkipped) {
    const std::vector<std::uint8_t> o{8, 6, 9, 9, 9, 9, 8, 10, 0, 0, 0, 7, 0, 0, 0, 0};
    EXPECT_EQ(tcp_tsval(Bytes{o.data(), o.size()}), 7U);
}

}  // namespace
}  // namespace vxcheck::decode

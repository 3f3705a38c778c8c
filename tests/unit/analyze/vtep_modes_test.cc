// VTEP checksum-mode learning through the analyzer (domain spec 2.4): a pair's mode, learned from
// every tunnelled packet, decides whether an outer checksum of 0xffff is variant A. And idle
// expiry: a connection idle longer than the timeout is decided early.

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "feeder.h"
#include "packet_builder.h"
#include "vxcheck/analyze/connections.h"
#include "vxcheck/analyze/rules.h"

namespace vxcheck::test {
namespace {

namespace tf = decode::tcp_flag;

enum class Outer { Zero, Full, Ffff };

// The VXLAN header and the inner SYN every test here sends.
PacketBuilder& inner_syn(PacketBuilder& b, std::uint16_t ip_id) {
    return b.vxlan(1)
        .ethernet()
        .ipv4("10.244.1.5", "10.244.2.7")
        .ipv4_id(ip_id)
        .tcp(45000, 2049, tf::kSyn, 1000);
}

// A client SYN in VXLAN from 192.168.1.10 to 192.168.1.20 (fd00::10 to fd00::20 over an IPv6
// underlay), outer checksum as `outer`.
PacketBuilder tunnelled_syn(Outer outer, std::uint16_t ip_id, bool v6 = false) {
    PacketBuilder b;
    b.ethernet();
    if (v6) {
        b.ipv6("fd00::10", "fd00::20");
    } else {
        b.ipv4("192.168.1.10", "192.168.1.20");
    }
    b.udp(40000, 8472);
    if (outer == Outer::Zero) {
        b.zero_udp_checksum();
    } else if (outer == Outer::Ffff) {
        b.checksum(0xffff);
    }
    inner_syn(b, ip_id);
    return b;
}

std::vector<analyze::ConnectionReport> run(const std::vector<Outer>& outers, bool v6 = false) {
    analyze::ConnectionAnalyzer a({});
    a.add_point("p");
    Feeder feed(a);
    std::uint16_t id = 1;
    for (const Outer o : outers) {
        feed.send(tunnelled_syn(o, id, v6));
        ++id;
    }
    return a.finish();
}

TEST(VtepModes, FfffOnAPairThatSendsZeroChecksumsIsVariantA) {
    const auto r = run({Outer::Zero, Outer::Zero, Outer::Ffff});
    ASSERT_EQ(r.size(), 1U);
    ASSERT_EQ(r[0].corrupted.size(), 1U);
    EXPECT_EQ(r[0].corrupted[0].variant, analyze::CorruptionVariant::A);
    EXPECT_TRUE(r[0].has(analyze::Verdict::OuterChecksumCorrupted));
    EXPECT_EQ(r[0].outer_snat.kind, analyze::OuterSnatReason::Kind::VariantA);
}

TEST(VtepModes, FfffOnAPairThatSendsFullChecksumsIsNotVariantA) {
    const auto r = run({Outer::Full, Outer::Full, Outer::Ffff});
    ASSERT_EQ(r.size(), 1U);
    for (const auto& c : r[0].corrupted) {
        EXPECT_NE(c.variant, analyze::CorruptionVariant::A);
    }
}

TEST(VtepModes, TheModeIsDecidedAtTheEndSoOrderDoesNotMatter) {
    const auto r = run({Outer::Ffff, Outer::Zero, Outer::Zero});
    ASSERT_EQ(r.size(), 1U);
    ASSERT_EQ(r[0].corrupted.size(), 1U);
    EXPECT_EQ(r[0].corrupted[0].variant, analyze::CorruptionVariant::A);
}

TEST(VtepModes, AnIpv6PairThatSendsZeroChecksumsIsAZeroPair) {
    // RFC 6935 lets a tunnel over IPv6 send no UDP checksums (Linux udp6zerocsumtx): the
    // checksums are bad by RFC 8200, but neither they nor the connection are NAT's doing, and
    // the pair's mode is zero, so that 0xffff on it is variant A.
    const auto clean = run({Outer::Zero, Outer::Zero, Outer::Zero}, true);
    ASSERT_EQ(clean.size(), 1U);
    EXPECT_TRUE(clean[0].corrupted.empty());
    EXPECT_FALSE(clean[0].has(analyze::Verdict::OuterSnat));
    const auto a = run({Outer::Zero, Outer::Zero, Outer::Ffff}, true);
    ASSERT_EQ(a.size(), 1U);
    ASSERT_EQ(a[0].corrupted.size(), 1U);
    EXPECT_EQ(a[0].corrupted[0].variant, analyze::CorruptionVariant::A);
}

// The SYN of tunnelled_syn() sent from `src` (a second address of the node) with outer UDP
// checksum `field`, as a pre-5.7 NAT that rewrote the source address leaves it.
PacketBuilder rewritten_syn(const char* src, std::uint16_t field, std::uint16_t ip_id) {
    PacketBuilder b;
    b.ethernet().ipv4(src, "192.168.1.20").udp(7103, 8472).checksum(field);
    inner_syn(b, ip_id);
    return b;
}

std::vector<analyze::ConnectionReport> run_rewritten(Outer first, std::uint16_t field) {
    analyze::ConnectionAnalyzer a({});
    a.add_point("p");
    Feeder feed(a);
    feed.send(tunnelled_syn(first, 1));
    feed.send(tunnelled_syn(first, 2));
    feed.send(rewritten_syn("192.168.1.99", field, 3));
    return a.finish();
}

TEST(VtepModes, ARewrittenSourceAddressOnAZeroPairIsVariantAFromThatAddress) {
    // 0x0059 = onesum(~192.168.1.10, 192.168.1.99) (domain spec 2.3), and 192.168.1.10 sends
    // 192.168.1.20 zero checksums.
    const auto r = run_rewritten(Outer::Zero, 0x0059);
    ASSERT_EQ(r.size(), 1U);
    ASSERT_EQ(r[0].corrupted.size(), 1U);
    EXPECT_EQ(r[0].corrupted[0].variant, analyze::CorruptionVariant::A);
    ASSERT_TRUE(r[0].corrupted[0].pre_nat_src);
    EXPECT_EQ(track::ip_to_string(*r[0].corrupted[0].pre_nat_src), "192.168.1.10");
    EXPECT_TRUE(r[0].has(analyze::Verdict::OuterChecksumCorrupted));
    // 7103 is outside the driver's range, which outer_snat names first.
    EXPECT_EQ(r[0].outer_snat.kind, analyze::OuterSnatReason::Kind::PortOutOfRange);
}

TEST(VtepModes, TheRewrittenSourceIsFoundAmongManyZeroSenders) {
    // 300 nodes send 192.168.1.20 zero checksums; NAT rewrote 10.0.1.44 to 192.168.1.99. The
    // field names one of them, found through the index by word sum (not the first sender). For
    // this packet variant B's range test passes too (fold(7103 + ~R) is in 32768-60998): the
    // exact match with a zero sender's address is taken first.
    analyze::ConnectionAnalyzer a({});
    a.add_point("p");
    Feeder feed(a);
    std::uint16_t id = 1;
    for (int n = 0; n < 300; ++n) {
        const std::string src = "10.0." + std::to_string(n / 200) + "." + std::to_string(n % 200);
        PacketBuilder b;
        b.ethernet().ipv4(src, "192.168.1.20").udp(40000, 8472).zero_udp_checksum();
        inner_syn(b, id++);
        feed.send(b);
    }
    const std::uint16_t field = analyze::variant_a_field(track::ipv4_endpoint(0x0a00012c, 0),
                                                         track::ipv4_endpoint(0xc0a80163, 0));
    feed.send(rewritten_syn("192.168.1.99", field, id));
    const auto r = a.finish();
    ASSERT_EQ(r.size(), 1U);
    ASSERT_EQ(r[0].corrupted.size(), 1U);
    ASSERT_TRUE(r[0].corrupted[0].pre_nat_src);
    EXPECT_EQ(track::ip_to_string(*r[0].corrupted[0].pre_nat_src), "10.0.1.44");
}

TEST(VtepModes, ARewrittenSourceNeedsAZeroSenderWhoseAddressExplainsTheField) {
    for (const auto& r : {run_rewritten(Outer::Zero, 0x0058), run_rewritten(Outer::Full, 0x0059)}) {
        ASSERT_EQ(r.size(), 1U);
        for (const auto& c : r[0].corrupted) {
            EXPECT_FALSE(c.pre_nat_src);
        }
    }
}

TEST(FlowManagement, AConnectionIdleLongerThanTheTimeoutIsDecidedEarly) {
    analyze::ConnectionOptions o;
    o.idle_timeout_s = 60;
    analyze::ConnectionAnalyzer a(o);
    a.add_point("p");
    Feeder feed(a);
    feed.send(PacketBuilder()
                  .ethernet()
                  .ipv4("10.244.1.5", "10.96.0.10")
                  .tcp(40000, 2049, tf::kSyn, 1000));
    // Idle expiry runs every 65536 packets; these (one second apart, not watched) pass time.
    const PacketBuilder other = PacketBuilder().ethernet().ipv4("10.1.1.1", "10.1.1.2").udp(53, 53);
    for (int i = 0; i < 65536; ++i) {
        feed.send(other);
    }
    EXPECT_EQ(a.stats().expired, 1U);
    EXPECT_EQ(a.open_connections(), 0U);
    EXPECT_EQ(a.take_decided().size(), 1U);
}

}  // namespace
}  // namespace vxcheck::test

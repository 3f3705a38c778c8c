// IP-in-IP (RFC 2003 protocol 4, RFC 4213 protocol 41) over IPv4 and IPv6: 4in4, 6in4, 4in6,
// 6in6; each inner IP header is a tunnel level, capped like VXLAN, Geneve and GRE.

#include <gtest/gtest.h>

#include "packet_builder.h"
#include "vxcheck/decode/decode.h"

namespace vxcheck::test {
namespace {

using decode::Proto;

decode::DecodeOptions max_depth(std::uint8_t depth) {
    decode::DecodeOptions o;
    o.max_tunnel_depth = depth;
    return o;
}

PacketBuilder v4() {
    return PacketBuilder().ethernet().ipv4("192.168.0.1", "192.168.0.2");
}

PacketBuilder v6() {
    return PacketBuilder().ethernet().ipv6("fd00::1", "fd00::2");
}

// n IPv4 headers inside the outer one (a loop of IP-in-IP tunnels).
PacketBuilder loop(int n) {
    PacketBuilder b = v4();
    for (int i = 0; i < n; ++i) {
        b.ipv4("10.0.0.1", "10.0.0.2");
    }
    return b.tcp(1, 2);
}

std::vector<DecodeRow> ipip_rows() {
    return {
        {"4in4", v4().ipv4("10.0.0.1", "10.0.0.2").tcp(1, 2), "ethernet ipv4 / ipv4 tcp", ""},
        {"6in4", v4().ipv6("fd01::1", "fd01::2").tcp(1, 2), "ethernet ipv4 / ipv6 tcp", ""},
        {"4in6", v6().ipv4("10.0.0.1", "10.0.0.2").udp(1, 2), "ethernet ipv6 / ipv4 udp", ""},
        {"6in6", v6().ipv6("fd01::1", "fd01::2").udp(1, 2), "ethernet ipv6 / ipv6 udp", ""},
        {"4in6_after_extension_header", v6().dest_options().ipv4("10.0.0.1", "10.0.0.2").tcp(1, 2),
         "ethernet ipv6 / ipv4 tcp", ""},
        {"inner_truncated", v4().ip_protocol(4).payload(10), "ethernet ipv4",
         "ipv4.header_truncated"},
        {"inner_version_mismatch", v4().ip_protocol(4).ipv6("fd01::1", "fd01::2").payload(4),
         "ethernet ipv4", "ipv4.bad_version"},
        {"loop_at_depth_cap", loop(4), "ethernet ipv4 / ipv4 / ipv4 / ipv4 / ipv4 tcp", ""},
        {"loop_past_depth_cap", loop(5), "ethernet ipv4 / ipv4 / ipv4 / ipv4 / ipv4",
         "decode.tunnel_depth_exceeded"},
        {"loop_past_cap_one", loop(2), "ethernet ipv4 / ipv4", "decode.tunnel_depth_exceeded",
         "none", max_depth(1)},
    };
}

TEST(IpInIpDecode, Table) {
    for (const DecodeRow& row : ipip_rows()) {
        SCOPED_TRACE(row.name);
        expect_decodes_as(row);
    }
}

// Every header of a 6in4 packet is verified; the inner TCP checksum uses the inner (IPv6)
// pseudo-header and the outer IPv4 header checksum its own header only.
TEST(IpInIpDecode, InnerChecksumsUseTheInnerPseudoHeader) {
    const Dissection ok(v4().ipv6("fd01::1", "fd01::2").tcp(1, 2).payload(10));
    EXPECT_EQ(ok.verdict_names(), "ipv4@0=ok tcp@1=ok");
    const Dissection bad(v4().ipv4("10.0.0.1", "10.0.0.2").tcp(1, 2).corrupt_checksum(0x0100));
    EXPECT_EQ(bad.verdict_names(), "ipv4@0=ok ipv4@1=ok tcp@1=bad");
}

}  // namespace
}  // namespace vxcheck::test

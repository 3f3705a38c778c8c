// The Community ID flow hash v1 gives the spec's own baseline values (corelight/community-id-spec,
// baseline/baseline_deflt.json for seed 0 and baseline_seed1.json for seed 1): TCP, UDP, SCTP,
// ICMP and ICMPv6 over IPv4 and IPv6, both directions of a flow, and a protocol without ports.

#include "vxcheck/track/community_id.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <cstring>
#include <string>

namespace vxcheck::track {
namespace {

Endpoint ep(const char* ip, std::uint16_t port) {
    Endpoint e;
    e.port = port;
    if (std::strchr(ip, ':') != nullptr) {
        e.v6 = true;
        EXPECT_EQ(inet_pton(AF_INET6, ip, e.addr.data()), 1) << ip;
    } else {
        EXPECT_EQ(inet_pton(AF_INET, ip, e.addr.data()), 1) << ip;
    }
    return e;
}

struct Vector {
    const char* saddr;
    const char* daddr;
    std::uint16_t sport;
    std::uint16_t dport;
    std::uint8_t proto;
    const char* seed0;
    const char* seed1;
};

// The baseline's flows with ports (ICMP as its port equivalents are checked below).
constexpr Vector kPorts[] = {
    {"128.232.110.120", "66.35.250.204", 34855, 80, kProtoTcp,
     "1:LQU9qZlK+B5F3KDmev6m5PMibrg=", "1:3V71V58M3Ksw/yuFALMcW0LAHvc="},
    {"66.35.250.204", "128.232.110.120", 80, 34855, kProtoTcp,
     "1:LQU9qZlK+B5F3KDmev6m5PMibrg=", "1:3V71V58M3Ksw/yuFALMcW0LAHvc="},
    {"2001:470:e5bf:dead:4957:2174:e82c:4887", "2607:f8b0:400c:c03::1a", 63943, 25, kProtoTcp,
     "1:/qFaeAR+gFe1KYjMzVDsMv+wgU4=", "1:eJYTW6AOzFLlSUoESovMjnu7rMw="},
    {"2607:f8b0:400c:c03::1a", "2001:470:e5bf:dead:4957:2174:e82c:4887", 25, 63943, kProtoTcp,
     "1:/qFaeAR+gFe1KYjMzVDsMv+wgU4=", "1:eJYTW6AOzFLlSUoESovMjnu7rMw="},
    {"192.168.1.52", "8.8.8.8", 54585, 53, kProtoUdp,
     "1:d/FP5EW3wiY1vCndhwleRRKHowQ=", "1:Q9We8WO3piVF8yEQBNJF4uiSVrI="},
    {"8.8.8.8", "192.168.1.52", 53, 54585, kProtoUdp,
     "1:d/FP5EW3wiY1vCndhwleRRKHowQ=", "1:Q9We8WO3piVF8yEQBNJF4uiSVrI="},
    {"192.168.170.8", "192.168.170.56", 7, 7, kProtoSctp,
     "1:MP2EtRCAUIZvTw6MxJHLV7N7JDs=", "1:5w3ZRjeKBzqT3zsaEECDGjUbYeg="},
    {"192.168.170.56", "192.168.170.8", 7, 7, kProtoSctp,
     "1:MP2EtRCAUIZvTw6MxJHLV7N7JDs=", "1:5w3ZRjeKBzqT3zsaEECDGjUbYeg="},
    // RSVP (46): no ports, the addresses and the protocol alone.
    {"10.1.12.1", "10.1.12.2", 0, 0, 46,
     "1:KHlLkgoJW7ifUTyTSgyVfkFHzKw=", "1:rYir8gphR31noO9iDRQmF/BteEI="},
    {"10.1.12.2", "10.1.12.1", 0, 0, 46,
     "1:KHlLkgoJW7ifUTyTSgyVfkFHzKw=", "1:rYir8gphR31noO9iDRQmF/BteEI="},
};

TEST(CommunityId, TcpUdpSctpAndPortlessFlowsGiveTheSpecBaselineInBothDirections) {
    for (const Vector& v : kPorts) {
        const Endpoint s = ep(v.saddr, v.sport);
        const Endpoint d = ep(v.daddr, v.dport);
        EXPECT_EQ(community_id(s, d, v.proto), v.seed0) << v.saddr << " " << v.daddr;
        EXPECT_EQ(community_id(s, d, v.proto, 1), v.seed1) << v.saddr << " " << v.daddr;
    }
}

struct IcmpVector {
    const char* saddr;
    const char* daddr;
    std::uint8_t type;
    std::uint8_t code;
    const char* seed0;
    const char* seed1;
};

// The baseline's ICMP and ICMPv6 messages, given as type and code.
constexpr IcmpVector kIcmp[] = {
    {"192.168.0.89", "192.168.0.1", 8, 0,
     "1:X0snYXpgwiv9TZtqg64sgzUn6Dk=", "1:03g6IloqVBdcZlPyX8r0hgoE7kA="},  // echo
    {"192.168.0.1", "192.168.0.89", 0, 0, "1:X0snYXpgwiv9TZtqg64sgzUn6Dk=",
     "1:03g6IloqVBdcZlPyX8r0hgoE7kA="},  // its reply: the same flow
    {"10.0.0.1", "10.0.0.2", 11, 0,
     "1:YHxtAirCG//0OzkcVAukqKQN9xM=", "1:XjUibYHaafLQ3pxQeiMI8g25q20="},  // time exceeded: one-way
    {"fe80::200:86ff:fe05:80da", "fe80::260:97ff:fe07:69ea", 135, 0,
     "1:dGHyGvjMfljg6Bppwm3bg0LO8TY=", "1:kHa1FhMYIT6Ym2Vm2AOtoOARDzY="},
    {"fe80::260:97ff:fe07:69ea", "fe80::200:86ff:fe05:80da", 136, 0,
     "1:dGHyGvjMfljg6Bppwm3bg0LO8TY=", "1:kHa1FhMYIT6Ym2Vm2AOtoOARDzY="},
    {"fe80::260:97ff:fe07:69ea", "fe80::200:86ff:fe05:80da", 135, 0,
     "1:zavyT/cezQr1fmImYCwYnMXbgck=", "1:2hSqmsDZ2kdcY9kbiUzOEBic0iM="},
    {"3ffe:501:1800:2345::2", "3ffe:507:0:1:200:86ff:fe05:80da", 3, 0,
     "1:2ObVBgIn28oZvibYZhZMBgh7WdQ=", "1:lVEtCZpYu84Xqaa++3lXFyuu2n4="},
    {"3ffe:501:410:0:2c0:dfff:fe47:33e", "3ffe:507:0:1:200:86ff:fe05:80da", 1, 4,
     "1:hLZd0XGWojozrvxqE0dWB1iM6R0=", "1:W8MHwXpWzpoSTD+cGcaJr4u0ys8="},
    {"3ffe:507:0:1:200:86ff:fe05:80da", "3ffe:501:0:1001::2", 128, 0,
     "1:+TW+HtLHvV1xnGhV1lv7XoJrqQg=", "1:GfZxjAkDk2MkegpBYHV6tadtFXQ="},
    {"3ffe:501:0:1001::2", "3ffe:507:0:1:200:86ff:fe05:80da", 129, 0,
     "1:+TW+HtLHvV1xnGhV1lv7XoJrqQg=", "1:GfZxjAkDk2MkegpBYHV6tadtFXQ="},
    {"fe80::200:86ff:fe05:80da", "ff02::2", 133, 0,
     "1:hO+sN4H+MG5MY/8hIrXPqc4ZQz0=", "1:L7Ka0ZMYu+J3bL4ulW2PrqyXNo8="},
    {"fe80::260:97ff:fe07:69ea", "ff02::1", 134, 0,
     "1:pkvHqCL88/tg1k4cPigmZXUtL00=", "1:K/ee5UCqAMAQXDorP5nSa2CGLjc="},
};

TEST(CommunityId, IcmpAndIcmpv6MapTypeAndCodeToPortsAsTheSpecBaseline) {
    for (const IcmpVector& v : kIcmp) {
        const bool v6 = std::strchr(v.saddr, ':') != nullptr;
        const IcmpPorts p = icmp_ports(v6, v.type, v.code);
        const Endpoint s = ep(v.saddr, p.sport);
        const Endpoint d = ep(v.daddr, p.dport);
        const std::uint8_t proto = v6 ? kProtoIcmpv6 : kProtoIcmp;
        EXPECT_EQ(community_id(s, d, proto, 0, p.one_way), v.seed0) << v.saddr << " " << +v.type;
        EXPECT_EQ(community_id(s, d, proto, 1, p.one_way), v.seed1) << v.saddr << " " << +v.type;
    }
}

TEST(CommunityId, AOneWayMessageKeepsItsDirection) {
    // Destination unreachable (3/1) has no counterpart: the endpoints are not reordered, so the
    // two directions are two flows.
    const IcmpPorts p = icmp_ports(false, 3, 1);
    EXPECT_TRUE(p.one_way);
    EXPECT_EQ(p.dport, 1);
    const Endpoint a = ep("10.0.0.2", p.sport);
    const Endpoint b = ep("10.0.0.1", p.dport);
    EXPECT_NE(community_id(a, b, kProtoIcmp, 0, true), community_id(b, a, kProtoIcmp, 0, true));
}

TEST(CommunityId, MixedFamiliesHaveNoId) {
    EXPECT_EQ(community_id(ep("10.0.0.1", 1), ep("fd00::1", 2), kProtoTcp), "");
}

}  // namespace
}  // namespace vxcheck::track

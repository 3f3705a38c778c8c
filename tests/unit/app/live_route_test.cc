// `capture -i default-route` (live_route.h): the interface of the default route, read from the
// kernel's routing tables as /proc shows them.

#include "app/live_route.h"

#include <gtest/gtest.h>

namespace vxcheck::app {
namespace {

// A literal, joined to each table's rows at compile time (GCC 12 warns, wrongly, of a bounds
// overrun in std::string's operator+ on such constants: -Warray-bounds false positives).
#define ROUTE_HEADER \
    "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n"

TEST(DefaultRoute, TheIpv4DefaultRoutesInterfaceIsTaken) {
    const std::string table = ROUTE_HEADER
        "cni0\t00F4010A\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n"
        "ens5\t00000000\t0100A8C0\t0003\t0\t0\t100\t00000000\t0\t0\t0\n";
    EXPECT_EQ(ipv4_default_route(table), "ens5");
}

TEST(DefaultRoute, TheLowestMetricWinsAndRoutesThatAreDownDoNot) {
    const std::string table = ROUTE_HEADER
        "eth1\t00000000\t0101A8C0\t0003\t0\t0\t200\t00000000\t0\t0\t0\n"
        "wg0\t00000000\t00000000\t0000\t0\t0\t0\t00000000\t0\t0\t0\n"
        "eth0\t00000000\t0100A8C0\t0003\t0\t0\t100\t00000000\t0\t0\t0\n";
    EXPECT_EQ(ipv4_default_route(table), "eth0");
}

TEST(DefaultRoute, ARouteToAPrefixIsNoDefaultRoute) {
    const std::string table = ROUTE_HEADER
        "eth0\t000200C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n"
        "eth1\t00000000\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n";
    EXPECT_EQ(ipv4_default_route(table), std::nullopt);
    EXPECT_EQ(ipv4_default_route(""), std::nullopt);
    EXPECT_EQ(ipv4_default_route("garbage\n\n\t\n"), std::nullopt);
}

TEST(DefaultRoute, Ipv6TakesTheDefaultRouteButNotTheRejectRouteOnLo) {
    const std::string zero(32, '0');
    const std::string table =
        zero + " 00 " + zero + " 00 " + zero + " ffffffff 00000001 00000000 00200200       lo\n" +
        "fd000000000000000000000000000000 40 " + zero + " 00 " + zero +
        " 00000100 00000001 00000000 00000001     eth0\n" + zero + " 00 " + zero + " 00 " +
        "fd000000000000000000000000000001 00000400 00000003 00000000 00000003     eth0\n";
    EXPECT_EQ(ipv6_default_route(table), "eth0");
    // Only the reject route: none.
    EXPECT_EQ(ipv6_default_route(zero + " 00 " + zero + " 00 " + zero +
                                 " ffffffff 00000001 00000000 00200200       lo\n"),
              std::nullopt);
}

}  // namespace
}  // namespace vxcheck::app

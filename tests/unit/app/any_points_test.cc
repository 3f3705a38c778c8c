// capture -i any: every interface its frames come from is a capture point of its own, named
// after the interface (input_points.h), so that a packet seen on two interfaces is joined
// across them rather than counted twice.

#include <gtest/gtest.h>
#include <net/if.h>

#include <array>
#include <cstdint>
#include <sstream>

#include "app/frame_consumer.h"
#include "app/input_points.h"
#include "vxcheck/report/reporter.h"

namespace vxcheck::app {
namespace {

// A frame with an SLL2 header naming interface `ifindex` (the rest does not matter here).
struct Sll2Frame {
    std::array<std::uint8_t, 40> bytes{};
    RawFrame frame;

    explicit Sll2Frame(std::uint32_t ifindex) {
        bytes[0] = 0x08;  // IPv4
        for (std::size_t i = 0; i < 4; ++i) {
            bytes[4 + i] = static_cast<std::uint8_t>(ifindex >> (24 - 8 * i));
        }
        frame.link = LinkType::LinuxSll2;
        frame.caplen = frame.wirelen = static_cast<std::uint32_t>(bytes.size());
        frame.data = Bytes{bytes.data(), bytes.size()};
    }
};

TEST(AnyPoints, EachInterfaceIsAPointNamedAfterIt) {
    std::ostringstream out;
    auto reporter = report::make_json_reporter(out);
    analyze::ConnectionOptions options;
    FrameConsumer consumer(options, *reporter, PacketSelection::None);
    const std::uint16_t any = consumer.add_point("any");
    AnyPoints points(consumer, any);
    const std::uint32_t lo_index = ::if_nametoindex("lo");
    ASSERT_NE(lo_index, 0U);

    const std::uint16_t lo = points.point_of(Sll2Frame(lo_index).frame);
    const std::uint16_t gone = points.point_of(Sll2Frame(0x7ffffff0).frame);
    EXPECT_NE(lo, any);
    EXPECT_NE(gone, lo);
    EXPECT_EQ(points.point_of(Sll2Frame(lo_index).frame), lo);  // the same interface, point
    EXPECT_EQ(points.point_of(Sll2Frame(0x7ffffff0).frame), gone);
    const auto& names = consumer.connections().points();
    ASSERT_EQ(names.size(), 3U);
    EXPECT_EQ(names[lo], "lo");
    EXPECT_EQ(names[gone], "ifindex2147483632");

    RawFrame ethernet = Sll2Frame(lo_index).frame;
    ethernet.link = LinkType::Ethernet;
    EXPECT_EQ(points.point_of(ethernet), any);  // no SLL2 header: the socket's own point
}

TEST(AnyPoints, AnInterfaceAlsoGivenWithDashIKeepsItsNameForThatSocket) {
    std::ostringstream out;
    auto reporter = report::make_json_reporter(out);
    analyze::ConnectionOptions options;
    FrameConsumer consumer(options, *reporter, PacketSelection::None);
    consumer.add_point("lo");
    const std::uint16_t any = consumer.add_point("any");
    AnyPoints points(consumer, any);
    const Sll2Frame frame(::if_nametoindex("lo"));
    EXPECT_EQ(consumer.connections().points()[points.point_of(frame.frame)], "lo@any");
}

}  // namespace
}  // namespace vxcheck::app

// The capture points of one input file (app/file_points.h): one point named after the file
// unless the file says where its frames were seen; then each place is a point, named after its
// interface, with the file's point name as prefix only where a name is taken; NAME=FILE names
// the point, or prefixes every point of a file that has several.

#include "app/file_points.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "vxcheck/analyze/connections.h"

namespace vxcheck::app {
namespace {

using Sub = FrameOrigin::Sub;

FilePoints::InterfaceName names(std::vector<std::string> n) {
    return [n = std::move(n)](std::uint32_t i) { return i < n.size() ? n[i] : std::string(); };
}

std::string name_of(const analyze::ConnectionAnalyzer& c, std::uint16_t point) {
    return c.points().at(point);
}

TEST(FilePoints, AFileThatSaysNothingIsOnePointNamedAfterIt) {
    analyze::ConnectionAnalyzer c{analyze::ConnectionOptions{}};
    FilePoints points(c, "caps/node-a-eth0.pcap", 0, names({}));
    const std::uint16_t p = points.point_of(FrameOrigin{});
    EXPECT_EQ(name_of(c, p), "node-a-eth0");
    EXPECT_EQ(points.point_of(FrameOrigin{}), p);
    EXPECT_EQ(c.points().size(), 1U);
}

TEST(FilePoints, EveryPcapngInterfaceOfSeveralIsAPointNamedByIfName) {
    analyze::ConnectionAnalyzer c{analyze::ConnectionOptions{}};
    FilePoints points(c, "merged.pcapng", 2, names({"flannel.1", "eth0"}));
    EXPECT_EQ(name_of(c, points.point_of(FrameOrigin{.interface = 1})), "eth0");
    EXPECT_EQ(name_of(c, points.point_of(FrameOrigin{.interface = 0})), "flannel.1");
    EXPECT_EQ(points.names(), "eth0, flannel.1");
}

TEST(FilePoints, EveryInterfaceIndexOfAnAnyCaptureIsAPoint) {
    analyze::ConnectionAnalyzer c{analyze::ConnectionOptions{}};
    FilePoints points(c, "node-a-any.pcap", 0, names({}));
    const auto veth = points.point_of(FrameOrigin{.sub = Sub::Ifindex, .id = 7});
    const auto eth0 = points.point_of(FrameOrigin{.sub = Sub::Ifindex, .id = 2});
    EXPECT_NE(veth, eth0);
    EXPECT_EQ(name_of(c, veth), "ifindex 7");
    EXPECT_EQ(name_of(c, eth0), "ifindex 2");
    // A pcapng of tcpdump -i any: its one interface is "any", the frames say which.
    FilePoints again(c, "node-b-any.pcapng", 1, names({"any"}));
    EXPECT_EQ(name_of(c, again.point_of(FrameOrigin{.sub = Sub::Ifindex, .id = 2})),
              "node-b-any:ifindex 2");  // taken by node-a's: the file's name as prefix
}

TEST(FilePoints, EveryNflogGroupIsAPoint) {
    analyze::ConnectionAnalyzer c{analyze::ConnectionOptions{}};
    FilePoints points(c, "nflog.pcap", 0, names({}));
    EXPECT_EQ(name_of(c, points.point_of(FrameOrigin{.sub = Sub::NflogGroup, .id = 5})), "nflog:5");
    EXPECT_EQ(name_of(c, points.point_of(FrameOrigin{.sub = Sub::NflogGroup, .id = 6})), "nflog:6");
}

TEST(FilePoints, ANameTakenTwiceGetsTheFilePrefixThenANumber) {
    analyze::ConnectionAnalyzer c{analyze::ConnectionOptions{}};
    FilePoints a(c, "a/node.pcapng", 2, names({"eth0", "eth0"}));
    EXPECT_EQ(name_of(c, a.point_of(FrameOrigin{.interface = 0})), "eth0");
    EXPECT_EQ(name_of(c, a.point_of(FrameOrigin{.interface = 1})), "node:eth0");
    FilePoints b(c, "b/node.pcapng", 2, names({"eth0", "lo"}));
    EXPECT_EQ(name_of(c, b.point_of(FrameOrigin{.interface = 0})), "node:eth0#2");
}

TEST(FilePoints, NameEqualsFileNamesTheOnePointOrPrefixesSeveral) {
    analyze::ConnectionAnalyzer c{analyze::ConnectionOptions{}};
    FilePoints one(c, "x/eth0.pcap", 0, names({}), "a-eth0");
    EXPECT_EQ(name_of(c, one.point_of(FrameOrigin{})), "a-eth0");
    FilePoints many(c, "y/any.pcap", 0, names({}), "node-a");
    EXPECT_EQ(name_of(c, many.point_of(FrameOrigin{.sub = Sub::Ifindex, .id = 3})),
              "node-a:ifindex 3");
}

TEST(FilePoints, AFileWithoutFramesHasNoPointYet) {
    analyze::ConnectionAnalyzer c{analyze::ConnectionOptions{}};
    const FilePoints points(c, "empty.pcap", 0, names({}));
    EXPECT_EQ(points.names(), "");
    EXPECT_TRUE(c.points().empty());
}

}  // namespace
}  // namespace vxcheck::app

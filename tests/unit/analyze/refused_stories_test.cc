// The dead-local-endpoint stories of pcaps/nfs (pcaps/README.md), run as `vxcheck analyze` runs
// them with the default options: nfs_endpoint_refused on every refused reconnect, each its own
// connection (issue 19 item 6), and silence on the control.

#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "source_dir.h"
#include "vxcheck/app/pipeline.h"

namespace {

using nlohmann::json;

std::vector<json> connections_of(const std::string& file) {
    std::filesystem::current_path(vxcheck::test::source_dir());
    vxcheck::app::AnalyzeConfig cfg;
    cfg.files = {file};
    cfg.json = true;
    cfg.packets = vxcheck::app::PacketSelection::None;
    std::ostringstream out;
    vxcheck::app::run_analyze(cfg, out);
    std::vector<json> got;
    std::istringstream in(out.str());
    for (std::string line; std::getline(in, line);) {
        json j = json::parse(line);
        if (j["type"] == "connection") {
            got.push_back(j);
        }
    }
    return got;
}

bool has(const json& c, const std::string& verdict) {
    for (const auto& v : c["verdicts"]) {
        if (v == verdict) {
            return true;
        }
    }
    return false;
}

TEST(RefusedStories, DeadLocalEndpointFromOneSourcePortIsFiveRefusedConnections) {
    const auto got = connections_of("pcaps/nfs/nfs-dead-local-endpoint-same-port.pcap");
    ASSERT_EQ(got.size(), 5U);
    for (const json& c : got) {
        EXPECT_EQ(c["client"], "127.0.0.1:46602");
        EXPECT_EQ(c["server"], "127.0.0.1:20123");
        EXPECT_TRUE(has(c, "nfs_endpoint_refused")) << c.dump();
        EXPECT_NE(c["explanation"].get<std::string>().find("tried 5 times"), std::string::npos);
        EXPECT_EQ(c["refused"]["endpoint"], "loopback_proxy_port");
        EXPECT_EQ(c["refused"]["attempts"], 5);
        EXPECT_EQ(c["refused"]["gaps_s"], json::array({3, 6, 12, 24}));
        EXPECT_EQ(c["refused"]["sports"], json::array({46602, 46602, 46602, 46602, 46602}));
    }
    for (std::size_t i = 0; i < got.size(); ++i) {
        EXPECT_EQ(got[i]["refused"]["attempt"], i + 1);
    }
}

TEST(RefusedStories, DeadLocalEndpointFromNewSourcePortsIsRefusedOnAllFive) {
    const auto got = connections_of("pcaps/nfs/nfs-dead-local-endpoint-new-port.pcap");
    ASSERT_EQ(got.size(), 5U);
    for (const json& c : got) {
        EXPECT_TRUE(has(c, "nfs_endpoint_refused")) << c.dump();
    }
    EXPECT_EQ(got[0]["refused"]["sports"], json::array({46602, 51710, 38224, 60112, 43090}));
}

TEST(RefusedStories, OneRefusedConnectBeforeASuccessfulOneIsTwoConnectionsAndNoVerdict) {
    const auto got = connections_of("pcaps/nfs/refused-once-control.pcap");
    ASSERT_EQ(got.size(), 2U);
    EXPECT_EQ(got[0]["verdicts"], json::array({"syn_rejected"}));
    EXPECT_EQ(got[1]["verdicts"], json::array({"clean"}));
}

TEST(RefusedStories, AReconnectFromTheSamePortAfterFinIsANewConnection) {
    const auto got = connections_of("pcaps/nfs/rpc-mechanics.pcap");
    ASSERT_EQ(got.size(), 3U);
    EXPECT_EQ(got[0]["client"], "10.244.1.5:886");
    EXPECT_EQ(got[1]["client"], "10.244.1.5:886");
    EXPECT_EQ(got[1]["packets"], 6);
}

TEST(RefusedStories, AHungProxyThatAcceptsIsNotRefused) {
    const auto got = connections_of("pcaps/nfs/nfs-hung-local-proxy.pcap");
    ASSERT_EQ(got.size(), 1U);
    EXPECT_FALSE(has(got[0], "nfs_endpoint_refused"));
}

}  // namespace

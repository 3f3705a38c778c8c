// The scenario captures' connection verdicts, as pcaps/README.md states them: written out here
// by hand (not taken from the golden files), so a regression in the analyzer fails twice.

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "source_dir.h"
#include "vxcheck/app/pipeline.h"

namespace {

using nlohmann::json;

struct Expected {
    std::string client;
    std::string server;
    std::set<std::string> verdicts;
    std::optional<int> pre_nat_sport;
    std::optional<double> delay_s;
    std::string schedule;
};

struct Scenario {
    std::string name;
    std::vector<std::string> files;
    std::vector<Expected> connections;
    std::vector<std::string> hops;  // substrings that must appear in the first connection's hops
};

std::vector<json> run(const std::vector<std::string>& files) {
    std::filesystem::current_path(vxcheck::test::source_dir());
    vxcheck::app::AnalyzeConfig cfg;
    cfg.files = files;
    cfg.json = true;
    cfg.packets = vxcheck::app::PacketSelection::None;
    std::ostringstream out;
    vxcheck::app::run_analyze(cfg, out);
    std::vector<json> connections;
    std::istringstream in(out.str());
    for (std::string line; std::getline(in, line);) {
        json j = json::parse(line);
        if (j["type"] == "connection") {
            connections.push_back(j);
        }
    }
    return connections;
}

class ScenarioTest : public ::testing::TestWithParam<Scenario> {};

TEST_P(ScenarioTest, ConnectionVerdictsAsDocumented) {
    const Scenario& s = GetParam();
    const auto got = run(s.files);
    ASSERT_EQ(got.size(), s.connections.size());
    for (const Expected& e : s.connections) {
        const auto it = std::find_if(got.begin(), got.end(), [&](const json& j) {
            return j["client"] == e.client && j["server"] == e.server;
        });
        ASSERT_NE(it, got.end()) << e.client << " -> " << e.server << " not reported";
        const json& c = *it;
        std::set<std::string> verdicts;
        for (const auto& v : c["verdicts"]) {
            verdicts.insert(v.get<std::string>());
        }
        EXPECT_EQ(verdicts, e.verdicts) << e.client;
        if (e.pre_nat_sport) {
            ASSERT_TRUE(c.contains("corrupted_outer")) << e.client;
            EXPECT_EQ(c["corrupted_outer"][0]["pre_nat_sport"].get<int>(), *e.pre_nat_sport);
        }
        if (e.delay_s) {
            ASSERT_TRUE(c.contains("delay_s")) << e.client;
            EXPECT_NEAR(c["delay_s"].get<double>(), *e.delay_s, 0.01) << e.client;
            EXPECT_EQ(c["schedule"], e.schedule) << e.client;
        } else {
            EXPECT_FALSE(c.contains("delay_s")) << e.client;
        }
    }
    for (const std::string& h : s.hops) {
        const json& hops = got.front()["hops"];
        const bool found = std::any_of(hops.begin(), hops.end(), [&](const json& x) {
            return x["explanation"].get<std::string>().find(h) != std::string::npos;
        });
        EXPECT_TRUE(found) << "no hop mentions '" << h << "': " << hops.dump();
    }
}

const std::set<std::string> kDoubleSnatDelayed{"delayed_connect", "inner_snat", "outer_snat",
                                               "double_snat", "outer_checksum_corrupted"};

INSTANTIATE_TEST_SUITE_P(
    Pcaps, ScenarioTest,
    ::testing::Values(
        Scenario{"variant_a_63s",
                 {"pcaps/scenario-63s-variant-a.pcap"},
                 {{"10.244.1.0:612", "10.244.2.5:2049", kDoubleSnatDelayed, std::nullopt, 63.0,
                   "classic"},
                  {"10.244.1.5:40000", "10.244.2.5:2049", {"clean"}, {}, {}, ""}},
                 {}},
        Scenario{"variant_b",
                 {"pcaps/scenario-variant-b.pcap"},
                 {{"10.244.1.0:12345", "10.244.2.5:2049", kDoubleSnatDelayed, 50000, 1.0,
                   "classic_or_linear"},
                  {"10.244.1.5:40002", "10.244.2.5:2049", {"clean"}, {}, {}, ""}},
                 {}},
        Scenario{"offload_noise",
                 {"pcaps/scenario-offload-noise.pcap"},
                 {{"10.244.1.5:40004", "10.244.2.5:2049", {"clean"}, {}, {}, ""}},
                 {}},
        Scenario{"rst_icmp_silent",
                 {"pcaps/scenario-rst-icmp-silent.pcap"},
                 {{"10.244.1.5:40010", "10.244.2.5:2049", {"syn_rejected"}, {}, {}, ""},
                  {"10.244.1.5:40011", "10.244.2.6:2049", {"syn_rejected"}, {}, {}, ""},
                  {"10.244.1.5:40012", "10.244.2.7:2049", {"syn_dropped"}, {}, {}, ""}},
                 {}},
        Scenario{"flannel1_sll2",
                 {"pcaps/scenario-flannel1-sll2.pcap"},
                 {{"10.244.1.0:613",
                   "10.244.2.5:2049",
                   {"delayed_connect", "inner_snat"},
                   {},
                   63.0,
                   "classic"}},
                 {}},
        Scenario{
            "join_four_points",
            {"pcaps/scenario-join-node-a-flannel1.pcap", "pcaps/scenario-join-node-a-eth0.pcap",
             "pcaps/scenario-join-node-b-eth0.pcap", "pcaps/scenario-join-node-b-flannel1.pcap"},
            {{"10.244.1.0:23456", "10.244.2.5:2049", kDoubleSnatDelayed, 50001, 1.0,
              "classic_or_linear"}},
            {"SYN #1 (+0.000 s): last seen at scenario-join-node-b-eth0, never reached "
             "scenario-join-node-b-flannel1"}},
        // Seen from node-b's flannel.1 alone, the first SYN never arrived: the connection is
        // simply delayed, and nothing there shows the outer NAT.
        Scenario{"join_receiver_flannel1_only",
                 {"pcaps/scenario-join-node-b-flannel1.pcap"},
                 {{"10.244.1.0:23456", "10.244.2.5:2049", {"inner_snat"}, {}, {}, ""}},
                 {}}),
    [](const ::testing::TestParamInfo<Scenario>& p) { return p.param.name; });

}  // namespace

namespace {

// scenario-offload-noise: one data segment is sent again after a 0.21 s RTO (with a new outer
// source port); the same connection's replies come from the other VTEP with its own port.
TEST(ScenarioDetails, RetransmissionsAndReplyPortsPerDirection) {
    const auto got = run({"pcaps/scenario-offload-noise.pcap"});
    ASSERT_EQ(got.size(), 1U);
    EXPECT_EQ(got[0]["retransmissions"]["client"], 1);
    EXPECT_EQ(got[0]["retransmissions"]["server"], 0);
    EXPECT_EQ(got[0]["tunnel"]["outer_sports"], json::parse("[40299, 52817, 35172]"));
    EXPECT_EQ(got[0]["tunnel"]["outer_sports_reply"], json::parse("[43383]"));
}

}  // namespace

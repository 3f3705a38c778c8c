// Real kernel traffic (tools/lab/recorded: the lab's node-to-pod-prefix scenario on Linux 6.18,
// four capture points) against the kernel's own record of what it NATed: conntrack.
// - every connection is a double SNAT with a variant-B outer checksum;
// - the pre-NAT outer source port recovered from the checksum is conntrack's original port;
// - the TCP conntrack entries show that every inner packet was masqueraded to 10.244.1.0.

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>

#include "lab_captures.h"
#include "source_dir.h"

namespace {

using nlohmann::json;
const std::string kDir = "tools/lab/recorded/node-to-pod-prefix-";

std::vector<json> connections() {
    return vxcheck::test::lab_connections({kDir + "node-a-flannel1.pcap", kDir + "node-a-eth0.pcap",
                                           kDir + "node-b-eth0.pcap",
                                           kDir + "node-b-flannel1.pcap"});
}

struct Conntrack {
    std::map<int, int> outer_pre_nat;  // UDP 8472 flows: reply dport (on the wire) -> orig sport
    std::set<std::string> inner_masqueraded;  // TCP: "10.244.1.0:<reply dport>"
};

Conntrack load_conntrack() {
    std::ifstream in(std::string(vxcheck::test::source_dir()) + "/" + kDir + "conntrack.txt");
    const std::regex udp(
        R"(^udp .*src=192\.168\.77\.10 dst=192\.168\.77\.20 sport=(\d+) dport=8472 .*src=192\.168\.77\.20 dst=192\.168\.77\.10 sport=8472 dport=(\d+))");
    const std::regex tcp(
        R"(^tcp .*src=192\.168\.77\.10 dst=10\.96\.0\.10 sport=\d+ dport=2049 src=10\.244\.2\.5 dst=(10\.244\.1\.0) sport=2049 dport=(\d+))");
    Conntrack ct;
    for (std::string line; std::getline(in, line);) {
        std::smatch m;
        if (std::regex_search(line, m, udp)) {
            ct.outer_pre_nat[std::stoi(m[2])] = std::stoi(m[1]);
        } else if (std::regex_search(line, m, tcp)) {
            ct.inner_masqueraded.insert(m[1].str() + ":" + m[2].str());
        }
    }
    return ct;
}

TEST(LabRecording, VerdictsMatchWhatConntrackSaysTheKernelDid) {
    const Conntrack ct = load_conntrack();
    ASSERT_EQ(ct.outer_pre_nat.size(), 3U);
    ASSERT_EQ(ct.inner_masqueraded.size(), 3U);
    const auto conns = connections();
    ASSERT_EQ(conns.size(), 3U);
    for (const json& c : conns) {
        const std::string client = c["client"];
        EXPECT_EQ(ct.inner_masqueraded.count(client), 1U) << client;
        std::set<std::string> verdicts;
        for (const auto& v : c["verdicts"]) {
            verdicts.insert(v.get<std::string>());
        }
        EXPECT_EQ(verdicts, (std::set<std::string>{"inner_snat", "outer_snat", "double_snat",
                                                   "outer_checksum_corrupted"}))
            << client;
        ASSERT_TRUE(c.contains("corrupted_outer")) << client;
        for (const auto& k : c["corrupted_outer"]) {
            EXPECT_EQ(k["variant"], "B") << client;
            const int on_wire = k["sport"];
            ASSERT_EQ(ct.outer_pre_nat.count(on_wire), 1U) << client << " outer sport " << on_wire;
            EXPECT_EQ(k["pre_nat_sport"].get<int>(), ct.outer_pre_nat.at(on_wire)) << client;
        }
        // veth does not verify checksums: the lab's receiver delivered them, and we say so.
        EXPECT_NE(c["explanation"].get<std::string>().find("nevertheless seen decapsulated at "
                                                           "node-to-pod-prefix-node-b-flannel1"),
                  std::string::npos)
            << client;
    }
}

}  // namespace

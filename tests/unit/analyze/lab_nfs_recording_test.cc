// Real NFS clients (tools/lab/recorded: the lab's nfs-clients scenario, libnfs nfs-ls and
// nfs-cat against nfs-ganesha, node-a flannel.1 and eth0) against what the kernel says it did
// (conntrack):
// - healthy NFS traffic fires no RPC or NFS verdict, and every call is answered on its
//   connection, each counted once although two capture points saw it;
// - the connections from node-a's host network through the ClusterIP are the ones conntrack
//   masqueraded, and each is a double SNAT; pod-a's direct connections are clean;
// - the NFSv3 mount's portmapper and MOUNT connections are tracked with --all-ports.
// The RPC counts themselves are held to tshark's by the CTest rpc_tshark_oracle_lab_recording.

#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include "lab_captures.h"
#include "source_dir.h"

namespace {

using nlohmann::json;
const std::string kDir = "tools/lab/recorded/nfs-clients-";

std::vector<json> connections() {
    return vxcheck::test::lab_connections(
        {kDir + "node-a-flannel1.pcap", kDir + "node-a-eth0.pcap"}, true);
}

/// "10.244.1.0:<port>" of every TCP connection conntrack masqueraded from node-a's host network
/// to the ClusterIP's NFS port.
std::set<std::string> masqueraded_clients() {
    std::ifstream in(std::string(vxcheck::test::source_dir()) + "/" + kDir + "conntrack.txt");
    const std::regex tcp(
        R"(^tcp .*src=192\.168\.77\.10 dst=10\.96\.0\.10 sport=\d+ dport=2049 src=10\.244\.2\.5 dst=(10\.244\.1\.0) sport=2049 dport=(\d+))");
    std::set<std::string> out;
    for (std::string line; std::getline(in, line);) {
        std::smatch m;
        if (std::regex_search(line, m, tcp)) {
            out.insert(m[1].str() + ":" + m[2].str());
        }
    }
    return out;
}

std::set<std::string> verdicts(const json& c) {
    std::set<std::string> out;
    for (const auto& v : c["verdicts"]) {
        out.insert(v.get<std::string>());
    }
    return out;
}

TEST(LabNfsRecording, HealthyNfsTrafficHasNoRpcVerdictAndEveryCallIsAnsweredOnce) {
    const auto conns = connections();
    ASSERT_EQ(conns.size(), 12U);  // 4 portmapper, 2 MOUNT, 6 NFS (conntrack has them all)
    std::set<std::string> versions;
    std::uint64_t calls = 0;
    for (const json& c : conns) {
        const std::string client = c["client"];
        for (const std::string& v : verdicts(c)) {
            EXPECT_NE(v.rfind("rpc_", 0), 0U) << client << " " << v;
            EXPECT_NE(v.rfind("nfs_", 0), 0U) << client << " " << v;
        }
        const json& rpc = c["rpc"];
        EXPECT_GT(rpc["calls"].get<int>(), 0) << client;
        EXPECT_EQ(rpc["replies"], rpc["calls"]) << client;
        EXPECT_EQ(rpc["unmatched_call_xids"], 0) << client;
        EXPECT_EQ(rpc["matched_call_xids"], rpc["calls"]) << client;  // one copy of each call
        EXPECT_TRUE(rpc["retransmitted_xids"].empty()) << client;
        EXPECT_TRUE(rpc["errors"].empty()) << client;
        calls += rpc["calls"].get<std::uint64_t>();
        for (const auto& v : rpc["nfs_versions"]) {
            versions.insert(v.get<std::string>());
        }
    }
    EXPECT_EQ(calls, 54U);  // tshark's count over either capture point
    EXPECT_EQ(versions, (std::set<std::string>{"3", "4.0"}));
}

TEST(LabNfsRecording, ClusterIpConnectionsAreDoubleSnatAndPodConnectionsClean) {
    const std::set<std::string> masqueraded = masqueraded_clients();
    ASSERT_EQ(masqueraded.size(), 2U);  // nfs-ls and nfs-cat, NFSv4 through 10.96.0.10
    std::set<std::string> double_snat;
    for (const json& c : connections()) {
        const std::string client = c["client"];
        const std::set<std::string> v = verdicts(c);
        if (v.count("double_snat") != 0) {
            double_snat.insert(client);
        }
        if (client.rfind("10.244.1.5:", 0) == 0) {
            EXPECT_EQ(v, std::set<std::string>{"clean"}) << client;
        }
    }
    EXPECT_EQ(double_snat, masqueraded);
}

}  // namespace

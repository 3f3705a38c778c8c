// The Prometheus metrics of `capture --metrics-listen` (metrics.cc), scraped over HTTP as
// Prometheus would: the RPC series carry the bounded labels of rpc_labels.h, count what the RPC
// analyzer hands over (RpcActivity), and put response times in the histogram's buckets; the
// interface, build and eviction series; no series twice, none of a library's.

#if __has_include(<prometheus/registry.h>)

#include "app/metrics.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

namespace vxcheck::app {
namespace {

std::string scrape(int port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    // A listener that never answers fails the test in 5 s instead of hanging it.
    const timeval timeout{.tv_sec = 5, .tv_usec = 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<std::uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    std::string out;
    if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) {
        const std::string req = "GET /metrics HTTP/1.0\r\nHost: localhost\r\n\r\n";
        (void)::write(fd, req.data(), req.size());
        char buf[4096];
        for (ssize_t n = 0; (n = ::read(fd, buf, sizeof buf)) > 0;) {
            out.append(buf, static_cast<std::size_t>(n));
        }
    }
    ::close(fd);
    return out;
}

TEST(Metrics, RpcSeriesCountTheActivityUnderBoundedLabels) {
    Metrics m("127.0.0.1:0", {"eth0"});
    m.serve();
    analyze::RpcActivity a;
    a.calls.push_back({.prog = 100003, .vers = 4, .proc = 1, .n = 3});
    a.calls.push_back({.prog = 100003, .vers = 4, .proc = 1, .n = 2});  // another connection
    a.calls.push_back({.prog = 424242, .vers = 9, .proc = 77, .n = 1});
    a.errors.push_back(
        {.prog = 100003, .kind = analyze::RpcErrorKind::Nfs4, .code = 10008, .n = 2});
    analyze::RpcActivity::Srt s{.prog = 100003, .vers = 4, .proc = 1};
    s.buckets[analyze::srt_bucket(0.0008)] = 4;  // le 0.001
    s.buckets[analyze::srt_bucket(3.0)] = 1;     // le 5
    s.sum = 3.0032;
    a.srt.push_back(s);
    m.on_rpc(a);
    const std::string text = scrape(m.port());
    const auto has = [&](const std::string& line) {
        return text.find("\n" + line + "\n") != std::string::npos;
    };
    EXPECT_TRUE(has(R"(vxcheck_rpc_calls_total{procedure="COMPOUND",program="NFS",version="4"} 5)"))
        << text;
    EXPECT_TRUE(
        has(R"(vxcheck_rpc_calls_total{procedure="other",program="other",version="other"} 1)"));
    EXPECT_TRUE(has(R"(vxcheck_rpc_errors_total{program="NFS",status="NFS4ERR_DELAY"} 2)"));
    const std::string srt =
        R"(vxcheck_rpc_srt_seconds_bucket{procedure="COMPOUND",program="NFS",version="4",le=)";
    EXPECT_TRUE(has(srt + R"("0.0005"} 0)"));
    EXPECT_TRUE(has(srt + R"("0.001"} 4)"));
    EXPECT_TRUE(has(srt + R"("2.5"} 4)"));
    EXPECT_TRUE(has(srt + R"("5"} 5)"));
    EXPECT_TRUE(has(srt + R"("+Inf"} 5)"));
    EXPECT_TRUE(
        has(R"(vxcheck_rpc_srt_seconds_count{procedure="COMPOUND",program="NFS",version="4"} 5)"));
}

TEST(Metrics, WhatTheMemoryBoundsDroppedIsCountedByStructure) {
    Metrics m("127.0.0.1:0", {"eth0"});
    m.serve();
    analyze::ConnectionStats s;
    s.evicted = 5;
    s.udp_evicted = 3;
    s.vtep_pairs_evicted = 7;
    s.evidence_frames_dropped = 11;
    s.verdict_memory_evicted = 13;
    s.detail_dropped = 17;
    s.rpc_connections_dropped = 19;
    m.set_connection_stats(s);
    s.vtep_pairs_evicted = 9;  // cumulative: the counter adds the difference
    s.evicted = 6;
    m.set_connection_stats(s);
    const std::string text = scrape(m.port());
    const auto has = [&](const std::string& line) {
        return text.find("\n" + line + "\n") != std::string::npos;
    };
    EXPECT_TRUE(has(R"(vxcheck_connections_evicted_total{protocol="tcp"} 6)")) << text;
    EXPECT_TRUE(has(R"(vxcheck_connections_evicted_total{protocol="udp"} 3)"));
    EXPECT_TRUE(has(R"(vxcheck_state_dropped_total{structure="vtep_pairs"} 9)"));
    EXPECT_TRUE(has(R"(vxcheck_state_dropped_total{structure="evidence_frames"} 11)"));
    EXPECT_TRUE(has(R"(vxcheck_state_dropped_total{structure="verdict_memory"} 13)"));
    EXPECT_TRUE(has(R"(vxcheck_state_dropped_total{structure="connection_detail"} 17)"));
    EXPECT_TRUE(has(R"(vxcheck_state_dropped_total{structure="rpc_connections"} 19)"));
    // The evictions are counted once, under their own name.
    EXPECT_EQ(text.find(R"(structure="flows")"), std::string::npos) << text;
}

// The lines of the exposition that are samples (not # HELP / # TYPE), without their values.
std::vector<std::string> series_of(const std::string& text) {
    std::vector<std::string> out;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) {
        if (!line.empty() && line[0] != '#') {
            out.push_back(line.substr(0, line.rfind(' ')));
        }
    }
    return out;
}

TEST(Metrics, InterfacesReportWhetherTheyAreCapturedAndTheirLastFrame) {
    Metrics m("127.0.0.1:0", {"flannel.1", "eth0"});
    const auto has = [&](const std::string& line) {
        return m.text().find("\n" + line + "\n") != std::string::npos;
    };
    EXPECT_TRUE(has(R"(vxcheck_interface_up{interface="eth0"} 1)")) << m.text();
    EXPECT_TRUE(has(R"(vxcheck_last_frame_timestamp_seconds{interface="eth0"} 0)"));
    m.set_interface(1, false, Timestamp{.sec = 1700000000, .nsec = 500000000});
    m.set_tracked_connections(42);
    EXPECT_TRUE(has("vxcheck_frames_out_of_order_total 0"));
    m.set_out_of_order(3);
    m.set_out_of_order(3);  // a cumulative count: no growth, nothing added
    m.set_out_of_order(5);
    EXPECT_TRUE(has("vxcheck_frames_out_of_order_total 5")) << m.text();
    EXPECT_TRUE(has(R"(vxcheck_interface_up{interface="eth0"} 0)")) << m.text();
    EXPECT_TRUE(has(R"(vxcheck_interface_up{interface="flannel.1"} 1)"));
    EXPECT_TRUE(has(R"(vxcheck_last_frame_timestamp_seconds{interface="eth0"} 1700000000.5)"));
    EXPECT_TRUE(has("vxcheck_tracked_connections 42"));
}

TEST(Metrics, EverySeriesIsVxchecksOwnOnceWithAHelpText) {
    Metrics m("127.0.0.1:0", {"eth0"});
    m.on_verdicts({analyze::Verdict::SynDropped});
    const std::string text = m.text();
    EXPECT_TRUE(std::regex_search(
        text,
        std::regex(R"(\nvxcheck_build_info\{compiler="[^"]+",version="\d+\.\d+\.\d+"\} 1\n)")))
        << text;
    EXPECT_NE(text.find("vxcheck_connection_verdicts_total{verdict=\"syn_dropped\"} 1\n"),
              std::string::npos);
    // A SYN drop is one series, not two; the table's size is "tracked", not "open".
    EXPECT_EQ(text.find("vxcheck_syn_dropped_total"), std::string::npos);
    EXPECT_EQ(text.find("vxcheck_open_connections"), std::string::npos);
    std::vector<std::string> series = series_of(text);
    ASSERT_FALSE(series.empty());
    for (const std::string& s : series) {
        EXPECT_EQ(s.rfind("vxcheck_", 0), 0U) << s;  // no library series (exposer_*)
    }
    std::sort(series.begin(), series.end());
    EXPECT_EQ(std::adjacent_find(series.begin(), series.end()), series.end());
    // Every family has a help text that says more than its name.
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) {
        if (line.rfind("# HELP ", 0) == 0) {
            const std::string rest = line.substr(7);
            EXPECT_GT(rest.size() - rest.find(' '), 30U) << line;
        }
    }
}

}  // namespace
}  // namespace vxcheck::app

#endif

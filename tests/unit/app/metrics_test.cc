// The Prometheus metrics of `capture --metrics-listen` (metrics.cc), scraped over HTTP as
// Prometheus would: the RPC series carry the bounded labels of rpc_labels.h, count what the RPC
// analyzer hands over (RpcActivity), and put response times in the histogram's buckets.

#if __has_include(<prometheus/registry.h>)

#include "app/metrics.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>

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
    s.vtep_pairs_evicted = 7;
    s.evidence_frames_dropped = 11;
    s.verdict_memory_evicted = 13;
    m.set_connection_stats(s);
    s.vtep_pairs_evicted = 9;  // cumulative: the counter adds the difference
    m.set_connection_stats(s);
    const std::string text = scrape(m.port());
    const auto has = [&](const std::string& line) {
        return text.find("\n" + line + "\n") != std::string::npos;
    };
    EXPECT_TRUE(has(R"(vxcheck_state_dropped_total{structure="flows"} 5)")) << text;
    EXPECT_TRUE(has(R"(vxcheck_state_dropped_total{structure="vtep_pairs"} 9)"));
    EXPECT_TRUE(has(R"(vxcheck_state_dropped_total{structure="evidence_frames"} 11)"));
    EXPECT_TRUE(has(R"(vxcheck_state_dropped_total{structure="verdict_memory"} 13)"));
}

}  // namespace
}  // namespace vxcheck::app

#endif

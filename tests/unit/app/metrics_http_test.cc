// The metrics listener (metrics_http.h): clients that connect and send nothing hold a slot, not
// the thread, so /metrics is answered while 50 of them idle; --metrics-listen errors name the
// problem.

#if __has_include(<prometheus/registry.h>)  // the listener is built with the metrics only

#include "app/metrics_http.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <stdexcept>
#include <string>
#include <vector>

namespace vxcheck::app {
namespace {

int connect_to(int port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<std::uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    return fd;
}

// GET `path`; the answer read until the server closes, or what came within `timeout_ms`.
std::string get(int port, const std::string& path, int timeout_ms) {
    const int fd = connect_to(port);
    const std::string req = "GET " + path + " HTTP/1.1\r\nHost: x\r\n\r\n";
    EXPECT_EQ(::write(fd, req.data(), req.size()), static_cast<ssize_t>(req.size()));
    std::string out;
    pollfd p{.fd = fd, .events = POLLIN, .revents = 0};
    char buf[4096];
    while (::poll(&p, 1, timeout_ms) == 1) {
        const ssize_t n = ::read(fd, buf, sizeof buf);
        if (n <= 0) {
            break;
        }
        out.append(buf, static_cast<std::size_t>(n));
    }
    ::close(fd);
    return out;
}

std::string error_of(const std::string& listen) {
    try {
        MetricsListener l(listen, [] { return std::string(); });
    } catch (const std::runtime_error& e) {
        return e.what();
    }
    return "";
}

TEST(MetricsListener, AnswersWithinASecondWhileFiftyClientsIdle) {
    MetricsListener l("127.0.0.1:0", [] { return std::string("vxcheck_up 1\n"); });
    l.start();
    std::vector<int> idle;
    for (int i = 0; i < 50; ++i) {
        idle.push_back(connect_to(l.port()));
        if (i % 2 == 1) {
            EXPECT_EQ(::write(idle.back(), "GET /met", 8), 8);  // half a request, never finished
        }
    }
    const auto t0 = std::chrono::steady_clock::now();
    const std::string answer = get(l.port(), "/metrics", 1000);
    EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(1));
    EXPECT_EQ(answer.rfind("HTTP/1.1 200 OK\r\n", 0), 0U) << answer;
    EXPECT_NE(answer.find("\r\n\r\nvxcheck_up 1\n"), std::string::npos) << answer;
    EXPECT_EQ(get(l.port(), "/", 1000).rfind("HTTP/1.1 404", 0), 0U);
    for (const int fd : idle) {
        ::close(fd);
    }
}

TEST(MetricsListener, ErrorsNameTheProblem) {
    MetricsListener busy("127.0.0.1:0", [] { return std::string(); });
    const std::string in_use = "127.0.0.1:" + std::to_string(busy.port());
    EXPECT_EQ(error_of(in_use), "--metrics-listen " + in_use +
                                    ": address already in use (another process listens there)");
    EXPECT_NE(error_of("300.1.2.3:9474").find(": bad address '300.1.2.3'"), std::string::npos);
    EXPECT_NE(error_of("127.0.0.1:99999").find(": bad port '99999'"), std::string::npos);
    EXPECT_NE(error_of("127.0.0.1:").find(": bad port ''"), std::string::npos);
    EXPECT_NE(error_of("[::1:9474").find("expected [IPv6]:PORT"), std::string::npos);
    EXPECT_NE(error_of("10.255.255.254:9474").find(": address not available"), std::string::npos);
}

}  // namespace
}  // namespace vxcheck::app

#endif

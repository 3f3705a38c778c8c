#include "metrics_http.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <vector>

namespace vxcheck::app {
namespace {

using Clock = std::chrono::steady_clock;

struct Address {
    sockaddr_storage addr{};
    socklen_t len = 0;
};

[[noreturn]] void fail(const std::string& listen, const std::string& why) {
    throw std::runtime_error("--metrics-listen " + listen + ": " + why);
}

// "ADDR:PORT", "[IPv6]:PORT" or "PORT"; numeric addresses only, as CivetWeb took them.
Address parse_listen(const std::string& listen) {
    std::string host;
    std::string port = listen;
    if (!listen.empty() && listen.front() == '[') {
        const auto close = listen.find("]:");
        if (close == std::string::npos) {
            fail(listen, "expected [IPv6]:PORT");
        }
        host = listen.substr(1, close - 1);
        port = listen.substr(close + 2);
    } else if (const auto colon = listen.rfind(':'); colon != std::string::npos) {
        host = listen.substr(0, colon);
        port = listen.substr(colon + 1);
    }
    if (port.empty() || port.size() > 5 ||
        !std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; }) ||
        std::stoul(port) > 65535) {
        fail(listen, "bad port '" + port + "' (expected ADDR:PORT, e.g. 0.0.0.0:9474)");
    }
    const auto p = htons(static_cast<std::uint16_t>(std::stoul(port)));
    Address a;
    auto* v4 = reinterpret_cast<sockaddr_in*>(&a.addr);
    auto* v6 = reinterpret_cast<sockaddr_in6*>(&a.addr);
    if (host.empty() || ::inet_pton(AF_INET, host.c_str(), &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = p;
        a.len = sizeof(sockaddr_in);
    } else if (::inet_pton(AF_INET6, host.c_str(), &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = p;
        a.len = sizeof(sockaddr_in6);
    } else {
        fail(listen, "bad address '" + host +
                         "' (expected an IPv4 or IPv6 address, e.g. "
                         "0.0.0.0:9474 or [::]:9474)");
    }
    return a;
}

std::string bind_error(int err, const std::string& listen) {
    switch (err) {
        case EADDRINUSE:
            return "address already in use (another process listens there)";
        case EACCES:
            return "permission denied (ports below 1024 need root or CAP_NET_BIND_SERVICE)";
        case EADDRNOTAVAIL:
            return "address not available (no interface of this host has it)";
        default:
            return std::string("cannot listen: ") + std::strerror(err) + " (" + listen + ")";
    }
}

// The answer to one request: /metrics (GET or HEAD), else 404 or 405.
std::string answer(const std::string& request, const std::function<std::string()>& metrics) {
    const auto line_end = request.find_first_of("\r\n");
    const std::string line = request.substr(0, line_end);
    const auto sp1 = line.find(' ');
    const auto sp2 = line.find(' ', sp1 == std::string::npos ? sp1 : sp1 + 1);
    const std::string method = line.substr(0, sp1);
    const std::string target =
        sp1 == std::string::npos
            ? ""
            : line.substr(sp1 + 1, sp2 == std::string::npos ? sp2 : sp2 - sp1 - 1);
    std::string status = "200 OK";
    std::string body;
    if (method != "GET" && method != "HEAD") {
        status = "405 Method Not Allowed";
    } else if (target != "/metrics" && target.rfind("/metrics?", 0) != 0) {
        status = "404 Not Found";
    } else {
        body = metrics();
    }
    std::string out = "HTTP/1.1 " + status +
                      "\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n"
                      "Content-Length: " +
                      std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n";
    if (method != "HEAD") {
        out += body;
    }
    return out;
}

struct Client {
    int fd = -1;
    Clock::time_point deadline;
    std::string in;
    std::string out;
    std::size_t sent = 0;
    bool writing = false;
};

// Reads the request or writes the answer, as far as the socket allows now; false when the
// client is done with (answered, gone, or asking too much).
bool serve(Client& c, const std::function<std::string()>& metrics) noexcept {
    try {
        if (!c.writing) {
            char buf[2048];
            const ssize_t n = ::recv(c.fd, buf, sizeof buf, MSG_DONTWAIT);
            if (n <= 0) {
                return n < 0 && (errno == EAGAIN || errno == EINTR);
            }
            c.in.append(buf, static_cast<std::size_t>(n));
            if (c.in.find("\r\n\r\n") == std::string::npos &&
                c.in.find("\n\n") == std::string::npos) {
                return c.in.size() <= kMaxRequestBytes;
            }
            c.out = answer(c.in, metrics);
            c.writing = true;
            c.deadline = Clock::now() + kWriteTimeout;
        }
        const ssize_t n =
            ::send(c.fd, c.out.data() + c.sent, c.out.size() - c.sent, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (n < 0) {
            return errno == EAGAIN || errno == EINTR;
        }
        c.sent += static_cast<std::size_t>(n);
        if (c.sent < c.out.size()) {
            return true;
        }
        ::shutdown(c.fd, SHUT_WR);
        return false;
    } catch (const std::exception&) {
        return false;  // no memory for this client's answer: the others go on
    }
}

}  // namespace

MetricsListener::MetricsListener(const std::string& listen,
                                 std::function<std::string()> metrics_text)
    : metrics_text_(std::move(metrics_text)) {
    const Address a = parse_listen(listen);
    listen_fd_ = ::socket(a.addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (listen_fd_ < 0) {
        fail(listen, std::string("cannot open a socket: ") + std::strerror(errno));
    }
    const int one = 1;
    ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (::bind(listen_fd_, reinterpret_cast<const sockaddr*>(&a.addr), a.len) != 0 ||
        ::listen(listen_fd_, 128) != 0) {
        const int err = errno;
        ::close(listen_fd_);
        fail(listen, bind_error(err, listen));
    }
    sockaddr_storage bound{};
    socklen_t len = sizeof bound;
    ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&bound), &len);
    port_ = ntohs(bound.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port
                                              : reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
    if (::pipe2(wake_, O_CLOEXEC | O_NONBLOCK) != 0) {
        ::close(listen_fd_);
        fail(listen, std::string("pipe: ") + std::strerror(errno));
    }
}

MetricsListener::~MetricsListener() {
    if (thread_.joinable()) {
        const char stop = 1;
        (void)!::write(wake_[1], &stop, 1);
        thread_.join();
    }
    ::close(wake_[0]);
    ::close(wake_[1]);
    ::close(listen_fd_);
}

void MetricsListener::start() {
    thread_ = std::thread([this] { run(); });
}

void MetricsListener::run() noexcept {
    std::vector<Client> clients;
    std::vector<pollfd> pfds;
    try {
        clients.reserve(kMaxClients);  // never more: no allocation in the loop but the answers
        pfds.reserve(kMaxClients + 2);
    } catch (const std::exception&) {
        return;
    }
    const auto drop = [&](std::size_t i) {
        ::close(clients[i].fd);
        clients.erase(clients.begin() + static_cast<std::ptrdiff_t>(i));
    };
    for (;;) {
        const auto now = Clock::now();
        for (std::size_t i = clients.size(); i-- > 0;) {
            if (clients[i].deadline <= now) {
                drop(i);  // too slow to ask or to read the answer
            }
        }
        auto wait = std::chrono::milliseconds(1000);
        pfds.assign({{.fd = wake_[0], .events = POLLIN, .revents = 0},
                     {.fd = listen_fd_, .events = POLLIN, .revents = 0}});
        for (const Client& c : clients) {
            const short events = c.writing ? POLLOUT : POLLIN;
            pfds.push_back({.fd = c.fd, .events = events, .revents = 0});
            wait = std::min(wait, std::chrono::ceil<std::chrono::milliseconds>(c.deadline - now));
        }
        if (::poll(pfds.data(), pfds.size(), static_cast<int>(wait.count())) < 0 &&
            errno != EINTR) {
            break;
        }
        if (pfds[0].revents != 0) {
            break;
        }
        // Clients first (their indexes match pfds), then new connections.
        for (std::size_t i = clients.size(); i-- > 0;) {
            if (pfds[i + 2].revents == 0) {
                continue;
            }
            if (!serve(clients[i], metrics_text_)) {
                drop(i);
            }
        }
        if (pfds[1].revents != 0) {
            for (;;) {
                const int fd =
                    ::accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
                if (fd < 0) {
                    break;
                }
                if (clients.size() >= kMaxClients) {
                    drop(0);  // the oldest: a new client always gets its turn
                }
                try {
                    Client c;
                    c.fd = fd;
                    c.deadline = Clock::now() + kRequestTimeout;
                    clients.push_back(std::move(c));
                } catch (const std::exception&) {
                    ::close(fd);
                }
            }
        }
    }
    for (const Client& c : clients) {
        ::close(c.fd);
    }
}

}  // namespace vxcheck::app

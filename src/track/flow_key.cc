#include "vxcheck/track/flow_key.h"

#include <arpa/inet.h>
#include <sys/random.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstring>

namespace vxcheck::track {
namespace {

// 16 bytes from getrandom() (the kernel's CSPRNG; it blocks only before the pool is first
// seeded, at early boot). Should it fail (a kernel without it, a seccomp filter), the key still
// differs per process, from the clock, the pid and where the stack is (address randomisation):
// weaker, but never a fixed key.
SipKey random_key() noexcept {
    std::array<std::uint8_t, 16> bytes{};
    std::size_t got = 0;
    while (got < bytes.size()) {
        const ssize_t n = ::getrandom(bytes.data() + got, bytes.size() - got, 0);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            break;
        }
        got += static_cast<std::size_t>(n);
    }
    SipKey k;
    std::memcpy(&k.k0, bytes.data(), 8);
    std::memcpy(&k.k1, bytes.data() + 8, 8);
    if (got < bytes.size()) {
        const auto now = std::chrono::steady_clock::now().time_since_epoch().count();
        k.k0 ^= static_cast<std::uint64_t>(now) * 0x9e3779b97f4a7c15ULL;
        k.k1 ^= (static_cast<std::uint64_t>(::getpid()) << 32) ^
                reinterpret_cast<std::uintptr_t>(&bytes);
    }
    return k;
}

}  // namespace

namespace detail {
// Dynamic initialisation, before main(): no flow key is hashed by a static initialiser.
SipKey flow_hash_key = random_key();
}  // namespace detail

void set_flow_hash_key(SipKey k) noexcept {
    detail::flow_hash_key = k;
}

// IPv4 by hand: inet_ntop formats it with sprintf, about 1,900 instructions, and a report
// formats each connection's addresses several times (4,000 connections: 20 ms).
std::string ip_to_string(const Endpoint& e) {
    if (!e.v6) {
        char buf[16];  // "255.255.255.255"
        char* p = buf;
        for (std::size_t i = 0; i < 4; ++i) {
            if (i != 0) {
                *p++ = '.';
            }
            p = std::to_chars(p, buf + sizeof buf, e.addr[i]).ptr;
        }
        return {buf, p};
    }
    char buf[INET6_ADDRSTRLEN];
    if (inet_ntop(AF_INET6, e.addr.data(), buf, sizeof buf) == nullptr) {
        return "?";
    }
    return buf;
}

std::string to_string(const Endpoint& e) {
    return e.v6 ? "[" + ip_to_string(e) + "]:" + std::to_string(e.port)
                : ip_to_string(e) + ":" + std::to_string(e.port);
}

}  // namespace vxcheck::track

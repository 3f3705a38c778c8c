#include "vxcheck/track/flow_key.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>

namespace vxcheck::track {
namespace {

// 64-bit mix (splitmix64 finaliser).
constexpr std::uint64_t mix(std::uint64_t x) noexcept {
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    x ^= x >> 31;
    return x;
}

std::uint64_t hash_endpoint(const Endpoint& e) noexcept {
    std::uint64_t a;
    std::uint64_t b;
    std::memcpy(&a, e.addr.data(), 8);
    std::memcpy(&b, e.addr.data() + 8, 8);
    return mix(a ^ mix(b ^ (std::uint64_t{e.port} << 1 | (e.v6 ? 1U : 0U))));
}

}  // namespace

std::string ip_to_string(const Endpoint& e) {
    char buf[INET6_ADDRSTRLEN];
    if (inet_ntop(e.v6 ? AF_INET6 : AF_INET, e.addr.data(), buf, sizeof buf) == nullptr) {
        return "?";
    }
    return buf;
}

std::string to_string(const Endpoint& e) {
    return e.v6 ? "[" + ip_to_string(e) + "]:" + std::to_string(e.port)
                : ip_to_string(e) + ":" + std::to_string(e.port);
}

std::size_t FlowKeyHash::operator()(const FlowKey& k) const noexcept {
    return static_cast<std::size_t>(mix(hash_endpoint(k.lo) ^ (hash_endpoint(k.hi) * 31)));
}

}  // namespace vxcheck::track

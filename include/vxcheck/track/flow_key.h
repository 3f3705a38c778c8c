#pragma once
// Flow identity: the ordered pair of (address, port) endpoints of a TCP connection.
//
// The key is the inner (innermost) 5-tuple without the tunnel context on purpose: the same
// connection is seen at depth 0 on flannel.1 and at depth 1 (inside VXLAN, VNI 1) on eth0, and
// joining capture points needs one key for both. Tunnel context (VNI, outer endpoints, depth)
// is kept in the flow state per capture point instead.

#include <array>
#include <compare>
#include <cstdint>
#include <functional>
#include <string>

#include "vxcheck/decode/packet.h"

namespace vxcheck::track {

struct Endpoint {
    std::array<std::uint8_t, 16> addr{};  // IPv4 in the first 4 bytes
    std::uint16_t port = 0;
    bool v6 = false;

    auto operator<=>(const Endpoint&) const = default;
    bool operator==(const Endpoint&) const = default;

    [[nodiscard]] std::uint32_t ipv4() const noexcept {
        return (std::uint32_t{addr[0]} << 24) | (std::uint32_t{addr[1]} << 16) |
               (std::uint32_t{addr[2]} << 8) | addr[3];
    }
};

/// "10.244.1.0:612" or "[fd00::5]:2049".
std::string to_string(const Endpoint& e);
/// The address alone.
std::string ip_to_string(const Endpoint& e);

/// Endpoints of an IP layer and the L4 ports that follow it.
Endpoint source_of(const decode::Layer& ip, std::uint16_t port) noexcept;
Endpoint destination_of(const decode::Layer& ip, std::uint16_t port) noexcept;

struct FlowKey {
    Endpoint lo;  // lo < hi: both directions map to one key
    Endpoint hi;

    static FlowKey of(const Endpoint& a, const Endpoint& b) noexcept {
        return a < b ? FlowKey{a, b} : FlowKey{b, a};
    }
    bool operator==(const FlowKey&) const = default;
};

struct FlowKeyHash {
    std::size_t operator()(const FlowKey& k) const noexcept;
};

}  // namespace vxcheck::track

#pragma once
// Flow identity: the ordered pair of (address, port) endpoints of a TCP connection.
//
// The key is the inner (innermost) 5-tuple without the tunnel context on purpose: the same
// connection is seen at depth 0 on flannel.1 and at depth 1 (inside VXLAN, VNI 1) on eth0, and
// joining capture points needs one key for both. Tunnel context (VNI, outer endpoints, depth)
// is kept in the flow state per capture point instead.

#include <algorithm>
#include <array>
#include <bit>
#include <compare>
#include <cstdint>
#include <cstring>
#include <functional>
#include <string>

#include "vxcheck/decode/packet.h"
#include "vxcheck/track/siphash.h"

namespace vxcheck::track {

struct Endpoint {
    std::array<std::uint8_t, 16> addr{};  // IPv4 in the first 4 bytes
    std::uint16_t port = 0;
    bool v6 = false;

    /// Sets the address from two native 8-byte words (bytes in memory order).
    void set_addr(std::uint64_t first, std::uint64_t second) noexcept {
        std::memcpy(addr.data(), &first, sizeof first);
        std::memcpy(addr.data() + 8, &second, sizeof second);
    }

    /// Makes this an IPv4 endpoint in place, from the address as a host-order number
    /// (Ipv4Info's src and dst). In place rather than by value: an endpoint built in a
    /// temporary and then copied makes the copy's wide loads wait for the narrow stores that
    /// built it (no store-to-load forwarding), a noticeable cost per packet.
    void set_ipv4(std::uint32_t a, std::uint16_t p) noexcept {
        // Network order in memory, addr[0] the first octet, the other 12 bytes zero.
        const std::uint64_t first = std::endian::native == std::endian::little
                                        ? std::uint64_t{__builtin_bswap32(a)}
                                        : std::uint64_t{a} << 32;
        set_addr(first, 0);
        port = p;
        v6 = false;
    }

    // Member-wise, addr byte by byte, exactly as the defaulted operators; written out because
    // those compare the array with a memcmp call, a noticeable cost per packet (flow lookups).
    [[nodiscard]] bool operator==(const Endpoint& o) const noexcept {
        return addr_word(0) == o.addr_word(0) && addr_word(1) == o.addr_word(1) && port == o.port &&
               v6 == o.v6;
    }
    [[nodiscard]] std::strong_ordering operator<=>(const Endpoint& o) const noexcept {
        // Bytes in lexicographic order = the address read as big-endian numbers.
        for (int i = 0; i < 2; ++i) {
            const std::uint64_t a = addr_be(i);
            const std::uint64_t b = o.addr_be(i);
            if (a != b) {
                return a <=> b;
            }
        }
        if (port != o.port) {
            return port <=> o.port;
        }
        return v6 <=> o.v6;
    }

    [[nodiscard]] std::uint32_t ipv4() const noexcept {
        return (std::uint32_t{addr[0]} << 24) | (std::uint32_t{addr[1]} << 16) |
               (std::uint32_t{addr[2]} << 8) | addr[3];
    }

  private:
    [[nodiscard]] std::uint64_t addr_word(int i) const noexcept {
        std::uint64_t w;
        std::memcpy(&w, addr.data() + 8 * i, sizeof w);
        return w;
    }
    [[nodiscard]] std::uint64_t addr_be(int i) const noexcept {
        const std::uint64_t w = addr_word(i);
        if constexpr (std::endian::native == std::endian::little) {
            return __builtin_bswap64(w);
        } else {
            return w;
        }
    }
};

/// "10.244.1.0:612" or "[fd00::5]:2049".
std::string to_string(const Endpoint& e);
/// The address alone.
std::string ip_to_string(const Endpoint& e);

/// An IPv4 endpoint from the address as a host-order number (Ipv4Info's src and dst).
inline Endpoint ipv4_endpoint(std::uint32_t a, std::uint16_t port) noexcept {
    Endpoint e;
    e.set_ipv4(a, port);
    return e;
}

namespace detail {
inline Endpoint endpoint_of(const decode::Layer& ip, std::uint16_t port, bool source) noexcept {
    if (const auto* v4 = ip.as<decode::Ipv4Info>()) {
        return ipv4_endpoint(source ? v4->src : v4->dst, port);
    }
    Endpoint e;
    e.port = port;
    if (const auto* v6 = ip.as<decode::Ipv6Info>()) {
        const Bytes a = source ? v6->src : v6->dst;
        std::copy_n(a.begin(), std::min<std::size_t>(a.size(), 16), e.addr.begin());
        e.v6 = true;
    }
    return e;
}
}  // namespace detail

/// Endpoints of an IP layer and the L4 ports that follow it.
inline Endpoint source_of(const decode::Layer& ip, std::uint16_t port) noexcept {
    return detail::endpoint_of(ip, port, true);
}
inline Endpoint destination_of(const decode::Layer& ip, std::uint16_t port) noexcept {
    return detail::endpoint_of(ip, port, false);
}

struct FlowKey {
    Endpoint lo;  // lo < hi: both directions map to one key
    Endpoint hi;

    static FlowKey of(const Endpoint& a, const Endpoint& b) noexcept {
        return a < b ? FlowKey{a, b} : FlowKey{b, a};
    }
    bool operator==(const FlowKey&) const = default;
};

namespace detail {
extern SipKey flow_hash_key;  // flow_key.cc: random, drawn before main()
}  // namespace detail

/// The key of every flow hash in this process: 128 random bits from getrandom(), drawn once at
/// start-up, so a hash (and a slot) differs from run to run and cannot be computed outside.
/// Nothing may depend on it but where entries sit in hash tables: reports are ordered by
/// arrival, never by hash.
[[nodiscard]] inline const SipKey& flow_hash_key() noexcept {
    return detail::flow_hash_key;
}

/// Replaces the key, for tests and tools that check that output does not depend on it. Only
/// while no hash table holds a key hashed with the old one.
void set_flow_hash_key(SipKey k) noexcept;

/// SipHash-1-3 of the key's content under flow_hash_key() (issue 22: with a hash anyone can
/// compute, a pod that picks its own source ports fills one probe run of the connection table).
/// Inline and short, as connection tracking hashes every packet's key: two IPv4 endpoints, the
/// usual case, are one 12-byte message (both addresses, both ports: two compression rounds),
/// anything else one of 40 bytes (both 16-byte addresses, the ports, the families); the lengths
/// differ, so no key of one form hashes as a message of the other.
struct FlowKeyHash {
    std::size_t operator()(const FlowKey& k) const noexcept {
        const std::uint64_t lo0 = word(k.lo, 0);
        const std::uint64_t lo1 = word(k.lo, 1);
        const std::uint64_t hi0 = word(k.hi, 0);
        const std::uint64_t hi1 = word(k.hi, 1);
        const std::uint64_t ports = std::uint64_t{k.lo.port} | (std::uint64_t{k.hi.port} << 16) |
                                    (std::uint64_t{k.lo.v6} << 32) | (std::uint64_t{k.hi.v6} << 33);
        if (!k.lo.v6 && !k.hi.v6 && ((lo0 | hi0) & kAfterIpv4) == 0 && (lo1 | hi1) == 0)
            [[likely]] {
            return ipv4_message(ipv4_bits(lo0), ipv4_bits(hi0), ports);
        }
        return static_cast<std::size_t>(
            siphash_words<1, 3>(flow_hash_key(), std::array{lo0, lo1, hi0, hi1, ports}));
    }

    /// The hash of the key of two IPv4 endpoints, lo's and hi's (lo < hi), from the addresses as
    /// host-order numbers: operator() of that key without building and reading it back.
    static std::size_t ipv4(std::uint32_t lo_addr, std::uint16_t lo_port, std::uint32_t hi_addr,
                            std::uint16_t hi_port) noexcept {
        return ipv4_message(wire_bits(lo_addr), wire_bits(hi_addr),
                            std::uint64_t{lo_port} | (std::uint64_t{hi_port} << 16));
    }

  private:
    static std::size_t ipv4_message(std::uint64_t lo, std::uint64_t hi,
                                    std::uint64_t ports) noexcept {
        return static_cast<std::size_t>(
            siphash_words<1, 3>(flow_hash_key(), std::array{lo | (hi << 32)}, ports, 4));
    }
    // What ipv4_bits() reads from an address stored by Endpoint::set_ipv4(a, ...).
    static std::uint64_t wire_bits(std::uint32_t a) noexcept {
        return kLittle ? std::uint64_t{__builtin_bswap32(a)} : std::uint64_t{a};
    }
    // The first 8 address bytes of e as a native word, i = 0, or the last 8, i = 1.
    static std::uint64_t word(const Endpoint& e, std::size_t i) noexcept {
        std::uint64_t w;
        std::memcpy(&w, e.addr.data() + 8 * i, sizeof w);
        return w;
    }
    static constexpr bool kLittle = std::endian::native == std::endian::little;
    // Address bytes 4-7 in a word of bytes 0-7 (zero for an IPv4 endpoint).
    static constexpr std::uint64_t kAfterIpv4 = kLittle ? 0xffffffff00000000ULL : 0xffffffffULL;
    // Address bytes 0-3 of such a word, in the low half (bytes 0-3 of a little-endian message).
    static std::uint64_t ipv4_bits(std::uint64_t w) noexcept {
        return kLittle ? (w & 0xffffffffULL) : (w >> 32);
    }
};

}  // namespace vxcheck::track

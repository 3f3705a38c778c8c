#pragma once
// A hash of two endpoints under a per-process random key, for the bounded tables that traffic
// fills (the VTEP-pair table, live capture's memory of counted verdicts): a key no one outside
// knows, so that no one can aim entries at one chain or make two share a compact key.

#include <cstdint>
#include <cstring>
#include <random>

#include "vxcheck/track/flow_key.h"

namespace vxcheck::analyze {

/// The murmur3 64-bit finaliser.
[[nodiscard]] constexpr std::uint64_t mix64(std::uint64_t x) noexcept {
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    x ^= x >> 33;
    return x;
}

/// A fresh random key (std::random_device), one per table.
[[nodiscard]] inline std::uint64_t random_hash_key() {
    std::random_device rd;
    return (std::uint64_t{rd()} << 32) ^ rd();
}

/// The hash of (a, b) under `key`: every byte of both endpoints (address, port, family).
[[nodiscard]] inline std::uint64_t keyed_pair_hash(std::uint64_t key, const track::Endpoint& a,
                                                   const track::Endpoint& b) noexcept {
    std::uint64_t h = key;
    for (const track::Endpoint* e : {&a, &b}) {
        std::uint64_t w[2];
        std::memcpy(w, e->addr.data(), sizeof w);
        h = mix64(h ^ w[0]);
        h = mix64(h ^ w[1]);
        h = mix64(h ^ (std::uint64_t{e->port} << 1) ^ std::uint64_t{e->v6});
    }
    return h;
}

}  // namespace vxcheck::analyze

#pragma once
// A hash of two endpoints under the process's random flow-hash key (track::flow_hash_key(),
// SipHash-1-3), for the bounded tables that traffic fills (the VTEP-pair table, live capture's
// memory of counted verdicts): a key no one outside knows, so that no one can aim entries at one
// chain or make two share a compact key. The same construction as the flow table's hash.

#include <array>
#include <cstdint>
#include <cstring>

#include "vxcheck/track/flow_key.h"
#include "vxcheck/track/siphash.h"

namespace vxcheck::analyze {

/// The hash of (a, b), with `salt` (a table's own distinction, e.g. the transport), under the
/// flow-hash key: every byte of both endpoints (address, port, family).
[[nodiscard]] inline std::uint64_t keyed_pair_hash(const track::Endpoint& a,
                                                   const track::Endpoint& b,
                                                   std::uint64_t salt = 0) noexcept {
    std::array<std::uint64_t, 5> w{};
    std::memcpy(&w[0], a.addr.data(), 16);
    std::memcpy(&w[2], b.addr.data(), 16);
    w[4] = std::uint64_t{a.port} | (std::uint64_t{b.port} << 16) | (std::uint64_t{a.v6} << 32) |
           (std::uint64_t{b.v6} << 33) | (salt << 34);
    return track::siphash_words<1, 3>(track::flow_hash_key(), w);
}

}  // namespace vxcheck::analyze

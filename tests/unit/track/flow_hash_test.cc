// The keyed flow hash (issue 22, item 3): SipHash as published, the flow key's message as
// flow_key.h states it, and a set of keys chosen to collide under the old unkeyed hash that no
// longer piles up in one probe run of the connection table.

#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <cstring>
#include <set>
#include <vector>

#include "vxcheck/track/flow_key.h"
#include "vxcheck/track/flow_table.h"
#include "vxcheck/track/siphash.h"

namespace vxcheck::track {
namespace {

// The messages of the published vectors: bytes 0, 1, ..., n - 1.
std::vector<std::uint8_t> counting(std::size_t n) {
    std::vector<std::uint8_t> m(n);
    for (std::size_t i = 0; i < n; ++i) {
        m[i] = static_cast<std::uint8_t>(i);
    }
    return m;
}

TEST(SipHash, MatchesThePublishedSipHash24Vectors) {
    // The reference implementation's vectors: key bytes 00..0f, message bytes 00..n-1.
    const SipKey key{.k0 = 0x0706050403020100ULL, .k1 = 0x0f0e0d0c0b0a0908ULL};
    const std::vector<std::pair<std::size_t, std::uint64_t>> vectors = {
        {0, 0x726fdb47dd0e0e31ULL},  {1, 0x74f839c593dc67fdULL},  {7, 0xab0200f58b01d137ULL},
        {8, 0x93f5f5799a932462ULL},  {15, 0xa129ca6149be45e5ULL}, {16, 0x3f2acc7f57c29bdbULL},
        {40, 0x0e3ea96b5304a7d0ULL}, {63, 0x958a324ceb064572ULL},
    };
    for (const auto& [n, expected] : vectors) {
        const std::vector<std::uint8_t> m = counting(n);
        EXPECT_EQ((siphash<2, 4>(key, m.data(), n)), expected) << n << " bytes";
    }
}

TEST(SipHash, MatchesTheReferenceSipHash13WithTheZeroKey) {
    const SipKey zero{};
    const std::vector<std::pair<std::size_t, std::uint64_t>> vectors = {
        {0, 0xd1fba762150c532cULL},  {1, 0x68a914128e01e473ULL},  {7, 0x2f098ab0c751325aULL},
        {8, 0xead411e67ebe2eeaULL},  {15, 0xf30eb725bb91c9eaULL}, {16, 0x8972188433a5c5b7ULL},
        {40, 0x95bc321ab41d8206ULL}, {63, 0x385d3e39e5f37359ULL},
    };
    for (const auto& [n, expected] : vectors) {
        const std::vector<std::uint8_t> m = counting(n);
        EXPECT_EQ((siphash<1, 3>(zero, m.data(), n)), expected) << n << " bytes";
    }
}

TEST(SipHash, WordsAreTheSameFunctionAsTheirLittleEndianBytes) {
    const SipKey key{.k0 = 0x0123456789abcdefULL, .k1 = 0xfedcba9876543210ULL};
    const std::array<std::uint64_t, 5> w{0x1122334455667788ULL, 0, ~0ULL, 0x8000000000000001ULL,
                                         0xa1b2c3};
    std::array<std::uint8_t, 40> bytes{};
    for (std::size_t i = 0; i < 40; ++i) {
        bytes[i] = static_cast<std::uint8_t>(w[i / 8] >> (8 * (i % 8)));
    }
    EXPECT_EQ((siphash_words<1, 3>(key, w)), (siphash<1, 3>(key, bytes.data(), 40)));
    EXPECT_EQ((siphash_words<2, 4>(key, w)), (siphash<2, 4>(key, bytes.data(), 40)));
    // Four words and a tail of 3 bytes: 35 bytes.
    const std::array<std::uint64_t, 4> four{w[0], w[1], w[2], w[3]};
    const std::uint64_t tail = w[4] & 0xffffffU;
    EXPECT_EQ((siphash_words<1, 3>(key, four, tail, 3)), (siphash<1, 3>(key, bytes.data(), 35)));
}

// The message appended to `out` as the little-endian bytes of a number.
void append(std::vector<std::uint8_t>& out, std::uint64_t v, std::size_t bytes) {
    for (std::size_t i = 0; i < bytes; ++i) {
        out.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
    }
}

TEST(FlowKeyHash, IsSipHash13OfTheKeysContentUnderTheProcessKey) {
    const FlowKey v4 =
        FlowKey::of(ipv4_endpoint(0x0af40105U, 40001), ipv4_endpoint(0x0a60000aU, 2049));
    // Two IPv4 endpoints: the addresses' bytes in order, lo then hi, then the ports.
    std::vector<std::uint8_t> m(v4.lo.addr.begin(), v4.lo.addr.begin() + 4);
    m.insert(m.end(), v4.hi.addr.begin(), v4.hi.addr.begin() + 4);
    append(m, v4.lo.port, 2);
    append(m, v4.hi.port, 2);
    EXPECT_EQ(FlowKeyHash{}(v4), (siphash<1, 3>(flow_hash_key(), m.data(), m.size())));

    FlowKey v6 = v4;
    v6.hi.v6 = true;
    v6.hi.addr[15] = 1;
    // Anything else: both whole addresses, the ports and the family bits.
    m.assign(v6.lo.addr.begin(), v6.lo.addr.end());
    m.insert(m.end(), v6.hi.addr.begin(), v6.hi.addr.end());
    append(m, v6.lo.port | (std::uint64_t{v6.hi.port} << 16) | (std::uint64_t{1} << 33), 8);
    EXPECT_EQ(FlowKeyHash{}(v6), (siphash<1, 3>(flow_hash_key(), m.data(), m.size())));
}

TEST(FlowKeyHash, ChangesWithTheKey) {
    const SipKey saved = flow_hash_key();
    const FlowKey k =
        FlowKey::of(ipv4_endpoint(0x0af40105U, 40001), ipv4_endpoint(0x0a60000aU, 2049));
    set_flow_hash_key({.k0 = 1, .k1 = 2});
    const std::size_t a = FlowKeyHash{}(k);
    set_flow_hash_key({.k0 = 1, .k1 = 3});
    const std::size_t b = FlowKeyHash{}(k);
    set_flow_hash_key(saved);
    EXPECT_NE(a, b);
}

// The flow hash of main before issue 22: unkeyed, so anyone can search for colliding keys.
std::uint64_t unkeyed_hash(const FlowKey& k) {
    const auto word = [](const Endpoint& e, std::size_t i) {
        std::uint64_t w;
        std::memcpy(&w, e.addr.data() + 8 * i, sizeof w);
        return w;
    };
    std::uint64_t x = (word(k.lo, 0) * 0x9e3779b97f4a7c15ULL) ^
                      (word(k.lo, 1) * 0xc2b2ae3d27d4eb4fULL) ^
                      (word(k.hi, 0) * 0x165667b19e3779f9ULL) ^
                      (word(k.hi, 1) * 0xd6e8feb86659fd93ULL) ^ (std::uint64_t{k.lo.port} << 48) ^
                      (std::uint64_t{k.hi.port} << 32) ^ (k.lo.v6 ? 2U : 0U) ^ (k.hi.v6 ? 1U : 0U);
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    x ^= x >> 31;
    return x;
}

struct Value {
    FlowKey key;
    bool live = false;
    Value* older = nullptr;
    Value* newer = nullptr;
};

TEST(FlowKeyHash, KeysBuiltToCollideUnderTheUnkeyedHashSpreadOut) {
    // What an attacker does in a pod: clients' source ports (and a few addresses) to one NFS
    // server, kept when the unkeyed hash puts them in home slot 0 of a table of 4096 slots
    // (the table holds 1000 keys in 2048 slots; the home slot is the hash's bits 32 and up).
    constexpr std::size_t kKeys = 1000;
    constexpr std::uint64_t kSlotBits = 2048 - 1;
    const Endpoint server = ipv4_endpoint(0x0a60000aU, 2049);
    std::vector<FlowKey> chosen;
    for (std::uint32_t host = 0; chosen.size() < kKeys && host < 1024; ++host) {
        for (std::uint32_t port = 1024; port < 65536 && chosen.size() < kKeys; ++port) {
            const FlowKey k = FlowKey::of(
                ipv4_endpoint(0x0af40000U + host, static_cast<std::uint16_t>(port)), server);
            if (((unkeyed_hash(k) >> 32) & kSlotBits) == 0) {
                chosen.push_back(k);
            }
        }
    }
    ASSERT_EQ(chosen.size(), kKeys);

    FlowTable<Value> t;
    std::set<std::uint64_t> homes;
    for (const FlowKey& k : chosen) {
        const std::uint64_t h = FlowTable<Value>::hash(k);
        homes.insert((h >> 32) & kSlotBits);
        t.insert(k, h);
    }
    // Random homes for 1000 keys in 2048 slots: about 790 distinct, the longest run some tens.
    // Under the unkeyed hash: one home, and a run of 1000 (every lookup walks it).
    EXPECT_GT(homes.size(), 600U);
    EXPECT_LT(t.longest_probe(), 100U);
    for (const FlowKey& k : chosen) {
        ASSERT_NE(t.find(k), nullptr);
    }
}

}  // namespace
}  // namespace vxcheck::track

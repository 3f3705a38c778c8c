// Two bounded structures of the RPC analysis: the response-time accumulator (exact for a few
// calls, a log histogram within 4.4% beyond) and the cross-connection table of recent entries
// (lookups by tag, least recently used eviction in a full group) and its call keys.

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <utility>
#include <vector>

#include "analyze/rpc_state.h"
#include "vxcheck/track/flow_key.h"

namespace vxcheck::analyze {
namespace {

using rpc_state::SrtAcc;

void add(SrtAcc& a, double s) {
    rpc_state::add_response_time(a, s, rpc_state::srt_log_bucket(s));
    a.min = a.count == 0 ? s : std::min(a.min, s);
    a.max = a.count == 0 ? s : std::max(a.max, s);
    ++a.count;
}

TEST(RpcResponseTimes, AFewCallsGiveTheExactMedianAndP99) {
    SrtAcc a;
    for (double s : {0.004, 0.001, 0.003, 0.002}) {
        add(a, s);
    }
    const RpcLatency l = rpc_state::latency(a);
    EXPECT_EQ(l.count, 4U);
    EXPECT_DOUBLE_EQ(l.min, 0.001);
    EXPECT_DOUBLE_EQ(l.median, 0.0025);  // the mean of the middle two
    EXPECT_DOUBLE_EQ(l.p99, 0.004);
    EXPECT_DOUBLE_EQ(l.max, 0.004);
}

TEST(RpcResponseTimes, ManyCallsGiveQuantilesWithinTheBucketWidth) {
    SrtAcc a;
    for (int i = 1; i <= 1000; ++i) {  // 1 ms ... 1 s, in an order that is not sorted
        add(a, ((i * 379) % 1000 + 1) * 1e-3);
    }
    const RpcLatency l = rpc_state::latency(a);
    EXPECT_EQ(l.count, 1000U);
    EXPECT_DOUBLE_EQ(l.min, 0.001);
    EXPECT_DOUBLE_EQ(l.max, 1.0);
    EXPECT_NEAR(l.median, 0.5005, 0.5005 * 0.045);  // exact: (500 + 501) / 2 ms
    EXPECT_NEAR(l.p99, 0.990, 0.990 * 0.045);       // exact: the 990th
}

TEST(RpcResponseTimes, AFullBucketHalvesTheHistogramAndKeepsItsShape) {
    SrtAcc a;
    for (int i = 0; i < 300000; ++i) {  // more than a 16-bit bucket holds
        add(a, i % 4 == 3 ? 0.1 : 0.001);
    }
    const RpcLatency l = rpc_state::latency(a);
    EXPECT_EQ(l.count, 300000U);
    EXPECT_NEAR(l.median, 0.001, 0.001 * 0.045);
    EXPECT_NEAR(l.p99, 0.1, 0.1 * 0.045);
}

TEST(RpcResponseTimes, ExtremeValuesStayWithinMinAndMax) {
    SrtAcc a;
    for (int i = 0; i < 100; ++i) {
        add(a, i % 4 == 0 ? 9000.0 : 0.0);  // below the first bucket, beyond the last
    }
    const RpcLatency l = rpc_state::latency(a);
    EXPECT_LT(l.median, 2e-6) << "a zero reads as the first bucket, at least min";
    EXPECT_GE(l.median, 0.0);
    EXPECT_DOUBLE_EQ(l.p99, 9000.0) << "the open last bucket reads as max";
}

TEST(RpcResponseTimes, TheLowestAndHighestRankAreMinAndMax) {
    SrtAcc a;
    for (int i = 0; i < 40; ++i) {  // beyond the exact ones; p99 of 40 is the 40th
        add(a, 0.001 + i * 0.0001);
    }
    const RpcLatency l = rpc_state::latency(a);
    EXPECT_DOUBLE_EQ(l.p99, a.max);
    EXPECT_NEAR(l.median, 0.00295, 0.00295 * 0.045);
}

using Key = std::array<std::uint8_t, 4>;

TEST(RpcRecentTable, FindsWhatItHoldsAndEvictsTheLeastRecentlyUsed) {
    rpc_state::RecentTable<Key, int> t(8);  // one group: every key competes for its 8 slots
    EXPECT_EQ(t.find(Key{0, 0, 0, 1}), nullptr);
    bool inserted = false;
    for (std::uint8_t i = 0; i < 8; ++i) {
        t.upsert(Key{0, 0, 0, i}, inserted) = i;
        EXPECT_TRUE(inserted);
    }
    t.prefetch(Key{0, 0, 0, 0});
    EXPECT_EQ(t.upsert(Key{0, 0, 0, 0}, inserted), 0);  // used again: now the most recent
    EXPECT_FALSE(inserted);
    t.upsert(Key{0, 0, 0, 8}, inserted) = 8;
    EXPECT_TRUE(inserted);
    EXPECT_EQ(t.evicted(), 1U);
    EXPECT_EQ(t.size(), 8U);
    EXPECT_EQ(t.find(Key{0, 0, 0, 1}), nullptr) << "the least recently used one went";
    ASSERT_NE(t.find(Key{0, 0, 0, 0}), nullptr);
    EXPECT_EQ(*t.find(Key{0, 0, 0, 0}), 0);
    for (std::uint8_t i = 2; i <= 8; ++i) {
        ASSERT_NE(t.find(Key{0, 0, 0, i}), nullptr) << int{i};
        EXPECT_EQ(*t.find(Key{0, 0, 0, i}), i);
    }
}

TEST(RpcRecentTable, ManyGroupsHoldTheirCapacity) {
    rpc_state::RecentTable<Key, std::uint32_t> t(1024);
    bool inserted = false;
    for (std::uint32_t i = 0; i < 512; ++i) {  // half full: a keyed hash leaves few groups full
        t.upsert(Key{0, 0, static_cast<std::uint8_t>(i >> 8), static_cast<std::uint8_t>(i)},
                 inserted) = i;
    }
    std::uint32_t found = 0;
    for (std::uint32_t i = 0; i < 512; ++i) {
        const auto* v =
            t.find(Key{0, 0, static_cast<std::uint8_t>(i >> 8), static_cast<std::uint8_t>(i)});
        if (v != nullptr) {
            EXPECT_EQ(*v, i);
            ++found;
        }
    }
    EXPECT_EQ(found + t.evicted(), 512U);
    EXPECT_EQ(t.size(), found);
}

// The table starts with a few groups and grows with use; it must find and forget what a table
// taken whole at the start would. The reference here is that table: kWays slots per group of
// capacity / kWays, a key's group the low bits of its hash, a new key in a full group taking the
// least recently used slot. Keys are drawn from a range a little larger than the capacity, with
// repeats, so the table grows to its capacity and then evicts.
TEST(RpcRecentTable, GrowsWithUseAndKeepsWhatAFullSizeTableKeeps) {
    constexpr std::size_t kCapacity = 1024;
    constexpr std::size_t kWays = rpc_state::RecentTable<Key, std::uint32_t>::kWays;
    constexpr std::size_t kGroups = kCapacity / kWays;
    struct RefSlot {
        Key key{};
        std::uint32_t value = 0;
        std::uint64_t used = 0;
    };
    std::vector<std::vector<RefSlot>> ref(kGroups);
    std::uint64_t ref_evicted = 0;
    std::uint64_t now = 0;
    const auto ref_find = [&](const Key& k) -> RefSlot* {
        for (RefSlot& s : ref[rpc_state::hash_of(k) & (kGroups - 1)]) {
            if (s.key == k) {
                return &s;
            }
        }
        return nullptr;
    };
    const auto key_of = [](std::uint32_t i) {
        return Key{0, static_cast<std::uint8_t>(i >> 16), static_cast<std::uint8_t>(i >> 8),
                   static_cast<std::uint8_t>(i)};
    };

    rpc_state::RecentTable<Key, std::uint32_t> t(kCapacity);
    std::uint32_t x = 12345;  // a fixed linear congruential sequence of keys
    constexpr std::uint32_t kKeys = kCapacity * 5 / 4;
    for (std::uint32_t step = 0; step < 8 * kCapacity; ++step) {
        x = x * 1664525U + 1013904223U;
        const Key k = key_of((x >> 8) % kKeys);
        ++now;
        bool inserted = false;
        std::uint32_t& v = t.upsert(k, inserted);
        RefSlot* r = ref_find(k);
        ASSERT_EQ(inserted, r == nullptr) << "step " << step;
        if (r == nullptr) {
            auto& g = ref[rpc_state::hash_of(k) & (kGroups - 1)];
            if (g.size() < kWays) {
                g.push_back({});
                r = &g.back();
            } else {
                r = &*std::min_element(g.begin(), g.end(), [](const RefSlot& a, const RefSlot& b) {
                    return a.used < b.used;
                });
                ++ref_evicted;
            }
            *r = RefSlot{.key = k, .value = step, .used = now};
            v = step;
        } else {
            ASSERT_EQ(v, r->value) << "step " << step;
            r->used = now;
        }
        ASSERT_EQ(t.evicted(), ref_evicted) << "step " << step;
        if (step % 256 == 0 || step + 1 == 8 * kCapacity) {  // every key, now and then
            for (std::uint32_t i = 0; i < kKeys; ++i) {
                const std::uint32_t* found = t.find(key_of(i));
                const RefSlot* want = ref_find(key_of(i));
                ASSERT_EQ(found != nullptr, want != nullptr) << "key " << i << ", step " << step;
                if (found != nullptr) {
                    EXPECT_EQ(*found, want->value);
                }
            }
        }
    }
    std::size_t held = 0;
    for (const auto& g : ref) {
        held += g.size();
    }
    EXPECT_EQ(t.size(), held);
    EXPECT_GT(ref_evicted, 0U) << "the keys must outgrow the table for the test to mean much";
}

track::Endpoint v4(std::uint8_t last, std::uint16_t port) {
    track::Endpoint e;
    e.addr[10] = 0xff;
    e.addr[11] = 0xff;
    e.addr[12] = 10;
    e.addr[15] = last;
    e.port = port;
    return e;
}

// Which calls a full table forgets decides what the report matches and counts: it must not
// depend on the process's random flow-hash key, or the same capture gives another report in
// another run. Two keys, the same calls into a small table (so that groups overflow): the same
// calls forgotten, and the same count.
TEST(RpcRecentTable, ForgetsTheSameCallsWhateverTheProcessKey) {
    using Impl = RpcAnalyzer::Impl;
    const auto forgotten_under = [](track::SipKey process_key) {
        const track::SipKey saved = track::flow_hash_key();
        track::set_flow_hash_key(process_key);
        Impl::Conn c;
        Impl::set_endpoints(c, v4(1, 700), v4(2, 2049));
        rpc_state::RecentTable<rpc_state::CallKey, std::uint32_t> t(64);
        bool inserted = false;
        for (std::uint32_t xid = 0; xid < 400; ++xid) {
            t.upsert(Impl::call_key(c, true, xid * 7919U, 100003, 4, 1), inserted) = xid;
        }
        std::vector<std::uint32_t> kept;
        for (std::uint32_t xid = 0; xid < 400; ++xid) {
            if (t.find(Impl::call_key(c, true, xid * 7919U, 100003, 4, 1)) != nullptr) {
                kept.push_back(xid);
            }
        }
        track::set_flow_hash_key(saved);
        return std::pair{t.evicted(), kept};
    };
    const auto a = forgotten_under({.k0 = 1, .k1 = 2});
    const auto b = forgotten_under({.k0 = 0x0123456789abcdefULL, .k1 = 0xfedcba9876543210ULL});
    EXPECT_EQ(a.first, 400U - a.second.size());
    EXPECT_EQ(a.first, b.first);
    EXPECT_EQ(a.second, b.second);
}

// The cross-connection tables key a call by the client's address and the server's ip:port: a
// resend on a new connection (a new source port) has the key, and the hash, of the first copy.
TEST(RpcCallKey, ACallFromAnotherSourcePortOfTheClientHasTheSameKey) {
    using Impl = RpcAnalyzer::Impl;
    Impl::Conn a;
    Impl::Conn b;
    Impl::set_endpoints(a, v4(1, 700), v4(2, 2049));
    Impl::set_endpoints(b, v4(1, 701), v4(2, 2049));
    const rpc_state::CallKey ka = Impl::call_key(a, true, 0x1234, 100003, 4, 1);
    const rpc_state::CallKey kb = Impl::call_key(b, true, 0x1234, 100003, 4, 1);
    EXPECT_EQ(ka, kb);
    EXPECT_EQ(rpc_state::hash_of(ka), rpc_state::hash_of(kb));
}

// Every field of the key takes part in its hash (a collision here has odds of 2^-64).
TEST(RpcCallKey, EveryFieldChangesTheHash) {
    using Impl = RpcAnalyzer::Impl;
    Impl::Conn c;
    Impl::set_endpoints(c, v4(1, 700), v4(2, 2049));
    const rpc_state::CallKey base = Impl::call_key(c, true, 0x1234, 100003, 4, 1);
    const std::array others{Impl::call_key(c, false, 0x1234, 100003, 4, 1),
                            Impl::call_key(c, true, 0x1235, 100003, 4, 1),
                            Impl::call_key(c, true, 0x1234, 100005, 4, 1),
                            Impl::call_key(c, true, 0x1234, 100003, 3, 1),
                            Impl::call_key(c, true, 0x1234, 100003, 4, 0)};
    for (const rpc_state::CallKey& k : others) {
        EXPECT_NE(k.hash, base.hash);
        EXPECT_FALSE(k == base);
    }
    Impl::Conn other_server;
    Impl::set_endpoints(other_server, v4(1, 700), v4(2, 2050));
    const rpc_state::CallKey k = Impl::call_key(other_server, true, 0x1234, 100003, 4, 1);
    EXPECT_NE(k.hash, base.hash);
    EXPECT_FALSE(k == base);
}

}  // namespace
}  // namespace vxcheck::analyze

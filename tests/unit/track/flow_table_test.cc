// The flow table as a unit: open addressing with backward-shift deletion over stable values.

#include "vxcheck/track/flow_table.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <set>
#include <vector>

namespace vxcheck::track {
namespace {

struct Value {
    FlowKey key;
    bool live = false;
    Value* older = nullptr;
    Value* newer = nullptr;
    std::uint64_t n = 0;
    std::vector<int> owned;
};

FlowKey key_of(std::uint32_t i) {
    return FlowKey::of(ipv4_endpoint(0x0af40000U + i, static_cast<std::uint16_t>(40000 + i % 997)),
                       ipv4_endpoint(0x0a60000aU, 2049));
}

TEST(TrackFlowTable, InsertedKeysAreFoundThroughGrowth) {
    FlowTable<Value> t;
    constexpr std::uint32_t kN = 5000;  // grows from 1024 slots several times
    std::vector<Value*> where;
    for (std::uint32_t i = 0; i < kN; ++i) {
        const FlowKey k = key_of(i);
        ASSERT_EQ(t.find(k), nullptr);
        Value& v = t.insert(k, FlowTable<Value>::hash(k));
        v.n = i;
        where.push_back(&v);
    }
    EXPECT_EQ(t.size(), kN);
    for (std::uint32_t i = 0; i < kN; ++i) {
        Value* v = t.find(key_of(i));
        ASSERT_NE(v, nullptr);
        EXPECT_EQ(v, where[i]) << "values never move";
        EXPECT_EQ(v->n, i);
        EXPECT_TRUE(v->live);
    }
}

TEST(TrackFlowTable, EraseInTheMiddleOfProbeRunsKeepsTheOthersFindable) {
    FlowTable<Value> t;
    constexpr std::uint32_t kN = 3000;
    for (std::uint32_t i = 0; i < kN; ++i) {
        t.insert(key_of(i), FlowTable<Value>::hash(key_of(i))).n = i;
    }
    for (std::uint32_t i = 0; i < kN; i += 3) {
        t.erase(*t.find(key_of(i)));
    }
    for (std::uint32_t i = 0; i < kN; ++i) {
        Value* v = t.find(key_of(i));
        if (i % 3 == 0) {
            EXPECT_EQ(v, nullptr) << i;
        } else {
            ASSERT_NE(v, nullptr) << i;
            EXPECT_EQ(v->n, i);
        }
    }
    EXPECT_EQ(t.size(), kN - (kN + 2) / 3);
}

TEST(TrackFlowTable, ErasedValuesAreResetAndReused) {
    FlowTable<Value> t;
    Value& a = t.insert(key_of(1), FlowTable<Value>::hash(key_of(1)));
    a.n = 7;
    a.owned.assign(100, 1);
    const std::size_t index = t.index_of(a);
    t.erase(a);
    EXPECT_FALSE(a.live);
    EXPECT_TRUE(a.owned.empty());
    Value& b = t.insert(key_of(2), FlowTable<Value>::hash(key_of(2)));
    EXPECT_EQ(&a, &b);
    EXPECT_EQ(b.n, 0U);
    EXPECT_EQ(t.index_of(b), index);
    EXPECT_EQ(t.capacity(), 1U);
}

TEST(TrackFlowTable, IndexOfIsStableAndDistinct) {
    FlowTable<Value> t;
    std::set<std::size_t> seen;
    for (std::uint32_t i = 0; i < 20000; ++i) {  // more than one 2 MiB block
        const std::size_t idx = t.index_of(t.insert(key_of(i), FlowTable<Value>::hash(key_of(i))));
        EXPECT_LT(idx, t.capacity());
        EXPECT_TRUE(seen.insert(idx).second);
    }
}

// The store starts small and grows geometrically up to 2 MiB blocks: a run with few
// connections maps a few KiB for them, and each value keeps its address and its index.
template <typename V>
void check_store_growth(std::size_t n) {
    FlowStore<V> s;
    std::vector<const V*> addresses;
    for (std::size_t i = 0; i < n; ++i) {
        addresses.push_back(&s.emplace_back());
        ASSERT_EQ(reinterpret_cast<std::uintptr_t>(addresses.back()) % alignof(V), 0U) << i;
        if (i == 0) {
            EXPECT_LE(s.reserved() * sizeof(V), std::size_t{16384});
        }
        // Geometric growth: the room left is never more than what is used, beyond the first
        // block, and never more than one 2 MiB block.
        EXPECT_LE(s.reserved() - s.size(), std::max<std::size_t>(s.size(), 16384 / sizeof(V)));
        EXPECT_LE((s.reserved() - s.size()) * sizeof(V), std::size_t{2} << 20);
    }
    std::set<const V*> distinct(addresses.begin(), addresses.end());
    EXPECT_EQ(distinct.size(), n);
    for (std::size_t i = 0; i < n; ++i) {
        ASSERT_EQ(&s[i], addresses[i]) << i;
        ASSERT_EQ(s.index_of(*addresses[i]), i) << i;
    }
}

struct alignas(64) Line {
    std::uint64_t a[4] = {};
};

TEST(TrackFlowStore, GrowsFromASmallBlockAndKeepsAddressesAndIndices) {
    check_store_growth<Value>(70000);  // past the growing blocks and into several 2 MiB ones
    check_store_growth<Line>(40000);   // 64-byte aligned values, 32768 in a 2 MiB block
}

TEST(TrackFlowTable, ForEachVisitsLiveValuesOnly) {
    FlowTable<Value> t;
    for (std::uint32_t i = 0; i < 10; ++i) {
        t.insert(key_of(i), FlowTable<Value>::hash(key_of(i)));
    }
    t.erase(*t.find(key_of(4)));
    std::size_t n = 0;
    t.for_each([&](Value& v) {
        EXPECT_FALSE(v.key == key_of(4));
        ++n;
    });
    EXPECT_EQ(n, 9U);
    t.clear();
    EXPECT_EQ(t.size(), 0U);
    EXPECT_EQ(t.find(key_of(1)), nullptr);
}

TEST(TrackFlowTable, PrefetchChangesNothing) {
    FlowTable<Value> t;
    const FlowKey k = key_of(3);
    t.prefetch(FlowTable<Value>::hash(k));  // an empty slot
    t.insert(k, FlowTable<Value>::hash(k));
    t.prefetch(FlowTable<Value>::hash(k));
    t.prefetch_slot(FlowTable<Value>::hash(k));
    EXPECT_EQ(t.size(), 1U);
    EXPECT_NE(t.find(k), nullptr);
}

// The queue through the values: insertion order, requeue() to the newest end, erase() from
// anywhere, clear() empties it.
std::vector<std::uint64_t> queue_of(const FlowTable<Value>& t) {
    std::vector<std::uint64_t> out;
    for (const Value* v = t.oldest(); v != nullptr; v = v->newer) {
        out.push_back(v->n);
    }
    return out;
}

TEST(TrackFlowTable, QueueKeepsInsertionOrderThroughRequeueAndErase) {
    FlowTable<Value> t;
    for (std::uint32_t i = 0; i < 5; ++i) {
        t.insert(key_of(i), FlowTable<Value>::hash(key_of(i))).n = i;
    }
    EXPECT_EQ(queue_of(t), (std::vector<std::uint64_t>{0, 1, 2, 3, 4}));
    t.requeue(*t.find(key_of(1)));
    t.requeue(*t.find(key_of(0)));
    t.requeue(*t.find(key_of(0)));  // already the newest
    EXPECT_EQ(queue_of(t), (std::vector<std::uint64_t>{2, 3, 4, 1, 0}));
    t.erase(*t.find(key_of(4)));  // the middle
    t.erase(*t.find(key_of(2)));  // the oldest
    t.erase(*t.find(key_of(0)));  // the newest
    EXPECT_EQ(queue_of(t), (std::vector<std::uint64_t>{3, 1}));
    t.insert(key_of(7), FlowTable<Value>::hash(key_of(7))).n = 7;  // reuses an erased value
    EXPECT_EQ(queue_of(t), (std::vector<std::uint64_t>{3, 1, 7}));
    // Backwards too: older links mirror newer ones.
    std::vector<std::uint64_t> back;
    for (const Value* v = t.find(key_of(7)); v != nullptr; v = v->older) {
        back.push_back(v->n);
    }
    EXPECT_EQ(back, (std::vector<std::uint64_t>{7, 1, 3}));
    t.clear();
    EXPECT_EQ(t.oldest(), nullptr);
    t.insert(key_of(9), FlowTable<Value>::hash(key_of(9))).n = 9;
    EXPECT_EQ(queue_of(t), (std::vector<std::uint64_t>{9}));
}

}  // namespace
}  // namespace vxcheck::track

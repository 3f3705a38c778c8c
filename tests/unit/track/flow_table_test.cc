// The flow table as a unit: open addressing with backward-shift deletion over stable values.

#include "vxcheck/track/flow_table.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <set>
#include <vector>

namespace vxcheck::track {
namespace {

struct Value {
    FlowKey key;
    bool live = false;
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

}  // namespace
}  // namespace vxcheck::track

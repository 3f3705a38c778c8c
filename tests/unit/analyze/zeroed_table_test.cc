// GrowingDirectTable (src/analyze/zeroed_table.h): a direct-mapped table kept in fewer slots
// must read and write exactly as the whole table (a ZeroedTable of its size) does.

#include "analyze/zeroed_table.h"

#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>

namespace vxcheck::analyze {
namespace {

struct Item {
    std::uint32_t key = 0;  // 0: never written
    std::uint32_t value = 0;
};

// The slot of a key: a mixing of its bits, as the NAT join's tables take theirs.
std::size_t home_of(std::uint32_t key) {
    return static_cast<std::size_t>((std::uint64_t{key} * 0x9E3779B97F4A7C15ULL) >> 32);
}

struct ItemSlots {
    static bool occupied(const Item& i) noexcept { return i.key != 0; }
    static std::size_t home(const Item& i) noexcept { return home_of(i.key); }
};

// A stream of keys, each written to its slot when the slot holds another key (the direct-mapped
// tables' overwrite), and every slot read now and then, in both tables.
TEST(GrowingDirectTable, ReadsAndWritesAsTheWholeTable) {
    constexpr std::size_t kSize = 1024;
    ZeroedTable<Item> whole;
    whole.assign_zero(kSize);
    GrowingDirectTable<Item, ItemSlots> grown;
    grown.assign_zero(kSize, 4);
    EXPECT_EQ(grown.size(), kSize);
    EXPECT_EQ(grown.kept(), 4U);

    std::uint32_t x = 777;  // a fixed linear congruential sequence
    for (std::uint32_t step = 1; step <= 6000; ++step) {
        x = x * 1664525U + 1013904223U;
        const std::uint32_t key = 1 + (x >> 8) % 3000;
        const std::size_t slot = home_of(key) & (kSize - 1);
        Item& w = whole[slot];
        Item& g = grown.at(slot);
        ASSERT_EQ(g.key, w.key) << "step " << step;
        ASSERT_EQ(g.value, w.value) << "step " << step;
        if (w.key != key) {
            w = Item{.key = key, .value = step};
            g = Item{.key = key, .value = step};
        }
        if (step % 500 == 0) {
            for (std::size_t i = 0; i < kSize; ++i) {
                ASSERT_EQ(grown.at(i).key, whole[i].key) << "slot " << i << ", step " << step;
                ASSERT_EQ(grown.at(i).value, whole[i].value) << "slot " << i << ", step " << step;
            }
        }
    }
    EXPECT_EQ(grown.kept(), kSize) << "3000 keys in 1024 slots: every slot is kept by now";
}

// A few entries keep a few slots: what the table exists for.
TEST(GrowingDirectTable, AFewEntriesKeepAFewSlots) {
    constexpr std::size_t kSize = std::size_t{1} << 20;
    GrowingDirectTable<Item, ItemSlots> t;
    t.assign_zero(kSize, 64);
    for (std::uint32_t key = 1; key <= 3; ++key) {
        t.at(home_of(key) & (kSize - 1)) = Item{.key = key, .value = key};
    }
    for (std::uint32_t key = 1; key <= 3; ++key) {
        const Item& i = t.at(home_of(key) & (kSize - 1));
        EXPECT_EQ(i.key, key);
        EXPECT_EQ(i.value, key);
    }
    EXPECT_LT(t.kept(), kSize / 16);
}

}  // namespace
}  // namespace vxcheck::analyze

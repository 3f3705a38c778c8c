// PackedVec: the one-pointer vector of a connection's lists (src/analyze/packed_vec.h) keeps
// std::vector's meaning for the operations the analysis uses, and its growth under the state
// budget (room_for_one) is the one std::vector had.

#include "analyze/packed_vec.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "vxcheck/analyze/budget.h"

namespace vxcheck::analyze {
namespace {

// Counts the live objects, so that a leak or a double destruction shows.
struct Counted {
    static inline int live = 0;
    std::string text;  // owns heap memory when long: a move that copies bytes would still pass
    explicit Counted(std::string t) : text(std::move(t)) { ++live; }
    Counted(const Counted& o) : text(o.text) { ++live; }
    Counted(Counted&& o) noexcept : text(std::move(o.text)) { ++live; }
    Counted& operator=(const Counted&) = default;
    Counted& operator=(Counted&&) noexcept = default;
    ~Counted() { --live; }
};

std::string long_text(int i) {
    return std::string(40, 'a') + std::to_string(i);
}

TEST(AnalyzePackedVec, AnEmptyOneIsOnePointerAndAllocatesNothing) {
    static_assert(sizeof(PackedVec<Counted>) == sizeof(void*));
    const PackedVec<Counted> v;
    EXPECT_TRUE(v.empty());
    EXPECT_EQ(v.size(), 0U);
    EXPECT_EQ(v.capacity(), 0U);
    EXPECT_EQ(v.begin(), v.end());
}

TEST(AnalyzePackedVec, KeepsElementsInOrderThroughGrowthEraseAndPop) {
    {
        PackedVec<Counted> v;
        std::vector<std::string> expect;
        for (int i = 0; i < 20; ++i) {
            v.emplace_back(long_text(i));
            expect.push_back(long_text(i));
            EXPECT_GE(v.capacity(), v.size());
        }
        EXPECT_EQ(Counted::live, 20);
        v.erase(v.begin());  // as attempt_for() drops the oldest attempt
        expect.erase(expect.begin());
        v.pop_back();
        expect.pop_back();
        ASSERT_EQ(v.size(), expect.size());
        for (std::size_t i = 0; i < v.size(); ++i) {
            EXPECT_EQ(v[i].text, expect[i]);
        }
        EXPECT_EQ(v.front().text, expect.front());
        EXPECT_EQ(v.back().text, expect.back());
        EXPECT_EQ(v.rbegin()->text, expect.back());
        EXPECT_EQ(Counted::live, 18);

        PackedVec<Counted> moved = std::move(v);
        EXPECT_TRUE(v.empty());  // NOLINT(bugprone-use-after-move): moved-from is empty
        EXPECT_EQ(moved.size(), 18U);
        const std::size_t capacity = moved.capacity();
        moved.clear();
        EXPECT_EQ(Counted::live, 0);
        EXPECT_EQ(moved.capacity(), capacity);  // clear() keeps the block, as std::vector's
        moved.push_back(Counted(long_text(99)));
        EXPECT_EQ(moved.front().text, long_text(99));
    }
    EXPECT_EQ(Counted::live, 0);
}

// The state budget charges a list as it grows: the capacity doubles from 1 up to the cap, as it
// did for the std::vector the list was, so the bytes charged are the same.
TEST(AnalyzePackedVec, GrowsUnderTheBudgetAsStdVectorDid) {
    PackedVec<std::uint64_t> packed;
    std::vector<std::uint64_t> plain;
    ByteBudget budget_packed;
    ByteBudget budget_plain;
    std::size_t charged_packed = 0;
    std::size_t charged_plain = 0;
    constexpr std::size_t kMax = 24;
    for (std::uint64_t i = 0; i < kMax; ++i) {
        ASSERT_TRUE(room_for_one(packed, kMax, budget_packed, charged_packed));
        ASSERT_TRUE(room_for_one(plain, kMax, budget_plain, charged_plain));
        packed.push_back(i);
        plain.push_back(i);
        EXPECT_EQ(packed.capacity(), plain.capacity()) << i;
        EXPECT_EQ(charged_packed, charged_plain) << i;
    }
    EXPECT_EQ(packed.capacity(), kMax);
    EXPECT_EQ(budget_packed.used(), kMax * sizeof(std::uint64_t));
    EXPECT_EQ(std::vector<std::uint64_t>(packed.begin(), packed.end()), plain);
}

}  // namespace
}  // namespace vxcheck::analyze

#include "app/time_order.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <deque>
#include <random>
#include <utility>
#include <vector>

#include "order_time.h"

namespace vxcheck::app {
namespace {

using order_test::at_ms;
using order_test::kMs;

// A frame whose bytes are `len` copies of `tag`.
struct Made {
    std::vector<std::uint8_t> bytes;
    RawFrame frame;
};

Made made(std::int64_t ts_ms, std::uint8_t tag, std::size_t len = 60) {
    Made m;
    m.bytes.assign(len, tag);
    m.frame.ts = at_ms(ts_ms);
    m.frame.caplen = static_cast<std::uint32_t>(len);
    m.frame.wirelen = static_cast<std::uint32_t>(len + 4);
    m.frame.number = tag;
    m.frame.link = LinkType::LinuxSll2;
    m.frame.csum_not_ready = (tag & 1) != 0;
    m.frame.data = Bytes(m.bytes.data(), m.bytes.size());
    return m;
}

// What was handed on: (point, tag), and every frame's bytes and fields checked against its tag.
struct Out {
    std::vector<std::pair<std::size_t, std::uint8_t>> got;
    void operator()(std::size_t point, const RawFrame& f) {
        ASSERT_GT(f.caplen, 0U);
        const std::uint8_t tag = f.data[0];
        for (const std::uint8_t b : f.data) {
            ASSERT_EQ(b, tag);
        }
        EXPECT_EQ(f.number, tag);
        EXPECT_EQ(f.wirelen, f.caplen + 4);
        EXPECT_EQ(f.link, LinkType::LinuxSll2);
        EXPECT_EQ(f.csum_not_ready, (tag & 1) != 0);
        got.emplace_back(point, tag);
    }
};

using Got = std::vector<std::pair<std::size_t, std::uint8_t>>;

// A read round at `ms` that reads nothing.
void empty_round(TimeOrder& order, std::int64_t ms, Out& out) {
    order.begin_round(at_ms(ms));
    order.end_round(at_ms(ms), out);
}

TEST(TimeOrder, AReplyReadBeforeItsCallGoesOnAfterIt) {
    TimeOrder order(2, {});
    Out out;
    order.begin_round(at_ms(100));
    // eth0 (point 1) is read first and has the reply; flannel.1 (point 0) has the call.
    const Made reply = made(12, 2);
    const Made call = made(10, 1);
    order.hold(1, reply.frame, at_ms(100), out);
    order.hold(0, call.frame, at_ms(100), out);
    EXPECT_TRUE(out.got.empty());
    order.end_round(at_ms(100), out);
    EXPECT_EQ(out.got, (Got{{0, 1}, {1, 2}}));
    EXPECT_EQ(order.late(), 0U);
    EXPECT_TRUE(order.empty());
}

TEST(TimeOrder, AFrameInsideTheHoldWaitsForTheNextRound) {
    TimeOrder order(2, {.hold_ns = 20 * kMs});
    Out out;
    order.begin_round(at_ms(100));
    const Made early = made(79, 1);
    const Made recent = made(81, 2);
    order.hold(0, recent.frame, at_ms(100), out);
    order.hold(1, early.frame, at_ms(100), out);
    order.end_round(at_ms(100), out);
    EXPECT_EQ(out.got, (Got{{1, 1}}));  // 81 ms is within 20 ms of the round's start
    EXPECT_EQ(order.held(), 1U);
    empty_round(order, 102, out);
    EXPECT_EQ(out.got, (Got{{1, 1}, {0, 2}}));
}

TEST(TimeOrder, AnUnfinishedBatchHoldsWhatIsStampedAfterItsLastFrame) {
    TimeOrder order(2, {.hold_ns = 20 * kMs});
    Out out;
    order.begin_round(at_ms(1000));
    const Made a = made(10, 1);
    const Made b = made(11, 3);
    const Made c = made(12, 5);
    order.hold(0, a.frame, at_ms(1000), out);
    order.hold(1, b.frame, at_ms(1000), out);
    order.hold(1, c.frame, at_ms(1000), out);
    // Point 0's socket may still hold frames stamped from 10 ms on.
    order.unfinished(0);
    order.end_round(at_ms(1000), out);
    EXPECT_EQ(out.got, (Got{{0, 1}}));
    empty_round(order, 1001, out);
    EXPECT_EQ(out.got, (Got{{0, 1}, {1, 3}, {1, 5}}));
}

TEST(TimeOrder, AStampAheadOfTheClockGoesOnAfterTheLongestHold) {
    TimeOrder order(2, {.hold_ns = 20 * kMs, .max_hold_ns = 1000 * kMs});
    Out out;
    order.begin_round(at_ms(100));
    const Made ahead = made(60'000, 1);
    const Made now = made(50, 2);
    order.hold(0, ahead.frame, at_ms(100), out);
    order.hold(1, now.frame, at_ms(100), out);
    order.end_round(at_ms(100), out);
    EXPECT_EQ(out.got, (Got{{1, 2}}));
    empty_round(order, 1000, out);
    EXPECT_EQ(out.got.size(), 1U);
    empty_round(order, 1101, out);
    EXPECT_EQ(out.got, (Got{{1, 2}, {0, 1}}));
}

TEST(TimeOrder, AFrameReadAfterALaterOneWentOnIsCountedLate) {
    TimeOrder order(2, {.hold_ns = 20 * kMs});
    Out out;
    order.begin_round(at_ms(100));
    const Made first = made(50, 1);
    order.hold(0, first.frame, at_ms(100), out);
    order.end_round(at_ms(100), out);
    order.begin_round(at_ms(200));
    const Made old = made(40, 2);
    order.hold(1, old.frame, at_ms(200), out);
    order.end_round(at_ms(200), out);
    EXPECT_EQ(out.got, (Got{{0, 1}, {1, 2}}));
    EXPECT_EQ(order.late(), 1U);
}

TEST(TimeOrder, AFullRingHandsOnTheEarliestFramesFirst) {
    // Room for about three 60-byte frames with their headers.
    TimeOrder order(2, {.ring_bytes = 400, .hold_ns = 20 * kMs});
    Out out;
    order.begin_round(at_ms(0));
    std::vector<Made> frames;
    frames.push_back(made(1, 10));
    frames.push_back(made(2, 20));
    frames.push_back(made(3, 30));
    frames.push_back(made(4, 40));
    const Made other = made(0, 99);
    order.hold(1, other.frame, at_ms(0), out);
    for (const Made& m : frames) {
        order.hold(0, m.frame, at_ms(0), out);
    }
    // The fourth frame needed room: the earliest frames of every ring went on.
    ASSERT_GE(out.got.size(), 2U);
    EXPECT_EQ(out.got[0], (std::pair<std::size_t, std::uint8_t>{1, 99}));
    EXPECT_EQ(out.got[1], (std::pair<std::size_t, std::uint8_t>{0, 10}));
    order.flush(out);
    Got want{{1, 99}, {0, 10}, {0, 20}, {0, 30}, {0, 40}};
    EXPECT_EQ(out.got, want);
    EXPECT_EQ(order.late(), 0U);
}

TEST(TimeOrder, AFrameLargerThanTheRingGoesOnAtOnce) {
    TimeOrder order(1, {.ring_bytes = 256});
    Out out;
    order.begin_round(at_ms(0));
    const Made small = made(1, 1);
    const Made big = made(2, 2, 1000);
    order.hold(0, small.frame, at_ms(0), out);
    order.hold(0, big.frame, at_ms(0), out);
    EXPECT_EQ(out.got, (Got{{0, 1}, {0, 2}}));
    EXPECT_TRUE(order.empty());
}

// The ring against a plain FIFO: frames of random sizes, stored and taken in random turns, wrap
// round the buffer many times and come out whole and in order.
TEST(TimeOrder, TheRingKeepsEveryFrameWholeAcrossWraps) {
    TimeOrder order(1, {.ring_bytes = 4096, .hold_ns = 0});
    std::mt19937 rng(7);
    std::deque<std::uint8_t> model;
    std::vector<Made> live;
    Out out;
    std::size_t taken = 0;
    auto release = [&](std::size_t p, const RawFrame& f) {
        out(p, f);
        ASSERT_FALSE(model.empty());
        EXPECT_EQ(f.data[0], model.front());
        EXPECT_EQ(f.caplen, live[f.number].bytes.size());
        model.pop_front();
        ++taken;
    };
    live.reserve(256);
    std::int64_t ts = 0;
    for (int step = 0; step < 20000; ++step) {
        if (rng() % 3 != 0) {
            const auto tag = static_cast<std::uint8_t>(step % 256);
            live.resize(std::max<std::size_t>(live.size(), std::size_t{tag} + 1));
            live[tag] = made(ts++, tag, 1 + rng() % 900);
            model.push_back(tag);
            order.begin_round(at_ms(ts - 1));
            order.hold(0, live[tag].frame, at_ms(0), release);
            // Taken out before the frame with the same tag is made again.
            while (model.size() > 200) {
                order.flush(release);
            }
        } else {
            order.begin_round(at_ms(ts));
            order.end_round(at_ms(0), release);
        }
        EXPECT_EQ(order.held(), model.size());
    }
    order.flush(release);
    EXPECT_TRUE(model.empty());
    EXPECT_EQ(order.late(), 0U);
}

}  // namespace
}  // namespace vxcheck::app

#include "app/file_order.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "app/time_order.h"
#include "order_time.h"

namespace vxcheck::app {
namespace {

using order_test::at_ms;

// One frame of a file: its interface, stamp and length; its bytes are its written index's low
// byte, repeated.
struct Written {
    std::uint32_t interface = 0;
    std::int64_t ms = 0;
    std::size_t len = 60;
};

// A file's frames as written. Each frame is copied into one buffer that the next read
// overwrites, as a file reader's buffer is: a frame used after the next read shows other bytes.
class FakeFile final : public capture::Source {
  public:
    FakeFile(std::vector<Written> frames, std::uint32_t interfaces,
             capture::ReadStatus end = capture::ReadStatus::End)
        : frames_(std::move(frames)), interfaces_(interfaces), end_(end), buffer_(65536) {}

    capture::ReadStatus next(RawFrame& frame) noexcept override {
        if (read_ == frames_.size()) {
            return end_;
        }
        const Written& w = frames_[read_];
        std::fill_n(buffer_.begin(), w.len, static_cast<std::uint8_t>(read_));
        frame = RawFrame{};
        frame.ts = at_ms(w.ms);
        frame.caplen = static_cast<std::uint32_t>(w.len);
        frame.wirelen = static_cast<std::uint32_t>(w.len + 4);
        frame.number = ++read_;
        frame.interface = w.interface;
        frame.link = LinkType::Ethernet;
        frame.data = Bytes(buffer_.data(), w.len);
        return capture::ReadStatus::Frame;
    }
    [[nodiscard]] const std::string& error() const noexcept override { return error_; }
    [[nodiscard]] const std::string& link_name() const noexcept override { return link_; }
    [[nodiscard]] std::uint64_t position() const noexcept override { return read_; }
    [[nodiscard]] std::uint64_t size() const noexcept override { return frames_.size(); }
    [[nodiscard]] std::uint32_t interface_count() const override { return interfaces_; }

    // Frames read so far, and the latest stamp among them.
    [[nodiscard]] std::size_t read() const noexcept { return read_; }
    [[nodiscard]] const std::uint8_t* buffer() const noexcept { return buffer_.data(); }

  private:
    std::vector<Written> frames_;
    std::uint32_t interfaces_;
    capture::ReadStatus end_;
    std::vector<std::uint8_t> buffer_;
    std::size_t read_ = 0;
    std::string error_ = "f.pcapng: cut short";
    std::string link_ = "EN10MB";
};

// A frame handed on: its written number, and the frames the file had given when it came.
struct Given {
    std::uint64_t number = 0;
    std::size_t read_before = 0;
};

struct Outcome {
    std::vector<Given> given;
    capture::ReadStatus end = capture::ReadStatus::Frame;
    std::uint64_t late = 0;
};

// Reads `frames` through a FileOrder to the end, checking every frame's fields and bytes.
Outcome read_all(const std::vector<Written>& frames, std::uint32_t interfaces,
                 FileOrder::Limits limits = {},
                 capture::ReadStatus end = capture::ReadStatus::End) {
    auto file = std::make_unique<FakeFile>(frames, interfaces, end);
    FakeFile* inner = file.get();
    FileOrder order("f.pcapng", std::move(file), limits);
    Outcome run;
    RawFrame f;
    while ((run.end = order.next(f)) == capture::ReadStatus::Frame) {
        EXPECT_GE(f.number, 1U);
        EXPECT_LE(f.number, frames.size());
        if (f.number < 1 || f.number > frames.size()) {
            break;
        }
        const Written& w = frames[f.number - 1];
        EXPECT_EQ(f.interface, w.interface);
        EXPECT_EQ(f.ts, at_ms(w.ms));
        EXPECT_EQ(f.caplen, w.len);
        EXPECT_EQ(f.wirelen, w.len + 4);
        EXPECT_EQ(f.data.size(), w.len);
        const auto tag = static_cast<std::uint8_t>(f.number - 1);
        EXPECT_TRUE(
            std::all_of(f.data.begin(), f.data.end(), [tag](std::uint8_t b) { return b == tag; }))
            << "frame " << f.number;
        run.given.push_back({f.number, inner->read()});
    }
    run.late = order.late();
    return run;
}

std::vector<std::uint64_t> numbers(const Outcome& run) {
    std::vector<std::uint64_t> n;
    for (const Given& g : run.given) {
        n.push_back(g.number);
    }
    return n;
}

TEST(FileOrder, InterfacesWrittenOutOfTimeOrderComeInTimeOrder) {
    // dumpcap read flannel.1 (interface 1) before eth0 (0): the reply on eth0 at 25 ms is
    // written after the call on flannel.1 at 30 ms.
    const std::vector<Written> frames{{1, 10}, {1, 20}, {1, 30}, {0, 5}, {0, 15}, {0, 25}};
    const Outcome run = read_all(frames, 2);
    EXPECT_EQ(numbers(run), (std::vector<std::uint64_t>{4, 1, 5, 2, 6, 3}));
    EXPECT_EQ(run.end, capture::ReadStatus::End);
    EXPECT_EQ(run.late, 0U);
}

TEST(FileOrder, EqualStampsKeepTheWrittenOrder) {
    const std::vector<Written> frames{{1, 10}, {0, 10}, {1, 10}, {0, 10}, {0, 20}, {1, 20}};
    const Outcome run = read_all(frames, 2);
    EXPECT_EQ(numbers(run), (std::vector<std::uint64_t>{1, 2, 3, 4, 5, 6}));
}

TEST(FileOrder, AFrameGoesOnOnceEveryInterfaceHasShownALaterOne) {
    // Both interfaces busy: a frame waits only for the other interface's next frame.
    const std::vector<Written> frames{{0, 0}, {1, 1}, {0, 2}, {1, 3}, {0, 4}, {1, 5}};
    const Outcome run = read_all(frames, 2);
    ASSERT_EQ(run.given.size(), 6U);
    for (std::size_t i = 0; i + 1 < run.given.size(); ++i) {
        EXPECT_EQ(run.given[i].number, i + 1);
        EXPECT_EQ(run.given[i].read_before, i + 2) << "frame " << i + 1;
    }
}

TEST(FileOrder, OneInterfaceIsGivenAsWrittenWithoutACopy) {
    auto file = std::make_unique<FakeFile>(std::vector<Written>{{0, 30}, {0, 10}, {0, 20}}, 1);
    const FakeFile* inner = file.get();
    FileOrder order("f.pcapng", std::move(file), {});
    RawFrame f;
    for (std::uint64_t n = 1; n <= 3; ++n) {
        ASSERT_EQ(order.next(f), capture::ReadStatus::Frame);
        EXPECT_EQ(f.number, n);
        EXPECT_EQ(f.data.data(), inner->buffer());
    }
    EXPECT_EQ(order.next(f), capture::ReadStatus::End);
    EXPECT_EQ(order.late(), 0U);
}

TEST(FileOrder, AQuietInterfaceHoldsTheOthersBackForTheWindowOnly) {
    // flannel.1 (1) shows one frame, then nothing; eth0 (0) a frame every 100 ms for 3 s. A
    // quiet interface may still have a frame to come, written late: each of eth0's frames
    // waits until one stamped a window (1 s) later has been read, and no longer.
    std::vector<Written> frames{{1, 0}};
    for (std::int64_t ms = 0; ms <= 3000; ms += 100) {
        frames.push_back({0, ms});
    }
    const Outcome run = read_all(frames, 2);
    ASSERT_EQ(run.given.size(), frames.size());
    for (const Given& g : run.given) {
        const Written& w = frames[g.number - 1];
        const std::int64_t ms = w.ms;
        const std::int64_t last_read_ms = frames[g.read_before - 1].ms;
        if (w.interface == 0 && ms > 0 && ms + 1000 <= 3000) {
            EXPECT_EQ(last_read_ms, ms + 1000) << "frame " << g.number;
        }
    }
    EXPECT_EQ(run.late, 0U);
}

TEST(FileOrder, AFrameWrittenLaterThanTheWindowIsCountedLateAndKept) {
    std::vector<Written> frames{{1, 0}};
    for (std::int64_t ms = 0; ms <= 3000; ms += 100) {
        frames.push_back({0, ms});
    }
    frames.push_back({1, 500});  // written 2.5 s after eth0's frame stamped 3 s
    frames.push_back({1, 3100});
    const Outcome run = read_all(frames, 2);
    std::vector<std::uint64_t> got = numbers(run);
    EXPECT_EQ(run.late, 1U);
    std::sort(got.begin(), got.end());
    std::vector<std::uint64_t> all(frames.size());
    for (std::size_t i = 0; i < all.size(); ++i) {
        all[i] = i + 1;
    }
    EXPECT_EQ(got, all);
}

TEST(FileOrder, TheEndGivesWhatIsHeldThenTheFilesStatus) {
    const Outcome run =
        read_all({{1, 10}, {1, 20}, {0, 5}, {0, 15}}, 2, {}, capture::ReadStatus::Error);
    EXPECT_EQ(numbers(run), (std::vector<std::uint64_t>{3, 1, 4, 2}));
    EXPECT_EQ(run.end, capture::ReadStatus::Error);
}

TEST(FileOrder, AFullRingGivesTheEarliestFirstAndLosesNothing) {
    // Rings of 1 KiB hold a few frames each: the earliest go on early, in time order still.
    std::vector<Written> frames;
    for (std::int64_t ms = 0; ms < 400; ms += 2) {
        frames.push_back({1, ms + 1, 200});
    }
    for (std::int64_t ms = 0; ms < 400; ms += 2) {
        frames.push_back({0, ms, 200});
    }
    const Outcome run = read_all(frames, 2, {.ring_bytes = 1024});
    ASSERT_EQ(run.given.size(), frames.size());
    std::uint64_t behind = 0;  // frames given after a later-stamped one
    std::int64_t latest = -1;
    for (const Given& g : run.given) {
        const std::int64_t ms = frames[g.number - 1].ms;
        behind += ms < latest ? 1 : 0;
        latest = std::max(latest, ms);
    }
    EXPECT_EQ(behind, run.late);
    EXPECT_GT(run.late, 0U);  // interface 1's frames had to go before eth0's were read
}

TEST(FileOrder, AFrameLargerThanItsRingGoesOnAfterWhatIsHeldBeforeIt) {
    // It cannot wait: what is held and stamped before it goes first, then the frame itself.
    const Outcome run =
        read_all({{1, 10}, {0, 5}, {1, 30, 3000}, {1, 50}, {0, 40}}, 2, {.ring_bytes = 1024});
    EXPECT_EQ(numbers(run), (std::vector<std::uint64_t>{2, 1, 3, 5, 4}));
    EXPECT_EQ(run.late, 0U);
}

TEST(FileOrder, InterfacesBeyondTheLimitLeaveTheWrittenOrder) {
    const Outcome run =
        read_all({{1, 10}, {0, 5}, {0, 8}, {3, 1}, {0, 2}, {1, 1}}, 4, {.max_interfaces = 3});
    // Held until interface 3 shows up: the two held go first, the rest as written.
    EXPECT_EQ(numbers(run), (std::vector<std::uint64_t>{2, 3, 1, 4, 5, 6}));
}

TEST(FileOrder, ReadRoundsOfRandomInterfacesComeOutSorted) {
    // Three interfaces, each in time order, written in read rounds (each round takes every
    // interface's frames stamped since the last, the interfaces in a random order) at random
    // intervals below the window, with random lengths: the frames come out sorted by stamp,
    // equal stamps in the written order, none late.
    std::mt19937 rng(11);
    for (int trial = 0; trial < 20; ++trial) {
        std::vector<std::tuple<std::int64_t, std::uint32_t, std::size_t>> stamped;
        for (std::uint32_t i = 0; i < 3; ++i) {
            std::int64_t ms = 0;
            const int n = 50 + static_cast<int>(rng() % 200);
            for (int k = 0; k < n; ++k) {
                ms += static_cast<std::int64_t>(rng() % 30);
                stamped.emplace_back(ms, i, 1 + rng() % 1500);
            }
        }
        std::sort(stamped.begin(), stamped.end());
        std::vector<Written> frames;
        std::size_t at = 0;
        for (std::int64_t round = 0; at < stamped.size();) {
            round += 1 + static_cast<std::int64_t>(rng() % 900);
            std::vector<std::uint32_t> turn{0, 1, 2};
            std::shuffle(turn.begin(), turn.end(), rng);
            std::size_t end = at;
            while (end < stamped.size() && std::get<0>(stamped[end]) <= round) {
                ++end;
            }
            for (const std::uint32_t i : turn) {
                for (std::size_t k = at; k < end; ++k) {
                    if (std::get<1>(stamped[k]) == i) {
                        frames.push_back({i, std::get<0>(stamped[k]), std::get<2>(stamped[k])});
                    }
                }
            }
            at = end;
        }
        const Outcome run = read_all(frames, 3, {.ring_bytes = std::size_t{1} << 20});
        ASSERT_EQ(run.given.size(), frames.size());
        std::vector<std::uint64_t> expected(frames.size());
        for (std::size_t i = 0; i < expected.size(); ++i) {
            expected[i] = i + 1;
        }
        std::stable_sort(expected.begin(), expected.end(), [&](std::uint64_t a, std::uint64_t b) {
            return frames[a - 1].ms < frames[b - 1].ms;
        });
        EXPECT_EQ(numbers(run), expected) << "trial " << trial;
        EXPECT_EQ(run.late, 0U);
    }
}

TEST(FileOrder, OnlyAPcapngFileIsWrapped) {
    auto classic = std::make_unique<FakeFile>(std::vector<Written>{{0, 1}}, 0);
    const capture::Source* raw = classic.get();
    EXPECT_EQ(in_time_order("f.pcap", std::move(classic)).get(), raw);
    auto pcapng = std::make_unique<FakeFile>(std::vector<Written>{{0, 1}}, 2);
    const capture::Source* inner = pcapng.get();
    const auto wrapped = in_time_order("f.pcapng", std::move(pcapng));
    EXPECT_NE(wrapped.get(), inner);
    EXPECT_EQ(wrapped->link_name(), "EN10MB");
    EXPECT_EQ(wrapped->interface_count(), 2U);
    // More interfaces than are put in time order: the file is taken as written, whole.
    const std::uint32_t many = FileOrder::Limits{}.max_interfaces + 1;
    auto crowded = std::make_unique<FakeFile>(std::vector<Written>{{0, 1}}, many);
    const capture::Source* as_written = crowded.get();
    EXPECT_EQ(in_time_order("f.pcapng", std::move(crowded)).get(), as_written);
}

}  // namespace
}  // namespace vxcheck::app

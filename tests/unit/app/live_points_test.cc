// What the capture report says about the kernel's counters of an interface (live_points.h):
// drop advice only where a larger --buffer-size can help, and the frames left unread at stop.

#include "app/live_points.h"

#include <gtest/gtest.h>

namespace vxcheck::app {
namespace {

constexpr std::uint64_t kMiB = 1U << 20;

TEST(KernelNote, NothingLostSaysNothing) {
    const capture::LiveStats s{.received = 10, .kernel_drops = 0, .taken = 10};
    EXPECT_EQ(kernel_note(s, 64 * kMiB, 32 * kMiB), "");
}

TEST(KernelNote, DropsWithTheBufferGrantedAdviseALargerBuffer) {
    const capture::LiveStats s{.received = 100, .kernel_drops = 7, .taken = 93};
    EXPECT_EQ(kernel_note(s, 64 * kMiB, 32 * kMiB),
              "7 frames dropped by the kernel (buffer full; try --buffer-size)");
}

TEST(KernelNote, DropsWithTheBufferCappedByRmemMaxDoNotAdviseBufferSize) {
    // Without CAP_NET_ADMIN the kernel caps the buffer at net.core.rmem_max (here 208 KiB):
    // asking for more changes nothing.
    const capture::LiveStats s{.received = 100, .kernel_drops = 7, .taken = 93};
    const std::string note = kernel_note(s, 2 * 212992, 32 * kMiB);
    EXPECT_EQ(note.find("--buffer-size"), std::string::npos) << note;
    EXPECT_NE(note.find("net.core.rmem_max"), std::string::npos) << note;
    EXPECT_NE(note.find("212992 of the 33554432 bytes"), std::string::npos) << note;
}

TEST(KernelNote, DropsAtTheLargestBufferTheKernelGrantsDoNotAdviseBufferSize) {
    const capture::LiveStats s{.received = 100, .kernel_drops = 7, .taken = 93};
    const std::string note = kernel_note(s, 2 * capture::kMaxSocketBuffer, 4096 * kMiB);
    EXPECT_EQ(note.find("--buffer-size"), std::string::npos) << note;
    EXPECT_NE(note.find("largest buffer"), std::string::npos) << note;
}

TEST(KernelNote, FramesQueuedAtStopAreCountedAsUnread) {
    // PACKET_STATISTICS counts every frame that passed the filter, dropped ones included.
    const capture::LiveStats s{.received = 120, .kernel_drops = 5, .taken = 100};
    EXPECT_EQ(s.unread(), 15U);
    EXPECT_EQ(kernel_note(s, 64 * kMiB, 32 * kMiB),
              "5 frames dropped by the kernel (buffer full; try --buffer-size); 15 frames still "
              "queued at stop were not read");
}

}  // namespace
}  // namespace vxcheck::app

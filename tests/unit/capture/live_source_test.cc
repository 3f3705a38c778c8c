// A live socket's kernel counters cover its whole life: the interface going down and the
// socket being bound again (rebind) keep every drop counted. Needs root (a packet socket on
// lo); skipped otherwise.

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "vxcheck/capture/source.h"

namespace vxcheck::capture {
namespace {

constexpr std::uint16_t kPort = 47391;

// Sends `n` UDP datagrams of 1200 bytes to 127.0.0.1:kPort (nobody listens: they are only
// seen by the packet socket).
void flood(int n) {
    const int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
    ASSERT_GE(fd, 0);
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(kPort);
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    const std::string payload(1200, 'x');
    for (int i = 0; i < n; ++i) {
        (void)::sendto(fd, payload.data(), payload.size(), 0, reinterpret_cast<sockaddr*>(&to),
                       sizeof to);
    }
    ::close(fd);
}

TEST(LiveSource, KernelDropsAccumulateAcrossARebind) {
    if (::geteuid() != 0) {
        GTEST_SKIP() << "needs root for a packet socket";
    }
    // The smallest buffer the kernel grants: a few frames fill it.
    const LiveOptions options{
        .filter = "udp dst port " + std::to_string(kPort), .snaplen = 2048, .buffer_bytes = 1};
    const auto src = open_live("lo", options);
    flood(300);
    const LiveStats before = src->stats();
    ASSERT_GT(before.kernel_drops, 0U);
    src->rebind();
    flood(300);
    const LiveStats after = src->stats();
    EXPECT_GT(after.kernel_drops, before.kernel_drops);
    EXPECT_GE(after.received, before.received + 300);
    // Nothing was read: every frame is either dropped or still queued.
    EXPECT_EQ(after.taken, 0U);
    EXPECT_EQ(after.unread(), after.received - after.kernel_drops);
}

TEST(LiveSource, BufferIsReadBackAndNeverWrapsToATinyOne) {
    if (::geteuid() != 0) {
        GTEST_SKIP() << "needs root for a packet socket";
    }
    // 4096 MiB does not fit in the int the kernel takes: it is capped where the kernel caps it,
    // not wrapped to 0 (or to a negative size the kernel turns into its minimum).
    const LiveOptions options{.filter = "udp dst port " + std::to_string(kPort),
                              .snaplen = 2048,
                              .buffer_bytes = 4096ULL << 20};
    const auto src = open_live("lo", options);
    EXPECT_GE(src->buffer_bytes(), 2 * kMaxSocketBuffer);
}

}  // namespace
}  // namespace vxcheck::capture

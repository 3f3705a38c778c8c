// A connection captured at several points (node-a flannel.1 and eth0, node-b eth0 ...) carries
// each RPC message once: the RPC analyzer reads each direction from one capture point, the
// first that shows it, whether the points' segments arrive one file after the other or
// interleaved, and a SYN seen again at another point does not restart the stream.

#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "rpc_feed.h"
#include "vxcheck/rpc/message.h"

namespace vxcheck::analyze {
namespace {

using test::ByteVec;
using test::Fed;
using test::RpcSeg;

constexpr int kCalls = 3;

/// The handshake and kCalls NFSv3 NULL calls, each answered.
std::vector<RpcSeg> conversation() {
    std::vector<std::pair<ByteVec, ByteVec>> pairs;
    for (std::uint32_t xid = 1; xid <= kCalls; ++xid) {
        pairs.emplace_back(test::rpc_call(xid, rpc::kProgNfs, 3, 0), test::rpc_reply(xid));
    }
    return test::rpc_exchanges(pairs);
}

void expect_each_message_once(const RpcFacts& f) {
    EXPECT_EQ(f.calls, static_cast<std::uint64_t>(kCalls));
    EXPECT_EQ(f.replies, static_cast<std::uint64_t>(kCalls));
    EXPECT_EQ(f.matched_call_xids, static_cast<std::uint64_t>(kCalls));
    EXPECT_TRUE(f.retransmitted_xids.empty());
}

TEST(RpcCapturePoints, MessagesOfFourPointsReadOneAfterAnotherAreCountedOnce) {
    const std::vector<RpcSeg> conv = conversation();
    std::vector<std::pair<std::uint16_t, const RpcSeg*>> order;
    for (std::uint16_t point = 0; point < 4; ++point) {
        for (const RpcSeg& s : conv) {
            order.emplace_back(point, &s);
        }
    }
    expect_each_message_once(test::analyse_rpc(order));
}

TEST(RpcCapturePoints, InterleavedPointsAreCountedOnce) {
    const std::vector<RpcSeg> conv = conversation();
    std::vector<std::pair<std::uint16_t, const RpcSeg*>> order;
    for (const RpcSeg& s : conv) {
        order.emplace_back(1, &s);
        order.emplace_back(0, &s);
    }
    expect_each_message_once(test::analyse_rpc(order));
}

TEST(RpcCapturePoints, EachDirectionIsReadFromThePointThatShowsIt) {
    // Asymmetric capture: point 0 sees only the client's segments, point 1 only the server's.
    const std::vector<RpcSeg> conv = conversation();
    std::vector<std::pair<std::uint16_t, const RpcSeg*>> order;
    for (const RpcSeg& s : conv) {
        order.emplace_back(s.from_client ? 0 : 1, &s);
    }
    expect_each_message_once(test::analyse_rpc(order));
}

// The order in which `vxcheck capture` read flannel.1 (point 0) and eth0 (point 1) when its CI
// failed: the SYN on flannel.1; then eth0's whole exchange; then the rest of flannel.1. The
// stamps are the kernel's, in time order: segment i at i ms on flannel.1, eth0 0.1 ms after it
// for the client's segments (egress) and 0.1 ms before it for the server's (ingress). The
// calls are read from flannel.1 (its SYN came first), the replies from eth0 (its SYN-ACK did),
// so each reply is read before its call.
TEST(RpcCapturePoints, AReplyReadBeforeItsCallOnAnotherPointAnswersIt) {
    const std::vector<RpcSeg> conv = conversation();
    const auto at = [&](std::uint16_t point, std::size_t i) {
        const auto base = static_cast<std::uint32_t>(1000 * (i + 1));
        const std::uint32_t eth0 = conv[i].from_client ? base + 100 : base - 100;
        return Fed{.point = point, .seg = &conv[i], .us = point == 0 ? base : eth0};
    };
    std::vector<Fed> fed{at(0, 0)};
    for (std::size_t i = 0; i < conv.size(); ++i) {
        fed.push_back(at(1, i));
    }
    for (std::size_t i = 1; i < conv.size(); ++i) {
        fed.push_back(at(0, i));
    }
    const RpcFacts f = test::analyse_rpc(fed);
    expect_each_message_once(f);
    EXPECT_EQ(f.unmatched_call_xids, 0U);
    // Each response time runs from the call to its reply as stamped: 1 ms less 0.1 ms.
    ASSERT_EQ(f.srt.size(), 1U);
    EXPECT_EQ(f.srt.front().second.count, static_cast<std::uint64_t>(kCalls));
    EXPECT_NEAR(f.srt.front().second.min, 0.0009, 1e-9);
    EXPECT_NEAR(f.srt.front().second.max, 0.0009, 1e-9);
}

// A reply answers only a call stamped no later than itself: a reply that comes first in time is
// not the answer to a call sent after it (an XID used again, or another call's reply).
TEST(RpcCapturePoints, AReplyStampedBeforeACallDoesNotAnswerIt) {
    const std::vector<RpcSeg> conv = conversation();
    std::vector<Fed> fed;
    std::uint32_t us = 0;
    for (std::size_t i = 0; i < conv.size(); ++i) {
        // Each reply is read, and stamped, before its call.
        const std::size_t k = (i >= 2 && conv[i].from_client) ? i + 1 : (i >= 2 ? i - 1 : i);
        fed.push_back({.point = 0, .seg = &conv[k], .us = ++us});
    }
    const RpcFacts f = test::analyse_rpc(fed);
    EXPECT_EQ(f.calls, static_cast<std::uint64_t>(kCalls));
    EXPECT_EQ(f.replies, static_cast<std::uint64_t>(kCalls));
    EXPECT_EQ(f.matched_call_xids, 0U);
}

}  // namespace
}  // namespace vxcheck::analyze

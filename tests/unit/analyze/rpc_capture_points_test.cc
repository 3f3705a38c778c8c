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

}  // namespace
}  // namespace vxcheck::analyze

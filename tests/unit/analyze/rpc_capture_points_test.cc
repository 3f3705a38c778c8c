// A connection captured at several points (node-a flannel.1 and eth0, node-b eth0 ...) carries
// each RPC message once: the RPC analyzer reads each direction from one capture point, the
// first that shows it, whether the points' segments arrive one file after the other or
// interleaved, and a SYN seen again at another point does not restart the stream.

#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "vxcheck/analyze/connection_report.h"
#include "vxcheck/analyze/rpc_analyzer.h"
#include "vxcheck/decode/packet.h"
#include "vxcheck/rpc/message.h"
#include "xdr_builder.h"

namespace vxcheck::analyze {
namespace {

using test::ByteVec;
namespace tf = decode::tcp_flag;

constexpr int kCalls = 3;
constexpr std::uint32_t kIsn[2] = {1000, 5000};

struct Seg {
    bool from_client = true;
    std::uint32_t seq = 0;
    std::uint8_t flags = 0;
    ByteVec payload;
};

/// The handshake and kCalls NFSv3 NULL calls, each answered.
std::vector<Seg> conversation() {
    std::vector<Seg> out{{true, kIsn[0], tf::kSyn, {}}, {false, kIsn[1], tf::kSyn | tf::kAck, {}}};
    std::uint32_t next[2] = {kIsn[0] + 1, kIsn[1] + 1};
    for (std::uint32_t xid = 1; xid <= kCalls; ++xid) {
        for (const bool call : {true, false}) {
            ByteVec rec = test::record(call ? test::rpc_call(xid, rpc::kProgNfs, 3, 0)
                                            : test::rpc_reply(xid));
            const std::size_t dir = call ? 0 : 1;
            out.push_back({call, next[dir], tf::kAck | tf::kPsh, rec});
            next[dir] += static_cast<std::uint32_t>(rec.size());
        }
    }
    return out;
}

/// Feeds (point, segment) pairs as one connection and returns its facts.
RpcFacts analyse(const std::vector<std::pair<std::uint16_t, const Seg*>>& order) {
    RpcAnalyzer analyzer;
    SegmentView v;
    v.client.addr = {10, 244, 1, 0};
    v.client.port = 800;
    v.server.addr = {10, 244, 2, 5};
    v.server.port = 2049;
    for (const auto& [point, seg] : order) {
        v.point = point;
        v.from_client = seg->from_client;
        v.seq = seg->seq;
        v.flags = seg->flags;
        v.payload = Bytes{seg->payload};
        v.claimed_payload = static_cast<std::uint32_t>(seg->payload.size());
        ++v.frame;
        v.ts.nsec += 1000;
        analyzer.on_segment(v);
    }
    ConnectionReport r;
    analyzer.decide(v.flow, r);
    return r.rpc.value_or(RpcFacts{});
}

void expect_each_message_once(const RpcFacts& f) {
    EXPECT_EQ(f.calls, static_cast<std::uint64_t>(kCalls));
    EXPECT_EQ(f.replies, static_cast<std::uint64_t>(kCalls));
    EXPECT_EQ(f.matched_call_xids, static_cast<std::uint64_t>(kCalls));
    EXPECT_TRUE(f.retransmitted_xids.empty());
}

TEST(RpcCapturePoints, MessagesOfFourPointsReadOneAfterAnotherAreCountedOnce) {
    const std::vector<Seg> conv = conversation();
    std::vector<std::pair<std::uint16_t, const Seg*>> order;
    for (std::uint16_t point = 0; point < 4; ++point) {
        for (const Seg& s : conv) {
            order.emplace_back(point, &s);
        }
    }
    expect_each_message_once(analyse(order));
}

TEST(RpcCapturePoints, InterleavedPointsAreCountedOnce) {
    const std::vector<Seg> conv = conversation();
    std::vector<std::pair<std::uint16_t, const Seg*>> order;
    for (const Seg& s : conv) {
        order.emplace_back(1, &s);
        order.emplace_back(0, &s);
    }
    expect_each_message_once(analyse(order));
}

TEST(RpcCapturePoints, EachDirectionIsReadFromThePointThatShowsIt) {
    // Asymmetric capture: point 0 sees only the client's segments, point 1 only the server's.
    const std::vector<Seg> conv = conversation();
    std::vector<std::pair<std::uint16_t, const Seg*>> order;
    for (const Seg& s : conv) {
        order.emplace_back(s.from_client ? 0 : 1, &s);
    }
    expect_each_message_once(analyse(order));
}

}  // namespace
}  // namespace vxcheck::analyze

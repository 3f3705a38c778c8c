// The state budget (ConnectionOptions::state_budget_bytes, issue 22 item 4): what connections
// hold beyond their fixed record, the flows' lists and the RPC analysis's per-connection state,
// draws on one budget of bytes. Beyond it list entries are counted, not kept; a connection's RPC
// state that does not fit is not made, or is shed; everything taken is given back when the
// connections leave. And a connection keeps a bounded number of RPC findings however many
// messages make one.

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "feeder.h"
#include "packet_builder.h"
#include "rpc_feed.h"
#include "vxcheck/analyze/budget.h"
#include "vxcheck/analyze/connections.h"
#include "vxcheck/analyze/rpc_analyzer.h"

namespace vxcheck::test {
namespace {

namespace tf = decode::tcp_flag;

TEST(ByteBudget, TakesWhatFitsAndCountsWhatItRefuses) {
    analyze::ByteBudget b(100);
    EXPECT_TRUE(b.take(60));
    EXPECT_FALSE(b.take(41));
    EXPECT_TRUE(b.take(40));
    EXPECT_EQ(b.used(), 100U);
    EXPECT_EQ(b.refused(), 1U);
    b.give_back(30);
    EXPECT_EQ(b.used(), 70U);
    b.give_back(1000);  // never below zero
    EXPECT_EQ(b.used(), 0U);
}

TEST(ByteBudget, RoomForOneDoublesUpToTheBoundAndChargesTheCapacity) {
    analyze::ByteBudget b;
    std::vector<std::uint64_t> v;
    std::size_t charged = 0;
    for (int i = 0; i < 5; ++i) {
        ASSERT_TRUE(analyze::room_for_one(v, 6, b, charged));
        v.push_back(1);
    }
    EXPECT_EQ(v.capacity(), 6U);  // 1, 2, 4, then 6: never past the bound
    EXPECT_EQ(charged, v.capacity() * sizeof(std::uint64_t));
    EXPECT_EQ(b.used(), charged);
}

TEST(ByteBudget, RoomForOneRefusedLeavesTheVectorAndTheBudgetAlone) {
    analyze::ByteBudget b(3 * sizeof(std::uint64_t));
    std::vector<std::uint64_t> v;
    std::size_t charged = 0;
    for (int i = 0; i < 2; ++i) {
        ASSERT_TRUE(analyze::room_for_one(v, 16, b, charged));
        v.push_back(1);
    }
    // 2 held; growing to 4 needs 2 more elements' bytes, of which the budget has 1.
    EXPECT_FALSE(analyze::room_for_one(v, 16, b, charged));
    EXPECT_EQ(v.capacity(), 2U);
    EXPECT_EQ(b.used(), 2 * sizeof(std::uint64_t));
}

TEST(ByteBudget, NothingMoreFitsOnceForcedPastTheLimit) {
    analyze::ByteBudget b(100);
    b.force(150);
    EXPECT_FALSE(b.take(1));
    EXPECT_FALSE(b.take_within(1, analyze::kShareSightings));
    b.give_back(60);
    EXPECT_TRUE(b.take(10));
}

TEST(ByteBudget, ALowerPriorityUseFillsOnlyItsShare) {
    analyze::ByteBudget b(100);
    EXPECT_TRUE(b.take_within(50, analyze::kShareSightings));
    EXPECT_FALSE(b.take_within(1, analyze::kShareSightings));  // its half is spent
    EXPECT_TRUE(b.take_within(25, analyze::kShareRpc));
    EXPECT_FALSE(b.take_within(1, analyze::kShareRpc));  // three quarters are spent
    EXPECT_TRUE(b.take(25));                             // the verdicts' use has the rest
    EXPECT_EQ(b.refused(), 2U);
}

// A client SYN in VXLAN from 10.244.1.5:port, IP ID `id`.
PacketBuilder syn(std::uint16_t port, std::uint16_t id, std::uint32_t isn = 1000) {
    PacketBuilder b;
    b.ethernet().ipv4("192.168.1.10", "192.168.1.20").udp(40000, 8472).zero_udp_checksum();
    b.vxlan(1).ethernet().ipv4("10.244.1.5", "10.244.2.7").ipv4_id(id);
    b.tcp(port, 2049, tf::kSyn, isn);
    return b;
}

// Connections crafted to fill their SYN history (16 transmissions of each of several ISNs)
// stay within the budget; what does not fit is counted and marks the connection incomplete.
TEST(StateBudget, SynHistoryBeyondTheBudgetIsCountedNotKept) {
    analyze::ConnectionOptions o;
    o.state_budget_bytes = 16 * 1024;
    analyze::ConnectionAnalyzer a(o);
    a.add_point("p");
    Feeder feed(a);
    for (std::uint16_t port = 1000; port < 1040; ++port) {
        for (std::uint32_t isn = 1; isn <= 6; ++isn) {
            for (std::uint16_t id = 0; id < 16; ++id) {
                feed.send(syn(port, static_cast<std::uint16_t>(isn * 100 + id), isn * 1000));
            }
        }
        EXPECT_LE(a.state_bytes(), o.state_budget_bytes);
    }
    EXPECT_GT(a.stats().detail_dropped, 0U);
    std::size_t incomplete = 0;
    for (const auto& r : a.finish()) {
        incomplete += r.incomplete ? 1 : 0;
    }
    EXPECT_GT(incomplete, 0U);
    EXPECT_EQ(a.state_bytes(), 0U);  // everything taken was given back
}

// With room enough, the accounting balances: attempts pushed out by newer ISNs give their
// transmissions back, and nothing is counted as dropped.
TEST(StateBudget, AccountingBalancesWhenNothingIsRefused) {
    analyze::ConnectionAnalyzer a(analyze::ConnectionOptions{});
    a.add_point("p");
    Feeder feed(a);
    for (std::uint32_t isn = 1; isn <= 9; ++isn) {  // more ISNs than a connection keeps
        for (std::uint16_t id = 0; id < 3; ++id) {
            feed.send(syn(1000, static_cast<std::uint16_t>(isn * 10 + id), isn * 1000));
        }
    }
    EXPECT_GT(a.state_bytes(), 0U);
    EXPECT_EQ(a.stats().detail_dropped, 0U);
    for (const auto& r : a.finish()) {
        EXPECT_FALSE(r.incomplete);
    }
    EXPECT_EQ(a.state_bytes(), 0U);
}

// Many NFS connections fill the RPC analysis's share of the budget; a later connection's SYN
// history is still kept whole: the RPC state never crowds out what the main verdicts need.
TEST(StateBudget, RpcStateNeverCrowdsOutSynHistory) {
    analyze::ConnectionOptions o;
    o.state_budget_bytes = 64 * 1024;
    analyze::ConnectionAnalyzer a(o);
    analyze::RpcAnalyzer rpc;
    a.add_plugin(rpc);
    a.add_point("p");
    Feeder feed(a);
    const ByteVec getattr = record(rpc_call(7, 100003, 3, 1, {0, 0, 0, 4, 1, 2, 3, 4}));
    for (std::uint16_t port = 2000; port < 2100; ++port) {
        PacketBuilder b;
        b.ethernet().ipv4("10.244.1.5", "10.244.2.7").tcp(port, 2049, tf::kAck | tf::kPsh, 1);
        feed.send(b.payload(getattr));
    }
    analyze::ConnectionStats rpc_stats;
    rpc.add_stats(rpc_stats);
    EXPECT_GT(rpc_stats.rpc_connections_dropped, 0U);  // the RPC share is full
    // (Their sightings, of untunnelled packets, had only half of the budget: some were not kept.)
    const std::uint64_t dropped = a.stats().detail_dropped;
    for (std::uint16_t id = 0; id < 6; ++id) {  // a SYN in VXLAN and five retransmissions
        feed.send(syn(3000, id, 77));
    }
    EXPECT_EQ(a.stats().detail_dropped, dropped);  // every transmission kept
    bool found = false;
    for (const auto& r : a.finish()) {
        if (r.client.port == 3000) {
            found = true;
            EXPECT_EQ(r.syns, 6U);
            EXPECT_FALSE(r.incomplete);
        }
    }
    EXPECT_TRUE(found);
    EXPECT_EQ(a.state_bytes(), 0U);
}

// An RPC analyzer fed directly: connection `flow` from 10.244.1.0:(800 + flow) to :2049.
struct RpcFeed {
    analyze::RpcAnalyzer rpc;
    analyze::SegmentView v;
    std::uint64_t next_order = 0;
    RpcFeed() {
        v.client.addr = {10, 244, 1, 0};
        v.server.addr = {10, 244, 2, 5};
        v.server.port = 2049;
    }
    void send(analyze::FlowId flow, const RpcSeg& s) {
        if (flow != v.flow || v.frame == 0) {  // a new connection: its order and SYNs
            v.order = next_order++;
            v.starts = {};
        }
        v.flow = flow;
        v.client.port = static_cast<std::uint16_t>(800 + flow);
        v.ts.nsec += 1000;
        test::take_segment(v, s);
        rpc.on_segment(v);
    }
    analyze::ConnectionReport decide(analyze::FlowId flow) {
        analyze::ConnectionReport r;
        rpc.decide(flow, r);
        return r;
    }
};

// `n` GETATTR calls (NFSv3) on one connection, each answered when `answered`.
std::vector<RpcSeg> calls(std::uint32_t n, bool answered) {
    std::vector<std::pair<ByteVec, ByteVec>> pairs;
    for (std::uint32_t xid = 1; xid <= n; ++xid) {
        pairs.emplace_back(rpc_call(xid, 100003, 3, 1, {0, 0, 0, 4, 1, 2, 3, 4}),
                           rpc_reply(xid, {0, 0, 0, 0}));
    }
    std::vector<RpcSeg> segs = rpc_exchanges(pairs);
    if (!answered) {
        std::erase_if(segs, [](const RpcSeg& s) { return !s.from_client && !s.payload.empty(); });
    }
    return segs;
}

TEST(StateBudget, ConnectionsWhoseRpcStateDoesNotFitAreNotAnalysedAndSaySo) {
    RpcFeed f;
    analyze::ByteBudget budget(64 * 1024);
    f.rpc.share_state_budget(budget);
    const std::vector<RpcSeg> segs = calls(4, true);
    constexpr analyze::FlowId kFlows = 200;
    for (analyze::FlowId id = 0; id < kFlows; ++id) {
        for (const RpcSeg& s : segs) {
            f.send(id, s);
        }
        EXPECT_LE(budget.used(), budget.limit());
    }
    analyze::ConnectionStats stats;
    f.rpc.add_stats(stats);
    EXPECT_GT(stats.rpc_connections_dropped, 0U);
    EXPECT_LT(stats.rpc_connections_dropped, kFlows);
    std::size_t analysed = 0;
    std::size_t refused = 0;
    for (analyze::FlowId id = 0; id < kFlows; ++id) {
        const analyze::ConnectionReport r = f.decide(id);
        ASSERT_TRUE(r.rpc.has_value());
        if (r.rpc->calls == 4) {
            ++analysed;
            EXPECT_FALSE(r.incomplete);
        } else {
            ++refused;
            EXPECT_EQ(r.rpc->calls, 0U);
            EXPECT_TRUE(r.incomplete);  // not "no RPC": not looked at
            EXPECT_GT(r.rpc->bounds_hit, 0U);
        }
        f.rpc.forget(id);
    }
    EXPECT_EQ(analysed + refused, kFlows);
    EXPECT_EQ(refused, stats.rpc_connections_dropped);  // counted once each
    EXPECT_EQ(budget.used(), 0U);
}

// One connection whose unanswered calls outgrow the budget is shed: what it counted stays for
// its report, nothing more is read, and the budget is exceeded by at most what one segment
// added.
TEST(StateBudget, AConnectionThatOutgrowsTheBudgetIsShed) {
    RpcFeed f;
    analyze::ByteBudget budget(96 * 1024);
    f.rpc.share_state_budget(budget);
    for (const RpcSeg& s : calls(1000, false)) {
        f.send(0, s);
    }
    EXPECT_LE(budget.used(), budget.limit() + 64 * 1024);
    analyze::ConnectionStats stats;
    f.rpc.add_stats(stats);
    EXPECT_EQ(stats.rpc_connections_dropped, 1U);
    const analyze::ConnectionReport r = f.decide(0);
    EXPECT_TRUE(r.incomplete);
    EXPECT_GT(r.rpc->calls, 0U);
    EXPECT_LT(r.rpc->calls, 1000U);
    f.rpc.forget(0);
    EXPECT_EQ(budget.used(), 0U);
}

// A server that denies every call: one finding per reply, but a connection keeps at most
// kMaxRpcXidList of them per verdict and counts the rest.
TEST(RpcFindings, AConnectionKeepsABoundedNumberOfFindingsPerVerdict) {
    std::vector<std::pair<ByteVec, ByteVec>> pairs;
    for (std::uint32_t xid = 1; xid <= 300; ++xid) {
        Xdr denied;  // MSG_ACCEPTED, PROG_UNAVAIL
        denied.u32(xid).u32(1).u32(0).u32(0).u32(0).u32(1);
        pairs.emplace_back(rpc_call(xid, 100003, 3, 1), denied.bytes());
    }
    const analyze::RpcFacts f = analyse_rpc(rpc_exchanges(pairs));
    EXPECT_EQ(f.calls, 300U);
    ASSERT_EQ(f.findings.size(), analyze::RpcFacts::kMaxRpcXidList);
    for (const analyze::RpcFinding& x : f.findings) {
        EXPECT_EQ(x.verdict, analyze::Verdict::RpcAcceptError);
    }
    EXPECT_GE(f.bounds_hit, 300U - analyze::RpcFacts::kMaxRpcXidList);
    // The counts stay complete.
    ASSERT_EQ(f.errors.size(), 1U);
    EXPECT_EQ(f.errors[0].second, 300U);
}

}  // namespace
}  // namespace vxcheck::test

// The RPC analyzer on mutated conversations (fixed seed): an NFS conversation in the shape of
// tools/make_nfs_pcaps.py's stories (NFSv4.1 SEQUENCE compounds, NFSv3 GETATTR, MOUNT, a
// backchannel CB_COMPOUND from the server) with bit flips, overwritten bytes, truncated records
// and record marks that lie about the length, cut into segments at random points. Rules: the
// analysis always terminates, its counts stay within what the bytes can hold, its XID lists
// within their bound, and the next, unmutated connection is counted exactly (the damage stays
// on its own connection). Run under ASan/UBSan by .ci/run (-DVXCHECK_SANITIZE=ON).

#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <vector>

#include "rpc_feed.h"
#include "rpc_mutate.h"
#include "vxcheck/analyze/connection_report.h"
#include "vxcheck/analyze/rpc_analyzer.h"
#include "vxcheck/decode/packet.h"
#include "vxcheck/rpc/message.h"
#include "xdr_builder.h"

namespace vxcheck::analyze {
namespace {

using test::ByteVec;
using test::Xdr;
namespace tf = decode::tcp_flag;

constexpr std::uint32_t kSeed = 19;
constexpr int kMutatedConnections = 3000;
constexpr int kSplitConnections = 500;
// A counted message needs a record mark, an xid and a msg_type at least.
constexpr std::uint64_t kMinCountedBytes = 12;

struct Message {
    bool from_client = true;
    bool call = true;
    ByteVec bytes;  // the record: marks and message
};

/// One conversation: every call answered, xids from `xid`.
std::vector<Message> conversation(std::uint32_t xid) {
    const ByteVec session(16, 0x5a);
    const ByteVec cred = Xdr().u32(1).str("node-a").u32(0).u32(0).u32(0).bytes();
    std::vector<Message> out;
    auto exchange = [&](bool from_client, const ByteVec& call, const ByteVec& reply) {
        out.push_back({from_client, true, test::record(call)});
        out.push_back({!from_client, false, test::record(reply)});
    };
    for (std::uint32_t seq = 1; seq <= 2; ++seq) {
        Xdr args;  // SEQUENCE, PUTROOTFH, GETATTR(type, size)
        args.str("").u32(1).u32(3).u32(53).fixed(session).u32(seq).u32(0).u32(0).u32(0);
        args.u32(24).u32(9).u32(1).u32(0x12);
        Xdr res;
        res.u32(0).str("").u32(3).u32(53).u32(0).fixed(session).u32(seq).u32(0).u32(0).u32(0);
        res.u32(0).u32(24).u32(0).u32(9).u32(0).u32(1).u32(0x12).opaque(ByteVec(12, 1));
        exchange(true, test::rpc_call(xid, rpc::kProgNfs, 4, 1, args.bytes(), rpc::kAuthSys, cred),
                 test::rpc_reply(xid, res.bytes()));
        ++xid;
    }
    exchange(true, test::rpc_call(xid, rpc::kProgNfs, 3, 1, Xdr().opaque(ByteVec(28, 3)).bytes()),
             test::rpc_reply(xid, Xdr().u32(0).fixed(84, 0).bytes()));
    ++xid;
    exchange(true, test::rpc_call(xid, rpc::kProgMount, 3, 1, Xdr().str("/export").bytes()),
             test::rpc_reply(xid, Xdr().u32(0).opaque(ByteVec(28, 3)).u32(1).u32(1).bytes()));
    ++xid;
    Xdr cb;  // CB_COMPOUND with CB_SEQUENCE, from the server on the same connection
    cb.str("").u32(1).u32(0).u32(1).u32(11).fixed(session).u32(1).u32(0).u32(0).u32(0).u32(0);
    exchange(false, test::rpc_call(xid, rpc::kProgNfsCallbackLinux, 1, 1, cb.bytes()),
             test::rpc_reply(xid, Xdr().u32(0).str("").u32(0).bytes()));
    return out;
}

/// Feeds conversations into one RpcAnalyzer, one connection each, and decides them.
class Driver {
  public:
    /// Cuts each record into 1-3 segments at random points; returns the payload bytes fed.
    std::uint64_t feed(FlowId flow, std::uint8_t client_host, const std::vector<Message>& msgs,
                       bool syn, std::mt19937& rng) {
        SegmentView v;
        v.flow = flow;
        v.order = next_order_++;  // each feed is a new connection
        v.client.addr = {10, 244, 1, client_host};
        v.client.port = static_cast<std::uint16_t>(700 + flow);
        v.server.addr = {10, 244, 2, 5};
        v.server.port = 2049;
        std::uint32_t next[2] = {static_cast<std::uint32_t>(rng()),
                                 static_cast<std::uint32_t>(rng())};
        if (syn) {
            segment(v, true, next[0]++, {}, tf::kSyn);
            segment(v, false, next[1]++, {}, tf::kSyn | tf::kAck);
        }
        std::uint64_t fed = 0;
        for (const Message& m : msgs) {
            const std::size_t dir = m.from_client ? 0 : 1;
            for (std::size_t off = 0; off < m.bytes.size();) {
                std::size_t n = m.bytes.size() - off;
                if (rng() % 2 == 0) {
                    n = 1 + rng() % n;
                }
                segment(v, m.from_client, next[dir], Bytes{m.bytes.data() + off, n},
                        tf::kAck | tf::kPsh);
                next[dir] += static_cast<std::uint32_t>(n);
                off += n;
                fed += n;
            }
        }
        return fed;
    }

    RpcFacts decide(FlowId flow) {
        ConnectionReport r;
        analyzer_.on_close(flow, CloseEvent::Fin, true);
        analyzer_.decide(flow, r);
        analyzer_.forget(flow);
        EXPECT_TRUE(r.rpc.has_value());
        return r.rpc.value_or(RpcFacts{});
    }

  private:
    void segment(SegmentView& v, bool from_client, std::uint32_t seq, Bytes payload,
                 std::uint8_t flags) {
        v.from_client = from_client;
        v.seq = seq;
        v.flags = flags;
        v.payload = payload;
        v.claimed_payload = static_cast<std::uint32_t>(payload.size());
        ++v.frame;
        ts_.nsec += 1'000'000;  // 1 ms per segment
        if (ts_.nsec >= 1'000'000'000) {
            ts_.nsec -= 1'000'000'000;
            ++ts_.sec;
        }
        v.ts = ts_;
        test::note_starts(v);
        analyzer_.on_segment(v);
    }

    RpcAnalyzer analyzer_;
    Timestamp ts_;
    std::uint64_t next_order_ = 0;
};

void expect_exact(const RpcFacts& f, const std::vector<Message>& msgs) {
    std::uint64_t calls = 0;
    std::uint64_t s2c = 0;
    for (const Message& m : msgs) {
        calls += m.call ? 1 : 0;
        s2c += (m.call && !m.from_client) ? 1 : 0;
    }
    EXPECT_EQ(f.calls, calls);
    EXPECT_EQ(f.replies, msgs.size() - calls);
    EXPECT_EQ(f.calls_s2c, s2c);
    EXPECT_EQ(f.matched_call_xids, calls);
    EXPECT_EQ(f.unmatched_call_xids, 0U);
    EXPECT_TRUE(f.retransmitted_xids.empty());
    EXPECT_EQ(f.garbled, 0U);
}

TEST(RpcMutation, UnmutatedConversationIsCountedExactlyAtAnySplit) {
    std::mt19937 rng(kSeed);
    Driver d;
    for (int i = 0; i < kSplitConnections; ++i) {
        const auto msgs = conversation(0x1000U * static_cast<std::uint32_t>(i + 1));
        const FlowId flow = static_cast<FlowId>(i % 8);
        d.feed(flow, 5, msgs, true, rng);
        expect_exact(d.decide(flow), msgs);
        if (HasFailure()) {
            FAIL() << "connection " << i;
        }
    }
}

TEST(RpcMutation, MutatedConnectionsStayBoundedAndLeaveTheNextConnectionExact) {
    std::mt19937 rng(kSeed);
    Driver d;
    for (int i = 0; i < kMutatedConnections; ++i) {
        auto msgs = conversation(0x2000U * static_cast<std::uint32_t>(i + 1));
        for (Message& m : msgs) {
            if (rng() % 3 == 0) {
                test::mutate_record(m.bytes, rng);
            }
        }
        // The mutated connection (every fourth one starts mid-stream, without a SYN).
        const std::uint64_t fed = d.feed(1, 5, msgs, i % 4 != 0, rng);
        const RpcFacts f = d.decide(1);
        EXPECT_LE((f.calls + f.replies) * kMinCountedBytes, fed);
        EXPECT_EQ(f.calls, f.calls_c2s + f.calls_s2c);
        EXPECT_EQ(f.unique_call_xids, f.matched_call_xids + f.unmatched_call_xids);
        EXPECT_LE(f.unique_call_xids, f.calls);
        EXPECT_LE(f.unmatched_xids.size(), RpcFacts::kMaxRpcXidList);
        EXPECT_LE(f.retransmitted_xids.size(), RpcFacts::kMaxRpcXidList);
        EXPECT_LE(f.resent_from_earlier_connection.size(), RpcFacts::kMaxRpcXidList);
        // The next connection, from another client (no xid of it is on an earlier one).
        const auto clean = conversation(0x40000000U + 0x100U * static_cast<std::uint32_t>(i));
        d.feed(2, 6, clean, true, rng);
        expect_exact(d.decide(2), clean);
        if (HasFailure()) {
            FAIL() << "connection " << i;
        }
    }
}

}  // namespace
}  // namespace vxcheck::analyze

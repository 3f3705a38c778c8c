// What a capture that lost packets does to the RPC verdicts. A reply missing from the capture
// is no evidence that none was sent (rpc_unanswered asks for the evidence to be in the
// capture): a call is not judged unanswered when bytes of the replies' direction were lost at
// or after it (a gap, bytes at the stream's end that the other side acknowledged, a record
// that could not be read), and the replies held behind a gap go on once the other side
// acknowledges the missing bytes, not only when the connection ends.

#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <vector>

#include "rpc_feed.h"
#include "vxcheck/analyze/budget.h"
#include "vxcheck/rpc/message.h"

namespace vxcheck::analyze {
namespace {

namespace tf = decode::tcp_flag;
using test::ByteVec;
using test::RpcSeg;

// One connection's segments, each stamped; `kept` false: the capture lost it.
struct Timed {
    RpcSeg seg;
    double s = 0;
    bool kept = true;
};

// NFSv3 NULL calls 1..n, each answered 1 ms later, 1 s apart; every segment acknowledges all
// the other side sent before it.
std::vector<Timed> exchanges(std::uint32_t n) {
    std::vector<Timed> out{
        {{true, test::kRpcIsn[0], tf::kSyn, {}}, 0.0},
        {{false, test::kRpcIsn[1], tf::kSyn | tf::kAck, {}, test::kRpcIsn[0] + 1}, 0.0001}};
    std::uint32_t next[2] = {test::kRpcIsn[0] + 1, test::kRpcIsn[1] + 1};
    for (std::uint32_t xid = 1; xid <= n; ++xid) {
        for (const bool from_client : {true, false}) {
            const ByteVec rec = test::record(from_client ? test::rpc_call(xid, rpc::kProgNfs, 3, 0)
                                                         : test::rpc_reply(xid));
            const std::size_t dir = from_client ? 0 : 1;
            out.push_back({{from_client, next[dir], tf::kAck | tf::kPsh, rec, next[1 - dir]},
                           xid + (from_client ? 0.0 : 0.001)});
            next[dir] += static_cast<std::uint32_t>(rec.size());
        }
    }
    return out;
}

// The client's segments after `s` seconds acknowledge nothing (no ACK flag).
void unacknowledged_after(std::vector<Timed>& segs, double s) {
    for (Timed& t : segs) {
        if (t.seg.from_client && t.s > s) {
            t.seg.flags = tf::kPsh;
        }
    }
}

class Loss : public ::testing::Test {
  protected:
    Loss() {
        v_.client.addr = {10, 244, 1, 0};
        v_.client.port = 800;
        v_.server.addr = {10, 244, 2, 5};
        v_.server.port = 2049;
    }
    static Timestamp at(double s) {
        const auto sec = static_cast<std::int64_t>(s);
        return Timestamp{.sec = sec,
                         .nsec = static_cast<std::uint32_t>((s - static_cast<double>(sec)) * 1e9)};
    }
    void feed(const std::vector<Timed>& segs) {
        for (const Timed& t : segs) {
            if (t.kept) {
                v_.ts = at(t.s);
                test::take_segment(v_, t.seg);
                analyzer_.on_segment(v_);
            }
        }
    }
    // The flows poll() lists at `s` seconds as having gained a verdict.
    std::vector<FlowId> poll(double s) {
        std::vector<FlowId> gained;
        analyzer_.on_bare_ack({.ts = at(s)});
        analyzer_.poll(at(s), gained);
        return gained;
    }
    // The last decision (`last`), or a live one, after which the connection goes on.
    RpcFacts decide(double end_s, bool last = true) {
        analyzer_.on_bare_ack({.ts = at(end_s)});
        ConnectionReport r;
        if (last) {
            analyzer_.ending(v_.flow);
        }
        analyzer_.decide(v_.flow, r);
        return r.rpc.value_or(RpcFacts{});
    }
    static std::size_t unanswered(const RpcFacts& f) {
        std::size_t n = 0;
        for (const RpcFinding& x : f.findings) {
            n += x.verdict == Verdict::RpcUnanswered ? 1 : 0;
        }
        return n;
    }

    RpcAnalyzer analyzer_;
    SegmentView v_;
};

// Three calls; the capture lost reply 1. With `acknowledged` false the client's segments
// after call 1 acknowledge nothing. Live, the poll at 12 s must list no call; then the last
// decision's facts.
class Reply1Lost : public Loss {
  protected:
    RpcFacts polled_then_decided(bool acknowledged, const char* why) {
        std::vector<Timed> segs = exchanges(3);
        segs[3].kept = false;  // the reply to call 1
        if (!acknowledged) {
            unacknowledged_after(segs, 1.5);
        }
        feed(segs);
        EXPECT_TRUE(poll(12.0).empty()) << why;
        return decide(12.0);
    }
};

TEST_F(Reply1Lost, AReplyTheCaptureLostIsNotAnUnansweredCall) {
    // Call 2 acknowledged the lost reply, and reply 2 was held behind it; call 3 acknowledged
    // reply 2 as well: the gap is declared there, and replies 2 and 3 answer their calls.
    const RpcFacts f = polled_then_decided(true, "no call waits for a reply the capture shows");
    EXPECT_EQ(f.matched_call_xids, 2U);
    EXPECT_EQ(unanswered(f), 0U);
    EXPECT_EQ(f.unread.gaps, 1U);
    EXPECT_EQ(f.unread.calls_not_judged, 1U);
    EXPECT_TRUE(f.unread.missed());
}

TEST_F(Reply1Lost, RepliesHeldBehindAGapAreDeliveredWhenTheConnectionIsDecided) {
    // No segment from the client acknowledges the missing bytes: the last decision declares
    // the gap. Live, until then, the replies held behind them may answer the calls.
    const RpcFacts f =
        polled_then_decided(false, "calls whose replies are held are not unanswered");
    EXPECT_EQ(f.matched_call_xids, 2U);
    EXPECT_EQ(unanswered(f), 0U);
    EXPECT_EQ(f.unread.calls_not_judged, 1U);
}

TEST_F(Loss, ALiveDecisionLeavesTheHeldRepliesWaitingForTheMissingBytes) {
    // Reply 1 is read late (out of order), after a live decision: it still fills the gap.
    std::vector<Timed> segs = exchanges(3);
    unacknowledged_after(segs, 1.5);  // nothing acknowledges reply 1 meanwhile
    std::vector<Timed> early = segs;
    early[3].kept = false;
    feed(early);
    const RpcFacts live = decide(3.5, false);
    EXPECT_EQ(live.matched_call_xids, 0U);
    feed({segs[3]});
    const RpcFacts f = decide(12.0);
    EXPECT_EQ(f.matched_call_xids, 3U);
    EXPECT_FALSE(f.unread.missed());
}

TEST_F(Loss, ALossBeforeTheCallDoesNotExcuseItsMissingReply) {
    std::vector<Timed> segs = exchanges(4);
    segs[3].kept = false;      // reply 1: lost early
    segs.back().kept = false;  // reply 4 is never sent: the server hung
    feed(segs);
    const RpcFacts f = decide(12.0);
    EXPECT_EQ(f.matched_call_xids, 2U);
    ASSERT_EQ(unanswered(f), 1U);
    EXPECT_EQ(f.findings.front().xid, 4U);
    EXPECT_EQ(f.unread.calls_not_judged, 1U);  // call 1
}

TEST_F(Loss, AReplyRecordThatCannotBeReadAfterTheCallLeavesItNotJudged) {
    std::vector<Timed> segs = exchanges(1);
    // The reply's record is cut by the snaplen to its mark and XID: no header to read.
    Timed& reply = segs.back();
    const auto claimed = static_cast<std::uint32_t>(reply.seg.payload.size());
    reply.seg.payload.resize(8);
    feed({segs[0], segs[1], segs[2]});
    v_.ts = at(reply.s);
    test::take_segment(v_, reply.seg);
    v_.claimed_payload = claimed;
    analyzer_.on_segment(v_);
    const RpcFacts f = decide(12.0);
    EXPECT_EQ(f.calls, 1U);
    EXPECT_EQ(f.replies, 0U);
    EXPECT_EQ(unanswered(f), 0U);
    EXPECT_EQ(f.unread.records_cut, 1U);
    EXPECT_EQ(f.unread.records_unparsed, 1U);
    EXPECT_EQ(f.unread.calls_not_judged, 1U);
}

// The next sequence number of each direction after `segs` (lost or not: sent).
std::array<std::uint32_t, 2> ends(const std::vector<Timed>& segs) {
    std::array<std::uint32_t, 2> next{test::kRpcIsn[0] + 1, test::kRpcIsn[1] + 1};
    for (const Timed& t : segs) {
        const std::size_t dir = t.seg.from_client ? 0 : 1;
        if (!t.seg.payload.empty()) {
            next[dir] = t.seg.seq + static_cast<std::uint32_t>(t.seg.payload.size());
        }
    }
    return next;
}

// A FIN from one side at `s` seconds, acknowledging `ack` of the other side's bytes.
Timed fin(bool from_client, std::uint32_t seq, std::uint32_t ack, double s) {
    return {{from_client, seq, tf::kFin | tf::kAck, {}, ack}, s};
}

// Reply 2, the server's last data, is lost to the capture; then comes a FIN: from the client,
// acknowledging the reply's bytes, or from the server, after them. Nothing after the reply in
// the server's stream shows a gap: the FIN does.
struct LostAtEnd {
    RpcFacts facts;
    std::size_t lost = 0;  // the reply's bytes
};

class LossAtEnd : public Loss {
  protected:
    LostAtEnd last_reply_lost_then_fin(bool fin_from_client) {
        std::vector<Timed> segs = exchanges(2);
        segs.back().kept = false;
        LostAtEnd out;
        out.lost = segs.back().seg.payload.size();
        const std::array<std::uint32_t, 2> next = ends(segs);
        const std::size_t dir = fin_from_client ? 0 : 1;
        segs.push_back(fin(fin_from_client, next[dir], next[1 - dir], 2.5));
        feed(segs);
        out.facts = decide(12.0);
        return out;
    }
};

TEST_F(LossAtEnd, TheOtherSidesAcknowledgementShowsTheLostReply) {
    const LostAtEnd r = last_reply_lost_then_fin(true);
    EXPECT_EQ(r.facts.matched_call_xids, 1U);
    EXPECT_EQ(unanswered(r.facts), 0U);
    EXPECT_EQ(r.facts.unread.calls_not_judged, 1U);
    EXPECT_EQ(r.facts.unread.gaps, 1U) << "the end of the server's stream";
    EXPECT_EQ(r.facts.unread.gap_bytes, r.lost);
}

// The FIN's sequence number proves the bytes before it sent, whether or not an
// acknowledgement of them was captured.
TEST_F(LossAtEnd, TheSendersFinShowsTheLostReply) {
    const LostAtEnd r = last_reply_lost_then_fin(false);
    EXPECT_EQ(unanswered(r.facts), 0U);
    EXPECT_EQ(r.facts.unread.calls_not_judged, 1U);
    EXPECT_EQ(r.facts.unread.gaps, 1U);
    EXPECT_EQ(r.facts.unread.gap_bytes, r.lost) << "the FIN's own sequence number is no lost byte";
}

// The client stays silent after the lost reply but for the bare ACK of it, and the capture goes
// on: the bare ACK shows the reply's bytes.
TEST_F(LossAtEnd, ABareAcknowledgementShowsTheLostReply) {
    std::vector<Timed> segs = exchanges(2);
    segs.back().kept = false;
    const std::size_t lost = segs.back().seg.payload.size();
    const std::array<std::uint32_t, 2> next = ends(segs);
    feed(segs);
    analyzer_.on_bare_ack(
        {.flow = v_.flow, .from_client = true, .has_ack = true, .ack = next[1], .ts = at(2.5)});
    const RpcFacts f = decide(12.0);
    EXPECT_EQ(unanswered(f), 0U);
    EXPECT_EQ(f.unread.calls_not_judged, 1U);
    EXPECT_EQ(f.unread.gap_bytes, lost);
}

// A connection the state budget sheds lets its streams go: where they had got to is not known
// any more, so no byte counts as lost at their end (the acknowledgements go on).
TEST_F(Loss, AShedConnectionCountsNoLossAtItsStreamsEnd) {
    ByteBudget budget(8 * 1024);
    analyzer_.share_state_budget(budget);
    std::vector<Timed> segs = exchanges(300);
    for (Timed& t : segs) {
        t.kept = t.kept && (t.seg.from_client || t.seg.payload.empty());  // no reply captured
    }
    feed(segs);
    ConnectionStats stats;
    analyzer_.add_stats(stats);
    ASSERT_EQ(stats.rpc_connections_dropped, 1U) << "shed";
    const RpcFacts f = decide(400.0);
    EXPECT_EQ(f.unread.gaps, 0U);
    EXPECT_EQ(f.unread.gap_bytes, 0U);
    analyzer_.forget(v_.flow);
}

// Controls: reply 2 is never sent, then the connection closes with the FINs `fins` makes from
// the next sequence numbers of both sides: the call is unanswered (the connection closed after
// it), and nothing was lost.
class NeverAnswered : public Loss {
  protected:
    template <typename Fins>
    void closes_with(Fins fins) {
        std::vector<Timed> segs = exchanges(2);
        segs.pop_back();
        for (const Timed& t : fins(ends(segs))) {
            segs.push_back(t);
        }
        feed(segs);
        const RpcFacts f = decide(12.0);
        ASSERT_EQ(unanswered(f), 1U);
        EXPECT_EQ(f.findings.front().xid, 2U);
        EXPECT_FALSE(f.unread.missed());
    }
};

// The client's FIN acknowledges what the capture showed: no lost byte.
TEST_F(NeverAnswered, AnAcknowledgementOfWhatTheCaptureShowedIsNoLoss) {
    closes_with([](std::array<std::uint32_t, 2> next) {
        return std::vector<Timed>{fin(true, next[0], next[1], 2.5)};
    });
}

// The server closes instead of answering; the client acknowledges its FIN one past the
// server's last byte: the FIN's own sequence number is no lost byte.
TEST_F(NeverAnswered, TheFinOfTheSideThatDidNotAnswerIsNoLoss) {
    closes_with([](std::array<std::uint32_t, 2> next) {
        return std::vector<Timed>{fin(false, next[1], next[0], 2.5),
                                  fin(true, next[0], next[1] + 1, 2.6)};
    });
}

TEST_F(Loss, ACleanCaptureMissesNothing) {
    feed(exchanges(3));
    const RpcFacts f = decide(12.0);
    EXPECT_EQ(f.matched_call_xids, 3U);
    EXPECT_FALSE(f.unread.missed());
    EXPECT_EQ(f.unread.skipped_bytes, 0U);
}

// The cross-connection tables keep the latest kMaxCrossCalls calls and answers of the whole
// run: what they forget is the run's bound (ConnectionStats::rpc_calls_forgotten), not a detail
// the connection that happens to be decided next lost.
TEST_F(Loss, CallsTheCrossConnectionTablesForgetAreTheRunsNotAConnections) {
    const auto n = static_cast<std::uint32_t>(kMaxCrossCalls + kMaxCrossCalls / 8);
    feed(exchanges(n));
    ConnectionStats stats;
    analyzer_.add_stats(stats);
    EXPECT_GT(stats.rpc_calls_forgotten, 0U);
    const RpcFacts f = decide(static_cast<double>(n) + 10.0);
    EXPECT_EQ(f.matched_call_xids, n);
    EXPECT_EQ(f.bounds_hit, 0U);
}

}  // namespace
}  // namespace vxcheck::analyze

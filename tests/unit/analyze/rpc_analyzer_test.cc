// The RPC analyzer as a plug-in of the connection analyzer: where a direction's record stream
// starts, from the SYN or, without one, at the first plausible record mark.

#include "vxcheck/analyze/rpc_analyzer.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <initializer_list>
#include <vector>

#include "feeder.h"
#include "packet_builder.h"
#include "vxcheck/analyze/connections.h"

namespace vxcheck::test {
namespace {

namespace tf = decode::tcp_flag;
using analyze::EvidenceFrame;
using analyze::EvidenceNote;

void put32(ByteVec& v, std::uint32_t x) {
    for (int shift = 24; shift >= 0; shift -= 8) {
        v.push_back(static_cast<std::uint8_t>(x >> shift));
    }
}

// An NFSv4 NULL call (AUTH_NONE) in two record-marking fragments of 20 bytes: the first
// fragment's mark has the last-fragment bit clear, so only a stream that knows where the record
// starts reads it; a stream hunting for a mark accepts last fragments only.
ByteVec two_fragment_null_call(std::uint32_t xid) {
    ByteVec body;
    for (const std::uint32_t w : {xid, 0U, 2U, 100003U, 4U, 0U, 0U, 0U, 0U, 0U}) {
        put32(body, w);
    }
    ByteVec wire;
    put32(wire, 20);
    wire.insert(wire.end(), body.begin(), body.begin() + 20);
    put32(wire, 0x80000000U | 20U);
    wire.insert(wire.end(), body.begin() + 20, body.end());
    return wire;
}

PacketBuilder client_segment(std::uint8_t flags, std::uint32_t seq, ByteVec payload = {}) {
    PacketBuilder b;
    b.ethernet().ipv4("10.244.1.5", "10.244.2.7").tcp(40000, 2049, flags, seq, 0);
    if (!payload.empty()) {
        b.payload(std::move(payload));
    }
    return b;
}

std::uint64_t calls_seen(bool with_syn) {
    analyze::ConnectionAnalyzer a({});
    a.add_point("p");
    analyze::RpcAnalyzer rpc;
    a.add_plugin(rpc);
    Feeder feed(a);
    if (with_syn) {
        feed.send(client_segment(tf::kSyn, 1000));
    }
    feed.send(client_segment(tf::kAck | tf::kPsh, 1001, two_fragment_null_call(0x1234)));
    const auto reports = a.finish();
    EXPECT_EQ(reports.size(), 1U);
    return reports.empty() || !reports[0].rpc ? 0 : reports[0].rpc->calls;
}

TEST(RpcAnalyzer, AStreamStartsInSyncAtTheSynsSequenceNumberPlusOne) {
    EXPECT_EQ(calls_seen(true), 1U) << "the SYN says where the first record mark is";
}

TEST(RpcAnalyzer, WithoutASynTheStreamHuntsForALastFragmentMark) {
    EXPECT_EQ(calls_seen(false), 0U) << "a first fragment is not a plausible resync point";
}

// One record (a single last fragment) with these XDR words.
ByteVec record(std::initializer_list<std::uint32_t> words) {
    ByteVec wire;
    put32(wire, 0x80000000U | static_cast<std::uint32_t>(4 * words.size()));
    for (const std::uint32_t w : words) {
        put32(wire, w);
    }
    return wire;
}

// One capture point, the RPC analyzer plugged in, and a client's SYN (ISN 1000) sent.
struct OneConnection {
    explicit OneConnection(analyze::RpcOptions options = {}) : rpc(options) {
        a.add_point("p");
        a.add_plugin(rpc);
        feed.send(client_segment(tf::kSyn, 1000));
    }
    analyze::ConnectionAnalyzer a{{}};
    analyze::RpcAnalyzer rpc;
    Feeder feed{a};
};

TEST(RpcAnalyzer, ALongConnectionRetiresAnsweredCallsAndKeepsCountingThem) {
    OneConnection c;
    analyze::ConnectionAnalyzer& a = c.a;
    Feeder& feed = c.feed;
    PacketBuilder synack;
    synack.ethernet()
        .ipv4("10.244.2.7", "10.244.1.5")
        .tcp(2049, 40000, tf::kSyn | tf::kAck, 5000, 1001);
    feed.send(synack);
    const std::size_t n = 3 * analyze::kMaxCallsPerConnection + 7;
    std::uint32_t cseq = 1001;
    std::uint32_t sseq = 5001;
    for (std::size_t i = 0; i < n; ++i) {
        const auto xid = static_cast<std::uint32_t>(0x10000 + i);
        ByteVec call = record({xid, 0, 2, 100003, 4, 0, 0, 0, 0, 0});
        ByteVec reply = record({xid, 1, 0, 0, 0, 0});
        const auto clen = static_cast<std::uint32_t>(call.size());
        const auto rlen = static_cast<std::uint32_t>(reply.size());
        feed.send(client_segment(tf::kAck | tf::kPsh, cseq, std::move(call)));
        PacketBuilder r;
        r.ethernet()
            .ipv4("10.244.2.7", "10.244.1.5")
            .tcp(2049, 40000, tf::kAck | tf::kPsh, sseq, cseq + clen);
        r.payload(std::move(reply));
        feed.send(r);
        cseq += clen;
        sseq += rlen;
    }
    const auto reports = a.finish();
    ASSERT_EQ(reports.size(), 1U);
    ASSERT_TRUE(reports[0].rpc);
    const analyze::RpcFacts& f = *reports[0].rpc;
    EXPECT_EQ(f.calls, n);
    EXPECT_EQ(f.replies, n);
    EXPECT_EQ(f.unique_call_xids, n);
    EXPECT_EQ(f.matched_call_xids, n) << "every reply found its call, also past the table's size";
    EXPECT_EQ(f.unmatched_call_xids, 0U);
    EXPECT_EQ(f.bounds_hit, 0U);
}

// A call that the connection's close leaves unanswered: its frame is evidence. Without an
// evidence file the frame is named (number, note) but its bytes are not copied.
std::vector<EvidenceFrame> unanswered_call_evidence(bool frame_bytes) {
    analyze::ConnectionAnalyzer a({});
    a.add_point("p");
    analyze::RpcAnalyzer rpc(analyze::RpcOptions{.frame_bytes = frame_bytes});
    a.add_plugin(rpc);
    Feeder feed(a);
    feed.send(client_segment(tf::kSyn, 1000));
    ByteVec call = record({0x77, 0, 2, 100003, 4, 0, 0, 0, 0, 0});
    const auto clen = static_cast<std::uint32_t>(call.size());
    feed.send(client_segment(tf::kAck | tf::kPsh, 1001, std::move(call)));
    feed.send(client_segment(tf::kAck | tf::kFin, 1001 + clen));
    const auto reports = a.finish();
    EXPECT_EQ(reports.size(), 1U);
    std::vector<EvidenceFrame> rpc_frames;
    for (const EvidenceFrame& e :
         reports.empty() ? std::vector<EvidenceFrame>{} : reports[0].evidence) {
        if (e.note.kind == EvidenceNote::Kind::RpcCall) {
            rpc_frames.push_back(e);
        }
    }
    return rpc_frames;
}

TEST(RpcAnalyzer, EvidenceFramesKeepTheirBytesOnlyWhenAskedTo) {
    const std::vector<EvidenceFrame> with = unanswered_call_evidence(true);
    const std::vector<EvidenceFrame> without = unanswered_call_evidence(false);
    ASSERT_EQ(with.size(), 1U);
    ASSERT_EQ(without.size(), 1U);
    EXPECT_EQ(with[0].frame, 2U);
    EXPECT_EQ(without[0].frame, with[0].frame);
    EXPECT_EQ(without[0].wirelen, with[0].wirelen);
    EXPECT_FALSE(with[0].bytes.empty());
    EXPECT_TRUE(without[0].bytes.empty());
}

// A client chooses its procedure numbers: one connection counts at most kMaxCountKeys distinct
// procedures, and the calls beyond are bound hits, not new table entries.
TEST(RpcAnalyzer, DistinctProceduresPerConnectionAreBounded) {
    OneConnection c;
    analyze::ConnectionAnalyzer& a = c.a;
    Feeder& feed = c.feed;
    const std::size_t n = analyze::kMaxCountKeys + 36;
    std::uint32_t seq = 1001;
    for (std::size_t i = 0; i < n; ++i) {
        const auto proc = static_cast<std::uint32_t>(1000 + i);
        ByteVec call =
            record({static_cast<std::uint32_t>(0x100 + i), 0, 2, 100003, 3, proc, 0, 0, 0, 0});
        const auto len = static_cast<std::uint32_t>(call.size());
        feed.send(client_segment(tf::kAck | tf::kPsh, seq, std::move(call)));
        seq += len;
    }
    const auto reports = a.finish();
    ASSERT_EQ(reports.size(), 1U);
    ASSERT_TRUE(reports[0].rpc);
    EXPECT_EQ(reports[0].rpc->calls, n);
    EXPECT_EQ(reports[0].rpc->procedures.size(), analyze::kMaxCountKeys);
    EXPECT_EQ(reports[0].rpc->bounds_hit, 36U);
}

}  // namespace
}  // namespace vxcheck::test

namespace vxcheck::test {
namespace {

// A call that TCP carried and nothing answered, then other traffic (a ping, no RPC) for
// `then_s` seconds: whether the connection is rpc_unanswered.
bool unanswered_after_other_traffic(double then_s) {
    analyze::ConnectionAnalyzer a({});
    a.add_point("p");
    analyze::RpcAnalyzer rpc;
    a.add_plugin(rpc);
    Feeder feed(a);
    feed.send_at(client_segment(tf::kSyn, 1000), 0);
    feed.send_at(
        client_segment(tf::kAck | tf::kPsh, 1001, record({0x99, 0, 2, 100003, 3, 0, 0, 0, 0, 0})),
        0.001);
    PacketBuilder ping;
    ping.ethernet().ipv4("10.244.1.5", "10.244.2.7").icmp(8, 0).payload(8);
    feed.send_at(ping, 0.001 + then_s);
    const auto reports = a.finish();
    EXPECT_EQ(reports.size(), 1U);
    return !reports.empty() && reports[0].has(analyze::Verdict::RpcUnanswered);
}

TEST(RpcAnalyzer, TheCaptureEndsAtItsLastPacketNotAtTheLastRpcSegment) {
    // The rule: a call is unanswered when the capture continues 5 s after it; packets that are
    // not RPC count (the capture ran on).
    EXPECT_TRUE(unanswered_after_other_traffic(6.0));
    EXPECT_FALSE(unanswered_after_other_traffic(3.0)) << "in the last 5 s of the capture: pending";
}

}  // namespace
}  // namespace vxcheck::test

namespace vxcheck::test {
namespace {

PacketBuilder server_segment(std::uint8_t flags, std::uint32_t seq, std::uint32_t ack) {
    PacketBuilder b;
    b.ethernet().ipv4("10.244.2.7", "10.244.1.5").tcp(2049, 40000, flags, seq, ack);
    return b;
}

TEST(RpcAnalyzer, ACallSentAfterTheServersFinIsUnansweredWhenTheClientClosesAfterIt) {
    // The rule's (c): the connection is closed (FIN/RST) after the call. The server half-closes
    // first; the client still sends a call and then closes its side: the call cannot be
    // answered on this connection, though the capture ends within 5 s of it.
    analyze::ConnectionAnalyzer a({});
    a.add_point("p");
    analyze::RpcAnalyzer rpc;
    a.add_plugin(rpc);
    Feeder feed(a);
    feed.send_at(client_segment(tf::kSyn, 1000), 0);
    feed.send_at(server_segment(tf::kSyn | tf::kAck, 5000, 1001), 0.0001);
    ByteVec null = record({0x76, 0, 2, 100003, 3, 0, 0, 0, 0, 0});
    ByteVec reply = record({0x76, 1, 0, 0, 0, 0});
    std::uint32_t seq = 1001;
    const std::uint32_t fin_seq = 5001 + static_cast<std::uint32_t>(reply.size());
    seq += static_cast<std::uint32_t>(null.size());
    feed.send_at(client_segment(tf::kAck | tf::kPsh, 1001, std::move(null)), 0.1);
    PacketBuilder answer = server_segment(tf::kAck | tf::kPsh, 5001, seq);
    answer.payload(std::move(reply));
    feed.send_at(answer, 0.2);
    feed.send_at(server_segment(tf::kFin | tf::kAck, fin_seq, seq), 0.5);
    ByteVec call = record({0x77, 0, 2, 100003, 3, 1, 0, 0, 0, 0});
    const auto len = static_cast<std::uint32_t>(call.size());
    feed.send_at(client_segment(tf::kAck | tf::kPsh, seq, std::move(call)), 0.6);
    feed.send_at(client_segment(tf::kFin | tf::kAck, seq + len), 0.7);
    const auto reports = a.finish();
    ASSERT_EQ(reports.size(), 1U);
    EXPECT_TRUE(reports[0].has(analyze::Verdict::RpcUnanswered));
}

TEST(RpcAnalyzer, AResentCallsResponseTimeRunsFromItsFirstCopyAsTsharkCountsIt) {
    // tshark -z rpc,srt (issue 19 item 4) times a reply from the first call with its XID on the
    // connection; an RPC-level resend (another sequence number) does not restart the clock.
    analyze::ConnectionAnalyzer a({});
    a.add_point("p");
    analyze::RpcAnalyzer rpc;
    a.add_plugin(rpc);
    Feeder feed(a);
    feed.send_at(client_segment(tf::kSyn, 1000), 0);
    feed.send_at(server_segment(tf::kSyn | tf::kAck, 5000, 1001), 0.0001);
    const ByteVec call = record({0x88, 0, 2, 100003, 3, 1, 0, 0, 0, 0});
    const auto len = static_cast<std::uint32_t>(call.size());
    feed.send_at(client_segment(tf::kAck | tf::kPsh, 1001, call), 0.1);
    feed.send_at(client_segment(tf::kAck | tf::kPsh, 1001 + len, call), 1.1);
    PacketBuilder answer = server_segment(tf::kAck | tf::kPsh, 5001, 1001 + 2 * len);
    answer.payload(record({0x88, 1, 0, 0, 0, 0, 0}));
    feed.send_at(answer, 1.1004);
    const auto reports = a.finish();
    ASSERT_EQ(reports.size(), 1U);
    ASSERT_TRUE(reports[0].rpc);
    const auto& srt = reports[0].rpc->srt;
    const auto it = std::find_if(srt.begin(), srt.end(),
                                 [](const auto& e) { return e.first == "NFS v3 GETATTR"; });
    ASSERT_NE(it, srt.end());
    EXPECT_EQ(it->second.count, 1U);
    EXPECT_NEAR(it->second.min, 1.0004, 1e-6);
}

TEST(RpcAnalyzer, AResendAnsweredAfterAReconnectFromTheSamePortClearsTheClosedConnection) {
    // rpc_unanswered (b): the Linux client reconnects from the same source port and resends the
    // call, which is answered. The closed connection is decided when the new SYN reuses its
    // 4-tuple, before that answer: its verdict waits for the rest of the capture.
    analyze::ConnectionAnalyzer a({});
    a.add_point("p");
    analyze::RpcAnalyzer rpc;
    a.add_plugin(rpc);
    Feeder feed(a);
    const ByteVec call = record({0x99, 0, 2, 100003, 3, 1, 0, 0, 0, 0});
    const auto len = static_cast<std::uint32_t>(call.size());
    feed.send_at(client_segment(tf::kSyn, 1000), 0);
    feed.send_at(server_segment(tf::kSyn | tf::kAck, 5000, 1001), 0.0001);
    feed.send_at(client_segment(tf::kAck | tf::kPsh, 1001, call), 0.1);
    feed.send_at(server_segment(tf::kFin | tf::kAck, 5001, 1001 + len), 1.0);
    feed.send_at(client_segment(tf::kFin | tf::kAck, 1001 + len), 1.0001);
    feed.send_at(client_segment(tf::kSyn, 9000), 2.0);
    feed.send_at(server_segment(tf::kSyn | tf::kAck, 7000, 9001), 2.0001);
    feed.send_at(client_segment(tf::kAck | tf::kPsh, 9001, call), 2.1);
    PacketBuilder answer = server_segment(tf::kAck | tf::kPsh, 7001, 9001 + len);
    answer.payload(record({0x99, 1, 0, 0, 0, 0, 0}));
    feed.send_at(answer, 2.1004);
    feed.send_at(client_segment(tf::kAck, 9001 + len), 10.0);
    const auto reports = a.finish();
    ASSERT_EQ(reports.size(), 2U);
    EXPECT_FALSE(reports[0].has(analyze::Verdict::RpcUnanswered));
    EXPECT_TRUE(reports[0].has(analyze::Verdict::Clean));
    EXPECT_TRUE(reports[1].has(analyze::Verdict::RpcRetransmitted));
}

}  // namespace
}  // namespace vxcheck::test

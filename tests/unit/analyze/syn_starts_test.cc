// What a connection's record keeps for the plug-ins instead of their noting every SYN
// (SynStarts, SegmentView::order), and its history packed two letters to a byte.

#include <gtest/gtest.h>

#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

#include "analyze/flow.h"
#include "rpc_feed.h"
#include "vxcheck/analyze/plugin.h"
#include "vxcheck/analyze/rpc_analyzer.h"

namespace vxcheck::test {
namespace {

namespace tf = decode::tcp_flag;
using analyze::SynStarts;

TEST(SynStarts, TheFirstPointToShowASynFeedsItsDirection) {
    SynStarts s;
    EXPECT_FALSE(s.any());
    s.on_syn(true, 1000, 3);
    EXPECT_TRUE(s.any());
    EXPECT_EQ(s.point[0], 3U);
    EXPECT_EQ(s.next[0], 1001U);
    EXPECT_EQ(s.point[1], SynStarts::kNoPoint) << "the other direction has shown no SYN";
    s.on_syn(true, 7000, 4);  // the same SYN or another, seen at a later point
    EXPECT_EQ(s.point[0], 3U);
    EXPECT_EQ(s.next[0], 1001U) << "a point that does not feed the direction changes nothing";
    s.on_syn(true, 2000, 3);  // a new attempt at the feeding point
    EXPECT_EQ(s.next[0], 2001U) << "the feeding point's latest SYN starts the stream";
    s.on_syn(false, 0xFFFFFFFFU, 4);  // the SYN-ACK, first seen at point 4
    EXPECT_EQ(s.point[1], 4U);
    EXPECT_EQ(s.next[1], 0U) << "sequence numbers wrap";
    EXPECT_EQ(s.point[0], 3U);
}

// An NFSv4 NULL call (AUTH_NONE) in two record-marking fragments of 20 bytes: only a stream
// that knows where the record starts reads it (a stream hunting for a mark accepts last
// fragments only).
ByteVec two_fragment_null_call(std::uint32_t xid) {
    ByteVec body;
    for (const std::uint32_t w : {xid, 0U, 2U, 100003U, 4U, 0U, 0U, 0U, 0U, 0U}) {
        body.insert(body.end(),
                    {static_cast<std::uint8_t>(w >> 24), static_cast<std::uint8_t>(w >> 16),
                     static_cast<std::uint8_t>(w >> 8), static_cast<std::uint8_t>(w)});
    }
    ByteVec wire{0, 0, 0, 20};
    wire.insert(wire.end(), body.begin(), body.begin() + 20);
    wire.insert(wire.end(), {0x80, 0, 0, 20});
    wire.insert(wire.end(), body.begin() + 20, body.end());
    return wire;
}

// The call, alone at capture point 0 (no SYN segment fed), with `starts` handed over as the
// connection analysis would; the calls the RPC analyzer counts.
std::uint64_t calls_with(const SynStarts& starts) {
    analyze::RpcAnalyzer rpc;
    analyze::SegmentView v;
    v.client.addr = {10, 244, 1, 5};
    v.client.port = 40000;
    v.server.addr = {10, 244, 2, 7};
    v.server.port = 2049;
    v.from_client = true;
    v.seq = 1001;
    v.flags = tf::kAck | tf::kPsh;
    const ByteVec call = two_fragment_null_call(0x1234);
    v.payload = Bytes{call};
    v.claimed_payload = static_cast<std::uint32_t>(call.size());
    v.frame = 1;
    v.point = 0;
    v.starts = starts;
    rpc.on_segment(v);
    analyze::ConnectionReport r;
    rpc.decide(v.flow, r);
    return r.rpc ? r.rpc->calls : 0;
}

TEST(SynStarts, TheRpcAnalyzerStartsItsStreamsFromThemAtTheFirstPayload) {
    SynStarts at0;
    at0.on_syn(true, 1000, 0);
    EXPECT_EQ(calls_with(at0), 1U) << "the stream starts in sync at the SYN's ISN + 1";
    EXPECT_EQ(calls_with(SynStarts{}), 0U) << "without a SYN the stream hunts for a last fragment";
    SynStarts at1;
    at1.on_syn(true, 1000, 1);
    EXPECT_EQ(calls_with(at1), 0U) << "point 1 feeds the client's direction, not point 0";
}

// Connection `flow` from 10.244.1.0:(800 + flow) to 10.244.2.5:2049, in the order of first
// sight `order`, sends the same GETATTR call (xid 7) after a handshake.
void send_call(analyze::RpcAnalyzer& rpc, analyze::FlowId flow, std::uint64_t order,
               std::int64_t sec) {
    analyze::SegmentView v;
    v.flow = flow;
    v.order = order;
    v.client.addr = {10, 244, 1, 0};
    v.client.port = static_cast<std::uint16_t>(800 + flow);
    v.server.addr = {10, 244, 2, 5};
    v.server.port = 2049;
    v.ts.sec = sec;
    const std::vector<RpcSeg> segs =
        rpc_exchanges({{rpc_call(7, 100003, 3, 1, {0, 0, 0, 4, 1, 2, 3, 4}), {}}});
    for (const RpcSeg& s : segs) {
        if (!s.from_client && !(s.flags & tf::kSyn)) {
            continue;  // no reply
        }
        take_segment(v, s);
        rpc.on_segment(v);
    }
}

// Which of connections 0 and 1 reports xid 7 as resent from an earlier connection, when
// connection 0 carries it first and the connections were first seen in `order0`, `order1`.
std::vector<bool> resent_from_earlier(std::uint64_t order0, std::uint64_t order1) {
    analyze::RpcAnalyzer rpc;
    send_call(rpc, 0, order0, 1);
    send_call(rpc, 1, order1, 2);
    std::vector<bool> out;
    for (const analyze::FlowId flow : {0U, 1U}) {
        analyze::ConnectionReport r;
        rpc.decide(flow, r);
        out.push_back(r.rpc && !r.rpc->resent_from_earlier_connection.empty());
    }
    return out;
}

TEST(SynStarts, ConnectionsAreOrderedByFirstSightNotByFirstPayload) {
    EXPECT_EQ(resent_from_earlier(4, 9), (std::vector<bool>{false, true}))
        << "the later connection resends the earlier one's call";
    EXPECT_EQ(resent_from_earlier(9, 4), (std::vector<bool>{false, false}))
        << "connection 1 was seen first: its call is no copy, though it came second";
}

TEST(FlowHistory, EveryLetterOnceInTheOrderSeenTwoToAByte) {
    using analyze::Event;
    analyze::Flow f;
    const std::vector<std::pair<Event, bool>> events{
        {Event::Syn, true},  {Event::SynAck, false}, {Event::Ack, true},  {Event::Data, true},
        {Event::Data, true}, {Event::Data, false},   {Event::Ack, false}, {Event::Fin, true},
        {Event::Syn, false}, {Event::SynAck, true},  {Event::Rst, false}, {Event::Fin, false},
        {Event::Rst, true},  {Event::Syn, true},     {Event::Ack, false}};
    std::string seen;
    for (const auto& [e, from_client] : events) {
        analyze::add_history(f, e, from_client);
    }
    for (std::size_t i = 0; i < f.history_len; ++i) {
        seen += analyze::history_letter(f, i);
    }
    EXPECT_EQ(seen, "ShADdaFsHrfR") << "repeated letters are recorded once";
    EXPECT_EQ(f.history_len, analyze::kMaxHistory) << "all twelve letters fit";
}

}  // namespace
}  // namespace vxcheck::test

// The RPC analyzer as a plug-in of the connection analyzer: where a direction's record stream
// starts, from the SYN or, without one, at the first plausible record mark.

#include "vxcheck/analyze/rpc_analyzer.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "feeder.h"
#include "packet_builder.h"
#include "vxcheck/analyze/connections.h"

namespace vxcheck::test {
namespace {

namespace tf = decode::tcp_flag;

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

}  // namespace
}  // namespace vxcheck::test

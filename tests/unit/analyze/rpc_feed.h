#pragma once
// Feeds ONC RPC conversations straight into an RpcAnalyzer as TCP segments of one connection,
// through its plug-in entry points (shared by the RPC tests of tests/unit/analyze).

#include <cstdint>
#include <utility>
#include <vector>

#include "vxcheck/analyze/connection_report.h"
#include "vxcheck/analyze/rpc_analyzer.h"
#include "vxcheck/decode/packet.h"
#include "xdr_builder.h"

namespace vxcheck::test {

struct RpcSeg {
    bool from_client = true;
    std::uint32_t seq = 0;
    std::uint8_t flags = 0;
    ByteVec payload;
    std::uint32_t ack = 0;  // with kAck in flags
};

inline constexpr std::uint32_t kRpcIsn[2] = {1000, 5000};  // client, server

/// What the connection analysis keeps of a connection's SYNs for the plug-ins and hands over
/// with each segment (SegmentView::starts): a test that feeds a plug-in directly calls this
/// before on_segment(v), with v.starts its connection's.
inline void note_starts(analyze::SegmentView& v) {
    if ((v.flags & decode::tcp_flag::kSyn) != 0) {
        v.starts.on_syn(v.from_client, v.seq, v.point);
    }
}

/// Makes v segment s of its connection (direction, sequence number, flags, payload), the next
/// frame, with the connection's SYN starts noted (note_starts(): v.point set first).
inline void take_segment(analyze::SegmentView& v, const RpcSeg& s) {
    v.from_client = s.from_client;
    v.seq = s.seq;
    v.flags = s.flags;
    v.ack = s.ack;
    v.payload = Bytes{s.payload};
    v.claimed_payload = static_cast<std::uint32_t>(s.payload.size());
    ++v.frame;
    note_starts(v);
}

/// The handshake, then each (CALL, REPLY) message pair as one record per segment.
inline std::vector<RpcSeg> rpc_exchanges(const std::vector<std::pair<ByteVec, ByteVec>>& pairs) {
    namespace tf = decode::tcp_flag;
    std::vector<RpcSeg> out{{true, kRpcIsn[0], tf::kSyn, {}},
                            {false, kRpcIsn[1], tf::kSyn | tf::kAck, {}}};
    std::uint32_t next[2] = {kRpcIsn[0] + 1, kRpcIsn[1] + 1};
    for (const auto& [call, reply] : pairs) {
        for (const bool from_client : {true, false}) {
            ByteVec rec = record(from_client ? call : reply);
            const std::size_t dir = from_client ? 0 : 1;
            out.push_back({from_client, next[dir], tf::kAck | tf::kPsh, rec});
            next[dir] += static_cast<std::uint32_t>(rec.size());
        }
    }
    return out;
}

/// A segment as it is fed: at a capture point, stamped `us` microseconds into the capture (the
/// order of feeding is the order of reading, which the stamps need not follow).
struct Fed {
    std::uint16_t point = 0;
    const RpcSeg* seg = nullptr;
    std::uint32_t us = 0;
};

/// Feeds the segments as one connection from 10.244.1.0:800 to 10.244.2.5:`server_port` and
/// returns its facts.
inline analyze::RpcFacts analyse_rpc(const std::vector<Fed>& fed,
                                     std::uint16_t server_port = 2049) {
    analyze::RpcAnalyzer analyzer;
    analyze::SegmentView v;
    v.client.addr = {10, 244, 1, 0};
    v.client.port = 800;
    v.server.addr = {10, 244, 2, 5};
    v.server.port = server_port;
    for (const Fed& f : fed) {
        v.point = f.point;
        v.ts = Timestamp{.sec = 0, .nsec = f.us * 1000};
        take_segment(v, *f.seg);
        analyzer.on_segment(v);
    }
    analyze::ConnectionReport r;
    analyzer.ending(v.flow);  // the last decision, as the connection analysis makes it
    analyzer.decide(v.flow, r);
    return r.rpc.value_or(analyze::RpcFacts{});
}

/// Feeds (capture point, segment) pairs, one microsecond apart, as analyse_rpc(fed) does.
inline analyze::RpcFacts analyse_rpc(
    const std::vector<std::pair<std::uint16_t, const RpcSeg*>>& order,
    std::uint16_t server_port = 2049) {
    std::vector<Fed> fed;
    std::uint32_t us = 0;
    for (const auto& [point, seg] : order) {
        fed.push_back({.point = point, .seg = seg, .us = ++us});
    }
    return analyse_rpc(fed, server_port);
}

/// Every segment once, at capture point 0.
inline analyze::RpcFacts analyse_rpc(const std::vector<RpcSeg>& segs,
                                     std::uint16_t server_port = 2049) {
    std::vector<std::pair<std::uint16_t, const RpcSeg*>> order;
    for (const RpcSeg& s : segs) {
        order.emplace_back(0, &s);
    }
    return analyse_rpc(order, server_port);
}

}  // namespace vxcheck::test

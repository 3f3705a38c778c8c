// ONC RPC over UDP (rpc_analyzer.h): one datagram is one message, a flow is (client ip:port,
// server ip:port) from its first call, and it is reported as a connection with transport udp.

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "feeder.h"
#include "packet_builder.h"
#include "vxcheck/analyze/connections.h"
#include "vxcheck/analyze/rpc_analyzer.h"
#include "vxcheck/rpc/message.h"
#include "vxcheck/rpc/mount.h"
#include "xdr_builder.h"

namespace vxcheck::test {
namespace {

using analyze::ConnectionReport;
using analyze::Transport;
using analyze::Verdict;

constexpr const char* kClient = "10.244.1.5";
constexpr const char* kServer = "10.244.2.5";
constexpr std::uint32_t kGetattr = 1;

ByteVec nfs3_getattr(std::uint32_t xid) {
    return rpc_call(xid, rpc::kProgNfs, 3, kGetattr, Xdr().opaque(ByteVec(16, 1)).bytes());
}

// A datagram between the client and the server, `to_server` or back.
PacketBuilder datagram(bool to_server, std::uint16_t cport, std::uint16_t sport, ByteVec payload) {
    PacketBuilder b;
    b.ethernet();
    if (to_server) {
        b.ipv4(kClient, kServer).udp(cport, sport);
    } else {
        b.ipv4(kServer, kClient).udp(sport, cport);
    }
    b.payload(std::move(payload));
    return b;
}

// A connection analyzer with the RPC analyzer registered as `analyze` does.
struct UdpRun {
    explicit UdpRun(analyze::ConnectionOptions o = {}) : a(std::move(o)), feed(a) {
        a.add_point("p");
        a.add_plugin(rpc);
        a.add_datagram_plugin(rpc);
    }
    void send(double t, bool to_server, std::uint16_t cport, std::uint16_t sport, ByteVec msg) {
        feed.send_at(datagram(to_server, cport, sport, std::move(msg)), t);
    }
    std::vector<ConnectionReport> udp_reports() {
        std::vector<ConnectionReport> out = a.finish();
        std::erase_if(out, [](const ConnectionReport& r) { return r.transport != Transport::Udp; });
        return out;
    }

    analyze::RpcAnalyzer rpc;
    analyze::ConnectionAnalyzer a;
    Feeder feed;
};

TEST(RpcOverUdp, AReplyMatchesTheCallSentTheOtherWayOnTheFlow) {
    UdpRun run;
    run.send(0.0, true, 801, 2049, nfs3_getattr(0x1001));
    run.send(0.001, false, 801, 2049, rpc_reply(0x1001, Xdr().u32(0).bytes()));
    const std::vector<ConnectionReport> r = run.udp_reports();
    ASSERT_EQ(r.size(), 1U);
    EXPECT_EQ(track::to_string(r[0].client), "10.244.1.5:801");
    EXPECT_EQ(track::to_string(r[0].server), "10.244.2.5:2049");
    EXPECT_EQ(r[0].packets, 2U);
    ASSERT_TRUE(r[0].rpc);
    EXPECT_EQ(r[0].rpc->calls, 1U);
    EXPECT_EQ(r[0].rpc->replies, 1U);
    EXPECT_EQ(r[0].rpc->matched_call_xids, 1U);
    EXPECT_EQ(r[0].rpc->unmatched_call_xids, 0U);
    EXPECT_EQ(r[0].verdicts, std::vector<Verdict>{Verdict::Clean});
    EXPECT_EQ(run.a.stats().udp_flows, 1U);
    EXPECT_EQ(run.a.stats().udp_datagrams, 2U);
}

TEST(RpcOverUdp, ADatagramThatIsNotACallOfAKnownProgramStartsNoFlow) {
    analyze::ConnectionOptions all;
    all.all_ports = true;
    UdpRun run(all);
    run.send(0.0, true, 40000, 53, ByteVec(40, 0xab));   // DNS-like bytes on a watched port
    run.send(0.1, false, 801, 2049, rpc_reply(0x2001));  // a reply whose call was not seen
    run.send(0.2, true, 801, 2049, rpc_call(0x2002, 390000, 1, 1));  // an unknown program
    EXPECT_TRUE(run.udp_reports().empty());
    EXPECT_EQ(run.a.stats().udp_flows, 0U);
    EXPECT_EQ(run.a.stats().udp_datagrams, 0U);
    EXPECT_EQ(run.a.stats().udp_not_rpc, 0U);  // port 53 is not an RPC port; the rest parse
}

TEST(RpcOverUdp, ACallOnAnUnwatchedPortIsIgnoredUntilPortmapHandsThePortOut) {
    UdpRun run;  // default options: port 2049 only
    const ByteVec mnt =
        rpc_call(0x3003, rpc::kProgMount, 3, rpc::kMountProcMnt, Xdr().str("/export").bytes());
    run.send(0.0, true, 812, 20048, mnt);
    const ByteVec ask = Xdr().u32(rpc::kProgMount).u32(3).u32(rpc::kIpprotoUdp).u32(0).bytes();
    run.send(0.1, true, 811, 111,
             rpc_call(0x3001, rpc::kProgPortmap, 2, rpc::kPmapProcGetport, ask));
    run.send(0.2, false, 811, 111, rpc_reply(0x3001, Xdr().u32(20048).bytes()));
    run.send(0.3, true, 812, 20048, mnt);
    run.send(0.4, false, 812, 20048, rpc_reply(0x3003, Xdr().u32(0).opaque({1, 2}).bytes()));
    const std::vector<ConnectionReport> r = run.udp_reports();
    ASSERT_EQ(r.size(), 2U);
    EXPECT_EQ(r[0].server.port, 111U);
    EXPECT_EQ(r[1].server.port, 20048U);
    ASSERT_TRUE(r[1].rpc);
    EXPECT_EQ(r[1].rpc->calls, 1U);  // the call before the GETPORT reply was not looked at
    EXPECT_EQ(r[1].rpc->matched_call_xids, 1U);
}

TEST(RpcOverUdp, AnRpcbindGetaddrReplyTeachesThePortOfItsUniversalAddress) {
    UdpRun run;
    const ByteVec ask = Xdr().u32(rpc::kProgNlm).u32(4).str("udp").str("").str("").bytes();
    run.send(0.0, true, 811, 111,
             rpc_call(0x4001, rpc::kProgPortmap, 4, rpc::kRpcbProcGetaddr, ask));
    run.send(0.1, false, 811, 111, rpc_reply(0x4001, Xdr().str("10.244.2.5.128.10").bytes()));
    run.send(0.2, true, 813, 32778, rpc_call(0x4002, rpc::kProgNlm, 4, 0));  // 128 * 256 + 10
    const std::vector<ConnectionReport> r = run.udp_reports();
    ASSERT_EQ(r.size(), 2U);
    EXPECT_EQ(r[1].server.port, 32778U);
}

TEST(RpcOverUdp, AGetportForTcpTeachesNoUdpPort) {
    UdpRun run;
    const ByteVec ask = Xdr().u32(rpc::kProgMount).u32(3).u32(rpc::kIpprotoTcp).u32(0).bytes();
    run.send(0.0, true, 811, 111,
             rpc_call(0x5001, rpc::kProgPortmap, 2, rpc::kPmapProcGetport, ask));
    run.send(0.1, false, 811, 111, rpc_reply(0x5001, Xdr().u32(20048).bytes()));
    run.send(0.2, true, 812, 20048, rpc_call(0x5002, rpc::kProgMount, 3, 0));
    EXPECT_EQ(run.udp_reports().size(), 1U);  // portmap only
}

TEST(RpcOverUdp, ACallSeenAgainWithItsXidIsARetransmission) {
    UdpRun run;
    run.send(0.0, true, 801, 2049, nfs3_getattr(0x6001));
    run.send(1.1, true, 801, 2049, nfs3_getattr(0x6001));
    run.send(1.2, false, 801, 2049, rpc_reply(0x6001, Xdr().u32(0).bytes()));
    const std::vector<ConnectionReport> r = run.udp_reports();
    ASSERT_EQ(r.size(), 1U);
    EXPECT_EQ(r[0].verdicts, std::vector<Verdict>{Verdict::RpcRetransmitted});
    ASSERT_TRUE(r[0].rpc);
    EXPECT_EQ(r[0].rpc->retransmitted_xids, std::vector<std::uint32_t>{0x6001});
    EXPECT_EQ(r[0].rpc->calls, 2U);
    EXPECT_EQ(r[0].rpc->unique_call_xids, 1U);
}

TEST(RpcOverUdp, TheSameDatagramAtASecondCapturePointIsNotAResend) {
    UdpRun run;
    const std::uint16_t second = run.a.add_point("q");
    run.send(0.0, true, 801, 2049, nfs3_getattr(0x6101));
    run.feed.at_point(second);
    run.send(0.0001, true, 801, 2049, nfs3_getattr(0x6101));  // the node's copy of it
    run.feed.at_point(0);
    run.send(0.001, false, 801, 2049, rpc_reply(0x6101, Xdr().u32(0).bytes()));
    const std::vector<ConnectionReport> r = run.udp_reports();
    ASSERT_EQ(r.size(), 1U);
    EXPECT_EQ(r[0].verdicts, std::vector<Verdict>{Verdict::Clean});
    ASSERT_TRUE(r[0].rpc);
    EXPECT_EQ(r[0].rpc->calls, 1U);
    EXPECT_EQ(r[0].points.size(), 2U) << "both points saw the flow";
}

TEST(RpcOverUdp, ACallUnansweredForFiveSecondsOfCaptureIsUnanswered) {
    UdpRun run;
    run.send(0.0, true, 801, 2049, nfs3_getattr(0x7001));  // never answered
    run.send(4.0, true, 801, 2049, nfs3_getattr(0x7002));  // answered
    run.send(4.1, false, 801, 2049, rpc_reply(0x7002, Xdr().u32(0).bytes()));
    run.send(6.0, true, 801, 2049, nfs3_getattr(0x7003));  // too recent at the end
    const std::vector<ConnectionReport> r = run.udp_reports();
    ASSERT_EQ(r.size(), 1U);
    EXPECT_EQ(r[0].verdicts, std::vector<Verdict>{Verdict::RpcUnanswered});
    ASSERT_TRUE(r[0].rpc);
    ASSERT_EQ(r[0].rpc->findings.size(), 1U);
    EXPECT_EQ(r[0].rpc->findings[0].xid, 0x7001U);
    EXPECT_FALSE(r[0].rpc->findings[0].closed);
}

TEST(RpcOverUdp, GarbageOnAnRpcPortIsCountedAndNeverTracked) {
    UdpRun run;
    run.send(0.0, true, 801, 2049, ByteVec(64, 0xff));  // msg_type 0xffffffff
    run.send(0.1, true, 801, 2049, ByteVec(3, 0x00));   // shorter than any header
    run.send(0.2, true, 801, 111, ByteVec{});           // empty
    EXPECT_EQ(run.a.stats().udp_not_rpc, 3U);
    EXPECT_EQ(run.a.stats().udp_flows, 0U);
    run.send(0.3, true, 801, 2049, nfs3_getattr(0x8001));
    run.send(0.4, true, 801, 2049, ByteVec(64, 0xff));  // inside a flow: a garbled message
    const std::vector<ConnectionReport> r = run.udp_reports();
    ASSERT_EQ(r.size(), 1U);
    ASSERT_TRUE(r[0].rpc);
    EXPECT_EQ(r[0].rpc->garbled, 1U);
    EXPECT_EQ(r[0].rpc->calls, 1U);
}

TEST(RpcOverUdp, TheDatagramInsideVxlanIsTheOneAnalysed) {
    UdpRun run;
    const auto wrapped = [](bool to_server, ByteVec msg) {
        PacketBuilder b;
        b.ethernet();
        if (to_server) {
            b.ipv4("192.168.0.1", "192.168.0.2").udp(40001, 8472).vxlan(1).ethernet();
            b.ipv4(kClient, kServer).udp(801, 2049);
        } else {
            b.ipv4("192.168.0.2", "192.168.0.1").udp(50002, 8472).vxlan(1).ethernet();
            b.ipv4(kServer, kClient).udp(2049, 801);
        }
        return b.payload(std::move(msg));
    };
    run.feed.send_at(wrapped(true, nfs3_getattr(0x9001)), 0.0);
    run.feed.send_at(wrapped(false, rpc_reply(0x9001, Xdr().u32(0).bytes())), 0.1);
    const std::vector<ConnectionReport> r = run.udp_reports();
    ASSERT_EQ(r.size(), 1U);
    EXPECT_EQ(track::to_string(r[0].server), "10.244.2.5:2049");
    ASSERT_TRUE(r[0].rpc);
    EXPECT_EQ(r[0].rpc->matched_call_xids, 1U);
    ASSERT_TRUE(r[0].tunnelled);
    EXPECT_EQ(track::ip_to_string(r[0].outer_client), "192.168.0.1");
    EXPECT_EQ(track::ip_to_string(r[0].outer_server), "192.168.0.2");
    EXPECT_EQ(r[0].vni, 1U);
    EXPECT_EQ(r[0].outer_sports, std::vector<std::uint16_t>{40001});
    EXPECT_EQ(r[0].outer_sports_reply, std::vector<std::uint16_t>{50002});
}

TEST(RpcOverUdp, FlowsAndConnectionsComeOutInFirstPacketOrder) {
    UdpRun run;
    run.send(0.0, true, 801, 2049, nfs3_getattr(0xa001));
    PacketBuilder syn;
    syn.ethernet().ipv4(kClient, kServer).tcp(900, 2049, decode::tcp_flag::kSyn, 1, 0);
    run.feed.send_at(syn, 0.5);
    run.send(1.0, true, 802, 2049, nfs3_getattr(0xa002));
    const std::vector<ConnectionReport> r = run.a.finish();
    ASSERT_EQ(r.size(), 3U);
    EXPECT_EQ(r[0].transport, Transport::Udp);
    EXPECT_EQ(r[0].client.port, 801U);
    EXPECT_EQ(r[1].transport, Transport::Tcp);
    EXPECT_EQ(r[2].client.port, 802U);
}

TEST(RpcOverUdp, LivePollReportsAFlowOnceWhenItGainsAVerdict) {
    UdpRun run;
    run.send(0.0, true, 801, 2049, nfs3_getattr(0xc001));
    const Timestamp now{.sec = 1800000000, .nsec = 0};
    EXPECT_TRUE(run.a.poll(now).empty());
    run.send(1.1, true, 801, 2049, nfs3_getattr(0xc001));
    const std::vector<ConnectionReport> live = run.a.poll(now);
    ASSERT_EQ(live.size(), 1U);
    EXPECT_EQ(live[0].transport, Transport::Udp);
    EXPECT_TRUE(live[0].has(Verdict::RpcRetransmitted));
    EXPECT_EQ(live[0].decided_at.sec, now.sec);
    run.send(2.2, true, 801, 2049, nfs3_getattr(0xc001));  // the same verdict again
    EXPECT_TRUE(run.a.poll(now).empty());
}

TEST(RpcOverUdp, AnIdleFlowIsDecidedLikeAnIdleConnection) {
    analyze::ConnectionOptions o;
    o.idle_timeout_s = 60;
    UdpRun run(o);
    run.send(0.0, true, 801, 2049, nfs3_getattr(0xb001));
    run.send(0.1, false, 801, 2049, rpc_reply(0xb001, Xdr().u32(0).bytes()));
    // The connection analysis sweeps for idle flows every 65,536 packets.
    for (int i = 0; i < 65536; ++i) {
        run.send(120.0, true, 40000, 53, ByteVec(12, 0));
    }
    const std::vector<ConnectionReport> early = run.a.take_decided();
    ASSERT_EQ(early.size(), 1U);
    EXPECT_EQ(early[0].transport, Transport::Udp);
    EXPECT_EQ(early[0].points, std::vector<std::string>{"p"});
    EXPECT_TRUE(run.udp_reports().empty());
}

TEST(RpcOverUdp, AFullFlowTableDecidesTheLeastRecentlyActiveEighth) {
    UdpRun run;
    for (std::size_t i = 0; i <= analyze::kMaxUdpFlows; ++i) {
        run.send(static_cast<double>(i) * 0.001, true, static_cast<std::uint16_t>(10000 + i), 2049,
                 nfs3_getattr(static_cast<std::uint32_t>(i)));
    }
    EXPECT_EQ(run.a.stats().udp_evicted, analyze::kMaxUdpFlows / 8);
    const std::vector<ConnectionReport> early = run.a.take_decided();
    ASSERT_EQ(early.size(), analyze::kMaxUdpFlows / 8);
    for (const ConnectionReport& r : early) {
        EXPECT_LT(r.client.port, 10000 + analyze::kMaxUdpFlows / 8);  // the oldest ones
    }
    EXPECT_EQ(run.udp_reports().size(), analyze::kMaxUdpFlows + 1 - analyze::kMaxUdpFlows / 8);
}

}  // namespace
}  // namespace vxcheck::test

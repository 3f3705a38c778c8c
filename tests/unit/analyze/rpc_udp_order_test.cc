// ONC RPC flows over UDP live in a hash map under the keyed flow hash (flow_key.h), whose key
// differs per process: the flows it decides at once (idle expiry) must come out in an order
// that does not depend on that key, their order of first sight.

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "feeder.h"
#include "packet_builder.h"
#include "vxcheck/analyze/connections.h"
#include "vxcheck/analyze/rpc_analyzer.h"
#include "vxcheck/rpc/message.h"
#include "vxcheck/track/flow_key.h"
#include "xdr_builder.h"

namespace vxcheck::test {
namespace {

// NFSv3 GETATTR calls from `clients` client ports, then other traffic until the idle sweep
// (every 65,536 packets) expires them all at once; the clients of the reports, in order.
std::vector<std::string> expired_under(track::SipKey key, std::uint16_t clients) {
    const track::SipKey saved = track::flow_hash_key();
    track::set_flow_hash_key(key);
    std::vector<std::string> out;
    {
        analyze::ConnectionOptions o;
        o.idle_timeout_s = 60;
        analyze::RpcAnalyzer rpc;
        analyze::ConnectionAnalyzer a(o);
        a.add_point("p");
        a.add_plugin(rpc);
        a.add_datagram_plugin(rpc);
        Feeder feed(a);
        for (std::uint16_t c = 0; c < clients; ++c) {
            const ByteVec call =
                rpc_call(0x1000U + c, rpc::kProgNfs, 3, 1, Xdr().opaque(ByteVec(16, 1)).bytes());
            feed.send_at(PacketBuilder()
                             .ethernet()
                             .ipv4("10.244.1.5", "10.244.2.5")
                             .udp(static_cast<std::uint16_t>(700 + c), 2049)
                             .payload(call),
                         0.01 * c);
        }
        for (int i = clients; i < 65536; ++i) {
            feed.send_at(PacketBuilder()
                             .ethernet()
                             .ipv4("10.244.1.5", "10.244.3.5")
                             .udp(40000, 53)
                             .payload(ByteVec(12, 0)),
                         120.0);
        }
        for (const auto& r : a.take_decided()) {
            out.push_back(track::to_string(r.client));
        }
    }
    track::set_flow_hash_key(saved);
    return out;
}

TEST(RpcOverUdpOrder, FlowsExpiredTogetherComeOutByFirstSightWhateverTheHashKey) {
    const std::vector<std::string> one = expired_under({.k0 = 1, .k1 = 2}, 40);
    ASSERT_EQ(one.size(), 40U);
    for (std::size_t c = 0; c < one.size(); ++c) {
        EXPECT_EQ(one[c], "10.244.1.5:" + std::to_string(700 + c));
    }
    EXPECT_EQ(one, expired_under({.k0 = 0xabcdef, .k1 = 0x123456}, 40));
}

}  // namespace
}  // namespace vxcheck::test

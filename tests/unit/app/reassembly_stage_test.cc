// The reassembly stage (src/app/reassembly_stage.h): a datagram completed by a fragment is
// decoded as if it had arrived whole, tunnels inside it included, and only the verdicts inside
// the reassembled IP layer are kept; a fragment inside a reassembled datagram is reassembled in
// turn; what never completes is counted at the end of the input.

#include "app/reassembly_stage.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "packet_builder.h"

namespace vxcheck::test {
namespace {

using app::ReassemblyStage;

constexpr std::size_t kEth = 14;

// The IPv4 fragment of the datagram `ip` carrying its data bytes [offset, offset + len).
ByteVec v4_fragment(const ByteVec& ip, std::size_t offset, std::size_t len, bool more) {
    const std::size_t hl = std::size_t{ip[0] & 0x0fU} * 4;
    ByteVec f(ip.begin(), ip.begin() + static_cast<std::ptrdiff_t>(hl));
    f.insert(f.end(), ip.begin() + static_cast<std::ptrdiff_t>(hl + offset),
             ip.begin() + static_cast<std::ptrdiff_t>(hl + offset + len));
    f[2] = static_cast<std::uint8_t>(f.size() >> 8);
    f[3] = static_cast<std::uint8_t>(f.size());
    const std::size_t field = (offset / 8) | (more ? 0x2000U : 0U);
    f[6] = static_cast<std::uint8_t>(field >> 8);
    f[7] = static_cast<std::uint8_t>(field);
    return f;
}

// The Ethernet frame `frame` with its IPv4 datagram cut after `first` data bytes.
std::vector<ByteVec> split_outer(const ByteVec& frame, std::size_t first) {
    const ByteVec eth(frame.begin(), frame.begin() + kEth);
    const ByteVec ip(frame.begin() + kEth, frame.end());
    const std::size_t data = ip.size() - 20;
    std::vector<ByteVec> out;
    for (const auto& [off, len, more] :
         {std::tuple{std::size_t{0}, first, true}, std::tuple{first, data - first, false}}) {
        ByteVec f = eth;
        const ByteVec frag = v4_fragment(ip, off, len, more);
        f.insert(f.end(), frag.begin(), frag.end());
        out.push_back(std::move(f));
    }
    return out;
}

ByteVec inner_tcp(std::size_t payload, bool bad_checksum) {
    PacketBuilder b;
    b.link_type(LinkType::RawIp).ipv4("10.244.1.5", "10.244.2.5").ipv4_id(0x77).tcp(41000, 2049);
    b.payload(payload);
    if (bad_checksum) {
        b.corrupt_checksum(0x0100);
    }
    return b.build().bytes;
}

// Ethernet / IPv4 / UDP 8472 / VXLAN / Ethernet around the IPv4 bytes `inner`.
ByteVec in_vxlan(const ByteVec& inner) {
    return PacketBuilder()
        .ethernet()
        .ipv4("192.168.1.10", "192.168.1.20")
        .ipv4_id(0x1234)
        .udp(40299, 8472)
        .vxlan(1)
        .ethernet()
        .ethertype(0x0800)
        .payload(inner)
        .build()
        .bytes;
}

// Decodes frames one by one (each kept alive) and offers them to one stage.
class Feeder {
  public:
    Feeder() : stage_(options_) {}

    ReassemblyStage::Taken feed(const ByteVec& bytes) {
        frames_.push_back(std::make_unique<ByteVec>(bytes));
        RawFrame f;
        f.number = frames_.size();
        f.ts = Timestamp{.sec = 100, .nsec = static_cast<std::uint32_t>(frames_.size())};
        f.caplen = f.wirelen = static_cast<std::uint32_t>(bytes.size());
        f.data = Bytes(frames_.back()->data(), bytes.size());
        raw_.push_back(f);
        packet_ = std::make_unique<decode::DecodedPacket>();
        decode::decode(raw_.back(), options_, *packet_);
        return stage_.take(*packet_, 0, false);
    }
    ReassemblyStage& stage() { return stage_; }

  private:
    decode::DecodeOptions options_;
    ReassemblyStage stage_;
    std::vector<std::unique_ptr<ByteVec>> frames_;
    std::vector<RawFrame> raw_;
    std::unique_ptr<decode::DecodedPacket> packet_;
};

std::string layer_names(const decode::DecodedPacket& p) {
    std::string s;
    for (const decode::Layer& l : p.layers()) {
        s += (s.empty() ? "" : " ") + std::string(decode::to_string(l.proto));
    }
    return s;
}

const verify::Verdict* tcp_verdict(const verify::Verdicts& v) {
    for (const verify::Verdict& x : v.items()) {
        if (x.check == verify::Check::Tcp) {
            return &x;
        }
    }
    return nullptr;
}

TEST(ReassemblyStage, VxlanInsideAReassembledOuterDatagramIsDecapsulatedAndItsInnerTcpVerified) {
    for (const bool bad : {false, true}) {
        SCOPED_TRACE(bad ? "bad inner checksum" : "good inner checksum");
        const auto outer = split_outer(in_vxlan(inner_tcp(1600, bad)), 1480);
        Feeder f;
        const auto first = f.feed(outer[0]);
        EXPECT_TRUE(first.held);
        EXPECT_FALSE(first.completed);
        const auto last = f.feed(outer[1]);
        ASSERT_TRUE(last.completed);
        EXPECT_FALSE(last.has_anomaly);
        EXPECT_EQ(layer_names(f.stage().packet()), "ethernet ipv4 udp vxlan ethernet ipv4 tcp");
        EXPECT_TRUE(f.stage().packet().anomalies().empty());
        const verify::Verdict* tcp = tcp_verdict(f.stage().verdicts());
        ASSERT_NE(tcp, nullptr);
        EXPECT_EQ(tcp->depth, 1U);
        EXPECT_EQ(tcp->status, bad ? verify::Status::Bad : verify::Status::Ok);
        EXPECT_EQ(f.stage().bad(), bad);
        // The reassembled outer IPv4 header is not on the wire: no verdict for it.
        EXPECT_EQ(f.stage().verdicts().for_layer(1), nullptr);
        EXPECT_EQ(std::vector<std::uint64_t>(f.stage().frames().begin(), f.stage().frames().end()),
                  (std::vector<std::uint64_t>{1, 2}));
    }
}

// An inner datagram in two fragments, each in a VXLAN packet; the first VXLAN packet is itself
// cut in the underlay. The inner datagram completes on the third frame, with the outer lengths
// of that frame widened to hold it.
TEST(ReassemblyStage, FragmentOfAFragmentInsideATunnelIsReassembledInTurn) {
    const ByteVec inner = inner_tcp(2400, false);
    const ByteVec inner_a = v4_fragment(inner, 0, 1480, true);
    const ByteVec inner_b = v4_fragment(inner, 1480, inner.size() - 20 - 1480, false);
    const auto outer_a = split_outer(in_vxlan(inner_a), 1480);
    Feeder f;
    EXPECT_FALSE(f.feed(outer_a[0]).completed);
    const auto a = f.feed(outer_a[1]);  // the outer datagram completes; the inner waits
    EXPECT_TRUE(a.held);
    EXPECT_FALSE(a.completed);
    const auto b = f.feed(in_vxlan(inner_b));
    ASSERT_TRUE(b.completed);
    EXPECT_EQ(layer_names(f.stage().packet()), "ethernet ipv4 udp vxlan ethernet ipv4 tcp");
    EXPECT_TRUE(f.stage().packet().anomalies().empty());
    const verify::Verdict* tcp = tcp_verdict(f.stage().verdicts());
    ASSERT_NE(tcp, nullptr);
    EXPECT_EQ(tcp->status, verify::Status::Ok);
    // Only the verdicts inside the reassembled inner IP layer: the outer UDP checksum of the
    // widened frame is not one that was on the wire.
    for (const verify::Verdict& v : f.stage().verdicts().items()) {
        EXPECT_GT(v.layer, 5U);
    }
}

TEST(ReassemblyStage, DatagramsIncompleteAtTheEndAreCountedInTheSummary) {
    const auto outer = split_outer(in_vxlan(inner_tcp(1600, false)), 1480);
    Feeder f;
    f.feed(outer[0]);
    report::Summary summary;
    f.stage().end_input(summary);
    EXPECT_EQ(summary.fragments_incomplete, 1U);
    EXPECT_EQ(summary.datagrams_reassembled, 0U);
    EXPECT_EQ(summary.anomalies[static_cast<std::size_t>(decode::Anomaly::FragmentIncomplete)], 1U);
}

}  // namespace
}  // namespace vxcheck::test

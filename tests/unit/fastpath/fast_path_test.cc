// The fast path (fastpath::take_frame) writes exactly what decode() and verify() write, for
// every frame it takes, and leaves every frame with something in doubt to them:
//  - field by field (tests/support/fast_path_equivalence.h: layers as build_layers() writes
//    them, anomalies, skip reason, depth, verdicts, the summary's tallies, and the digest
//    against analyze::digest() of the general path's layers) on every frame of every capture in
//    pcaps/, and of ../shared/corpus when it is there;
//  - on VXLAN and plain frames with each header byte set to other values (the builder then
//    fills in checksums, so lengths, flags and ports are wrong while the checksums are right);
//  - on the same frames cut at every length;
//  - it takes checksums left for the NIC (partial, also over length 0, and local checksum
//    offload) with the general path's verdicts;
//  - it declines the named cases (bad checksums, options, fragments, padding, super-packets,
//    VLAN tags, VXLAN-GPE, a tunnel depth limit of 0);
//  - the layer and verdict positions it names are where decode() and verify() put them.

#include "vxcheck/fastpath/fast_path.h"

#include <gtest/gtest.h>

#include <array>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "fast_path_equivalence.h"
#include "packet_builder.h"
#include "source_dir.h"
#include "vxcheck/capture/source.h"
#include "vxcheck/decode/decode.h"
#include "vxcheck/verify/verify.h"

namespace vxcheck {
namespace {

namespace fs = std::filesystem;
using decode::DecodedPacket;
using decode::Proto;
using fastpath::Shape;
using test::PacketBuilder;
namespace vx = fastpath::tcp_in_vxlan;
namespace plain = fastpath::plain_tcp;

// What the fast path wrote for the last frame it took, for the tests to look at.
struct Paths {
    std::unique_ptr<DecodedPacket> fast = std::make_unique<DecodedPacket>();
    verify::Verdicts fast_verdicts;
};

// Runs both paths on `frame` (fast_path_difference); when the fast path takes it, everything
// must be equal, and `p` holds the fast path's layers and verdicts.
bool same_or_declined(Paths& p, const RawFrame& frame, const decode::DecodeOptions& options = {}) {
    Shape shape = Shape::None;
    EXPECT_EQ(test::fast_path_difference(frame, options, &shape), "");
    if (shape == Shape::None) {
        return false;
    }
    analyze::PacketDigest digest;
    EXPECT_EQ(fastpath::take_frame(frame, options, *p.fast, p.fast_verdicts, digest), shape);
    fastpath::build_layers(frame, shape, options, *p.fast);
    return true;
}

PacketBuilder& tunnelled(PacketBuilder& b, std::size_t payload = 120) {
    return b.ethernet()
        .ipv4("192.168.1.10", "192.168.1.20")
        .udp(40000, 8472)
        .vxlan(1)
        .ethernet()
        .ipv4("10.244.1.0", "10.96.0.10")
        .tcp(51000, 2049, decode::tcp_flag::kAck | decode::tcp_flag::kPsh, 7000, 9000)
        .payload(payload);
}

// A TCP segment of `payload` bytes in VXLAN, the builder handed to `after_outer_udp` and
// `after_inner_tcp` right after those layers (to act on their checksums).
template <typename OuterUdp, typename InnerTcp>
test::BuiltPacket tcp_in_vxlan(OuterUdp&& after_outer_udp, InnerTcp&& after_inner_tcp,
                               std::size_t payload) {
    PacketBuilder b;
    b.ethernet().ipv4("192.168.1.10", "192.168.1.20").udp(40000, 8472);
    after_outer_udp(b);
    b.vxlan(1).ethernet().ipv4("10.244.1.0", "10.96.0.10").tcp(51000, 2049);
    after_inner_tcp(b);
    return b.payload(payload).build();
}

void no_change(PacketBuilder& /*unused*/) {}

TEST(FastPath, TakesTunnelledAndPlainTcp) {
    Paths p;
    PacketBuilder tb;
    const auto vx = tunnelled(tb).build();
    ASSERT_TRUE(same_or_declined(p, vx.frame()));
    EXPECT_EQ(p.fast->layers().size(), vx::kLayerCount);
    ASSERT_EQ(p.fast_verdicts.items().size(), vx::kVerdictCount);
    for (const auto& v : p.fast_verdicts.items()) {
        EXPECT_EQ(v.status, verify::Status::Ok);
    }

    const auto plain = PacketBuilder()
                           .ethernet()
                           .ipv4("10.244.1.5", "10.244.2.7")
                           .tcp(2049, 51000)
                           .payload(1400)
                           .build();
    ASSERT_TRUE(same_or_declined(p, plain.frame()));
    EXPECT_EQ(p.fast->layers().size(), plain::kLayerCount);

    // A VTEP pair without outer checksums (the kernel's default for VXLAN).
    PacketBuilder zb;
    const auto zero_udp = zb.ethernet()
                              .ipv4("192.168.1.10", "192.168.1.20")
                              .udp(40000, 4789)
                              .zero_udp_checksum()
                              .vxlan(7)
                              .ethernet()
                              .ipv4("10.244.1.0", "10.96.0.10")
                              .tcp(51000, 2049)
                              .build();
    ASSERT_TRUE(same_or_declined(p, zero_udp.frame()));
    EXPECT_EQ(p.fast_verdicts.items()[vx::kOuterUdpVerdict].status, verify::Status::Zero);

    // Checksums left for the NIC (CHECKSUM_PARTIAL): the inner TCP one, with the outer UDP one
    // over it as it stands, or over its final value (local checksum offload); the outer one
    // too; and a plain segment's.
    const auto none = no_change;
    const auto tunnel_with = [](auto&& after_outer_udp, auto&& after_inner_tcp) {
        return tcp_in_vxlan(after_outer_udp, after_inner_tcp, 333);
    };
    const auto partial = [](PacketBuilder& b) { b.partial_checksum(); };
    const auto partial_zero = [](PacketBuilder& b) { b.partial_checksum_zero_length(); };
    struct Offloaded {
        const char* name;
        test::BuiltPacket packet;
        verify::Status outer;
        verify::Reason outer_reason;
        verify::Status inner;
        verify::Reason inner_reason = verify::Reason::None;
    };
    const std::vector<Offloaded> offloaded{
        {"partial inner TCP", tunnel_with(none, partial), verify::Status::Ok, verify::Reason::None,
         verify::Status::Partial},
        {"local checksum offload",
         tunnel_with(none, [](PacketBuilder& b) { b.local_checksum_offload(); }),
         verify::Status::Ok, verify::Reason::LocalChecksumOffload, verify::Status::Partial},
        {"partial outer UDP", tunnel_with(partial, none), verify::Status::Partial,
         verify::Reason::None, verify::Status::Ok},
        {"both partial", tunnel_with(partial, partial), verify::Status::Partial,
         verify::Reason::None, verify::Status::Partial},
        {"partial inner TCP over length 0", tunnel_with(none, partial_zero), verify::Status::Ok,
         verify::Reason::None, verify::Status::Partial, verify::Reason::PartialZeroLength},
        {"partial outer UDP over length 0", tunnel_with(partial_zero, none),
         verify::Status::Partial, verify::Reason::PartialZeroLength, verify::Status::Ok},
    };
    for (const Offloaded& o : offloaded) {
        SCOPED_TRACE(o.name);
        ASSERT_TRUE(same_or_declined(p, o.packet.frame()));
        EXPECT_EQ(p.fast_verdicts.items()[vx::kOuterUdpVerdict].status, o.outer);
        EXPECT_EQ(p.fast_verdicts.items()[vx::kOuterUdpVerdict].reason, o.outer_reason);
        EXPECT_EQ(p.fast_verdicts.items()[vx::kInnerTcpVerdict].status, o.inner);
        EXPECT_EQ(p.fast_verdicts.items()[vx::kInnerTcpVerdict].reason, o.inner_reason);
    }
    const auto plain_partial = PacketBuilder()
                                   .ethernet()
                                   .ipv4("10.244.1.5", "10.244.2.7")
                                   .tcp(2049, 51000)
                                   .partial_checksum()
                                   .payload(100)
                                   .build();
    ASSERT_TRUE(same_or_declined(p, plain_partial.frame()));
    EXPECT_EQ(p.fast_verdicts.items()[plain::kTcpVerdict].status, verify::Status::Partial);

    // Ethernet padding after a short plain segment is not the packet's.
    const auto padded = PacketBuilder()
                            .ethernet()
                            .ipv4("10.244.1.5", "10.244.2.7")
                            .tcp(2049, 51000)
                            .trailer(6)
                            .build();
    EXPECT_TRUE(same_or_declined(p, padded.frame()));
    // ... and the snaplen may cut it: the frame claims its wire length, the packet is whole.
    const auto cut_padding = PacketBuilder()
                                 .ethernet()
                                 .ipv4("10.244.1.5", "10.244.2.7")
                                 .tcp(2049, 51000)
                                 .trailer(6)
                                 .snaplen(57)
                                 .build();
    ASSERT_TRUE(same_or_declined(p, cut_padding.frame()));
    EXPECT_EQ(p.fast->layers()[plain::kEthernetLayer].claimed_len, 60U);
}

// A SYN's TSval, MSS and window scale go into the digest as analyze::digest() puts them (the
// first option of each kind), plain and in VXLAN.
TEST(FastPath, DigestsASynsOptionsAsTheGeneralPath) {
    struct Case {
        const char* name;
        test::ByteVec options;
        std::optional<std::uint32_t> tsval;
        analyze::SynOptions syn;
    };
    using analyze::SynOptions;
    const std::vector<Case> cases{
        {"Linux: mss 1460, sackOK, TS, nop, wscale 7",
         {2, 4, 0x05, 0xb4, 4, 2, 8, 10, 1, 2, 3, 4, 0, 0, 0, 0, 1, 3, 3, 7},
         0x01020304U,
         {.mss = 1460, .wscale = 7, .present = SynOptions::kMss | SynOptions::kWscale}},
        {"mss only", {2, 4, 0x02, 0x18}, std::nullopt, {.mss = 536, .present = SynOptions::kMss}},
        {"two of each: the first counts",
         {3, 3, 2, 3, 3, 9, 2, 4, 0x05, 0x50, 2, 4, 0x05, 0xb4},
         std::nullopt,
         {.mss = 1360, .wscale = 2, .present = SynOptions::kMss | SynOptions::kWscale}},
        {"none", {}, std::nullopt, {}},
    };
    for (const Case& c : cases) {
        for (const bool in_vxlan : {false, true}) {
            SCOPED_TRACE(std::string(c.name) + (in_vxlan ? ", in VXLAN" : ""));
            PacketBuilder b;
            b.ethernet();
            if (in_vxlan) {
                b.ipv4("192.168.1.10", "192.168.1.20").udp(40000, 8472).vxlan(1).ethernet();
            }
            b.ipv4("10.244.1.0", "10.96.0.10").tcp(51000, 2049, decode::tcp_flag::kSyn, 7000);
            if (!c.options.empty()) {
                b.tcp_options(c.options);
            }
            const auto built = b.build();
            Paths p;
            ASSERT_TRUE(same_or_declined(p, built.frame()));
            analyze::PacketDigest digest;
            ASSERT_NE(fastpath::take_frame(built.frame(), {}, *p.fast, p.fast_verdicts, digest),
                      Shape::None);
            EXPECT_EQ(digest.segment.tsval, c.tsval);
            EXPECT_EQ(digest.segment.syn, c.syn);
        }
    }
}

TEST(FastPath, DeclinesWhatIsInDoubt) {
    struct Case {
        const char* name;
        test::BuiltPacket packet;
        decode::DecodeOptions options;
    };
    const auto tunnel = [](auto&& after_outer_udp, auto&& after_inner_tcp) {
        return tcp_in_vxlan(after_outer_udp, after_inner_tcp, 64);
    };
    const auto none = no_change;
    std::vector<Case> cases;
    cases.push_back({"bad inner TCP checksum",
                     tunnel(none, [](PacketBuilder& b) { b.corrupt_checksum(0x0100); }),
                     {}});
    cases.push_back({"local checksum offload, outer UDP checksum bad",
                     tunnel([](PacketBuilder& b) { b.corrupt_checksum(0x0040); },
                            [](PacketBuilder& b) { b.local_checksum_offload(); }),
                     {}});
    cases.push_back({"bad outer UDP checksum",
                     tunnel([](PacketBuilder& b) { b.corrupt_checksum(0x4000); }, none),
                     {}});
    cases.push_back({"outer UDP 0xffff on a corrupted tunnel (variant A)",
                     tunnel([](PacketBuilder& b) { b.checksum(0xffff); }, none),
                     {}});
    cases.push_back({"UDP length shorter than the IP payload",
                     tunnel([](PacketBuilder& b) { b.udp_length(60); }, none),
                     {}});
    cases.push_back({"tunnel depth limit 0", tunnel(none, none), {.max_tunnel_depth = 0}});
    cases.push_back({"snaplen inside the inner segment",
                     tunnel(none, [](PacketBuilder& b) { b.snaplen(100); }),
                     {}});
    {
        PacketBuilder b;
        cases.push_back({"VXLAN-GPE port",
                         b.ethernet()
                             .ipv4("192.168.1.10", "192.168.1.20")
                             .udp(40000, 4790)
                             .vxlan(1)
                             .ethernet()
                             .ipv4("10.244.1.0", "10.96.0.10")
                             .tcp(51000, 2049)
                             .build(),
                         {}});
    }
    {
        PacketBuilder b;
        cases.push_back({"VXLAN reserved bits",
                         b.ethernet()
                             .ipv4("192.168.1.10", "192.168.1.20")
                             .udp(40000, 8472)
                             .vxlan(1, 0x0c)
                             .ethernet()
                             .ipv4("10.244.1.0", "10.96.0.10")
                             .tcp(51000, 2049)
                             .build(),
                         {}});
    }
    cases.push_back({"IPv4 options",
                     PacketBuilder()
                         .ethernet()
                         .ipv4("10.244.1.5", "10.244.2.7")
                         .ipv4_options({0x01, 0x01, 0x01, 0x01})
                         .tcp(2049, 51000)
                         .build(),
                     {}});
    cases.push_back({"a first fragment",
                     PacketBuilder()
                         .ethernet()
                         .ipv4("10.244.1.5", "10.244.2.7")
                         .ipv4_fragment(0, true)
                         .tcp(2049, 51000)
                         .payload(64)
                         .build(),
                     {}});
    cases.push_back({"super-packet (total length 0)",
                     PacketBuilder()
                         .ethernet()
                         .ipv4("10.244.1.5", "10.244.2.7")
                         .ip_total_length(0)
                         .tcp(2049, 51000)
                         .payload(64)
                         .build(),
                     {}});
    cases.push_back({"bad IPv4 header checksum",
                     PacketBuilder()
                         .ethernet()
                         .ipv4("10.244.1.5", "10.244.2.7")
                         .corrupt_checksum(0x0001)
                         .tcp(2049, 51000)
                         .build(),
                     {}});
    cases.push_back({"VLAN tag",
                     PacketBuilder()
                         .ethernet()
                         .vlan(100)
                         .ipv4("10.244.1.5", "10.244.2.7")
                         .tcp(2049, 51000)
                         .build(),
                     {}});
    cases.push_back({"IPv6",
                     PacketBuilder().ethernet().ipv6("fd00::1", "fd00::2").tcp(2049, 51000).build(),
                     {}});
    cases.push_back({"TCP data offset past the segment",
                     PacketBuilder()
                         .ethernet()
                         .ipv4("10.244.1.5", "10.244.2.7")
                         .tcp(2049, 51000)
                         .tcp_data_offset(15)
                         .build(),
                     {}});
    cases.push_back(
        {"Linux cooked capture",
         PacketBuilder().sll2().ipv4("10.244.1.5", "10.244.2.7").tcp(2049, 51000).build(),
         {}});
    // Tunnels outside UDP (issue 21 item 2): the fast path knows none of them.
    const auto outer = [] {
        return PacketBuilder().ethernet().ipv4("192.168.1.10", "192.168.1.20");
    };
    cases.push_back({"GRE with a checksum",
                     outer().gre(true, 7).ipv4("10.244.1.5", "10.244.2.7").tcp(2049, 51000).build(),
                     {}});
    cases.push_back({"ERSPAN type II",
                     outer()
                         .gre(false, std::nullopt, 1)
                         .erspan(2, 100)
                         .ethernet()
                         .ipv4("10.244.1.5", "10.244.2.7")
                         .tcp(2049, 51000)
                         .build(),
                     {}});
    cases.push_back(
        {"IP-in-IP (4in4)", outer().ipv4("10.244.1.5", "10.244.2.7").tcp(2049, 51000).build(), {}});
    cases.push_back({"MPLS two labels",
                     PacketBuilder()
                         .ethernet()
                         .mpls(1000)
                         .mpls(2000)
                         .ipv4("10.244.1.5", "10.244.2.7")
                         .tcp(2049, 51000)
                         .build(),
                     {}});

    Paths p;
    for (const Case& c : cases) {
        SCOPED_TRACE(c.name);
        EXPECT_FALSE(same_or_declined(p, c.packet.frame(), c.options));
    }
}

// Each header byte of each layer set to other values, the checksums filled in over them.
TEST(FastPath, AgreesWithTheGeneralPathWhateverOneHeaderByteHolds) {
    // Layers in builder order; patch() acts on the most recent one.
    const std::vector<std::size_t> header_lens{14, 20, 8, 8, 14, 20, 20};
    constexpr std::array<std::uint8_t, 6> kValues{0x00, 0x01, 0x08, 0x45, 0x80, 0xff};
    const auto build = [](std::size_t layer, std::size_t off, std::uint8_t value) {
        PacketBuilder b;
        const auto at = [&](std::size_t l) {
            if (l == layer) {
                b.patch(off, value);
            }
        };
        b.ethernet();
        at(0);
        b.ipv4("192.168.1.10", "192.168.1.20");
        at(1);
        b.udp(40000, 8472);
        at(2);
        b.vxlan(1);
        at(3);
        b.ethernet();
        at(4);
        b.ipv4("10.244.1.0", "10.96.0.10");
        at(5);
        b.tcp(51000, 2049, decode::tcp_flag::kAck, 7000, 9000);
        at(6);
        return b.payload(40).build();
    };
    Paths p;
    std::size_t taken = 0;
    std::size_t tried = 0;
    for (std::size_t layer = 0; layer < header_lens.size(); ++layer) {
        for (std::size_t off = 0; off < header_lens[layer]; ++off) {
            for (const std::uint8_t value : kValues) {
                SCOPED_TRACE("layer " + std::to_string(layer) + " byte " + std::to_string(off) +
                             " = " + std::to_string(value));
                const auto pkt = build(layer, off, value);
                if (same_or_declined(p, pkt.frame())) {
                    ++taken;
                }
                ++tried;
            }
        }
    }
    // Most values of most bytes (addresses, ports, IDs, TTLs, MACs) change nothing that matters.
    EXPECT_GT(taken, tried / 2);
    EXPECT_LT(taken, tried);
}

TEST(FastPath, AgreesWithTheGeneralPathAtEveryCaptureLength) {
    PacketBuilder tb;
    const auto vx = tunnelled(tb, 200).build();
    Paths p;
    std::size_t taken = 0;
    for (std::size_t n = 0; n <= vx.bytes.size(); ++n) {
        SCOPED_TRACE("caplen " + std::to_string(n));
        RawFrame f = vx.frame();
        f.caplen = static_cast<std::uint32_t>(n);
        f.data = f.data.first(n);
        if (same_or_declined(p, f)) {
            ++taken;
        }
    }
    EXPECT_EQ(taken, 1U);  // only the whole frame
}

// Every frame of the shipped captures (and the third-party corpus, when it is there).
TEST(FastPath, AgreesWithTheGeneralPathOnEveryCapturedFrame) {
    const fs::path pcaps = fs::path(vxcheck::test::source_dir()) / "pcaps";
    const fs::path corpus = fs::path(vxcheck::test::source_dir()) / ".." / "shared" / "corpus";
    std::size_t frames = 0;
    std::size_t taken = 0;
    for (const fs::path& dir : {pcaps, corpus}) {
        if (!fs::is_directory(dir)) {
            continue;
        }
        for (const auto& entry : fs::directory_iterator(dir)) {
            const std::string ext = entry.path().extension().string();
            if (!entry.is_regular_file() || (ext != ".pcap" && ext != ".pcapng")) {
                continue;
            }
            std::unique_ptr<capture::Source> src;
            try {
                src = capture::open_file(entry.path().string());
            } catch (const capture::OpenError&) {
                continue;  // not a capture libpcap reads (the corpus has a few)
            }
            Paths p;
            RawFrame f;
            while (src->next(f) == capture::ReadStatus::Frame) {
                SCOPED_TRACE(entry.path().filename().string() + " frame " +
                             std::to_string(f.number));
                ++frames;
                if (same_or_declined(p, f)) {
                    ++taken;
                }
            }
        }
    }
    EXPECT_GT(frames, 100U);
    EXPECT_GT(taken, 50U);  // the VXLAN and flannel.1 scenarios are mostly of the two shapes
    EXPECT_LT(taken, frames);
}

// The positions fast_path.h names are where decode() puts the layers and verify() the verdicts.
TEST(FastPath, NamedPositionsAreTheGeneralPaths) {
    struct Position {
        std::size_t layer;
        Proto proto;
        std::uint8_t depth;
    };
    const auto expect_layers = [](const DecodedPacket& pkt, const std::vector<Position>& want) {
        ASSERT_EQ(pkt.layers().size(), want.size());
        for (const Position& w : want) {
            EXPECT_EQ(pkt.layers()[w.layer].proto, w.proto) << "layer " << w.layer;
            EXPECT_EQ(pkt.layers()[w.layer].depth, w.depth) << "layer " << w.layer;
        }
    };
    const auto expect_verdict = [](const verify::Verdicts& v, std::size_t i, std::size_t layer,
                                   verify::Check check) {
        ASSERT_LT(i, v.items().size());
        EXPECT_EQ(v.items()[i].layer, layer) << "verdict " << i;
        EXPECT_EQ(v.items()[i].check, check) << "verdict " << i;
    };
    const auto general = std::make_unique<DecodedPacket>();
    verify::Verdicts verdicts;

    PacketBuilder tb;
    const auto tunnel = tunnelled(tb).build();
    decode::decode(tunnel.frame(), {}, *general);
    verify::verify(*general, verdicts);
    expect_layers(*general, {{vx::kOuterEthernetLayer, Proto::Ethernet, 0},
                             {vx::kOuterIpv4Layer, Proto::Ipv4, 0},
                             {vx::kOuterUdpLayer, Proto::Udp, 0},
                             {vx::kVxlanLayer, Proto::Vxlan, 0},
                             {vx::kInnerEthernetLayer, Proto::Ethernet, 1},
                             {vx::kInnerIpv4Layer, Proto::Ipv4, 1},
                             {vx::kInnerTcpLayer, Proto::Tcp, 1}});
    ASSERT_EQ(verdicts.items().size(), vx::kVerdictCount);
    expect_verdict(verdicts, vx::kOuterIpv4Verdict, vx::kOuterIpv4Layer, verify::Check::Ipv4Header);
    expect_verdict(verdicts, vx::kOuterUdpVerdict, vx::kOuterUdpLayer, verify::Check::Udp);
    expect_verdict(verdicts, vx::kInnerIpv4Verdict, vx::kInnerIpv4Layer, verify::Check::Ipv4Header);
    expect_verdict(verdicts, vx::kInnerTcpVerdict, vx::kInnerTcpLayer, verify::Check::Tcp);

    const auto plain_tcp =
        PacketBuilder().ethernet().ipv4("10.244.1.5", "10.244.2.7").tcp(2049, 51000).build();
    decode::decode(plain_tcp.frame(), {}, *general);
    verify::verify(*general, verdicts);
    expect_layers(*general, {{plain::kEthernetLayer, Proto::Ethernet, 0},
                             {plain::kIpv4Layer, Proto::Ipv4, 0},
                             {plain::kTcpLayer, Proto::Tcp, 0}});
    ASSERT_EQ(verdicts.items().size(), plain::kVerdictCount);
    expect_verdict(verdicts, plain::kIpv4Verdict, plain::kIpv4Layer, verify::Check::Ipv4Header);
    expect_verdict(verdicts, plain::kTcpVerdict, plain::kTcpLayer, verify::Check::Tcp);
}

}  // namespace
}  // namespace vxcheck

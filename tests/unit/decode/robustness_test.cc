// Deterministic mutation testing of decode() + verify(): thousands of truncated, bit-flipped and
// length-garbled variants of valid frames (fixed seed). Each mutated frame lives in a heap buffer
// of exactly its size, so under ASan any read past the frame is caught. Checks the invariants of
// check_invariants(): views inside the frame, decoded or skipped with a reason, verdicts valid.

#include <gtest/gtest.h>

#include <memory>
#include <random>

#include "packet_builder.h"
#include "vxcheck/decode/decode.h"
#include "vxcheck/report/summary.h"
#include "vxcheck/verify/verify.h"

namespace vxcheck::test {
namespace {

std::vector<BuiltPacket> seeds() {
    const char* a = "10.244.1.0";
    const char* b = "10.244.2.5";
    const char* n1 = "192.168.0.10";
    const char* n2 = "192.168.0.11";
    std::vector<PacketBuilder> builders{
        PacketBuilder().ethernet().ipv4(a, b).tcp(40000, 2049).payload(40),
        PacketBuilder()
            .ethernet()
            .vlan(5, 0x88a8)
            .vlan(6)
            .ipv4(a, b)
            .ipv4_options({1, 1, 1, 0})
            .udp(1, 53)
            .payload(17),
        PacketBuilder().ethernet().ipv4(a, b).ipv4_fragment(0, true).udp(1, 8472).payload(64),
        PacketBuilder()
            .ethernet()
            .ipv4(a, b)
            .ip_total_length(0)
            .tcp(1, 2)
            .partial_checksum()
            .payload(300),
        PacketBuilder().ethernet().ipv4(a, b).icmp(8, 0).payload(12),
        PacketBuilder().sll(4).ipv4(a, b).tcp(1, 2).payload(5),
        PacketBuilder().sll2(3, 0).ipv6("fd00::1", "fd00::2").udp(1, 2).payload(9),
        PacketBuilder().null_link(30, true).ipv6("fd00::1", "fd00::2").tcp(1, 2).payload(3),
        PacketBuilder().null_link(2).ipv4(a, b).udp(1, 2).payload(1),
        PacketBuilder().ipv4(a, b).tcp(1, 2).tcp_options({2, 4, 5, 0xb4}).payload(7),
        PacketBuilder().ipv6("fd00::1", "fd00::2").udp(1, 2).payload(7),
        PacketBuilder()
            .ethernet()
            .ipv6("fd00:1::1", "fd00:2::5")
            .hop_by_hop()
            .dest_options()
            .routing(0, 1, {"fd00:3::3", "fd00:4::4"})
            .ipv6_fragment(0, false)
            .home_address("fd00:9::9")
            .tcp(1, 2)
            .payload(11),
        PacketBuilder()
            .ethernet()
            .ipv6("fd00::1", "fd00::2")
            .routing(4, 1, {"fd00::4"})
            .ipv6_ext(51, {0, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1})
            .udp(1, 2)
            .payload(4),
        PacketBuilder().ethernet().ipv6("fd00::1", "fd00::2").ipv6_fragment(8, true).payload(24),
        PacketBuilder()
            .ethernet()
            .ipv4(n1, n2)
            .udp(50000, 8472)
            .vxlan(1)
            .ethernet()
            .ipv4(a, b)
            .tcp(40000, 2049)
            .local_checksum_offload()
            .payload(20),
        PacketBuilder()
            .ethernet()
            .ipv4(n1, n2)
            .udp(50000, 4789)
            .zero_udp_checksum()
            .vxlan(1)
            .ethernet()
            .vlan(9)
            .ipv6("fd00::1", "fd00::2")
            .udp(1, 2)
            .payload(6),
        PacketBuilder()
            .ethernet()
            .ipv6("fd00::a", "fd00::b")
            .udp(50000, 6081)
            .geneve(7, geneve_option(0x0102, 1, {1, 2, 3, 4}), 0, 0x40)
            .ethernet()
            .ipv4(a, b)
            .tcp(1, 2)
            .payload(8),
        PacketBuilder()
            .ethernet()
            .ipv4(n1, n2)
            .udp(50000, 6081)
            .geneve(7)
            .ipv4(a, b)
            .udp(1, 2)
            .payload(3),
        PacketBuilder()
            .ethernet()
            .ipv4(n1, n2)
            .udp(1, 8472)
            .vxlan(1)
            .ethernet()
            .ipv4(n1, n2)
            .udp(1, 8472)
            .vxlan(2)
            .ethernet()
            .ipv4(n1, n2)
            .udp(1, 4789)
            .vxlan(3)
            .ethernet()
            .ipv4(n1, n2)
            .udp(1, 6081)
            .geneve(4)
            .ethernet()
            .ipv4(n1, n2)
            .udp(1, 8472)
            .vxlan(5)
            .ethernet()
            .ipv4(a, b)
            .tcp(1, 2),
        PacketBuilder().ethernet().ethertype(0x0806).payload(28),
    };
    std::vector<BuiltPacket> out;
    for (const PacketBuilder& pb : builders) {
        out.push_back(pb.build());
    }
    return out;
}

// Byte offsets of length-like fields in a built packet: where garbage does the most damage.
std::vector<std::size_t> length_fields(const BuiltPacket& p) {
    std::vector<std::size_t> at;
    for (const BuiltLayer& l : p.layers) {
        switch (l.kind) {
            case Kind::Ipv4:
                at.insert(at.end(), {l.offset, l.offset + 2, l.offset + 6});
                break;
            case Kind::Ipv6:
                at.insert(at.end(), {l.offset + 4, l.offset + 6});
                break;
            case Kind::Ipv6Ext:
                at.insert(at.end(), {l.offset, l.offset + 1, l.offset + 2, l.offset + 3});
                break;
            case Kind::Tcp:
                at.push_back(l.offset + 12);
                break;
            case Kind::Udp:
                at.insert(at.end(), {l.offset + 2, l.offset + 4});
                break;
            case Kind::Vxlan:
                at.push_back(l.offset);
                break;
            case Kind::Geneve:
                at.insert(at.end(), {l.offset, l.offset + 2});
                break;
            case Kind::Ethernet:
                at.push_back(l.offset + 12);
                break;
            case Kind::Vlan:
                at.push_back(l.offset + 2);
                break;
            default:
                break;
        }
    }
    return at;
}

struct Frame {
    std::unique_ptr<std::uint8_t[]> data;
    std::size_t size = 0;
    std::uint32_t wirelen = 0;
    LinkType link = LinkType::Ethernet;
};

Frame mutate(const BuiltPacket& p, std::mt19937& rng) {
    std::vector<std::uint8_t> b = p.bytes;
    std::uint32_t wirelen = p.wirelen;
    LinkType link = p.link;
    const auto fields = length_fields(p);
    const int ops = 1 + static_cast<int>(rng() % 3);
    for (int i = 0; i < ops; ++i) {
        switch (rng() % 6) {
            case 0:  // truncate, sometimes as a snaplen cut (wirelen kept)
                if (!b.empty()) {
                    b.resize(rng() % b.size());
                    if (rng() % 2 == 0) {
                        wirelen = static_cast<std::uint32_t>(b.size());
                    }
                }
                break;
            case 1:  // flip a few bytes
                for (int k = 0; k < 1 + static_cast<int>(rng() % 4) && !b.empty(); ++k) {
                    b[rng() % b.size()] ^= static_cast<std::uint8_t>(1 + rng() % 255);
                }
                break;
            case 2:  // garbage in a length field (16 bits)
                if (!fields.empty()) {
                    const std::size_t off = fields[rng() % fields.size()];
                    const std::uint16_t values[] = {
                        0, 1, 7, 8, 20, 0x7fff, 0xffff, static_cast<std::uint16_t>(rng())};
                    const std::uint16_t v = values[rng() % 8];
                    if (off + 1 < b.size()) {
                        b[off] = static_cast<std::uint8_t>(v >> 8);
                        b[off + 1] = static_cast<std::uint8_t>(v);
                    }
                }
                break;
            case 3:  // extend with random bytes (trailer / lies about size)
                for (unsigned k = rng() % 16; k > 0; --k) {
                    b.push_back(static_cast<std::uint8_t>(rng()));
                }
                wirelen = std::max<std::uint32_t>(wirelen, static_cast<std::uint32_t>(b.size()));
                break;
            case 4:  // wire length from another world
                wirelen = rng() % 3 == 0 ? 0 : static_cast<std::uint32_t>(rng() % 200000);
                break;
            case 5:  // decode as a different link type
                link = static_cast<LinkType>(rng() %
                                             (static_cast<unsigned>(LinkType::Unsupported) + 1));
                break;
        }
    }
    Frame f;
    f.size = b.size();
    f.data = std::make_unique<std::uint8_t[]>(b.size());  // exactly sized for ASan
    std::copy(b.begin(), b.end(), f.data.get());
    f.wirelen = wirelen;
    f.link = link;
    return f;
}

decode::DecodeOptions options_for(unsigned i) {
    decode::DecodeOptions o;
    switch (i % 4) {
        case 1:
            o.max_tunnel_depth = 1;
            break;
        case 2:
            o.max_tunnel_depth = 255;
            o.vxlan_ports = {8472, 4789, 6081, 53, 2};  // overlapping / odd port lists
            break;
        case 3:
            o.vxlan_ports.clear();
            o.geneve_ports = {8472, 4789, 6081};
            break;
        default:
            break;
    }
    return o;
}

TEST(Robustness, SeedsAreValid) {
    for (const BuiltPacket& p : seeds()) {
        const Dissection d(p);
        EXPECT_EQ(check_invariants(d.decoded(), d.verdicts()), "");
        EXPECT_FALSE(d.verdicts().any(verify::Status::Bad)) << d.verdict_names();
    }
}

TEST(Robustness, MutatedFramesKeepInvariants) {
    const std::vector<BuiltPacket> base = seeds();
    std::mt19937 rng(0x5eed1234);
    report::Summary summary;
    decode::DecodedPacket pkt;
    verify::Verdicts verdicts;
    constexpr unsigned kIterations = 6000;
    unsigned bad_frames = 0;
    for (unsigned i = 0; i < kIterations; ++i) {
        const BuiltPacket& seed = base[rng() % base.size()];
        const Frame f = mutate(seed, rng);
        RawFrame frame;
        frame.caplen = static_cast<std::uint32_t>(f.size);
        frame.wirelen = f.wirelen;
        frame.link = f.link;
        frame.number = i + 1;
        frame.data = Bytes{f.data.get(), f.size};
        decode::decode(frame, options_for(i), pkt);
        verify::verify(pkt, verdicts);
        const std::string problem = check_invariants(pkt, verdicts);
        ASSERT_EQ(problem, "") << "iteration " << i << " link " << to_string(f.link) << " wirelen "
                               << f.wirelen << "\n"
                               << to_hex(f.data.get(), f.size);
        // What --packets bad lists: Summary::add's answer, against the two tests it stands for.
        const bool expect_bad = !pkt.anomalies().empty() || verdicts.any(verify::Status::Bad);
        ASSERT_EQ(summary.add(pkt, verdicts), expect_bad) << "iteration " << i;
        bad_frames += expect_bad ? 1U : 0U;
    }
    EXPECT_GT(bad_frames, kIterations / 10);
    EXPECT_EQ(summary.frames_read, kIterations);
    EXPECT_EQ(summary.decoded + summary.skipped_total(), summary.frames_read);
    // The mutations must reach deep: some frames still decode, some are skipped, some are bad.
    EXPECT_GT(summary.decoded, kIterations / 4);
    EXPECT_GT(summary.skipped_total(), 0U);
    EXPECT_GT(summary.packets_with_bad_checksum, 0U);
    EXPECT_GT(summary.packets_with_anomalies, 0U);
}

TEST(Robustness, RandomBytesOnEveryLinkType) {
    std::mt19937 rng(42);
    decode::DecodedPacket pkt;
    verify::Verdicts verdicts;
    for (unsigned i = 0; i < 3000; ++i) {
        const std::size_t n = rng() % 160;
        auto data = std::make_unique<std::uint8_t[]>(n);
        for (std::size_t k = 0; k < n; ++k) {
            data[k] = static_cast<std::uint8_t>(rng());
        }
        // Steer the first bytes towards something decodable half of the time.
        if (n > 0 && rng() % 2 == 0) {
            data[0] = static_cast<std::uint8_t>(rng() % 2 == 0 ? 0x45 : 0x60);
        }
        RawFrame frame;
        frame.caplen = static_cast<std::uint32_t>(n);
        frame.wirelen = static_cast<std::uint32_t>(n + (rng() % 2) * (rng() % 100));
        frame.link = static_cast<LinkType>(i % (static_cast<unsigned>(LinkType::Unsupported) + 1));
        frame.data = Bytes{data.get(), n};
        decode::decode(frame, options_for(i), pkt);
        verify::verify(pkt, verdicts);
        ASSERT_EQ(check_invariants(pkt, verdicts), "") << "iteration " << i << "\n"
                                                       << to_hex(data.get(), n);
    }
}

}  // namespace
}  // namespace vxcheck::test

// decode() as a whole: one canonical producer per Anomaly (the table must cover the enum), the
// stable names, DecodedPacket's accessors and reuse, length lies hidden behind a snaplen cut and
// inconsistent routing headers.

#include "vxcheck/decode/decode.h"

#include <gtest/gtest.h>

#include <set>

#include "packet_builder.h"

namespace vxcheck::test {
namespace {

using decode::Anomaly;
using decode::Proto;

PacketBuilder eth4() {
    return PacketBuilder().ethernet().ipv4("10.0.0.1", "10.0.0.2");
}
PacketBuilder eth6() {
    return PacketBuilder().ethernet().ipv6("fd00::1", "fd00::2");
}
PacketBuilder vxlan_outer(std::uint16_t dport = 8472) {
    return eth4().udp(50000, dport);
}
PacketBuilder nested(int n) {
    PacketBuilder b = PacketBuilder().ethernet();
    for (int i = 0; i < n; ++i) {
        b.ipv4("192.168.0.1", "192.168.0.2").udp(50000, 8472).vxlan(1).ethernet();
    }
    return b.ipv4("10.0.0.1", "10.0.0.2").tcp(1, 2);
}

struct AnomalyRow {
    std::string name;
    Anomaly anomaly;
    PacketBuilder builder;
    decode::DecodeOptions options{};
};

std::vector<AnomalyRow> anomaly_rows() {
    decode::DecodeOptions deep;
    deep.max_tunnel_depth = 16;
    PacketBuilder nine = eth6();
    for (int i = 0; i < 9; ++i) {
        nine.dest_options();
    }
    return {
        {"link_truncated", Anomaly::LinkTruncated, eth4().snaplen(13)},
        {"null_unknown_family", Anomaly::NullUnknownFamily,
         PacketBuilder().null_link(7).ipv4("10.0.0.1", "10.0.0.2")},
        {"raw_version_mismatch", Anomaly::RawVersionMismatch,
         PacketBuilder().ipv6("fd00::1", "fd00::2").link_type(LinkType::RawIpv4)},
        {"raw_unknown_version", Anomaly::RawUnknownVersion,
         PacketBuilder().ipv4("10.0.0.1", "10.0.0.2").ip_version(7)},
        {"vlan_truncated", Anomaly::VlanTruncated,
         PacketBuilder().ethernet().ethertype(0x8100).payload(2)},
        {"vlan_too_many_tags", Anomaly::VlanTooManyTags,
         PacketBuilder().ethernet().vlan(1).vlan(2).vlan(3).vlan(4).vlan(5).ipv4("10.0.0.1",
                                                                                 "10.0.0.2")},
        {"ipv4_header_truncated", Anomaly::Ipv4HeaderTruncated, eth4().snaplen(14 + 12)},
        {"ipv4_bad_version", Anomaly::Ipv4BadVersion, eth4().ip_version(5)},
        {"ipv4_header_len_too_small", Anomaly::Ipv4HeaderLenTooSmall, eth4().ipv4_ihl(3)},
        {"ipv4_total_len_too_small", Anomaly::Ipv4TotalLenTooSmall, eth4().ip_total_length(8)},
        {"ipv4_total_len_exceeds_frame", Anomaly::Ipv4TotalLenExceedsFrame,
         eth4().ip_total_length(1500).payload(10)},
        {"ipv6_header_truncated", Anomaly::Ipv6HeaderTruncated, eth6().snaplen(14 + 39)},
        {"ipv6_bad_version", Anomaly::Ipv6BadVersion, eth6().ip_version(4)},
        {"ipv6_payload_len_exceeds_frame", Anomaly::Ipv6PayloadLenExceedsFrame,
         eth6().ipv6_payload_length(100).payload(10)},
        {"ipv6_ext_truncated", Anomaly::Ipv6ExtTruncated, eth6().hop_by_hop().patch(1, 9)},
        {"ipv6_too_many_ext", Anomaly::Ipv6TooManyExt, nine},
        {"ipv6_bad_routing_header", Anomaly::Ipv6BadRoutingHeader,
         eth6().routing(0, 1, {}).tcp(1, 2)},
        {"tcp_header_truncated", Anomaly::TcpHeaderTruncated, eth4().ip_protocol(6).payload(10)},
        {"tcp_data_offset_too_small", Anomaly::TcpDataOffsetTooSmall,
         eth4().tcp(1, 2).tcp_data_offset(2)},
        {"tcp_data_offset_exceeds_segment", Anomaly::TcpDataOffsetExceedsSegment,
         eth4().tcp(1, 2).tcp_data_offset(8).payload(4)},
        {"udp_header_truncated", Anomaly::UdpHeaderTruncated, eth4().ip_protocol(17).payload(5)},
        {"udp_length_too_small", Anomaly::UdpLengthTooSmall, eth4().udp(1, 2).udp_length(3)},
        {"udp_length_exceeds_ip", Anomaly::UdpLengthExceedsIp,
         eth4().udp(1, 2).udp_length(99).payload(3)},
        {"udp_length_short", Anomaly::UdpLengthShort, eth4().udp(1, 2).udp_length(9).payload(3)},
        {"icmp_truncated", Anomaly::IcmpTruncated, eth4().ip_protocol(1).payload(1)},
        {"vxlan_truncated", Anomaly::VxlanTruncated, vxlan_outer().payload(5)},
        {"vxlan_i_flag_clear", Anomaly::VxlanIFlagClear,
         vxlan_outer().vxlan(1, 0x00).ethernet().ipv4("10.1.0.1", "10.1.0.2")},
        {"vxlan_reserved_nonzero", Anomaly::VxlanReservedNonzero,
         vxlan_outer().vxlan(1, 0x0c).ethernet().ipv4("10.1.0.1", "10.1.0.2")},
        {"geneve_truncated", Anomaly::GeneveTruncated, vxlan_outer(6081).payload(4)},
        {"geneve_bad_version", Anomaly::GeneveBadVersion,
         vxlan_outer(6081).geneve(1, {}, 0, 0, 2).ethernet()},
        // Tunnels outside UDP (issue 21 item 2).
        {"gre_truncated", Anomaly::GreTruncated, eth4().ip_protocol(47).payload(3)},
        {"gre_bad_version", Anomaly::GreBadVersion, eth4().gre().patch(1, 0x03).payload(4)},
        {"gre_routing_present", Anomaly::GreRoutingPresent, eth4().gre().patch(0, 0x40)},
        {"gre_unknown_protocol", Anomaly::GreUnknownProtocol,
         eth4().gre().ethertype(0x2000).payload(8)},
        {"erspan_truncated", Anomaly::ErspanTruncated,
         eth4().gre(false, std::nullopt, 1).ethertype(0x88be).payload(4)},
        {"erspan_bad_version", Anomaly::ErspanBadVersion,
         eth4().gre(false, std::nullopt, 1).ethertype(0x88be).payload(ByteVec(8, 0))},
        {"erspan_unknown_frame_type", Anomaly::ErspanUnknownFrameType,
         eth4().gre().erspan(3, 1).patch(10, 0x08)},
        {"mpls_truncated", Anomaly::MplsTruncated,
         PacketBuilder().ethernet().mpls(1).mpls(2).snaplen(14 + 6)},
        {"mpls_no_bottom_of_stack", Anomaly::MplsNoBottomOfStack,
         PacketBuilder().ethernet().mpls(1).mpls_no_bottom()},
        {"mpls_too_many_labels", Anomaly::MplsTooManyLabels,
         [] {
             PacketBuilder b = PacketBuilder().ethernet();
             for (std::uint32_t i = 0; i < 17; ++i) {
                 b.mpls(i + 16);
             }
             return b;
         }()},
        {"mpls_unknown_payload", Anomaly::MplsUnknownPayload,
         PacketBuilder().ethernet().mpls(1).payload({0x10, 0, 0, 0})},
        {"tunnel_depth_exceeded", Anomaly::TunnelDepthExceeded, nested(5)},
        {"too_many_layers", Anomaly::TooManyLayers, nested(9), deep},
        // NFLOG: the 4-byte header, then TLVs (length and type little-endian here).
        {"nflog_truncated", Anomaly::NflogTruncated,
         PacketBuilder().payload(ByteVec{2, 0, 0}).link_type(LinkType::Nflog)},
        {"nflog_bad_version", Anomaly::NflogBadVersion,
         PacketBuilder().payload(ByteVec{2, 1, 0, 5}).link_type(LinkType::Nflog)},
        {"nflog_tlv_truncated", Anomaly::NflogTlvTruncated,
         PacketBuilder().payload(ByteVec{2, 0, 0, 5, 8, 0, 10, 0, 'x'}).link_type(LinkType::Nflog)},
        {"nflog_tlv_too_short", Anomaly::NflogTlvTooShort,
         PacketBuilder().payload(ByteVec{2, 0, 0, 5, 2, 0, 10, 0}).link_type(LinkType::Nflog)},
        {"nflog_no_payload", Anomaly::NflogNoPayload,
         PacketBuilder()
             .payload(ByteVec{2, 0, 0, 5, 8, 0, 10, 0, 'x', 0, 0, 0})
             .link_type(LinkType::Nflog)},
        {"nflog_unknown_family", Anomaly::NflogUnknownFamily,
         PacketBuilder()
             .payload(ByteVec{7, 0, 0, 5, 8, 0, 9, 0, 0, 1, 2, 3})
             .link_type(LinkType::Nflog)},
    };
}

TEST(EveryAnomaly, IsProducedAlone) {
    for (const AnomalyRow& row : anomaly_rows()) {
        SCOPED_TRACE(row.name);
        const Dissection d(row.builder, row.options);
        SCOPED_TRACE(to_hex(d.packet().bytes.data(), d.packet().bytes.size()));
        ASSERT_EQ(d.decoded().anomalies().size(), 1U) << d.anomaly_names();
        EXPECT_EQ(d.decoded().anomalies()[0], row.anomaly) << d.anomaly_names();
        EXPECT_EQ(check_invariants(d.decoded(), d.verdicts()), "");
    }
}

// The reassembly's anomalies come from decode::Reassembler, not decode() (reassembly_test.cc).
const std::set<Anomaly> kReassemblyAnomalies{Anomaly::FragmentOverlap,   Anomaly::FragmentDuplicate,
                                             Anomaly::FragmentOversized, Anomaly::FragmentTooMany,
                                             Anomaly::FragmentBadLength, Anomaly::FragmentMemoryCap,
                                             Anomaly::FragmentIncomplete};

TEST(EveryAnomaly, TableCoversTheEnum) {
    std::set<Anomaly> covered;
    for (const AnomalyRow& row : anomaly_rows()) {
        EXPECT_TRUE(covered.insert(row.anomaly).second) << row.name << " duplicates an anomaly";
        EXPECT_EQ(kReassemblyAnomalies.count(row.anomaly), 0U) << row.name;
    }
    EXPECT_EQ(covered.size() + kReassemblyAnomalies.size(), decode::kAnomalyCount);
}

// --- stable names (they are JSON keys and golden-file content) -----------------------------------

TEST(DecodeNames, Anomalies) {
    const std::vector<std::pair<Anomaly, const char*>> names{
        {Anomaly::LinkTruncated, "link.truncated"},
        {Anomaly::NullUnknownFamily, "null.unknown_family"},
        {Anomaly::RawVersionMismatch, "raw.version_mismatch"},
        {Anomaly::RawUnknownVersion, "raw.unknown_version"},
        {Anomaly::VlanTruncated, "vlan.truncated"},
        {Anomaly::VlanTooManyTags, "vlan.too_many_tags"},
        {Anomaly::Ipv4HeaderTruncated, "ipv4.header_truncated"},
        {Anomaly::Ipv4BadVersion, "ipv4.bad_version"},
        {Anomaly::Ipv4HeaderLenTooSmall, "ipv4.header_len_too_small"},
        {Anomaly::Ipv4TotalLenTooSmall, "ipv4.total_len_too_small"},
        {Anomaly::Ipv4TotalLenExceedsFrame, "ipv4.total_len_exceeds_frame"},
        {Anomaly::Ipv6HeaderTruncated, "ipv6.header_truncated"},
        {Anomaly::Ipv6BadVersion, "ipv6.bad_version"},
        {Anomaly::Ipv6PayloadLenExceedsFrame, "ipv6.payload_len_exceeds_frame"},
        {Anomaly::Ipv6ExtTruncated, "ipv6.ext_header_truncated"},
        {Anomaly::Ipv6TooManyExt, "ipv6.too_many_ext_headers"},
        {Anomaly::Ipv6BadRoutingHeader, "ipv6.bad_routing_header"},
        {Anomaly::FragmentOverlap, "ip.fragment_overlap"},
        {Anomaly::FragmentDuplicate, "ip.fragment_duplicate"},
        {Anomaly::FragmentOversized, "ip.fragment_oversized"},
        {Anomaly::FragmentTooMany, "ip.fragment_too_many"},
        {Anomaly::FragmentBadLength, "ip.fragment_bad_length"},
        {Anomaly::FragmentMemoryCap, "ip.fragment_memory_cap"},
        {Anomaly::FragmentIncomplete, "ip.fragment_incomplete"},
        {Anomaly::TcpHeaderTruncated, "tcp.header_truncated"},
        {Anomaly::TcpDataOffsetTooSmall, "tcp.data_offset_too_small"},
        {Anomaly::TcpDataOffsetExceedsSegment, "tcp.data_offset_exceeds_segment"},
        {Anomaly::UdpHeaderTruncated, "udp.header_truncated"},
        {Anomaly::UdpLengthTooSmall, "udp.length_too_small"},
        {Anomaly::UdpLengthExceedsIp, "udp.length_exceeds_ip_payload"},
        {Anomaly::UdpLengthShort, "udp.length_short_of_ip_payload"},
        {Anomaly::IcmpTruncated, "icmp.truncated"},
        {Anomaly::VxlanTruncated, "vxlan.truncated"},
        {Anomaly::VxlanIFlagClear, "vxlan.i_flag_clear"},
        {Anomaly::VxlanReservedNonzero, "vxlan.reserved_nonzero"},
        {Anomaly::GeneveTruncated, "geneve.truncated"},
        {Anomaly::GeneveBadVersion, "geneve.bad_version"},
        {Anomaly::GreTruncated, "gre.truncated"},
        {Anomaly::GreBadVersion, "gre.bad_version"},
        {Anomaly::GreRoutingPresent, "gre.routing_present"},
        {Anomaly::GreUnknownProtocol, "gre.unknown_protocol"},
        {Anomaly::ErspanTruncated, "erspan.truncated"},
        {Anomaly::ErspanBadVersion, "erspan.bad_version"},
        {Anomaly::ErspanUnknownFrameType, "erspan.unknown_frame_type"},
        {Anomaly::MplsTruncated, "mpls.truncated"},
        {Anomaly::MplsNoBottomOfStack, "mpls.no_bottom_of_stack"},
        {Anomaly::MplsTooManyLabels, "mpls.too_many_labels"},
        {Anomaly::MplsUnknownPayload, "mpls.unknown_payload"},
        {Anomaly::TunnelDepthExceeded, "decode.tunnel_depth_exceeded"},
        {Anomaly::TooManyLayers, "decode.too_many_layers"},
        {Anomaly::NflogTruncated, "nflog.truncated"},
        {Anomaly::NflogBadVersion, "nflog.bad_version"},
        {Anomaly::NflogTlvTruncated, "nflog.tlv_truncated"},
        {Anomaly::NflogTlvTooShort, "nflog.tlv_too_short"},
        {Anomaly::NflogNoPayload, "nflog.no_payload"},
        {Anomaly::NflogUnknownFamily, "nflog.unknown_family"},
    };
    ASSERT_EQ(names.size(), decode::kAnomalyCount);
    for (const auto& [a, name] : names) {
        EXPECT_EQ(decode::to_string(a), name);
    }
}

TEST(DecodeNames, ProtosSkipReasonsLinkTypes) {
    EXPECT_EQ(decode::to_string(Proto::None), "none");
    EXPECT_EQ(decode::to_string(Proto::Ethernet), "ethernet");
    EXPECT_EQ(decode::to_string(Proto::Sll), "sll");
    EXPECT_EQ(decode::to_string(Proto::Sll2), "sll2");
    EXPECT_EQ(decode::to_string(Proto::Null), "null");
    EXPECT_EQ(decode::to_string(Proto::Vlan), "vlan");
    EXPECT_EQ(decode::to_string(Proto::Ipv4), "ipv4");
    EXPECT_EQ(decode::to_string(Proto::Ipv6), "ipv6");
    EXPECT_EQ(decode::to_string(Proto::Tcp), "tcp");
    EXPECT_EQ(decode::to_string(Proto::Udp), "udp");
    EXPECT_EQ(decode::to_string(Proto::Icmpv4), "icmp");
    EXPECT_EQ(decode::to_string(Proto::Icmpv6), "icmpv6");
    EXPECT_EQ(decode::to_string(Proto::Gre), "gre");
    EXPECT_EQ(decode::to_string(Proto::Erspan), "erspan");
    EXPECT_EQ(decode::to_string(Proto::Mpls), "mpls");
    EXPECT_EQ(decode::to_string(Proto::Vxlan), "vxlan");
    EXPECT_EQ(decode::to_string(Proto::Geneve), "geneve");
    EXPECT_EQ(decode::to_string(decode::SkipReason::None), "none");
    EXPECT_EQ(decode::to_string(decode::SkipReason::UnsupportedLinkType), "unsupported_linktype");
    EXPECT_EQ(decode::to_string(decode::SkipReason::NonIp), "non_ip");
    EXPECT_EQ(decode::to_string(decode::SkipReason::Malformed), "malformed");
    EXPECT_EQ(to_string(LinkType::Ethernet), "ethernet");
    EXPECT_EQ(to_string(LinkType::LinuxSll), "linux_sll");
    EXPECT_EQ(to_string(LinkType::LinuxSll2), "linux_sll2");
    EXPECT_EQ(to_string(LinkType::RawIp), "raw");
    EXPECT_EQ(to_string(LinkType::RawIpv4), "ipv4");
    EXPECT_EQ(to_string(LinkType::RawIpv6), "ipv6");
    EXPECT_EQ(to_string(LinkType::Null), "null");
    EXPECT_EQ(to_string(LinkType::Unsupported), "unsupported");
}

// --- DecodedPacket -------------------------------------------------------------------------------

TEST(DecodedPacket, EnclosingIpAndInnermost) {
    const Dissection d(vxlan_outer().vxlan(1).ethernet().ipv4("10.1.0.1", "10.1.0.2").tcp(1, 2));
    const decode::DecodedPacket& p = d.decoded();
    // ethernet(0) ipv4(1) udp(2) vxlan(3) ethernet(4) ipv4(5) tcp(6)
    EXPECT_EQ(p.enclosing_ip(0), -1);
    EXPECT_EQ(p.enclosing_ip(1), -1);
    EXPECT_EQ(p.enclosing_ip(2), 1);
    EXPECT_EQ(p.enclosing_ip(5), 1);
    EXPECT_EQ(p.enclosing_ip(6), 5);
    EXPECT_EQ(p.enclosing_ip(100), 5);  // past the end: the last IP layer
    EXPECT_EQ(p.innermost(Proto::Ipv4), 5);
    EXPECT_EQ(p.innermost(Proto::Udp), 2);
    EXPECT_EQ(p.innermost(Proto::Geneve), -1);
    EXPECT_EQ(p.depth(), 1);
    EXPECT_FALSE(p.full());
    EXPECT_EQ(&p.frame(), &p.frame());
}

TEST(DecodedPacket, ReuseResetsEverything) {
    const BuiltPacket bad =
        PacketBuilder().ethernet().vlan(1).vlan(2).vlan(3).vlan(4).vlan(5).build();
    const BuiltPacket tunnel =
        vxlan_outer().vxlan(1).ethernet().ipv4("10.1.0.1", "10.1.0.2").tcp(1, 2).build();
    const BuiltPacket plain = eth4().udp(1, 2).build();
    const RawFrame f_bad = bad.frame();
    const RawFrame f_tunnel = tunnel.frame();
    const RawFrame f_plain = plain.frame();
    decode::DecodedPacket p;
    decode::decode(f_bad, {}, p);
    EXPECT_EQ(p.skip_reason(), decode::SkipReason::Malformed);
    decode::decode(f_tunnel, {}, p);
    EXPECT_TRUE(p.decoded());
    EXPECT_EQ(p.depth(), 1);
    decode::decode(f_plain, {}, p);
    EXPECT_TRUE(p.decoded());
    EXPECT_EQ(p.depth(), 0);
    EXPECT_EQ(p.layers().size(), 3U);
    EXPECT_TRUE(p.anomalies().empty());
    EXPECT_EQ(&p.frame(), &f_plain);
}

TEST(DecodedPacket, AnomaliesAreDeduplicatedAndCapped) {
    decode::DecodedPacket p;
    const BuiltPacket b = eth4().build();
    const RawFrame f = b.frame();
    p.reset(f);
    p.note(Anomaly::TcpHeaderTruncated);
    p.note(Anomaly::TcpHeaderTruncated);
    EXPECT_EQ(p.anomalies().size(), 1U);
    for (std::size_t i = 0; i < decode::kAnomalyCount; ++i) {
        p.note(static_cast<Anomaly>(i));
    }
    EXPECT_EQ(p.anomalies().size(), decode::DecodedPacket::kMaxAnomalies);
}

TEST(DecodedPacket, PushWhenFullRecordsAnAnomaly) {
    decode::DecodedPacket p;
    const BuiltPacket b = eth4().build();
    const RawFrame f = b.frame();
    p.reset(f);
    decode::Layer l{.proto = Proto::Ethernet, .bytes = f.data, .info = decode::EthernetInfo{}};
    for (std::size_t i = 0; i < decode::DecodedPacket::kMaxLayers; ++i) {
        p.push(l);
    }
    EXPECT_TRUE(p.full());
    EXPECT_TRUE(p.anomalies().empty());
    p.push(l);
    EXPECT_EQ(p.layers().size(), decode::DecodedPacket::kMaxLayers);
    ASSERT_EQ(p.anomalies().size(), 1U);
    EXPECT_EQ(p.anomalies()[0], Anomaly::TooManyLayers);
}

TEST(Layer, HeaderPayloadTruncated) {
    const Dissection d(eth4().tcp(1, 2).payload(30).snaplen(14 + 20 + 20 + 10));
    const decode::Layer* tcp = d.find(Proto::Tcp);
    ASSERT_NE(tcp, nullptr);
    EXPECT_EQ(tcp->header().size(), 20U);
    EXPECT_EQ(tcp->payload().size(), 10U);
    EXPECT_EQ(tcp->claimed_len, 50U);
    EXPECT_TRUE(tcp->truncated());
    const decode::Layer* ip = d.find(Proto::Ipv4);
    EXPECT_EQ(ip->payload().data(), tcp->bytes.data());
}

// --- length lies behind a snaplen cut, inconsistent routing headers ------------------------------

// A length field that exceeds what was on the wire is a length anomaly even when the snaplen
// also cut the frame: decode() compares it with the wire length (Step::claimed comes from
// wirelen), and verify() blames the length, not the snaplen. Input: IPv4 total length 1500 in a
// 154-byte frame (wirelen 154) captured with snaplen 60.
TEST(LengthLies, Ipv4TotalLengthLieBehindASnaplenCutIsALengthAnomaly) {
    const Dissection d(eth4().ip_total_length(1500).tcp(1, 2).payload(100).snaplen(60));
    ASSERT_EQ(d.packet().wirelen, 154U);
    EXPECT_EQ(d.anomaly_names(), "ipv4.total_len_exceeds_frame");
    EXPECT_EQ(d.verdict_names(), "ipv4@0=ok tcp@0=unverified(length_mismatch)");
}

TEST(LengthLies, Ipv6PayloadLengthLieBehindASnaplenCutIsALengthAnomaly) {
    const Dissection d(eth6().ipv6_payload_length(1400).tcp(1, 2).payload(100).snaplen(80));
    EXPECT_EQ(d.anomaly_names(), "ipv6.payload_len_exceeds_frame");
    EXPECT_EQ(d.verdict_names(), "tcp@0=unverified(length_mismatch)");
}

// A UDP length larger than the IP payload is a length mismatch whether or not the frame was also
// cut: verify() takes the reason from the anomalies, not from snaplen_cut() alone.
TEST(LengthLies, UdpLengthBeyondTheIpPayloadIsALengthMismatchNotSnaplen) {
    const Dissection d(eth4().udp(1, 2).udp_length(500).payload(100).snaplen(60));
    EXPECT_EQ(d.anomaly_names(), "udp.length_exceeds_ip_payload");
    const verify::Verdict* v = d.verdict(verify::Check::Udp);
    ASSERT_NE(v, nullptr);
    EXPECT_EQ(v->status, verify::Status::Unverified);
    EXPECT_EQ(v->reason, verify::Reason::LengthMismatch);
}

// A type 0/2 Routing header with more segments left than addresses is inconsistent (RFC 8200
// 4.4 answers it with an ICMP Parameter Problem; RFC 6275 6.4 requires segments left 1 for
// type 2): ipv6.bad_routing_header.
TEST(RoutingHeader, SegmentsLeftBeyondTheAddressesIsABadRoutingHeader) {
    const Dissection d(eth6().routing(0, 5, {"fd00::3"}).tcp(1, 2));
    EXPECT_EQ(d.anomaly_names(), "ipv6.bad_routing_header");
}

}  // namespace
}  // namespace vxcheck::test

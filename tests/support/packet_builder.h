#pragma once
// Test-only packet builder: the one place in vxcheck that writes packets.
//
//   PacketBuilder().ethernet().ipv4("10.0.0.1", "10.0.0.2").tcp(40000, 2049).payload(32).build()
//
// Layers are listed outermost first. build() fills every length, next-protocol field and checksum
// correctly by default (checksums innermost first, so an outer UDP checksum covers the final inner
// ones), then applies the named corruptions. Checksum corruptions (corrupt_checksum(),
// partial_checksum(), ...) act on the most recently added IPv4, TCP, UDP or ICMP layer; length
// corruptions act on the most recent layer of their kind. Checksums are computed by this file's
// own byte-at-a-time routine, never by src/verify, so the tests do not check the code against
// itself. Malformed input for the builder itself (vxlan() without udp(), ...) throws
// std::logic_error: that is a bug in the test, not packet data.

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "vxcheck/decode/decode.h"
#include "vxcheck/decode/packet.h"
#include "vxcheck/frame.h"
#include "vxcheck/verify/verify.h"

namespace vxcheck::test {

using ByteVec = std::vector<std::uint8_t>;
using Mac = std::array<std::uint8_t, 6>;

inline constexpr Mac kMacA{0x02, 0x00, 0x00, 0x00, 0x00, 0x0a};
inline constexpr Mac kMacB{0x02, 0x00, 0x00, 0x00, 0x00, 0x0b};

/// "10.244.1.0" -> 0x0af40100. Throws std::invalid_argument on a bad literal.
[[nodiscard]] std::uint32_t ipv4_addr(std::string_view dotted);
/// "fd00::1" -> 16 bytes. Throws std::invalid_argument on a bad literal.
[[nodiscard]] std::array<std::uint8_t, 16> ipv6_addr(std::string_view text);

/// Reference one's-complement sum (RFC 1071), one big-endian word at a time; odd tail padded.
/// `initial` is a previous (unfolded) partial sum. Deliberately naive: the oracle for the tests.
[[nodiscard]] std::uint32_t ref_sum(const std::uint8_t* data, std::size_t n,
                                    std::uint32_t initial = 0) noexcept;
[[nodiscard]] std::uint16_t ref_fold(std::uint64_t sum) noexcept;

/// Parses "45 00 00 28 ..." (whitespace ignored) into bytes. Throws std::invalid_argument.
[[nodiscard]] ByteVec from_hex(std::string_view hex);
/// Bytes as "45 00 00 28 ...", 16 per line; for failure messages.
[[nodiscard]] std::string to_hex(const std::uint8_t* data, std::size_t n);

/// Geneve TLV option (RFC 8926 3.5): class(2) type(1) R R R len(5, 4-byte words) data.
/// `data` is padded with zeros to a multiple of 4 bytes.
[[nodiscard]] ByteVec geneve_option(std::uint16_t option_class, std::uint8_t type, ByteVec data);

enum class Kind : std::uint8_t {
    Ethernet,
    Vlan,
    Sll,
    Sll2,
    Null,
    Ipv4,
    Ipv6,
    Ipv6Ext,  // hop-by-hop, destination options, routing, fragment, AH: part of the IPv6 layer
    Tcp,
    Udp,
    Icmp,
    Vxlan,
    Geneve,
    Gre,
    Erspan,
    Mpls,
    Raw,  // payload or arbitrary bytes
};

/// Where a layer ended up in the built frame (all layers, before the snaplen cut).
struct BuiltLayer {
    Kind kind = Kind::Raw;
    std::uint8_t depth = 0;  // 0 outermost, +1 inside each VXLAN/Geneve/GRE/IP-in-IP tunnel
    std::size_t offset = 0;
    std::size_t header_len = 0;
    std::size_t end = 0;  // end of what this layer covers (its payload included)
};

/// The built frame: owns the captured bytes (exactly caplen of them, so a read past the end is an
/// out-of-bounds read for the sanitizers).
struct BuiltPacket {
    ByteVec bytes;
    std::uint32_t caplen = 0;
    std::uint32_t wirelen = 0;
    LinkType link = LinkType::Ethernet;
    std::vector<BuiltLayer> layers;

    /// A view for decode(); valid while this BuiltPacket lives and is not modified.
    [[nodiscard]] RawFrame frame(std::uint64_t number = 1) const noexcept;
    /// The n-th (0-based) layer of `kind`; throws std::out_of_range when there is none.
    [[nodiscard]] const BuiltLayer& layer(Kind kind, std::size_t n = 0) const;
    /// Big-endian 16-bit value at `offset` of the built bytes.
    [[nodiscard]] std::uint16_t be16_at(std::size_t offset) const;
};

class PacketBuilder {
  public:
    // --- link layers (the first layer decides the LinkType, unless link_type() overrides) ------
    PacketBuilder& ethernet(Mac dst = kMacB, Mac src = kMacA);
    /// An 802.1Q/802.1ad tag; `tpid` is written into the type field of the layer before it.
    PacketBuilder& vlan(std::uint16_t vid, std::uint16_t tpid = 0x8100, std::uint8_t pcp = 0);
    PacketBuilder& sll(std::uint16_t packet_type = 0);
    PacketBuilder& sll2(std::uint32_t ifindex = 2, std::uint8_t packet_type = 0);
    /// DLT_NULL; family defaults to 2 (IPv4) or 24 (IPv6) from the next layer.
    PacketBuilder& null_link(std::optional<std::uint32_t> family = std::nullopt,
                             bool big_endian = false);
    /// Overrides the frame's link type (e.g. RawIpv4, Unsupported).
    PacketBuilder& link_type(LinkType t);
    /// Overrides the type field of the most recent Ethernet/VLAN/SLL/SLL2/GRE layer.
    PacketBuilder& ethertype(std::uint16_t type);

    // --- IPv4 -----------------------------------------------------------------------------------
    PacketBuilder& ipv4(std::string_view src, std::string_view dst);
    PacketBuilder& ipv4_id(std::uint16_t id);
    PacketBuilder& ipv4_ttl(std::uint8_t ttl);
    PacketBuilder& ipv4_dont_fragment(bool df = true);
    /// Offset in bytes (a multiple of 8) and the MF flag.
    PacketBuilder& ipv4_fragment(std::uint16_t offset_bytes, bool more_fragments);
    /// Raw option bytes, zero-padded to a multiple of 4 (IHL follows).
    PacketBuilder& ipv4_options(ByteVec options);
    /// Stores this total length instead of the real one. The header checksum covers the stored
    /// value (so only the length is wrong); the L4 checksum covers the real segment.
    PacketBuilder& ip_total_length(std::uint16_t v);
    /// Writes this IHL (4-bit) instead of the real one.
    PacketBuilder& ipv4_ihl(std::uint8_t ihl);
    /// Writes this version nibble into the most recent IPv4 or IPv6 header.
    PacketBuilder& ip_version(std::uint8_t version);

    // --- IPv6 and extension headers (they follow the ipv6() they belong to) ----------------------
    PacketBuilder& ipv6(std::string_view src, std::string_view dst);
    PacketBuilder& ipv6_payload_length(std::uint16_t v);
    /// Hop-by-Hop Options with PadN; `extra_units` more 8-byte units of padding.
    PacketBuilder& hop_by_hop(std::uint8_t extra_units = 0);
    /// Destination Options with PadN only.
    PacketBuilder& dest_options(std::uint8_t extra_units = 0);
    /// Destination Options carrying a Home Address option (RFC 6275 6.3).
    PacketBuilder& home_address(std::string_view addr);
    /// Routing header: type 0/2 list addresses from +8; type 4 (SRH) lists Segment List[0] (the
    /// final destination) first. `addrs` is written in the order given.
    PacketBuilder& routing(std::uint8_t type, std::uint8_t segments_left,
                           const std::vector<std::string_view>& addrs);
    PacketBuilder& ipv6_fragment(std::uint16_t offset_bytes, bool more_fragments,
                                 std::uint32_t id = 0x00c0ffee);
    /// Any extension header: `type` is the value announcing it; `bytes` is its content from
    /// offset 0, byte 0 (next header) is filled in.
    PacketBuilder& ipv6_ext(std::uint8_t type, ByteVec bytes);
    /// Overrides the next-protocol value of the most recent IP layer (or extension header).
    PacketBuilder& ip_protocol(std::uint8_t protocol);

    // --- transport ------------------------------------------------------------------------------
    PacketBuilder& tcp(std::uint16_t sport, std::uint16_t dport,
                       std::uint8_t flags = decode::tcp_flag::kAck, std::uint32_t seq = 1000,
                       std::uint32_t ack = 0);
    /// Raw TCP option bytes, zero-padded to a multiple of 4 (data offset follows).
    PacketBuilder& tcp_options(ByteVec options);
    /// Writes this data offset (in 32-bit words) instead of the real one.
    PacketBuilder& tcp_data_offset(std::uint8_t words);
    PacketBuilder& udp(std::uint16_t sport, std::uint16_t dport);
    /// Stores this UDP length instead of the real one (the checksum covers the real datagram).
    PacketBuilder& udp_length(std::uint16_t v);
    /// ICMP (over IPv4) or ICMPv6 (over IPv6), with a correct checksum.
    PacketBuilder& icmp(std::uint8_t type, std::uint8_t code);

    // --- tunnels: each starts an inner frame (vxlan/geneve need a udp() right before) ----------
    PacketBuilder& vxlan(std::uint32_t vni, std::uint8_t flags = 0x08);
    /// Geneve with TLV `options` (a multiple of 4 bytes); protocol 0 = from the next layer.
    PacketBuilder& geneve(std::uint32_t vni, ByteVec options = {}, std::uint16_t protocol = 0,
                          std::uint8_t flags = 0, std::uint8_t version = 0);

    // --- tunnels outside UDP (an IP layer right after an IP layer is IP-in-IP: 4, 41) ---------
    /// GRE version 0 (RFC 2784/2890) after an IP layer: the checksum field (C) when `checksum`,
    /// the key and sequence number when given; the protocol type from the next layer (IPv4,
    /// IPv6, Ethernet 0x6558, ERSPAN, MPLS) unless ethertype() overrides it.
    PacketBuilder& gre(bool checksum = false, std::optional<std::uint32_t> key = std::nullopt,
                       std::optional<std::uint32_t> sequence = std::nullopt);
    /// ERSPAN type 2 or 3 (after gre(); type 2 needs a sequence number there); `subheader`
    /// adds type III's 8-byte platform specific subheader (O).
    PacketBuilder& erspan(std::uint8_t type, std::uint16_t session_id, std::uint16_t vlan = 0,
                          bool subheader = false);
    /// One MPLS label stack entry; S (bottom of stack) is set unless another mpls() follows.
    PacketBuilder& mpls(std::uint32_t label, std::uint8_t ttl = 64, std::uint8_t tc = 0);
    /// Clears S in the most recent MPLS entry (a stack with no bottom).
    PacketBuilder& mpls_no_bottom();

    // --- payload --------------------------------------------------------------------------------
    /// n bytes of a fixed pattern (0x00, 0x01, ... wrapping).
    PacketBuilder& payload(std::size_t n);
    PacketBuilder& payload(ByteVec bytes);
    /// n bytes of Ethernet padding after the outermost IP packet (not covered by any length).
    PacketBuilder& trailer(std::size_t n);

    // --- named corruptions ----------------------------------------------------------------------
    /// Sets byte `offset` of the most recent layer's header to `value` (before checksums).
    PacketBuilder& patch(std::size_t offset, std::uint8_t value);
    /// XORs the checksum of the most recent checksummed layer with `xor_mask` (before any outer
    /// checksum is computed: an outer checksum covers the corrupted value).
    PacketBuilder& corrupt_checksum(std::uint16_t xor_mask);
    /// Stores exactly `value` as the checksum of the most recent checksummed layer.
    PacketBuilder& checksum(std::uint16_t value);
    /// TCP/UDP: stores the non-complemented pseudo-header sum over the real L4 length (Linux
    /// CHECKSUM_PARTIAL). Outer checksums cover this value.
    PacketBuilder& partial_checksum();
    /// TCP/UDP: the partial form over L4 length 0 (igb-style TSO).
    PacketBuilder& partial_checksum_zero_length();
    /// UDP: stores 0 ("no checksum").
    PacketBuilder& zero_udp_checksum();
    /// TCP/UDP inside a tunnel: outer checksums are computed over this layer's final checksum,
    /// then this layer's field is replaced by its partial form (what a sender-side tap sees with
    /// local checksum offload).
    PacketBuilder& local_checksum_offload();
    /// Captures only the first n bytes (caplen = n < wirelen).
    PacketBuilder& snaplen(std::size_t n);

    [[nodiscard]] BuiltPacket build() const;

    /// Layers listed so far.
    [[nodiscard]] std::size_t size() const noexcept { return specs_.size(); }

  private:
    enum class CsumMode : std::uint8_t { Correct, Value, Partial, PartialZeroLength, Zero };

    struct Spec {
        Kind kind = Kind::Raw;
        ByteVec header;             // for Raw: the bytes; for Ipv6Ext: the whole extension header
        std::uint8_t ext_type = 0;  // Ipv6Ext: the protocol value that announces it
        // Link layer / IP fields that depend on what follows.
        std::optional<std::uint32_t> next_override;
        std::optional<std::uint32_t> null_family;
        bool big_endian = false;
        std::uint16_t vlan_tpid = 0;
        // IP / transport.
        std::array<std::uint8_t, 16> src6{};
        std::array<std::uint8_t, 16> dst6{};
        std::uint32_t src4 = 0;
        std::uint32_t dst4 = 0;
        std::optional<std::uint16_t> length_override;
        std::optional<std::uint8_t> ihl_override;
        std::optional<std::uint8_t> version_override;
        std::optional<std::uint8_t> doff_override;
        std::uint16_t geneve_protocol = 0;
        bool mpls_no_bottom = false;
        bool home_address = false;       // Ipv6Ext: src6 holds a Home Address (pseudo source)
        bool final_destination = false;  // Ipv6Ext: dst6 holds a Routing header's final hop
        // Checksums.
        CsumMode csum = CsumMode::Correct;
        std::uint16_t csum_value = 0;
        std::uint16_t csum_xor = 0;
        bool lco = false;
        std::vector<std::pair<std::size_t, std::uint8_t>> patches;
    };

    PacketBuilder& add(Spec s);
    Spec& last(const char* what);
    Spec& last_of(std::initializer_list<Kind> kinds, const char* what);
    Spec& last_checksummed(const char* what);
    Spec& last_l4(const char* what);

    std::vector<Spec> specs_;
    std::optional<LinkType> link_override_;
    std::optional<std::size_t> snaplen_;
    std::size_t trailer_ = 0;
};

/// Decodes and verifies a built packet, owning everything the views point into.
/// Neither copyable nor movable (the decoded packet points at the frame member).
class Dissection {
  public:
    explicit Dissection(const PacketBuilder& builder, const decode::DecodeOptions& options = {});
    explicit Dissection(BuiltPacket packet, const decode::DecodeOptions& options = {});
    Dissection(const Dissection&) = delete;
    Dissection& operator=(const Dissection&) = delete;

    [[nodiscard]] const BuiltPacket& packet() const noexcept { return packet_; }
    [[nodiscard]] const decode::DecodedPacket& decoded() const noexcept { return decoded_; }
    [[nodiscard]] const verify::Verdicts& verdicts() const noexcept { return verdicts_; }

    /// Layer protocols, outermost first, " / " where the tunnel depth grows:
    /// "ethernet ipv4 udp vxlan / ethernet ipv4 tcp".
    [[nodiscard]] std::string layer_names() const;
    /// Anomaly names in the order recorded, space separated ("" when none).
    [[nodiscard]] std::string anomaly_names() const;
    [[nodiscard]] std::string_view skip_name() const noexcept;
    /// The i-th layer of `proto` (0-based, outermost first), or nullptr.
    [[nodiscard]] const decode::Layer* find(decode::Proto proto, std::size_t n = 0) const noexcept;
    /// The verdict for `check` at tunnel depth `depth`, or nullptr.
    [[nodiscard]] const verify::Verdict* verdict(verify::Check check,
                                                 std::uint8_t depth = 0) const noexcept;
    /// All verdicts as "ipv4@0=ok tcp@0=bad udp@1=unverified(snaplen)".
    [[nodiscard]] std::string verdict_names() const;

  private:
    BuiltPacket packet_;
    RawFrame frame_;
    decode::DecodedPacket decoded_;
    verify::Verdicts verdicts_;
};

/// One row of a decode table: what a built frame must decode to. Tables run as one TEST with a
/// SCOPED_TRACE(name) per row (one ctest entry per table keeps the suite fast).
struct DecodeRow {
    std::string name;
    PacketBuilder builder;
    std::string layers;     // Dissection::layer_names()
    std::string anomalies;  // Dissection::anomaly_names()
    std::string skip = "none";
    decode::DecodeOptions options{};
};

/// Checks a DecodeRow (layers, anomalies, skip reason) plus the invariants every frame must
/// satisfy: decoded or skipped with a reason, a decoded frame has an outer IP layer, and every
/// layer view lies inside the frame at its recorded offset. Uses GoogleTest assertions.
void expect_decodes_as(const DecodeRow& row);
/// The frame invariants alone (for fuzzing): returns "" or a description of the violation.
[[nodiscard]] std::string check_invariants(const decode::DecodedPacket& pkt,
                                           const verify::Verdicts& verdicts);

}  // namespace vxcheck::test

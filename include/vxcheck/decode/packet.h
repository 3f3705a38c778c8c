#pragma once
// The decoder's output: a fixed-capacity stack of layers (outermost first), each a small value
// struct plus a view into the frame. Nothing here allocates.

#include <array>
#include <cstdint>
#include <span>
#include <string_view>
#include <variant>

#include "vxcheck/bytes.h"
#include "vxcheck/decode/anomaly.h"
#include "vxcheck/frame.h"
#include "vxcheck/wire.h"

namespace vxcheck::decode {

enum class Proto : std::uint8_t {
    None,
    Ethernet,
    Sll,
    Sll2,
    Null,
    Vlan,
    Ipv4,
    Ipv6,
    Tcp,
    Udp,
    Icmpv4,
    Icmpv6,
    Vxlan,
    Geneve,
    // Tunnels and labels outside UDP (issue 21): GRE, its ERSPAN mirror headers, MPLS labels.
    Gre,
    Erspan,
    Mpls,
    // NFLOG (LINKTYPE_NFLOG): the netlink log header around the IP packet.
    Nflog,
};

[[nodiscard]] std::string_view to_string(Proto p) noexcept;

struct EthernetInfo {
    std::uint16_t ethertype = 0;

    bool operator==(const EthernetInfo&) const = default;
};

/// Linux cooked capture v1 or v2; ifindex is only present in v2 (0 otherwise).
struct SllInfo {
    std::uint16_t packet_type = 0;  // 0 host, 1 broadcast, 2 multicast, 3 other host, 4 outgoing
    std::uint16_t protocol = 0;
    std::uint32_t ifindex = 0;

    bool operator==(const SllInfo&) const = default;
};

struct NullInfo {
    std::uint32_t family = 0;

    bool operator==(const NullInfo&) const = default;
};

struct VlanInfo {
    std::uint16_t tpid = 0;  // 0x8100 (802.1Q) or 0x88a8 / 0x9100 (802.1ad)
    std::uint16_t vid = 0;
    std::uint16_t ethertype = 0;  // what follows the tag

    bool operator==(const VlanInfo&) const = default;
};

struct Ipv4Info {
    std::uint32_t src = 0;
    std::uint32_t dst = 0;
    std::uint16_t total_length = 0;
    std::uint16_t id = 0;
    std::uint16_t frag_offset = 0;  // in bytes
    bool more_fragments = false;
    bool dont_fragment = false;
    bool length_from_capture =
        false;  // total length 0 (TSO / BIG TCP): extent taken from the frame
    std::uint8_t ttl = 0;
    std::uint8_t protocol = 0;
    std::uint16_t checksum = 0;

    [[nodiscard]] bool is_fragment() const noexcept { return more_fragments || frag_offset != 0; }
    bool operator==(const Ipv4Info&) const = default;
};

/// Addresses are views into the frame (16 bytes each). pseudo_src/pseudo_dst are the addresses
/// the upper-layer checksum uses: the Home Address option replaces the source (RFC 6275 6.3) and
/// a Routing header with segments left replaces the destination by the final one (RFC 8200 8.1).
struct Ipv6Info {
    Bytes src;
    Bytes dst;
    Bytes pseudo_src;
    Bytes pseudo_dst;
    std::uint16_t payload_length = 0;
    std::uint8_t next_header = 0;  // the upper-layer protocol, after extension headers
    std::uint8_t hop_limit = 0;
    bool fragment = false;  // a Fragment header is present
    bool more_fragments = false;
    std::uint16_t frag_offset = 0;     // in bytes
    bool length_from_capture = false;  // payload length 0 (BIG TCP / jumbogram)

    [[nodiscard]] bool is_fragment() const noexcept {
        return fragment && (more_fragments || frag_offset != 0);
    }
};

/// A header cut by the snaplen inside its 20 fixed bytes (`captured` < 20) holds only the fields
/// that were captured; the others are 0 and must not be read as values (the *_known() tests).
struct TcpInfo {
    std::uint16_t sport = 0;
    std::uint16_t dport = 0;
    std::uint32_t seq = 0;
    std::uint32_t ack = 0;
    std::uint8_t flags = 0;                          // CWR ECE URG ACK PSH RST SYN FIN
    std::uint8_t captured = wire::kTcpMinHeaderLen;  // bytes of the fixed header captured, 4..20
    std::uint16_t window = 0;
    std::uint16_t checksum = 0;

    [[nodiscard]] bool seq_known() const noexcept { return captured >= 8; }
    [[nodiscard]] bool ack_known() const noexcept { return captured >= 12; }
    [[nodiscard]] bool flags_known() const noexcept { return captured >= 14; }
    [[nodiscard]] bool complete() const noexcept { return captured >= wire::kTcpMinHeaderLen; }
    bool operator==(const TcpInfo&) const = default;
};

namespace tcp_flag {
inline constexpr std::uint8_t kFin = 0x01;
inline constexpr std::uint8_t kSyn = 0x02;
inline constexpr std::uint8_t kRst = 0x04;
inline constexpr std::uint8_t kPsh = 0x08;
inline constexpr std::uint8_t kAck = 0x10;
}  // namespace tcp_flag

struct UdpInfo {
    std::uint16_t sport = 0;
    std::uint16_t dport = 0;
    std::uint16_t length = 0;
    std::uint16_t checksum = 0;

    bool operator==(const UdpInfo&) const = default;
};

struct IcmpInfo {
    std::uint8_t type = 0;
    std::uint8_t code = 0;
    std::uint16_t checksum = 0;

    bool operator==(const IcmpInfo&) const = default;
};

struct VxlanInfo {
    std::uint8_t flags = 0;
    std::uint32_t vni = 0;

    bool operator==(const VxlanInfo&) const = default;
};

struct GeneveInfo {
    std::uint8_t options_len = 0;  // bytes
    bool oam = false;
    bool critical = false;
    std::uint16_t protocol = 0;
    std::uint32_t vni = 0;

    bool operator==(const GeneveInfo&) const = default;
};

/// GRE (RFC 2784, RFC 2890 key and sequence; version 1 is PPTP's enhanced GRE, RFC 2637, whose
/// key field holds the payload length and the call ID).
struct GreInfo {
    std::uint8_t version = 0;
    bool has_checksum = false;
    bool has_key = false;
    bool has_sequence = false;
    bool has_ack = false;        // version 1 only
    bool metadata = false;       // Cisco MetaData (0x8909) follows the header; protocol names it
    std::uint16_t sgt = 0;       // its security group tag
    std::uint16_t protocol = 0;  // an EtherType
    std::uint16_t checksum = 0;
    std::uint32_t key = 0;
    std::uint32_t sequence = 0;
    std::uint32_t ack = 0;

    bool operator==(const GreInfo&) const = default;
};

/// ERSPAN (draft-foschiano-erspan): version 1 is type II, 2 is type III; type I has no header.
struct ErspanInfo {
    std::uint8_t version = 0;
    bool truncated = false;  // T: the mirrored frame was cut to the session's MTU
    std::uint16_t vlan = 0;
    std::uint16_t session_id = 0;
    std::uint8_t frame_type = 0;  // type III FT: 0 Ethernet

    bool operator==(const ErspanInfo&) const = default;
};

/// One MPLS label stack entry (RFC 3032); the bottom one may carry a pseudowire control word
/// (RFC 4385: first nibble 0), which is then part of its header.
struct MplsInfo {
    std::uint32_t label = 0;
    std::uint8_t tc = 0;
    std::uint8_t ttl = 0;
    bool bottom = false;
    bool control_word = false;

    bool operator==(const MplsInfo&) const = default;
};

// The fixed fields of a header, read into its info in place (decoders fill a layer's info
// where it lives: a copy of one built elsewhere would wait for the narrow stores that built it).
// Every reader of these headers uses them, so that a layer reads the same however it is found.

/// Precondition: b.size() >= 20 (the IPv4 header without options).
inline void read_ipv4_header(Bytes b, Ipv4Info& info) noexcept {
    const std::uint16_t frag = be16(b, 6);
    info.src = be32(b, 12);
    info.dst = be32(b, 16);
    info.total_length = be16(b, 2);
    info.id = be16(b, 4);
    info.frag_offset = static_cast<std::uint16_t>((frag & wire::kIpv4FragOffsetMask) * 8U);
    info.more_fragments = (frag & wire::kIpv4FlagMf) != 0;
    info.dont_fragment = (frag & wire::kIpv4FlagDf) != 0;
    info.length_from_capture = info.total_length == 0;
    info.ttl = b[8];
    info.protocol = b[wire::kIpv4ProtocolOffset];
    info.checksum = be16(b, wire::kIpv4ChecksumOffset);
}

/// Precondition: b.size() >= 20 (the TCP header without options).
inline void read_tcp_header(Bytes b, TcpInfo& info) noexcept {
    info.sport = be16(b, 0);
    info.dport = be16(b, 2);
    info.seq = be32(b, 4);
    info.ack = be32(b, 8);
    info.flags = b[13];
    info.window = be16(b, 14);
    info.checksum = be16(b, wire::kTcpChecksumOffset);
    info.captured = wire::kTcpMinHeaderLen;  // a reused info may hold a cut header's
}

/// The fields of a TCP header cut inside its fixed 20 bytes: those wholly captured.
/// Precondition: 4 <= b.size() < 20.
inline void read_partial_tcp_header(Bytes b, TcpInfo& info) noexcept {
    info.sport = be16(b, 0);
    info.dport = be16(b, 2);
    info.seq = b.size() >= 8 ? be32(b, 4) : 0;
    info.ack = b.size() >= 12 ? be32(b, 8) : 0;
    info.flags = b.size() >= 14 ? b[13] : 0;
    info.captured = static_cast<std::uint8_t>(b.size());
}

/// Precondition: b.size() >= 8.
inline void read_udp_header(Bytes b, UdpInfo& info) noexcept {
    info.sport = be16(b, 0);
    info.dport = be16(b, 2);
    info.length = be16(b, wire::kUdpLengthOffset);
    info.checksum = be16(b, wire::kUdpChecksumOffset);
}

/// NFLOG (tcpdump -i nflog:N): the log message's header and the TLVs that say where netfilter
/// logged the packet. Absent TLVs leave their has_ flag false.
struct NflogInfo {
    std::uint8_t family = 0;   // AF_INET 2, AF_INET6 10
    std::uint8_t version = 0;  // 0
    std::uint16_t group = 0;   // the resource id: the NFLOG group of the rule
    bool has_hook = false;
    std::uint8_t hook = 0;  // NFULA_PACKET_HDR: 0 PREROUTING, 1 INPUT, 2 FORWARD, 3 OUTPUT, 4 POST
    std::uint16_t hw_protocol = 0;  // NFULA_PACKET_HDR: the EtherType
    std::uint32_t indev = 0;        // NFULA_IFINDEX_INDEV, 0 if absent
    std::uint32_t outdev = 0;       // NFULA_IFINDEX_OUTDEV, 0 if absent
    std::string_view prefix;  // NFULA_PREFIX (the rule's --nflog-prefix), a view into the frame

    bool operator==(const NflogInfo&) const = default;
};

using LayerInfo = std::variant<std::monostate, EthernetInfo, SllInfo, NullInfo, VlanInfo, Ipv4Info,
                               Ipv6Info, TcpInfo, UdpInfo, IcmpInfo, VxlanInfo, GeneveInfo, GreInfo,
                               ErspanInfo, MplsInfo, NflogInfo>;

struct Layer {
    Proto proto = Proto::None;
    std::uint8_t depth = 0;  // 0 = outermost; +1 inside each tunnel (VXLAN, Geneve, GRE, IP-in-IP)
    std::uint16_t header_len = 0;   // bytes of this layer's own header
    std::uint32_t offset = 0;       // of the header, from the start of the frame
    std::uint32_t claimed_len = 0;  // header + payload as the headers claim it
    Bytes bytes;                    // header + payload as captured, never past claimed_len
    LayerInfo info;

    [[nodiscard]] bool truncated() const noexcept { return bytes.size() < claimed_len; }
    [[nodiscard]] Bytes header() const noexcept { return clip(bytes, header_len); }
    [[nodiscard]] Bytes payload() const noexcept {
        return header_len < bytes.size() ? bytes.subspan(header_len) : Bytes{};
    }
    template <typename T>
    [[nodiscard]] const T* as() const noexcept {
        return std::get_if<T>(&info);
    }
};

/// Why a frame produced no IP layer at depth 0. Every frame read is either decoded or skipped.
enum class SkipReason : std::uint8_t { None, UnsupportedLinkType, NonIp, Malformed };

[[nodiscard]] std::string_view to_string(SkipReason r) noexcept;

class DecodedPacket {
  public:
    static constexpr std::size_t kMaxLayers = 32;
    static constexpr std::size_t kMaxAnomalies = 8;

    /// Starts over for a new frame; the frame must outlive every use of this packet's views.
    void reset(const RawFrame& frame) noexcept;

    [[nodiscard]] const RawFrame& frame() const noexcept { return *frame_; }
    [[nodiscard]] std::span<const Layer> layers() const noexcept {
        return {layers_.data(), count_};
    }
    [[nodiscard]] std::span<const Anomaly> anomalies() const noexcept {
        return {anomalies_.data(), anomaly_count_};
    }
    [[nodiscard]] bool full() const noexcept { return count_ == kMaxLayers; }
    [[nodiscard]] SkipReason skip_reason() const noexcept { return skip_; }
    [[nodiscard]] bool decoded() const noexcept { return skip_ == SkipReason::None; }
    [[nodiscard]] std::uint8_t depth() const noexcept { return depth_; }

    /// Index of the nearest IPv4/IPv6 layer before layer i (the one whose pseudo-header an L4
    /// checksum uses), or -1.
    [[nodiscard]] int enclosing_ip(std::size_t i) const noexcept;
    /// Index of the innermost layer of the given protocol, or -1.
    [[nodiscard]] int innermost(Proto p) const noexcept;

    // Mutators for the decoders.
    /// Appends a layer at the current tunnel depth and returns its info, value-initialised, for
    /// the decoder to fill in place. (Building a Layer field by field and then copying it whole
    /// stalls the CPU: the wide loads of the copy cannot be forwarded from the narrow stores.)
    /// When the stack is full, TooManyLayers is noted and the info returned belongs to a scratch
    /// layer that is never listed.
    template <typename Info>
    Info& add(Proto proto, std::size_t header_len, std::uint32_t claimed_len,
              Bytes bytes) noexcept {
        Layer& l = next_slot();
        l.proto = proto;
        l.depth = depth_;
        l.header_len = static_cast<std::uint16_t>(header_len);
        l.offset = static_cast<std::uint32_t>(bytes.data() - frame_->data.data());
        l.claimed_len = claimed_len;
        l.bytes = bytes;
        return l.info.emplace<Info>();
    }
    /// Appends a copy of `layer` (depth and offset set here); as add() when full.
    void push(const Layer& layer) noexcept;
    void note(Anomaly a) noexcept;
    void set_skip(SkipReason r) noexcept { skip_ = r; }
    void enter_tunnel() noexcept { ++depth_; }

  private:
    Layer& next_slot() noexcept;

    // The small members first: every reader needs them with the first layers, in one cache line
    // (after the 3.8 KiB of layers they cost a line of their own per packet).
    const RawFrame* frame_ = nullptr;
    std::uint8_t count_ = 0;
    std::uint8_t anomaly_count_ = 0;
    std::uint8_t depth_ = 0;
    SkipReason skip_ = SkipReason::None;
    std::array<Anomaly, kMaxAnomalies> anomalies_{};
    std::array<Layer, kMaxLayers> layers_{};
    Layer scratch_;  // what add() fills when the stack is full
};

}  // namespace vxcheck::decode

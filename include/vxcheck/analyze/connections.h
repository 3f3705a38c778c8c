#pragma once
// Connection verdicts (domain spec 2, 4, 5): per TCP connection on the watched ports, from one
// or several capture points: silently dropped or rejected SYNs, delayed connects, inner and
// outer SNAT, double SNAT, and outer UDP checksums corrupted by NAT (variants A and B).

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "vxcheck/decode/packet.h"
#include "vxcheck/frame.h"
#include "vxcheck/track/flow_key.h"
#include "vxcheck/verify/verify.h"

namespace vxcheck::analyze {

struct ConnectionOptions {
    std::vector<std::uint16_t> ports{2049};  // server ports to watch (NFS by default)
    bool all_ports = false;
    std::size_t max_flows = 200000;      // bound on tracked connections; oldest evicted first
    std::uint32_t idle_timeout_s = 900;  // a connection idle this long is decided and dropped
    // The VXLAN driver picks outer source ports in [min, max] (ip_local_port_range 32768-60999,
    // max exclusive: domain spec 1.2); a port outside was rewritten by NAT.
    std::uint16_t vxlan_sport_min = 32768;
    std::uint16_t vxlan_sport_max = 60998;
    // Local ephemeral range of clients (net.ipv4.ip_local_port_range).
    std::uint16_t ephemeral_min = 32768;
    std::uint16_t ephemeral_max = 60999;
    std::uint8_t flannel_prefix_len = 24;  // per-node lease; x.y.z.0 is flannel.1's address
};

/// The innermost TCP segment of a packet and the tunnel that carried it, as plain values.
struct Segment {
    decode::TcpInfo t;
    track::Endpoint src;
    track::Endpoint dst;
    track::FlowKey key;                  // FlowKey::of(src, dst)
    bool src_is_lo = false;              // src is key.lo (false when src == dst)
    std::uint64_t hash = 0;              // track::FlowKeyHash of key
    std::uint32_t payload = 0;           // TCP payload bytes as the headers claim them
    std::uint16_t ip_id = 0;             // IPv4 identification (0 over IPv6)
    std::uint8_t tcp_layer = 0;          // index of the TCP layer
    std::optional<std::uint32_t> tsval;  // SYNs only: the timestamp option's TSval
    // The nearest VXLAN/Geneve tunnel outside the segment, if any.
    bool tunnelled = false;
    bool outer_verdict_known = false;  // the outer UDP checksum has a verdict
    std::uint16_t outer_sport = 0;
    std::uint32_t vni = 0;
    track::Endpoint outer_src;  // the outer IP layer's addresses (port 0)
    track::Endpoint outer_dst;
    verify::Verdict outer_verdict;

    [[nodiscard]] const verify::Verdict* outer_checksum() const noexcept {
        return outer_verdict_known ? &outer_verdict : nullptr;
    }
    /// Sets src, dst, key, src_is_lo and hash for a segment over IPv4 (t's ports set).
    void set_ipv4_endpoints(std::uint32_t src_addr, std::uint32_t dst_addr) noexcept;
    /// Sets the tunnel fields but the outer addresses: carried in VXLAN/Geneve `vni`, with the
    /// outer UDP checksum's verdict if it has one; or, with no_tunnel(), not tunnelled.
    void set_tunnel(std::uint32_t vni, std::uint16_t outer_sport,
                    const verify::Verdict* outer) noexcept;
    /// set_tunnel() and outer IPv4 addresses.
    void set_ipv4_tunnel(std::uint32_t vni, std::uint16_t outer_sport, std::uint32_t outer_src_addr,
                         std::uint32_t outer_dst_addr, const verify::Verdict* outer) noexcept;
    void no_tunnel() noexcept;
    bool operator==(const Segment&) const = default;
};

/// TSval of the TCP timestamp option (RFC 7323) among a TCP header's options, if present.
[[nodiscard]] std::optional<std::uint32_t> tcp_tsval(Bytes options) noexcept;

/// What the connection analysis needs of one packet, pulled out of its layers and verdicts by
/// digest(). It depends on nothing but the packet, so `analyze --threads` computes it on the
/// thread that decoded the packet, and the ordered analysis reads these few lines instead of
/// walking the layers (written by another core) again.
struct PacketDigest {
    Timestamp ts;  // the frame's
    bool has_segment = false;
    Segment segment;
    // Tunnel checksum modes seen (domain spec 2.4: a VTEP pair sends zero or full outer UDP
    // checksums): IPv4 VTEP pairs as (src << 32 | dst), zero or full.
    struct VtepSighting {
        std::uint64_t pair = 0;
        bool zero = false;
        bool operator==(const VtepSighting&) const = default;
    };
    static constexpr std::size_t kMaxVteps = 2;
    std::array<VtepSighting, kMaxVteps> vteps{};
    std::uint8_t vtep_count = 0;
    bool vteps_complete = true;  // false: an IPv6 VTEP or deeper nesting; walk the layers
    std::int8_t icmp = -1;       // index of the innermost ICMP layer when there is no segment

    /// Starts the digest of a frame with timestamp `frame_ts` over what an earlier one left.
    void begin(Timestamp frame_ts) noexcept {
        ts = frame_ts;
        has_segment = false;
        vtep_count = 0;
        vteps_complete = true;
        icmp = -1;
    }
    /// Records an IPv4 VTEP pair's mode (or that there are more than kMaxVteps).
    void add_vtep(std::uint64_t pair, bool zero) noexcept {
        if (vtep_count == kMaxVteps) {
            vteps_complete = false;
            return;
        }
        vteps[vtep_count++] = {.pair = pair, .zero = zero};
    }
    bool operator==(const PacketDigest&) const = default;
};

/// Whether a tunnel's outer UDP checksum verdict shows its VTEP pair's mode (domain spec 2.4):
/// zero checksums (`zero` set), or full ones (ok or partial).
[[nodiscard]] bool shows_vtep_mode(const verify::Verdict& v, bool& zero) noexcept;

/// Computes the digest of a decoded and verified packet. Reads only; never allocates.
[[nodiscard]] PacketDigest digest(const decode::DecodedPacket& packet,
                                  const verify::Verdicts& verdicts) noexcept;
/// The same into `out`, overwriting what an earlier packet left (the per-packet form).
void digest(const decode::DecodedPacket& packet, const verify::Verdicts& verdicts,
            PacketDigest& out) noexcept;

/// One frame as the analyzer sees it: decoded, verified, and from which capture point. With a
/// digest, the analyzer reads the packet's frame, and its layers only where the digest says it
/// is incomplete (an IPv6 or nested VTEP, an ICMP error): a frame the fast path took comes with
/// its digest and no layers (app::FrameProcessor builds them when asked).
struct PacketContext {
    std::uint16_t point = 0;
    const decode::DecodedPacket& packet;
    const verify::Verdicts& verdicts;
    const PacketDigest* digest = nullptr;  // digest(packet, verdicts), if already computed
};

enum class Verdict : std::uint8_t {
    SynDropped,
    SynRejected,
    DelayedConnect,
    InnerSnat,
    OuterSnat,
    DoubleSnat,
    OuterChecksumCorrupted,
    Clean,
};
inline constexpr std::size_t kVerdictCount = static_cast<std::size_t>(Verdict::Clean) + 1;
[[nodiscard]] std::string_view to_string(Verdict v) noexcept;

/// A frame kept as evidence (copied: frames die at the next read), with why it matters.
struct EvidenceFrame {
    std::uint16_t point = 0;
    std::uint64_t frame = 0;
    Timestamp ts;
    LinkType link = LinkType::Ethernet;
    std::uint32_t wirelen = 0;
    std::vector<std::uint8_t> bytes;
    std::string note;  // one line, plain words (the pcapng comment adds the verdicts)
};

struct CorruptedOuter {
    char variant = '?';                          // 'A' (0xffff on a zero-checksum tunnel) or 'B'
    std::uint16_t sport = 0;                     // as captured (after NAT)
    std::optional<std::uint16_t> pre_nat_sport;  // recovered from the checksum (variant B)
    std::uint16_t stored = 0;
    std::uint16_t expected = 0;
    std::uint16_t point = 0;
    std::uint64_t frame = 0;
    // The same packet seen later, decapsulated, at another capture point: the receiver did not
    // verify the outer checksum (veth, or RX checksum offload off) and delivered it anyway.
    std::optional<std::uint16_t> delivered_at;
};

struct ConnectionReport {
    track::Endpoint client;
    track::Endpoint server;
    std::vector<Verdict> verdicts;  // in enum order; {Clean} when nothing applies

    // The SYN story of the decisive attempt (the last ISN seen).
    std::string
        outcome;  // established | rejected_rst | rejected_icmp | dropped | unanswered | no_syn
    unsigned attempts = 0;              // distinct ISNs
    unsigned syns = 0;                  // SYN transmissions of the decisive attempt
    std::vector<double> syn_offsets_s;  // send times relative to the first SYN
    std::optional<double> delay_s;      // first SYN -> the SYN that was answered
    std::string schedule;               // classic | linear | classic_or_linear | other | ""
    std::optional<std::uint8_t> icmp_type;
    std::optional<std::uint8_t> icmp_code;

    // Tunnel context.
    std::string outer_client;  // "ip" of the client-side VTEP, "" if never tunnelled
    std::string outer_server;
    std::vector<std::uint16_t> outer_sports;        // client->server outer source ports, in order
    std::vector<std::uint16_t> outer_sports_reply;  // server->client
    std::uint32_t vni = 0;
    std::optional<std::uint16_t> outer_sport_out_of_range;
    std::vector<CorruptedOuter> corrupted;  // first few
    std::uint64_t corrupted_total = 0;
    std::string inner_snat_reason;
    bool inner_snat_inferred = false;  // from the outer NAT, not from the inner port
    std::string outer_snat_reason;

    std::vector<std::string> points;          // capture points that saw the connection
    std::vector<std::string> hops;            // cross-point observations (drops, rewrites)
    std::string history;                      // Zeek-style: S h A D d F f R r (upper = client)
    std::uint64_t retransmissions = 0;        // data segments sent again, client->server
    std::uint64_t retransmissions_reply = 0;  // server->client
    std::uint64_t packets = 0;
    Timestamp first_ts;
    Timestamp last_ts;
    Timestamp decided_at;  // live: when poll() decided it (wall clock); 0 otherwise

    std::string explanation;            // what happened, in plain words
    std::vector<std::string> remedies;  // what to do
    std::vector<EvidenceFrame> evidence;

    [[nodiscard]] bool has(Verdict v) const noexcept;
};

struct ConnectionStats {
    std::uint64_t flows_created = 0;
    std::uint64_t evicted = 0;  // decided early because the table was full
    std::uint64_t expired = 0;  // decided early because idle
    std::uint64_t peak_flows = 0;
    std::uint64_t segments = 0;  // TCP segments on watched ports
};

class ConnectionAnalyzer {
  public:
    explicit ConnectionAnalyzer(ConnectionOptions options);
    ~ConnectionAnalyzer();
    ConnectionAnalyzer(const ConnectionAnalyzer&) = delete;
    ConnectionAnalyzer& operator=(const ConnectionAnalyzer&) = delete;

    /// Names a capture point (a file, an interface); returns its index for PacketContext.
    std::uint16_t add_point(std::string name);
    [[nodiscard]] const std::vector<std::string>& points() const noexcept;

    void on_packet(const PacketContext& ctx) noexcept;

    /// A hint, for the thread that calls on_packet: starts loading the table slot and the first
    /// lines of the connection whose key hashes to `flow_hash` (Segment::hash), for an
    /// on_packet soon after. Changes nothing.
    void prefetch(std::uint64_t flow_hash) const noexcept;
    /// The first step of prefetch() only: starts loading the table slot, reads nothing (never
    /// waits). For a prefetch() a few packets later, when the slot is in the cache.
    void prefetch_slot(std::uint64_t flow_hash) const noexcept;

    /// Connections decided early (evicted or idle) since the last call.
    std::vector<ConnectionReport> take_decided();
    /// Live use: connections that gained a verdict since they were last returned, because their
    /// decisive packet arrived (SYN-ACK after retransmissions, RST, ICMP, a NAT fingerprint) or
    /// a retransmitted SYN stayed unanswered for `settle_s`. `now` is wall-clock time.
    std::vector<ConnectionReport> poll(Timestamp now, double settle_s = 0.5);
    [[nodiscard]] std::size_t open_connections() const noexcept;

    /// Decides every remaining connection; ordered by first packet.
    std::vector<ConnectionReport> finish();

    [[nodiscard]] const ConnectionStats& stats() const noexcept;

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace vxcheck::analyze

#pragma once
// What the connection analysis takes of one packet: its innermost TCP segment and the tunnel
// around it, the VTEP checksum modes it shows (PacketDigest), and the frame (PacketContext).

#include <array>
#include <cstdint>
#include <optional>

#include "vxcheck/decode/packet.h"
#include "vxcheck/decode/tcp_options.h"
#include "vxcheck/frame.h"
#include "vxcheck/track/flow_key.h"
#include "vxcheck/verify/verify.h"

namespace vxcheck::analyze {

/// A SYN's MSS and window-scale options (RFC 9293 3.7.1, RFC 7323 2.2), packed in four bytes:
/// with the ISN, the IPv4 identification and the TSval, what recognises one SYN at two capture
/// points (the rule: src/analyze/nat_join.h). An absent option is stored as 0, so that equal
/// options compare equal.
struct SynOptions {
    std::uint16_t mss = 0;     // the MSS option's value, when has_mss()
    std::uint8_t wscale = 0;   // the window-scale option's shift, when has_wscale()
    std::uint8_t present = 0;  // kMss | kWscale

    static constexpr std::uint8_t kMss = 1;
    static constexpr std::uint8_t kWscale = 2;

    /// The MSS and window-scale options among parsed ones.
    [[nodiscard]] static SynOptions of(const decode::TcpOptions& o) noexcept {
        SynOptions s;
        if (o.mss) {
            s.mss = *o.mss;
            s.present |= kMss;
        }
        if (o.window_scale) {
            s.wscale = *o.window_scale;
            s.present |= kWscale;
        }
        return s;
    }
    [[nodiscard]] bool has_mss() const noexcept { return (present & kMss) != 0; }
    [[nodiscard]] bool has_wscale() const noexcept { return (present & kWscale) != 0; }
    bool operator==(const SynOptions&) const = default;
};

/// The innermost TCP segment of a packet and the tunnel that carried it, as plain values.
struct Segment {
    decode::TcpInfo t;
    track::Endpoint src;
    track::Endpoint dst;
    track::FlowKey key;                  // FlowKey::of(src, dst)
    SynOptions syn;                      // SYNs only: the MSS and window-scale options
    std::uint64_t hash = 0;              // track::FlowKeyHash of key
    std::uint32_t payload = 0;           // TCP payload bytes as the headers claim them
    std::uint32_t payload_offset = 0;    // where the payload starts in the frame's bytes
    std::uint16_t ip_id = 0;             // IPv4 identification (0 over IPv6)
    std::uint8_t tcp_layer = 0;          // index of the TCP layer
    bool src_is_lo = false;              // src is key.lo (false when src == dst)
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
    /// Sets tsval and syn from the options of a SYN (the bytes after the fixed header, up to
    /// the data offset). Other segments leave both as an earlier packet left them.
    void set_syn_options(Bytes options) noexcept;
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

/// What the connection analysis needs of one packet, pulled out of its layers and verdicts by
/// digest(). It depends on nothing but the packet, so it may be computed on the thread that
/// decoded the packet, and the analysis then reads these few lines instead of walking the layers
/// (written by another core) again. A producer that builds it from the frame's bytes instead of
/// from layers must produce exactly what digest() does.
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
/// is incomplete (an IPv6 or nested VTEP, an ICMP error): a frame may come with its digest and
/// no layers, provided its producer decodes the layers of every frame whose digest is
/// incomplete.
struct PacketContext {
    std::uint16_t point = 0;
    const decode::DecodedPacket& packet;
    const verify::Verdicts& verdicts;
    const PacketDigest* digest = nullptr;  // digest(packet, verdicts), if already computed
};

}  // namespace vxcheck::analyze

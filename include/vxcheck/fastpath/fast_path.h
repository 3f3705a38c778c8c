#pragma once
// The fast path: the two frame shapes that make up nearly all of a Flannel node's traffic,
// decoded and verified at fixed offsets, with nothing in doubt.
//
//   plain TCP:     Ethernet / IPv4 / TCP                                  (flannel.1, pod veths)
//   TCP in VXLAN:  Ethernet / IPv4 / UDP / VXLAN / Ethernet / IPv4 / TCP  (eth0 of a VXLAN node)
//
// The general decoder walks a protocol graph layer by layer and the general verifier handles
// every offload artefact, fragments, cut frames and nesting. For these two shapes, when every
// header is plain (decode/header_rules.h: no IP options, no fragment, lengths that agree
// exactly, VXLAN flags 0x08 and reserved bytes zero) and no checksum is bad, almost all of that
// work has a known answer. take_frame() checks exactly those conditions, asks the status ladder
// (verify/status_ladder.h) for each checksum's verdict with the sums it computed, and writes
// the verdicts verify() would write and the digest analyze::digest() would take from the
// layers. It leaves the layers to build_layers(), which writes those decode() would write, for
// the few frames whose layers someone reads. Any other frame goes the general way.
// tests/unit/fastpath/fast_path_test.cc holds it to that, field by field
// (tests/support/fast_path_equivalence.h), on every frame of every capture in pcaps/.

#include <cstdint>

#include "vxcheck/analyze/connections.h"
#include "vxcheck/decode/decode.h"
#include "vxcheck/decode/packet.h"
#include "vxcheck/decode/shapes.h"
#include "vxcheck/frame.h"
#include "vxcheck/verify/verify.h"

namespace vxcheck::fastpath {

/// Which of the two shapes a frame has, or None: not one the fast path takes.
enum class Shape : std::uint8_t { None, PlainTcp, TcpInVxlan };

/// Where decode() puts the layers of each shape and verify() their verdicts (build_layers()
/// and take_frame() write the same).
namespace plain_tcp = decode::shapes::plain_tcp;
namespace tcp_in_vxlan = decode::shapes::tcp_in_vxlan;

/// What take_frame() starts loading of the frame's connection, as soon as the digest has the
/// flow's hash (before the checksums are summed), for the thread that calls on_packet next.
struct Prefetch {
    const analyze::ConnectionAnalyzer* connections = nullptr;  // none
    /// Only the table slot (ConnectionAnalyzer::prefetch_slot), for a caller that prefetches
    /// the connection itself a few frames later; else the slot and the connection's lines
    /// (ConnectionAnalyzer::prefetch, which waits for the slot).
    bool slot_only = false;

    /// Starts loading what is asked of the connection whose key hashes to `flow_hash`.
    void start(std::uint64_t flow_hash) const noexcept {
        if (connections == nullptr) {
            return;
        }
        if (slot_only) {
            connections->prefetch_slot(flow_hash);
        } else {
            connections->prefetch(flow_hash);
        }
    }
};

/// Verifies `frame` into `verdicts` and digests it into `digest`, exactly as verify::verify()
/// and analyze::digest() would after decode::decode(), when it has one of the two shapes above
/// with nothing in doubt, and returns which; `pkt` is then reset to the frame, with no layers
/// and no anomalies (build_layers() adds the layers). Such a frame decodes with no anomaly and
/// has no bad verdict. Otherwise returns None; `pkt`, `verdicts` and `digest` must then be
/// filled by the general path (they may hold a partial result). Never reads past frame.data.
/// With `prefetch`, the connection's lines are prefetched as it says.
[[nodiscard]] Shape take_frame(const RawFrame& frame, const decode::DecodeOptions& options,
                               decode::DecodedPacket& pkt, verify::Verdicts& verdicts,
                               analyze::PacketDigest& digest, Prefetch prefetch = {}) noexcept;

/// The layers decode::decode() gives a frame that take_frame() took as `shape`, into `pkt`
/// (reset first), at the positions named above.
void build_layers(const RawFrame& frame, Shape shape, const decode::DecodeOptions& options,
                  decode::DecodedPacket& pkt) noexcept;

}  // namespace vxcheck::fastpath

#pragma once
// The fast path: the two frame shapes that make up nearly all of a Flannel node's traffic,
// decoded and verified at fixed offsets, with nothing in doubt.
//
//   plain:     Ethernet / IPv4 / TCP                                    (flannel.1, pod veths)
//   tunnelled: Ethernet / IPv4 / UDP / VXLAN / Ethernet / IPv4 / TCP    (eth0 of a VXLAN node)
//
// The general decoder walks a protocol graph layer by layer and the general verifier handles
// every offload artefact, fragments, cut frames and nesting; for these two shapes, when every
// header is plain (no IP options, no fragment, lengths that agree exactly, VXLAN flags 0x08
// and reserved bytes zero) and every checksum verifies (the outer UDP one may be 0), almost
// all of that work has a known answer. take_common_frame() checks exactly those conditions and
// writes the verdicts verify() would write and the digest analyze::digest() would take from
// the layers, and leaves the layers to build_common_layers(), which writes those decode()
// would write, for the few frames whose layers someone reads (a listed packet). Any other
// frame, and any frame with something to report, goes the general way.
// tests/unit/app/common_frame_test.cc holds it to that, field by field, on every frame of every
// capture in pcaps/ (and of ../shared/corpus when present).

#include <cstdint>

#include "vxcheck/analyze/connections.h"
#include "vxcheck/decode/decode.h"
#include "vxcheck/decode/packet.h"
#include "vxcheck/frame.h"
#include "vxcheck/verify/verify.h"

namespace vxcheck::app {

enum class CommonFrame : std::uint8_t { None, PlainTcp, TcpInVxlan };

/// What take_common_frame() starts loading of the frame's connection, as soon as the digest has
/// the flow's hash (before the checksums are summed), for the thread that calls on_packet next.
struct Prefetch {
    const analyze::ConnectionAnalyzer* connections = nullptr;  // none
    /// Only the table slot (ConnectionAnalyzer::prefetch_slot), for a caller that prefetches
    /// the connection itself a few frames later (app::analyse_in_order); else the slot and the
    /// connection's lines (ConnectionAnalyzer::prefetch, which waits for the slot).
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
/// and no anomalies (build_common_layers() adds the layers). Otherwise returns None; `pkt`,
/// `verdicts` and `digest` must then be filled by the general path (they may hold a partial
/// result). Never reads past frame.data. With `prefetch`, the connection's lines in it are
/// prefetched as it says.
[[nodiscard]] CommonFrame take_common_frame(const RawFrame& frame,
                                            const decode::DecodeOptions& options,
                                            decode::DecodedPacket& pkt, verify::Verdicts& verdicts,
                                            analyze::PacketDigest& digest,
                                            Prefetch prefetch = {}) noexcept;

/// The layers decode::decode() gives a frame that take_common_frame() took as `shape`, into
/// `pkt` (reset first).
void build_common_layers(const RawFrame& frame, CommonFrame shape,
                         const decode::DecodeOptions& options, decode::DecodedPacket& pkt) noexcept;

}  // namespace vxcheck::app

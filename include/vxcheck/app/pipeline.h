#pragma once
// The one-way pipeline: source -> decode -> verify -> (track -> analyze) -> report.
// Only this module knows every stage.

#include <array>
#include <cstddef>
#include <cstdint>
#include <iosfwd>
#include <memory>
#include <string>
#include <vector>

#include "vxcheck/analyze/connections.h"
#include "vxcheck/app/config.h"
#include "vxcheck/decode/packet.h"
#include "vxcheck/fastpath/fast_path.h"
#include "vxcheck/frame.h"
#include "vxcheck/report/reporter.h"
#include "vxcheck/report/summary.h"
#include "vxcheck/verify/verify.h"

namespace vxcheck::app {

/// Per-frame work shared by analyze, capture and bench. Holds the reusable per-packet state so
/// that processing a frame allocates nothing.
class FrameProcessor {
  public:
    explicit FrameProcessor(const decode::DecodeOptions& options)
        : options_(options), packet_(std::make_unique<decode::DecodedPacket>()) {}

    /// Decodes and verifies `frame`, tallies it into `summary` and digests it for the
    /// connection analysis. Valid until the next call.
    void process(const RawFrame& frame, report::Summary& summary) noexcept;

    /// For a processor whose frames go to `connections` next, on this thread: their connections'
    /// lines are prefetched while the frame's checksums are summed (fastpath::take_frame), or
    /// only the table slots with `slot_only` (fastpath::Prefetch).
    void prefetch_for(const analyze::ConnectionAnalyzer* connections,
                      bool slot_only = false) noexcept {
        prefetch_ = fastpath::Prefetch{.connections = connections, .slot_only = slot_only};
    }

    /// The frame, as read (its time, number and bytes), without building the layers.
    [[nodiscard]] const RawFrame& frame() const noexcept { return packet_->frame(); }
    /// The frame's layers. Those of a frame the fast path took are built here, on first use:
    /// call it while the frame is valid (before the next read), as for every view into it.
    [[nodiscard]] const decode::DecodedPacket& packet() const noexcept;
    /// Whether decoding noted an anomaly or a checksum is bad (what `--packets bad` shows):
    /// found by process() as it tallies the frame (Summary::add), so that the ordered
    /// analysis, perhaps on another core, need not read the layers' header and the verdicts.
    [[nodiscard]] bool bad() const noexcept { return bad_; }
    /// Whether the frame holds an IP fragment (for the reassembly, in capture order): found by
    /// process(); the fast path takes no fragment.
    [[nodiscard]] bool fragment() const noexcept { return fragment_; }
    [[nodiscard]] const verify::Verdicts& verdicts() const noexcept { return verdicts_; }
    [[nodiscard]] const analyze::PacketDigest& digest() const noexcept { return digest_; }
    /// Where in its capture the frame was seen (the key of its capture point: FilePoints).
    [[nodiscard]] const FrameOrigin& origin() const noexcept { return origin_; }
    /// Frames the fast path took (fastpath::take_frame), of all processed.
    [[nodiscard]] std::uint64_t fast_frames() const noexcept { return fast_frames_; }
    /// What ConnectionAnalyzer::on_packet takes, for a frame from capture point `point`: with
    /// the digest, and the layers only if the general path decoded the frame (PacketContext).
    [[nodiscard]] analyze::PacketContext context(std::uint16_t point) const noexcept {
        return {point, *packet_, verdicts_, &digest_};
    }

  private:
    void apply_kernel_hint() noexcept;

    // What every frame writes comes first, together (in `analyze --threads` a batch holds 256
    // of these, and another core reads the digest and bad_): the digest, bad_, the verdicts'
    // first lines. The layers (4 KiB, written only by the general path and by packet()) live
    // apart: inline, they would spread a batch's processors over 128 pages, and the core that
    // analyses the batch would miss the TLB and the cache on every frame.
    const decode::DecodeOptions& options_;
    fastpath::Prefetch prefetch_;
    analyze::PacketDigest digest_;
    FrameOrigin origin_;
    bool bad_ = false;
    bool fragment_ = false;
    verify::Verdicts verdicts_;
    mutable fastpath::Shape unbuilt_ = fastpath::Shape::None;  // the fast path's, layers not built
    std::uint64_t fast_frames_ = 0;
    // Null only once moved from. packet() is const and builds layers: unique_ptr's operator*
    // yields a mutable DecodedPacket there, as the lazily built layers need.
    std::unique_ptr<decode::DecodedPacket> packet_;
};

/// Exit code of a run that read its input: findings (bad checksums or connections that need
/// attention) or clean.
ExitCode outcome(const report::Summary& total, const report::ConnectionTotals& totals) noexcept;

/// Runs `vxcheck analyze` (src/app/analyze.cc): every file in turn, reports to `out`; errors
/// go to the log. Frames are decoded and verified in batches on config.threads threads and
/// analysed in capture order on this one (a classic pcap file read in extents straight into
/// the batches, other files copied into them); with AnalyzeConfig::frame_at_a_time and one
/// thread, a frame at a time. The report is the same.
ExitCode run_analyze(const AnalyzeConfig& config, std::ostream& out);

/// Runs `vxcheck capture` (src/app/capture.cc) until SIGINT/SIGTERM, --duration or --count.
ExitCode run_capture(const CaptureConfig& config, std::ostream& out);

/// The BPF filter `capture` uses when none is given: the watched TCP ports, the tunnel ports
/// and ICMP (rejections).
std::string default_capture_filter(const CaptureConfig& config);

/// Runs `vxcheck bench` (src/app/bench.cc).
ExitCode run_bench(const BenchConfig& config, std::ostream& out);

}  // namespace vxcheck::app

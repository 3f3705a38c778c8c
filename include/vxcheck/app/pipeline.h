#pragma once
// The one-way pipeline: source -> decode -> verify -> (track -> analyze) -> report.
// Only this module knows every stage.

#include <functional>
#include <iosfwd>
#include <string>

#include "vxcheck/analyze/connections.h"
#include "vxcheck/app/config.h"
#include "vxcheck/decode/packet.h"
#include "vxcheck/frame.h"
#include "vxcheck/report/reporter.h"
#include "vxcheck/report/summary.h"
#include "vxcheck/verify/verify.h"

namespace vxcheck::app {

/// Per-frame work shared by analyze, capture and bench. Holds the reusable per-packet state so
/// that processing a frame allocates nothing.
class FrameProcessor {
  public:
    explicit FrameProcessor(const decode::DecodeOptions& options) : options_(options) {}

    /// Decodes and verifies `frame`, tallies it into `summary`. Valid until the next call.
    void process(const RawFrame& frame, report::Summary& summary) noexcept;

    [[nodiscard]] const decode::DecodedPacket& packet() const noexcept { return packet_; }
    [[nodiscard]] const verify::Verdicts& verdicts() const noexcept { return verdicts_; }

  private:
    void apply_kernel_hint() noexcept;

    const decode::DecodeOptions& options_;
    decode::DecodedPacket packet_;
    verify::Verdicts verdicts_;
};

/// The end of a run, shared by analyze and capture: decides every remaining connection, hands
/// each to `reporter` (and to `each`, if given), writes --evidence, and returns the totals.
/// A failure to write the evidence is logged and sets `error`.
report::ConnectionTotals finish_connections(
    analyze::ConnectionAnalyzer& connections, const analyze::ConnectionOptions& options,
    report::Reporter& reporter, const std::string& evidence_path, bool& error,
    const std::function<void(const analyze::ConnectionReport&)>& each = {});

/// Exit code of a run that read its input: findings (bad checksums or connections that need
/// attention) or clean.
ExitCode outcome(const report::Summary& total, const report::ConnectionTotals& totals) noexcept;

/// Runs `vxcheck analyze`: every file in turn, reports to `out`; errors go to the log.
ExitCode run_analyze(const AnalyzeConfig& config, std::ostream& out);

/// `vxcheck analyze --threads N` (N > 1): the same report, connections sharded over N workers.
/// Implemented in src/app/parallel.cc.
ExitCode run_analyze_parallel(const AnalyzeConfig& config, std::ostream& out);

/// Runs `vxcheck capture` (src/app/capture.cc) until SIGINT/SIGTERM, --duration or --count.
ExitCode run_capture(const CaptureConfig& config, std::ostream& out);

/// The BPF filter `capture` uses when none is given: the watched TCP ports, the tunnel ports
/// and ICMP (rejections).
std::string default_capture_filter(const CaptureConfig& config);

/// Runs `vxcheck bench` (src/app/bench.cc).
ExitCode run_bench(const BenchConfig& config, std::ostream& out);

}  // namespace vxcheck::app

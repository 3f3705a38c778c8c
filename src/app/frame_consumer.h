#pragma once
// Private to src/app: what happens to a processed frame, the same in `analyze` (both frame loops
// and the batches of parallel.cc), `bench` (its full pass) and `capture`.
//
// A FrameConsumer owns the connection analysis of a run and the path of its results to the
// reporter: each frame goes to ConnectionAnalyzer::on_packet with its capture point, is listed
// if --packets selects it, and is counted towards the periodic drain of decided connections;
// each input (file or interface) is framed by begin_file/end_file and tallied into the total;
// finish() decides the remaining connections and ends the report. The per-frame calls are
// inline and make no virtual call but the reporter's for a listed packet, so that the ordered
// loop of the batch pipeline (analyse_in_order) stays as it was.

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "file_points.h"
#include "parallel.h"
#include "reassembly_stage.h"
#include "run_common.h"
#include "vxcheck/analyze/connections.h"
#include "vxcheck/analyze/rpc_analyzer.h"
#include "vxcheck/app/config.h"
#include "vxcheck/app/pipeline.h"
#include "vxcheck/report/output_file.h"
#include "vxcheck/report/reporter.h"
#include "vxcheck/report/summary.h"

namespace vxcheck::app {

/// Where decided connections go: each is handed to the reporter (and to `each`, if given) and
/// counted as soon as it is decided, so that memory stays bounded however many connections the
/// input has (a flood evicts); only those with verdicts are kept, for --evidence, and of them
/// only their endpoints, verdicts and the evidence frames the evidence budget allows
/// (ConnectionAnalyzer::keep_for_evidence_file).
class ConnectionOutput {
  public:
    using Each = std::function<void(const analyze::ConnectionReport&)>;
    ConnectionOutput(analyze::ConnectionAnalyzer& connections,
                     const analyze::ConnectionOptions& options, report::Reporter& reporter,
                     std::unique_ptr<report::OutputFile> evidence, Each each = {});

    /// Reports the connections decided early (evicted or idle) since the last call.
    void drain();
    /// Call after each frame's on_packet(): drains every 65,536 frames, and every 256 frames
    /// once kDrainBatch reports wait, so that no more than a batch of decided reports (and what
    /// 256 frames decide) waits in memory. Counting frames, not batches, puts the connections at
    /// the same place in the report whatever --threads is.
    void frame_analysed() {
        ++frames_;
        if ((frames_ & 0xffffU) == 0 ||
            ((frames_ & 0xffU) == 0 && connections_.decided_waiting() >= kDrainBatch)) {
            drain();
        }
    }
    static constexpr std::size_t kDrainBatch = 4096;
    /// Live capture: the count of connections whose counted verdicts were forgotten (the
    /// capture's bounded memory of them), read into ConnectionStats::verdict_memory_evicted of
    /// the totals at finish(); it must outlive finish().
    void count_verdict_memory(const std::uint64_t* evicted) noexcept {
        verdict_memory_evicted_ = evicted;
    }
    /// Reports the connections that `poll` decided (live capture) as events, after `each`.
    void events(std::vector<analyze::ConnectionReport> decided);
    /// Decides and reports every remaining connection, writes --evidence (a failure is logged
    /// and sets `error`) and returns the totals.
    report::ConnectionTotals finish(bool& error);

  private:
    void report(analyze::ConnectionReport& c);

    analyze::ConnectionAnalyzer& connections_;
    const analyze::ConnectionOptions& options_;
    report::Reporter& reporter_;
    std::unique_ptr<report::OutputFile> evidence_;  // --evidence, created at the start; or null
    Each each_;
    report::ConnectionTotals totals_;
    std::vector<analyze::ConnectionReport> with_verdicts_;  // for --evidence only
    std::uint64_t frames_ = 0;
    const std::uint64_t* verdict_memory_evicted_ = nullptr;
};

/// The one consumer of processed frames. Lifetimes: `options` and `reporter` outlive it.
class FrameConsumer {
  public:
    /// `packets`: which frames the reporter lists; `evidence`: the --evidence file (created at
    /// the start, written by finish()), or null; `each` also sees every decided connection.
    FrameConsumer(const analyze::ConnectionOptions& options, report::Reporter& reporter,
                  PacketSelection packets, std::unique_ptr<report::OutputFile> evidence = {},
                  ConnectionOutput::Each each = {});
    FrameConsumer(const FrameConsumer&) = delete;
    FrameConsumer& operator=(const FrameConsumer&) = delete;

    [[nodiscard]] analyze::ConnectionAnalyzer& connections() noexcept { return connections_; }
    [[nodiscard]] const analyze::ConnectionAnalyzer& connections() const noexcept {
        return connections_;
    }
    /// The RPC analysis, or nullptr with --no-rpc.
    [[nodiscard]] analyze::RpcAnalyzer* rpc() noexcept { return rpc_.get(); }

    /// A capture point for the file `file` ("pcaps/a.pcap" -> "a"; unique among the points).
    std::uint16_t add_file_point(const std::string& file) {
        return connections_.add_point(point_name(file, connections_.points()));
    }
    /// A capture point named `name` (an interface).
    std::uint16_t add_point(const std::string& name) { return connections_.add_point(name); }

    /// Starts an input in the report: `summary` names it (file) and its link type.
    void begin_file(const report::Summary& summary) {
        reporter_.begin_file(summary.file, summary.link_type);
    }
    /// Reassembles IP fragments from now on (decode/reassembly.h), unless
    /// `decode.reassemble` is false; `decode` outlives this consumer.
    void enable_reassembly(const decode::DecodeOptions& decode) {
        if (decode.reassemble) {
            decode_ = &decode;
            reassembly_.clear();
            reassembly_.push_back(std::make_unique<ReassemblyStage>(decode));
        }
    }
    /// The input the next frames and end_file() belong to, when several are read at once
    /// (analyze's files merged by time): each has its own reassembly, so that its tallies and
    /// the datagrams it leaves incomplete are its own, as when the inputs are read in turn.
    /// Input 0 is the default; another input's reassembly is made at its first fragment.
    void select_input(std::size_t input) noexcept { input_ = input; }

    /// Frames analysed more than kLateNs after a frame stamped later: a file concatenated from
    /// others, or merged out of order, which vxcheck reads as written. Counted per input once
    /// track_time_order() has made room for the inputs.
    struct Lateness {
        std::uint64_t frames = 0;
        std::uint64_t first_frame = 0;  // its frame number in its file
        std::uint64_t most_ns = 0;      // the furthest back a frame came
    };
    static constexpr std::uint64_t kLateNs = 1'000'000'000;
    void track_time_order(std::size_t inputs) { lateness_.assign(inputs, Lateness{}); }
    /// The selected input's (zeros when not tracked).
    [[nodiscard]] Lateness lateness() const noexcept {
        return input_ < lateness_.size() ? lateness_[input_] : Lateness{};
    }

    /// Ends an input in the report and adds its tallies to the total (with the reassembly's:
    /// the datagrams still incomplete are counted here).
    void end_file(report::Summary& summary) {
        if (input_ < reassembly_.size() && reassembly_[input_]) {
            reassembly_[input_]->end_input(summary);
        }
        reporter_.end_file(summary);
        // The total spans the inputs' times, from the earliest frame to the latest (merge()):
        // inputs read at once (merged by time) end in the order of their last frames.
        total_.merge(summary);
        ++files_;
    }

    /// One processed frame of `file`, from capture point `point`: the connection analysis, the
    /// packet line if selected, and the drain every so many frames.
    void analyse(const std::string& file, std::uint16_t point, const FrameProcessor& frame) {
        check_time(frame.frame());  // not packet(): it would build a fast-path frame's layers
        if (frame.fragment() && decode_ != nullptr) {
            analyse_fragment(file, point, frame);
            output_.frame_analysed();
            return;
        }
        connections_.on_packet(frame.context(point));
        if (selected(packets_, frame)) {
            const auto& names = connections_.points();
            const std::string_view name = point < names.size() ? names[point] : file;
            reporter_.packet({file, frame.packet(), frame.verdicts(), name});
        }
        output_.frame_analysed();
    }
    /// One processed frame of `file`, at the point of the file where it was seen.
    void analyse(const std::string& file, FilePoints& points, const FrameProcessor& frame) {
        analyse(file, points.point_of(frame.origin()), frame);
    }
    /// Every frame of a processed batch of `file` in input order, each at its point of the file
    /// (each connection prefetched a few frames ahead: analyse_in_order), then the batch's
    /// tallies into `summary`.
    void analyse(const std::string& file, FilePoints& points, const FrameBatch& batch,
                 report::Summary& summary) {
        analyse_in_order(batch, connections_, [&](const FrameProcessor& frame) {
            analyse(file, points.point_of(frame.origin()), frame);
        });
        summary.merge(batch.tally());
    }
    /// Every frame of a processed batch in input order (each connection prefetched a few
    /// frames ahead: analyse_in_order), then the batch's tallies into `summary`.
    void analyse(const std::string& file, std::uint16_t point, const FrameBatch& batch,
                 report::Summary& summary) {
        analyse_in_order(batch, connections_,
                         [&](const FrameProcessor& frame) { analyse(file, point, frame); });
        summary.merge(batch.tally());
    }

    /// Reports the connections decided early (evicted or idle) since the last drain.
    void drain() { output_.drain(); }
    /// See ConnectionOutput::count_verdict_memory.
    void count_verdict_memory(const std::uint64_t* evicted) noexcept {
        output_.count_verdict_memory(evicted);
    }
    /// Live capture: decides the connections whose time has come at wall-clock `now` and
    /// reports them as events.
    void poll(Timestamp now) { output_.events(connections_.poll(now)); }

    /// Decides and reports every remaining connection, writes --evidence (a failure is logged
    /// and sets `error`) and ends the report with the total of the inputs ended so far.
    report::ConnectionTotals finish(bool& error);
    /// The inputs' tallies merged, in end_file() order.
    [[nodiscard]] const report::Summary& total() const noexcept { return total_; }

  private:
    // analyse() of a frame with an IP fragment: the reassembly, then the analysis and listing
    // of the fragment (if the reassembler did not take it) and of the datagram it completed.
    void analyse_fragment(const std::string& file, std::uint16_t point,
                          const FrameProcessor& frame);
    // The selected input's reassembly, made at its first fragment.
    ReassemblyStage& reassembly();
    // Counts `f` in lateness_ when it is stamped more than kLateNs before the latest frame
    // analysed (over all inputs: several are merged into one timeline).
    // In nanoseconds, one comparison a frame. The product wraps (unsigned, defined) for a stamp
    // beyond the year 2262, which only miscounts this warning.
    void check_time(const RawFrame& f) noexcept {
        const auto ns = static_cast<std::int64_t>(
            static_cast<std::uint64_t>(f.ts.sec) * 1'000'000'000U + f.ts.nsec);
        if (ns >= latest_ns_) {
            latest_ns_ = ns;
            return;
        }
        // latest_ns_ > ns: their difference, computed unsigned, cannot overflow.
        const std::uint64_t back =
            static_cast<std::uint64_t>(latest_ns_) - static_cast<std::uint64_t>(ns);
        if (back > kLateNs && input_ < lateness_.size()) {
            Lateness& l = lateness_[input_];
            l.first_frame = l.frames == 0 ? f.number : l.first_frame;
            l.most_ns = std::max(l.most_ns, back);
            ++l.frames;
        }
    }

    // Declared before connections_: a plug-in outlives the analyzer it is registered with.
    std::unique_ptr<analyze::RpcAnalyzer> rpc_;  // null with --no-rpc
    analyze::ConnectionAnalyzer connections_;
    report::Reporter& reporter_;
    PacketSelection packets_;
    ConnectionOutput output_;
    report::Summary total_;
    std::size_t files_ = 0;
    // Per input (select_input); none (decode_ null): fragments are analysed as they are.
    const decode::DecodeOptions* decode_ = nullptr;
    std::vector<std::unique_ptr<ReassemblyStage>> reassembly_;
    std::size_t input_ = 0;
    std::int64_t latest_ns_ = INT64_MIN;  // the latest stamp analysed (check_time)
    std::vector<Lateness> lateness_;      // per input, from track_time_order()
};

}  // namespace vxcheck::app

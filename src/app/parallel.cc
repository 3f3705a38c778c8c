// `vxcheck analyze --threads N`: the same report as run_analyze, byte for byte, from N threads.
//
// Design. The per-frame work splits into a stateless part (decode, every checksum, the summary
// tallies: FrameProcessor) and a stateful one (ConnectionAnalyzer, the packet lines). The
// stateless part is most of the time and needs nothing from other frames, so it runs on any
// thread, a batch of frames at a time. The stateful part sees every frame exactly as in one
// thread, in input order, on the thread that runs the pipeline (the "main" thread).
//
// Why not shard connections by flow hash: ConnectionAnalyzer has state across flows (the VTEP
// pairs' checksum modes, learned from every tunnelled packet and read when a connection is
// decided; the idle sweep every 65536 packets; eviction by table size; the order of first
// packets), so per-shard analyzers would decide some connections differently, and the output
// must not change. Ordered application keeps it identical by construction.
//
// Scheduling. A ring of 4N batch slots. The main thread fills free slots (a view per frame for
// a mapped pcap file, a copy otherwise), then consumes the oldest batch once it is processed;
// while it waits for that one it processes the next unclaimed batch itself. Workers (N - 1)
// claim batches in order with one atomic counter. So all N threads decode, and the main
// thread's serial share (reading, connection analysis) is balanced by how much decoding it
// takes on: with 2 threads the speed-up stays near 2x while that share is under half.

#include "parallel.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <ostream>

#include "../capture/stable_frames.h"
#include "vxcheck/capture/source.h"
#include "vxcheck/report/evidence.h"
#include "vxcheck/report/reporter.h"

namespace vxcheck::app {
namespace {

enum SlotState : std::uint32_t { kFree, kFilled, kDone };

// As run_analyze (src/app/pipeline.cc), which keeps its copy file-local.
bool selected(PacketSelection sel, const decode::DecodedPacket& pkt,
              const verify::Verdicts& verdicts) noexcept {
    switch (sel) {
        case PacketSelection::All:
            return true;
        case PacketSelection::None:
            return false;
        case PacketSelection::Bad:
            return !pkt.anomalies().empty() || verdicts.any(verify::Status::Bad);
    }
    return false;
}

std::string point_name(const std::string& file, const std::vector<std::string>& taken) {
    std::string stem = file == "-" ? "stdin" : std::filesystem::path(file).stem().string();
    std::string name = stem;
    for (int n = 2; std::find(taken.begin(), taken.end(), name) != taken.end(); ++n) {
        name = stem + "#" + std::to_string(n);
    }
    return name;
}

// The progress line of run_analyze, ticked once per batch.
class Progress {
  public:
    explicit Progress(bool enabled) : enabled_(enabled) {}

    void tick(const std::string& file, const capture::Source& src, std::uint64_t frames) {
        if (!enabled_) {
            return;
        }
        const auto now = std::chrono::steady_clock::now();
        if (now - last_ < std::chrono::seconds(1)) {
            return;
        }
        last_ = now;
        shown_ = true;
        if (src.size() != 0) {
            std::fprintf(
                stderr, "\r%s: %llu frames, %.0f%%   ", file.c_str(),
                static_cast<unsigned long long>(frames),
                100.0 * static_cast<double>(src.position()) / static_cast<double>(src.size()));
        } else {
            std::fprintf(stderr, "\r%s: %llu frames   ", file.c_str(),
                         static_cast<unsigned long long>(frames));
        }
    }

    void done() {
        if (shown_) {
            std::fprintf(stderr, "\r\033[K");
            shown_ = false;
        }
    }

  private:
    bool enabled_;
    bool shown_ = false;
    std::chrono::steady_clock::time_point last_ = std::chrono::steady_clock::now();
};

}  // namespace

// --- FrameBatch -----------------------------------------------------------------------------

FrameBatch::FrameBatch(const decode::DecodeOptions& options)
    : frames_(kCapacity), arena_offset_(kCapacity, kNotCopied) {
    processors_.reserve(kCapacity);
    for (std::size_t i = 0; i < kCapacity; ++i) {
        processors_.emplace_back(options);
    }
}

void FrameBatch::clear() noexcept {
    count_ = 0;
    arena_.clear();
    has_copies_ = false;
}

void FrameBatch::add_view(const RawFrame& frame) noexcept {
    frames_[count_] = frame;
    arena_offset_[count_] = kNotCopied;
    ++count_;
}

void FrameBatch::add_copy(const RawFrame& frame) {
    const std::size_t offset = arena_.size();
    arena_.insert(arena_.end(), frame.data.begin(), frame.data.end());
    frames_[count_] = frame;
    arena_offset_[count_] = offset;
    has_copies_ = true;
    ++count_;
}

// Copies are addressed once the arena has stopped growing (it may move while it fills).
void FrameBatch::seal() noexcept {
    if (!has_copies_) {
        return;
    }
    for (std::size_t i = 0; i < count_; ++i) {
        if (arena_offset_[i] != kNotCopied) {
            frames_[i].data = Bytes{arena_.data() + arena_offset_[i], frames_[i].data.size()};
        }
    }
}

void FrameBatch::process() noexcept {
    seal();
    tally_ = report::Summary{};
    for (std::size_t i = 0; i < count_; ++i) {
        processors_[i].process(frames_[i], tally_);
    }
}

// --- BatchPipeline --------------------------------------------------------------------------

struct BatchPipeline::Slot {
    explicit Slot(const decode::DecodeOptions& options) : batch(options) {}
    FrameBatch batch;
    std::atomic<std::uint32_t> state{kFree};
};

BatchPipeline::BatchPipeline(const decode::DecodeOptions& options, unsigned threads) {
    const unsigned n = std::max(threads, 1U);
    for (unsigned i = 0; i < 4 * n; ++i) {
        slots_.push_back(std::make_unique<Slot>(options));
    }
    for (unsigned i = 1; i < n; ++i) {
        workers_.emplace_back([this] { work(); });
    }
}

BatchPipeline::~BatchPipeline() {
    stop_.store(true, std::memory_order_release);
    wake_.fetch_add(1, std::memory_order_release);
    wake_.notify_all();
    for (std::thread& t : workers_) {
        t.join();
    }
}

BatchPipeline::Slot& BatchPipeline::slot(std::uint64_t seq) const noexcept {
    return *slots_[static_cast<std::size_t>(seq % slots_.size())];
}

// Claims the oldest unclaimed batch, if any, and processes it.
bool BatchPipeline::process_one() noexcept {
    std::uint64_t seq = claimed_.load(std::memory_order_relaxed);
    while (seq < published_.load(std::memory_order_acquire)) {
        if (claimed_.compare_exchange_weak(seq, seq + 1, std::memory_order_acq_rel,
                                           std::memory_order_relaxed)) {
            Slot& s = slot(seq);
            s.batch.process();
            s.state.store(kDone, std::memory_order_release);
            s.state.notify_all();
            return true;
        }
    }
    return false;
}

void BatchPipeline::work() noexcept {
    while (true) {
        // Read the wake count before looking for work: a batch published after the look bumps
        // it, so the wait below cannot miss it.
        const std::uint32_t seen = wake_.load(std::memory_order_acquire);
        if (stop_.load(std::memory_order_acquire)) {
            return;
        }
        while (process_one()) {
        }
        wake_.wait(seen, std::memory_order_acquire);
    }
}

void BatchPipeline::run(const Fill& fill, const Consume& consume) {
    const std::uint64_t ring = slots_.size();
    std::uint64_t filled = consumed_;
    bool input_over = false;
    while (true) {
        while (!input_over && filled - consumed_ < ring) {
            Slot& s = slot(filled);
            s.batch.clear();
            input_over = !fill(s.batch);
            if (s.batch.size() == 0) {
                continue;
            }
            s.state.store(kFilled, std::memory_order_relaxed);
            published_.store(++filled, std::memory_order_release);
            wake_.fetch_add(1, std::memory_order_release);
            wake_.notify_all();
        }
        if (consumed_ == filled) {
            return;  // the input is over and every batch consumed
        }
        Slot& oldest = slot(consumed_);
        while (oldest.state.load(std::memory_order_acquire) != kDone) {
            if (!process_one()) {
                oldest.state.wait(kFilled, std::memory_order_acquire);
            }
        }
        consume(oldest.batch);
        oldest.state.store(kFree, std::memory_order_relaxed);
        ++consumed_;
    }
}

// --- analyze --threads ----------------------------------------------------------------------

// Mirrors run_analyze (src/app/pipeline.cc) step for step; only the frame loop differs.
ExitCode run_analyze_parallel(const AnalyzeConfig& config, std::ostream& out) {
    auto reporter = config.json ? report::make_json_reporter(out)
                                : report::make_text_reporter(out, {.max_rows = config.max_rows});
    analyze::ConnectionAnalyzer connections(config.connections);
    report::Summary total;
    bool input_error = false;
    std::size_t files_read = 0;
    Progress progress(config.progress);
    BatchPipeline pipeline(config.decode, config.threads);

    for (const std::string& file : config.files) {
        std::unique_ptr<capture::Source> source;
        try {
            source = capture::open_file(file);
        } catch (const capture::OpenError& e) {
            spdlog::error("{}", e.what());
            input_error = true;
            continue;
        }
        ++files_read;
        const std::uint16_t point = connections.add_point(point_name(file, connections.points()));
        report::Summary summary;
        summary.file = file;
        summary.link_type = source->link_name();
        reporter->begin_file(file, summary.link_type);

        const auto* stable = dynamic_cast<const capture::StableFrames*>(source.get());
        RawFrame frame;
        capture::ReadStatus status = capture::ReadStatus::Frame;
        pipeline.run(
            [&](FrameBatch& batch) {
                while (!batch.full()) {
                    status = source->next(frame);
                    if (status != capture::ReadStatus::Frame) {
                        return false;
                    }
                    if (stable != nullptr && stable->last_frame_stable()) {
                        batch.add_view(frame);
                    } else {
                        batch.add_copy(frame);
                    }
                }
                return true;
            },
            [&](const FrameBatch& batch) {
                for (std::size_t i = 0; i < batch.size(); ++i) {
                    const FrameProcessor& r = batch.result(i);
                    connections.on_packet({point, r.packet(), r.verdicts()});
                    if (selected(config.packets, r.packet(), r.verdicts())) {
                        reporter->packet({file, r.packet(), r.verdicts()});
                    }
                }
                summary.merge(batch.tally());
                progress.tick(file, *source, summary.frames_read);
            });
        progress.done();
        if (status == capture::ReadStatus::Error) {
            summary.read_error = source->error();
            input_error = true;
        }
        if (summary.frames_read != 0 &&
            summary.skipped[static_cast<std::size_t>(decode::SkipReason::UnsupportedLinkType)] ==
                summary.frames_read) {
            spdlog::warn("{}: link type {} is not supported; {} frames counted but not decoded",
                         file, summary.link_type, summary.frames_read);
        }
        reporter->end_file(summary);
        if (!summary.read_error.empty()) {
            spdlog::error("{}: stopped after frame {}: {}", file, summary.frames_read,
                          summary.read_error);
        }
        total.merge(summary);
    }
    const std::vector<analyze::ConnectionReport> decided = connections.finish();
    report::ConnectionTotals totals;
    totals.ports = config.connections.all_ports ? "all" : "";
    for (const auto p : config.connections.ports) {
        if (!config.connections.all_ports) {
            totals.ports += (totals.ports.empty() ? "" : ",") + std::to_string(p);
        }
    }
    totals.stats = connections.stats();
    for (const auto& c : decided) {
        reporter->connection(c, connections.points());
        ++totals.connections;
        totals.with_findings += report::is_finding(c) ? 1U : 0U;
        for (const auto v : c.verdicts) {
            ++totals.by_verdict[static_cast<std::size_t>(v)];
        }
    }
    if (!config.evidence_path.empty()) {
        try {
            const std::size_t n =
                report::write_evidence_pcapng(config.evidence_path, decided, connections.points());
            spdlog::info("wrote {} evidence frames to {}", n, config.evidence_path);
        } catch (const std::exception& e) {
            spdlog::error("{}", e.what());
            input_error = true;
        }
    }
    reporter->finish(total, files_read, totals);
    if (input_error) {
        return ExitCode::Error;
    }
    return total.packets_with_bad_checksum != 0 || totals.with_findings != 0 ? ExitCode::Findings
                                                                             : ExitCode::Clean;
}

}  // namespace vxcheck::app

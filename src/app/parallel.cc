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
// Scheduling. A ring of 2N + 4 batch slots (128 frames each). Reading the input is sequential
// (each pcap record says where the next starts), so one thread at a time fills a free slot:
// whichever is free, usually a worker, which then decodes that batch itself while its frames are
// in its cache. Workers (N - 1) process the oldest filled batch, else fill the next one. The
// main thread consumes batches in order and only helps (fills, or processes) when it has nothing
// to consume and the workers fall behind, since frames and results moving between cores cost as
// much as a good part of the work. With a classic pcap file the batches hold views into the
// mapping, with anything else copies of the frames.

#include "parallel.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <ostream>

#include "../capture/stable_frames.h"
#include "run_common.h"
#include "vxcheck/capture/source.h"
#include "vxcheck/report/evidence.h"
#include "vxcheck/report/reporter.h"

namespace vxcheck::app {
namespace {

enum SlotState : std::uint32_t { kFree, kFilled, kDone };

}  // namespace

// --- FrameBatch -----------------------------------------------------------------------------

FrameBatch::FrameBatch(const decode::DecodeOptions& options)
    : frames_(kCapacity), arena_offset_(kCapacity, kNotCopied) {
    processors_.reserve(kCapacity);
    for (std::size_t i = 0; i < kCapacity; ++i) {
        processors_.emplace_back(options);
    }
}

void FrameBatch::clear(bool process_on_add) noexcept {
    count_ = 0;
    processed_ = 0;
    arena_.clear();
    has_copies_ = false;
    process_on_add_ = process_on_add;
    tally_ = report::Summary{};
}

void FrameBatch::add_view(const RawFrame& frame) noexcept {
    frames_[count_] = frame;
    arena_offset_[count_] = kNotCopied;
    ++count_;
    // A copied frame may still move (the arena grows): processing waits for process() then.
    if (process_on_add_ && !has_copies_) {
        processors_[processed_].process(frames_[processed_], tally_);
        ++processed_;
    }
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

// Frames and results move between cores here, so the next frames' headers (where the decoders
// start) and the result slots they will overwrite are requested ahead of use. The checksums then
// stream through the rest of each frame with the hardware prefetcher.
void FrameBatch::process() noexcept {
    constexpr std::size_t kAhead = 2;
    seal();
    for (std::size_t i = processed_; i < count_; ++i) {
        if (i + kAhead < count_) {
            const std::uint8_t* data = frames_[i + kAhead].data.data();
            __builtin_prefetch(data);
            __builtin_prefetch(data + 64);
            __builtin_prefetch(data + 128);
            const auto* out = reinterpret_cast<const char*>(&processors_[i + kAhead]);
            for (std::size_t line = 0; line < kResultLines; ++line) {
                __builtin_prefetch(out + 64 * line, 1);
            }
        }
        processors_[i].process(frames_[i], tally_);
    }
    processed_ = count_;
}

void FrameBatch::prefetch_result(std::size_t i) const noexcept {
    if (i < count_) {
        const FrameProcessor& r = processors_[i];
        const auto* packet = reinterpret_cast<const char*>(&r.packet());
        for (std::size_t line = 0; line < kResultLines; ++line) {
            __builtin_prefetch(packet + 64 * line);
        }
        __builtin_prefetch(&r.verdicts());
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
    // A few batches per thread keep every thread busy while the oldest waits to be consumed.
    const unsigned ring = std::min(2 * n + 4, 64U);
    for (unsigned i = 0; i < ring; ++i) {
        slots_.push_back(std::make_unique<Slot>(options));
    }
    // With one worker, it reads and decodes together (as one thread would: the walk from record
    // to record overlaps the decoding instead of waiting on memory at every record) while this
    // thread does the ordered part. With more, reading and decoding are split up.
    process_while_filling_ = n == 2;
    for (unsigned i = 1; i < n; ++i) {
        workers_.emplace_back([this] { work(); });
    }
}

BatchPipeline::~BatchPipeline() {
    stop_.store(true, std::memory_order_release);
    wake_all();
    for (std::thread& t : workers_) {
        t.join();
    }
}

BatchPipeline::Slot& BatchPipeline::slot(std::uint64_t seq) const noexcept {
    return *slots_[static_cast<std::size_t>(seq % slots_.size())];
}

void BatchPipeline::wake_all() noexcept {
    wake_.fetch_add(1, std::memory_order_release);
    wake_.notify_all();
}

// Claims the oldest unprocessed batch, if any, and processes it.
bool BatchPipeline::process_one() noexcept {
    std::uint64_t seq = claimed_.load(std::memory_order_relaxed);
    while (seq < filled_.load(std::memory_order_acquire)) {
        if (claimed_.compare_exchange_weak(seq, seq + 1, std::memory_order_acq_rel,
                                           std::memory_order_relaxed)) {
            Slot& s = slot(seq);
            s.batch.process();
            s.state.store(kDone, std::memory_order_release);
            wake_all();
            return true;
        }
    }
    return false;
}

// Fills the next batch if a slot is free and no other thread is filling. Reading the input is
// sequential (a pcap record says where the next one starts, and walking them waits on memory),
// so it goes to whichever thread is free, not always to the one that consumes.
bool BatchPipeline::fill_one() noexcept {
    const auto has_room = [this] {
        return filled_.load(std::memory_order_relaxed) - consumed_.load(std::memory_order_acquire) <
               slots_.size();
    };
    if (input_over_.load(std::memory_order_acquire) || !has_room() ||
        filling_.exchange(true, std::memory_order_acquire)) {
        return false;
    }
    bool progressed = false;
    if (!input_over_.load(std::memory_order_relaxed) && has_room()) {
        const std::uint64_t seq = filled_.load(std::memory_order_relaxed);
        Slot& s = slot(seq);
        s.batch.clear(process_while_filling_);
        bool more = false;
        try {
            more = (*fill_)(s.batch);
        } catch (...) {
            fill_error_ = std::current_exception();  // rethrown by run()
        }
        if (s.batch.size() != 0) {
            if (process_while_filling_) {
                // Nobody else claims it: it is done before anyone sees it.
                s.batch.process();
                claimed_.store(seq + 1, std::memory_order_relaxed);
                s.state.store(kDone, std::memory_order_relaxed);
            } else {
                s.state.store(kFilled, std::memory_order_relaxed);
            }
            filled_.store(seq + 1, std::memory_order_release);
        }
        if (!more) {
            input_over_.store(true, std::memory_order_release);
        }
        progressed = true;
    }
    filling_.store(false, std::memory_order_release);
    if (progressed) {
        wake_all();
    }
    return progressed;
}

bool BatchPipeline::help() noexcept {
    if (workers_.empty()) {
        return fill_one() || process_one();  // --threads 1: this thread does everything
    }
    const std::uint64_t filled = filled_.load(std::memory_order_acquire);
    if (filled == consumed_.load(std::memory_order_relaxed) && fill_one()) {
        return true;  // the pipeline ran dry
    }
    return filled - claimed_.load(std::memory_order_relaxed) >= 2 && process_one();
}

void BatchPipeline::work() noexcept {
    while (true) {
        // Read the wake count before looking for work: anything that makes work afterwards
        // bumps it, so the wait below cannot miss it.
        const std::uint32_t seen = wake_.load(std::memory_order_acquire);
        if (stop_.load(std::memory_order_acquire)) {
            return;
        }
        // Processing first: a filled batch waits for a thread, while the filler has a head
        // start (up to a ring of batches).
        if (process_one() || fill_one()) {
            continue;
        }
        wake_.wait(seen, std::memory_order_acquire);
    }
}

void BatchPipeline::run(const Fill& fill, const Consume& consume) {
    // Taking the fill lock publishes the new input to the workers.
    while (filling_.exchange(true, std::memory_order_acquire)) {
    }
    fill_ = &fill;
    fill_error_ = nullptr;
    input_over_.store(false, std::memory_order_release);
    filling_.store(false, std::memory_order_release);
    wake_all();

    try {
        consume_all(consume);
    } catch (...) {
        // Frames in flight point into the caller's input, which is about to go away.
        stop_filling();
        drain();
        throw;
    }
    if (const std::exception_ptr error = stop_filling()) {
        std::rethrow_exception(error);
    }
}

// Ends the run for the workers: no more filling. Returns the fill's exception, if any.
std::exception_ptr BatchPipeline::stop_filling() noexcept {
    while (filling_.exchange(true, std::memory_order_acquire)) {
    }
    input_over_.store(true, std::memory_order_release);
    fill_ = nullptr;
    std::exception_ptr error = std::exchange(fill_error_, nullptr);
    filling_.store(false, std::memory_order_release);
    return error;
}

// Waits until every filled batch has been processed (helping), without consuming them.
void BatchPipeline::drain() noexcept {
    const std::uint64_t end = filled_.load(std::memory_order_acquire);
    for (std::uint64_t seq = consumed_.load(std::memory_order_relaxed); seq < end; ++seq) {
        while (true) {
            const std::uint32_t seen = wake_.load(std::memory_order_acquire);
            if (slot(seq).state.load(std::memory_order_acquire) == kDone) {
                break;
            }
            if (!process_one()) {
                wake_.wait(seen, std::memory_order_acquire);
            }
        }
    }
}

void BatchPipeline::consume_all(const Consume& consume) {
    while (true) {
        const std::uint32_t seen = wake_.load(std::memory_order_acquire);
        const std::uint64_t next = consumed_.load(std::memory_order_relaxed);
        if (next < filled_.load(std::memory_order_acquire)) {
            Slot& oldest = slot(next);
            if (oldest.state.load(std::memory_order_acquire) == kDone) {
                consume(oldest.batch);
                oldest.state.store(kFree, std::memory_order_relaxed);
                consumed_.store(next + 1, std::memory_order_release);
                wake_all();  // a free slot: filling can go on
                continue;
            }
        } else if (input_over_.load(std::memory_order_acquire) &&
                   next == filled_.load(std::memory_order_acquire)) {
            break;  // the input is over and every batch consumed
        }
        // Nothing to consume yet: help, but only where the workers fall behind. A batch is best
        // filled and processed by one thread (the walk over the records brings the frames into
        // that core's cache); the data moves between cores when this thread takes over a step.
        if (help()) {
            continue;
        }
        wake_.wait(seen, std::memory_order_acquire);
    }
}

// --- analyze --threads ----------------------------------------------------------------------

// Mirrors run_analyze (src/app/pipeline.cc) step for step; only the frame loop differs.
ExitCode run_analyze_parallel(const AnalyzeConfig& config, std::ostream& out) {
    auto reporter = config.json ? report::make_json_reporter(out)
                                : report::make_text_reporter(out, {.max_rows = config.max_rows});
    analyze::ConnectionAnalyzer connections(config.connections);
    ConnectionOutput output(connections, config.connections, *reporter, config.evidence_path);
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
        const std::uint64_t source_size = source->size();
        RawFrame frame;
        capture::ReadStatus status = capture::ReadStatus::Frame;
        pipeline.run(
            [&](FrameBatch& batch) {
                while (!batch.full()) {
                    status = source->next(frame);
                    if (status != capture::ReadStatus::Frame) {
                        batch.position = source->position();
                        return false;
                    }
                    if (stable != nullptr && stable->last_frame_stable()) {
                        batch.add_view(frame);
                    } else {
                        batch.add_copy(frame);
                    }
                }
                batch.position = source->position();
                return true;
            },
            [&](const FrameBatch& batch) {
                analyse_in_order(batch, connections, [&](const FrameProcessor& r) {
                    connections.on_packet({point, r.packet(), r.verdicts()});
                    if (selected(config.packets, r.packet(), r.verdicts())) {
                        reporter->packet({file, r.packet(), r.verdicts()});
                    }
                    output.frame_analysed();
                });
                summary.merge(batch.tally());
                progress.tick(file, batch.position, source_size, summary.frames_read);
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
    const report::ConnectionTotals totals = output.finish(input_error);
    reporter->finish(total, files_read, totals);
    if (input_error) {
        return ExitCode::Error;
    }
    return outcome(total, totals);
}

}  // namespace vxcheck::app

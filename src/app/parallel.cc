// The batch pipeline of `vxcheck analyze` (src/app/analyze.cc), on one thread or N: the same
// report as one frame at a time, byte for byte, from 1 to N threads.
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
// Scheduling. A ring of 4 (N + 1) batch slots (4 for one thread; 256 frames each: smaller
// batches cost more in hand-overs than they save). A thread with four free slots reserves them
// and, for a classic pcap file, claims the next four extents of the file (capture::BlockReader,
// offered by Source::blocks()), byte ranges sized for about a batch of records each; both take
// turns but cost nothing. It reads the extents straight into the batches' storage with one
// preadv(), the kernel's copy out of the page cache, while other threads read theirs. (One
// extent a call made the copy slower than four at once; two or eight gained nothing over four:
// tools/bench/README.md.) Then, in reservation order (each pcap record says where the next one
// starts), the extent's records are walked, by whichever thread finds the next batch read
// (fill_read): a record cut by the extent's end is completed from the next extent, copied. Anything
// but classic pcap is copied frame by frame in that ordered step. The filler then decodes the batch
// itself while its bytes are in its cache; a thread that looks for a batch to decode takes one it
// read itself first, another thread's only when it has none and cannot read (checksums over bytes
// that another core read, and that are in that core's cache, run much slower). Reading does not
// take turns: on few cores, one reader alone would be busy most of the time while the other threads
// wait for it. Every thread, workers (N - 1) and the main thread alike, decodes the oldest filled
// batch it read if there is one, else fills the next, else decodes the oldest filled batch another
// thread read; the main thread does so only when the next batch in order is not ready for it to
// consume, so the workers end up with the larger share and the ordered part never waits for long.

#include "parallel.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <ostream>

#include "run_common.h"
#include "vxcheck/capture/source.h"
#include "vxcheck/report/evidence.h"
#include "vxcheck/report/reporter.h"

namespace vxcheck::app {
namespace {

enum SlotState : std::uint32_t { kFree, kReading, kRead, kFilled, kProcessing, kDone };

}  // namespace

// --- FrameBatch -----------------------------------------------------------------------------

FrameBatch::FrameBatch(const decode::DecodeOptions& options)
    : frames_(kCapacity),
      arena_offset_(kCapacity, kNotCopied),
      read_{.extent = {}, .storage = &block_, .bytes = {}},
      options_(options) {
    processors_.reserve(kCapacity);
}

void FrameBatch::make_processors(std::size_t n) {
    while (processors_.size() < n) {
        processors_.emplace_back(options_).prefetch_for(prefetch_for_, true);
    }
}

void FrameBatch::clear() noexcept {
    count_ = 0;
    read_.bytes = {};
    processed_ = 0;
    arena_.clear();
    has_copies_ = false;
    tally_ = report::Summary{};
}

std::size_t FrameBatch::walk_extent(capture::BlockReader& reader) {
    // The storage is reused, so frames already in the batch would dangle: only when empty.
    if (count_ != 0) {
        return 0;
    }
    const std::size_t n =
        reader.walk(read_.extent, read_.bytes, {frames_.data(), kCapacity}, carried_);
    make_processors(n);  // before count_ says they are there
    count_ = n;
    std::fill_n(arena_offset_.begin(), count_, kNotCopied);
    return count_;
}

void FrameBatch::add_view(const RawFrame& frame) {
    make_processors(count_ + 1);
    frames_[count_] = frame;
    arena_offset_[count_] = kNotCopied;
    ++count_;
}

void FrameBatch::add_copy(const RawFrame& frame) {
    make_processors(count_ + 1);
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

// The filler calls this right after reading the batch, so its frames are in this core's cache.
void FrameBatch::process() noexcept {
    seal();
    for (std::size_t i = processed_; i < count_; ++i) {
        processors_[i].process(frames_[i], tally_);
    }
    processed_ = count_;
}

// --- BatchPipeline --------------------------------------------------------------------------

struct BatchPipeline::Slot {
    explicit Slot(const decode::DecodeOptions& options) : batch(options) {}
    FrameBatch batch;
    std::atomic<std::uint32_t> state{kFree};
    // Set by the thread that reserved the slot, before its turn.
    bool has_extent = false;
    // The thread that reserved and read it (0: the running thread); read by any thread.
    std::atomic<unsigned> reader{0};
    std::exception_ptr read_error;
};

BatchPipeline::BatchPipeline(const decode::DecodeOptions& options, unsigned threads) {
    const unsigned n = std::max(threads, 1U);
    // A few batches per thread keep every thread busy while the oldest waits to be consumed.
    // One thread has nothing to overlap: one group of slots, read together and reused.
    const unsigned ring = n == 1 ? kGroup : std::min((n + 1) * kGroup, 64U);
    for (unsigned i = 0; i < ring; ++i) {
        slots_.push_back(std::make_unique<Slot>(options));
    }
    for (unsigned i = 1; i < n; ++i) {
        workers_.emplace_back([this, i] { work(i); });
    }
}

void BatchPipeline::prefetch_slots_for(const analyze::ConnectionAnalyzer* connections) noexcept {
    for (const auto& s : slots_) {
        s->batch.prefetch_slots_for(connections);
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

// Claims the oldest unprocessed batch that thread `me` read (or, unless `own_only`, any), if
// there is one, and processes it.
bool BatchPipeline::process_one(unsigned me, bool own_only) noexcept {
    const std::uint64_t end = filled_.load(std::memory_order_acquire);
    const std::uint64_t begin = consumed_.load(std::memory_order_acquire);
    for (std::uint64_t seq = begin; seq < end; ++seq) {
        Slot& s = slot(seq);
        if (s.reader.load(std::memory_order_relaxed) == me && process_slot(s)) {
            return true;
        }
    }
    if (own_only) {
        return false;
    }
    for (std::uint64_t seq = begin; seq < end; ++seq) {
        if (process_slot(slot(seq))) {
            return true;
        }
    }
    return false;
}

// Processes `s` if it is filled and no other thread has taken it.
bool BatchPipeline::process_slot(Slot& s) noexcept {
    std::uint32_t expected = kFilled;
    if (!s.state.compare_exchange_strong(expected, kProcessing, std::memory_order_acq_rel,
                                         std::memory_order_relaxed)) {
        return false;
    }
    s.batch.process();
    s.state.store(kDone, std::memory_order_release);
    wake_all();
    return true;
}

// Fills the next kGroup batches if as many slots are free. Reserving the slots and claiming
// their extents of the file take turns (briefly); reading the extents, the kernel's copy out of
// the page cache and most of the cost of filling, runs on any number of threads at once, each
// thread's group of extents in one system call (BlockReader::read); walking their records and
// `fill_` happen in reservation order (each pcap record says where the next one starts), by
// fill_read().
bool BatchPipeline::fill_one(unsigned me) noexcept {
    const auto has_room = [this] {
        return reserved_.load(std::memory_order_relaxed) -
                   consumed_.load(std::memory_order_acquire) + kGroup <=
               slots_.size();
    };
    if (input_over_.load(std::memory_order_acquire) || !has_room() ||
        reserving_.exchange(true, std::memory_order_acquire)) {
        return false;
    }
    if (input_over_.load(std::memory_order_relaxed) || !has_room()) {
        reserving_.store(false, std::memory_order_release);
        return false;
    }
    const std::uint64_t first = reserved_.load(std::memory_order_relaxed);
    std::array<capture::BlockReader::Read*, capture::BlockReader::kMaxReads> reads{};
    std::size_t n_reads = 0;
    for (std::uint64_t seq = first; seq < first + kGroup; ++seq) {
        Slot& s = slot(seq);
        s.batch.clear();
        s.read_error = nullptr;
        s.reader.store(me, std::memory_order_relaxed);
        capture::BlockReader::Read& r = s.batch.extent_read();
        s.has_extent = blocks_ != nullptr && blocks_->claim(FrameBatch::kCapacity, r.extent);
        if (s.has_extent) {
            reads[n_reads++] = &r;
        }
        s.state.store(kReading, std::memory_order_relaxed);
    }
    reserved_.store(first + kGroup, std::memory_order_release);
    reserving_.store(false, std::memory_order_release);

    if (n_reads != 0) {
        try {
            blocks_->read({reads.data(), n_reads});
        } catch (...) {
            slot(first).read_error = std::current_exception();  // the fill of the first ends it
        }
    }
    for (std::uint64_t seq = first; seq < first + kGroup; ++seq) {
        slot(seq).state.store(kRead, std::memory_order_seq_cst);
    }
    fill_read();
    // The first batch just read is in this core's cache: decode it here, unless it is still
    // waiting for its turn to be walked (then the oldest waiting batch).
    if (!process_slot(slot(first))) {
        process_one(me, false);
    }
    return true;
}

// Walks and fills, in reservation order, every batch whose extent has been read, starting at
// the next one to fill; one thread at a time. A thread that finds another one at it leaves its
// batch to that one, which looks again after it has let go (so no read batch is left behind).
void BatchPipeline::fill_read() noexcept {
    while (!filler_.exchange(true, std::memory_order_seq_cst)) {
        bool progressed = false;
        while (true) {
            const std::uint64_t seq = filled_.load(std::memory_order_relaxed);
            Slot& s = slot(seq);
            if (seq == reserved_.load(std::memory_order_acquire) ||
                s.state.load(std::memory_order_acquire) != kRead) {
                break;
            }
            fill(s);
            s.state.store(kFilled, std::memory_order_release);
            filled_.store(seq + 1, std::memory_order_release);
            progressed = true;
        }
        filler_.store(false, std::memory_order_seq_cst);
        if (progressed) {
            wake_all();
        }
        const std::uint64_t next = filled_.load(std::memory_order_acquire);
        if (next == reserved_.load(std::memory_order_acquire) ||
            slot(next).state.load(std::memory_order_seq_cst) != kRead) {
            return;
        }
    }
}

// Walks a batch's extent and calls fill_, unless a batch before it ended the input (or
// stop_filling did): then it stays empty.
void BatchPipeline::fill(Slot& s) noexcept {
    if (input_over_.load(std::memory_order_acquire)) {
        return;
    }
    bool more = false;
    try {
        if (s.read_error) {
            std::rethrow_exception(s.read_error);
        }
        if (s.has_extent) {
            s.batch.walk_extent(*blocks_);
        }
        more = (*fill_)(s.batch);
    } catch (...) {
        fill_error_ = std::current_exception();  // rethrown by run()
    }
    if (!more) {
        end_input();
    }
}

// No more reservations: set under the reservation lock, so that once input_over_ is seen,
// reserved_ is final.
void BatchPipeline::end_input() noexcept {
    while (reserving_.exchange(true, std::memory_order_acquire)) {
    }
    input_over_.store(true, std::memory_order_release);
    reserving_.store(false, std::memory_order_release);
}

// The running thread, with nothing to consume: it decodes a waiting batch, else reads and
// decodes the next one, as a worker would. Every thread reads and decodes; the running thread
// also does the ordered part, so the workers take more of the batches, as many as they can.
bool BatchPipeline::help() noexcept {
    return process_one(0, true) || fill_one(0) || process_one(0, false);
}

void BatchPipeline::work(unsigned me) noexcept {
    while (true) {
        // Read the wake count before looking for work: anything that makes work afterwards
        // bumps it, so the wait below cannot miss it.
        const std::uint32_t seen = wake_.load(std::memory_order_acquire);
        if (stop_.load(std::memory_order_acquire)) {
            return;
        }
        // Processing first: a filled batch waits for a thread, while the filler has a head
        // start (up to a ring of batches).
        if (process_one(me, true) || fill_one(me) || process_one(me, false)) {
            continue;
        }
        if (!spin_until_woken(seen)) {
            wake_.wait(seen, std::memory_order_acquire);
        }
    }
}

// Waits a little for work by watching the wake count before sleeping on it: in a VM a futex
// sleep and wake-up costs tens of microseconds, about as long as a batch takes, so a worker
// that slept whenever it found no work at once would spend much of the run waking up.
bool BatchPipeline::spin_until_woken(std::uint32_t seen) const noexcept {
    constexpr auto kSpin = std::chrono::microseconds(50);
    const auto until = std::chrono::steady_clock::now() + kSpin;
    while (true) {
        for (int i = 0; i < 64; ++i) {
            if (wake_.load(std::memory_order_acquire) != seen) {
                return true;
            }
#if defined(__x86_64__) || defined(__i386__)
            __builtin_ia32_pause();
#endif
        }
        if (std::chrono::steady_clock::now() >= until) {
            return false;
        }
    }
}

void BatchPipeline::run(const Fill& fill, const Consume& consume, capture::BlockReader* blocks) {
    // Taking the reservation lock publishes the new input to the workers.
    while (reserving_.exchange(true, std::memory_order_acquire)) {
    }
    fill_ = &fill;
    blocks_ = blocks;
    fill_error_ = nullptr;
    input_over_.store(false, std::memory_order_release);
    reserving_.store(false, std::memory_order_release);
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

// Ends the run for the workers: no more filling, and every batch reserved has had its turn.
// Returns the fill's exception, if any.
std::exception_ptr BatchPipeline::stop_filling() noexcept {
    end_input();
    // Batches reserved before are read and then filled (empty) by their threads; wait for them.
    while (true) {
        const std::uint32_t seen = wake_.load(std::memory_order_acquire);
        fill_read();
        if (filled_.load(std::memory_order_acquire) == reserved_.load(std::memory_order_acquire)) {
            break;
        }
        if (!spin_until_woken(seen)) {
            wake_.wait(seen, std::memory_order_acquire);
        }
    }
    while (reserving_.exchange(true, std::memory_order_acquire)) {
    }
    fill_ = nullptr;
    blocks_ = nullptr;
    std::exception_ptr error = std::exchange(fill_error_, nullptr);
    reserving_.store(false, std::memory_order_release);
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
            if (!process_one(0, false)) {
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
                   next == filled_.load(std::memory_order_acquire) &&
                   next == reserved_.load(std::memory_order_acquire)) {
            break;  // the input is over and every batch filled and consumed
        }
        // Nothing to consume yet: decode a waiting batch, or read and decode the next (help()).
        // Thresholds on how far ahead the workers are changed nothing measurable.
        if (help()) {
            continue;
        }
        wake_.wait(seen, std::memory_order_acquire);
    }
}

}  // namespace vxcheck::app

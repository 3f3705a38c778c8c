#pragma once
// Private to src/app: the batch pipeline behind `analyze` (on one thread or N) and `bench`.
//
// Frames go through in batches. The thread that runs the pipeline fills batches (reading the
// input), any of the N threads decodes, verifies and tallies a batch (FrameProcessor: the
// stateless per-frame work), and the running thread hands the finished batches to the stateful
// stages in input order. See parallel.cc for why it is split this way.

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <thread>
#include <vector>

#include "vxcheck/app/pipeline.h"
#include "vxcheck/capture/block_reader.h"
#include "vxcheck/decode/decode.h"
#include "vxcheck/frame.h"
#include "vxcheck/report/summary.h"

namespace vxcheck::app {

/// Up to kCapacity frames and, once processed, their decoded packets, verdicts and tallies.
class FrameBatch {
  public:
    static constexpr std::size_t kCapacity = 256;

    explicit FrameBatch(const decode::DecodeOptions& options);

    // --- filling (one thread at a time) ---------------------------------------------------------
    /// Empties the batch.
    void clear() noexcept;
    [[nodiscard]] bool full() const noexcept { return count_ == kCapacity; }
    /// The batch's read of an extent of a file into its own storage: set its extent, then
    /// BlockReader::read() it (any thread, concurrently; with the reads of other batches).
    [[nodiscard]] capture::BlockReader::Read& extent_read() noexcept { return read_; }
    /// Adds the records of the extent read, walked in order (BlockReader::walk); how many.
    std::size_t walk_extent(capture::BlockReader& reader);
    /// Adds a frame whose bytes stay valid until the batch has been consumed (no copy). May
    /// allocate (a batch makes its frames' processors as it first needs them, then keeps them).
    void add_view(const RawFrame& frame);
    /// Adds a copy of a frame whose bytes die at the next read. May allocate (the arena grows
    /// to the largest batch seen, then stays).
    void add_copy(const RawFrame& frame);

    // --- processing (any thread) ---------------------------------------------------------------
    /// Decodes, verifies and tallies every frame not processed yet. Call once after filling.
    void process() noexcept;
    /// Each frame's table slot in `connections` is prefetched as it is processed
    /// (Prefetch::slot_only), for analyse_in_order() on the same thread.
    void prefetch_slots_for(const analyze::ConnectionAnalyzer* connections) noexcept {
        prefetch_for_ = connections;
        for (FrameProcessor& p : processors_) {
            p.prefetch_for(connections, true);
        }
    }

    // --- results (the running thread, in input order) ------------------------------------------
    [[nodiscard]] std::size_t size() const noexcept { return count_; }
    [[nodiscard]] const FrameProcessor& result(std::size_t i) const noexcept {
        return processors_[i];
    }
    /// The batch's frames tallied into an empty summary; merge() them in input order.
    [[nodiscard]] const report::Summary& tally() const noexcept { return tally_; }
    /// Where the input was after this batch was filled (set by the filler; for progress lines).
    std::uint64_t position = 0;

  private:
    static constexpr std::size_t kNotCopied = ~std::size_t{0};

    void seal() noexcept;
    // Makes processors for the first n frames. They are made as the batch first holds that
    // many frames (a run of a few frames does not build 256 packets' layers per batch), within
    // the capacity reserved up front, so that a processor never moves.
    void make_processors(std::size_t n);

    std::vector<RawFrame> frames_;           // kCapacity; packets point at their frame here
    std::vector<std::size_t> arena_offset_;  // where a copied frame's bytes are, or kNotCopied
    std::vector<std::uint8_t> arena_;
    bool has_copies_ = false;
    capture::ExtentBuffer block_;        // the extent's storage
    capture::BlockReader::Read read_;    // the extent, into block_, and what the read put there
    std::vector<std::uint8_t> carried_;  // walk_extent()'s copies of records carried to it
    const decode::DecodeOptions& options_;
    const analyze::ConnectionAnalyzer* prefetch_for_ = nullptr;  // prefetch_slots_for()'s
    std::vector<FrameProcessor> processors_;  // capacity kCapacity; made by make_processors()
    report::Summary tally_;
    std::size_t count_ = 0;
    std::size_t processed_ = 0;  // frames [0, processed_) are decoded, verified and tallied
};

/// `threads` threads read, decode and verify (the running thread and threads - 1 workers); the
/// stateful stages run on the running thread only, in input order.
class BatchPipeline {
  public:
    /// Adds frames to a batch (after the records of its extent, if the run reads extents);
    /// returns false when the input is over (it may still have added). Called on any of the
    /// threads, one call at a time, batches in input order.
    using Fill = std::function<bool(FrameBatch&)>;
    /// Takes a processed batch, in input order, on the thread that called run().
    using Consume = std::function<void(const FrameBatch&)>;

    BatchPipeline(const decode::DecodeOptions& options, unsigned threads);
    ~BatchPipeline();
    BatchPipeline(const BatchPipeline&) = delete;
    BatchPipeline& operator=(const BatchPipeline&) = delete;

    /// Runs one input through: returns after the last batch has been consumed. With `blocks`,
    /// each batch first gets the records of the next extent of the file (read on any thread,
    /// several at once, walked in order), then what `fill` adds. An exception from fill (or
    /// a read) is rethrown here once the batches before it are consumed; one from consume
    /// propagates at once. After an exception the pipeline is not reusable.
    void run(const Fill& fill, const Consume& consume, capture::BlockReader* blocks = nullptr);

    /// FrameBatch::prefetch_slots_for on every batch.
    void prefetch_slots_for(const analyze::ConnectionAnalyzer* connections) noexcept;

  private:
    struct Slot;
    Slot& slot(std::uint64_t seq) const noexcept;
    bool process_one(unsigned me, bool own_only) noexcept;
    bool process_slot(Slot& s) noexcept;
    bool fill_one(unsigned me) noexcept;
    bool help() noexcept;
    void consume_all(const Consume& consume);
    std::exception_ptr stop_filling() noexcept;
    void drain() noexcept;
    void wake_all() noexcept;
    void work(unsigned me) noexcept;
    bool spin_until_woken(std::uint32_t seen) const noexcept;

    void fill_read() noexcept;
    void fill(Slot& s) noexcept;
    void end_input() noexcept;

    // Batches a thread reserves and reads at once (fill_one).
    static constexpr unsigned kGroup = 4;
    static_assert(kGroup <= capture::BlockReader::kMaxReads);
    std::vector<std::unique_ptr<Slot>> slots_;
    // Batch sequence numbers: [consumed_, filled_) waiting to be processed, being processed or
    // done (each slot's state says which), [filled_, reserved_) being filled; reserved_ -
    // consumed_ <= ring size.
    std::atomic<std::uint64_t> reserved_{0};
    std::atomic<std::uint64_t> filled_{0};
    std::atomic<std::uint64_t> consumed_{0};
    // Reserving a slot (and claiming its extent): one thread at a time, briefly. Filling (the
    // walk and fill_): one thread at a time, in reservation order, once a batch is read.
    std::atomic<bool> reserving_{false};
    std::atomic<bool> filler_{false};
    const Fill* fill_ = nullptr;              // the current run's; set under reserving_
    capture::BlockReader* blocks_ = nullptr;  // likewise
    std::atomic<bool> input_over_{true};  // set under reserving_, by the filler that saw the end
    std::exception_ptr fill_error_;       // guarded by filler_
    std::atomic<std::uint32_t> wake_{0};  // bumped whenever some thread may have work
    std::atomic<bool> stop_{false};
    std::vector<std::thread> workers_;  // last: joined before the slots go
};

/// Calls `analyse(const FrameProcessor&)` on every frame of a processed batch, in input order,
/// each with the lines of the connection kAhead frames on prefetched from `connections` (its
/// digest, written by the thread that decoded it, already names it). Called by FrameConsumer
/// for analyze and bench alike, so that bench times what analyze does.
///
/// The prefetch hides most of the wait for a connection's state, which has left the cache
/// since its last packet; 8 frames ahead beats 2 and 4 (tools/bench/README.md has the figures).
/// ConnectionAnalyzer::prefetch issues real prefetches: GCC 12 compiles __builtin_prefetch
/// there to nothing, hence prefetch_line() in the analysis.
template <typename Analyse>
void analyse_in_order(const FrameBatch& batch, const analyze::ConnectionAnalyzer& connections,
                      Analyse&& analyse) {
    constexpr std::size_t kAhead = 8;
    constexpr std::size_t kPluginsAhead = 4;  // the plug-ins' state: once the flow's lines are in
    const std::size_t n = batch.size();
    const auto ahead = [&](std::size_t i) {
        const analyze::PacketDigest& d = batch.result(i).digest();
        if (d.has_segment) {
            connections.prefetch(d.segment.hash);
        }
    };
    const auto plugins_ahead = [&](std::size_t i) {
        const analyze::PacketDigest& d = batch.result(i).digest();
        if (d.has_segment) {
            connections.prefetch_plugins(d.segment);
        }
    };
    for (std::size_t i = 0; i < std::min(kAhead, n); ++i) {
        ahead(i);
    }
    for (std::size_t i = 0; i < n; ++i) {
        if (i + kAhead < n) {
            ahead(i + kAhead);
        }
        if (i + kPluginsAhead < n) {
            plugins_ahead(i + kPluginsAhead);
        }
        analyse(batch.result(i));
    }
}

}  // namespace vxcheck::app

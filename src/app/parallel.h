#pragma once
// Private to src/app: the batch pipeline behind `analyze --threads N` and `bench --threads N`.
//
// Frames go through in batches. The thread that runs the pipeline fills batches (reading the
// input), any of the N threads decodes, verifies and tallies a batch (FrameProcessor: the
// stateless per-frame work), and the running thread hands the finished batches to the stateful
// stages in input order. See parallel.cc for why it is split this way.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <thread>
#include <vector>

#include "vxcheck/app/pipeline.h"
#include "vxcheck/decode/decode.h"
#include "vxcheck/frame.h"
#include "vxcheck/report/summary.h"

namespace vxcheck::app {

/// Up to kCapacity frames and, once processed, their decoded packets, verdicts and tallies.
class FrameBatch {
  public:
    static constexpr std::size_t kCapacity = 128;

    explicit FrameBatch(const decode::DecodeOptions& options);

    // --- filling (the running thread) ----------------------------------------------------------
    void clear() noexcept;
    [[nodiscard]] bool full() const noexcept { return count_ == kCapacity; }
    /// Adds a frame whose bytes stay valid until the batch has been consumed (no copy).
    void add_view(const RawFrame& frame) noexcept;
    /// Adds a copy of a frame whose bytes die at the next read. May allocate (the arena grows
    /// to the largest batch seen, then stays).
    void add_copy(const RawFrame& frame);

    // --- processing (any thread) ---------------------------------------------------------------
    /// Decodes, verifies and tallies every frame. Call once after filling.
    void process() noexcept;

    // --- results (the running thread, in input order) ------------------------------------------
    [[nodiscard]] std::size_t size() const noexcept { return count_; }
    [[nodiscard]] const FrameProcessor& result(std::size_t i) const noexcept {
        return processors_[i];
    }
    /// The batch's frames tallied into an empty summary; merge() them in input order.
    [[nodiscard]] const report::Summary& tally() const noexcept { return tally_; }

  private:
    static constexpr std::size_t kNotCopied = ~std::size_t{0};

    void seal() noexcept;

    std::vector<RawFrame> frames_;           // kCapacity; packets point at their frame here
    std::vector<std::size_t> arena_offset_;  // where a copied frame's bytes are, or kNotCopied
    std::vector<std::uint8_t> arena_;
    bool has_copies_ = false;
    std::vector<FrameProcessor> processors_;
    report::Summary tally_;
    std::size_t count_ = 0;
};

/// `threads` threads decode and verify (the running thread and threads - 1 workers); the
/// stateful stages run on the running thread only, in input order.
class BatchPipeline {
  public:
    /// Adds frames to a batch; returns false when the input is over (it may still have added).
    using Fill = std::function<bool(FrameBatch&)>;
    /// Takes a processed batch, in input order.
    using Consume = std::function<void(const FrameBatch&)>;

    BatchPipeline(const decode::DecodeOptions& options, unsigned threads);
    ~BatchPipeline();
    BatchPipeline(const BatchPipeline&) = delete;
    BatchPipeline& operator=(const BatchPipeline&) = delete;

    /// Runs one input through: returns after the last batch has been consumed. An exception
    /// from fill or consume ends the run and propagates; the pipeline is then not reusable.
    void run(const Fill& fill, const Consume& consume);

  private:
    struct Slot;
    Slot& slot(std::uint64_t seq) const noexcept;
    bool process_one() noexcept;
    void work() noexcept;

    std::vector<std::unique_ptr<Slot>> slots_;
    std::atomic<std::uint64_t> published_{0};  // batches filled; those below are claimable
    std::atomic<std::uint64_t> claimed_{0};    // the next batch to process
    std::atomic<std::uint32_t> wake_{0};       // bumped when a worker may have work (or stop)
    std::atomic<bool> stop_{false};
    std::uint64_t consumed_ = 0;
    std::vector<std::thread> workers_;  // last: joined before the slots go
};

}  // namespace vxcheck::app

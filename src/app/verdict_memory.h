#pragma once
// Private to src/app: the verdicts already counted per connection in a live capture, which
// reports a connection when it gains a verdict and again when it is decided; each verdict of a
// connection is counted once (status line, metrics).

#include <cstddef>
#include <cstdint>
#include <deque>
#include <unordered_map>

#include "vxcheck/analyze/connection_report.h"

namespace vxcheck::app {

/// At most `capacity` connections with verdicts are remembered, by a 64-bit hash of their
/// endpoints under a per-process random key (so that no one can make two connections share an
/// entry); the one remembered first gives way to a new one (counted: evicted()), and a later
/// report of it counts its verdicts again. A report with no verdict but Clean is counted without
/// being remembered: nothing reports such a connection twice.
class VerdictMemory {
  public:
    explicit VerdictMemory(std::size_t capacity);

    /// The verdict bits (1 << Verdict) of `c` not counted before; remembers them.
    std::uint32_t gained(const analyze::ConnectionReport& c);

    [[nodiscard]] std::size_t size() const noexcept { return seen_.size(); }
    [[nodiscard]] const std::uint64_t& evicted() const noexcept { return evicted_; }

  private:
    [[nodiscard]] std::uint64_t key_of(const analyze::ConnectionReport& c) const noexcept;

    std::size_t capacity_;
    std::unordered_map<std::uint64_t, std::uint32_t> seen_;
    std::deque<std::uint64_t> order_;  // the keys of seen_, oldest first
    std::uint64_t evicted_ = 0;
};

}  // namespace vxcheck::app

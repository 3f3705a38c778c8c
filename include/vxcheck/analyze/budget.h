#pragma once
// A budget of bytes that several structures draw on, checked before they grow: a structure takes
// what it is about to hold, gives it back when it lets go, and does without (counted) when the
// budget is spent. Uses of lower priority may fill only a share of it (take_within), so they
// never crowd out the ones the main verdicts need. The analysis runs on one thread: nothing here
// is atomic.
//
// The shares of the connection analysis's state budget (ConnectionOptions::state_budget_bytes):
// SYN history and bad outer checksums all of it; the ONC RPC analysis's per-connection state
// three quarters; sightings of untunnelled packets half.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace vxcheck::analyze {

inline constexpr unsigned kShareVerdicts = 4;   // quarters: SYN history, bad checksums
inline constexpr unsigned kShareRpc = 3;        // the ONC RPC analysis's state
inline constexpr unsigned kShareSightings = 2;  // untunnelled sightings (Flow::plain)

class ByteBudget {
  public:
    explicit ByteBudget(std::size_t limit = static_cast<std::size_t>(-1)) noexcept
        : limit_(limit) {}

    /// Takes `bytes`; false (nothing taken, counted in refused()) when they do not fit.
    [[nodiscard]] bool take(std::size_t bytes) noexcept {
        if (used_ > limit_ || bytes > limit_ - used_) {  // force() may have passed the limit
            ++refused_;
            return false;
        }
        used_ += bytes;
        return true;
    }
    /// Takes `bytes` only while what is used stays within `quarters` quarters of the limit: a
    /// use of lower priority leaves the rest to the ones above it. False (nothing taken,
    /// counted in refused()) otherwise.
    [[nodiscard]] bool take_within(std::size_t bytes, unsigned quarters) noexcept {
        const std::size_t ceiling = quarters >= 4 ? limit_ : limit_ / 4 * quarters;
        if (used_ > ceiling || bytes > ceiling - used_) {
            ++refused_;
            return false;
        }
        used_ += bytes;
        return true;
    }
    /// Takes `bytes` whether or not they fit (what a structure already holds and cannot drop).
    void force(std::size_t bytes) noexcept { used_ += bytes; }
    void give_back(std::size_t bytes) noexcept { used_ -= std::min(bytes, used_); }

    [[nodiscard]] std::size_t limit() const noexcept { return limit_; }
    [[nodiscard]] std::size_t used() const noexcept { return used_; }
    [[nodiscard]] std::uint64_t refused() const noexcept { return refused_; }

  private:
    std::size_t limit_;
    std::size_t used_ = 0;
    std::uint64_t refused_ = 0;
};

/// The bytes a vector holds on the heap.
template <class T>
[[nodiscard]] std::size_t heap_bytes(const std::vector<T>& v) noexcept {
    return v.capacity() * sizeof(T);
}

/// Makes room in `v` for one more element (at most `max` in all) within `budget`, and adds what
/// it took to `charged`: the capacity doubles from 1 up to `max`, so a vector costs at most
/// about twice what it holds. False, with nothing taken, when the budget does not have it. May
/// throw std::bad_alloc (then nothing is taken either).
/// Precondition: v.size() < max. `quarters`: the share of the budget this use may fill
/// (ByteBudget::take_within). `v`: a std::vector, or a container with its value_type, size(),
/// capacity() and reserve().
template <class Vec>
[[nodiscard]] bool room_for_one(Vec& v, std::size_t max, ByteBudget& budget, std::size_t& charged,
                                unsigned quarters = 4) {
    if (v.size() < v.capacity()) {
        return true;
    }
    const std::size_t grown = std::min(max, std::max<std::size_t>(1, 2 * v.capacity()));
    const std::size_t bytes = (grown - v.capacity()) * sizeof(typename Vec::value_type);
    if (!budget.take_within(bytes, quarters)) {
        return false;
    }
    try {
        v.reserve(grown);
    } catch (...) {
        budget.give_back(bytes);
        throw;
    }
    charged += bytes;
    return true;
}

}  // namespace vxcheck::analyze

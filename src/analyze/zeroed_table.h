#pragma once
// Tables whose elements start zero (private to src/analyze). ZeroedTable: a fixed size, taken
// with calloc: fresh pages of the kernel back a large one, so nothing is written at start and a
// page becomes resident only when an element on it is first used. GrowingDirectTable: a
// direct-mapped table of a fixed size (the NAT join's, nat_join.h: a smaller one would forget
// different entries) kept in as few slots as give exactly the same entries, so that an analysis
// with few connections (a short capture, a fuzz input) neither takes nor maps the whole of it.
// T must be an implicit-lifetime type (an aggregate) whose T{} is all zero bytes.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <new>
#include <type_traits>

namespace vxcheck::analyze {

template <class T>
class ZeroedTable {
    static_assert(std::is_aggregate_v<T> && std::is_trivially_copyable_v<T> &&
                      std::is_trivially_destructible_v<T>,
                  "calloc's zero bytes are a T{} of an aggregate of numbers");
    // calloc aligns for max_align_t; a T aligned more (a cache line) is placed in a block that
    // much larger.
    static constexpr std::size_t kSlack = alignof(T) > alignof(std::max_align_t) ? alignof(T) : 0;

  public:
    /// Makes the table n elements, all T{}, dropping what it held; throws std::bad_alloc.
    void assign_zero(std::size_t n) {
        if (n > (SIZE_MAX - kSlack) / sizeof(T)) {
            throw std::bad_alloc();
        }
        std::size_t space = n * sizeof(T) + kSlack;
        void* raw = std::calloc(space, 1);
        if (raw == nullptr) {
            throw std::bad_alloc();
        }
        raw_.reset(raw);
        void* p = raw;
        data_ = static_cast<T*>(std::align(alignof(T), n * sizeof(T), p, space));
        size_ = n;
    }

    [[nodiscard]] std::size_t size() const noexcept { return size_; }
    [[nodiscard]] bool empty() const noexcept { return size_ == 0; }
    [[nodiscard]] T& operator[](std::size_t i) noexcept { return data_[i]; }
    [[nodiscard]] const T& operator[](std::size_t i) const noexcept { return data_[i]; }
    [[nodiscard]] T* begin() noexcept { return data_; }
    [[nodiscard]] T* end() noexcept { return data_ + size_; }
    [[nodiscard]] const T* begin() const noexcept { return data_; }
    [[nodiscard]] const T* end() const noexcept { return data_ + size_; }

  private:
    struct Free {
        void operator()(void* p) const noexcept { std::free(p); }
    };
    std::unique_ptr<void, Free> raw_;  // calloc's block
    T* data_ = nullptr;                // in it, aligned for T
    std::size_t size_ = 0;
};

/// A direct-mapped table of size() slots (a power of two), each starting T{}, as a ZeroedTable of
/// that size would be, that keeps its entries in fewer slots while that is exact: slot i of the
/// table is kept at i modulo the slots kept, which stay a power of two. Traits (static):
/// `bool occupied(const T&)`, false for T{} and true for any entry written; `std::size_t
/// home(const T&)`, the slot an occupied entry is in (any bits above size() ignored). at(i)
/// doubles the slots kept while the one for i holds another slot's entry, so no two slots ever
/// share one; reading and writing slot i is then reading and writing it in the whole table, with
/// the same entries kept and overwritten. An analysis that uses a few slots costs a few; a busy
/// one soon keeps them all (a direct-mapped table needs about the square of its entries' count
/// before no two of them share a slot), after which at() is a plain index.
template <class T, class Traits>
class GrowingDirectTable {
  public:
    /// Makes the table `size` slots (a power of two), all T{}, `first` of them kept (a power of
    /// two, at most `size`); throws std::bad_alloc.
    void assign_zero(std::size_t size, std::size_t first) {
        kept_.assign_zero(std::min(size, first));
        size_ = size;
    }

    [[nodiscard]] std::size_t size() const noexcept { return size_; }
    [[nodiscard]] bool empty() const noexcept { return size_ == 0; }
    /// Slots kept (size() once every slot is).
    [[nodiscard]] std::size_t kept() const noexcept { return kept_.size(); }

    /// Slot i (< size()). Throws std::bad_alloc (the table unchanged) when it must keep more
    /// slots and cannot.
    [[nodiscard]] T& at(std::size_t i) {
        while (true) {
            T& slot = kept_[i & (kept_.size() - 1)];
            if (kept_.size() == size_ || !Traits::occupied(slot) ||
                (Traits::home(slot) & (size_ - 1)) == i) {
                return slot;
            }
            grow();
        }
    }

  private:
    void grow() {
        ZeroedTable<T> more;
        more.assign_zero(kept_.size() * 2);
        const std::size_t mask = more.size() - 1;
        for (const T& e : kept_) {
            if (Traits::occupied(e)) {
                more[Traits::home(e) & mask] = e;  // slots apart in kept_ stay apart in more
            }
        }
        kept_ = std::move(more);
    }

    ZeroedTable<T> kept_;
    std::size_t size_ = 0;
};

}  // namespace vxcheck::analyze

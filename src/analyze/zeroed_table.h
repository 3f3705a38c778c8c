#pragma once
// A table of a fixed size whose elements start zero (private to src/analyze), taken with calloc:
// fresh pages of the kernel back a large one, so nothing is written at start and a page becomes
// resident only when an element on it is first used. For the direct-mapped tables of the NAT
// join (nat_join.h), whose size is fixed (a smaller one would forget different entries) and which
// a run with few connections barely touches. T must be an implicit-lifetime type (an aggregate)
// whose T{} is all zero bytes.

#include <cstddef>
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
    static_assert(alignof(T) <= alignof(std::max_align_t), "calloc aligns for max_align_t");

  public:
    /// Makes the table n elements, all T{}, dropping what it held; throws std::bad_alloc.
    void assign_zero(std::size_t n) {
        T* p = static_cast<T*>(std::calloc(n, sizeof(T)));
        if (p == nullptr && n != 0) {
            throw std::bad_alloc();
        }
        data_.reset(p);
        size_ = n;
    }

    [[nodiscard]] std::size_t size() const noexcept { return size_; }
    [[nodiscard]] bool empty() const noexcept { return size_ == 0; }
    [[nodiscard]] T& operator[](std::size_t i) noexcept { return data_.get()[i]; }
    [[nodiscard]] const T& operator[](std::size_t i) const noexcept { return data_.get()[i]; }
    [[nodiscard]] T* begin() noexcept { return data_.get(); }
    [[nodiscard]] T* end() noexcept { return data_.get() + size_; }
    [[nodiscard]] const T* begin() const noexcept { return data_.get(); }
    [[nodiscard]] const T* end() const noexcept { return data_.get() + size_; }

  private:
    struct Free {
        void operator()(T* p) const noexcept { std::free(p); }
    };
    std::unique_ptr<T, Free> data_;
    std::size_t size_ = 0;
};

}  // namespace vxcheck::analyze

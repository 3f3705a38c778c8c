#pragma once
// A vector in one pointer (private to src/analyze): its size and capacity are kept in the heap
// block, before the elements, so that an empty one costs the flow's record 8 bytes instead of
// std::vector's 24 and no allocation. Flow keeps its evidence frames in one, and its side part
// (FlowSide) its SYN attempts and sightings. The part of std::vector's interface that the
// connection analysis uses; the capacity grows only as asked (reserve) or, when a push finds it
// full, doubles from 1, as std::vector's does.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <memory>
#include <new>
#include <utility>

namespace vxcheck::analyze {

template <class T>
class PackedVec {
  public:
    using value_type = T;
    using iterator = T*;
    using const_iterator = const T*;

    PackedVec() = default;
    PackedVec(const PackedVec&) = delete;
    PackedVec& operator=(const PackedVec&) = delete;
    PackedVec(PackedVec&& o) noexcept : head_(std::exchange(o.head_, nullptr)) {}
    PackedVec& operator=(PackedVec&& o) noexcept {
        if (this != &o) {
            release();
            head_ = std::exchange(o.head_, nullptr);
        }
        return *this;
    }
    ~PackedVec() { release(); }

    [[nodiscard]] std::size_t size() const noexcept { return head_ == nullptr ? 0 : head_->size; }
    [[nodiscard]] std::size_t capacity() const noexcept {
        return head_ == nullptr ? 0 : head_->capacity;
    }
    [[nodiscard]] bool empty() const noexcept { return size() == 0; }

    [[nodiscard]] T* data() noexcept { return head_ == nullptr ? nullptr : elements(head_); }
    [[nodiscard]] const T* data() const noexcept {
        return head_ == nullptr ? nullptr : elements(head_);
    }
    [[nodiscard]] T* begin() noexcept { return data(); }
    [[nodiscard]] T* end() noexcept { return data() + size(); }
    [[nodiscard]] const T* begin() const noexcept { return data(); }
    [[nodiscard]] const T* end() const noexcept { return data() + size(); }
    [[nodiscard]] std::reverse_iterator<T*> rbegin() noexcept {
        return std::reverse_iterator<T*>(end());
    }
    [[nodiscard]] std::reverse_iterator<T*> rend() noexcept {
        return std::reverse_iterator<T*>(begin());
    }
    [[nodiscard]] std::reverse_iterator<const T*> rbegin() const noexcept {
        return std::reverse_iterator<const T*>(end());
    }
    [[nodiscard]] std::reverse_iterator<const T*> rend() const noexcept {
        return std::reverse_iterator<const T*>(begin());
    }
    [[nodiscard]] T& operator[](std::size_t i) noexcept { return data()[i]; }
    [[nodiscard]] const T& operator[](std::size_t i) const noexcept { return data()[i]; }
    [[nodiscard]] T& front() noexcept { return data()[0]; }
    [[nodiscard]] const T& front() const noexcept { return data()[0]; }
    [[nodiscard]] T& back() noexcept { return data()[size() - 1]; }
    [[nodiscard]] const T& back() const noexcept { return data()[size() - 1]; }

    /// Makes the capacity at least n; throws std::bad_alloc (then nothing changes).
    void reserve(std::size_t n) {
        if (n <= capacity()) {
            return;
        }
        Head* grown = allocate(n);
        const std::size_t count = size();
        T* to = elements(grown);
        T* from = data();
        for (std::size_t i = 0; i < count; ++i) {
            new (to + i) T(std::move(from[i]));
            from[i].~T();
        }
        grown->size = static_cast<std::uint32_t>(count);
        if (head_ != nullptr) {
            ::operator delete (head_, std::align_val_t{kAlign});
        }
        head_ = grown;
    }

    template <class... Args>
    T& emplace_back(Args&&... args) {
        if (size() == capacity()) {
            reserve(std::max<std::size_t>(1, 2 * capacity()));
        }
        T* t = new (data() + head_->size) T(std::forward<Args>(args)...);
        ++head_->size;
        return *t;
    }
    void push_back(T&& t) { emplace_back(std::move(t)); }
    void push_back(const T& t) { emplace_back(t); }

    void pop_back() noexcept {
        --head_->size;
        data()[head_->size].~T();
    }
    /// Removes the element at `pos`; those after it move up one place.
    T* erase(T* pos) noexcept {
        std::move(pos + 1, end(), pos);
        pop_back();
        return pos;
    }
    /// Destroys the elements; the capacity stays.
    void clear() noexcept {
        while (!empty()) {
            pop_back();
        }
    }

  private:
    struct Head {
        std::uint32_t size = 0;
        std::uint32_t capacity = 0;
    };
    static constexpr std::size_t kAlign = std::max(alignof(T), alignof(Head));
    // The elements start at the first multiple of their alignment after the head.
    static constexpr std::size_t kOffset =
        (sizeof(Head) + alignof(T) - 1) / alignof(T) * alignof(T);

    // Where the elements go (not all of them constructed: size() says how many are).
    static T* elements(Head* h) noexcept {
        return reinterpret_cast<T*>(reinterpret_cast<char*>(h) + kOffset);
    }
    static const T* elements(const Head* h) noexcept {
        return reinterpret_cast<const T*>(reinterpret_cast<const char*>(h) + kOffset);
    }

    static Head* allocate(std::size_t n) {
        void* p = ::operator new (kOffset + n * sizeof(T), std::align_val_t{kAlign});
        return new (p) Head{.size = 0, .capacity = static_cast<std::uint32_t>(n)};
    }

    void release() noexcept {
        if (head_ != nullptr) {
            clear();
            ::operator delete (head_, std::align_val_t{kAlign});
            head_ = nullptr;
        }
    }

    Head* head_ = nullptr;
};

}  // namespace vxcheck::analyze

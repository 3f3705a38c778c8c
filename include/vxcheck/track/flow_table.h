#pragma once
// The connection table: open addressing with linear probing over 16-byte slots (a hash tag and
// the value's address, so that a lookup goes from the slot straight to the value, with no
// division and no block table on the way), in front of the values themselves in a FlowStore
// (stable addresses, reused through a free list). A chained map would cost two dependent cache
// misses (bucket, node) per packet.
//
// The value type V is the caller's per-flow state. It needs a `track::FlowKey key` member, a
// `bool live` member and `V* older`, `V* newer` members (the table sets them all), and must be
// default-constructible; erase() resets a value to V{} (releasing what it owns) before reusing
// it. Values keep their address for as long as they are in the table; index_of() names one by a
// stable small number, for side stores.
//
// The values also form a queue through `older` and `newer` (intrusive: no allocation, O(1) for
// every change): insert() puts a value at the newest end, requeue() moves one there, erase()
// takes one out wherever it is, and oldest() is the other end. A caller that requeues a value
// when it is used gets least-recently-used order; one that requeues lazily, at the oldest end,
// a second-chance (clock) order, with nothing to do on the path that uses values.

#include <sys/mman.h>

#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <new>
#include <utility>
#include <vector>

#include "vxcheck/prefetch.h"
#include "vxcheck/track/flow_key.h"

namespace vxcheck::track {

using vxcheck::prefetch_line;

/// Values in blocks that grow with the table: the first holds a few dozen values and each next
/// one twice as many, up to 2 MiB, and from there on every block is 2 MiB, advised to be one huge
/// page (MADV_HUGEPAGE): the per-packet path jumps between thousands of flows while the capture
/// streams through the TLB, so with 4 KiB pages most flow accesses would also wait for a page
/// walk. A run with few connections maps only what they use. Indices are stable; nothing moves.
template <typename V>
class FlowStore {
  public:
    FlowStore() = default;
    FlowStore(const FlowStore&) = delete;
    FlowStore& operator=(const FlowStore&) = delete;
    ~FlowStore() { clear(); }

    [[nodiscard]] V& operator[](std::size_t i) noexcept {
        const Place p = place(i);
        return blocks_[p.block][p.offset];
    }
    [[nodiscard]] const V& operator[](std::size_t i) const noexcept {
        const Place p = place(i);
        return blocks_[p.block][p.offset];
    }
    [[nodiscard]] std::size_t size() const noexcept { return size_; }
    /// How many values the blocks taken so far hold (size() and the room left).
    [[nodiscard]] std::size_t reserved() const noexcept { return start_of(blocks_.size()); }

    /// The index of v, a value of this store.
    [[nodiscard]] std::size_t index_of(const V& v) const noexcept {
        const auto* p = &v;
        for (std::size_t b = 0; b < blocks_.size(); ++b) {
            if (p >= blocks_[b] && p < blocks_[b] + capacity_of(b)) {
                return start_of(b) + static_cast<std::size_t>(p - blocks_[b]);
            }
        }
        return size_;
    }

    /// Appends a value; throws std::bad_alloc when no block can be had.
    V& emplace_back() {
        if (size_ == start_of(blocks_.size())) {
            blocks_.reserve(blocks_.size() + 1);  // may throw before the block is taken
            blocks_.push_back(allocate(blocks_.size()));
        }
        V* v = new (&(*this)[size_]) V();
        ++size_;
        return *v;
    }

    void clear() noexcept {
        for (std::size_t i = 0; i < size_; ++i) {
            (*this)[i].~V();
        }
        for (V* b : blocks_) {
            std::free(b);
        }
        blocks_.clear();
        size_ = 0;
    }

  private:
    static constexpr std::size_t kBlockBytes = std::size_t{2} << 20;
    static_assert(sizeof(V) <= kBlockBytes, "a value fits in a block");
    // Values in a full block, and in the first: powers of two, so that an index's block is found
    // with a shift and a bit count.
    static constexpr std::size_t kPerBlock = std::bit_floor(kBlockBytes / sizeof(V));
    static constexpr std::size_t kFirst =
        std::min(kPerBlock, std::bit_floor(std::max<std::size_t>(16384 / sizeof(V), 1)));
    static constexpr int kFirstShift = std::countr_zero(kFirst);
    static constexpr int kPerBlockShift = std::countr_zero(kPerBlock);
    // Blocks 0 .. kGrowing hold the first kPerBlock values: kFirst, kFirst, 2 kFirst, 4 kFirst ...
    static constexpr std::size_t kGrowing = static_cast<std::size_t>(kPerBlockShift - kFirstShift);

    struct Place {
        std::size_t block;
        std::size_t offset;
    };

    [[nodiscard]] static Place place(std::size_t i) noexcept {
        if (i >= kPerBlock) [[likely]] {
            return {kGrowing + (i >> kPerBlockShift), i & (kPerBlock - 1)};
        }
        const auto b = static_cast<std::size_t>(std::bit_width(i >> kFirstShift));
        return {b, i - start_of(b)};
    }
    // The index of block b's first value (b may be one past the last block).
    [[nodiscard]] static std::size_t start_of(std::size_t b) noexcept {
        if (b > kGrowing) {
            return (b - kGrowing) << kPerBlockShift;
        }
        return b == 0 ? 0 : kFirst << (b - 1);
    }
    [[nodiscard]] static std::size_t capacity_of(std::size_t b) noexcept {
        return start_of(b + 1) - start_of(b);
    }

    static V* allocate(std::size_t b) {
        const std::size_t bytes = capacity_of(b) * sizeof(V);
        void* block = nullptr;
        if (b > kGrowing) {
            block = std::aligned_alloc(kBlockBytes, kBlockBytes);
            if (block != nullptr) {
                ::madvise(block, kBlockBytes, MADV_HUGEPAGE);  // a hint: fine if refused
            }
        } else {
            constexpr std::size_t align = std::max(alignof(V), alignof(std::max_align_t));
            block = std::aligned_alloc(align, (bytes + align - 1) / align * align);
        }
        if (block == nullptr) {
            throw std::bad_alloc();
        }
        return static_cast<V*>(block);
    }

    std::vector<V*> blocks_;
    std::size_t size_ = 0;
};

template <typename V>
class FlowTable {
  public:
    FlowTable() : slots_(kMinSlots) {}

    [[nodiscard]] static std::uint64_t hash(const FlowKey& k) noexcept { return FlowKeyHash{}(k); }

    [[nodiscard]] V* find(const FlowKey& k) noexcept { return find(k, hash(k)); }
    /// The same with k's hash already computed (the caller inserts with it when k is absent).
    [[nodiscard]] V* find(const FlowKey& k, std::uint64_t h) noexcept {
        return const_cast<V*>(std::as_const(*this).find(k, h));
    }
    [[nodiscard]] const V* find(const FlowKey& k, std::uint64_t h) const noexcept {
        const std::uint32_t tag = tag_of(h);
        for (std::size_t i = tag & mask(); slots_[i].ref != 0; i = (i + 1) & mask()) {
            if (slots_[i].tag == tag) {
                const V* v = value_of(slots_[i]);
                if (v->key == k) {
                    return v;
                }
            }
        }
        return nullptr;
    }

    /// Starts loading what find(k, h) reads first: k's home slot and the first `lines` cache
    /// lines of the value there (k's, unless another one took its slot).
    void prefetch(std::uint64_t h, std::size_t lines = 2) const noexcept {
        const Slot& s = slots_[tag_of(h) & mask()];
        if (s.ref != 0) {
            const auto* f = reinterpret_cast<const char*>(value_of(s));
            for (std::size_t i = 0; i < lines; ++i) {
                prefetch_line(f + 64 * i);
            }
        }
    }

    /// Starts loading k's home slot only: unlike prefetch(), reads nothing, so never waits.
    void prefetch_slot(std::uint64_t h) const noexcept {
        prefetch_line(&slots_[tag_of(h) & mask()]);
    }

    /// Adds a value for k, which must be absent. Throws std::bad_alloc with the table unchanged.
    V& insert(const FlowKey& k, std::uint64_t h) {
        if (2 * (live_ + 1) > slots_.size()) {
            rehash(2 * slots_.size());
        }
        if (free_.capacity() < values_.size() + 1) {
            free_.reserve(2 * (values_.size() + 1));  // erase() then never allocates
        }
        std::uint32_t ref = 0;
        if (!free_.empty()) {
            ref = free_.back();
            free_.pop_back();
        } else {
            if (values_.size() >= std::numeric_limits<std::uint32_t>::max()) {
                throw std::bad_alloc();  // a Slot::ref has 32 bits
            }
            values_.emplace_back();
            ref = static_cast<std::uint32_t>(values_.size());
        }
        V* v = &values_[ref - 1];
        v->key = k;
        v->live = true;
        place(Slot{.tag = tag_of(h), .ref = ref});
        link_newest(*v);
        ++live_;
        return *v;
    }

    /// The value queued longest ago (nullptr when the table is empty).
    [[nodiscard]] V* oldest() const noexcept { return oldest_; }
    /// Moves v (a value of this table) to the newest end of the queue.
    void requeue(V& v) noexcept {
        if (newest_ != &v) {
            unlink(v);
            link_newest(v);
        }
    }

    /// Removes v (a value of this table): its slot is closed up by backward shifting.
    void erase(V& v) noexcept {
        const std::uint32_t tag = tag_of(hash(v.key));
        std::size_t i = tag & mask();
        while (value_of(slots_[i]) != &v) {
            i = (i + 1) & mask();
        }
        const std::uint32_t ref = slots_[i].ref;
        for (std::size_t j = (i + 1) & mask(); slots_[j].ref != 0; j = (j + 1) & mask()) {
            const std::size_t home = slots_[j].tag & mask();
            // Entry j may move into the hole at i unless its home lies cyclically in (i, j].
            const bool stays = i <= j ? (i < home && home <= j) : (i < home || home <= j);
            if (!stays) {
                slots_[i] = slots_[j];
                i = j;
            }
        }
        slots_[i] = Slot{};
        unlink(v);
        v = V{};               // releases what it owns
        free_.push_back(ref);  // within the capacity insert() reserved
        --live_;
    }

    [[nodiscard]] std::size_t size() const noexcept { return live_; }

    /// The longest distance from a value's home slot to its slot: the most slots a lookup of a
    /// present key reads (a measure of how keys spread; walks the whole table).
    [[nodiscard]] std::size_t longest_probe() const noexcept {
        std::size_t longest = 0;
        for (std::size_t i = 0; i < slots_.size(); ++i) {
            if (slots_[i].ref != 0) {
                longest = std::max(longest, (i - (slots_[i].tag & mask())) & mask());
            }
        }
        return longest;
    }

    /// A stable number for v while it is in the table (below capacity()), for side stores.
    [[nodiscard]] std::size_t index_of(const V& v) const noexcept { return values_.index_of(v); }
    /// One more than the largest index_of() so far.
    [[nodiscard]] std::size_t capacity() const noexcept { return values_.size(); }
    /// The value with index_of() == i (i < capacity()); live tells whether it is in use.
    [[nodiscard]] V& at(std::size_t i) noexcept { return values_[i]; }

    /// Calls fn(V&) for every live value (fn must not insert or erase).
    template <typename Fn>
    void for_each(Fn&& fn) {
        for (std::size_t i = 0; i < values_.size(); ++i) {
            if (values_[i].live) {
                fn(values_[i]);
            }
        }
    }

    void clear() {
        values_.clear();
        free_.clear();
        slots_.assign(kMinSlots, Slot{});
        oldest_ = newest_ = nullptr;
        live_ = 0;
    }

  private:
    // Eight bytes, eight to a cache line: a value's index (+ 1) in values_, not its address.
    struct Slot {
        std::uint32_t tag = 0;  // the hash's high half; its low bits pick the home slot
        std::uint32_t ref = 0;  // index in values_ + 1; 0: the slot is empty
    };
    static constexpr std::size_t kMinSlots = 1024;  // a power of two

    static std::uint32_t tag_of(std::uint64_t h) noexcept {
        return static_cast<std::uint32_t>(h >> 32);
    }
    [[nodiscard]] std::size_t mask() const noexcept { return slots_.size() - 1; }
    [[nodiscard]] V* value_of(const Slot& s) const noexcept {
        return const_cast<V*>(&values_[s.ref - 1]);
    }

    void place(Slot s) noexcept {
        std::size_t i = s.tag & mask();
        while (slots_[i].ref != 0) {
            i = (i + 1) & mask();
        }
        slots_[i] = s;
    }

    void link_newest(V& v) noexcept {
        v.older = newest_;
        v.newer = nullptr;
        (newest_ != nullptr ? newest_->newer : oldest_) = &v;
        newest_ = &v;
    }

    void unlink(V& v) noexcept {
        (v.older != nullptr ? v.older->newer : oldest_) = v.newer;
        (v.newer != nullptr ? v.newer->older : newest_) = v.older;
        v.older = v.newer = nullptr;
    }

    void rehash(std::size_t n) {
        std::vector<Slot> old(n);
        old.swap(slots_);
        for (const Slot& s : old) {
            if (s.ref != 0) {
                place(s);
            }
        }
    }

    std::vector<Slot> slots_;
    FlowStore<V> values_;
    std::vector<std::uint32_t> free_;  // erased values of values_ (their Slot::ref), to reuse
    V* oldest_ = nullptr;              // the queue's ends
    V* newest_ = nullptr;
    std::size_t live_ = 0;
};

}  // namespace vxcheck::track

#pragma once
// A bounded table of the most recent entries by key, for the RPC analyzer's cross-connection
// facts (earlier copies of a call, later answers; private to src/analyze).
//
// Rules:
// - Open addressing in groups of kWays slots: a key lives in the group its hash names, so a
//   lookup reads one group (a few cache lines) whatever the table holds.
// - The table never grows past its capacity. A new key in a full group takes the slot used least
//   recently (in the order of use, which is capture order), and that eviction is counted: the
//   rules then miss only facts older than everything else in the group, never the newest ones.
// - Storage is allocated at the first insert, a few groups, and grows with use up to the
//   capacity (std::bad_alloc may escape an insert that grows it): a new key in a full group of a
//   table below its capacity doubles the groups instead of evicting. A key's group is the low
//   bits of its hash, so each group of the smaller table holds exactly the keys of the groups of
//   the full-size table that share those bits; a table that never evicted holds every key, as
//   the full-size one would (a group of that one is full only after its group here was), and one
//   at its capacity is that table. What the table finds and forgets is the same as if it had
//   been taken whole at the start; an analysis with few calls (a short capture, a fuzz input)
//   does not allocate and zero the whole of it.

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <utility>

#include "vxcheck/frame.h"
#include "vxcheck/prefetch.h"
#include "vxcheck/track/flow_key.h"
#include "vxcheck/track/siphash.h"
#include "zeroed_table.h"

namespace vxcheck::analyze::rpc_state {

/// The key of the tables' hashes. Which entry a full group forgets depends on the hashes, and
/// the report counts what was forgotten and misses what it would have matched, so the key is
/// fixed: the same capture gives the same report in every run (the process's random flow-hash
/// key, used here before, made it differ from run to run). Clients choose their XIDs and
/// ports, so one who knows this key can aim keys at one group and push the other entries of
/// that group out; that costs at most a group's kWays entries at a time, is counted
/// (rpc_calls_forgotten), and a lookup still reads one group.
inline constexpr track::SipKey kRecentKey{.k0 = 0x736f6d6570736575ULL, .k1 = 0x646f72616e646f6dULL};

/// 64-bit hash of a byte array key under kRecentKey (SipHash-1-3).
template <std::size_t N>
std::uint64_t hash_bytes(const std::array<std::uint8_t, N>& k) noexcept {
    return track::siphash<1, 3>(kRecentKey, k.data(), N);
}

/// A byte array key's hash: hash_bytes(). A key type of its own may carry one (CallKey).
template <std::size_t N>
[[nodiscard]] std::uint64_t hash_of(const std::array<std::uint8_t, N>& k) noexcept {
    return hash_bytes(k);
}

template <typename Key, typename Value>
class RecentTable {
  public:
    static constexpr std::size_t kWays = 8;
    /// Groups taken at the first insert (fewer when the capacity is smaller).
    static constexpr std::size_t kFirstGroups = 16;

    /// `capacity`: entries at most, a power of two and a multiple of kWays.
    explicit RecentTable(std::size_t capacity) noexcept : capacity_(capacity) {}

    /// The value of `k`, or nullptr.
    [[nodiscard]] const Value* find(const Key& k) const noexcept {
        if (groups_.empty()) {
            return nullptr;
        }
        const Probe p = probe(k);
        const Group& g = groups_[p.group];
        for (std::size_t i = 0; i < kWays; ++i) {
            if (g.tags[i] == p.tag && g.slots[i].key == k) {
                return &g.slots[i].value;
            }
        }
        return nullptr;
    }

    /// The value of `k`, used now: the existing one, or a new Value{} (`inserted` set) in a
    /// free slot or in the group's least recently used one (counted in evicted()).
    Value& upsert(const Key& k, bool& inserted) {
        if (groups_.empty()) {
            groups_.assign_zero(std::min(kFirstGroups, capacity_ / kWays));
        }
        const std::uint32_t now = ++clock_;
        Probe p = probe(k);
        std::size_t victim = 0;
        bool free = false;
        while (true) {
            Group& g = groups_[p.group];
            std::uint32_t oldest = 0;  // age of the victim (now - used); free slots come first
            for (std::size_t i = 0; i < kWays; ++i) {
                if (g.tags[i] == p.tag && g.slots[i].key == k) {
                    g.used[i] = now;
                    inserted = false;
                    return g.slots[i].value;
                }
                if (free) {
                    continue;
                }
                if (g.tags[i] == 0) {
                    victim = i;
                    free = true;
                } else if (const std::uint32_t age = now - g.used[i]; age > oldest) {
                    victim = i;
                    oldest = age;
                }
            }
            if (free || groups_.size() == capacity_ / kWays) {
                break;
            }
            grow();  // a new key, its group full: no eviction below the capacity
            p = probe(k);
            victim = 0;
        }
        Group& g = groups_[p.group];
        if (free) {
            ++size_;
        } else {
            ++evicted_;
        }
        g.tags[victim] = p.tag;
        g.used[victim] = now;
        g.slots[victim] = Slot{.key = k, .value = Value{}};
        inserted = true;
        return g.slots[victim].value;
    }

    /// A hint: starts loading the tags of `k`'s group (nothing before the first insert). The
    /// hash is kept for the find() or upsert() of the same key that follows.
    void prefetch(const Key& k) const noexcept {
        if (!groups_.empty()) {
            prefetch_line(&groups_[probe(k).group]);
        }
    }

    [[nodiscard]] std::size_t size() const noexcept { return size_; }
    [[nodiscard]] std::uint64_t evicted() const noexcept { return evicted_; }

  private:
    struct Slot {
        Key key{};
        Value value{};
    };
    // A group's first cache line holds a tag per slot (32 bits of the key's hash, never 0; 0 is
    // a free slot) and when each slot was last used (clock_, which wraps: ages are differences),
    // so a lookup reads that line and the slot whose tag matches, not every slot's key.
    struct alignas(64) Group {
        std::array<std::uint32_t, kWays> tags{};
        std::array<std::uint32_t, kWays> used{};
        std::array<Slot, kWays> slots{};
    };
    static_assert(2 * kWays * sizeof(std::uint32_t) <= 64, "the tags and ages fill one line");
    struct Probe {
        std::size_t group = 0;
        std::uint32_t tag = 0;
    };

    // The key's group and tag; the last key's are kept, so the prefetch() before a find() or
    // upsert() of the same key hashes it once.
    [[nodiscard]] Probe probe(const Key& k) const noexcept {
        if (!(last_valid_ && last_key_ == k)) {
            const std::uint64_t h = hash_of(k);
            last_key_ = k;
            last_probe_ = {.group = static_cast<std::size_t>(h) & (groups_.size() - 1),
                           .tag = static_cast<std::uint32_t>(h >> 32) | 1U};
            last_valid_ = true;
        }
        return last_probe_;
    }

    // Twice the groups, every entry moved to its group there with its tag and time of use (a
    // group of the old table splits in two: none overflows). On bad_alloc the entries stay as
    // they were.
    void grow() {
        ZeroedTable<Group> bigger;
        bigger.assign_zero(groups_.size() * 2);
        const std::size_t mask = bigger.size() - 1;
        for (const Group& old : groups_) {
            for (std::size_t i = 0; i < kWays; ++i) {
                if (old.tags[i] == 0) {
                    continue;
                }
                Group& to = bigger[static_cast<std::size_t>(hash_of(old.slots[i].key)) & mask];
                std::size_t j = 0;
                while (to.tags[j] != 0) {
                    ++j;
                }
                to.tags[j] = old.tags[i];
                to.used[j] = old.used[i];
                to.slots[j] = old.slots[i];
            }
        }
        groups_ = std::move(bigger);
        last_valid_ = false;  // the cached probe names a group of the old table
    }

    std::size_t capacity_;
    ZeroedTable<Group> groups_;  // calloc's: a large one costs only the pages it uses
    std::size_t size_ = 0;
    std::uint64_t evicted_ = 0;
    std::uint32_t clock_ = 0;
    mutable Key last_key_{};
    mutable Probe last_probe_;
    mutable bool last_valid_ = false;
};

}  // namespace vxcheck::analyze::rpc_state

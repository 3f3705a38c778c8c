#pragma once
// A bounded table of the most recent entries by key, for the RPC analyzer's cross-connection
// facts (earlier copies of a call, later answers; private to src/analyze).
//
// Rules:
// - Open addressing in groups of kWays slots: a key lives in the group its hash names, so a
//   lookup reads one group (a few cache lines) whatever the table holds.
// - The table never grows past its capacity. A new key in a full group takes the slot used least
//   recently (by capture time), and that eviction is counted: the rules then miss only facts
//   older than everything else in the group, never the newest ones.
// - Storage is allocated at the first insert (std::bad_alloc may escape it), never again.

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "vxcheck/frame.h"
#include "vxcheck/prefetch.h"
#include "vxcheck/track/flow_key.h"
#include "vxcheck/track/siphash.h"

namespace vxcheck::analyze::rpc_state {

/// 64-bit hash of a byte array key under the process's random flow-hash key (SipHash-1-3):
/// clients choose their XIDs and ports, so an unkeyed hash would let them aim keys at one group
/// and push other connections' facts out of it.
template <std::size_t N>
std::uint64_t hash_bytes(const std::array<std::uint8_t, N>& k) noexcept {
    return track::siphash<1, 3>(track::flow_hash_key(), k.data(), N);
}

template <typename Key, typename Value>
class RecentTable {
  public:
    static constexpr std::size_t kWays = 8;

    /// `capacity`: entries at most, a power of two and a multiple of kWays.
    explicit RecentTable(std::size_t capacity) noexcept : capacity_(capacity) {}

    /// The value of `k`, or nullptr.
    [[nodiscard]] const Value* find(const Key& k) const noexcept {
        if (slots_.empty()) {
            return nullptr;
        }
        const Slot* g = group(k);
        for (std::size_t i = 0; i < kWays; ++i) {
            if (g[i].live && g[i].key == k) {
                return &g[i].value;
            }
        }
        return nullptr;
    }

    /// The value of `k`, used at `now`: the existing one, or a new Value{} (`inserted` set)
    /// in a free slot or in the group's least recently used one (counted in evicted()).
    Value& upsert(const Key& k, Timestamp now, bool& inserted) {
        if (slots_.empty()) {
            slots_.resize(capacity_);
        }
        Slot* g = group(k);
        Slot* victim = nullptr;
        for (std::size_t i = 0; i < kWays; ++i) {
            Slot& s = g[i];
            if (s.live && s.key == k) {
                s.used = now;
                inserted = false;
                return s.value;
            }
            if (victim == nullptr || (victim->live && (!s.live || s.used < victim->used))) {
                victim = &s;
            }
        }
        if (victim->live) {
            ++evicted_;
        } else {
            ++size_;
        }
        *victim = Slot{.key = k, .value = Value{}, .used = now, .live = true};
        inserted = true;
        return victim->value;
    }

    /// A hint: starts loading the group of `k` (nothing before the first insert).
    void prefetch(const Key& k) const noexcept {
        if (!slots_.empty()) {
            const auto* g = reinterpret_cast<const char*>(group(k));
            for (std::size_t off = 0; off < kWays * sizeof(Slot); off += 64) {
                prefetch_line(g + off);
            }
        }
    }

    [[nodiscard]] std::size_t size() const noexcept { return size_; }
    [[nodiscard]] std::uint64_t evicted() const noexcept { return evicted_; }

  private:
    struct Slot {
        Key key{};
        Value value{};
        Timestamp used;
        bool live = false;
    };

    [[nodiscard]] std::size_t group_index(const Key& k) const noexcept {
        return static_cast<std::size_t>(hash_bytes(k)) & (capacity_ / kWays - 1);
    }
    Slot* group(const Key& k) noexcept { return &slots_[group_index(k) * kWays]; }
    const Slot* group(const Key& k) const noexcept { return &slots_[group_index(k) * kWays]; }

    std::size_t capacity_;
    std::vector<Slot> slots_;
    std::size_t size_ = 0;
    std::uint64_t evicted_ = 0;
};

}  // namespace vxcheck::analyze::rpc_state

// VTEP checksum-mode learning: see vtep_modes.h.

#include "vtep_modes.h"

#include <algorithm>

#include "vxcheck/analyze/keyed_hash.h"

namespace vxcheck::analyze {

VtepModes::VtepModes(std::size_t max_pairs)
    : max_pairs_(std::max<std::size_t>(1, std::min<std::size_t>(max_pairs, kNone / 4))) {}

void VtepModes::learn(const decode::DecodedPacket& pkt, const verify::Verdicts& verdicts,
                      const PacketDigest& d) {
    if (d.vteps_complete) {
        for (std::size_t i = 0; i < d.vtep_count; ++i) {
            Pair& p = pair_of_v4(d.vteps[i].pair);
            ++(d.vteps[i].zero ? p.zero : p.full);
        }
        return;
    }
    for_each_vtep_sighting(pkt, verdicts, [this](const decode::Layer& ip, bool zero) {
        Pair& p = pair_of(ip);
        ++(zero ? p.zero : p.full);
    });
}

VtepMode VtepModes::mode_of(const track::Endpoint& src, const track::Endpoint& dst) const {
    const std::uint32_t i = find(src, dst, hash_of(src, dst));
    if (i == kNone) {
        return VtepMode::Unknown;
    }
    return vtep_mode(pairs_[i].zero, pairs_[i].full);
}

std::vector<track::Endpoint> VtepModes::zero_sources_to(const track::Endpoint& dst,
                                                        std::uint16_t sum) const {
    std::vector<std::uint32_t> found;
    if (!by_sum_.empty()) {
        const std::uint64_t h = sum_hash_of(dst, sum);
        const std::size_t mask = by_sum_.size() - 1;
        for (std::size_t s = h & mask; by_sum_[s] != kNone; s = (s + 1) & mask) {
            const Pair& p = pairs_[by_sum_[s]];
            if (p.sum_hash == h && p.dst.v6 == dst.v6 && p.dst.addr == dst.addr &&
                address_word_sum(p.src) == sum && vtep_mode(p.zero, p.full) == VtepMode::Zero) {
                found.push_back(by_sum_[s]);
            }
        }
    }
    std::sort(found.begin(), found.end());  // the table's order, not the probe's
    std::vector<track::Endpoint> out;
    out.reserve(found.size());
    for (const std::uint32_t i : found) {
        out.push_back(pairs_[i].src);
    }
    return out;
}

VtepModes::Pair& VtepModes::pair_of(const decode::Layer& ip) {
    const auto* v4 = ip.as<decode::Ipv4Info>();
    if (v4 == nullptr) {
        return pair_of(track::source_of(ip, 0), track::destination_of(ip, 0));
    }
    return pair_of_v4((std::uint64_t{v4->src} << 32) | v4->dst);
}

// An IPv4 pair as (src << 32 | dst).
VtepModes::Pair& VtepModes::pair_of_v4(std::uint64_t pair) {
    CacheSlot& slot = cache_[(pair * 0x9e3779b97f4a7c15ULL) >> (64 - kCacheBits)];
    if (slot.index != kNone && slot.key == pair) {
        Pair& p = pairs_[slot.index];
        if (p.is_v4 && p.v4 == pair) {
            p.recent = true;
            return p;
        }
    }
    Pair& p = pair_of(track::ipv4_endpoint(static_cast<std::uint32_t>(pair >> 32), 0),
                      track::ipv4_endpoint(static_cast<std::uint32_t>(pair), 0));
    p.is_v4 = true;
    p.v4 = pair;
    // The slot changes only once the entry exists (the table may fail to grow).
    slot.key = pair;
    slot.index = static_cast<std::uint32_t>(&p - pairs_.data());
    return p;
}

// The pair's entry, made (in place of the one the clock hand picks, when the table is full) if
// there is none.
VtepModes::Pair& VtepModes::pair_of(const track::Endpoint& src, const track::Endpoint& dst) {
    const std::uint64_t h = hash_of(src, dst);
    std::uint32_t i = find(src, dst, h);
    if (i == kNone) {
        i = take_slot();
        pairs_[i] = Pair{
            .src = src, .dst = dst, .hash = h, .sum_hash = sum_hash_of(dst, address_word_sum(src))};
        index_insert(index_, &Pair::hash, i);
        index_insert(by_sum_, &Pair::sum_hash, i);
    }
    pairs_[i].recent = true;
    return pairs_[i];
}

std::uint64_t VtepModes::hash_of(const track::Endpoint& src,
                                 const track::Endpoint& dst) const noexcept {
    return keyed_pair_hash(src, dst);
}

// The destination's address and family, and the sum in the port's place, salted apart from
// hash_of()'s pairs.
std::uint64_t VtepModes::sum_hash_of(const track::Endpoint& dst, std::uint16_t sum) noexcept {
    track::Endpoint at = dst;
    at.port = 0;
    track::Endpoint key;
    key.port = sum;
    return keyed_pair_hash(at, key, 1);
}

std::uint32_t VtepModes::find(const track::Endpoint& src, const track::Endpoint& dst,
                              std::uint64_t h) const noexcept {
    if (index_.empty()) {
        return kNone;
    }
    const std::size_t mask = index_.size() - 1;
    for (std::size_t s = h & mask;; s = (s + 1) & mask) {
        const std::uint32_t i = index_[s];
        if (i == kNone) {
            return kNone;
        }
        const Pair& p = pairs_[i];
        if (p.hash == h && p.src == src && p.dst == dst) {
            return i;
        }
    }
}

// An entry for a new pair: a new one while the table is below its bound, else the first one
// the clock hand finds not used since it last passed (clearing the marks it passes).
std::uint32_t VtepModes::take_slot() {
    if (pairs_.size() < max_pairs_) {
        if (2 * (pairs_.size() + 1) > index_.size()) {
            grow_index();
        }
        if (pairs_.size() == pairs_.capacity()) {  // never beyond the bound
            pairs_.reserve(std::min(max_pairs_, std::max<std::size_t>(64, 2 * pairs_.size())));
        }
        pairs_.emplace_back();
        return static_cast<std::uint32_t>(pairs_.size() - 1);
    }
    while (pairs_[hand_].recent) {
        pairs_[hand_].recent = false;
        hand_ = (hand_ + 1) % pairs_.size();
    }
    const auto victim = static_cast<std::uint32_t>(hand_);
    hand_ = (hand_ + 1) % pairs_.size();
    index_erase(index_, &Pair::hash, victim);
    index_erase(by_sum_, &Pair::sum_hash, victim);
    ++evicted_;
    return victim;
}

void VtepModes::index_insert(std::vector<std::uint32_t>& index, Key key,
                             std::uint32_t entry) noexcept {
    const std::size_t mask = index.size() - 1;
    std::size_t s = pairs_[entry].*key & mask;
    while (index[s] != kNone) {
        s = (s + 1) & mask;
    }
    index[s] = entry;
}

// Removes an entry from an index by backward shift (linear probing keeps no tombstones).
void VtepModes::index_erase(std::vector<std::uint32_t>& index, Key key,
                            std::uint32_t entry) noexcept {
    const std::size_t mask = index.size() - 1;
    std::size_t hole = pairs_[entry].*key & mask;
    while (index[hole] != entry) {
        hole = (hole + 1) & mask;
    }
    for (std::size_t s = (hole + 1) & mask; index[s] != kNone; s = (s + 1) & mask) {
        const std::size_t home = pairs_[index[s]].*key & mask;
        // The entry at s may fill the hole if its home is not in (hole, s] (cyclically).
        if (((s - home) & mask) >= ((s - hole) & mask)) {
            index[hole] = index[s];
            hole = s;
        }
    }
    index[hole] = kNone;
}

void VtepModes::grow_index() {
    const std::size_t size = index_.empty() ? 64 : 2 * index_.size();
    std::vector<std::uint32_t> bigger(size, kNone);
    std::vector<std::uint32_t> bigger_by_sum(size, kNone);  // both made before either changes
    index_.swap(bigger);
    by_sum_.swap(bigger_by_sum);
    for (std::uint32_t i = 0; i < pairs_.size(); ++i) {
        index_insert(index_, &Pair::hash, i);
        index_insert(by_sum_, &Pair::sum_hash, i);
    }
}

}  // namespace vxcheck::analyze

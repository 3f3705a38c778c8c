#pragma once
// VTEP checksum-mode learning (domain spec 2.4): a VTEP pair sends zero outer UDP checksums or
// full ones; which one decides whether a bad outer checksum is variant A or B.

#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "vxcheck/analyze/connections.h"
#include "vxcheck/analyze/rules.h"

namespace vxcheck::analyze {

/// Calls fn(outer_ip, zero) for every VXLAN/Geneve tunnel of `pkt`, outermost first, whose outer
/// UDP checksum shows its VTEP pair's mode: zero checksums, or full ones (ok or partial).
/// outer_ip is the IP layer that carries the tunnel.
template <typename Fn>
void for_each_vtep_sighting(const decode::DecodedPacket& pkt, const verify::Verdicts& verdicts,
                            Fn&& fn) {
    const auto layers = pkt.layers();
    for (std::size_t i = 0; i + 1 < layers.size(); ++i) {
        if (layers[i].proto != decode::Proto::Udp ||
            (layers[i + 1].proto != decode::Proto::Vxlan &&
             layers[i + 1].proto != decode::Proto::Geneve)) {
            continue;
        }
        const verify::Verdict* v = verdicts.for_layer(i);
        const int ip = pkt.enclosing_ip(i);
        bool zero = false;
        if (v != nullptr && ip >= 0 && shows_vtep_mode(*v, zero)) {
            fn(layers[static_cast<std::size_t>(ip)], zero);
        }
    }
}

/// The modes of at most `max_pairs` VTEP pairs (ConnectionOptions::max_vtep_pairs), in a flat
/// table: the outer addresses of a tunnel are chosen by whoever sends it, so the table is
/// bounded, and a new pair beyond the bound replaces one not used since the clock hand last
/// passed it (CLOCK, an approximation of least recently used; amortised O(1)). A replaced pair's
/// counts are lost (counted: evicted()); its mode is Unknown until it is seen again. The index is
/// hashed with a per-process random key, so that no one can aim pairs at one chain.
class VtepModes {
  public:
    explicit VtepModes(std::size_t max_pairs);

    /// Counts the modes a packet shows: from its digest, or its layers when the digest is
    /// incomplete (an IPv6 or nested VTEP).
    void learn(const decode::DecodedPacket& pkt, const verify::Verdicts& verdicts,
               const PacketDigest& d);
    /// The pair's mode by majority; Unknown on a tie or when never seen (or evicted).
    [[nodiscard]] VtepMode mode_of(const track::Endpoint& src, const track::Endpoint& dst) const;

    /// The sources whose address_word_sum() is `sum` of the remembered pairs to `dst` (address
    /// alone) that send zero checksums, in the table's order: the addresses a NAT that rewrote a
    /// source address may have started from (rewritten_source_sum()). Found through an index by
    /// (dst, sum), not by a walk of the table: a capture can make every connection ask.
    [[nodiscard]] std::vector<track::Endpoint> zero_sources_to(const track::Endpoint& dst,
                                                               std::uint16_t sum) const;

    /// Pairs remembered now (at most max_pairs) and pairs replaced by newer ones so far.
    [[nodiscard]] std::size_t size() const noexcept { return pairs_.size(); }
    [[nodiscard]] std::uint64_t evicted() const noexcept { return evicted_; }

  private:
    struct Pair {
        track::Endpoint src;
        track::Endpoint dst;
        std::uint64_t zero = 0;
        std::uint64_t full = 0;
        std::uint64_t hash = 0;
        std::uint64_t sum_hash = 0;  // sum_hash_of(dst, address_word_sum(src)), for by_sum_
        std::uint64_t v4 = 0;        // (src << 32 | dst) when is_v4, for the cache
        bool is_v4 = false;
        bool recent = false;  // used since the clock hand last passed
    };
    struct CacheSlot {
        std::uint64_t key = 0;
        std::uint32_t index = kNone;
    };
    static constexpr std::uint32_t kNone = ~std::uint32_t{0};
    static constexpr unsigned kCacheBits = 8;

    Pair& pair_of(const decode::Layer& ip);
    Pair& pair_of_v4(std::uint64_t pair);
    Pair& pair_of(const track::Endpoint& src, const track::Endpoint& dst);
    [[nodiscard]] std::uint64_t hash_of(const track::Endpoint& src,
                                        const track::Endpoint& dst) const noexcept;
    [[nodiscard]] static std::uint64_t sum_hash_of(const track::Endpoint& dst,
                                                   std::uint16_t sum) noexcept;
    [[nodiscard]] std::uint32_t find(const track::Endpoint& src, const track::Endpoint& dst,
                                     std::uint64_t h) const noexcept;
    std::uint32_t take_slot();
    // An open-addressing index into pairs_ (linear probing), by the Pair field `key`: index_
    // by Pair::hash, by_sum_ by Pair::sum_hash. Both have the same size and entries.
    using Key = std::uint64_t Pair::*;
    void index_insert(std::vector<std::uint32_t>& index, Key key, std::uint32_t entry) noexcept;
    void index_erase(std::vector<std::uint32_t>& index, Key key, std::uint32_t entry) noexcept;
    void grow_index();

    std::size_t max_pairs_;
    std::vector<Pair> pairs_;            // at most max_pairs_
    std::vector<std::uint32_t> index_;   // by Pair::hash
    std::vector<std::uint32_t> by_sum_;  // by Pair::sum_hash (zero_sources_to)
    std::size_t hand_ = 0;               // the clock hand over pairs_
    std::uint64_t evicted_ = 0;
    // Every tunnelled packet needs its pair's counters, and a node has few VTEP peers: IPv4
    // pairs are remembered in a small direct-mapped cache in front of the table, which saves a
    // hash and a probe of 40-byte keys per packet. A slot is checked against the entry it names
    // (a replaced entry no longer matches).
    std::array<CacheSlot, std::size_t{1} << kCacheBits> cache_{};
};

}  // namespace vxcheck::analyze

#pragma once
// VTEP checksum-mode learning (domain spec 2.4): a VTEP pair sends zero outer UDP checksums or
// full ones; which one decides whether a bad outer checksum is variant A or B.

#include <array>
#include <cstdint>
#include <map>
#include <utility>

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

class VtepModes {
  public:
    /// Counts the modes a packet shows: from its digest, or its layers when the digest is
    /// incomplete (an IPv6 or nested VTEP).
    void learn(const decode::DecodedPacket& pkt, const verify::Verdicts& verdicts,
               const PacketDigest& d);
    /// The pair's mode by majority; Unknown on a tie or when never seen.
    [[nodiscard]] VtepMode mode_of(const track::Endpoint& src, const track::Endpoint& dst) const;

  private:
    struct PairCounts {
        std::uint64_t zero = 0;
        std::uint64_t full = 0;
    };
    struct CacheSlot {
        std::uint64_t key = 0;
        PairCounts* counts = nullptr;  // a node of pairs_
    };
    static constexpr unsigned kCacheBits = 8;

    PairCounts& counts_of(const decode::Layer& ip);
    PairCounts& counts_of_v4(std::uint64_t pair);

    std::map<std::pair<track::Endpoint, track::Endpoint>, PairCounts> pairs_;
    // Every tunnelled packet needs its pair's counters, and a node has few VTEP peers: IPv4
    // pairs are remembered in a small direct-mapped cache in front of the map (whose nodes never
    // move), which saves a tree walk of 16-byte address comparisons per packet.
    std::array<CacheSlot, std::size_t{1} << kCacheBits> cache_{};
};

}  // namespace vxcheck::analyze

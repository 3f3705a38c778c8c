// VTEP checksum-mode learning: see vtep_modes.h.

#include "vtep_modes.h"

namespace vxcheck::analyze {

void VtepModes::learn(const decode::DecodedPacket& pkt, const verify::Verdicts& verdicts,
                      const PacketDigest& d) {
    if (d.vteps_complete) {
        for (std::size_t i = 0; i < d.vtep_count; ++i) {
            PairCounts& counts = counts_of_v4(d.vteps[i].pair);
            ++(d.vteps[i].zero ? counts.zero : counts.full);
        }
        return;
    }
    for_each_vtep_sighting(pkt, verdicts, [this](const decode::Layer& ip, bool zero) {
        PairCounts& counts = counts_of(ip);
        ++(zero ? counts.zero : counts.full);
    });
}

VtepMode VtepModes::mode_of(const track::Endpoint& src, const track::Endpoint& dst) const {
    const auto it = pairs_.find({src, dst});
    if (it == pairs_.end()) {
        return VtepMode::Unknown;
    }
    return vtep_mode(it->second.zero, it->second.full);
}

VtepModes::PairCounts& VtepModes::counts_of(const decode::Layer& ip) {
    const auto* v4 = ip.as<decode::Ipv4Info>();
    if (v4 == nullptr) {
        return pairs_[{track::source_of(ip, 0), track::destination_of(ip, 0)}];
    }
    return counts_of_v4((std::uint64_t{v4->src} << 32) | v4->dst);
}

// An IPv4 pair as (src << 32 | dst).
VtepModes::PairCounts& VtepModes::counts_of_v4(std::uint64_t pair) {
    CacheSlot& slot = cache_[(pair * 0x9e3779b97f4a7c15ULL) >> (64 - kCacheBits)];
    if (slot.counts == nullptr || slot.key != pair) {
        // The slot changes only once the node exists (the map may fail to allocate it).
        slot.counts = &pairs_[{track::ipv4_endpoint(static_cast<std::uint32_t>(pair >> 32), 0),
                               track::ipv4_endpoint(static_cast<std::uint32_t>(pair), 0)}];
        slot.key = pair;
    }
    return *slot.counts;
}

}  // namespace vxcheck::analyze

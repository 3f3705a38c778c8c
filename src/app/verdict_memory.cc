// The verdicts already counted per connection: see verdict_memory.h.

#include "verdict_memory.h"

#include <algorithm>

#include "vxcheck/analyze/keyed_hash.h"

namespace vxcheck::app {

VerdictMemory::VerdictMemory(std::size_t capacity)
    : capacity_(std::max<std::size_t>(1, capacity)) {}

std::uint64_t VerdictMemory::key_of(const analyze::ConnectionReport& c) const noexcept {
    return analyze::keyed_pair_hash(c.client, c.server, static_cast<std::uint64_t>(c.transport));
}

std::uint32_t VerdictMemory::gained(const analyze::ConnectionReport& c) {
    std::uint32_t bits = 0;
    for (const analyze::Verdict v : c.verdicts) {
        bits |= 1U << static_cast<unsigned>(v);
    }
    const std::uint64_t k = key_of(c);
    if (const auto it = seen_.find(k); it != seen_.end()) {
        const std::uint32_t fresh = bits & ~it->second;
        it->second |= bits;
        return fresh;
    }
    if ((bits & ~(1U << static_cast<unsigned>(analyze::Verdict::Clean))) == 0) {
        return bits;
    }
    if (seen_.size() >= capacity_) {
        seen_.erase(order_.front());
        order_.pop_front();
        ++evicted_;
    }
    order_.push_back(k);
    try {
        seen_.emplace(k, bits);
    } catch (...) {
        order_.pop_back();
        throw;
    }
    return bits;
}

}  // namespace vxcheck::app

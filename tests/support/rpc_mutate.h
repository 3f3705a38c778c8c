#pragma once
// Test support: random damage to an RPC record (its record mark and message) for the mutation
// tests: bit flips, overwritten bytes, huge length or count words, truncation, inserted words,
// and a record mark that lies about the length or the last-fragment bit.

#include <cstddef>
#include <cstdint>
#include <random>

#include "xdr_builder.h"

namespace vxcheck::test {

/// Applies 1-4 random mutations to `b` (a record: mark first); the mark lies only when
/// `mark_lies` is set.
inline void mutate_record(ByteVec& b, std::mt19937& rng, bool mark_lies = true) {
    std::uniform_int_distribution<int> kind(0, mark_lies ? 5 : 4);
    const int n = 1 + static_cast<int>(rng() % 4);
    for (int i = 0; i < n && !b.empty(); ++i) {
        const std::size_t at = rng() % b.size();
        switch (kind(rng)) {
            case 0:
                b[at] ^= static_cast<std::uint8_t>(1U << (rng() % 8));
                break;
            case 1:
                b[at] = static_cast<std::uint8_t>(rng());
                break;
            case 2:  // a huge length or count word
                b[at & ~std::size_t{3}] = 0xff;
                break;
            case 3:  // truncation
                b.resize(at);
                break;
            case 4:
                b.insert(b.begin() + static_cast<std::ptrdiff_t>(at), 4, 0);
                break;
            default:  // the record mark lies about the length (or the last-fragment bit)
                if (b.size() >= 4) {
                    b[rng() % 4] = static_cast<std::uint8_t>(rng());
                }
                break;
        }
    }
}

}  // namespace vxcheck::test

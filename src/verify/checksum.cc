// RFC 1071 Internet checksum, summed 64 bits at a time. The sum is byte-order independent
// (RFC 1071 2(B)): we add native-endian 64-bit words with end-around carry, fold to 16 bits and
// swap once at the end on little-endian hosts.

#include "vxcheck/verify/checksum.h"

#include <bit>
#include <cstring>

namespace vxcheck::verify {
namespace {

constexpr std::uint16_t swap16(std::uint16_t v) noexcept {
    return static_cast<std::uint16_t>((v << 8) | (v >> 8));
}

inline void add_carry(std::uint64_t& sum, std::uint64_t w) noexcept {
    sum += w;
    sum += static_cast<std::uint64_t>(sum < w);  // end-around carry
}

constexpr std::uint16_t fold64(std::uint64_t sum) noexcept {
    sum = (sum & 0xffffffffU) + (sum >> 32);
    sum = (sum & 0xffffffffU) + (sum >> 32);
    sum = (sum & 0xffffU) + (sum >> 16);
    sum = (sum & 0xffffU) + (sum >> 16);
    return static_cast<std::uint16_t>(sum);
}

// One's-complement sum of n bytes read as native-endian words (odd tail zero-padded).
std::uint16_t native_sum(const std::uint8_t* p, std::size_t n) noexcept {
    std::uint64_t sum = 0;
    while (n >= 32) {
        std::uint64_t w[4];
        std::memcpy(w, p, sizeof w);
        add_carry(sum, w[0]);
        add_carry(sum, w[1]);
        add_carry(sum, w[2]);
        add_carry(sum, w[3]);
        p += 32;
        n -= 32;
    }
    while (n >= 8) {
        std::uint64_t w;
        std::memcpy(&w, p, sizeof w);
        add_carry(sum, w);
        p += 8;
        n -= 8;
    }
    if (n > 0) {
        std::uint64_t w = 0;
        std::memcpy(&w, p, n);  // the tail keeps its byte positions; the pad is zero
        add_carry(sum, w);
    }
    return fold64(sum);
}

}  // namespace

void InternetChecksum::add(Bytes bytes) noexcept {
    std::uint16_t s = native_sum(bytes.data(), bytes.size());
    if constexpr (std::endian::native == std::endian::little) {
        s = swap16(s);
    }
    if (odd_) {
        s = swap16(s);  // this span starts in the low byte of a word: its lanes are swapped
    }
    acc_ += s;
    odd_ = odd_ != ((bytes.size() & 1U) != 0);
}

void InternetChecksum::add_word(std::uint16_t word) noexcept {
    acc_ += word;
}

std::uint16_t InternetChecksum::sum() const noexcept {
    return fold64(acc_);
}

}  // namespace vxcheck::verify

#pragma once
// Zero-copy byte views and big-endian loads. Callers check bounds once per header, then read
// fixed offsets; every load below states its precondition.

#include <cstddef>
#include <cstdint>
#include <span>

namespace vxcheck {

using Bytes = std::span<const std::uint8_t>;

/// Precondition: off + 1 <= b.size().
[[nodiscard]] constexpr std::uint8_t u8(Bytes b, std::size_t off) noexcept {
    return b[off];
}

/// Precondition: off + 2 <= b.size().
[[nodiscard]] constexpr std::uint16_t be16(Bytes b, std::size_t off) noexcept {
    return static_cast<std::uint16_t>((b[off] << 8) | b[off + 1]);
}

/// Precondition: off + 3 <= b.size().
[[nodiscard]] constexpr std::uint32_t be24(Bytes b, std::size_t off) noexcept {
    return (std::uint32_t{b[off]} << 16) | (std::uint32_t{b[off + 1]} << 8) | b[off + 2];
}

/// Precondition: off + 4 <= b.size().
[[nodiscard]] constexpr std::uint32_t be32(Bytes b, std::size_t off) noexcept {
    return (std::uint32_t{b[off]} << 24) | (std::uint32_t{b[off + 1]} << 16) |
           (std::uint32_t{b[off + 2]} << 8) | b[off + 3];
}

/// Precondition: off + 4 <= b.size(). Little-endian load (DLT_NULL family written by the host).
[[nodiscard]] constexpr std::uint32_t le32(Bytes b, std::size_t off) noexcept {
    return (std::uint32_t{b[off + 3]} << 24) | (std::uint32_t{b[off + 2]} << 16) |
           (std::uint32_t{b[off + 1]} << 8) | b[off];
}

/// The first n bytes of b, or all of b when it is shorter (never reads past the end).
[[nodiscard]] constexpr Bytes clip(Bytes b, std::size_t n) noexcept {
    return n < b.size() ? b.first(n) : b;
}

}  // namespace vxcheck

#pragma once
// XDR reader (RFC 4506) over a byte view: big-endian 4-byte units, opaque data padded to a
// multiple of 4. Every read checks bounds first; the first failed read (past the end, or a
// variable-length item longer than its declared maximum) clears ok() for good, and from then on
// every read returns 0 or an empty view. Callers read a whole structure, then test ok() once.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "vxcheck/bytes.h"

namespace vxcheck::rpc {

/// Bytes of padding after `n` bytes of opaque data (RFC 4506 section 4.9/4.10).
[[nodiscard]] constexpr std::size_t xdr_pad(std::size_t n) noexcept {
    return (4 - (n & 3U)) & 3U;
}

class XdrReader {
  public:
    constexpr XdrReader() noexcept = default;
    constexpr explicit XdrReader(Bytes in) noexcept : in_(in) {}

    /// False once any read failed; sticky.
    [[nodiscard]] constexpr bool ok() const noexcept { return ok_; }
    /// Bytes consumed so far.
    [[nodiscard]] constexpr std::size_t position() const noexcept { return pos_; }
    /// Bytes left to read (0 after a failure).
    [[nodiscard]] constexpr std::size_t remaining() const noexcept {
        return ok_ ? in_.size() - pos_ : 0;
    }
    /// The unread bytes (empty after a failure).
    [[nodiscard]] constexpr Bytes rest() const noexcept {
        return ok_ ? in_.subspan(pos_) : Bytes{};
    }
    /// True when a read failed because the bytes ran out (a cut message), not because a value
    /// was out of range.
    [[nodiscard]] constexpr bool exhausted() const noexcept { return exhausted_; }
    /// Marks the reader failed (e.g. a value outside its enum).
    constexpr void fail() noexcept { ok_ = false; }

    [[nodiscard]] constexpr std::uint32_t u32() noexcept {
        if (!take(4)) {
            return 0;
        }
        return be32(in_, pos_ - 4);
    }
    [[nodiscard]] constexpr std::uint64_t u64() noexcept {
        const std::uint64_t hi = u32();
        const std::uint64_t lo = u32();
        return ok_ ? (hi << 32) | lo : 0;
    }
    /// XDR bool: 0 false, 1 true; any other value fails the reader.
    [[nodiscard]] constexpr bool boolean() noexcept {
        const std::uint32_t v = u32();
        if (v > 1) {
            fail();
            return false;
        }
        return v == 1;
    }
    /// Fixed-length opaque[n]: n bytes plus padding; returns the n bytes.
    [[nodiscard]] constexpr Bytes fixed(std::size_t n) noexcept {
        if (n > remaining() || xdr_pad(n) > remaining() - n) {
            exhausted_ = exhausted_ || ok_;
            fail();
            return {};
        }
        const Bytes out = in_.subspan(pos_, n);
        pos_ += n + xdr_pad(n);
        return out;
    }
    /// Variable-length opaque<max>: a u32 length (<= max), the bytes, padding.
    [[nodiscard]] constexpr Bytes opaque(std::size_t max) noexcept {
        const std::uint32_t n = u32();
        if (!ok_ || n > max) {
            fail();
            return {};
        }
        return fixed(n);
    }
    /// XDR string<max>: as opaque, viewed as characters (not NUL-terminated, not validated).
    [[nodiscard]] std::string_view string(std::size_t max) noexcept {
        const Bytes b = opaque(max);
        return {reinterpret_cast<const char*>(b.data()), b.size()};
    }
    /// Skips n raw bytes (no padding added).
    constexpr void skip(std::size_t n) noexcept { (void)take(n); }
    /// Skips a variable-length opaque<max>.
    constexpr void skip_opaque(std::size_t max) noexcept { (void)opaque(max); }
    /// Skips an array of `count` u32 preceded by its u32 length (<= max), e.g. a bitmap4.
    constexpr void skip_u32_array(std::size_t max) noexcept {
        const std::uint32_t n = u32();
        if (!ok_ || n > max) {
            fail();
            return;
        }
        skip(std::size_t{n} * 4);
    }

  private:
    constexpr bool take(std::size_t n) noexcept {
        if (!ok_ || n > in_.size() - pos_) {
            exhausted_ = exhausted_ || ok_;
            ok_ = false;
            return false;
        }
        pos_ += n;
        return true;
    }

    Bytes in_;
    std::size_t pos_ = 0;
    bool ok_ = true;
    bool exhausted_ = false;
};

}  // namespace vxcheck::rpc

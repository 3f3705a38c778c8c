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

/// The bytes of an XDR item as far as they were kept: `head` from its start, and, when a long
/// message was kept only at its ends, `tail` from offset `tail_at` (>= head.size()) to the end.
/// The bytes between them were seen on the wire but not kept: a reader may skip over them, never
/// read them.
struct XdrBytes {
    Bytes head;
    Bytes tail;
    std::size_t tail_at = 0;

    constexpr XdrBytes() noexcept = default;
    // NOLINTNEXTLINE(google-explicit-constructor): contiguous bytes are the common case
    constexpr XdrBytes(Bytes b) noexcept : head(b), tail_at(b.size()) {}
    constexpr XdrBytes(Bytes h, Bytes t, std::size_t at) noexcept
        : head(h), tail(t.empty() ? Bytes{} : t), tail_at(t.empty() ? h.size() : at) {}

    /// No byte kept.
    [[nodiscard]] constexpr bool empty() const noexcept { return head.empty() && tail.empty(); }
    /// Offset just past the last kept byte.
    [[nodiscard]] constexpr std::size_t end() const noexcept { return tail_at + tail.size(); }
    /// The n kept bytes at offset off, or nullptr when any of them was not kept.
    [[nodiscard]] constexpr const std::uint8_t* at(std::size_t off, std::size_t n) const noexcept {
        if (off <= head.size() && n <= head.size() - off) {
            return head.data() + off;
        }
        if (off >= tail_at && off - tail_at <= tail.size() && n <= tail.size() - (off - tail_at)) {
            return tail.data() + (off - tail_at);
        }
        return nullptr;
    }
    /// The same bytes from offset `off` (<= end()) on.
    [[nodiscard]] constexpr XdrBytes from(std::size_t off) const noexcept {
        if (off <= head.size()) {
            return {head.subspan(off), tail, tail_at - off};
        }
        if (off >= tail_at) {
            return XdrBytes{tail.subspan(off - tail_at)};
        }
        return {Bytes{}, tail, tail_at - off};
    }
};

class XdrReader {
  public:
    constexpr XdrReader() noexcept = default;
    constexpr explicit XdrReader(Bytes in) noexcept : XdrReader(XdrBytes{in}) {}
    constexpr explicit XdrReader(XdrBytes in) noexcept
        : in_(in), piece_(in.head.data()), lim_(in.head.size()) {}

    /// False once any read failed; sticky.
    [[nodiscard]] constexpr bool ok() const noexcept { return ok_; }
    /// Bytes consumed so far.
    [[nodiscard]] constexpr std::size_t position() const noexcept { return pos_; }
    /// Bytes left to read or skip (0 after a failure).
    [[nodiscard]] constexpr std::size_t remaining() const noexcept {
        return ok_ ? in_.end() - pos_ : 0;
    }
    /// The unread bytes (empty after a failure).
    [[nodiscard]] constexpr XdrBytes rest() const noexcept {
        return ok_ ? in_.from(pos_) : XdrBytes{};
    }
    /// True when a read failed because the bytes ran out (a cut message, or bytes not kept), not
    /// because a value was out of range.
    [[nodiscard]] constexpr bool exhausted() const noexcept { return exhausted_; }
    /// Marks the reader failed (e.g. a value outside its enum).
    constexpr void fail() noexcept {
        ok_ = false;
        lim_ = 0;
    }

    // Inlined: every field of a message is one, and the bounds check is two compares.
    [[nodiscard, gnu::always_inline]] constexpr std::uint32_t u32() noexcept {
        if (fits(4)) [[likely]] {
            const std::uint8_t* p = piece_ + (pos_ - piece_at_);
            pos_ += 4;
            return be32(Bytes{p, 4}, 0);
        }
        return u32_slow();
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
    /// Fixed-length opaque[n]: n bytes plus padding; returns the n bytes (which must have been
    /// kept).
    [[nodiscard]] constexpr Bytes fixed(std::size_t n) noexcept {
        if (n > remaining() || xdr_pad(n) > remaining() - n) {
            run_out();
            return {};
        }
        const std::uint8_t* p = read(n);
        if (p == nullptr) {
            return {};
        }
        pos_ += xdr_pad(n);
        return Bytes{p, n};
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
    /// Skips n raw bytes (no padding added); they need not have been kept.
    constexpr void skip(std::size_t n) noexcept {
        if (!ok_ || n > in_.end() - pos_) {
            run_out();
            return;
        }
        pos_ += n;
    }
    /// Skips a variable-length opaque<max> (its bytes need not have been kept).
    constexpr void skip_opaque(std::size_t max) noexcept {
        const std::uint32_t n = u32();
        if (!ok_ || n > max) {
            fail();
            return;
        }
        skip(std::size_t{n} + xdr_pad(n));
    }
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
    // u32() when the bytes are not in the piece being read: in the tail, or not kept.
    [[gnu::noinline]] constexpr std::uint32_t u32_slow() noexcept {
        const std::uint8_t* p = read(4);
        return p == nullptr ? 0 : be32(Bytes{p, 4}, 0);
    }
    constexpr void run_out() noexcept {
        exhausted_ = exhausted_ || ok_;
        fail();
    }
    // The next n bytes, consumed; nullptr (and the reader failed) when they were not all kept.
    // The piece being read (head, then tail) holds message offsets [piece_at_, lim_).
    constexpr const std::uint8_t* read(std::size_t n) noexcept {
        if (!fits(n) && !(to_tail() && fits(n))) [[unlikely]] {
            run_out();
            return nullptr;
        }
        const std::uint8_t* p = piece_ + (pos_ - piece_at_);
        pos_ += n;
        return p;
    }
    [[nodiscard]] constexpr bool fits(std::size_t n) const noexcept {
        return pos_ <= lim_ && n <= lim_ - pos_;
    }
    // Moves to the tail once the position reached it (after a skip over the bytes not kept).
    constexpr bool to_tail() noexcept {
        if (!ok_ || in_tail_ || pos_ < in_.tail_at || in_.tail.empty()) {
            return false;
        }
        in_tail_ = true;
        piece_ = in_.tail.data();
        piece_at_ = in_.tail_at;
        lim_ = in_.end();
        return true;
    }

    XdrBytes in_;
    const std::uint8_t* piece_ = nullptr;
    std::size_t piece_at_ = 0;
    std::size_t lim_ = 0;
    std::size_t pos_ = 0;
    bool in_tail_ = false;
    bool ok_ = true;
    bool exhausted_ = false;
};

}  // namespace vxcheck::rpc

// TCP option walk (RFC 9293 3.1): kinds 0 (end) and 1 (no-op) are one byte; every other option
// is kind, length (>= 2, counting both), data.

#include "vxcheck/decode/tcp_options.h"

#include "vxcheck/wire.h"

namespace vxcheck::decode {
namespace {

constexpr std::uint8_t kMssLen = 4;
constexpr std::uint8_t kWindowScaleLen = 3;
constexpr std::uint8_t kTimestampLen = 10;

// Calls fn(kind, offset, length) for each well-formed option; returns false when the walk
// stopped at a malformed one.
template <typename Fn>
bool walk(Bytes opts, Fn&& fn) noexcept {
    std::size_t off = 0;
    while (off < opts.size()) {
        const std::uint8_t kind = opts[off];
        if (kind == wire::kTcpOptEnd) {
            return true;
        }
        if (kind == wire::kTcpOptNop) {
            ++off;
            continue;
        }
        if (off + 2 > opts.size() || opts[off + 1] < 2 || off + opts[off + 1] > opts.size()) {
            return false;
        }
        if (!fn(kind, off, opts[off + 1])) {
            return true;
        }
        off += opts[off + 1];
    }
    return true;
}

}  // namespace

// The first option of each kind counts: tcp_tsval() takes the first timestamp, and the TCPMSS
// target (net/netfilter/xt_TCPMSS.c) rewrites the first MSS option.
TcpOptions parse_tcp_options(Bytes opts) noexcept {
    TcpOptions o;
    o.malformed = !walk(opts, [&](std::uint8_t kind, std::size_t off, std::uint8_t len) {
        if (kind == wire::kTcpOptMss && len == kMssLen && !o.mss) {
            o.mss = be16(opts, off + 2);
        } else if (kind == wire::kTcpOptWindowScale && len == kWindowScaleLen && !o.window_scale) {
            o.window_scale = opts[off + 2];
        } else if (kind == wire::kTcpOptTimestamp && len == kTimestampLen && !o.tsval) {
            o.tsval = be32(opts, off + 2);
            o.tsecr = be32(opts, off + 6);
        }
        return true;
    });
    return o;
}

std::optional<std::uint32_t> tcp_tsval(Bytes opts) noexcept {
    std::optional<std::uint32_t> tsval;
    walk(opts, [&](std::uint8_t kind, std::size_t off, std::uint8_t len) {
        if (kind == wire::kTcpOptTimestamp && len == kTimestampLen) {
            tsval = be32(opts, off + 2);
            return false;  // the first one counts
        }
        return true;
    });
    return tsval;
}

}  // namespace vxcheck::decode

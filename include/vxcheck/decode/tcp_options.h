#pragma once
// TCP options (RFC 9293 3.1, RFC 7323): the kinds the connection analysis reads, from the option
// bytes after a TCP header's first 20 bytes. Reads only; a malformed list ends the walk.

#include <cstdint>
#include <optional>

#include "vxcheck/bytes.h"

namespace vxcheck::decode {

struct TcpOptions {
    std::optional<std::uint16_t> mss;          // kind 2, length 4
    std::optional<std::uint8_t> window_scale;  // kind 3, length 3
    std::optional<std::uint32_t> tsval;        // kind 8, length 10 (RFC 7323)
    std::optional<std::uint32_t> tsecr;
    bool malformed = false;  // a length below 2 or past the end stopped the walk
};

/// The options among `options` (the bytes between the fixed header and the data offset); of
/// an option that appears more than once, the first.
[[nodiscard]] TcpOptions parse_tcp_options(Bytes options) noexcept;

/// TSval of the timestamp option, if present: parse_tcp_options(options).tsval, cheaper.
[[nodiscard]] std::optional<std::uint32_t> tcp_tsval(Bytes options) noexcept;

}  // namespace vxcheck::decode

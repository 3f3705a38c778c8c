#pragma once
// The datagram an ICMP error quotes (RFC 792, RFC 4443 2.4): the offending packet's IP header
// and at least the first 8 bytes of its transport header, after the 8-byte error header. The
// connection analysis matches a quoted TCP SYN to its connection by ports and sequence number.

#include <array>
#include <cstdint>
#include <optional>

#include "vxcheck/bytes.h"

namespace vxcheck::decode {

/// The addresses, ports and sequence number of a TCP segment quoted in an ICMP error.
struct QuotedTcp {
    bool v6 = false;
    std::array<std::uint8_t, 16> src{};  // IPv4 in the first 4 bytes (network order)
    std::array<std::uint8_t, 16> dst{};
    std::uint16_t sport = 0;
    std::uint16_t dport = 0;
    std::uint32_t seq = 0;
};

/// The quoted TCP segment of an ICMPv4 (v6 false) or ICMPv6 error message `icmp` (from its type
/// byte), or nothing: too short, not IP of the expected version, not TCP, or an IPv4 header
/// length below 5 words.
[[nodiscard]] std::optional<QuotedTcp> quoted_tcp(Bytes icmp, bool v6) noexcept;

}  // namespace vxcheck::decode

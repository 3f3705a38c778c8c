#pragma once
// The fields and acceptance rules of fixed headers, as pure functions over the bytes: the
// decoders read their layers with them, and a reader at fixed offsets (the fast path) asks the
// same questions with them instead of restating them. Each function states its precondition on
// the span's length; none reads past it.

#include <cstddef>
#include <cstdint>

#include "vxcheck/bytes.h"
#include "vxcheck/wire.h"

namespace vxcheck::decode {

// --- IPv4 (RFC 791) ------------------------------------------------------------------------------

/// The version nibble of an IP header. Precondition: b.size() >= 1.
[[nodiscard]] constexpr unsigned ip_version(Bytes b) noexcept {
    return b[0] >> 4U;
}

/// IHL * 4: the IPv4 header's length in bytes, options included. Precondition: b.size() >= 1.
[[nodiscard]] constexpr std::size_t ipv4_header_len(Bytes b) noexcept {
    return std::size_t{b[0] & 0x0fU} * 4;
}

/// "IPv4 header plain": version 4, IHL 5 (no options), not a fragment (MF clear, offset 0), and
/// a total length that covers the header and at least `min_payload` more bytes and ends within
/// `b`. decode_ipv4() accepts such a header with no anomaly and takes the packet's extent from
/// its total length. Precondition: b.size() >= kIpv4MinHeaderLen.
[[nodiscard]] constexpr bool ipv4_header_plain(Bytes b, std::size_t min_payload) noexcept {
    // Version 4 and IHL 5 are the first byte, 0x45: one compare.
    constexpr unsigned kVersionIhl = (4U << 4) | (wire::kIpv4MinHeaderLen / 4);
    if (b[0] != kVersionIhl || (be16(b, 6) & wire::kIpv4FragmentBits) != 0) {
        return false;
    }
    const std::size_t total = be16(b, 2);
    return total >= wire::kIpv4MinHeaderLen + min_payload && total <= b.size();
}

// --- TCP (RFC 9293) ------------------------------------------------------------------------------

/// Data offset * 4: the TCP header's length in bytes, options included.
/// Precondition: b.size() >= kTcpMinHeaderLen.
[[nodiscard]] constexpr std::size_t tcp_header_len(Bytes b) noexcept {
    return std::size_t{b[12]} / 16 * 4;
}

// --- VXLAN (RFC 7348 5) --------------------------------------------------------------------------

/// The I flag: the VNI is valid. Precondition: b.size() >= kVxlanHeaderLen.
[[nodiscard]] constexpr bool vxlan_i_flag(Bytes b) noexcept {
    return (b[0] & wire::kVxlanFlagI) != 0;
}

/// A flag other than I, or a reserved byte (1-3, 7), is set. Receivers ignore them; the
/// decoder notes it. Precondition: b.size() >= kVxlanHeaderLen.
[[nodiscard]] constexpr bool vxlan_reserved_nonzero(Bytes b) noexcept {
    return (b[0] & ~wire::kVxlanFlagI) != 0 || b[1] != 0 || b[2] != 0 || b[3] != 0 || b[7] != 0;
}

/// "VXLAN header plain": flags exactly I (0x08) and the reserved bytes zero, so that
/// decode_vxlan() notes nothing. Precondition: b.size() >= kVxlanHeaderLen.
[[nodiscard]] constexpr bool vxlan_header_plain(Bytes b) noexcept {
    return vxlan_i_flag(b) && !vxlan_reserved_nonzero(b);
}

}  // namespace vxcheck::decode

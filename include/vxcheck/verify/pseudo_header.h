#pragma once
// The addresses an IPv4 packet's TCP/UDP checksum covers (RFC 768, RFC 9293 3.1): the source,
// and the final destination, which a source route in transit keeps out of the header.

#include <cstdint>

#include "vxcheck/decode/packet.h"

namespace vxcheck::verify {

/// The destination an IPv4 layer's upper-layer checksum covers: the final one. While a loose or
/// strict source route (options 131, 137; RFC 791 3.1) is not complete (its pointer is within
/// the option), the header's destination is the next hop and the final destination is the
/// route's last address, which the sender's checksum used (tcpdump's ip_finddst() and
/// Wireshark read it there too). Without options, or with a malformed option list, the
/// header's destination.
[[nodiscard]] std::uint32_t ipv4_final_destination(const decode::Layer& ip,
                                                   const decode::Ipv4Info& v4) noexcept;

}  // namespace vxcheck::verify

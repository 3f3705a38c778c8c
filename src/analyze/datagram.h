#pragma once
// The UDP datagram of a packet, for the datagram plug-ins (plugin.h: DatagramPlugin); private to
// src/analyze.

#include "vxcheck/analyze/plugin.h"
#include "vxcheck/decode/packet.h"

namespace vxcheck::analyze {

/// Fills the addresses, frame number and payload of `out` from the packet's last layer when it
/// is UDP inside IPv4/IPv6 (a datagram inside VXLAN/Geneve too: the tunnel's own UDP layer is
/// not the last). False otherwise; reads only, never allocates. A first IP fragment gives the
/// bytes it carries, with the length the UDP header claims for the whole datagram.
[[nodiscard]] bool datagram_of(const decode::DecodedPacket& packet, DatagramView& out) noexcept;

}  // namespace vxcheck::analyze

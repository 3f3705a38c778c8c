#pragma once
// Small formatting helpers shared by the reporters (not on the per-packet hot path).

#include <cstdint>
#include <string>

#include "vxcheck/bytes.h"
#include "vxcheck/decode/packet.h"
#include "vxcheck/frame.h"

namespace vxcheck::report {

std::string ipv4_to_string(std::uint32_t addr);
std::string ipv6_to_string(Bytes addr16);
std::string hex16(std::uint16_t v);                   // "0x1c2f"
std::string hex32(std::uint32_t v);                   // "0x5a160004" (RPC XIDs)
std::string timestamp_to_string(Timestamp ts);        // "1700000000.123456789"
std::string tcp_flags_to_string(std::uint8_t flags);  // tcpdump style: "S", "S.", "P.", "R."

/// Source and destination "addr" of an IP layer.
std::string ip_src(const decode::Layer& ip);
std::string ip_dst(const decode::Layer& ip);

/// "src:sport > dst:dport" for the L4 layer after IP layer `ip_index`, or addresses only.
std::string endpoints(const decode::DecodedPacket& pkt, int ip_index);

}  // namespace vxcheck::report

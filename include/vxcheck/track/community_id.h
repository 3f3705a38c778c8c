#pragma once
// The Community ID flow hash, version 1 (github.com/corelight/community-id-spec): the "1:..."
// string Zeek, Suricata, Wireshark and Elastic put on a flow, so that vxcheck's records join
// their logs. Built when a report is written, never on the per-packet path.

#include <cstdint>
#include <string>

#include "vxcheck/track/flow_key.h"

namespace vxcheck::track {

/// The IP protocol numbers the hash gives ports to (the spec's "Technical details").
inline constexpr std::uint8_t kProtoIcmp = 1;
inline constexpr std::uint8_t kProtoTcp = 6;
inline constexpr std::uint8_t kProtoUdp = 17;
inline constexpr std::uint8_t kProtoIcmpv6 = 58;
inline constexpr std::uint8_t kProtoSctp = 132;

/// The port equivalents of an ICMP or ICMPv6 message (Zeek's ICMP4_counterpart and
/// ICMP6_counterpart, as the spec takes them): a request and its reply map to (type,
/// counter-type) and are one flow; any other message is (type, code), one-way.
struct IcmpPorts {
    std::uint16_t sport = 0;
    std::uint16_t dport = 0;
    bool one_way = true;
};
[[nodiscard]] IcmpPorts icmp_ports(bool v6, std::uint8_t type, std::uint8_t code) noexcept;

/// community_id_v1 of a flow: `src` and `dst` carry the addresses and ports (the ICMP ports of
/// icmp_ports()); the endpoints are ordered so that the smaller address (then port) comes first
/// unless `one_way`. TCP, UDP, SCTP, ICMP and ICMPv6 hash their ports; other protocols hash the
/// addresses and the protocol alone. `seed` is the spec's 16-bit seed (0 by default, as Zeek).
/// Returns "" when src and dst are of different families (nothing to hash).
[[nodiscard]] std::string community_id(const Endpoint& src, const Endpoint& dst, std::uint8_t proto,
                                       std::uint16_t seed = 0, bool one_way = false);

}  // namespace vxcheck::track

#pragma once
// Numbers fixed by the wire formats, shared by every stage that reads headers (the decoders, the
// fast path, the verifier, the connection analysis): one name per meaning, each with its source.

#include <cstddef>
#include <cstdint>

namespace vxcheck::wire {

// EtherTypes (IEEE 802 numbers; RFC 7042).
inline constexpr std::uint16_t kEthertypeIpv4 = 0x0800;
inline constexpr std::uint16_t kEthertypeIpv6 = 0x86dd;
inline constexpr std::uint16_t kEthertypeVlan = 0x8100;     // 802.1Q
inline constexpr std::uint16_t kEthertypeQinQ = 0x88a8;     // 802.1ad
inline constexpr std::uint16_t kEthertypeQinQOld = 0x9100;  // pre-standard QinQ
inline constexpr std::uint16_t kEthertypeTransparentBridging = 0x6558;
inline constexpr std::uint16_t kMinEthertype = 0x0600;  // smaller values are 802.3 lengths
// Tunnels and labels outside UDP (issue 21): MPLS (RFC 5332), ERSPAN II/III, PPP in PPTP GRE.
inline constexpr std::uint16_t kEthertypeMplsUnicast = 0x8847;
inline constexpr std::uint16_t kEthertypeMplsMulticast = 0x8848;
inline constexpr std::uint16_t kEthertypeErspan2 = 0x88be;
inline constexpr std::uint16_t kEthertypeErspan3 = 0x22eb;
inline constexpr std::uint16_t kEthertypePpp = 0x880b;

// IP protocol numbers (IANA "Assigned Internet Protocol Numbers").
inline constexpr std::uint8_t kIpProtoIcmp = 1;
inline constexpr std::uint8_t kIpProtoTcp = 6;
inline constexpr std::uint8_t kIpProtoUdp = 17;
inline constexpr std::uint8_t kIpProtoIcmpv6 = 58;
inline constexpr std::uint8_t kIpProtoIpip = 4;   // IPv4 in IP (RFC 2003)
inline constexpr std::uint8_t kIpProtoIpv6 = 41;  // IPv6 in IP (RFC 4213)
inline constexpr std::uint8_t kIpProtoGre = 47;   // RFC 2784

// Header lengths in bytes.
inline constexpr std::size_t kEthernetHeaderLen = 14;
inline constexpr std::size_t kVlanTagLen = 4;
inline constexpr std::size_t kIpv4MinHeaderLen = 20;  // IHL 5, no options (RFC 791)
inline constexpr std::size_t kIpv6HeaderLen = 40;     // RFC 8200
inline constexpr std::size_t kTcpMinHeaderLen = 20;   // data offset 5, no options (RFC 9293)
inline constexpr std::size_t kUdpHeaderLen = 8;       // RFC 768
inline constexpr std::size_t kVxlanHeaderLen = 8;     // RFC 7348
// ICMP and ICMPv6 (RFC 792, RFC 4443): type, code and checksum are 4 bytes; error messages
// (destination unreachable, time exceeded, ...) add 4 more before the quoted packet.
inline constexpr std::size_t kIcmpHeaderLen = 4;
inline constexpr std::size_t kIcmpErrorHeaderLen = 8;

// Field offsets, from the start of their header, of the fields read by more than one stage.
inline constexpr std::size_t kEthertypeOffset = 12;     // Ethernet II (IEEE 802.3)
inline constexpr std::size_t kIpv4ProtocolOffset = 9;   // RFC 791
inline constexpr std::size_t kIpv4ChecksumOffset = 10;  // RFC 791
inline constexpr std::size_t kTcpChecksumOffset = 16;   // RFC 9293
inline constexpr std::size_t kUdpLengthOffset = 4;      // RFC 768
inline constexpr std::size_t kUdpChecksumOffset = 6;    // RFC 768

// VXLAN flags (RFC 7348 section 5): the I flag says the VNI is valid.
inline constexpr std::uint8_t kVxlanFlagI = 0x08;

// IPv4 flags and fragment offset (RFC 791): MF and the 13-bit offset; either set means fragment.
inline constexpr std::uint16_t kIpv4FragmentBits = 0x3fff;
inline constexpr std::uint16_t kIpv4FlagDf = 0x4000;
inline constexpr std::uint16_t kIpv4FlagMf = 0x2000;
inline constexpr std::uint16_t kIpv4FragOffsetMask = 0x1fff;  // in 8-byte units

// ICMP destination unreachable (RFC 792 type 3; RFC 4443 type 1 for ICMPv6).
inline constexpr std::uint8_t kIcmpDestUnreachable = 3;
inline constexpr std::uint8_t kIcmpv6DestUnreachable = 1;

// TCP option kinds (IANA "TCP Option Kind Numbers").
inline constexpr std::uint8_t kTcpOptEnd = 0;
inline constexpr std::uint8_t kTcpOptNop = 1;
inline constexpr std::uint8_t kTcpOptMss = 2;
inline constexpr std::uint8_t kTcpOptWindowScale = 3;
inline constexpr std::uint8_t kTcpOptTimestamp = 8;  // RFC 7323

}  // namespace vxcheck::wire

#pragma once
// The two frame shapes that make up nearly all of a Flannel node's traffic, and where decode()
// puts their layers and verify() their verdicts (one per IPv4 header, TCP and UDP checksum, in
// layer order). Readers that know a frame's shape (the fast path, the summary's tally of the
// frames it takes, the tests) use these names instead of bare indices.
//
//   plain TCP:     Ethernet / IPv4 / TCP
//   TCP in VXLAN:  Ethernet / IPv4 / UDP / VXLAN / Ethernet / IPv4 / TCP  (inner at depth 1)

#include <cstddef>
#include <cstdint>

namespace vxcheck::decode::shapes {

namespace plain_tcp {
inline constexpr std::uint8_t kEthernetLayer = 0;
inline constexpr std::uint8_t kIpv4Layer = 1;
inline constexpr std::uint8_t kTcpLayer = 2;
inline constexpr std::size_t kLayerCount = 3;
inline constexpr std::size_t kIpv4Verdict = 0;
inline constexpr std::size_t kTcpVerdict = 1;
inline constexpr std::size_t kVerdictCount = 2;
}  // namespace plain_tcp

namespace tcp_in_vxlan {
inline constexpr std::uint8_t kOuterEthernetLayer = 0;
inline constexpr std::uint8_t kOuterIpv4Layer = 1;
inline constexpr std::uint8_t kOuterUdpLayer = 2;
inline constexpr std::uint8_t kVxlanLayer = 3;
inline constexpr std::uint8_t kInnerEthernetLayer = 4;
inline constexpr std::uint8_t kInnerIpv4Layer = 5;
inline constexpr std::uint8_t kInnerTcpLayer = 6;
inline constexpr std::size_t kLayerCount = 7;
inline constexpr std::uint8_t kInnerDepth = 1;  // tunnel depth of the inner layers
inline constexpr std::size_t kOuterIpv4Verdict = 0;
inline constexpr std::size_t kOuterUdpVerdict = 1;
inline constexpr std::size_t kInnerIpv4Verdict = 2;
inline constexpr std::size_t kInnerTcpVerdict = 3;
inline constexpr std::size_t kVerdictCount = 4;
}  // namespace tcp_in_vxlan

static_assert(plain_tcp::kVerdictCount != tcp_in_vxlan::kVerdictCount,
              "the verdict count tells the shapes apart");

}  // namespace vxcheck::decode::shapes

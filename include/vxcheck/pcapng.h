#pragma once
// pcapng's numbers (IETF draft-ietf-opsawg-pcapng), shared by the reader (src/capture) and the
// writer (src/report): block types, the byte-order magic and the option codes both use.

#include <cstdint>

namespace vxcheck::pcapng {

// Block types.
inline constexpr std::uint32_t kSectionHeader = 0x0a0d0d0a;
inline constexpr std::uint32_t kInterfaceDescription = 0x00000001;
inline constexpr std::uint32_t kObsoletePacket = 0x00000002;
inline constexpr std::uint32_t kSimplePacket = 0x00000003;
inline constexpr std::uint32_t kEnhancedPacket = 0x00000006;

/// The Section Header's byte-order magic, as written in the writer's byte order.
inline constexpr std::uint32_t kByteOrderMagic = 0x1a2b3c4d;
/// The smallest Section Header: type, length, magic, version, section length, trailing length.
inline constexpr std::uint32_t kSectionHeaderMin = 28;

// Option codes.
inline constexpr std::uint16_t kOptEnd = 0;
inline constexpr std::uint16_t kOptComment = 1;
inline constexpr std::uint16_t kIfName = 2;
inline constexpr std::uint16_t kIfTsresol = 9;
inline constexpr std::uint16_t kIfTsoffset = 14;

}  // namespace vxcheck::pcapng

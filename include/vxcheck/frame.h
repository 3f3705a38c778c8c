#pragma once
// One captured frame as the capture source hands it to the pipeline.
// Lifetime: a RawFrame and every view into it are valid only until the next Source::next().

#include <compare>
#include <cstdint>
#include <string_view>

#include "vxcheck/bytes.h"

namespace vxcheck {

/// Link types vxcheck decodes (own values: nothing here depends on <pcap.h>).
enum class LinkType : std::uint8_t {
    Ethernet,   // DLT_EN10MB
    LinuxSll,   // DLT_LINUX_SLL, "cooked" v1 (tcpdump -i any on older libpcap)
    LinuxSll2,  // DLT_LINUX_SLL2 (tcpdump -i any on libpcap >= 1.10)
    RawIp,      // LINKTYPE_RAW (101): IPv4 or IPv6 by version nibble
    RawIpv4,    // LINKTYPE_IPV4 (228)
    RawIpv6,    // LINKTYPE_IPV6 (229)
    Null,       // DLT_NULL / DLT_LOOP: 4-byte address family
    Unsupported,
};

[[nodiscard]] std::string_view to_string(LinkType t) noexcept;

struct Timestamp {
    std::int64_t sec = 0;
    std::uint32_t nsec = 0;

    bool operator==(const Timestamp&) const = default;
    // In time order: seconds, then nanoseconds.
    auto operator<=>(const Timestamp&) const = default;
};

struct RawFrame {
    Timestamp ts;
    std::uint32_t caplen = 0;   // bytes captured (== data.size())
    std::uint32_t wirelen = 0;  // bytes on the wire; > caplen when the snaplen cut the frame
    LinkType link = LinkType::Ethernet;
    std::uint64_t number = 0;  // 1-based, per file, as Wireshark numbers frames
    Bytes data;
    // Live capture only: the kernel said the packet's checksum is not filled in yet
    // (TP_STATUS_CSUMNOTREADY: ip_summed == CHECKSUM_PARTIAL). Files do not keep this.
    bool csum_not_ready = false;

    [[nodiscard]] bool snaplen_cut() const noexcept { return caplen < wirelen; }
};

}  // namespace vxcheck

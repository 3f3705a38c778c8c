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
    Nflog,      // LINKTYPE_NFLOG (239): tcpdump -i nflog:N, netlink TLVs around the IP packet
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

/// Whether `a` is before `b`, compared field by field where it is written: per-frame code that
/// compares times calls this, as GCC with LTO calls the defaulted <=> out of line there.
[[nodiscard]] constexpr bool earlier(const Timestamp& a, const Timestamp& b) noexcept {
    return a.sec < b.sec || (a.sec == b.sec && a.nsec < b.nsec);
}

struct RawFrame {
    Timestamp ts;
    std::uint32_t caplen = 0;   // bytes captured (== data.size())
    std::uint32_t wirelen = 0;  // bytes on the wire; > caplen when the snaplen cut the frame
    LinkType link = LinkType::Ethernet;
    std::uint64_t number = 0;  // 1-based, per file, as Wireshark numbers frames
    // The capture interface the frame was recorded on: its index among the file's pcapng
    // Interface Description Blocks, counted over all sections (0 for classic pcap and live).
    std::uint32_t interface = 0;
    Bytes data;
    // Live capture only: the kernel said the packet's checksum is not filled in yet
    // (TP_STATUS_CSUMNOTREADY: ip_summed == CHECKSUM_PARTIAL). Files do not keep this.
    bool csum_not_ready = false;

    [[nodiscard]] bool snaplen_cut() const noexcept { return caplen < wirelen; }
};

/// Where in its capture a frame was seen, the key of its capture point: the file's interface
/// (RawFrame::interface) and what the frame's own link header says of its source: the interface
/// index of a cooked "any" capture (SLL2) or the netlink group of an NFLOG capture.
struct FrameOrigin {
    enum class Sub : std::uint8_t { None, Ifindex, NflogGroup };
    std::uint32_t interface = 0;
    Sub sub = Sub::None;
    std::uint32_t id = 0;  // the interface index or the group (Sub)

    bool operator==(const FrameOrigin&) const = default;
};

/// The origin of `frame`; a header too short to say gives Sub::None. Reads at most 8 bytes.
[[nodiscard]] inline FrameOrigin origin_of(const RawFrame& frame) noexcept {
    FrameOrigin o{.interface = frame.interface};
    const Bytes d = frame.data;
    if (frame.link == LinkType::LinuxSll2 && d.size() >= 8) {  // ifindex: bytes 4-7, big-endian
        o.sub = FrameOrigin::Sub::Ifindex;
        o.id = (std::uint32_t{d[4]} << 24) | (std::uint32_t{d[5]} << 16) |
               (std::uint32_t{d[6]} << 8) | d[7];
    } else if (frame.link == LinkType::Nflog && d.size() >= 4) {  // resource id: bytes 2-3, BE
        o.sub = FrameOrigin::Sub::NflogGroup;
        o.id = (std::uint32_t{d[2]} << 8) | d[3];
    }
    return o;
}

}  // namespace vxcheck

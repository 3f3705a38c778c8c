#pragma once
// Named decode anomalies: bad input is recorded as data, never thrown. Names are stable
// ("layer.problem") because they appear in JSON output and in golden files.

#include <cstdint>
#include <string_view>

namespace vxcheck::decode {

#define VXCHECK_ANOMALIES(X)                                                               \
    X(LinkTruncated, "link.truncated")            /* shorter than its link header */       \
    X(NullUnknownFamily, "null.unknown_family")   /* DLT_NULL family not IPv4/IPv6 */      \
    X(RawVersionMismatch, "raw.version_mismatch") /* LINKTYPE_IPV4 holding IPv6 ... */     \
    X(RawUnknownVersion, "raw.unknown_version")   /* LINKTYPE_RAW, nibble not 4/6 */       \
    X(VlanTruncated, "vlan.truncated")                                                     \
    X(VlanTooManyTags, "vlan.too_many_tags")                                               \
    X(Ipv4HeaderTruncated, "ipv4.header_truncated") /* < 20 bytes or < IHL*4 */            \
    X(Ipv4BadVersion, "ipv4.bad_version")                                                  \
    X(Ipv4HeaderLenTooSmall, "ipv4.header_len_too_small")       /* IHL < 5 */              \
    X(Ipv4TotalLenTooSmall, "ipv4.total_len_too_small")         /* total length < IHL*4 */ \
    X(Ipv4TotalLenExceedsFrame, "ipv4.total_len_exceeds_frame") /* lies: frame not cut */  \
    X(Ipv6HeaderTruncated, "ipv6.header_truncated")                                        \
    X(Ipv6BadVersion, "ipv6.bad_version")                                                  \
    X(Ipv6PayloadLenExceedsFrame, "ipv6.payload_len_exceeds_frame")                        \
    X(Ipv6ExtTruncated, "ipv6.ext_header_truncated")                                       \
    X(Ipv6TooManyExt, "ipv6.too_many_ext_headers")                                         \
    X(Ipv6BadRoutingHeader, "ipv6.bad_routing_header")                                     \
    /* IP reassembly (decode/reassembly.h states the rules) */                             \
    X(FragmentOverlap, "ip.fragment_overlap")       /* datagram discarded */               \
    X(FragmentDuplicate, "ip.fragment_duplicate")   /* bytes all held already: ignored */  \
    X(FragmentOversized, "ip.fragment_oversized")   /* ends past 65,535: discarded */      \
    X(FragmentTooMany, "ip.fragment_too_many")      /* over the per-datagram cap */        \
    X(FragmentBadLength, "ip.fragment_bad_length")  /* empty, or not 8-byte units */       \
    X(FragmentMemoryCap, "ip.fragment_memory_cap")  /* an older datagram evicted */        \
    X(FragmentIncomplete, "ip.fragment_incomplete") /* a datagram never completed */       \
    X(TcpHeaderTruncated, "tcp.header_truncated")                                          \
    X(TcpDataOffsetTooSmall, "tcp.data_offset_too_small")                                  \
    X(TcpDataOffsetExceedsSegment, "tcp.data_offset_exceeds_segment")                      \
    X(UdpHeaderTruncated, "udp.header_truncated")                                          \
    X(UdpLengthTooSmall, "udp.length_too_small")                                           \
    X(UdpLengthExceedsIp, "udp.length_exceeds_ip_payload")                                 \
    X(UdpLengthShort, "udp.length_short_of_ip_payload") /* trailing bytes inside IP */     \
    X(IcmpTruncated, "icmp.truncated")                                                     \
    X(VxlanTruncated, "vxlan.truncated")                                                   \
    X(VxlanIFlagClear, "vxlan.i_flag_clear") /* RFC 7348: VNI not valid */                 \
    X(VxlanReservedNonzero, "vxlan.reserved_nonzero")                                      \
    X(GeneveTruncated, "geneve.truncated")                                                 \
    X(GeneveBadVersion, "geneve.bad_version")                                              \
    X(GreTruncated, "gre.truncated")                                                       \
    X(GreBadVersion, "gre.bad_version")         /* not 0, nor a valid PPTP version 1 */    \
    X(GreRoutingPresent, "gre.routing_present") /* RFC 1701 source routing: not decoded */ \
    X(GreUnknownProtocol, "gre.unknown_protocol")                                          \
    X(ErspanTruncated, "erspan.truncated")                                                 \
    X(ErspanBadVersion, "erspan.bad_version")                                              \
    X(ErspanUnknownFrameType, "erspan.unknown_frame_type") /* type III FT not Ethernet */  \
    X(MplsTruncated, "mpls.truncated")                                                     \
    X(MplsNoBottomOfStack, "mpls.no_bottom_of_stack") /* frame ends inside the stack */    \
    X(MplsTooManyLabels, "mpls.too_many_labels")      /* beyond kMaxMplsLabels */          \
    X(MplsUnknownPayload, "mpls.unknown_payload")     /* first nibble not 0, 4 or 6 */     \
    X(TunnelDepthExceeded, "decode.tunnel_depth_exceeded")                                 \
    X(TooManyLayers, "decode.too_many_layers")                                             \
    /* NFLOG (LINKTYPE_NFLOG) */                                                           \
    X(NflogTruncated, "nflog.truncated")          /* shorter than its 4-byte header */     \
    X(NflogBadVersion, "nflog.bad_version")       /* header version not 0 */               \
    X(NflogTlvTruncated, "nflog.tlv_truncated")   /* a TLV runs past the frame */          \
    X(NflogTlvTooShort, "nflog.tlv_too_short")    /* TLV length < its 4-byte header */     \
    X(NflogNoPayload, "nflog.no_payload")         /* no NFULA_PAYLOAD TLV */               \
    X(NflogUnknownFamily, "nflog.unknown_family") /* payload neither IPv4 nor IPv6 */

enum class Anomaly : std::uint8_t {
#define VXCHECK_ANOMALY_ENUM(name, str) name,
    VXCHECK_ANOMALIES(VXCHECK_ANOMALY_ENUM)
#undef VXCHECK_ANOMALY_ENUM
};

inline constexpr std::size_t kAnomalyCount = 0
#define VXCHECK_ANOMALY_COUNT(name, str) +1
    VXCHECK_ANOMALIES(VXCHECK_ANOMALY_COUNT)
#undef VXCHECK_ANOMALY_COUNT
    ;

[[nodiscard]] std::string_view to_string(Anomaly a) noexcept;

}  // namespace vxcheck::decode

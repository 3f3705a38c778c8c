// IPv6 (RFC 8200) and the extension headers that change how the upper layer is found or
// checksummed.
//
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |Version| Traffic Class |           Flow Label                  |
//  |         Payload Length        |  Next Header  |   Hop Limit   |
//  |                  Source Address (16)                          |
//  |               Destination Address (16)                        |
//
//  Hop-by-Hop (0) / Destination Options (60): next(1) len(1, 8-byte units after the first 8) opts
//  Routing (43): next(1) len(1) type(1) segments_left(1) data; types 0/2 list addresses from +8,
//                type 4 (SRH, RFC 8754) lists segments from +8 with Segment List[0] = final one
//  Fragment (44): next(1) reserved(1) offset(13)|res(2)|M(1) identification(4)
//  AH (51): next(1) len(1, 4-byte units minus 2) ...
//
// Pseudo-header rules: the destination is the final one when a Routing header still has
// segments left (RFC 8200 8.1); a Home Address option replaces the source (RFC 6275 6.3).

#include "decoders.h"

namespace vxcheck::decode {
namespace {

using wire::kIpv6HeaderLen;

constexpr std::size_t kAddrLen = 16;
constexpr std::size_t kFragmentHeaderLen = 8;
constexpr std::size_t kRoutingFixedLen = 8;
constexpr int kMaxExtHeaders = 8;

constexpr std::uint8_t kHopByHop = 0;
constexpr std::uint8_t kRouting = 43;
constexpr std::uint8_t kFragment = 44;
constexpr std::uint8_t kAh = 51;
constexpr std::uint8_t kDestOptions = 60;

constexpr std::uint8_t kRoutingType0 = 0;
constexpr std::uint8_t kRoutingType2 = 2;  // Mobile IPv6
constexpr std::uint8_t kRoutingSrh = 4;    // Segment Routing (RFC 8754)

constexpr std::uint8_t kOptPad1 = 0;
constexpr std::uint8_t kOptHomeAddress = 201;

// Scans a Destination Options header's TLVs for a Home Address option.
void scan_dest_options(Bytes ext, Ipv6Info& info) noexcept {
    std::size_t off = 2;
    while (off < ext.size()) {
        const std::uint8_t type = ext[off];
        if (type == kOptPad1) {
            ++off;
            continue;
        }
        if (off + 2 > ext.size()) {
            return;
        }
        const std::size_t len = ext[off + 1];
        if (off + 2 + len > ext.size()) {
            return;
        }
        if (type == kOptHomeAddress && len == kAddrLen) {
            info.pseudo_src = ext.subspan(off + 2, kAddrLen);
        }
        off += 2 + len;
    }
}

// Returns false when the Routing header is inconsistent.
bool scan_routing(Bytes ext, Ipv6Info& info) noexcept {
    const std::uint8_t type = ext[2];
    const std::uint8_t segments_left = ext[3];
    if (segments_left == 0) {
        return true;  // the IPv6 destination is already the final one
    }
    const std::size_t addrs = (ext.size() - kRoutingFixedLen) / kAddrLen;
    switch (type) {
        case kRoutingType0:
        case kRoutingType2:
            if (addrs == 0 || segments_left > addrs) {
                return false;  // RFC 8200 4.4: segments left beyond the address list
            }
            info.pseudo_dst = ext.subspan(kRoutingFixedLen + (addrs - 1) * kAddrLen, kAddrLen);
            return true;
        case kRoutingSrh:
            if (addrs == 0 || segments_left > ext[4] + 1) {
                return false;  // RFC 8754 4.3.1.1: segments left beyond last entry + 1
            }
            info.pseudo_dst = ext.subspan(kRoutingFixedLen, kAddrLen);
            return true;
        default:
            return true;  // unknown type: nothing we can say about the final destination
    }
}

// Where the walk over the extension headers is: the next header's type and offset, and
// whether there is no upper layer to decode (a non-first fragment, a bad extension header).
struct ExtWalk {
    std::uint8_t next = 0;
    std::size_t off = 0;
    bool stop = false;
};

bool is_extension_header(std::uint8_t type) noexcept {
    return type == kHopByHop || type == kRouting || type == kFragment || type == kAh ||
           type == kDestOptions;
}

// The length of the extension header of type `type` at `off`. Precondition: off + 2 <= size.
std::size_t extension_header_len(Bytes extent, std::size_t off, std::uint8_t type) noexcept {
    switch (type) {
        case kFragment:
            return kFragmentHeaderLen;
        case kAh:
            return (std::size_t{extent[off + 1]} + 2) * 4;
        default:
            return (std::size_t{extent[off + 1]} + 1) * 8;
    }
}

// Walks the extension headers from w.next at w.off to the upper-layer protocol (or ESP / No
// Next Header: the walk stops there too), reading what changes the pseudo-header and the
// fragment fields into `info`.
void walk_extension_headers(Bytes extent, Ipv6Info& info, DecodedPacket& pkt, ExtWalk& w) noexcept {
    for (int n = 0; !w.stop && is_extension_header(w.next); ++n) {
        if (n == kMaxExtHeaders) {
            pkt.note(Anomaly::Ipv6TooManyExt);
            w.stop = true;
            return;
        }
        const std::size_t len =
            w.off + 2 > extent.size() ? 0 : extension_header_len(extent, w.off, w.next);
        if (len == 0 || w.off + len > extent.size()) {
            pkt.note(Anomaly::Ipv6ExtTruncated);
            w.stop = true;
            return;
        }
        const Bytes ext = extent.subspan(w.off, len);
        if (w.next == kDestOptions) {
            scan_dest_options(ext, info);
        } else if (w.next == kRouting && !scan_routing(ext, info)) {
            pkt.note(Anomaly::Ipv6BadRoutingHeader);
        } else if (w.next == kFragment) {
            const std::uint16_t fo = be16(ext, 2);
            info.fragment = true;
            info.frag_offset = static_cast<std::uint16_t>(fo & 0xfff8U);
            info.more_fragments = (fo & 1U) != 0;
            w.stop = info.frag_offset != 0;
        }
        w.next = ext[0];
        w.off += len;
    }
}

}  // namespace

void decode_ipv6(Step& s, DecodedPacket& pkt) noexcept {
    const Bytes b = s.bytes;
    if (b.size() < kIpv6HeaderLen) {
        return fail(s, pkt, Anomaly::Ipv6HeaderTruncated);
    }
    if (ip_version(b) != 6) {
        return fail(s, pkt, Anomaly::Ipv6BadVersion);
    }
    Ipv6Info info{.src = b.subspan(8, kAddrLen),
                  .dst = b.subspan(24, kAddrLen),
                  .pseudo_src = b.subspan(8, kAddrLen),
                  .pseudo_dst = b.subspan(24, kAddrLen),
                  .payload_length = be16(b, 4),
                  .hop_limit = b[7]};
    info.length_from_capture = info.payload_length == 0 && b.size() > kIpv6HeaderLen;
    const std::uint32_t claimed =
        info.length_from_capture ? s.claimed
                                 : static_cast<std::uint32_t>(kIpv6HeaderLen) + info.payload_length;
    if (claimed > s.claimed) {  // more than the wire (or the enclosing header) carried
        pkt.note(Anomaly::Ipv6PayloadLenExceedsFrame);
    }
    const Bytes extent = clip(b, claimed);

    ExtWalk w{.next = b[6], .off = kIpv6HeaderLen};
    walk_extension_headers(extent, info, pkt, w);
    info.next_header = w.next;
    pkt.add<Ipv6Info>(Proto::Ipv6, w.off, claimed, extent) = info;
    if (w.stop) {
        return end(s);
    }
    s.bytes = extent;
    s.claimed = claimed;
    decode::next(s, Via::IpProtocol, w.next, w.off);
}

}  // namespace vxcheck::decode

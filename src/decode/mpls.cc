// MPLS label stacks (RFC 3032), EtherTypes 0x8847 and 0x8848 (RFC 5332), and over GRE (RFC 4023).
//
//   Label(20) TC(3) S(1) TTL(8)     one layer per entry, until S (bottom of stack)
//
// What follows the bottom of the stack is not named anywhere; as Wireshark and the Linux
// mpls_forward() do, the first nibble decides: 4 IPv4, 6 IPv6, 0 a pseudowire control word
// (RFC 4385: 0000, flags, fragment, length, sequence; 4 bytes, part of the bottom entry's layer)
// before an Ethernet pseudowire's frame (RFC 4448). Any other nibble (1 is a pseudowire
// associated channel) is mpls.unknown_payload, and decoding stops.
//
// A stack that ends with the frame before an entry with S set is mpls.no_bottom_of_stack (or
// mpls.truncated when the capture cut it); one longer than kMaxMplsLabels entries is
// mpls.too_many_labels. MPLS adds no tunnel depth: a label is not an encapsulation in IP, and
// the IP packet after it is the frame's outer one (the loop is bounded by the label cap here and
// by the layer stack's cap across stacks).

#include "decoders.h"

namespace vxcheck::decode {
namespace {

constexpr std::size_t kMplsEntryLen = 4;
constexpr std::size_t kControlWordLen = 4;
constexpr std::size_t kMaxMplsLabels = 16;

// What the first nibble after the bottom of the stack says follows.
enum class AfterStack : std::uint8_t { Ipv4, Ipv6, ControlWord, Unknown };

AfterStack after_stack(std::uint8_t first) noexcept {
    switch (first >> 4) {
        case 4:
            return AfterStack::Ipv4;
        case 6:
            return AfterStack::Ipv6;
        case 0:
            return AfterStack::ControlWord;
        default:
            return AfterStack::Unknown;
    }
}

}  // namespace

void decode_mpls(Step& s, DecodedPacket& pkt) noexcept {
    for (std::size_t n = 0;; ++n) {
        const Bytes b = s.bytes;
        if (n == kMaxMplsLabels) {
            return fail(s, pkt, Anomaly::MplsTooManyLabels);
        }
        if (b.size() < kMplsEntryLen) {
            const bool cut = b.size() < s.claimed;  // the capture, not the stack, ended
            return fail(s, pkt, cut ? Anomaly::MplsTruncated : Anomaly::MplsNoBottomOfStack);
        }
        const std::uint32_t entry = be32(b, 0);
        const bool bottom = (entry & 0x100U) != 0;
        const AfterStack after = bottom && b.size() > kMplsEntryLen ? after_stack(b[kMplsEntryLen])
                                                                    : AfterStack::Unknown;
        const bool cw = after == AfterStack::ControlWord;
        const std::size_t header_len = kMplsEntryLen + (cw ? kControlWordLen : 0);
        if (header_len > b.size()) {
            return fail(s, pkt, Anomaly::MplsTruncated);
        }
        auto& info = pkt.add<MplsInfo>(Proto::Mpls, header_len, s.claimed, b);
        info.label = entry >> 12;
        info.tc = static_cast<std::uint8_t>((entry >> 9) & 0x7U);
        info.bottom = bottom;
        info.ttl = static_cast<std::uint8_t>(entry & 0xffU);
        info.control_word = cw;
        if (!bottom) {
            next(s, Via::End, 0, kMplsEntryLen);
            continue;
        }
        if (b.size() == kMplsEntryLen) {
            return end(s);  // nothing captured after the stack
        }
        switch (after) {
            case AfterStack::Ipv4:
                return next(s, Via::Direct, static_cast<std::uint32_t>(Proto::Ipv4), header_len);
            case AfterStack::Ipv6:
                return next(s, Via::Direct, static_cast<std::uint32_t>(Proto::Ipv6), header_len);
            case AfterStack::ControlWord:
                return next(s, Via::Direct, static_cast<std::uint32_t>(Proto::Ethernet),
                            header_len);
            case AfterStack::Unknown:
                break;
        }
        return fail(s, pkt, Anomaly::MplsUnknownPayload);
    }
}

}  // namespace vxcheck::decode

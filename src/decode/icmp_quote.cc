// ICMP error quotes (RFC 792; RFC 4443 2.4): the error header is 8 bytes, then the quoted IP
// header (IPv4 with its options, IHL words; IPv6 its fixed 40 bytes: extension headers are not
// followed) and the transport header's first 8 bytes (ports, sequence number).

#include "vxcheck/decode/icmp_quote.h"

#include <algorithm>

#include "vxcheck/wire.h"

namespace vxcheck::decode {
namespace {

constexpr std::size_t kQuotedL4Len = 8;  // what every ICMP error quotes at least (RFC 792)
constexpr std::size_t kIpv4ProtocolOffset = 9;
constexpr std::size_t kIpv4SrcOffset = 12;
constexpr std::size_t kIpv4DstOffset = 16;
constexpr std::size_t kIpv6NextHeaderOffset = 6;
constexpr std::size_t kIpv6SrcOffset = 8;
constexpr std::size_t kIpv6DstOffset = 24;

}  // namespace

std::optional<QuotedTcp> quoted_tcp(Bytes icmp, bool v6) noexcept {
    if (icmp.size() < wire::kIcmpErrorHeaderLen) {
        return std::nullopt;
    }
    const Bytes q = icmp.subspan(wire::kIcmpErrorHeaderLen);
    QuotedTcp t;
    t.v6 = v6;
    std::size_t l4 = 0;
    if (!v6) {
        if (q.size() < wire::kIpv4MinHeaderLen || (q[0] >> 4) != 4 ||
            q[kIpv4ProtocolOffset] != wire::kIpProtoTcp) {
            return std::nullopt;
        }
        l4 = std::size_t{q[0] & 0x0fU} * 4;
        if (l4 < wire::kIpv4MinHeaderLen) {
            return std::nullopt;  // IHL < 5: not an IPv4 header
        }
        std::copy_n(q.begin() + kIpv4SrcOffset, 4, t.src.begin());
        std::copy_n(q.begin() + kIpv4DstOffset, 4, t.dst.begin());
    } else {
        if (q.size() < wire::kIpv6HeaderLen || (q[0] >> 4) != 6 ||
            q[kIpv6NextHeaderOffset] != wire::kIpProtoTcp) {
            return std::nullopt;
        }
        l4 = wire::kIpv6HeaderLen;
        std::copy_n(q.begin() + kIpv6SrcOffset, 16, t.src.begin());
        std::copy_n(q.begin() + kIpv6DstOffset, 16, t.dst.begin());
    }
    if (q.size() < l4 + kQuotedL4Len) {
        return std::nullopt;
    }
    t.sport = be16(q, l4);
    t.dport = be16(q, l4 + 2);
    t.seq = be32(q, l4 + 4);
    return t;
}

}  // namespace vxcheck::decode

#include "vxcheck/track/community_id.h"

#include <openssl/sha.h>

#include <array>
#include <cstddef>

namespace vxcheck::track {

namespace {

// ICMPv4 requests and their replies (RFC 792, RFC 950; Zeek's ICMP4_counterpart).
int icmp4_counterpart(std::uint8_t type) noexcept {
    switch (type) {
        case 8:  // echo
            return 0;
        case 0:  // echo reply
            return 8;
        case 13:  // timestamp
            return 14;
        case 14:
            return 13;
        case 15:  // information request
            return 16;
        case 16:
            return 15;
        case 10:  // router solicitation -> advertisement (one direction only, as Zeek)
            return 9;
        case 17:  // address mask request
            return 18;
        case 18:
            return 17;
        default:
            return -1;
    }
}

// ICMPv6 requests and their replies (RFC 4443, RFC 4861, RFC 2710, RFC 6275; Zeek's
// ICMP6_counterpart).
int icmp6_counterpart(std::uint8_t type) noexcept {
    switch (type) {
        case 128:  // echo request
            return 129;
        case 129:
            return 128;
        case 133:  // router solicitation
            return 134;
        case 134:
            return 133;
        case 135:  // neighbor solicitation
            return 136;
        case 136:
            return 135;
        case 130:  // multicast listener query
            return 131;
        case 131:
            return 130;
        case 139:  // node information query
            return 140;
        case 140:
            return 139;
        case 144:  // home agent address discovery
            return 145;
        case 145:
            return 144;
        default:
            return -1;
    }
}

bool has_ports(std::uint8_t proto) noexcept {
    return proto == kProtoTcp || proto == kProtoUdp || proto == kProtoSctp || proto == kProtoIcmp ||
           proto == kProtoIcmpv6;
}

// Base64 (RFC 4648 section 4, with padding) of the 20-byte digest.
std::string base64(const std::uint8_t* data, std::size_t n) {
    static constexpr char kAlphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    out.reserve((n + 2) / 3 * 4);
    for (std::size_t i = 0; i < n; i += 3) {
        const std::size_t left = n - i;
        const std::uint32_t v = (std::uint32_t{data[i]} << 16) |
                                (left > 1 ? std::uint32_t{data[i + 1]} << 8 : 0U) |
                                (left > 2 ? std::uint32_t{data[i + 2]} : 0U);
        out += kAlphabet[(v >> 18) & 0x3fU];
        out += kAlphabet[(v >> 12) & 0x3fU];
        out += left > 1 ? kAlphabet[(v >> 6) & 0x3fU] : '=';
        out += left > 2 ? kAlphabet[v & 0x3fU] : '=';
    }
    return out;
}

}  // namespace

IcmpPorts icmp_ports(bool v6, std::uint8_t type, std::uint8_t code) noexcept {
    const int other = v6 ? icmp6_counterpart(type) : icmp4_counterpart(type);
    if (other < 0) {
        return {.sport = type, .dport = code, .one_way = true};
    }
    return {.sport = type, .dport = static_cast<std::uint16_t>(other), .one_way = false};
}

std::string community_id(const Endpoint& src, const Endpoint& dst, std::uint8_t proto,
                         std::uint16_t seed, bool one_way) {
    if (src.v6 != dst.v6) {
        return {};
    }
    // The smaller address:port first (the spec's order_endpoints), compared as network-order
    // bytes; Endpoint's ordering is exactly that for two endpoints of one family.
    const bool swap = !one_way && dst < src;
    const Endpoint& a = swap ? dst : src;
    const Endpoint& b = swap ? src : dst;
    const std::size_t alen = src.v6 ? 16 : 4;
    // seed . saddr . daddr . proto . 0 . sport . dport, all in network byte order.
    std::array<std::uint8_t, 2 + 16 + 16 + 2 + 4> msg{};
    std::size_t n = 0;
    msg[n++] = static_cast<std::uint8_t>(seed >> 8);
    msg[n++] = static_cast<std::uint8_t>(seed);
    for (std::size_t i = 0; i < alen; ++i) {
        msg[n++] = a.addr[i];
    }
    for (std::size_t i = 0; i < alen; ++i) {
        msg[n++] = b.addr[i];
    }
    msg[n++] = proto;
    msg[n++] = 0;
    if (has_ports(proto)) {
        msg[n++] = static_cast<std::uint8_t>(a.port >> 8);
        msg[n++] = static_cast<std::uint8_t>(a.port);
        msg[n++] = static_cast<std::uint8_t>(b.port >> 8);
        msg[n++] = static_cast<std::uint8_t>(b.port);
    }
    std::array<std::uint8_t, SHA_DIGEST_LENGTH> digest{};
    SHA1(msg.data(), n, digest.data());
    return "1:" + base64(digest.data(), digest.size());
}

}  // namespace vxcheck::track

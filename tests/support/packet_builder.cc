// PacketBuilder: serialises the layer list in three passes over one byte vector.
//   1. headers with placeholder fields, concatenated outermost first;
//   2. next-protocol fields and lengths (they only depend on the layout);
//   3. checksums from the innermost layer outwards, then the local-checksum-offload rewrite.
// The checksum arithmetic here is a naive word-at-a-time loop on purpose (see the header).

#include "packet_builder.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <stdexcept>

namespace vxcheck::test {
namespace {

constexpr std::uint8_t kProtoIcmp = 1;
constexpr std::uint8_t kProtoTcp = 6;
constexpr std::uint8_t kProtoUdp = 17;
constexpr std::uint8_t kProtoIcmpv6 = 58;
constexpr std::uint8_t kProtoNoNext = 59;
constexpr std::uint8_t kProtoExperimental = 253;  // RFC 3692: IPv4 with no known payload

constexpr std::uint16_t kEthIpv4 = 0x0800;
constexpr std::uint16_t kEthIpv6 = 0x86dd;
constexpr std::uint16_t kEthTeb = 0x6558;
constexpr std::uint16_t kEthExperimental = 0x88b5;  // IEEE 802 local experimental: not IP
constexpr std::uint16_t kEthMpls = 0x8847;
constexpr std::uint16_t kEthErspan2 = 0x88be;
constexpr std::uint16_t kEthErspan3 = 0x22eb;
constexpr std::uint8_t kProtoIpip = 4;
constexpr std::uint8_t kProtoIpv6 = 41;
constexpr std::uint8_t kProtoGre = 47;

constexpr std::uint8_t kExtHopByHop = 0;
constexpr std::uint8_t kExtRouting = 43;
constexpr std::uint8_t kExtFragment = 44;
constexpr std::uint8_t kExtDestOptions = 60;

void put16(ByteVec& b, std::size_t off, std::uint32_t v) {
    b.at(off) = static_cast<std::uint8_t>(v >> 8);
    b.at(off + 1) = static_cast<std::uint8_t>(v);
}

void put32(ByteVec& b, std::size_t off, std::uint32_t v) {
    put16(b, off, v >> 16);
    put16(b, off + 2, v & 0xffffU);
}

void append16(ByteVec& b, std::uint32_t v) {
    b.push_back(static_cast<std::uint8_t>(v >> 8));
    b.push_back(static_cast<std::uint8_t>(v));
}

void append32(ByteVec& b, std::uint32_t v) {
    append16(b, v >> 16);
    append16(b, v & 0xffffU);
}

void pad4(ByteVec& b) {
    while (b.size() % 4 != 0) {
        b.push_back(0);
    }
}

bool is_ip(Kind k) {
    return k == Kind::Ipv4 || k == Kind::Ipv6;
}

}  // namespace

// --- free helpers -------------------------------------------------------------------------------

std::uint32_t ipv4_addr(std::string_view dotted) {
    const std::string s{dotted};
    in_addr a{};
    if (inet_pton(AF_INET, s.c_str(), &a) != 1) {
        throw std::invalid_argument("bad IPv4 literal: " + s);
    }
    return ntohl(a.s_addr);
}

std::array<std::uint8_t, 16> ipv6_addr(std::string_view text) {
    const std::string s{text};
    std::array<std::uint8_t, 16> out{};
    if (inet_pton(AF_INET6, s.c_str(), out.data()) != 1) {
        throw std::invalid_argument("bad IPv6 literal: " + s);
    }
    return out;
}

std::uint32_t ref_sum(const std::uint8_t* data, std::size_t n, std::uint32_t initial) noexcept {
    std::uint64_t sum = initial;
    for (std::size_t i = 0; i < n; i += 2) {
        const std::uint32_t hi = data[i];
        const std::uint32_t lo = i + 1 < n ? data[i + 1] : 0;
        sum += (hi << 8) | lo;
        sum = (sum & 0xffffU) + (sum >> 16);  // keep it small: fold as we go
    }
    return static_cast<std::uint32_t>(sum);
}

std::uint16_t ref_fold(std::uint64_t sum) noexcept {
    while (sum > 0xffff) {
        sum = (sum & 0xffffU) + (sum >> 16);
    }
    return static_cast<std::uint16_t>(sum);
}

ByteVec from_hex(std::string_view hex) {
    ByteVec out;
    int nibbles = 0;
    std::uint8_t cur = 0;
    for (const char c : hex) {
        if (std::isspace(static_cast<unsigned char>(c)) != 0) {
            continue;
        }
        int v = 0;
        if (c >= '0' && c <= '9') {
            v = c - '0';
        } else if (c >= 'a' && c <= 'f') {
            v = c - 'a' + 10;
        } else if (c >= 'A' && c <= 'F') {
            v = c - 'A' + 10;
        } else {
            throw std::invalid_argument("bad hex digit");
        }
        cur = static_cast<std::uint8_t>((cur << 4) | v);
        if (++nibbles % 2 == 0) {
            out.push_back(cur);
            cur = 0;
        }
    }
    if (nibbles % 2 != 0) {
        throw std::invalid_argument("odd number of hex digits");
    }
    return out;
}

std::string to_hex(const std::uint8_t* data, std::size_t n) {
    std::string out;
    char buf[4];
    for (std::size_t i = 0; i < n; ++i) {
        std::snprintf(buf, sizeof buf, "%02x", data[i]);
        out += buf;
        out += (i % 16 == 15) ? '\n' : ' ';
    }
    return out;
}

ByteVec geneve_option(std::uint16_t option_class, std::uint8_t type, ByteVec data) {
    pad4(data);
    if (data.size() / 4 > 0x1f) {
        throw std::logic_error("geneve option data too long");
    }
    ByteVec out;
    append16(out, option_class);
    out.push_back(type);
    out.push_back(static_cast<std::uint8_t>(data.size() / 4));
    out.insert(out.end(), data.begin(), data.end());
    return out;
}

// --- BuiltPacket --------------------------------------------------------------------------------

RawFrame BuiltPacket::frame(std::uint64_t number) const noexcept {
    RawFrame f;
    f.ts = Timestamp{.sec = 1700000000, .nsec = 0};
    f.caplen = caplen;
    f.wirelen = wirelen;
    f.link = link;
    f.number = number;
    f.data = Bytes{bytes.data(), bytes.size()};
    return f;
}

const BuiltLayer& BuiltPacket::layer(Kind kind, std::size_t n) const {
    for (const BuiltLayer& l : layers) {
        if (l.kind == kind && n-- == 0) {
            return l;
        }
    }
    throw std::out_of_range("no such layer in the built packet");
}

std::uint16_t BuiltPacket::be16_at(std::size_t offset) const {
    return static_cast<std::uint16_t>((bytes.at(offset) << 8) | bytes.at(offset + 1));
}

// --- PacketBuilder: layer list ------------------------------------------------------------------

PacketBuilder& PacketBuilder::add(Spec s) {
    specs_.push_back(std::move(s));
    return *this;
}

PacketBuilder::Spec& PacketBuilder::last(const char* what) {
    if (specs_.empty()) {
        throw std::logic_error(std::string(what) + ": no layer yet");
    }
    return specs_.back();
}

PacketBuilder::Spec& PacketBuilder::last_of(std::initializer_list<Kind> kinds, const char* what) {
    for (auto it = specs_.rbegin(); it != specs_.rend(); ++it) {
        if (std::find(kinds.begin(), kinds.end(), it->kind) != kinds.end()) {
            return *it;
        }
    }
    throw std::logic_error(std::string(what) + ": no suitable layer before it");
}

PacketBuilder::Spec& PacketBuilder::last_checksummed(const char* what) {
    return last_of({Kind::Ipv4, Kind::Tcp, Kind::Udp, Kind::Icmp, Kind::Gre}, what);
}

PacketBuilder::Spec& PacketBuilder::last_l4(const char* what) {
    return last_of({Kind::Tcp, Kind::Udp}, what);
}

PacketBuilder& PacketBuilder::ethernet(Mac dst, Mac src) {
    Spec s;
    s.kind = Kind::Ethernet;
    s.header.assign(dst.begin(), dst.end());
    s.header.insert(s.header.end(), src.begin(), src.end());
    append16(s.header, 0);
    return add(std::move(s));
}

PacketBuilder& PacketBuilder::vlan(std::uint16_t vid, std::uint16_t tpid, std::uint8_t pcp) {
    Spec s;
    s.kind = Kind::Vlan;
    s.vlan_tpid = tpid;
    append16(s.header, static_cast<std::uint32_t>((pcp & 0x7U) << 13) | (vid & 0x0fffU));
    append16(s.header, 0);
    return add(std::move(s));
}

PacketBuilder& PacketBuilder::sll(std::uint16_t packet_type) {
    Spec s;
    s.kind = Kind::Sll;
    append16(s.header, packet_type);
    append16(s.header, 1);  // ARPHRD_ETHER
    append16(s.header, 6);
    s.header.insert(s.header.end(), kMacA.begin(), kMacA.end());
    append16(s.header, 0);  // address padding
    append16(s.header, 0);  // protocol
    return add(std::move(s));
}

PacketBuilder& PacketBuilder::sll2(std::uint32_t ifindex, std::uint8_t packet_type) {
    Spec s;
    s.kind = Kind::Sll2;
    append16(s.header, 0);  // protocol
    append16(s.header, 0);  // reserved
    append32(s.header, ifindex);
    append16(s.header, 1);  // ARPHRD_ETHER
    s.header.push_back(packet_type);
    s.header.push_back(6);
    s.header.insert(s.header.end(), kMacA.begin(), kMacA.end());
    append16(s.header, 0);
    return add(std::move(s));
}

PacketBuilder& PacketBuilder::null_link(std::optional<std::uint32_t> family, bool big_endian) {
    Spec s;
    s.kind = Kind::Null;
    s.null_family = family;
    s.big_endian = big_endian;
    s.header.assign(4, 0);
    return add(std::move(s));
}

PacketBuilder& PacketBuilder::link_type(LinkType t) {
    link_override_ = t;
    return *this;
}

PacketBuilder& PacketBuilder::ethertype(std::uint16_t type) {
    last_of({Kind::Ethernet, Kind::Vlan, Kind::Sll, Kind::Sll2, Kind::Gre}, "ethertype()")
        .next_override = type;
    return *this;
}

PacketBuilder& PacketBuilder::ipv4(std::string_view src, std::string_view dst) {
    Spec s;
    s.kind = Kind::Ipv4;
    s.src4 = ipv4_addr(src);
    s.dst4 = ipv4_addr(dst);
    s.header = {0x45, 0x00, 0, 0,   // version/IHL, TOS, total length
                0x12, 0x34, 0, 0,   // identification, flags/fragment offset
                64,   0,    0, 0};  // TTL, protocol, header checksum
    append32(s.header, s.src4);
    append32(s.header, s.dst4);
    return add(std::move(s));
}

PacketBuilder& PacketBuilder::ipv4_id(std::uint16_t id) {
    put16(last_of({Kind::Ipv4}, "ipv4_id()").header, 4, id);
    return *this;
}

PacketBuilder& PacketBuilder::ipv4_ttl(std::uint8_t ttl) {
    last_of({Kind::Ipv4}, "ipv4_ttl()").header[8] = ttl;
    return *this;
}

PacketBuilder& PacketBuilder::ipv4_dont_fragment(bool df) {
    Spec& s = last_of({Kind::Ipv4}, "ipv4_dont_fragment()");
    s.header[6] = static_cast<std::uint8_t>(df ? (s.header[6] | 0x40U) : (s.header[6] & 0xbfU));
    return *this;
}

PacketBuilder& PacketBuilder::ipv4_fragment(std::uint16_t offset_bytes, bool more_fragments) {
    if (offset_bytes % 8 != 0) {
        throw std::logic_error("ipv4_fragment(): offset must be a multiple of 8");
    }
    Spec& s = last_of({Kind::Ipv4}, "ipv4_fragment()");
    const std::uint32_t df = s.header[6] & 0x40U;
    put16(s.header, 6, (df << 8) | (more_fragments ? 0x2000U : 0U) | (offset_bytes / 8U));
    return *this;
}

PacketBuilder& PacketBuilder::ipv4_options(ByteVec options) {
    Spec& s = last_of({Kind::Ipv4}, "ipv4_options()");
    pad4(options);
    s.header.resize(20);
    s.header.insert(s.header.end(), options.begin(), options.end());
    return *this;
}

PacketBuilder& PacketBuilder::ip_total_length(std::uint16_t v) {
    last_of({Kind::Ipv4}, "ip_total_length()").length_override = v;
    return *this;
}

PacketBuilder& PacketBuilder::ipv4_ihl(std::uint8_t ihl) {
    last_of({Kind::Ipv4}, "ipv4_ihl()").ihl_override = ihl;
    return *this;
}

PacketBuilder& PacketBuilder::ip_version(std::uint8_t version) {
    last_of({Kind::Ipv4, Kind::Ipv6}, "ip_version()").version_override = version;
    return *this;
}

PacketBuilder& PacketBuilder::ipv6(std::string_view src, std::string_view dst) {
    Spec s;
    s.kind = Kind::Ipv6;
    s.src6 = ipv6_addr(src);
    s.dst6 = ipv6_addr(dst);
    s.header = {0x60, 0x00, 0x00, 0x00, 0, 0, 0, 64};  // version, TC, flow, length, next, hops
    s.header.insert(s.header.end(), s.src6.begin(), s.src6.end());
    s.header.insert(s.header.end(), s.dst6.begin(), s.dst6.end());
    return add(std::move(s));
}

PacketBuilder& PacketBuilder::ipv6_payload_length(std::uint16_t v) {
    last_of({Kind::Ipv6}, "ipv6_payload_length()").length_override = v;
    return *this;
}

PacketBuilder& PacketBuilder::ipv6_ext(std::uint8_t type, ByteVec bytes) {
    if (specs_.empty() ||
        (specs_.back().kind != Kind::Ipv6 && specs_.back().kind != Kind::Ipv6Ext)) {
        throw std::logic_error("IPv6 extension header must follow ipv6() or another one");
    }
    if (bytes.size() < 2) {
        throw std::logic_error("extension header shorter than 2 bytes");
    }
    Spec s;
    s.kind = Kind::Ipv6Ext;
    s.header = std::move(bytes);
    s.ext_type = type;
    return add(std::move(s));
}

namespace {
// An options header (hop-by-hop / destination): next, len, then `opts` padded with PadN/Pad1 to
// a multiple of 8 plus `extra_units` * 8 bytes of PadN.
ByteVec options_header(ByteVec opts, std::uint8_t extra_units) {
    ByteVec h(2 + opts.size(), 0);  // not {0, 0} + insert: GCC 12 -Warray-bounds false positive
    std::copy(opts.begin(), opts.end(), h.begin() + 2);
    std::size_t pad = (8 - h.size() % 8) % 8 + std::size_t{extra_units} * 8;
    if (h.size() + pad < 8) {
        pad += 8;
    }
    while (pad > 0) {
        if (pad == 1) {
            h.push_back(0);  // Pad1
            pad = 0;
        } else {
            const std::size_t n = std::min<std::size_t>(pad - 2, 255);
            h.push_back(1);  // PadN
            h.push_back(static_cast<std::uint8_t>(n));
            h.insert(h.end(), n, 0);
            pad -= n + 2;
        }
    }
    h[1] = static_cast<std::uint8_t>(h.size() / 8 - 1);
    return h;
}
}  // namespace

PacketBuilder& PacketBuilder::hop_by_hop(std::uint8_t extra_units) {
    return ipv6_ext(kExtHopByHop, options_header({}, extra_units));
}

PacketBuilder& PacketBuilder::dest_options(std::uint8_t extra_units) {
    return ipv6_ext(kExtDestOptions, options_header({}, extra_units));
}

PacketBuilder& PacketBuilder::home_address(std::string_view addr) {
    const auto a = ipv6_addr(addr);
    // PadN(2) first so the option sits at 8n+6 (RFC 6275 6.3); 2 + 4 + 18 = 24 bytes.
    ByteVec opts{1, 2, 0, 0, 201, 16};
    opts.insert(opts.end(), a.begin(), a.end());
    ipv6_ext(kExtDestOptions, options_header(std::move(opts), 0));
    Spec& s = specs_.back();
    s.src6 = a;  // remembered for the pseudo-header
    s.home_address = true;
    return *this;
}

PacketBuilder& PacketBuilder::routing(std::uint8_t type, std::uint8_t segments_left,
                                      const std::vector<std::string_view>& addrs) {
    ByteVec h{0, static_cast<std::uint8_t>(addrs.size() * 2), type, segments_left, 0, 0, 0, 0};
    if (type == 4 && !addrs.empty()) {
        h[4] = static_cast<std::uint8_t>(addrs.size() - 1);  // Last Entry
    }
    for (const std::string_view a : addrs) {
        const auto b = ipv6_addr(a);
        h.insert(h.end(), b.begin(), b.end());
    }
    ipv6_ext(kExtRouting, std::move(h));
    Spec& s = specs_.back();
    // The final destination, as RFC 8200 8.1 defines it for the pseudo-header.
    if (segments_left > 0 && !addrs.empty() && (type == 0 || type == 2 || type == 4)) {
        s.dst6 = ipv6_addr(type == 4 ? addrs.front() : addrs.back());
        s.final_destination = true;
    }
    return *this;
}

PacketBuilder& PacketBuilder::ipv6_fragment(std::uint16_t offset_bytes, bool more_fragments,
                                            std::uint32_t id) {
    if (offset_bytes % 8 != 0) {
        throw std::logic_error("ipv6_fragment(): offset must be a multiple of 8");
    }
    ByteVec h{0, 0, 0, 0};
    put16(h, 2, static_cast<std::uint32_t>(offset_bytes) | (more_fragments ? 1U : 0U));
    append32(h, id);
    return ipv6_ext(kExtFragment, std::move(h));
}

PacketBuilder& PacketBuilder::ip_protocol(std::uint8_t protocol) {
    last_of({Kind::Ipv4, Kind::Ipv6, Kind::Ipv6Ext}, "ip_protocol()").next_override = protocol;
    return *this;
}

PacketBuilder& PacketBuilder::tcp(std::uint16_t sport, std::uint16_t dport, std::uint8_t flags,
                                  std::uint32_t seq, std::uint32_t ack) {
    Spec s;
    s.kind = Kind::Tcp;
    append16(s.header, sport);
    append16(s.header, dport);
    append32(s.header, seq);
    append32(s.header, ack);
    s.header.push_back(0x50);
    s.header.push_back(flags);
    append16(s.header, 64240);  // window
    append16(s.header, 0);      // checksum
    append16(s.header, 0);      // urgent pointer
    return add(std::move(s));
}

PacketBuilder& PacketBuilder::tcp_options(ByteVec options) {
    Spec& s = last_of({Kind::Tcp}, "tcp_options()");
    pad4(options);
    s.header.resize(20);
    s.header.insert(s.header.end(), options.begin(), options.end());
    return *this;
}

PacketBuilder& PacketBuilder::tcp_data_offset(std::uint8_t words) {
    last_of({Kind::Tcp}, "tcp_data_offset()").doff_override = words;
    return *this;
}

PacketBuilder& PacketBuilder::udp(std::uint16_t sport, std::uint16_t dport) {
    Spec s;
    s.kind = Kind::Udp;
    append16(s.header, sport);
    append16(s.header, dport);
    append32(s.header, 0);  // length, checksum
    return add(std::move(s));
}

PacketBuilder& PacketBuilder::udp_length(std::uint16_t v) {
    last_of({Kind::Udp}, "udp_length()").length_override = v;
    return *this;
}

PacketBuilder& PacketBuilder::icmp(std::uint8_t type, std::uint8_t code) {
    Spec s;
    s.kind = Kind::Icmp;
    s.header = {type, code, 0, 0, 0x12, 0x34, 0x00, 0x01};  // checksum, identifier, sequence
    return add(std::move(s));
}

PacketBuilder& PacketBuilder::vxlan(std::uint32_t vni, std::uint8_t flags) {
    if (specs_.empty() || specs_.back().kind != Kind::Udp) {
        throw std::logic_error("vxlan() must follow udp()");
    }
    Spec s;
    s.kind = Kind::Vxlan;
    s.header = {flags, 0, 0, 0, 0, 0, 0, 0};
    put32(s.header, 4, (vni & 0xffffffU) << 8);
    return add(std::move(s));
}

PacketBuilder& PacketBuilder::geneve(std::uint32_t vni, ByteVec options, std::uint16_t protocol,
                                     std::uint8_t flags, std::uint8_t version) {
    if (specs_.empty() || specs_.back().kind != Kind::Udp) {
        throw std::logic_error("geneve() must follow udp()");
    }
    if (options.size() % 4 != 0 || options.size() / 4 > 0x3f) {
        throw std::logic_error("geneve(): options must be a multiple of 4 bytes, at most 252");
    }
    Spec s;
    s.kind = Kind::Geneve;
    s.geneve_protocol = protocol;
    const auto ver_optlen =
        static_cast<std::uint8_t>((std::size_t{version} << 6) | (options.size() / 4));
    s.header = {ver_optlen, flags, 0, 0, 0, 0, 0, 0};
    put32(s.header, 4, (vni & 0xffffffU) << 8);
    s.header.insert(s.header.end(), options.begin(), options.end());
    return add(std::move(s));
}

PacketBuilder& PacketBuilder::gre(bool checksum, std::optional<std::uint32_t> key,
                                  std::optional<std::uint32_t> sequence) {
    Spec s;
    s.kind = Kind::Gre;
    s.header = {
        static_cast<std::uint8_t>((checksum ? 0x80 : 0) | (key ? 0x20 : 0) | (sequence ? 0x10 : 0)),
        0, 0, 0};
    if (checksum) {
        append32(s.header, 0);
    }
    if (key) {
        append32(s.header, *key);
    }
    if (sequence) {
        append32(s.header, *sequence);
    }
    return add(std::move(s));
}

PacketBuilder& PacketBuilder::erspan(std::uint8_t type, std::uint16_t session_id,
                                     std::uint16_t vlan, bool subheader) {
    if (specs_.empty() || specs_.back().kind != Kind::Gre || (type != 2 && type != 3)) {
        throw std::logic_error("erspan(): type 2 or 3, right after gre()");
    }
    Spec s;
    s.kind = Kind::Erspan;
    s.ext_type = type;
    append16(s.header, (std::uint32_t{type - 1U} << 12) | (vlan & 0xfffU));
    append16(s.header, session_id & 0x3ffU);
    append32(s.header, type == 2 ? 0x00000001U : 0x5f5e1000U);  // index / timestamp
    if (type == 3) {
        append32(s.header, subheader ? 1U : 0U);  // SGT 0, FT 0 (Ethernet), O
        if (subheader) {
            append32(s.header, 0x00000004U);  // platform 1: VSM/domain id (any 8 bytes)
            append32(s.header, 0x12345678U);
        }
    }
    return add(std::move(s));
}

PacketBuilder& PacketBuilder::mpls(std::uint32_t label, std::uint8_t ttl, std::uint8_t tc) {
    Spec s;
    s.kind = Kind::Mpls;
    append32(s.header, (label << 12) | (std::uint32_t{tc & 7U} << 9) | ttl);  // S in pass 2
    return add(std::move(s));
}

PacketBuilder& PacketBuilder::mpls_no_bottom() {
    last_of({Kind::Mpls}, "mpls_no_bottom()").mpls_no_bottom = true;
    return *this;
}

PacketBuilder& PacketBuilder::payload(std::size_t n) {
    ByteVec b(n);
    for (std::size_t i = 0; i < n; ++i) {
        b[i] = static_cast<std::uint8_t>(i);
    }
    return payload(std::move(b));
}

PacketBuilder& PacketBuilder::payload(ByteVec bytes) {
    Spec s;
    s.kind = Kind::Raw;
    s.header = std::move(bytes);
    return add(std::move(s));
}

PacketBuilder& PacketBuilder::trailer(std::size_t n) {
    trailer_ = n;
    return *this;
}

PacketBuilder& PacketBuilder::patch(std::size_t offset, std::uint8_t value) {
    Spec& s = last("patch()");
    if (offset >= s.header.size()) {
        throw std::logic_error("patch(): offset past the layer's header");
    }
    s.patches.emplace_back(offset, value);
    return *this;
}

PacketBuilder& PacketBuilder::corrupt_checksum(std::uint16_t xor_mask) {
    last_checksummed("corrupt_checksum()").csum_xor ^= xor_mask;
    return *this;
}

PacketBuilder& PacketBuilder::checksum(std::uint16_t value) {
    Spec& s = last_checksummed("checksum()");
    s.csum = CsumMode::Value;
    s.csum_value = value;
    return *this;
}

PacketBuilder& PacketBuilder::partial_checksum() {
    last_l4("partial_checksum()").csum = CsumMode::Partial;
    return *this;
}

PacketBuilder& PacketBuilder::partial_checksum_zero_length() {
    last_l4("partial_checksum_zero_length()").csum = CsumMode::PartialZeroLength;
    return *this;
}

PacketBuilder& PacketBuilder::zero_udp_checksum() {
    last_of({Kind::Udp}, "zero_udp_checksum()").csum = CsumMode::Zero;
    return *this;
}

PacketBuilder& PacketBuilder::local_checksum_offload() {
    last_l4("local_checksum_offload()").lco = true;
    return *this;
}

PacketBuilder& PacketBuilder::snaplen(std::size_t n) {
    snaplen_ = n;
    return *this;
}

// --- PacketBuilder::build -----------------------------------------------------------------------

BuiltPacket PacketBuilder::build() const {
    if (specs_.empty()) {
        throw std::logic_error("build(): no layers");
    }
    BuiltPacket out;
    const std::size_t n = specs_.size();

    // Pass 1: layout.
    ByteVec& b = out.bytes;
    std::uint8_t depth = 0;
    for (std::size_t i = 0; i < n; ++i) {
        const Spec& s = specs_[i];
        // IP-in-IP: the inner IP header is the tunnel's first layer.
        if (is_ip(s.kind) && i > 0 &&
            (is_ip(specs_[i - 1].kind) || specs_[i - 1].kind == Kind::Ipv6Ext)) {
            ++depth;
        }
        out.layers.push_back(BuiltLayer{
            .kind = s.kind, .depth = depth, .offset = b.size(), .header_len = s.header.size()});
        b.insert(b.end(), s.header.begin(), s.header.end());
        const bool gre_then_erspan =
            s.kind == Kind::Gre && i + 1 < n && specs_[i + 1].kind == Kind::Erspan;
        if (s.kind == Kind::Vxlan || s.kind == Kind::Geneve || s.kind == Kind::Erspan ||
            (s.kind == Kind::Gre && !gre_then_erspan)) {
            ++depth;
        }
    }
    const std::size_t content_end = b.size();
    for (BuiltLayer& l : out.layers) {
        l.end = content_end;
    }
    b.insert(b.end(), trailer_, 0);

    // Pass 2: next-protocol fields and lengths.
    auto next_kind = [&](std::size_t i) -> std::optional<Kind> {
        return i + 1 < n ? std::optional<Kind>(specs_[i + 1].kind) : std::nullopt;
    };
    auto ip_next = [&](std::size_t i, bool v6) -> std::uint32_t {
        if (specs_[i].next_override) {
            return *specs_[i].next_override;
        }
        const auto k = next_kind(i);
        if (!k) {
            return v6 ? kProtoNoNext : kProtoExperimental;
        }
        switch (*k) {
            case Kind::Tcp:
                return kProtoTcp;
            case Kind::Udp:
                return kProtoUdp;
            case Kind::Icmp:
                return v6 ? kProtoIcmpv6 : kProtoIcmp;
            case Kind::Ipv4:
                return kProtoIpip;
            case Kind::Ipv6:
                return kProtoIpv6;
            case Kind::Gre:
                return kProtoGre;
            case Kind::Ipv6Ext:
                return specs_[i + 1].ext_type;
            default:
                return v6 ? kProtoNoNext : kProtoExperimental;
        }
    };
    auto ethertype_of_next = [&](std::size_t i) -> std::uint32_t {
        if (specs_[i].next_override) {
            return *specs_[i].next_override;
        }
        const auto k = next_kind(i);
        if (!k) {
            return kEthExperimental;
        }
        switch (*k) {
            case Kind::Vlan:
                return specs_[i + 1].vlan_tpid;
            case Kind::Ipv4:
                return kEthIpv4;
            case Kind::Ipv6:
                return kEthIpv6;
            case Kind::Ethernet:
                return kEthTeb;
            case Kind::Mpls:
                return kEthMpls;
            case Kind::Erspan:
                return specs_[i + 1].ext_type == 2 ? kEthErspan2 : kEthErspan3;
            default:
                return kEthExperimental;
        }
    };

    for (std::size_t i = 0; i < n; ++i) {
        const Spec& s = specs_[i];
        const BuiltLayer& l = out.layers[i];
        const std::size_t natural = l.end - l.offset;
        switch (s.kind) {
            case Kind::Ethernet:
                put16(b, l.offset + 12, ethertype_of_next(i));
                break;
            case Kind::Vlan:
                put16(b, l.offset + 2, ethertype_of_next(i));
                break;
            case Kind::Sll:
                put16(b, l.offset + 14, ethertype_of_next(i));
                break;
            case Kind::Sll2:
                put16(b, l.offset, ethertype_of_next(i));
                break;
            case Kind::Null: {
                std::uint32_t family = 0;
                if (s.null_family) {
                    family = *s.null_family;
                } else {
                    family = next_kind(i) == Kind::Ipv6 ? 24U : 2U;
                }
                if (s.big_endian) {
                    put32(b, l.offset, family);
                } else {
                    for (std::size_t k = 0; k < 4; ++k) {
                        b[l.offset + k] = static_cast<std::uint8_t>(family >> (8 * k));
                    }
                }
                break;
            }
            case Kind::Ipv4: {
                const std::uint32_t ihl =
                    s.ihl_override.value_or(static_cast<std::uint8_t>(s.header.size() / 4));
                const std::uint32_t version = s.version_override.value_or(4);
                b[l.offset] = static_cast<std::uint8_t>((version << 4) | (ihl & 0xfU));
                const std::uint32_t total = s.length_override.value_or(
                    natural > 0xffff ? 0 : static_cast<std::uint16_t>(natural));
                put16(b, l.offset + 2, total);
                b[l.offset + 9] = static_cast<std::uint8_t>(ip_next(i, false));
                break;
            }
            case Kind::Ipv6: {
                const std::uint32_t version = s.version_override.value_or(6);
                b[l.offset] = static_cast<std::uint8_t>((version << 4) | (b[l.offset] & 0xfU));
                const std::size_t pl = natural - 40;
                put16(b, l.offset + 4,
                      s.length_override.value_or(pl > 0xffff ? 0 : static_cast<std::uint16_t>(pl)));
                b[l.offset + 6] = static_cast<std::uint8_t>(ip_next(i, true));
                break;
            }
            case Kind::Ipv6Ext:
                b[l.offset] = static_cast<std::uint8_t>(ip_next(i, true));
                break;
            case Kind::Tcp: {
                const std::uint32_t doff =
                    s.doff_override.value_or(static_cast<std::uint8_t>(s.header.size() / 4));
                b[l.offset + 12] = static_cast<std::uint8_t>((doff & 0xfU) << 4);
                break;
            }
            case Kind::Udp:
                put16(b, l.offset + 4,
                      s.length_override.value_or(
                          natural > 0xffff ? 0 : static_cast<std::uint16_t>(natural)));
                break;
            case Kind::Geneve:
                if (s.geneve_protocol != 0) {
                    put16(b, l.offset + 2, s.geneve_protocol);
                } else {
                    put16(b, l.offset + 2, ethertype_of_next(i));
                }
                break;
            case Kind::Gre:
                put16(b, l.offset + 2, ethertype_of_next(i));
                break;
            case Kind::Mpls:
                if (next_kind(i) != Kind::Mpls && !s.mpls_no_bottom) {
                    b[l.offset + 2] |= 0x01;  // S: bottom of stack
                }
                break;
            case Kind::Icmp:
            case Kind::Vxlan:
            case Kind::Erspan:
            case Kind::Raw:
                break;
        }
        for (const auto& [off, value] : s.patches) {
            b[l.offset + off] = value;
        }
    }

    // Pass 3: checksums, innermost first.
    // The pseudo-header sum (not folded) of the IP layer enclosing layer i, for `proto`/`len`.
    auto pseudo = [&](std::size_t i, std::uint8_t proto, std::size_t len) -> std::uint32_t {
        std::size_t ip = i;
        while (ip-- > 0) {
            if (is_ip(specs_[ip].kind)) {
                break;
            }
        }
        if (ip >= n || !is_ip(specs_[ip].kind)) {
            throw std::logic_error("transport layer without an IP layer before it");
        }
        std::uint64_t sum = 0;
        if (specs_[ip].kind == Kind::Ipv4) {
            sum += specs_[ip].src4 >> 16;
            sum += specs_[ip].src4 & 0xffffU;
            sum += specs_[ip].dst4 >> 16;
            sum += specs_[ip].dst4 & 0xffffU;
        } else {
            auto src = specs_[ip].src6;
            auto dst = specs_[ip].dst6;
            for (std::size_t e = ip + 1; e < i && specs_[e].kind == Kind::Ipv6Ext; ++e) {
                if (specs_[e].home_address) {
                    src = specs_[e].src6;  // Home Address option
                }
                if (specs_[e].final_destination) {
                    dst = specs_[e].dst6;  // final destination of a Routing header
                }
            }
            sum += ref_sum(src.data(), src.size());
            sum += ref_sum(dst.data(), dst.size());
        }
        sum += proto;
        sum += len >> 16;
        sum += len & 0xffffU;
        return static_cast<std::uint32_t>(ref_fold(sum));
    };

    std::vector<std::pair<std::size_t, std::uint16_t>> lco_rewrites;
    for (std::size_t i = n; i-- > 0;) {
        const Spec& s = specs_[i];
        const BuiltLayer& l = out.layers[i];
        std::size_t field = 0;
        std::uint16_t value = 0;
        if (s.kind == Kind::Ipv4) {
            field = l.offset + 10;
            put16(b, field, 0);
            value = static_cast<std::uint16_t>(~ref_fold(ref_sum(&b[l.offset], l.header_len)));
            if (s.csum == CsumMode::Value) {
                value = s.csum_value;
            } else if (s.csum != CsumMode::Correct) {
                throw std::logic_error("IPv4 header: only corrupt_checksum()/checksum() apply");
            }
        } else if (s.kind == Kind::Gre) {
            if ((s.header[0] & 0x80U) == 0) {
                continue;  // no checksum field
            }
            field = l.offset + 4;  // RFC 2784: over the GRE header and payload, no pseudo-header
            put16(b, field, 0);
            value = static_cast<std::uint16_t>(~ref_fold(ref_sum(&b[l.offset], l.end - l.offset)));
            if (s.csum == CsumMode::Value) {
                value = s.csum_value;
            } else if (s.csum != CsumMode::Correct) {
                throw std::logic_error("GRE: only corrupt_checksum()/checksum() apply");
            }
        } else if (s.kind == Kind::Tcp || s.kind == Kind::Udp || s.kind == Kind::Icmp) {
            const bool udp = s.kind == Kind::Udp;
            const std::size_t len = l.end - l.offset;
            std::size_t ip = i;
            while (ip-- > 0 && !is_ip(specs_[ip].kind)) {
            }
            const bool over_v6 = ip < n && specs_[ip].kind == Kind::Ipv6;
            std::uint8_t proto = kProtoTcp;
            if (udp) {
                proto = kProtoUdp;
            } else if (s.kind == Kind::Icmp) {
                proto = over_v6 ? kProtoIcmpv6 : kProtoIcmp;
            }
            const bool has_pseudo = s.kind != Kind::Icmp || over_v6;
            field = l.offset + (s.kind == Kind::Tcp ? 16 : s.kind == Kind::Udp ? 6 : 2);
            put16(b, field, 0);
            const std::uint32_t ps = has_pseudo ? pseudo(i, proto, len) : 0;
            const std::uint16_t correct = [&] {
                auto c = static_cast<std::uint16_t>(~ref_fold(ref_sum(&b[l.offset], len, ps)));
                return (udp && c == 0) ? std::uint16_t{0xffff} : c;
            }();
            switch (s.csum) {
                case CsumMode::Correct:
                    value = correct;
                    break;
                case CsumMode::Value:
                    value = s.csum_value;
                    break;
                case CsumMode::Partial:
                    value = static_cast<std::uint16_t>(ps);
                    break;
                case CsumMode::PartialZeroLength:
                    value = static_cast<std::uint16_t>(pseudo(i, proto, 0));
                    break;
                case CsumMode::Zero:
                    value = 0;
                    break;
            }
            if (s.lco) {
                lco_rewrites.emplace_back(field, static_cast<std::uint16_t>(ps));
            }
        } else {
            continue;
        }
        put16(b, field, static_cast<std::uint16_t>(value ^ s.csum_xor));
    }
    for (const auto& [field, partial] : lco_rewrites) {
        put16(b, field, partial);
    }

    // Link type and capture cut.
    switch (specs_.front().kind) {
        case Kind::Sll:
            out.link = LinkType::LinuxSll;
            break;
        case Kind::Sll2:
            out.link = LinkType::LinuxSll2;
            break;
        case Kind::Null:
            out.link = LinkType::Null;
            break;
        case Kind::Ipv4:
        case Kind::Ipv6:
            out.link = LinkType::RawIp;
            break;
        default:
            out.link = LinkType::Ethernet;
            break;
    }
    if (link_override_) {
        out.link = *link_override_;
    }
    out.wirelen = static_cast<std::uint32_t>(b.size());
    if (snaplen_ && *snaplen_ < b.size()) {
        b.resize(*snaplen_);
    }
    b.shrink_to_fit();
    out.caplen = static_cast<std::uint32_t>(b.size());
    return out;
}

// --- Dissection ---------------------------------------------------------------------------------

Dissection::Dissection(const PacketBuilder& builder, const decode::DecodeOptions& options)
    : Dissection(builder.build(), options) {}

Dissection::Dissection(BuiltPacket packet, const decode::DecodeOptions& options)
    : packet_(std::move(packet)), frame_(packet_.frame()) {
    decode::decode(frame_, options, decoded_);
    verify::verify(decoded_, verdicts_);
}

std::string Dissection::layer_names() const {
    std::string out;
    std::uint8_t depth = 0;
    for (const decode::Layer& l : decoded_.layers()) {
        if (!out.empty()) {
            out += l.depth > depth ? " / " : " ";
        }
        depth = l.depth;
        out += decode::to_string(l.proto);
    }
    return out;
}

std::string Dissection::anomaly_names() const {
    std::string out;
    for (const decode::Anomaly a : decoded_.anomalies()) {
        if (!out.empty()) {
            out += ' ';
        }
        out += decode::to_string(a);
    }
    return out;
}

std::string_view Dissection::skip_name() const noexcept {
    return decode::to_string(decoded_.skip_reason());
}

const decode::Layer* Dissection::find(decode::Proto proto, std::size_t n) const noexcept {
    for (const decode::Layer& l : decoded_.layers()) {
        if (l.proto == proto && n-- == 0) {
            return &l;
        }
    }
    return nullptr;
}

const verify::Verdict* Dissection::verdict(verify::Check check, std::uint8_t depth) const noexcept {
    for (const verify::Verdict& v : verdicts_.items()) {
        if (v.check == check && v.depth == depth) {
            return &v;
        }
    }
    return nullptr;
}

std::string Dissection::verdict_names() const {
    std::string out;
    for (const verify::Verdict& v : verdicts_.items()) {
        if (!out.empty()) {
            out += ' ';
        }
        out += verify::to_string(v.check);
        out += '@';
        out += std::to_string(v.depth);
        out += '=';
        out += verify::to_string(v.status);
        if (v.reason != verify::Reason::None) {
            out += '(';
            out += verify::to_string(v.reason);
            out += ')';
        }
    }
    return out;
}

// --- table helpers ------------------------------------------------------------------------------

namespace {

bool info_matches(const decode::Layer& l) {
    using decode::Proto;
    switch (l.proto) {
        case Proto::Ethernet:
            return l.as<decode::EthernetInfo>() != nullptr;
        case Proto::Sll:
        case Proto::Sll2:
            return l.as<decode::SllInfo>() != nullptr;
        case Proto::Null:
            return l.as<decode::NullInfo>() != nullptr;
        case Proto::Nflog:
            return l.as<decode::NflogInfo>() != nullptr;
        case Proto::Vlan:
            return l.as<decode::VlanInfo>() != nullptr;
        case Proto::Ipv4:
            return l.as<decode::Ipv4Info>() != nullptr;
        case Proto::Ipv6:
            return l.as<decode::Ipv6Info>() != nullptr;
        case Proto::Tcp:
            return l.as<decode::TcpInfo>() != nullptr;
        case Proto::Udp:
            return l.as<decode::UdpInfo>() != nullptr;
        case Proto::Icmpv4:
        case Proto::Icmpv6:
            return l.as<decode::IcmpInfo>() != nullptr;
        case Proto::Vxlan:
            return l.as<decode::VxlanInfo>() != nullptr;
        case Proto::Geneve:
            return l.as<decode::GeneveInfo>() != nullptr;
        case Proto::Gre:
            return l.as<decode::GreInfo>() != nullptr;
        case Proto::Erspan:
            return l.as<decode::ErspanInfo>() != nullptr;
        case Proto::Mpls:
            return l.as<decode::MplsInfo>() != nullptr;
        case Proto::None:
            return false;
    }
    return false;
}

}  // namespace

std::string check_invariants(const decode::DecodedPacket& pkt, const verify::Verdicts& verdicts) {
    using decode::Proto;
    const RawFrame& f = pkt.frame();
    const auto layers = pkt.layers();
    const std::uint8_t* const begin = f.data.data();
    const std::uint8_t* const end = begin + f.data.size();
    if (layers.size() > decode::DecodedPacket::kMaxLayers) {
        return "too many layers";
    }
    if (pkt.anomalies().size() > decode::DecodedPacket::kMaxAnomalies) {
        return "too many anomalies";
    }
    bool outer_ip = false;
    std::uint8_t prev_depth = 0;
    for (std::size_t i = 0; i < layers.size(); ++i) {
        const decode::Layer& l = layers[i];
        const std::string at =
            "layer " + std::to_string(i) + " (" + std::string(decode::to_string(l.proto)) + "): ";
        if (!info_matches(l)) {
            return at + "info does not match proto";
        }
        if (!l.bytes.empty() && (l.bytes.data() < begin || l.bytes.data() + l.bytes.size() > end)) {
            return at + "view outside the frame";
        }
        if (!l.bytes.empty() && l.offset != static_cast<std::size_t>(l.bytes.data() - begin)) {
            return at + "offset does not match its view";
        }
        if (l.offset > f.data.size()) {
            return at + "offset past the frame";
        }
        if (l.header_len > l.bytes.size()) {
            return at + "header longer than its captured bytes";
        }
        if (l.bytes.size() > l.claimed_len) {
            return at + "view longer than claimed";
        }
        if (l.depth < prev_depth || l.depth > pkt.depth()) {
            return at + "bad depth";
        }
        prev_depth = l.depth;
        if (const auto* v6 = l.as<decode::Ipv6Info>()) {
            for (const Bytes a : {v6->src, v6->dst, v6->pseudo_src, v6->pseudo_dst}) {
                if (a.size() != 16 || a.data() < begin || a.data() + 16 > end) {
                    return at + "IPv6 address view outside the frame";
                }
            }
        }
        outer_ip = outer_ip || (l.depth == 0 && (l.proto == Proto::Ipv4 || l.proto == Proto::Ipv6));
    }
    if (pkt.decoded() != (pkt.skip_reason() == decode::SkipReason::None)) {
        return "decoded() disagrees with skip_reason()";
    }
    if (pkt.decoded() != outer_ip) {
        return pkt.decoded() ? "decoded without an outer IP layer"
                             : "skipped with an outer IP layer";
    }
    std::vector<bool> seen(layers.size(), false);
    for (const verify::Verdict& v : verdicts.items()) {
        if (v.layer >= layers.size()) {
            return "verdict for a layer that does not exist";
        }
        const decode::Layer& l = layers[v.layer];
        const Proto want = v.check == verify::Check::Ipv4Header ? Proto::Ipv4
                           : v.check == verify::Check::Tcp      ? Proto::Tcp
                           : v.check == verify::Check::Gre      ? Proto::Gre
                                                                : Proto::Udp;
        if (l.proto != want || v.depth != l.depth) {
            return "verdict check/depth does not match its layer";
        }
        if (seen[v.layer]) {
            return "two verdicts for one layer";
        }
        seen[v.layer] = true;
        using verify::Reason;
        using verify::Status;
        switch (v.reason) {
            case Reason::Snaplen:
            case Reason::Fragment:
            case Reason::LengthMismatch:
            case Reason::SuperPacket:
                if (v.status != Status::Unverified) {
                    return "unverifiable reason on a verified status";
                }
                break;
            case Reason::ZeroOverIpv6:
                if (v.status != Status::Bad || v.stored != 0) {
                    return "zero_over_ipv6 must be bad with stored 0";
                }
                break;
            case Reason::KernelNotReady:  // live only: the kernel's CSUMNOTREADY flag
            case Reason::PartialZeroLength:
                if (v.status != Status::Partial) {
                    return "partial_zero_length on a non-partial status";
                }
                break;
            case Reason::LocalChecksumOffload:
                if (v.check != verify::Check::Udp) {
                    return "local_checksum_offload on a non-UDP check";
                }
                break;
            case Reason::None:
                break;
        }
        if (v.status == Status::Ok && v.reason == Reason::None && v.residual != 0xffff) {
            return "ok without a residual of 0xffff";
        }
        if (v.status == Status::Bad && !v.expected_known && v.reason != Reason::ZeroOverIpv6) {
            return "bad without an expected value";
        }
        if (v.status == Status::Zero && (v.check != verify::Check::Udp || v.stored != 0)) {
            return "zero status on a non-zero or non-UDP checksum";
        }
        if (v.status == Status::Unverified && v.reason == Reason::None) {
            return "unverified without a reason";
        }
    }
    for (std::size_t i = 0; i < layers.size(); ++i) {
        const Proto p = layers[i].proto;
        const auto* gre = layers[i].as<decode::GreInfo>();
        const bool wants = p == Proto::Ipv4 || (gre != nullptr && gre->has_checksum) ||
                           ((p == Proto::Tcp || p == Proto::Udp) && pkt.enclosing_ip(i) >= 0);
        if (wants != seen[i]) {
            return "layer " + std::to_string(i) + ": verdict missing or unexpected";
        }
    }
    return "";
}

void expect_decodes_as(const DecodeRow& row) {
    const Dissection d(row.builder, row.options);
    SCOPED_TRACE(to_hex(d.packet().bytes.data(), d.packet().bytes.size()));
    EXPECT_EQ(d.layer_names(), row.layers);
    EXPECT_EQ(d.anomaly_names(), row.anomalies);
    EXPECT_EQ(d.skip_name(), row.skip);
    EXPECT_EQ(check_invariants(d.decoded(), d.verdicts()), "");
}

}  // namespace vxcheck::test

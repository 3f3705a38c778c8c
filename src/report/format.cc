#include "vxcheck/report/format.h"

#include <arpa/inet.h>

#include <cstdio>

namespace vxcheck::report {

std::string ipv4_to_string(std::uint32_t addr) {
    char buf[INET_ADDRSTRLEN];
    std::snprintf(buf, sizeof buf, "%u.%u.%u.%u", addr >> 24, (addr >> 16) & 0xffU,
                  (addr >> 8) & 0xffU, addr & 0xffU);
    return buf;
}

std::string ipv6_to_string(Bytes addr16) {
    if (addr16.size() != 16) {
        return "?";
    }
    char buf[INET6_ADDRSTRLEN];
    if (inet_ntop(AF_INET6, addr16.data(), buf, sizeof buf) == nullptr) {
        return "?";
    }
    return buf;
}

std::string hex16(std::uint16_t v) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "0x%04x", v);
    return buf;
}

std::string hex32(std::uint32_t v) {
    char buf[12];
    std::snprintf(buf, sizeof buf, "0x%08x", v);
    return buf;
}

std::string timestamp_to_string(Timestamp ts) {
    char buf[40];
    std::snprintf(buf, sizeof buf, "%lld.%09u", static_cast<long long>(ts.sec), ts.nsec);
    return buf;
}

std::string ip_src(const decode::Layer& ip) {
    if (const auto* v4 = ip.as<decode::Ipv4Info>()) {
        return ipv4_to_string(v4->src);
    }
    if (const auto* v6 = ip.as<decode::Ipv6Info>()) {
        return ipv6_to_string(v6->src);
    }
    return "?";
}

std::string ip_dst(const decode::Layer& ip) {
    if (const auto* v4 = ip.as<decode::Ipv4Info>()) {
        return ipv4_to_string(v4->dst);
    }
    if (const auto* v6 = ip.as<decode::Ipv6Info>()) {
        return ipv6_to_string(v6->dst);
    }
    return "?";
}

std::string endpoints(const decode::DecodedPacket& pkt, int ip_index) {
    if (ip_index < 0) {
        return "-";
    }
    const auto layers = pkt.layers();
    const auto& ip = layers[static_cast<std::size_t>(ip_index)];
    std::string src = ip_src(ip);
    std::string dst = ip_dst(ip);
    if (ip.proto == decode::Proto::Ipv6) {
        src = "[" + src + "]";
        dst = "[" + dst + "]";
    }
    const std::size_t next = static_cast<std::size_t>(ip_index) + 1;
    if (next < layers.size()) {
        if (const auto* t = layers[next].as<decode::TcpInfo>()) {
            return src + ":" + std::to_string(t->sport) + " > " + dst + ":" +
                   std::to_string(t->dport);
        }
        if (const auto* u = layers[next].as<decode::UdpInfo>()) {
            return src + ":" + std::to_string(u->sport) + " > " + dst + ":" +
                   std::to_string(u->dport);
        }
    }
    return src + " > " + dst;
}

}  // namespace vxcheck::report

namespace vxcheck::report {

std::string tcp_flags_to_string(std::uint8_t flags) {
    std::string s;
    if ((flags & decode::tcp_flag::kFin) != 0) {
        s += 'F';
    }
    if ((flags & decode::tcp_flag::kSyn) != 0) {
        s += 'S';
    }
    if ((flags & decode::tcp_flag::kRst) != 0) {
        s += 'R';
    }
    if ((flags & decode::tcp_flag::kPsh) != 0) {
        s += 'P';
    }
    if ((flags & 0x20U) != 0) {
        s += 'U';
    }
    if ((flags & 0x40U) != 0) {
        s += 'E';
    }
    if ((flags & 0x80U) != 0) {
        s += 'W';
    }
    if ((flags & decode::tcp_flag::kAck) != 0) {
        s += '.';
    }
    return s.empty() ? "none" : s;
}

}  // namespace vxcheck::report

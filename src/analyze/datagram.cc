// The UDP datagram of a packet, for the datagram plug-ins.

#include "datagram.h"

#include <algorithm>

#include "vxcheck/wire.h"

namespace vxcheck::analyze {

bool datagram_of(const decode::DecodedPacket& pkt, DatagramView& out) noexcept {
    const auto layers = pkt.layers();
    if (layers.empty() || layers.back().proto != decode::Proto::Udp) {
        return false;
    }
    const std::size_t u = layers.size() - 1;
    const decode::Layer& udp = layers[u];
    const auto* info = udp.as<decode::UdpInfo>();
    const int ip = pkt.enclosing_ip(u);
    if (info == nullptr || ip < 0) {
        return false;
    }
    const decode::Layer& ip_layer = layers[static_cast<std::size_t>(ip)];
    out.src = track::source_of(ip_layer, info->sport);
    out.dst = track::destination_of(ip_layer, info->dport);
    out.frame = pkt.frame().number;
    out.payload = udp.payload();
    const std::uint32_t in_layer =
        udp.claimed_len > udp.header_len ? udp.claimed_len - udp.header_len : 0;
    const std::uint32_t in_header =
        info->length > wire::kUdpHeaderLen
            ? static_cast<std::uint32_t>(info->length - wire::kUdpHeaderLen)
            : 0;
    out.claimed_payload = std::max(in_layer, in_header);
    return true;
}

}  // namespace vxcheck::analyze

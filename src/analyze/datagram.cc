// The UDP side of the connection analysis: the datagram of a packet, and the plug-in calls.

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
    out.tunnelled = false;
    // The tunnel whose payload holds the datagram: the nearest VXLAN/Geneve before its IP layer.
    for (std::size_t i = static_cast<std::size_t>(ip); i-- > 1;) {
        if (layers[i].proto != decode::Proto::Vxlan && layers[i].proto != decode::Proto::Geneve) {
            continue;
        }
        const auto* outer_udp = layers[i - 1].as<decode::UdpInfo>();
        const int oip = pkt.enclosing_ip(i - 1);
        if (outer_udp == nullptr || oip < 0) {
            break;
        }
        const decode::Layer& outer_ip = layers[static_cast<std::size_t>(oip)];
        out.tunnelled = true;
        out.outer_src = track::source_of(outer_ip, 0);
        out.outer_dst = track::destination_of(outer_ip, 0);
        out.outer_sport = outer_udp->sport;
        if (const auto* x = layers[i].as<decode::VxlanInfo>()) {
            out.vni = x->vni;
        } else if (const auto* g = layers[i].as<decode::GeneveInfo>()) {
            out.vni = g->vni;
        }
        break;
    }
    return true;
}

void DatagramPlugins::on_packet(const PacketContext& ctx, Timestamp ts, bool all_ports,
                                const PortBits& ports, std::uint64_t& next_order) noexcept {
    DatagramView v;
    if (!datagram_of(ctx.packet, v)) {
        return;
    }
    const auto bit = [&ports](std::uint16_t p) { return ((ports[p / 64] >> (p % 64)) & 1U) != 0; };
    v.ts = ts;
    v.point = ctx.point;
    v.watched = all_ports || bit(v.src.port) || bit(v.dst.port);
    v.order = next_order;
    bool took = false;
    for (DatagramPlugin* p : plugins_) {
        took = p->on_datagram(v) || took;
    }
    next_order += took ? 1 : 0;
}

void DatagramPlugins::expire(Timestamp now, double idle_s) {
    for (DatagramPlugin* p : plugins_) {
        p->expire(now, idle_s);
    }
}

void DatagramPlugins::take_decided(const std::vector<std::string>& points,
                                   std::vector<ConnectionReport>& out) {
    for (DatagramPlugin* p : plugins_) {
        p->take_decided(points, out);
    }
}

void DatagramPlugins::poll(Timestamp now, const std::vector<std::string>& points,
                           std::vector<ConnectionReport>& out) {
    for (DatagramPlugin* p : plugins_) {
        p->poll(now, points, out);
    }
}

void DatagramPlugins::finish(const std::vector<std::string>& points,
                             std::vector<std::pair<std::uint64_t, ConnectionReport>>& out) {
    for (DatagramPlugin* p : plugins_) {
        p->finish(points, out);
    }
}

ConnectionStats DatagramPlugins::with_stats(ConnectionStats stats) const noexcept {
    for (const DatagramPlugin* p : plugins_) {
        p->add_stats(stats);
    }
    return stats;
}

}  // namespace vxcheck::analyze

// The decode loop and the protocol graph: link type, ethertype, IP protocol and UDP destination
// port -> next layer. Iterative, with the layer stack and tunnel depth capped (Suricata's
// PacketIncreaseCheckLayers, Zeek's Tunnel::max_depth).

#include "vxcheck/decode/decode.h"

#include <algorithm>

#include "decoders.h"

namespace vxcheck::decode {
namespace {

using wire::kEthertypeIpv4;
using wire::kEthertypeIpv6;
using wire::kEthertypeQinQ;
using wire::kEthertypeQinQOld;
using wire::kEthertypeTransparentBridging;
using wire::kEthertypeVlan;
using wire::kIpProtoIcmp;
using wire::kIpProtoIcmpv6;
using wire::kIpProtoTcp;
using wire::kIpProtoUdp;

Proto first_proto(LinkType link, Bytes data, DecodedPacket& pkt) noexcept {
    switch (link) {
        case LinkType::Ethernet:
            return Proto::Ethernet;
        case LinkType::LinuxSll:
            return Proto::Sll;
        case LinkType::LinuxSll2:
            return Proto::Sll2;
        case LinkType::Null:
            return Proto::Null;
        case LinkType::Nflog:
            return Proto::Nflog;
        case LinkType::RawIpv4:
        case LinkType::RawIpv6:
        case LinkType::RawIp: {
            if (data.empty()) {
                pkt.note(Anomaly::LinkTruncated);
                return Proto::None;
            }
            const int version = data[0] >> 4;
            if (version != 4 && version != 6) {
                pkt.note(Anomaly::RawUnknownVersion);
                return Proto::None;
            }
            if ((link == LinkType::RawIpv4 && version != 4) ||
                (link == LinkType::RawIpv6 && version != 6)) {
                pkt.note(Anomaly::RawVersionMismatch);
                return Proto::None;
            }
            return version == 4 ? Proto::Ipv4 : Proto::Ipv6;
        }
        case LinkType::Unsupported:
            break;
    }
    return Proto::None;
}

Proto by_ethertype(std::uint32_t ethertype) noexcept {
    switch (ethertype) {
        case kEthertypeIpv4:
            return Proto::Ipv4;
        case kEthertypeIpv6:
            return Proto::Ipv6;
        case kEthertypeVlan:
        case kEthertypeQinQ:
        case kEthertypeQinQOld:
            return Proto::Vlan;
        case kEthertypeTransparentBridging:
            return Proto::Ethernet;
        case wire::kEthertypeMplsUnicast:
        case wire::kEthertypeMplsMulticast:
            return Proto::Mpls;
        default:
            return Proto::None;  // ARP, LLDP, ...: not ours
    }
}

Proto by_ip_protocol(std::uint32_t protocol) noexcept {
    switch (protocol) {
        case kIpProtoTcp:
            return Proto::Tcp;
        case kIpProtoUdp:
            return Proto::Udp;
        case kIpProtoIcmp:
            return Proto::Icmpv4;
        case kIpProtoIcmpv6:
            return Proto::Icmpv6;
        case wire::kIpProtoGre:
            return Proto::Gre;
        case wire::kIpProtoIpip:
            return Proto::Ipv4;
        case wire::kIpProtoIpv6:
            return Proto::Ipv6;
        default:
            return Proto::None;
    }
}

// GRE's protocol type is an EtherType, with the ERSPAN types added (gre.cc).
Proto by_gre_protocol(std::uint32_t protocol) noexcept {
    if (protocol == wire::kEthertypeErspan2 || protocol == wire::kEthertypeErspan3) {
        return Proto::Erspan;
    }
    return by_ethertype(protocol);
}

// Whether decoding `proto`, reached by `step`, enters a tunnel: VXLAN, Geneve and GRE enter it
// themselves (after their header); an IP packet that is an IP protocol's payload is IP-in-IP
// (RFC 2003, RFC 4213: 4in4, 6in4, 4in6, 6in6), entered here, before its header.
bool enters_tunnel(Proto proto, const Step& step) noexcept {
    switch (proto) {
        case Proto::Vxlan:
        case Proto::Geneve:
        case Proto::Gre:
            return true;
        case Proto::Ipv4:
        case Proto::Ipv6:
            return step.via == Via::IpProtocol;
        default:
            return false;
    }
}

Proto by_udp_port(std::uint32_t key, const DecodeOptions& opt) noexcept {
    const auto port = static_cast<std::uint16_t>(key);  // a UDP port: 16 bits
    if (opt.is_vxlan_port(port)) {
        return Proto::Vxlan;
    }
    if (opt.is_geneve_port(port)) {
        return Proto::Geneve;
    }
    return Proto::None;
}

Proto next_proto(const Step& step, const DecodeOptions& opt) noexcept {
    switch (step.via) {
        case Via::End:
            return Proto::None;
        case Via::Ethertype:
            return by_ethertype(step.key);
        case Via::IpProtocol:
            return by_ip_protocol(step.key);
        case Via::UdpDstPort:
            return by_udp_port(step.key, opt);
        case Via::Direct:
            return static_cast<Proto>(step.key);
        case Via::GreProtocol:
            return by_gre_protocol(step.key);
    }
    return Proto::None;
}

void decode_one(Proto proto, Step& step, DecodedPacket& pkt) noexcept {
    switch (proto) {
        case Proto::Ethernet:
            return decode_ethernet(step, pkt);
        case Proto::Sll:
            return decode_sll(step, pkt);
        case Proto::Sll2:
            return decode_sll2(step, pkt);
        case Proto::Null:
            return decode_null(step, pkt);
        case Proto::Vlan:
            return decode_vlan(step, pkt);
        case Proto::Ipv4:
            return decode_ipv4(step, pkt);
        case Proto::Ipv6:
            return decode_ipv6(step, pkt);
        case Proto::Tcp:
            return decode_tcp(step, pkt);
        case Proto::Udp:
            return decode_udp(step, pkt);
        case Proto::Icmpv4:
        case Proto::Icmpv6:
            return decode_icmp(step, pkt, proto);
        case Proto::Vxlan:
            return decode_vxlan(step, pkt);
        case Proto::Geneve:
            return decode_geneve(step, pkt);
        case Proto::Gre:
            return decode_gre(step, pkt);
        case Proto::Erspan:
            return decode_erspan(step, pkt);
        case Proto::Mpls:
            return decode_mpls(step, pkt);
        case Proto::Nflog:
            return decode_nflog(step, pkt);
        case Proto::None:
            break;
    }
    end(step);
}

}  // namespace

void decode(const RawFrame& frame, const DecodeOptions& options, DecodedPacket& out) noexcept {
    out.reset(frame);
    Proto proto = first_proto(frame.link, frame.data, out);
    Step step{.bytes = frame.data, .claimed = std::max(frame.wirelen, frame.caplen)};
    step.claimed =
        std::max<std::uint32_t>(step.claimed, static_cast<std::uint32_t>(frame.data.size()));
    while (proto != Proto::None) {
        if (out.full()) {
            out.note(Anomaly::TooManyLayers);
            break;
        }
        if (enters_tunnel(proto, step)) {
            if (out.depth() >= options.max_tunnel_depth) {
                out.note(Anomaly::TunnelDepthExceeded);
                break;
            }
            if (proto == Proto::Ipv4 || proto == Proto::Ipv6) {
                out.enter_tunnel();  // IP-in-IP: the inner header is the tunnel's first layer
            }
        }
        decode_one(proto, step, out);
        proto = next_proto(step, options);
        if (proto == Proto::None && step.via == Via::GreProtocol) {
            out.note(Anomaly::GreUnknownProtocol);
        }
    }

    // Every frame is decoded (it has an outer IP layer) or skipped for one reason.
    const bool has_ip = std::any_of(out.layers().begin(), out.layers().end(), [](const Layer& l) {
        return l.depth == 0 && (l.proto == Proto::Ipv4 || l.proto == Proto::Ipv6);
    });
    if (!has_ip) {
        if (frame.link == LinkType::Unsupported) {
            out.set_skip(SkipReason::UnsupportedLinkType);
        } else if (!out.anomalies().empty()) {
            out.set_skip(SkipReason::Malformed);
        } else {
            out.set_skip(SkipReason::NonIp);
        }
    }
}

// --- DecodedPacket ------------------------------------------------------------------------------

void DecodedPacket::reset(const RawFrame& frame) noexcept {
    frame_ = &frame;
    count_ = 0;
    anomaly_count_ = 0;
    depth_ = 0;
    skip_ = SkipReason::None;
}

Layer& DecodedPacket::next_slot() noexcept {
    if (count_ == kMaxLayers) {
        note(Anomaly::TooManyLayers);
        return scratch_;
    }
    return layers_[count_++];
}

void DecodedPacket::push(const Layer& layer) noexcept {
    if (count_ == kMaxLayers) {
        note(Anomaly::TooManyLayers);
        return;
    }
    Layer& l = layers_[count_++];
    l = layer;
    l.depth = depth_;
    l.offset = static_cast<std::uint32_t>(layer.bytes.data() - frame_->data.data());
}

void DecodedPacket::note(Anomaly a) noexcept {
    for (std::size_t i = 0; i < anomaly_count_; ++i) {
        if (anomalies_[i] == a) {
            return;
        }
    }
    if (anomaly_count_ < kMaxAnomalies) {
        anomalies_[anomaly_count_++] = a;
    }
}

int DecodedPacket::enclosing_ip(std::size_t i) const noexcept {
    for (std::size_t j = std::min<std::size_t>(i, count_); j-- > 0;) {
        if (layers_[j].proto == Proto::Ipv4 || layers_[j].proto == Proto::Ipv6) {
            return static_cast<int>(j);
        }
    }
    return -1;
}

int DecodedPacket::innermost(Proto p) const noexcept {
    for (std::size_t j = count_; j-- > 0;) {
        if (layers_[j].proto == p) {
            return static_cast<int>(j);
        }
    }
    return -1;
}

// --- names --------------------------------------------------------------------------------------

std::string_view to_string(Anomaly a) noexcept {
    switch (a) {
#define VXCHECK_ANOMALY_NAME(name, str) \
    case Anomaly::name:                 \
        return str;
        VXCHECK_ANOMALIES(VXCHECK_ANOMALY_NAME)
#undef VXCHECK_ANOMALY_NAME
    }
    return "unknown";
}

std::string_view to_string(Proto p) noexcept {
    switch (p) {
        case Proto::None:
            return "none";
        case Proto::Ethernet:
            return "ethernet";
        case Proto::Sll:
            return "sll";
        case Proto::Sll2:
            return "sll2";
        case Proto::Null:
            return "null";
        case Proto::Vlan:
            return "vlan";
        case Proto::Ipv4:
            return "ipv4";
        case Proto::Ipv6:
            return "ipv6";
        case Proto::Tcp:
            return "tcp";
        case Proto::Udp:
            return "udp";
        case Proto::Icmpv4:
            return "icmp";
        case Proto::Icmpv6:
            return "icmpv6";
        case Proto::Vxlan:
            return "vxlan";
        case Proto::Geneve:
            return "geneve";
        case Proto::Gre:
            return "gre";
        case Proto::Erspan:
            return "erspan";
        case Proto::Mpls:
            return "mpls";
        case Proto::Nflog:
            return "nflog";
    }
    return "unknown";
}

std::string_view to_string(SkipReason r) noexcept {
    switch (r) {
        case SkipReason::None:
            return "none";
        case SkipReason::UnsupportedLinkType:
            return "unsupported_linktype";
        case SkipReason::NonIp:
            return "non_ip";
        case SkipReason::Malformed:
            return "malformed";
    }
    return "unknown";
}

}  // namespace vxcheck::decode

namespace vxcheck {

std::string_view to_string(LinkType t) noexcept {
    switch (t) {
        case LinkType::Ethernet:
            return "ethernet";
        case LinkType::LinuxSll:
            return "linux_sll";
        case LinkType::LinuxSll2:
            return "linux_sll2";
        case LinkType::RawIp:
            return "raw";
        case LinkType::RawIpv4:
            return "ipv4";
        case LinkType::RawIpv6:
            return "ipv6";
        case LinkType::Null:
            return "null";
        case LinkType::Nflog:
            return "nflog";
        case LinkType::Unsupported:
            return "unsupported";
    }
    return "unknown";
}

}  // namespace vxcheck

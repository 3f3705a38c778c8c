// JSON schema v1: the `packet` record and its layers (json_records.h states the rules).

#include <cstdio>
#include <ctime>
#include <span>
#include <vector>

#include "json_records.h"
#include "vxcheck/report/format.h"
#include "vxcheck/track/community_id.h"
#include "vxcheck/verify/pseudo_header.h"

namespace vxcheck::report::json {

namespace {

// The names of the EtherTypes vxcheck decodes (IEEE registry); "" for others.
const char* ethertype_name(std::uint16_t t) noexcept {
    switch (t) {
        case 0x0800:
            return "ipv4";
        case 0x86dd:
            return "ipv6";
        case 0x0806:
            return "arp";
        case 0x8100:
            return "vlan";
        case 0x88a8:
            return "qinq";
        case 0x6558:
            return "ethernet";  // transparent Ethernet bridging (Geneve, NVGRE)
        case 0x8847:
            return "mpls";
        case 0x8848:
            return "mpls_multicast";
        case 0x88be:
            return "erspan";  // type I or II (GRE)
        case 0x22eb:
            return "erspan3";
        case 0x880b:
            return "ppp";  // PPTP's enhanced GRE
        case 0x8909:
            return "cisco_metadata";  // in GRE: the payload's type follows
        default:
            return "";
    }
}

// The names of the IP protocols vxcheck decodes (IANA registry); "" for others.
const char* ip_protocol_name(std::uint8_t p) noexcept {
    switch (p) {
        case track::kProtoIcmp:
            return "icmp";
        case track::kProtoTcp:
            return "tcp";
        case track::kProtoUdp:
            return "udp";
        case track::kProtoIcmpv6:
            return "ipv6-icmp";
        case 41:
            return "ipv6";
        case 4:
            return "ipip";
        case 47:
            return "gre";
        default:
            return "";
    }
}

void put_ethertype(ordered_json& j, std::uint16_t t) {
    j["ethertype"] = t;
    if (const char* n = ethertype_name(t); *n != '\0') {
        j["ethertype_name"] = n;
    }
}

void put_ip_protocol(ordered_json& j, const char* key, const char* name_key, std::uint8_t p) {
    j[key] = p;
    if (const char* n = ip_protocol_name(p); *n != '\0') {
        j[name_key] = n;
    }
}

ordered_json checksum_json(const verify::Verdict& v) {
    ordered_json c;
    c["status"] = to_string(v.status);
    c["stored"] = hex16(v.stored);
    if (v.expected_known) {
        c["expected"] = hex16(v.expected);
    }
    if (v.reason != verify::Reason::None) {
        c["reason"] = to_string(v.reason);
    }
    return c;
}

ordered_json fragment_json(std::uint16_t offset, bool more) {
    return ordered_json{{"offset", offset}, {"more", more}};
}

void ip_layer(const decode::Layer& l, ordered_json& j) {
    if (const auto* ip4 = l.as<decode::Ipv4Info>()) {
        j["src"] = ipv4_to_string(ip4->src);
        j["dst"] = ipv4_to_string(ip4->dst);
        j["id"] = ip4->id;
        j["ttl"] = ip4->ttl;
        put_ip_protocol(j, "protocol", "protocol_name", ip4->protocol);
        j["total_length"] = ip4->total_length;
        if (const std::uint32_t final_dst = verify::ipv4_final_destination(l, *ip4);
            final_dst != ip4->dst) {
            j["final_dst"] = ipv4_to_string(final_dst);  // a source route in transit
        }
        if (ip4->is_fragment()) {
            j["fragment"] = fragment_json(ip4->frag_offset, ip4->more_fragments);
        }
    } else if (const auto* ip6 = l.as<decode::Ipv6Info>()) {
        j["src"] = ipv6_to_string(ip6->src);
        j["dst"] = ipv6_to_string(ip6->dst);
        put_ip_protocol(j, "next_header", "next_header_name", ip6->next_header);
        j["payload_length"] = ip6->payload_length;
        if (ip6->pseudo_dst.data() != ip6->dst.data()) {
            j["final_dst"] = ipv6_to_string(ip6->pseudo_dst);
        }
        if (ip6->pseudo_src.data() != ip6->src.data()) {
            j["home_address"] = ipv6_to_string(ip6->pseudo_src);
        }
        if (ip6->fragment) {
            j["fragment"] = fragment_json(ip6->frag_offset, ip6->more_fragments);
        }
    }
}

// GRE, ERSPAN and MPLS layers: optional GRE fields only when present.
void tunnel_layer(const decode::Layer& l, ordered_json& j) {
    if (const auto* g = l.as<decode::GreInfo>()) {
        j["version"] = g->version;
        put_ethertype(j, g->protocol);  // GRE's Protocol Type is an EtherType (RFC 2784 2.4)
        if (g->has_key) {
            j["key"] = g->key;
        }
        if (g->has_sequence) {
            j["sequence"] = g->sequence;
        }
        if (g->has_ack) {
            j["ack"] = g->ack;
        }
        if (g->metadata) {
            j["sgt"] = g->sgt;  // Cisco MetaData's security group tag
        }
    } else if (const auto* e = l.as<decode::ErspanInfo>()) {
        j["erspan_type"] = e->version + 1;  // Ver 1 is type II, 2 is type III
        j["session_id"] = e->session_id;
        j["vid"] = e->vlan;
        j["truncated"] = e->truncated;
    } else if (const auto* m = l.as<decode::MplsInfo>()) {
        j["label"] = m->label;
        j["tc"] = m->tc;
        j["bottom"] = m->bottom;
        j["ttl"] = m->ttl;
        if (m->control_word) {
            j["control_word"] = true;
        }
    }
}

// One layer: protocol numbers as numbers (with a name where one is known), flags as strings.
ordered_json layer_json(const decode::Layer& l) {
    ordered_json j;
    j["proto"] = to_string(l.proto);
    j["depth"] = l.depth;
    if (const auto* e = l.as<decode::EthernetInfo>()) {
        put_ethertype(j, e->ethertype);
    } else if (const auto* s = l.as<decode::SllInfo>()) {
        j["packet_type"] = s->packet_type;
        put_ethertype(j, s->protocol);  // the SLL protocol field is an EtherType
        if (l.proto == decode::Proto::Sll2) {
            j["ifindex"] = s->ifindex;
        }
    } else if (const auto* n = l.as<decode::NullInfo>()) {
        j["family"] = n->family;
    } else if (const auto* f = l.as<decode::NflogInfo>()) {
        j["family"] = f->family;
        j["group"] = f->group;
        if (f->has_hook) {
            j["hook"] = f->hook;
        }
        if (!f->prefix.empty()) {
            std::string prefix(f->prefix);  // bytes from the capture: printable ASCII only
            for (char& c : prefix) {
                c = c >= 0x20 && c < 0x7f ? c : '?';
            }
            j["prefix"] = prefix;
        }
        if (f->indev != 0) {
            j["indev"] = f->indev;
        }
        if (f->outdev != 0) {
            j["outdev"] = f->outdev;
        }
    } else if (const auto* v = l.as<decode::VlanInfo>()) {
        j["tpid"] = v->tpid;
        j["vid"] = v->vid;
    } else if (l.proto == decode::Proto::Ipv4 || l.proto == decode::Proto::Ipv6) {
        ip_layer(l, j);
    } else if (const auto* t = l.as<decode::TcpInfo>()) {
        j["sport"] = t->sport;
        j["dport"] = t->dport;
        j["seq"] = t->seq;
        j["ack"] = t->ack;
        j["flags"] = tcp_flags_to_string(t->flags);
    } else if (const auto* u = l.as<decode::UdpInfo>()) {
        j["sport"] = u->sport;
        j["dport"] = u->dport;
        j["length"] = u->length;
    } else if (const auto* i = l.as<decode::IcmpInfo>()) {
        j["icmp_type"] = i->type;
        j["icmp_code"] = i->code;
    } else if (const auto* x = l.as<decode::VxlanInfo>()) {
        j["vni"] = x->vni;
        j["flags"] = hex16(x->flags);
    } else if (const auto* g = l.as<decode::GeneveInfo>()) {
        j["vni"] = g->vni;
        put_ethertype(j, g->protocol);  // Geneve's Protocol Type is an EtherType (RFC 8926 3.4)
        j["options_len"] = g->options_len;
    } else {
        tunnel_layer(l, j);
    }
    return j;
}

// The Community ID of the flow of the IP layer at `ip` and the transport layer after it; ""
// when it has none (a later fragment of a TCP, UDP or ICMP packet has no ports to hash).
std::string flow_id(std::span<const decode::Layer> ls, std::size_t ip) {
    const decode::Layer& l = ls[ip];
    std::uint8_t proto = 0;
    if (const auto* v4 = l.as<decode::Ipv4Info>()) {
        proto = v4->protocol;
    } else if (const auto* v6 = l.as<decode::Ipv6Info>()) {
        proto = v6->next_header;
    } else {
        return {};
    }
    const decode::Layer* next = ip + 1 < ls.size() ? &ls[ip + 1] : nullptr;
    std::uint16_t sport = 0;
    std::uint16_t dport = 0;
    bool one_way = false;
    if (const auto* t = next ? next->as<decode::TcpInfo>() : nullptr) {
        sport = t->sport;
        dport = t->dport;
    } else if (const auto* u = next ? next->as<decode::UdpInfo>() : nullptr) {
        sport = u->sport;
        dport = u->dport;
    } else if (const auto* i = next ? next->as<decode::IcmpInfo>() : nullptr) {
        const track::IcmpPorts p =
            track::icmp_ports(proto == track::kProtoIcmpv6, i->type, i->code);
        sport = p.sport;
        dport = p.dport;
        one_way = p.one_way;
    } else if (proto == track::kProtoTcp || proto == track::kProtoUdp ||
               proto == track::kProtoSctp || proto == track::kProtoIcmp ||
               proto == track::kProtoIcmpv6) {
        return {};  // a protocol the hash takes ports of, without its header
    }
    return track::community_id(track::source_of(l, sport), track::destination_of(l, dport), proto,
                               0, one_way);
}

// `community_id` of the innermost flow (the connection's, for a packet of a tracked
// connection), and `outer_community_id` of the outermost when the packet is tunnelled.
void put_flow_ids(ordered_json& j, std::span<const decode::Layer> ls) {
    int first = -1;
    int last = -1;
    for (std::size_t i = 0; i < ls.size(); ++i) {
        if (ls[i].proto == decode::Proto::Ipv4 || ls[i].proto == decode::Proto::Ipv6) {
            last = static_cast<int>(i);
            first = first < 0 ? last : first;
        }
    }
    if (last < 0) {
        return;
    }
    if (std::string id = flow_id(ls, static_cast<std::size_t>(last)); !id.empty()) {
        j["community_id"] = std::move(id);
    }
    if (first != last) {
        if (std::string id = flow_id(ls, static_cast<std::size_t>(first)); !id.empty()) {
            j["outer_community_id"] = std::move(id);
        }
    }
}

}  // namespace

ordered_json record(const char* type) {
    ordered_json j;
    j["type"] = type;
    j["schema_version"] = kSchemaVersion;
    return j;
}

std::string rfc3339(Timestamp ts) {
    const std::time_t t = static_cast<std::time_t>(ts.sec);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[64];
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%09uZ", tm.tm_year + 1900,
                  tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.nsec);
    return buf;
}

double epoch_s(Timestamp ts) noexcept {
    return static_cast<double>(ts.sec) + static_cast<double>(ts.nsec) / 1e9;
}

void put_time(ordered_json& j, const std::string& name, Timestamp ts) {
    j[name] = rfc3339(ts);
    j[name + "_epoch_s"] = epoch_s(ts);
}

ordered_json packet_record(const PacketView& p) {
    const RawFrame& f = p.packet.frame();
    // A reassembled datagram is a record of its own type: a reader of `packet` records sees each
    // frame once, as captured.
    ordered_json j = record(p.reassembled_from.empty() ? "packet" : "datagram");
    j["point"] = p.point;
    j["file"] = p.file;
    j["frame"] = f.number;
    if (!p.reassembled_from.empty()) {
        // The datagram reassembled on this frame: its length and its fragments' frames.
        j["reassembled"] = ordered_json{
            {"frames",
             std::vector<std::uint64_t>(p.reassembled_from.begin(), p.reassembled_from.end())},
            {"length", f.data.size()}};
    }
    put_time(j, "timestamp", f.ts);
    j["caplen"] = f.caplen;
    j["wirelen"] = f.wirelen;
    const auto ls = p.packet.layers();
    put_flow_ids(j, ls);
    ordered_json layers = ordered_json::array();
    for (std::size_t i = 0; i < ls.size(); ++i) {
        ordered_json lj = layer_json(ls[i]);
        if (const verify::Verdict* v = p.verdicts.for_layer(i)) {
            lj["checksum"] = checksum_json(*v);
        }
        layers.push_back(std::move(lj));
    }
    j["layers"] = std::move(layers);
    ordered_json anomalies = ordered_json::array();
    for (const decode::Anomaly a : p.packet.anomalies()) {
        anomalies.push_back(to_string(a));
    }
    for (const decode::Anomaly a : p.reassembly_anomalies) {
        anomalies.push_back(to_string(a));
    }
    j["anomalies"] = std::move(anomalies);
    if (!p.packet.decoded()) {
        j["skip_reason"] = to_string(p.packet.skip_reason());
    }
    return j;
}

}  // namespace vxcheck::report::json

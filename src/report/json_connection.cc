// JSON schema v1: the `connection` record (json_records.h states the rules): the facts as codes
// and numbers, the words only in `explanation` fields.

#include "explain_parts.h"
#include "json_records.h"
#include "vxcheck/report/explain.h"
#include "vxcheck/report/format.h"
#include "vxcheck/track/community_id.h"

namespace vxcheck::report::json {

namespace {

ordered_json seconds_list(const std::vector<double>& v) {
    ordered_json out = ordered_json::array();
    for (const double s : v) {
        out.push_back(micro(s));
    }
    return out;
}

std::string point_of(std::uint16_t p, const std::vector<std::string>& points) {
    return p < points.size() ? points[p] : "?";
}

ordered_json inner_snat_json(const analyze::ConnectionReport& c) {
    using Kind = analyze::InnerSnatReason::Kind;
    const analyze::InnerSnatReason& i = c.inner_snat;
    ordered_json j;
    switch (i.kind) {
        case Kind::MasqueradePrivilegedPort:
            j["code"] = "masquerade_privileged_port";
            break;
        case Kind::OutsideEphemeralRange:
            j["code"] = "outside_ephemeral_range";
            break;
        case Kind::InferredFromOuterNat:
            j["code"] = "inferred_from_outer_nat";
            break;
        case Kind::Rewritten:
            j["code"] = "rewritten";
            break;
        case Kind::None:
            break;
    }
    j["port"] = i.port;
    if (i.kind == Kind::Rewritten) {
        j["before"] = track::to_string(i.before);
    }
    if (c.as_sent) {  // a pre-NAT point saw the connection: proven, or inferred as without one
        j["basis"] = i.kind == Kind::Rewritten ? "proven" : "inferred";
    }
    if (i.kind == Kind::OutsideEphemeralRange) {
        j["range_min"] = i.range_min;
        j["range_max"] = i.range_max;
    }
    j["explanation"] = inner_snat_words(c);
    return j;
}

ordered_json outer_snat_json(const analyze::OuterSnatReason& o, bool with_basis) {
    using Kind = analyze::OuterSnatReason::Kind;
    ordered_json j;
    switch (o.kind) {
        case Kind::PortOutOfRange:
            j["code"] = "port_out_of_range";
            break;
        case Kind::VariantA:
            j["code"] = "checksum_variant_a";
            break;
        case Kind::VariantB:
            j["code"] = "checksum_variant_b";
            break;
        case Kind::Rewritten:
            j["code"] = "rewritten";
            break;
        case Kind::None:
            break;
    }
    j["port"] = o.port;
    if (with_basis) {
        j["basis"] = o.kind == Kind::Rewritten ? "proven" : "inferred";
    }
    if (o.kind == Kind::VariantB || o.kind == Kind::Rewritten) {
        j["pre_nat_port"] = o.pre_nat_port;
    }
    if (o.kind == Kind::VariantA && o.pre_nat_src) {
        j["pre_nat_address"] = track::ip_to_string(*o.pre_nat_src);
    }
    if (o.kind == Kind::PortOutOfRange) {
        j["range_min"] = o.range_min;
        j["range_max"] = o.range_max;
    }
    j["explanation"] = outer_snat_words(o);
    return j;
}

// A point of the connection's path, in path order (issue 18 item 6).
ordered_json path_hop_json(const analyze::PathHop& h, const std::vector<std::string>& points) {
    ordered_json j;
    j["code"] = "seen";
    j["point"] = point_of(h.point, points);
    j["client"] = track::to_string(h.client);
    j["server"] = track::to_string(h.server);
    if (h.tunnelled) {
        j["outer_sport"] = h.outer_sport;
        j["outer_checksum"] = verify::to_string(h.outer_status);
    }
    j["first_frame"] = h.first_frame;
    if (h.pre_nat) {
        j["before_nat"] = true;
    }
    j["explanation"] = path_hop_line(h, points);
    return j;
}

ordered_json point_list(analyze::PointMask mask, const std::vector<std::string>& points) {
    ordered_json list = ordered_json::array();
    for (std::uint16_t p = 0; p < analyze::kMaxPoints && p < points.size(); ++p) {
        if ((mask >> p) & 1U) {
            list.push_back(points[p]);
        }
    }
    return list;
}

ordered_json point_names(const std::vector<std::uint16_t>& order,
                         const std::vector<std::string>& points) {
    ordered_json list = ordered_json::array();
    for (const std::uint16_t p : order) {
        list.push_back(point_of(p, points));
    }
    return list;
}

ordered_json hop_json(const analyze::Hop& h, const std::vector<std::string>& points) {
    using Kind = analyze::Hop::Kind;
    ordered_json j;
    if (h.kind == Kind::DataNeverReached) {
        j["code"] = "data_never_reached";
        j["direction"] = h.from_client ? "to_server" : "to_client";
        j["seq"] = h.seq;
        j["length"] = h.length;
        j["offset_s"] = micro(h.offset_s);
        j["first_point"] = point_of(h.first_point, points);
        j["first_frame"] = h.frame;
        j["seen_points"] = point_names(h.seen_order, points);
        j["last_point"] = point_of(h.last_point, points);
        j["missing_points"] = point_list(h.missing, points);
        j["explanation"] = hop_words(h, points);
        return j;
    }
    j["code"] = h.kind == Kind::NeverReached   ? "never_reached"
                : h.kind == Kind::OrderUnknown ? "order_unknown"
                                               : "outer_port_rewritten";
    j["syn_number"] = h.syn_number;
    j["offset_s"] = micro(h.offset_s);
    if (h.kind == Kind::NeverReached) {
        j["seen_points"] = point_names(h.seen_order, points);
        j["last_point"] = point_of(h.last_point, points);
        j["missing_points"] = point_list(h.missing, points);
    } else if (h.kind == Kind::OrderUnknown) {
        j["seen_points"] = point_list(h.seen, points);
        if (h.last_known) {
            j["last_point"] = point_of(h.last_point, points);
        }
        j["order_beyond"] = "unknown";
        if (h.missing != 0) {
            j["unordered_points"] = point_list(h.missing, points);
        }
    } else {
        j["from_point"] = point_of(h.from_point, points);
        j["from_sport"] = h.from_sport;
        j["to_point"] = point_of(h.to_point, points);
        j["to_sport"] = h.to_sport;
    }
    j["explanation"] = hop_words(h, points);
    return j;
}

const char* evidence_code(analyze::EvidenceNote::Kind k) noexcept {
    using Kind = analyze::EvidenceNote::Kind;
    switch (k) {
        case Kind::Syn:
            return "syn";
        case Kind::SynSeenAgain:
            return "syn_seen_again";
        case Kind::SynAck:
            return "syn_ack";
        case Kind::Rst:
            return "rst";
        case Kind::BadOuterChecksum:
            return "bad_outer_checksum";
        case Kind::IcmpUnreachable:
            return "icmp_unreachable";
        case Kind::RpcCall:
            return "rpc_call";
        case Kind::RpcReply:
            return "rpc_reply";
    }
    return "unknown";
}

ordered_json evidence_json(const analyze::EvidenceFrame& e,
                           const std::vector<std::string>& points) {
    using Kind = analyze::EvidenceNote::Kind;
    const analyze::EvidenceNote& n = e.note;
    ordered_json j;
    j["point"] = point_of(e.point, points);
    j["frame"] = e.frame;
    j["timestamp"] = rfc3339(e.ts);
    j["code"] = evidence_code(n.kind);
    if (n.kind == Kind::Syn) {
        j["syn_number"] = n.syn_number;
        j["isn"] = n.isn;
        j["offset_s"] = micro(n.offset_s);
    } else if (n.kind == Kind::IcmpUnreachable) {
        j["icmp_type"] = n.icmp_type;
        j["icmp_code"] = n.icmp_code;
    } else if (n.kind == Kind::RpcCall || n.kind == Kind::RpcReply) {
        j["verdict"] = to_string(n.rpc.verdict);
        j["xid"] = hex32(n.rpc.xid);
        j["procedure"] = analyze::procedure_label(n.prog, n.vers, n.proc);
    }
    if (n.tunnelled) {
        j["outer_sport"] = n.outer_sport;
        if (n.outer_known) {
            j["outer_checksum"] = ordered_json{{"status", to_string(n.outer_status)},
                                               {"stored", hex16(n.stored)},
                                               {"expected", hex16(n.expected)}};
        }
    }
    j["explanation"] = evidence_note(n);
    return j;
}

ordered_json tunnel_json(const analyze::ConnectionReport& c) {
    return ordered_json{{"client_vtep", track::ip_to_string(c.outer_client)},
                        {"server_vtep", track::ip_to_string(c.outer_server)},
                        {"vni", c.vni},
                        {"outer_sports", c.outer_sports},
                        {"outer_sports_total", c.outer_sports_total[0]},
                        {"outer_sports_reply", c.outer_sports_reply},
                        {"outer_sports_reply_total", c.outer_sports_total[1]}};
}

ordered_json corrupted_json(const analyze::CorruptedOuter& k,
                            const std::vector<std::string>& points) {
    ordered_json o;
    o["variant"] = to_string(k.variant);
    o["sport"] = k.sport;
    if (k.pre_nat_sport) {
        o["pre_nat_sport"] = *k.pre_nat_sport;
    }
    if (k.pre_nat_src) {
        o["pre_nat_src"] = track::ip_to_string(*k.pre_nat_src);
    }
    o["confidence"] = to_string(k.confidence);
    o["stored"] = hex16(k.stored);
    o["expected"] = hex16(k.expected);
    o["point"] = point_of(k.point, points);
    o["frame"] = k.frame;
    return o;
}

// The SYN story of a TCP connection (a UDP flow has none).
void put_syn_story(ordered_json& j, const analyze::ConnectionReport& c) {
    j["outcome"] = to_string(c.outcome);
    j["syn_attempts"] = c.attempts;
    j["syns"] = c.syns;
    j["syn_offsets_s"] = seconds_list(c.syn_offsets_s);
    j["syn_offsets_s_total"] = c.syns;  // the list keeps the first transmissions only
    if (c.flags_not_captured != 0) {
        j["flags_not_captured"] = {{"segments", c.flags_not_captured},
                                   {"snaplen", c.flags_snaplen}};
    }
}

// Where the connection went and what its NAT did.
void put_path(ordered_json& j, const analyze::ConnectionReport& c,
              const std::vector<std::string>& points) {
    if (c.tunnelled) {
        j["tunnel"] = tunnel_json(c);
    }
    if (c.outer_sport_out_of_range) {
        j["outer_sport_out_of_range"] = *c.outer_sport_out_of_range;
    }
    if (!c.corrupted.empty()) {
        ordered_json list = ordered_json::array();
        for (const auto& k : c.corrupted) {
            list.push_back(corrupted_json(k, points));
        }
        j["corrupted_outer"] = std::move(list);
        j["corrupted_outer_total"] = c.corrupted_total;
    }
    if (c.inner_snat) {
        j["inner_snat"] = inner_snat_json(c);
    }
    if (c.outer_snat) {
        j["outer_snat"] = outer_snat_json(c.outer_snat, c.as_sent.has_value());
    }
    if (c.refused) {  // nfs_endpoint_refused: the run of refused attempts
        j["refused"] = ordered_json{{"endpoint", to_string(c.refused->why)},
                                    {"attempts", c.refused->attempts},
                                    {"attempt", c.refused->number},
                                    {"gaps_s", seconds_list(c.refused->gaps_s)},
                                    {"sports", c.refused->sports}};
    }
    if (c.as_sent) {
        j["as_sent"] = ordered_json{{"client", track::to_string(c.as_sent->client)},
                                    {"server", track::to_string(c.as_sent->server)},
                                    {"point", point_of(c.as_sent->point, points)}};
    }
    if (c.nat_problem != analyze::NatJoinProblem::None) {
        j["nat_join"] = ordered_json{{"problem", to_string(c.nat_problem)}};
        if (c.nat_problem == analyze::NatJoinProblem::ClockSkew) {
            j["nat_join"]["skew_s"] = micro(c.nat_skew_s);
        }
    }
    j["points"] = c.points;
    if (c.points_beyond_cap) {
        j["points_beyond_cap"] = true;  // seen at points `points` does not list (not followed)
    }
    if (!c.hops.empty() || !c.path.empty()) {
        ordered_json hops = ordered_json::array();
        for (const analyze::PathHop& h : c.path) {
            hops.push_back(path_hop_json(h, points));
        }
        for (const analyze::Hop& h : c.hops) {
            hops.push_back(hop_json(h, points));
        }
        j["hops"] = std::move(hops);
    }
    if (c.data_followed != 0) {
        // Data transmissions followed across points (issue 18 item 5); the lost ones listed
        // are in `hops` (data_never_reached).
        j["data_across_points"] = ordered_json{{"followed", c.data_followed},
                                               {"lost", c.data_lost},
                                               {"not_judged", c.data_not_judged}};
    }
}

// The connection's identity: both ways of writing its endpoints and its Community ID.
void put_identity(ordered_json& j, const analyze::ConnectionReport& c) {
    const bool tcp = c.transport == analyze::Transport::Tcp;
    j["community_id"] =
        track::community_id(c.client, c.server, tcp ? track::kProtoTcp : track::kProtoUdp);
    j["client"] = track::to_string(c.client);
    j["server"] = track::to_string(c.server);
    j["client_ip"] = track::ip_to_string(c.client);
    j["client_port"] = c.client.port;
    j["server_ip"] = track::ip_to_string(c.server);
    j["server_port"] = c.server.port;
    j["transport"] = to_string(c.transport);
}

}  // namespace

ordered_json connection_record(const analyze::ConnectionReport& c,
                               const std::vector<std::string>& points) {
    ordered_json j = record("connection");
    put_identity(j, c);
    const bool tcp = c.transport == analyze::Transport::Tcp;
    ordered_json verdicts = ordered_json::array();
    for (const auto v : c.verdicts) {
        verdicts.push_back(to_string(v));
    }
    j["verdicts"] = std::move(verdicts);
    if (tcp) {
        put_syn_story(j, c);
    }
    if (c.delay_s) {
        j["delay_s"] = micro(*c.delay_s);
    }
    if (c.schedule != analyze::Schedule::None) {
        j["schedule"] = to_string(c.schedule);
    }
    if (c.icmp_type) {
        j["icmp"] = ordered_json{{"type", *c.icmp_type}, {"code", c.icmp_code.value_or(0)}};
    }
    put_path(j, c, points);
    if (tcp) {
        j["history"] = c.history;
        j["retransmissions"] =
            ordered_json{{"client", c.retransmissions}, {"server", c.retransmissions_reply}};
    }
    j["packets"] = c.packets;
    put_time(j, "first_seen", c.first_ts);
    put_time(j, "last_seen", c.last_ts);
    j["duration_s"] = micro(static_cast<double>(c.last_ts.sec - c.first_ts.sec) +
                            (static_cast<double>(c.last_ts.nsec) - c.first_ts.nsec) / 1e9);
    if (c.incomplete) {
        j["incomplete"] = true;  // an allocation failure cost it detail
    }
    if (c.rpc) {
        put_rpc(j, *c.rpc);
    }
    Explanation words = explain(c, points);
    j["explanation"] = std::move(words.text);
    j["remedies"] = std::move(words.remedies);
    ordered_json ev = ordered_json::array();
    for (const auto& e : c.evidence) {
        ev.push_back(evidence_json(e, points));
    }
    j["evidence"] = std::move(ev);
    j["evidence_total"] = c.evidence_total;  // the list is cut at the connection's bound
    return j;
}

}  // namespace vxcheck::report::json

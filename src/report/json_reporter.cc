// JSON Lines reporter: one object per line, each with a "type" (schema in README.md).

#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "vxcheck/report/explain.h"
#include "vxcheck/report/format.h"
#include "vxcheck/report/reporter.h"

namespace vxcheck::report {

namespace {

using nlohmann::ordered_json;

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

ordered_json layer_json(const decode::Layer& l) {
    ordered_json j;
    j["proto"] = to_string(l.proto);
    j["depth"] = l.depth;
    if (const auto* e = l.as<decode::EthernetInfo>()) {
        j["ethertype"] = hex16(e->ethertype);
    } else if (const auto* s = l.as<decode::SllInfo>()) {
        j["packet_type"] = s->packet_type;
        j["protocol"] = hex16(s->protocol);
        if (l.proto == decode::Proto::Sll2) {
            j["ifindex"] = s->ifindex;
        }
    } else if (const auto* n = l.as<decode::NullInfo>()) {
        j["family"] = n->family;
    } else if (const auto* v = l.as<decode::VlanInfo>()) {
        j["tpid"] = hex16(v->tpid);
        j["vid"] = v->vid;
    } else if (const auto* ip4 = l.as<decode::Ipv4Info>()) {
        j["src"] = ipv4_to_string(ip4->src);
        j["dst"] = ipv4_to_string(ip4->dst);
        j["id"] = ip4->id;
        j["ttl"] = ip4->ttl;
        j["protocol"] = ip4->protocol;
        j["total_length"] = ip4->total_length;
        if (ip4->is_fragment()) {
            j["fragment"] = fragment_json(ip4->frag_offset, ip4->more_fragments);
        }
    } else if (const auto* ip6 = l.as<decode::Ipv6Info>()) {
        j["src"] = ipv6_to_string(ip6->src);
        j["dst"] = ipv6_to_string(ip6->dst);
        j["next_header"] = ip6->next_header;
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
        j["protocol"] = hex16(g->protocol);
        j["options_len"] = g->options_len;
    }
    return j;
}

ordered_json summary_json(const Summary& s, bool total) {
    ordered_json j;
    j["type"] = "summary";
    j["scope"] = total ? "total" : "file";
    if (!total) {
        j["file"] = s.file;
        j["link_type"] = s.link_type;
    }
    j["frames_read"] = s.frames_read;
    if (s.frames_filtered != 0) {
        j["frames_filtered"] = s.frames_filtered;  // only with a read filter (analyze -f)
    }
    j["decoded"] = s.decoded;
    ordered_json skipped;
    skipped["total"] = s.skipped_total();
    for (std::size_t r = 1; r < s.skipped.size(); ++r) {
        skipped[std::string(to_string(static_cast<decode::SkipReason>(r)))] = s.skipped[r];
    }
    j["skipped"] = skipped;
    j["bytes_captured"] = s.bytes_captured;
    ordered_json anomalies = ordered_json::object();
    for (std::size_t a = 0; a < s.anomalies.size(); ++a) {
        if (s.anomalies[a] != 0) {
            anomalies[std::string(to_string(static_cast<decode::Anomaly>(a)))] = s.anomalies[a];
        }
    }
    j["anomalies"] = anomalies;
    ordered_json checks = ordered_json::array();
    for (std::size_t c = 0; c < s.checksums.size(); ++c) {
        for (std::size_t d = 0; d < s.checksums[c].size(); ++d) {
            const auto& counts = s.checksums[c][d];
            std::uint64_t n = 0;
            for (const auto k : counts) {
                n += k;
            }
            if (n == 0) {
                continue;
            }
            ordered_json row;
            row["check"] = to_string(static_cast<verify::Check>(c));
            row["depth"] = d;
            for (std::size_t st = 0; st < counts.size(); ++st) {
                row[std::string(to_string(static_cast<verify::Status>(st)))] = counts[st];
            }
            checks.push_back(row);
        }
    }
    j["checksums"] = checks;
    j["packets_with_bad_checksum"] = s.packets_with_bad_checksum;
    j["packets_with_anomalies"] = s.packets_with_anomalies;
    if (!s.read_error.empty()) {
        j["error"] = s.read_error;
    }
    return j;
}

ordered_json xid_list(const std::vector<std::uint32_t>& xids) {
    ordered_json out = ordered_json::array();
    for (const std::uint32_t x : xids) {
        out.push_back(hex32(x));
    }
    return out;
}

ordered_json counts_json(const std::vector<std::pair<std::string, std::uint64_t>>& counts) {
    ordered_json out = ordered_json::object();
    for (const auto& [k, n] : counts) {
        out[k] = n;
    }
    return out;
}

double micro(double s) {
    return std::round(s * 1e6) / 1e6;
}

// The `rpc` object of a connection (issue 19 item 4): exactly these keys.
ordered_json rpc_json(const analyze::RpcFacts& f) {
    ordered_json j;
    j["calls"] = f.calls;
    j["replies"] = f.replies;
    j["calls_c2s"] = f.calls_c2s;
    j["calls_s2c"] = f.calls_s2c;
    j["unique_call_xids"] = f.unique_call_xids;
    j["matched_call_xids"] = f.matched_call_xids;
    j["unmatched_call_xids"] = f.unmatched_call_xids;
    j["unmatched_xids"] = xid_list(f.unmatched_xids);
    j["retransmitted_xids"] = xid_list(f.retransmitted_xids);
    j["resent_from_earlier_connection"] = xid_list(f.resent_from_earlier_connection);
    j["procedures"] = counts_json(f.procedures);
    j["nfs_ops"] = counts_json(f.nfs_ops);
    j["cb_ops"] = counts_json(f.cb_ops);
    j["errors"] = counts_json(f.errors);
    j["nfs_versions"] = f.nfs_versions;
    ordered_json srt = ordered_json::object();
    for (const auto& [k, l] : f.srt) {
        srt[k] = ordered_json{{"count", l.count},
                              {"min", micro(l.min)},
                              {"median", micro(l.median)},
                              {"p99", micro(l.p99)},
                              {"max", micro(l.max)}};
    }
    j["srt"] = srt;
    return j;
}

// The details of one finding, as the table names them.
void rpc_finding_details(const analyze::RpcFinding& x, ordered_json& o) {
    using analyze::Verdict;
    switch (x.verdict) {
        case Verdict::RpcUnanswered:
            if (x.closed) {
                o["connection_closed"] = true;
            }
            o["capture_after_s"] = micro(x.seconds);
            break;
        case Verdict::RpcRetransmitted:
            o["interval_s"] = micro(x.seconds);
            o["same_connection"] = x.same_connection;
            o["answered"] = x.answered;
            break;
        case Verdict::RpcAcceptError:
        case Verdict::RpcDenied:
            o["status"] = analyze::status_name(x);
            break;
        case Verdict::NfsReplyTooBig:
        case Verdict::NfsRequestTooBig:
        case Verdict::NfsReplyExceedsSessionLimit:
            if (x.status != 0) {
                o["status"] = analyze::status_name(x);
            }
            if (x.limit != 0) {
                o["length"] = x.length;
                o["limit"] = x.limit;
                if (x.verdict == Verdict::NfsReplyExceedsSessionLimit) {
                    o["limit_name"] =
                        x.cached_limit ? "ca_maxresponsesize_cached" : "ca_maxresponsesize";
                } else {
                    o["limit_name"] = "ca_maxrequestsize";
                }
            }
            break;
        default:
            break;
    }
}

// The evidence behind the RPC verdicts, one object per finding (names of the table).
ordered_json rpc_evidence_json(const analyze::RpcFacts& f) {
    ordered_json list = ordered_json::array();
    for (const analyze::RpcFinding& x : f.findings) {
        ordered_json o;
        o["verdict"] = to_string(x.verdict);
        o["xid"] = hex32(x.xid);
        o["ts"] = timestamp_to_string(x.ts);
        if (x.call_frame != 0) {
            o["call_frame"] = x.call_frame;
        }
        if (x.reply_frame != 0) {
            o["reply_frame"] = x.reply_frame;
        }
        rpc_finding_details(x, o);
        list.push_back(std::move(o));
    }
    if (f.collision) {
        const analyze::RpcCollision& c = *f.collision;
        ordered_json ips = ordered_json::array();
        for (const auto& e : c.clients) {
            ips.push_back(track::ip_to_string(e));
        }
        list.push_back(ordered_json{{"verdict", "nfs_clientid_collision"},
                                    {"owner", c.owner},
                                    {"client_ips", ips},
                                    {"verifiers", c.verifiers},
                                    {"ip_switches", c.switches},
                                    {"error_evidence", c.error_evidence}});
    }
    if (f.churn) {
        const analyze::RpcChurn& c = *f.churn;
        list.push_back(ordered_json{{"verdict", "nfs_session_churn"},
                                    {"establishments", c.establishments},
                                    {"most_in_window", c.max_in_window},
                                    {"cycles", c.cycles},
                                    {"session_errors", c.errors}});
    }
    return list;
}

ordered_json connection_json(const analyze::ConnectionReport& c,
                             const std::vector<std::string>& points) {
    ordered_json j;
    j["type"] = "connection";
    j["client"] = track::to_string(c.client);
    j["server"] = track::to_string(c.server);
    j["transport"] = to_string(c.transport);
    const bool tcp = c.transport == analyze::Transport::Tcp;
    ordered_json verdicts = ordered_json::array();
    for (const auto v : c.verdicts) {
        verdicts.push_back(to_string(v));
    }
    j["verdicts"] = verdicts;
    if (tcp) {  // the SYN story; a UDP flow has none
        j["outcome"] = to_string(c.outcome);
        j["syn_attempts"] = c.attempts;
        j["syns"] = c.syns;
        ordered_json offsets = ordered_json::array();
        for (const double o : c.syn_offsets_s) {
            offsets.push_back(std::round(o * 1e6) / 1e6);
        }
        j["syn_offsets_s"] = offsets;
    }
    if (c.delay_s) {
        j["delay_s"] = std::round(*c.delay_s * 1e6) / 1e6;
    }
    if (c.schedule != analyze::Schedule::None) {
        j["schedule"] = to_string(c.schedule);
    }
    if (c.icmp_type) {
        j["icmp"] = ordered_json{{"type", *c.icmp_type}, {"code", c.icmp_code.value_or(0)}};
    }
    if (c.tunnelled) {
        ordered_json sports = ordered_json::array();
        for (const auto p : c.outer_sports) {
            sports.push_back(p);
        }
        ordered_json reply = ordered_json::array();
        for (const auto p : c.outer_sports_reply) {
            reply.push_back(p);
        }
        j["tunnel"] = ordered_json{{"client_vtep", track::ip_to_string(c.outer_client)},
                                   {"server_vtep", track::ip_to_string(c.outer_server)},
                                   {"vni", c.vni},
                                   {"outer_sports", sports},
                                   {"outer_sports_reply", reply}};
    }
    if (c.outer_sport_out_of_range) {
        j["outer_sport_out_of_range"] = *c.outer_sport_out_of_range;
    }
    if (!c.corrupted.empty()) {
        ordered_json list = ordered_json::array();
        for (const auto& k : c.corrupted) {
            ordered_json o;
            o["variant"] = to_string(k.variant);
            o["sport"] = k.sport;
            if (k.pre_nat_sport) {
                o["pre_nat_sport"] = *k.pre_nat_sport;
            }
            o["stored"] = hex16(k.stored);
            o["expected"] = hex16(k.expected);
            o["point"] = k.point < points.size() ? points[k.point] : "?";
            o["frame"] = k.frame;
            list.push_back(o);
        }
        j["corrupted_outer"] = list;
        j["corrupted_outer_total"] = c.corrupted_total;
    }
    if (c.inner_snat) {
        j["inner_snat"] = inner_snat_words(c);
    }
    if (c.outer_snat) {
        j["outer_snat"] = outer_snat_words(c.outer_snat);
    }
    if (c.refused) {  // nfs_endpoint_refused: the run of refused attempts
        ordered_json gaps = ordered_json::array();
        for (const double g : c.refused->gaps_s) {
            gaps.push_back(std::round(g * 1e6) / 1e6);
        }
        j["refused"] = ordered_json{{"endpoint", to_string(c.refused->why)},
                                    {"attempts", c.refused->attempts},
                                    {"attempt", c.refused->number},
                                    {"gaps_s", gaps},
                                    {"sports", c.refused->sports}};
    }
    j["points"] = c.points;
    if (!c.hops.empty()) {
        ordered_json hops = ordered_json::array();
        for (const analyze::Hop& h : c.hops) {
            hops.push_back(hop_words(h, points));
        }
        j["hops"] = hops;
    }
    if (tcp) {
        j["history"] = c.history;
        j["retransmissions"] =
            ordered_json{{"client", c.retransmissions}, {"server", c.retransmissions_reply}};
    }
    j["packets"] = c.packets;
    j["first_ts"] = timestamp_to_string(c.first_ts);
    j["last_ts"] = timestamp_to_string(c.last_ts);
    if (c.incomplete) {
        j["incomplete"] = true;  // an allocation failure cost it detail
    }
    if (c.rpc) {
        j["rpc"] = rpc_json(*c.rpc);
        if (ordered_json ev = rpc_evidence_json(*c.rpc); !ev.empty()) {
            j["rpc_evidence"] = std::move(ev);
        }
    }
    Explanation words = explain(c, points);
    j["explanation"] = std::move(words.text);
    j["remedies"] = std::move(words.remedies);
    ordered_json ev = ordered_json::array();
    for (const auto& e : c.evidence) {
        ev.push_back(ordered_json{{"point", e.point < points.size() ? points[e.point] : "?"},
                                  {"frame", e.frame},
                                  {"ts", timestamp_to_string(e.ts)},
                                  {"note", evidence_note(e.note)}});
    }
    j["evidence"] = ev;
    return j;
}

class JsonReporter final : public Reporter {
  public:
    explicit JsonReporter(std::ostream& out) : out_(out) {}

    void begin_file(const std::string&, const std::string&) override {}

    void packet(const PacketView& p) override {
        const RawFrame& f = p.packet.frame();
        ordered_json j;
        j["type"] = "packet";
        j["file"] = p.file;
        j["frame"] = f.number;
        j["ts"] = timestamp_to_string(f.ts);
        j["caplen"] = f.caplen;
        j["wirelen"] = f.wirelen;
        ordered_json layers = ordered_json::array();
        const auto ls = p.packet.layers();
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
        j["anomalies"] = std::move(anomalies);
        if (!p.packet.decoded()) {
            j["skipped"] = to_string(p.packet.skip_reason());
        }
        out_ << j.dump() << '\n';
    }

    void end_file(const Summary& s) override { out_ << summary_json(s, false).dump() << '\n'; }

    void connection(const analyze::ConnectionReport& c,
                    const std::vector<std::string>& points) override {
        out_ << connection_json(c, points).dump() << '\n';
    }

    void event(const analyze::ConnectionReport& c,
               const std::vector<std::string>& points) override {
        ordered_json j = connection_json(c, points);
        j["type"] = "verdict";
        j["decided_at"] = timestamp_to_string(c.decided_at);
        out_ << j.dump() << '\n';
        out_.flush();  // a live consumer reads it now
    }

    void finish(const Summary& total, std::size_t files, const ConnectionTotals& ct) override {
        if (files > 1) {
            out_ << summary_json(total, true).dump() << '\n';
        }
        ordered_json j;
        j["type"] = "connections";
        j["ports"] = ct.ports;
        j["connections"] = ct.connections;
        j["with_findings"] = ct.with_findings;
        ordered_json by = ordered_json::object();
        for (std::size_t v = 0; v < ct.by_verdict.size(); ++v) {
            by[std::string(to_string(static_cast<analyze::Verdict>(v)))] = ct.by_verdict[v];
        }
        j["by_verdict"] = by;
        j["segments"] = ct.stats.segments;
        j["peak_tracked"] = ct.stats.peak_flows;
        j["evicted"] = ct.stats.evicted;
        j["expired"] = ct.stats.expired;
        j["alloc_failures"] = ct.stats.alloc_failures;
        const analyze::ConnectionStats& s = ct.stats;
        // What the bounds on memory dropped (analyze/options.h): always present, 0 when nothing.
        j["dropped"] = ordered_json{{"vtep_pairs", s.vtep_pairs_evicted},
                                    {"evidence_frames", s.evidence_frames_dropped},
                                    {"verdict_memory", s.verdict_memory_evicted}};
        if (s.udp_datagrams + s.udp_not_rpc + s.udp_ports_not_learned != 0) {
            j["udp_rpc"] = ordered_json{{"datagrams", s.udp_datagrams},
                                        {"flows", s.udp_flows},
                                        {"evicted", s.udp_evicted},
                                        {"not_rpc", s.udp_not_rpc},
                                        {"ports_not_learned", s.udp_ports_not_learned}};
        }
        out_ << j.dump() << '\n';
        out_.flush();
    }

  private:
    std::ostream& out_;
};

}  // namespace

std::unique_ptr<Reporter> make_json_reporter(std::ostream& out) {
    return std::make_unique<JsonReporter>(out);
}

}  // namespace vxcheck::report

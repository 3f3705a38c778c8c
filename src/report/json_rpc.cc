// JSON schema v1: the `rpc` object of a connection record and the evidence of its RPC verdicts
// (issue 19 item 4; json_records.h states the rules).

#include "json_records.h"
#include "vxcheck/report/format.h"

namespace vxcheck::report::json {

namespace {

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

ordered_json rpc_json(const analyze::RpcFacts& f) {
    ordered_json j;
    j["calls"] = f.calls;
    j["replies"] = f.replies;
    j["calls_c2s"] = f.calls_c2s;
    j["calls_s2c"] = f.calls_s2c;
    j["unique_call_xids"] = f.unique_call_xids;
    j["matched_call_xids"] = f.matched_call_xids;
    j["unmatched_call_xids"] = f.unmatched_call_xids;
    // XID lists are cut at RpcFacts::kMaxRpcXidList; each carries its total.
    j["unmatched_xids"] = xid_list(f.unmatched_xids);
    j["unmatched_xids_total"] = f.unmatched_call_xids;
    j["retransmitted_xids"] = xid_list(f.retransmitted_xids);
    j["retransmitted_xids_total"] = f.retransmitted_xids_total;
    j["resent_from_earlier_connection"] = xid_list(f.resent_from_earlier_connection);
    j["resent_from_earlier_connection_total"] = f.resent_from_earlier_connection_total;
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
    j["srt"] = std::move(srt);
    if (f.bounds_hit != 0) {
        j["bounds_hit"] = f.bounds_hit;  // details a bound cost it (the verdicts stand)
    }
    if (const analyze::RpcUnread& u = f.unread; u.missed()) {
        j["unread"] = ordered_json{{"gaps", u.gaps},
                                   {"gap_bytes", u.gap_bytes},
                                   {"skipped_bytes", u.skipped_bytes},
                                   {"records_cut", u.records_cut},
                                   {"records_unparsed", u.records_unparsed},
                                   {"calls_not_judged", u.calls_not_judged}};
    }
    return j;
}

// The details of one finding, as issue 19's table names them.
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

// The evidence behind the RPC verdicts, one object per finding.
ordered_json rpc_evidence_json(const analyze::RpcFacts& f) {
    ordered_json list = ordered_json::array();
    for (const analyze::RpcFinding& x : f.findings) {
        ordered_json o;
        o["verdict"] = to_string(x.verdict);
        o["xid"] = hex32(x.xid);
        o["timestamp"] = rfc3339(x.ts);
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

}  // namespace

void put_rpc(ordered_json& j, const analyze::RpcFacts& f) {
    j["rpc"] = rpc_json(f);
    if (ordered_json ev = rpc_evidence_json(f); !ev.empty()) {
        j["rpc_evidence"] = std::move(ev);
    }
}

}  // namespace vxcheck::report::json

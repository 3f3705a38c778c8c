// Plain words for the RPC / NFS verdicts (issue 19 item 3): what happened on the wire, why it
// matters, and what to change. Built at report time from RpcFacts.

#include <algorithm>
#include <cstdio>
#include <string>

#include "vxcheck/report/explain.h"
#include "vxcheck/report/format.h"
#include "vxcheck/rpc/nfs.h"
#include "vxcheck/track/flow_key.h"

namespace vxcheck::report {

namespace {

using analyze::RpcFinding;
using analyze::Verdict;

std::string seconds(double s) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f s", s);
    return buf;
}

// The XIDs of the findings of one verdict (each once), each with its detail.
std::string listed(const analyze::RpcFacts& f, Verdict v) {
    std::string out;
    std::vector<std::uint32_t> seen;
    for (const RpcFinding& x : f.findings) {
        if (x.verdict != v || std::find(seen.begin(), seen.end(), x.xid) != seen.end()) {
            continue;
        }
        seen.push_back(x.xid);
        if (seen.size() > 6) {
            out += ", ...";
            break;
        }
        out += (seen.size() > 1 ? ", " : "") + hex32(x.xid);
        const std::string status = analyze::status_name(x);
        if (!status.empty()) {
            out += " " + status;
        }
        if (x.limit != 0) {
            out +=
                " (" + std::to_string(x.length) + " bytes, limit " + std::to_string(x.limit) + ")";
        }
        if (v == Verdict::RpcUnanswered) {
            out += x.closed ? " (then the connection closed)"
                            : " (the capture runs " + seconds(x.seconds) + " after it)";
        }
    }
    return out;
}

std::string clients_of(const analyze::RpcCollision& c) {
    std::string out;
    for (const auto& e : c.clients) {
        out += (out.empty() ? "" : ", ") + track::ip_to_string(e);
    }
    return out;
}

// Over TCP an unanswered call is a hang: an NFSv4.1+ client never resends on a live
// connection. Over UDP (one datagram per message) the client's only recovery is to resend the
// same XID at each timeo, and a silent server or a lossy path look the same.
// `lost_on_way`: data the client sent was seen leaving a capture point and never reaching the
// next one on its path (Hop::Kind::DataNeverReached): the path, not the server, is silent.
void explain_calls(const analyze::RpcFacts& f, bool udp, bool lost_on_way, std::string& e) {
    if (const std::string x = listed(f, Verdict::RpcUnanswered); !x.empty()) {
        e += udp ? "RPC calls over UDP never got a reply: " + x +
                       ". The server, or the path to it, drops them or their replies (a UDP "
                       "flow has no connection to fail). "
             : lost_on_way ? "RPC calls never got a reply: " + x +
                                 ". Data the client sent was lost on the way to the server "
                                 "(where, said above): the path drops it, and the client "
                                 "waits on a call the server never saw. "
                           : "RPC calls never got a reply: " + x +
                                 ". The server (or a proxy in front of it) took them and went "
                                 "silent; an NFSv4.1+ client never resends on a live "
                                 "connection, so its mount hangs. ";
    }
    if (const std::string x = listed(f, Verdict::RpcRetransmitted); !x.empty()) {
        e += "The client sent calls again with the same XID (" + x +
             (udp ? "): over UDP this is its timeout resend (mount options timeo, retrans). "
                  : "): it timed out waiting for the server's reply. ");
    }
    if (!listed(f, Verdict::RpcAcceptError).empty()) {
        e += "The server accepted calls but could not run them (" +
             listed(f, Verdict::RpcAcceptError) + "). ";
    }
    if (!listed(f, Verdict::RpcDenied).empty()) {
        e += "The server refused calls (" + listed(f, Verdict::RpcDenied) + "). ";
    }
}

void explain_nfs(const analyze::RpcFacts& f, std::string& e) {
    if (f.collision) {
        const analyze::RpcCollision& c = *f.collision;
        e += "Several NFS clients share one NFSv4 client identity: the owner \"" + c.owner +
             "\" comes from " + clients_of(c) + " with " + std::to_string(c.verifiers.size()) +
             " different boot verifiers, alternating " + std::to_string(c.switches) +
             " times. The server takes each as the same client rebooted, so each node's new "
             "session expires the other's and they evict each other forever (server CPU at "
             "100%, hanging ls on the clients). ";
    }
    if (f.churn) {
        e += "This client set up its NFS session " + std::to_string(f.churn->establishments) +
             " times (" + std::to_string(f.churn->max_in_window) + " within a minute, " +
             std::to_string(f.churn->cycles) +
             " times after the server said its session or clientid was gone). ";
    }
    if (!listed(f, Verdict::NfsReplyTooBig).empty()) {
        e += "The server answered with reply-too-big errors (" +
             listed(f, Verdict::NfsReplyTooBig) +
             "): the reply does not fit the session's negotiated size. ";
    }
    if (!listed(f, Verdict::NfsRequestTooBig).empty()) {
        e += "Requests exceed the session's request size limit (" +
             listed(f, Verdict::NfsRequestTooBig) + "). ";
    }
    if (!listed(f, Verdict::NfsReplyExceedsSessionLimit).empty()) {
        e += "The server sent replies longer than the limit it granted in CREATE_SESSION (" +
             listed(f, Verdict::NfsReplyExceedsSessionLimit) +
             "): the on-wire form of knfsd's \"RPC request reserved N but used M\". ";
    }
}

}  // namespace

void explain_rpc(const analyze::ConnectionReport& r, std::string& text,
                 std::vector<std::string>& remedies) {
    if (!r.rpc) {
        return;
    }
    const analyze::RpcFacts& f = *r.rpc;
    const bool udp = r.transport == analyze::Transport::Udp;
    const bool lost_on_way = std::any_of(r.hops.begin(), r.hops.end(), [](const analyze::Hop& h) {
        return h.kind == analyze::Hop::Kind::DataNeverReached && h.from_client;
    });
    explain_calls(f, udp, lost_on_way, text);
    explain_nfs(f, text);
    if (f.collision) {
        remedies.emplace_back(
            "Give every node its own NFS client identity: unique hostnames, or a per-node "
            "uniquifier in /sys/fs/nfs/net/nfs_client/identifier (or the nfs.nfs4_unique_id "
            "module parameter) set before mounting, e.g. from /etc/machine-id.");
    }
    if (f.churn && !f.collision) {
        remedies.emplace_back(
            "Find out why the server keeps dropping this client's session: another client "
            "presenting the same identity (check the other clients' hostnames and "
            "/sys/fs/nfs/net/nfs_client/identifier), or a server restarting or expiring leases.");
    }
    if (r.has(Verdict::NfsReplyTooBig) || r.has(Verdict::NfsRequestTooBig) ||
        r.has(Verdict::NfsReplyExceedsSessionLimit)) {
        remedies.emplace_back(
            "Upgrade the NFS server (its session size accounting is broken); until then mount "
            "with vers=4.0, which has no sessions and no negotiated size limits.");
    }
    if (udp && r.has(Verdict::RpcUnanswered)) {
        remedies.emplace_back(
            "Check that the server still answers over UDP (rpcinfo -u SERVER nfs 3, and mountd) "
            "and that firewalls and NetworkPolicies let UDP through both ways (IP fragments of "
            "large READ/WRITE datagrams too); or mount with proto=tcp.");
    } else if (r.has(Verdict::RpcUnanswered) && lost_on_way) {
        remedies.emplace_back(
            "Find what drops the client's packets after the point where they were last seen: "
            "when only large packets are lost, an MTU mismatch (flannel.1's MTU must be 50 bytes "
            "below the underlay's, on every node and every hop between them), otherwise a DROP "
            "rule or a NetworkPolicy; 'ip -s link' and 'nstat' on the next node show where they "
            "are counted.");
    } else if (r.has(Verdict::RpcUnanswered) && !f.collision) {
        remedies.emplace_back(
            "Check the server (or the local TLS proxy, e.g. efs-utils' stunnel) for a hung "
            "process; if a v4.1/4.2 mount hangs where vers=4.0 works, treat it as a session "
            "size-limit bug (upgrade the server, or mount with vers=4.0).");
    }
}

namespace {

// "NFS v4 COMPOUND (SEQUENCE PUTFH GETATTR)": the call's procedure and its ops.
std::string call_words(const analyze::EvidenceNote& n) {
    std::string out = analyze::procedure_label(n.prog, n.vers, n.proc);
    if (n.op_count == 0) {
        return out;
    }
    out += " (";
    const std::size_t kept = std::min<std::size_t>(n.op_count, n.ops.size());
    for (std::size_t i = 0; i < kept; ++i) {
        const std::string_view name = rpc::nfs_op_name(n.ops[i]);
        out += (i == 0 ? "" : " ") +
               (name.empty() ? "OP" + std::to_string(n.ops[i]) : std::string(name));
    }
    return out + (kept < n.op_count ? " ...)" : ")");
}

std::string bytes_over(const RpcFinding& x, std::string_view limit_name) {
    return ", " + std::to_string(x.length) + " bytes > " + std::string(limit_name) + " " +
           std::to_string(x.limit);
}

// What the finding says of this frame.
std::string finding_words(const analyze::EvidenceNote& n) {
    const RpcFinding& x = n.rpc;
    const bool call = n.kind == analyze::EvidenceNote::Kind::RpcCall;
    const std::string status = analyze::status_name(x);
    switch (x.verdict) {
        case Verdict::RpcUnanswered:
            return x.closed ? ", no reply before the connection closed"
                            : ", no reply (the capture runs " + seconds(x.seconds) + " after it)";
        case Verdict::RpcRetransmitted:
            return ", sent again after " + seconds(x.seconds) +
                   (x.same_connection ? "" : " (the earlier copy on an earlier connection)");
        default:
            break;
    }
    if (x.verdict == Verdict::NfsRequestTooBig && x.limit != 0) {
        return bytes_over(x, "ca_maxrequestsize");  // the call itself is over the limit
    }
    if (call) {
        return x.reply_frame != 0 ? ", answered in frame " + std::to_string(x.reply_frame) : "";
    }
    if (x.verdict == Verdict::NfsReplyExceedsSessionLimit) {
        return bytes_over(x, x.cached_limit ? "ca_maxresponsesize_cached" : "ca_maxresponsesize");
    }
    return ": " + status + (x.length != 0 ? " (" + std::to_string(x.length) + " bytes)" : "");
}

}  // namespace

std::string rpc_evidence_note(const analyze::EvidenceNote& n) {
    const bool call = n.kind == analyze::EvidenceNote::Kind::RpcCall;
    return std::string(analyze::to_string(n.rpc.verdict)) +
           (call ? ": CALL xid " : ": REPLY xid ") + hex32(n.rpc.xid) + (call ? " " : " to ") +
           call_words(n) + finding_words(n);
}

}  // namespace vxcheck::report

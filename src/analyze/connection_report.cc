// The names of the connection facts, as the JSON report prints them.

#include "vxcheck/analyze/connection_report.h"

#include <algorithm>

#include "vxcheck/rpc/message.h"
#include "vxcheck/rpc/nfs.h"

namespace vxcheck::analyze {

bool ConnectionReport::has(Verdict v) const noexcept {
    return std::find(verdicts.begin(), verdicts.end(), v) != verdicts.end();
}

void settle_verdicts(std::vector<Verdict>& v) {
    std::sort(v.begin(), v.end());
    v.erase(std::unique(v.begin(), v.end()), v.end());
    if (v.size() > 1 && v.back() == Verdict::Clean) {
        v.pop_back();
    }
    if (v.empty()) {
        v.push_back(Verdict::Clean);
    }
}

std::string_view to_string(Transport t) noexcept {
    return t == Transport::Udp ? "udp" : "tcp";
}

std::string_view to_string(NatJoinProblem p) noexcept {
    switch (p) {
        case NatJoinProblem::ClockSkew:
            return "clock_skew";
        case NatJoinProblem::WrongOrder:
            return "wrong_order";
        case NatJoinProblem::Unmatched:
            return "unmatched";
        case NatJoinProblem::None:
            break;
    }
    return "";
}

std::string_view to_string(Verdict v) noexcept {
    switch (v) {
        case Verdict::SynDropped:
            return "syn_dropped";
        case Verdict::SynRejected:
            return "syn_rejected";
        case Verdict::DelayedConnect:
            return "delayed_connect";
        case Verdict::InnerSnat:
            return "inner_snat";
        case Verdict::OuterSnat:
            return "outer_snat";
        case Verdict::DoubleSnat:
            return "double_snat";
        case Verdict::OuterChecksumCorrupted:
            return "outer_checksum_corrupted";
        case Verdict::RpcUnanswered:
            return "rpc_unanswered";
        case Verdict::RpcRetransmitted:
            return "rpc_retransmitted";
        case Verdict::RpcAcceptError:
            return "rpc_accept_error";
        case Verdict::RpcDenied:
            return "rpc_denied";
        case Verdict::NfsClientidCollision:
            return "nfs_clientid_collision";
        case Verdict::NfsSessionChurn:
            return "nfs_session_churn";
        case Verdict::NfsReplyTooBig:
            return "nfs_reply_too_big";
        case Verdict::NfsRequestTooBig:
            return "nfs_request_too_big";
        case Verdict::NfsReplyExceedsSessionLimit:
            return "nfs_reply_exceeds_session_limit";
        case Verdict::NfsEndpointRefused:
            return "nfs_endpoint_refused";
        case Verdict::Clean:
            return "clean";
    }
    return "unknown";
}

std::string status_name(const RpcFinding& f) {
    if (f.verdict == Verdict::RpcAcceptError) {
        return std::string(rpc::to_string(static_cast<rpc::AcceptStat>(f.status)));
    }
    if (f.verdict == Verdict::RpcDenied) {
        const auto reject = static_cast<rpc::RejectStat>(f.status / 100);
        std::string out = "MSG_DENIED:" + std::string(rpc::to_string(reject));
        if (reject == rpc::RejectStat::AuthError) {
            out += ":" + std::string(rpc::to_string(static_cast<rpc::AuthStat>(f.status % 100)));
        }
        return out;
    }
    if (f.status == 0) {
        return {};
    }
    const std::string_view n = rpc::nfsstat4_name(f.status);
    return n.empty() ? "NFS4ERR_" + std::to_string(f.status) : std::string(n);
}

std::string_view program_label(std::uint32_t prog) noexcept {
    // program_name() keeps Wireshark's spelling for the prose; these two differ.
    if (prog == rpc::kProgNfsAcl) {
        return "NFS_ACL";
    }
    if (prog == rpc::kProgPortmap) {
        return "PORTMAP";
    }
    if (prog == rpc::kProgNsm) {
        return "NSM";
    }
    return rpc::program_name(prog);
}

std::string procedure_label(std::uint32_t prog, std::uint32_t vers, std::uint32_t proc) {
    const std::string_view p = program_label(prog);
    std::string out = p.empty() ? std::to_string(prog) : std::string(p);
    out += " v" + std::to_string(vers) + " ";
    std::string_view name = rpc::procedure_name(prog, vers, proc);
    if (name.empty() && proc == 0) {
        name = "NULL";  // procedure 0 of every program (RFC 5531 section 12.1)
    }
    out += name.empty() ? "proc" + std::to_string(proc) : std::string(name);
    return out;
}

std::string_view to_string(Outcome o) noexcept {
    switch (o) {
        case Outcome::NoSyn:
            return "no_syn";
        case Outcome::Established:
            return "established";
        case Outcome::RejectedRst:
            return "rejected_rst";
        case Outcome::RejectedIcmp:
            return "rejected_icmp";
        case Outcome::Dropped:
            return "dropped";
        case Outcome::Unanswered:
            return "unanswered";
        case Outcome::FlagsNotCaptured:
            return "flags_not_captured";
    }
    return "unknown";
}

std::string_view to_string(Schedule s) noexcept {
    switch (s) {
        case Schedule::None:
            return "";
        case Schedule::Classic:
            return "classic";
        case Schedule::Linear:
            return "linear";
        case Schedule::ClassicOrLinear:
            return "classic_or_linear";
        case Schedule::Other:
            return "other";
    }
    return "";
}

std::string_view to_string(RefusedEndpoint::Why w) noexcept {
    switch (w) {
        case RefusedEndpoint::Why::NfsPort:
            return "nfs_port";
        case RefusedEndpoint::Why::LoopbackProxyPort:
            return "loopback_proxy_port";
        case RefusedEndpoint::Why::NfsProgramSeen:
            return "nfs_program_seen";
    }
    return "";
}

std::string_view to_string(CorruptionVariant v) noexcept {
    return v == CorruptionVariant::A ? "A" : "B";
}

std::string_view to_string(Confidence c) noexcept {
    return c == Confidence::High ? "high" : "medium";
}

}  // namespace vxcheck::analyze

// A connection's RpcFacts, built when it is decided: counts, labels for procedures, ops and
// errors (Wireshark's spelling, which the tshark comparison keys on), latency summaries.

#include <algorithm>
#include <array>

#include "rpc_state.h"
#include "vxcheck/rpc/mount.h"

namespace vxcheck::analyze {

namespace {

using rpc_state::ErrorKind;

// The program names the tshark comparison keys on (tools/rpc_tshark_compare.py PROGRAMS):
// rpc::program_name() but for NFS_ACL, PORTMAP and NSM.
std::string_view program_label(std::uint32_t prog) noexcept {
    switch (prog) {
        case rpc::kProgNfsAcl:
            return "NFS_ACL";
        case rpc::kProgPortmap:
            return "PORTMAP";
        case rpc::kProgNsm:
            return "NSM";
        default:
            return rpc::program_name(prog);
    }
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

std::string named_or(std::string_view name, std::string_view prefix, std::uint32_t code) {
    return name.empty() ? std::string(prefix) + std::to_string(code) : std::string(name);
}

std::string error_label(const rpc_state::ErrorCount& e) {
    switch (e.kind) {
        case ErrorKind::Denied: {
            const auto reject = static_cast<rpc::RejectStat>(e.code);
            std::string name = "MSG_DENIED:" + std::string(rpc::to_string(reject));
            if (reject == rpc::RejectStat::AuthError) {
                name += ":" + std::string(rpc::to_string(static_cast<rpc::AuthStat>(e.detail)));
            }
            return name;
        }
        case ErrorKind::Accept:
            return std::string(rpc::to_string(static_cast<rpc::AcceptStat>(e.code)));
        case ErrorKind::Nfs3:
            return named_or(rpc::nfsstat3_name(e.code), "NFS3ERR_", e.code);
        case ErrorKind::Mount:
            return std::string(rpc::mountstat3_name(e.code));
        case ErrorKind::Nfs4:
            return named_or(rpc::nfsstat4_name(e.code), "NFS4ERR_", e.code);
    }
    return {};
}

RpcLatency latency(const rpc_state::SrtAcc& a) {
    std::vector<double> s = a.samples;
    std::sort(s.begin(), s.end());
    RpcLatency l{.count = a.count, .min = a.min, .max = a.max};
    if (!s.empty()) {
        l.median =
            s.size() % 2 == 1 ? s[s.size() / 2] : (s[s.size() / 2 - 1] + s[s.size() / 2]) / 2;
        l.p99 = s[std::min(s.size() - 1, (s.size() * 99 + 99) / 100 - 1)];
    }
    return l;
}

void labelled_counts(const RpcAnalyzer::Impl::Conn& c, RpcFacts& f) {
    for (const rpc_state::ProcCount& p : c.procs) {
        f.procedures.emplace_back(procedure_label(p.prog, p.vers, p.proc), p.n);
    }
    for (const auto& [op, n] : c.ops) {
        f.nfs_ops.emplace_back(named_or(rpc::nfs_op_name(op), "OP", op), n);
    }
    for (const auto& [op, n] : c.cb_ops) {
        f.cb_ops.emplace_back(named_or(rpc::nfs_cb_op_name(op), "CB_OP", op), n);
    }
    std::map<std::string, std::uint64_t> errors;  // by label, as reported
    for (const rpc_state::ErrorCount& e : c.errors) {
        errors[error_label(e)] += e.n;
    }
    f.errors.assign(errors.begin(), errors.end());
    static constexpr std::array<const char*, 4> kVersions = {"3", "4.0", "4.1", "4.2"};
    for (std::size_t i = 0; i < kVersions.size(); ++i) {
        if ((c.versions & (1U << i)) != 0) {
            f.nfs_versions.emplace_back(kVersions[i]);
        }
    }
    for (const rpc_state::SrtAcc& a : c.srt) {
        std::string key = procedure_label(a.prog, a.vers, a.proc);
        if (a.op != 0) {
            key += " " + named_or(rpc::nfs_op_name(a.op), "OP", a.op);
        }
        f.srt.emplace_back(key, latency(a));
    }
    std::sort(f.srt.begin(), f.srt.end(),
              [](const auto& a, const auto& b) { return a.first < b.first; });
}

}  // namespace

void RpcAnalyzer::Impl::facts(Conn& c, RpcFacts& f) const {
    f.calls = c.calls;
    f.replies = c.replies;
    f.calls_c2s = c.calls_c2s;
    f.calls_s2c = c.calls_s2c;
    f.unique_call_xids = c.calls_seen.size();
    for (const CallRec& k : c.calls_seen) {
        if (k.answered) {
            ++f.matched_call_xids;
        } else if (f.unmatched_xids.size() < RpcFacts::kMaxRpcXidList) {
            f.unmatched_xids.push_back(k.xid);
        }
    }
    f.unmatched_call_xids = f.unique_call_xids - f.matched_call_xids;
    const auto bounded = [](const std::vector<std::uint32_t>& v) {
        return std::vector<std::uint32_t>(
            v.begin(),
            v.begin() + static_cast<std::ptrdiff_t>(std::min(v.size(), RpcFacts::kMaxRpcXidList)));
    };
    f.retransmitted_xids = bounded(c.retransmitted);
    f.resent_from_earlier_connection = bounded(c.resent_earlier);
    labelled_counts(c, f);
    f.findings = c.findings;
    for (RpcFinding& x : f.findings) {
        if (x.verdict == Verdict::RpcRetransmitted) {
            const auto it = std::find_if(c.calls_seen.begin(), c.calls_seen.end(),
                                         [&](const CallRec& k) { return k.xid == x.xid; });
            x.answered = it != c.calls_seen.end() && it->answered;
        }
    }
    f.bounds_hit = c.bounds_hit + bounds_hit;
    f.garbled = c.garbled;
}

}  // namespace vxcheck::analyze

// A connection's RpcFacts, built when it is decided: counts, labels for procedures, ops and
// errors (Wireshark's spelling, which the tshark comparison keys on), latency summaries.

#include <algorithm>
#include <array>

#include "rpc_state.h"
#include "vxcheck/rpc/mount.h"

namespace vxcheck::analyze {

namespace {

using rpc_state::ErrorKind;

std::string named_or(std::string_view name, std::string_view prefix, std::uint32_t code) {
    return name.empty() ? std::string(prefix) + std::to_string(code) : std::string(name);
}

// The sample of zero-based rank r: exact while every response time is kept, else read from the
// histogram (rpc_analyzer.h: within 4.4%, never outside [min, max]).
double ranked(const rpc_state::SrtAcc& a, std::uint64_t r) {
    if (a.count <= kSrtExact) {
        std::array<double, kSrtExact> s = a.first;
        std::sort(s.begin(), s.begin() + static_cast<std::ptrdiff_t>(a.count));
        return s[r];
    }
    if (r == 0) {
        return a.min;
    }
    if (r + 1 >= a.count) {
        return a.max;
    }
    // The histogram may have been halved: the rank scales to its total.
    const std::uint64_t want = r * a.hist_total / a.count;
    std::uint64_t seen = 0;
    for (std::size_t b = 0; b + 1 < a.hist.size(); ++b) {
        seen += a.hist[b];
        if (seen > want) {
            return std::clamp(rpc_state::srt_log_middle(b), a.min, a.max);
        }
    }
    return a.max;  // the open last bucket
}

}  // namespace

RpcLatency rpc_state::latency(const SrtAcc& a) {
    RpcLatency l{.count = a.count, .min = a.min, .max = a.max};
    if (a.count == 0) {
        return l;
    }
    const std::uint64_t n = a.count;
    l.median = n % 2 == 1 ? ranked(a, n / 2) : (ranked(a, n / 2 - 1) + ranked(a, n / 2)) / 2;
    l.p99 = ranked(a, std::min(n - 1, (n * 99 + 99) / 100 - 1));
    return l;
}

namespace {

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
        errors[rpc_error_label(e.kind, e.code, e.detail)] += e.n;
    }
    f.errors.assign(errors.begin(), errors.end());
    static constexpr std::array<const char*, 4> kVersions = {"3", "4.0", "4.1", "4.2"};
    for (std::size_t i = 0; i < kVersions.size(); ++i) {
        if ((c.versions & (1U << i)) != 0) {
            f.nfs_versions.emplace_back(kVersions[i]);
        }
    }
    for (std::size_t i = 0; i < c.srt.size(); ++i) {
        const rpc_state::SrtKey& k = c.srt_keys[i];
        std::string key = procedure_label(k.prog, k.vers, k.proc);
        if (k.op != 0) {
            key += " " + named_or(rpc::nfs_op_name(k.op), "OP", k.op);
        }
        f.srt.emplace_back(key, latency(c.srt[i]));
    }
    std::sort(f.srt.begin(), f.srt.end(),
              [](const auto& a, const auto& b) { return a.first < b.first; });
}

}  // namespace

std::string rpc_error_label(RpcErrorKind kind, std::uint32_t code, std::uint32_t detail) {
    switch (kind) {
        case ErrorKind::Denied: {
            const auto reject = static_cast<rpc::RejectStat>(code);
            std::string name = "MSG_DENIED:" + std::string(rpc::to_string(reject));
            if (reject == rpc::RejectStat::AuthError) {
                name += ":" + std::string(rpc::to_string(static_cast<rpc::AuthStat>(detail)));
            }
            return name;
        }
        case ErrorKind::Accept:
            return std::string(rpc::to_string(static_cast<rpc::AcceptStat>(code)));
        case ErrorKind::Nfs3:
            return named_or(rpc::nfsstat3_name(code), "NFS3ERR_", code);
        case ErrorKind::Mount:
            return std::string(rpc::mountstat3_name(code));
        case ErrorKind::Nfs4:
            return named_or(rpc::nfsstat4_name(code), "NFS4ERR_", code);
    }
    return {};
}

void RpcAnalyzer::Impl::facts(Conn& c, RpcFacts& f) const {
    f.calls = c.calls;
    f.replies = c.replies;
    f.calls_c2s = c.calls_c2s;
    f.calls_s2c = c.calls_s2c;
    f.unique_call_xids = c.calls_seen.size() + c.retired_calls;
    f.matched_call_xids = c.retired_calls;
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
    f.retransmitted_xids_total = c.retransmitted.size();
    f.resent_from_earlier_connection_total = c.resent_earlier.size();
    labelled_counts(c, f);
    f.findings = c.findings;
    for (RpcFinding& x : f.findings) {
        if (x.verdict == Verdict::RpcRetransmitted) {
            const auto it = std::find_if(c.calls_seen.begin(), c.calls_seen.end(),
                                         [&](const CallRec& k) { return k.xid == x.xid; });
            x.answered = it != c.calls_seen.end() && it->answered;
        }
    }
    // The connection's own bounds; what the cross-connection tables forgot is the run's
    // (ConnectionStats::rpc_calls_forgotten).
    f.bounds_hit = c.bounds_hit;
    f.garbled = c.garbled;
    for (std::size_t dir = 0; dir < 2; ++dir) {
        const rpc::StreamCounters& n = c.streams[dir].counters();
        f.unread.gaps += n.gaps;
        f.unread.gap_bytes += n.gap_bytes;
        f.unread.skipped_bytes += n.skipped_bytes;
        f.unread.records_cut += n.records_cut;
        if (const std::uint32_t lost = acked_unread(c, dir); lost != 0) {
            ++f.unread.gaps;  // at the stream's end: acknowledged, never captured
            f.unread.gap_bytes += lost;
        }
    }
    f.unread.records_unparsed = c.unparsed[0] + c.unparsed[1];
    f.serial = c.serial;
}

}  // namespace vxcheck::analyze

// Per-connection call/reply matching: counts, retransmissions on the connection, SRT samples,
// RPC-level errors. A reply matches the latest call with its XID sent the other way.

#include <algorithm>
#include <array>
#include <cstdint>

#include "rpc_state.h"

namespace vxcheck::analyze {

using rpc_state::ErrorKind;

void RpcAnalyzer::Impl::on_record(Conn& c, bool from_client, const rpc::Record& record) {
    // While the header is parsed, the lines a message goes on to read start loading: its XID's
    // index slot, the lists a call counts in and the record a new call takes, the response-time
    // keys a reply looks up.
    if (record.bytes.size() >= 4) {
        c.by_xid.prefetch(be32(record.bytes, 0));
    }
    prefetch_line(c.procs.data());
    prefetch_line(c.ops.data());
    prefetch_line(c.srt_keys.data());
    prefetch_line(c.calls_seen.data() + c.calls_seen.size());
    rpc::Message m;
    if (rpc::parse_message(record.xdr(), m) != rpc::ParseResult::Ok) {
        ++c.garbled;
        const std::size_t dir = from_client ? 0 : 1;
        ++c.unparsed[dir];
        c.unparsed_until[dir] = std::max(c.unparsed_until[dir], record.ts);
        return;
    }
    const std::size_t findings = c.findings.size();
    if (m.type == rpc::MsgType::Call) {
        c.call_op_count = 0;
        on_call(c, from_client, record, m);
        snapshot_call(c, from_client, record, m);
    } else {
        on_reply(c, from_client, record, m);
    }
    if (c.findings.size() != findings) {
        keep_findings(c, findings, from_client, record, m);
    }
    if (m.type == rpc::MsgType::Reply) {
        release_snapshot(c, from_client, m.xid);
    } else if (!c.early_replies.empty()) {
        answer_early(c, from_client, record, m.xid);
    }
}

void RpcAnalyzer::Impl::count_procedure(Conn& c, const rpc::CallHeader& h) {
    for (rpc_state::ProcCount& p : c.procs) {
        if (p.prog == h.prog && p.vers == h.vers && p.proc == h.proc) {
            ++p.n;
            return;
        }
    }
    if (c.procs.size() >= kMaxCountKeys) {
        ++c.bounds_hit;
        return;
    }
    c.procs.push_back({h.prog, h.vers, h.proc, 1});
}

void RpcAnalyzer::Impl::count_error(Conn& c, std::uint32_t prog, ErrorKind kind, std::uint32_t code,
                                    std::uint32_t detail) {
    for (rpc_state::ErrorCount& e : c.errors) {
        if (e.kind == kind && e.code == code && e.detail == detail && e.prog == prog) {
            ++e.n;
            return;
        }
    }
    if (c.errors.size() >= kMaxCountKeys) {
        ++c.bounds_hit;
        return;
    }
    c.errors.push_back({.kind = kind, .code = code, .detail = detail, .n = 1, .prog = prog});
}

// The copy of a call already seen on this connection, or a new record for it (nullptr when
// the table is full).
rpc_state::CallRec* RpcAnalyzer::Impl::call_record(Conn& c, bool from_client,
                                                   const rpc::Record& record, const rpc::Message& m,
                                                   bool& again) {
    const rpc::CallHeader& h = m.call;
    if (CallRec* seen = c.by_xid.latest(c.calls_seen, m.xid, [&](const CallRec& r) {
            return r.from_client == from_client && r.prog == h.prog && r.vers == h.vers &&
                   r.proc == h.proc;
        })) {
        again = true;
        return seen;
    }
    if (c.calls_seen.size() >= c.retire_at) {
        retire_answered(c);
    }
    if (c.calls_seen.size() >= kMaxCallsPerConnection) {
        ++c.bounds_hit;  // that many calls wait for their reply at once
        return nullptr;
    }
    CallRec& r = c.calls_seen.emplace_back();
    r.xid = m.xid;
    r.from_client = from_client;
    r.prog = h.prog;
    r.vers = h.vers;
    r.proc = h.proc;
    r.seq = record.seq;
    r.first = record.ts;
    r.last = record.ts;
    r.frame = record.frame;
    c.by_xid.add(c.calls_seen);
    return &r;
}

// A long-lived connection carries far more calls than the table holds: when it reaches
// retire_at records (kRetireCallsAt, or twice what the last retirement left: amortised), the
// answered calls are retired (counted in retired_calls, which the facts count as unique and
// matched XIDs) and the ones waiting for a reply stay. A retired call is no longer matched
// against: a later copy of it counts as a new call, not a retransmission, unless its XID is
// already among the retransmitted ones (those records stay, for the finding's "answered").
void RpcAnalyzer::Impl::retire_answered(Conn& c) {
    const auto keep = [&](const CallRec& r) {
        return !r.answered || std::find(c.retransmitted.begin(), c.retransmitted.end(), r.xid) !=
                                  c.retransmitted.end();
    };
    // remove_if keeps the order of what stays, in place (stable_partition would take a
    // buffer from the heap at every retirement).
    const auto kept = std::remove_if(c.calls_seen.begin(), c.calls_seen.end(),
                                     [&](const CallRec& r) { return !keep(r); });
    c.retired_calls += static_cast<std::uint64_t>(c.calls_seen.end() - kept);
    c.calls_seen.erase(kept, c.calls_seen.end());
    c.by_xid.rebuild(c.calls_seen);
    c.pending_from = 0;
    c.retire_at = std::max(kRetireCallsAt, 2 * c.calls_seen.size());
}

void RpcAnalyzer::Impl::on_call(Conn& c, bool from_client, const rpc::Record& record,
                                const rpc::Message& m) {
    const rpc::CallHeader& h = m.call;
    cross_calls.prefetch(call_key(c, from_client, m.xid, h.prog, h.vers, h.proc));
    ++c.calls;
    ++(from_client ? c.calls_c2s : c.calls_s2c);
    c.active = true;
    if (!c.listed) {
        list_live(c);
    }
    count_procedure(c, h);
    if (observer && from_client && !c.program_noted && h.prog == rpc::kProgNfs) {
        c.program_noted = true;
        observer(c.server, h.prog);
    }
    bool again = false;
    CallRec* rec = call_record(c, from_client, record, m, again);
    if (rec != nullptr && again) {
        if (rec->seq != record.seq) {
            RpcFinding f{.verdict = Verdict::RpcRetransmitted, .xid = m.xid, .ts = record.ts};
            f.seconds = seconds_between(rec->last, record.ts);
            add_finding(c, f);
            rpc_state::add_once(c.retransmitted, m.xid);
        }
        rec->seq = record.seq;
        rec->last = record.ts;
        rec->frame = record.frame;
    }
    if (rec != nullptr && !again) {
        rec->from_earlier = cross_connection_copy(c, from_client, m, record);
    }
    if (rec != nullptr) {
        ++rec->copies;
    }
    decode_call_args(c, from_client, record, m, rec);
}

void RpcAnalyzer::Impl::on_reply(Conn& c, bool from_client, const rpc::Record& record,
                                 const rpc::Message& m) {
    ++c.replies;
    if (!answer(c, from_client, record, m)) {
        // Its call is not in the capture (or the table was full), or it is read later.
        hold_early_reply(c, from_client, record, m.xid);
    }
}

bool RpcAnalyzer::Impl::answer(Conn& c, bool from_client, const rpc::Record& record,
                               const rpc::Message& m) {
    CallRec* call = c.by_xid.latest(c.calls_seen, m.xid,
                                    [&](const CallRec& r) { return r.from_client != from_client; });
    if (call == nullptr) {
        return false;
    }
    if (!call->answered) {
        call->answered = true;
        // Only the answer to a resent call can clear a call on an earlier connection
        // (rpc_unanswered (b)): the reply matches this connection's copy of it.
        if (call->from_earlier) {
            note_answered(c, m.xid);
        }
    }
    add_srt(c, *call, seconds_between(call->first, record.ts));  // as tshark: from the first copy
    const rpc::ReplyHeader& h = m.reply;
    if (h.stat == rpc::ReplyStat::Denied) {
        const bool auth = h.reject == rpc::RejectStat::AuthError;
        count_error(c, call->prog, ErrorKind::Denied, static_cast<std::uint32_t>(h.reject),
                    auth ? static_cast<std::uint32_t>(h.auth) : 0);
        add_finding(c, {.verdict = Verdict::RpcDenied,
                        .xid = m.xid,
                        .ts = record.ts,
                        .status = static_cast<std::uint32_t>(h.reject) * 100 +
                                  static_cast<std::uint32_t>(h.auth)});
        return true;
    }
    if (h.accept != rpc::AcceptStat::Success) {
        count_error(c, call->prog, ErrorKind::Accept, static_cast<std::uint32_t>(h.accept));
        add_finding(c, {.verdict = Verdict::RpcAcceptError,
                        .xid = m.xid,
                        .ts = record.ts,
                        .status = static_cast<std::uint32_t>(h.accept)});
        return true;
    }
    decode_results(c, record, m, *call);
    return true;
}

void RpcAnalyzer::Impl::hold_early_reply(Conn& c, bool from_client, const rpc::Record& record,
                                         std::uint32_t xid) {
    // Made whole before it is listed: a failed allocation leaves the list as it was.
    rpc_state::EarlyReply e{.bytes = {}, .record = record, .xid = xid, .from_client = from_client};
    e.bytes.reserve(record.bytes.size() + record.tail.size());
    e.bytes.assign(record.bytes.begin(), record.bytes.end());
    e.bytes.insert(e.bytes.end(), record.tail.begin(), record.tail.end());
    const Bytes all(e.bytes.data(), e.bytes.size());
    e.record.bytes = all.first(record.bytes.size());
    e.record.tail = all.subspan(record.bytes.size());
    if (c.early_replies.size() >= rpc_state::kEarlyReplies) {
        unnest(c, c.early_replies.front().bytes.capacity());
        c.early_replies.erase(c.early_replies.begin());
    }
    const std::size_t bytes = e.bytes.capacity();
    c.early_replies.push_back(std::move(e));
    c.nested_bytes += bytes;
}

void RpcAnalyzer::Impl::answer_early(Conn& c, bool call_from_client, const rpc::Record& call,
                                     std::uint32_t xid) {
    const auto it =
        std::find_if(c.early_replies.begin(), c.early_replies.end(), [&](const auto& e) {
            return e.xid == xid && e.from_client != call_from_client && !(e.record.ts < call.ts);
        });
    if (it == c.early_replies.end()) {
        return;
    }
    const rpc_state::EarlyReply e = std::move(*it);
    c.early_replies.erase(it);
    unnest(c, e.bytes.capacity());
    const rpc::Record& r = e.record;
    rpc::Message m;
    if (rpc::parse_message(r.xdr(), m) != rpc::ParseResult::Ok) {
        return;  // it parsed when it was read
    }
    // The reply's own frame is gone: its findings keep its number, not its bytes.
    const SegmentView* const reading = segment;
    segment = nullptr;
    const std::size_t findings = c.findings.size();
    answer(c, e.from_client, r, m);
    if (c.findings.size() != findings) {
        keep_findings(c, findings, e.from_client, r, m);
    }
    release_snapshot(c, e.from_client, m.xid);
    segment = reading;
}

void RpcAnalyzer::Impl::add_finding(Conn& c, const RpcFinding& f) {
    const auto same = std::count_if(c.findings.begin(), c.findings.end(),
                                    [&](const RpcFinding& x) { return x.verdict == f.verdict; });
    if (static_cast<std::size_t>(same) >= rpc_state::kMaxFindingsPerVerdict) {
        ++c.bounds_hit;
        return;
    }
    c.findings.push_back(f);
}

// A reply's response time, under its procedure and, for a COMPOUND, under its main op too: one
// search of the keys and one histogram bucket for both.
void RpcAnalyzer::Impl::add_srt(Conn& c, const CallRec& call, double s) const {
    const std::uint32_t main_op = call.compound ? call.main_op : 0;
    constexpr std::size_t kNone = SIZE_MAX;
    std::array<std::size_t, 2> at{kNone, kNone};  // [0] the procedure's entry, [1] the op's
    for (std::size_t i = 0; i < c.srt_keys.size(); ++i) {
        const rpc_state::SrtKey& k = c.srt_keys[i];
        if (k.prog == call.prog && k.vers == call.vers && k.proc == call.proc) {
            if (k.op == 0) {
                at[0] = i;
            } else if (k.op == main_op) {
                at[1] = i;
            }
        }
    }
    const std::size_t bucket = rpc_state::srt_log_bucket(s);
    for (std::size_t n = 0; n < (main_op != 0 ? 2U : 1U); ++n) {
        const std::uint32_t op = n == 0 ? 0 : main_op;
        if (at[n] == kNone) {
            if (c.srt.size() >= kMaxSrtKeys) {
                ++c.bounds_hit;
                continue;
            }
            if (c.srt.size() == c.srt.capacity()) {  // both or neither: they stay parallel
                c.srt.reserve(std::max<std::size_t>(4, 2 * c.srt.size()));
            }
            c.srt_keys.push_back(
                {.prog = call.prog, .vers = call.vers, .proc = call.proc, .op = op});
            c.srt.emplace_back();
            at[n] = c.srt.size() - 1;
        }
        rpc_state::SrtAcc& a = c.srt[at[n]];
        rpc_state::add_response_time(a, s, bucket);  // before count: it keeps the first ones
        a.min = a.count == 0 ? s : std::min(a.min, s);
        a.max = a.count == 0 ? s : std::max(a.max, s);
        ++a.count;
        if (op == 0 && keep_activity) {  // the live metrics' histogram (rpc_activity.cc)
            ++a.fresh[srt_bucket(s)];
            a.fresh_sum += s;
            c.active = true;
        }
    }
}

}  // namespace vxcheck::analyze

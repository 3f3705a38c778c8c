#include "vxcheck/analyze/rpc_analyzer.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "flow.h"
#include "vxcheck/analyze/rpc_rules.h"
#include "vxcheck/decode/packet.h"
#include "vxcheck/rpc/message.h"
#include "vxcheck/rpc/mount.h"
#include "vxcheck/rpc/nfs.h"
#include "vxcheck/rpc/record_stream.h"

namespace vxcheck::analyze {

namespace {

constexpr std::size_t kEndpointBytes = 19;
// (client address, server ip:port, direction, xid, prog, vers, proc)
using CallKey = std::array<std::uint8_t, 2 * kEndpointBytes + 1 + 16>;
// (client address, server ip:port)
using PairKey = std::array<std::uint8_t, 2 * kEndpointBytes>;

void put(std::uint8_t* at, const track::Endpoint& e, bool with_port) noexcept {
    std::memcpy(at, e.addr.data(), e.addr.size());
    const std::uint16_t port = with_port ? e.port : 0;
    std::memcpy(at + 16, &port, 2);
    at[18] = e.v6 ? 1 : 0;
}

track::Endpoint address_of(track::Endpoint e) noexcept {
    e.port = 0;
    return e;
}

PairKey pair_key(const track::Endpoint& client, const track::Endpoint& server) noexcept {
    PairKey k{};
    put(k.data(), client, false);
    put(k.data() + kEndpointBytes, server, true);
    return k;
}

bool before(Timestamp a, Timestamp b) noexcept {
    return a.sec < b.sec || (a.sec == b.sec && a.nsec < b.nsec);
}

struct CallRec {
    std::uint32_t xid = 0;
    bool from_client = true;
    std::uint32_t prog = 0;
    std::uint32_t vers = 0;
    std::uint32_t proc = 0;
    std::uint32_t seq = 0;  // stream position of the last copy
    Timestamp first;
    Timestamp last;
    std::uint32_t copies = 0;
    bool answered = false;
    bool compound = false;  // NFSv4 COMPOUND
    bool has_sequence = false;
    bool cachethis = false;
    rpc::SessionId session{};
    std::uint32_t main_op = 0;  // the compound's last op, for the latency table
};

struct SrtAcc {
    std::uint32_t prog = 0;
    std::uint32_t vers = 0;
    std::uint32_t proc = 0;
    std::uint32_t op = 0;  // a COMPOUND's last op; 0 for the procedure as a whole
    std::uint64_t count = 0;
    double min = 0;
    double max = 0;
    std::vector<double> samples;  // the first kSrtSamples
};

struct ProcCount {
    std::uint32_t prog = 0;
    std::uint32_t vers = 0;
    std::uint32_t proc = 0;
    std::uint64_t n = 0;
};

void bump(std::vector<std::pair<std::uint32_t, std::uint64_t>>& v, std::uint32_t key) {
    for (auto& [k, n] : v) {
        if (k == key) {
            ++n;
            return;
        }
    }
    v.emplace_back(key, 1);
}

std::string procedure_label(std::uint32_t prog, std::uint32_t vers, std::uint32_t proc) {
    // Wireshark's label of NFS_ACL (the tshark comparison keys on it).
    const std::string_view p = prog == rpc::kProgNfsAcl ? "NFS_ACL" : rpc::program_name(prog);
    std::string out = p.empty() ? std::to_string(prog) : std::string(p);
    out += " v" + std::to_string(vers) + " ";
    std::string_view name = rpc::procedure_name(prog, vers, proc);
    if (name.empty() && proc == 0) {
        name = "NULL";  // procedure 0 of every program (RFC 5531 section 12.1)
    }
    out += name.empty() ? "proc" + std::to_string(proc) : std::string(name);
    return out;
}

std::string nfs4_status_label(std::uint32_t s) {
    const std::string_view n = rpc::nfsstat4_name(s);
    return n.empty() ? "NFS4ERR_" + std::to_string(s) : std::string(n);
}

}  // namespace

struct RpcAnalyzer::Impl {
    struct Conn;
    struct Sink final : rpc::RecordSink {
        Impl* impl = nullptr;
        Conn* conn = nullptr;
        bool from_client = true;
        void on_record(const rpc::Record& record) noexcept override {
            try {
                impl->on_record(*conn, from_client, record);
            } catch (...) {
                ++conn->bounds_hit;  // an allocation failed: the record's facts are lost
            }
        }
    };

    struct Conn {
        std::array<rpc::RecordStream, 2> streams;  // [0] client->server, [1] server->client
        track::Endpoint client;
        track::Endpoint server;
        std::uint64_t serial = 0;  // connections in order of first sight
        bool closed = false;
        Timestamp closed_ts;
        bool program_noted = false;
        bool session_reply = false;  // carried an establishment or a session error
        std::uint64_t calls = 0, replies = 0, calls_c2s = 0, calls_s2c = 0;
        std::uint64_t bounds_hit = 0, garbled = 0;
        std::vector<CallRec> calls_seen;
        std::vector<std::uint32_t> retransmitted, resent_earlier;
        std::vector<ProcCount> procs;
        std::vector<std::pair<std::uint32_t, std::uint64_t>> ops, cb_ops;
        std::map<std::string, std::uint64_t> errors;
        std::uint8_t versions = 0;  // bit 0: v3, bit 1 + minor: v4.minor
        std::vector<SrtAcc> srt;    // few keys: a linear search, no string per reply
        std::vector<RpcFinding> findings;
        std::vector<std::size_t> owner_groups;  // indices into Impl::owners
    };

    struct OwnerGroup {
        track::Endpoint server;
        std::string owner;
        std::vector<rpc_rules::OwnerEvent> events;
    };
    struct CrossCall {
        std::uint64_t serial = 0;
        Timestamp last;
    };
    struct Session {
        rpc::ChannelAttrs fore;
    };

    RpcOptions options;
    ProgramObserver observer;
    FlowStorage<Conn> conns;
    std::uint64_t next_serial = 0;
    Timestamp capture_end;
    std::uint64_t bounds_hit = 0;  // cross-connection tables full
    std::map<CallKey, CrossCall> cross_calls;
    std::map<CallKey, std::uint64_t> answered;  // (client, server, xid) -> latest serial answered
    std::vector<OwnerGroup> owners;
    std::size_t owner_events = 0;
    std::map<PairKey, std::vector<rpc_rules::SessionEvent>> session_events;
    std::size_t session_event_count = 0;
    std::map<rpc::SessionId, Session> sessions;

    CallKey call_key(const Conn& c, bool from_client, std::uint32_t xid, std::uint32_t prog,
                     std::uint32_t vers, std::uint32_t proc) const noexcept {
        CallKey k{};
        put(k.data(), c.client, false);
        put(k.data() + kEndpointBytes, c.server, true);
        k[2 * kEndpointBytes] = from_client ? 1 : 0;
        const std::uint32_t words[4] = {xid, prog, vers, proc};
        std::memcpy(k.data() + 2 * kEndpointBytes + 1, words, sizeof words);
        return k;
    }

    void on_record(Conn& c, bool from_client, const rpc::Record& record) {
        rpc::Message m;
        if (rpc::parse_message(record.bytes, m) != rpc::ParseResult::Ok) {
            ++c.garbled;
            return;
        }
        if (m.type == rpc::MsgType::Call) {
            on_call(c, from_client, record, m);
        } else {
            on_reply(c, from_client, record, m);
        }
    }

    void count_procedure(Conn& c, const rpc::CallHeader& h) {
        for (ProcCount& p : c.procs) {
            if (p.prog == h.prog && p.vers == h.vers && p.proc == h.proc) {
                ++p.n;
                return;
            }
        }
        c.procs.push_back({h.prog, h.vers, h.proc, 1});
    }

    // The copy of a call already seen on this connection, or a new record for it (nullptr when
    // the table is full).
    CallRec* call_record(Conn& c, bool from_client, const rpc::Record& record,
                         const rpc::Message& m, bool& again) {
        const rpc::CallHeader& h = m.call;
        for (auto it = c.calls_seen.rbegin(); it != c.calls_seen.rend(); ++it) {
            if (it->xid == m.xid && it->from_client == from_client && it->prog == h.prog &&
                it->vers == h.vers && it->proc == h.proc) {
                again = true;
                return &*it;
            }
        }
        if (c.calls_seen.size() >= kMaxCallsPerConnection) {
            ++c.bounds_hit;
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
        return &r;
    }

    void on_call(Conn& c, bool from_client, const rpc::Record& record, const rpc::Message& m) {
        const rpc::CallHeader& h = m.call;
        ++c.calls;
        ++(from_client ? c.calls_c2s : c.calls_s2c);
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
                c.findings.push_back(f);
                if (std::find(c.retransmitted.begin(), c.retransmitted.end(), m.xid) ==
                    c.retransmitted.end()) {
                    c.retransmitted.push_back(m.xid);
                }
            }
            rec->seq = record.seq;
            rec->last = record.ts;
        }
        if (rec != nullptr && !again) {
            cross_connection_copy(c, from_client, m, record);
        }
        if (rec != nullptr) {
            ++rec->copies;
        }
        decode_call_args(c, from_client, record, m, rec);
    }

    void cross_connection_copy(Conn& c, bool from_client, const rpc::Message& m,
                               const rpc::Record& record) {
        const rpc::CallHeader& h = m.call;
        const CallKey k = call_key(c, from_client, m.xid, h.prog, h.vers, h.proc);
        auto it = cross_calls.find(k);
        if (it != cross_calls.end()) {
            if (it->second.serial < c.serial) {
                RpcFinding f{.verdict = Verdict::RpcRetransmitted, .xid = m.xid, .ts = record.ts};
                f.seconds = seconds_between(it->second.last, record.ts);
                f.same_connection = false;
                c.findings.push_back(f);
                c.resent_earlier.push_back(m.xid);
                if (std::find(c.retransmitted.begin(), c.retransmitted.end(), m.xid) ==
                    c.retransmitted.end()) {
                    c.retransmitted.push_back(m.xid);
                }
            }
            it->second = {c.serial, record.ts};
        } else if (cross_calls.size() < kMaxCrossCalls) {
            cross_calls.emplace(k, CrossCall{c.serial, record.ts});
        } else {
            ++bounds_hit;
        }
    }

    void decode_call_args(Conn& c, bool from_client, const rpc::Record& record,
                          const rpc::Message& m, CallRec* rec) {
        const rpc::CallHeader& h = m.call;
        if (h.prog == rpc::kProgNfs && h.vers == 3) {
            c.versions |= 1U;
        }
        if (h.proc != rpc::kNfs4ProcCompound) {
            return;
        }
        if (h.prog == rpc::kProgNfs && h.vers == 4) {
            rpc::CompoundCall cc;
            if (!rpc::parse_compound_call(h.args, cc)) {
                return;
            }
            if (cc.minorversion <= 2) {
                c.versions |= static_cast<std::uint8_t>(2U << cc.minorversion);
            }
            for (std::size_t i = 0; i < cc.op_count; ++i) {
                bump(c.ops, cc.ops[i]);
            }
            if (rec != nullptr) {
                rec->compound = true;
                rec->main_op = cc.op_count > 0 ? cc.ops[cc.op_count - 1] : 0;
                if (cc.sequence) {
                    rec->has_sequence = true;
                    rec->cachethis = cc.sequence->cachethis;
                    rec->session = cc.sequence->sessionid;
                }
            }
            if (cc.sequence) {
                check_request_size(c, record, m.xid, cc.sequence->sessionid);
            }
            if (from_client && cc.exchange_id) {
                present_owner(c, cc.exchange_id->owner, cc.exchange_id->verifier, record.ts);
            }
            if (from_client && cc.setclientid) {
                present_owner(c, cc.setclientid->id, cc.setclientid->verifier, record.ts);
            }
        } else if (h.vers == 1 && rpc::program_name(h.prog) == "NFS_CB") {
            rpc::CbCompoundCall cb;
            if (rpc::parse_cb_compound_call(h.args, cb)) {
                for (std::size_t i = 0; i < cb.op_count; ++i) {
                    bump(c.cb_ops, cb.ops[i]);
                }
            }
        }
    }

    void check_request_size(Conn& c, const rpc::Record& record, std::uint32_t xid,
                            const rpc::SessionId& id) {
        const auto s = sessions.find(id);
        if (s == sessions.end() || record.length <= s->second.fore.maxrequestsize) {
            return;
        }
        c.findings.push_back({.verdict = Verdict::NfsRequestTooBig,
                              .xid = xid,
                              .ts = record.ts,
                              .length = record.length,
                              .limit = s->second.fore.maxrequestsize});
    }

    void present_owner(Conn& c, Bytes owner, const rpc::Verifier4& verifier, Timestamp ts) {
        const std::string_view o(reinterpret_cast<const char*>(owner.data()), owner.size());
        std::size_t g = 0;
        while (g < owners.size() && !(owners[g].server == c.server && owners[g].owner == o)) {
            ++g;
        }
        if (owner_events >= kMaxOwnerEvents) {
            ++bounds_hit;
            return;
        }
        if (g == owners.size()) {
            owners.push_back({c.server, std::string(o), {}});
        }
        owners[g].events.push_back({address_of(c.client), verifier, ts});
        ++owner_events;
        if (std::find(c.owner_groups.begin(), c.owner_groups.end(), g) == c.owner_groups.end()) {
            c.owner_groups.push_back(g);
        }
    }

    void session_event(Conn& c, Timestamp ts, bool establishment) {
        c.session_reply = true;
        if (session_event_count >= kMaxSessionEvents) {
            ++bounds_hit;
            return;
        }
        session_events[pair_key(c.client, c.server)].push_back(
            {address_of(c.client), ts, establishment});
        ++session_event_count;
    }

    CallRec* matching_call(Conn& c, bool reply_from_client, std::uint32_t xid) noexcept {
        for (auto it = c.calls_seen.rbegin(); it != c.calls_seen.rend(); ++it) {
            if (it->xid == xid && it->from_client != reply_from_client) {
                return &*it;
            }
        }
        return nullptr;
    }

    void on_reply(Conn& c, bool from_client, const rpc::Record& record, const rpc::Message& m) {
        ++c.replies;
        CallRec* call = matching_call(c, from_client, m.xid);
        if (call == nullptr) {
            return;  // its call is not in the capture (or the table was full)
        }
        if (!call->answered) {
            call->answered = true;
            const CallKey k = call_key(c, true, m.xid, 0, 0, 0);
            if (answered.size() < kMaxCrossCalls || answered.contains(k)) {
                std::uint64_t& s = answered[k];
                s = std::max(s, c.serial);
            } else {
                ++bounds_hit;
            }
        }
        const double srt = seconds_between(call->last, record.ts);
        add_srt(c, *call, 0, srt);
        if (call->compound && call->main_op != 0) {
            add_srt(c, *call, call->main_op, srt);
        }
        const rpc::ReplyHeader& h = m.reply;
        if (h.stat == rpc::ReplyStat::Denied) {
            std::string name = "MSG_DENIED:" + std::string(rpc::to_string(h.reject));
            if (h.reject == rpc::RejectStat::AuthError) {
                name += ":" + std::string(rpc::to_string(h.auth));
            }
            ++c.errors[name];
            c.findings.push_back({.verdict = Verdict::RpcDenied,
                                  .xid = m.xid,
                                  .ts = record.ts,
                                  .status = static_cast<std::uint32_t>(h.reject) * 100 +
                                            static_cast<std::uint32_t>(h.auth)});
            return;
        }
        if (h.accept != rpc::AcceptStat::Success) {
            ++c.errors[std::string(rpc::to_string(h.accept))];
            c.findings.push_back({.verdict = Verdict::RpcAcceptError,
                                  .xid = m.xid,
                                  .ts = record.ts,
                                  .status = static_cast<std::uint32_t>(h.accept)});
            return;
        }
        decode_results(c, record, m, *call);
    }

    static void add_srt(Conn& c, const CallRec& call, std::uint32_t op, double s) {
        auto it = std::find_if(c.srt.begin(), c.srt.end(), [&](const SrtAcc& a) {
            return a.prog == call.prog && a.vers == call.vers && a.proc == call.proc && a.op == op;
        });
        if (it == c.srt.end()) {
            c.srt.push_back(
                {.prog = call.prog, .vers = call.vers, .proc = call.proc, .op = op, .samples = {}});
            it = c.srt.end() - 1;
        }
        SrtAcc& a = *it;
        a.min = a.count == 0 ? s : std::min(a.min, s);
        a.max = a.count == 0 ? s : std::max(a.max, s);
        ++a.count;
        if (a.samples.size() < kSrtSamples) {
            a.samples.push_back(s);
        }
    }

    void decode_results(Conn& c, const rpc::Record& record, const rpc::Message& m,
                        const CallRec& call) {
        const Bytes results = m.reply.results;
        if (call.prog == rpc::kProgNfs && call.vers == 3) {
            if (const auto s = rpc::nfs3_reply_status(call.proc, results); s && *s != 0) {
                const std::string_view n = rpc::nfsstat3_name(*s);
                ++c.errors[n.empty() ? "NFS3ERR_" + std::to_string(*s) : std::string(n)];
            }
            return;
        }
        if (call.prog == rpc::kProgMount && call.proc == rpc::kMountProcMnt && call.vers == 3) {
            rpc::MntReply mnt;
            if (rpc::parse_mnt_reply(results, mnt) && mnt.status != 0) {
                ++c.errors[std::string(rpc::mountstat3_name(mnt.status))];
            }
            return;
        }
        if (call.proc != rpc::kNfs4ProcCompound) {
            return;
        }
        rpc::CompoundReply r;
        const bool nfs4 = call.prog == rpc::kProgNfs && call.vers == 4;
        if (!(nfs4 ? rpc::parse_compound_reply(results, r)
                   : rpc::parse_cb_compound_reply(results, r))) {
            return;
        }
        if (r.status != rpc::nfs4err::kOk) {
            const std::uint32_t s =
                r.result_count > 0 ? r.results[r.result_count - 1].status : r.status;
            ++c.errors[nfs4_status_label(s)];
        }
        if (nfs4) {
            compound_rules(c, record, m.xid, call, r);
        }
    }

    void compound_rules(Conn& c, const rpc::Record& record, std::uint32_t xid, const CallRec& call,
                        const rpc::CompoundReply& r) {
        bool session_err = r.result_count == 0 && rpc_rules::session_error(r.status);
        for (std::size_t i = 0; i < r.result_count; ++i) {
            const rpc::OpResult& o = r.results[i];
            if (rpc_rules::reply_too_big(o.status)) {
                c.findings.push_back({.verdict = Verdict::NfsReplyTooBig,
                                      .xid = xid,
                                      .ts = record.ts,
                                      .status = o.status,
                                      .length = record.length});
            }
            if (rpc_rules::request_too_big(o.status)) {
                c.findings.push_back({.verdict = Verdict::NfsRequestTooBig,
                                      .xid = xid,
                                      .ts = record.ts,
                                      .status = o.status});
            }
            session_err = session_err || rpc_rules::session_error(o.status);
            if (o.status == rpc::nfs4err::kOk && o.op == rpc::op::kSetclientidConfirm) {
                session_event(c, record.ts, true);
            }
        }
        if (r.create_session) {
            if (sessions.size() < kMaxSessions) {
                sessions[r.create_session->sessionid] = {r.create_session->fore};
            } else {
                ++bounds_hit;
            }
            session_event(c, record.ts, true);
        }
        if (session_err) {
            session_event(c, record.ts, false);
        }
        const bool sequence_ok = r.result_count > 0 && r.results[0].op == rpc::op::kSequence &&
                                 r.results[0].status == rpc::nfs4err::kOk;
        if (!call.has_sequence || !sequence_ok) {
            return;
        }
        const auto s = sessions.find(call.session);
        if (s == sessions.end()) {
            return;
        }
        const std::uint32_t limit = rpc_rules::reply_limit(s->second.fore, call.cachethis);
        if (record.length > limit) {
            c.findings.push_back({.verdict = Verdict::NfsReplyExceedsSessionLimit,
                                  .xid = xid,
                                  .ts = record.ts,
                                  .length = record.length,
                                  .limit = limit,
                                  .cached_limit = call.cachethis});
        }
    }

    void decide(Conn& c, ConnectionReport& r);
    void facts(Conn& c, RpcFacts& f) const;
    void unanswered(Conn& c, RpcFacts& f);
    void collision_and_churn(Conn& c, RpcFacts& f);
};

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
    for (const ProcCount& p : c.procs) {
        f.procedures.emplace_back(procedure_label(p.prog, p.vers, p.proc), p.n);
    }
    for (const auto& [op, n] : c.ops) {
        const std::string_view name = rpc::nfs_op_name(op);
        f.nfs_ops.emplace_back(name.empty() ? "OP" + std::to_string(op) : std::string(name), n);
    }
    for (const auto& [op, n] : c.cb_ops) {
        const std::string_view name = rpc::nfs_cb_op_name(op);
        f.cb_ops.emplace_back(name.empty() ? "CB_OP" + std::to_string(op) : std::string(name), n);
    }
    f.errors.assign(c.errors.begin(), c.errors.end());
    static constexpr std::array<const char*, 4> kVersions = {"3", "4.0", "4.1", "4.2"};
    for (std::size_t i = 0; i < kVersions.size(); ++i) {
        if ((c.versions & (1U << i)) != 0) {
            f.nfs_versions.emplace_back(kVersions[i]);
        }
    }
    for (const SrtAcc& a : c.srt) {
        std::string key = procedure_label(a.prog, a.vers, a.proc);
        if (a.op != 0) {
            const std::string_view op = rpc::nfs_op_name(a.op);
            key += " " + (op.empty() ? "OP" + std::to_string(a.op) : std::string(op));
        }
        std::vector<double> s = a.samples;
        std::sort(s.begin(), s.end());
        RpcLatency l{.count = a.count, .min = a.min, .max = a.max};
        if (!s.empty()) {
            l.median =
                s.size() % 2 == 1 ? s[s.size() / 2] : (s[s.size() / 2 - 1] + s[s.size() / 2]) / 2;
            l.p99 = s[std::min(s.size() - 1, (s.size() * 99 + 99) / 100 - 1)];
        }
        f.srt.emplace_back(key, l);
    }
    std::sort(f.srt.begin(), f.srt.end(),
              [](const auto& a, const auto& b) { return a.first < b.first; });
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

void RpcAnalyzer::Impl::unanswered(Conn& c, RpcFacts& f) {
    for (const CallRec& k : c.calls_seen) {
        if (k.answered) {
            continue;
        }
        const auto later = answered.find(call_key(c, true, k.xid, 0, 0, 0));
        const bool answered_later = later != answered.end() && later->second > c.serial;
        const double after = seconds_between(k.last, capture_end);
        const bool closed_after = c.closed && !before(c.closed_ts, k.last);
        if (rpc_rules::unanswered(false, answered_later, after, closed_after,
                                  options.unanswered_after_s)) {
            f.findings.push_back({.verdict = Verdict::RpcUnanswered,
                                  .xid = k.xid,
                                  .ts = k.last,
                                  .seconds = after,
                                  .closed = closed_after});
        }
    }
}

void RpcAnalyzer::Impl::collision_and_churn(Conn& c, RpcFacts& f) {
    for (const std::size_t g : c.owner_groups) {
        const OwnerGroup& group = owners[g];
        std::vector<rpc_rules::SessionEvent> at_server;
        for (const auto& [key, events] : session_events) {
            PairKey want{};
            put(want.data() + kEndpointBytes, group.server, true);
            if (std::equal(key.begin() + kEndpointBytes, key.end(),
                           want.begin() + kEndpointBytes)) {
                at_server.insert(at_server.end(), events.begin(), events.end());
            }
        }
        std::stable_sort(at_server.begin(), at_server.end(),
                         [](const auto& a, const auto& b) { return before(a.ts, b.ts); });
        if (auto col =
                rpc_rules::clientid_collision(group.owner, group.events, at_server, options)) {
            f.collision = std::move(col);
            break;
        }
    }
    if (!c.session_reply) {
        return;
    }
    const auto it = session_events.find(pair_key(c.client, c.server));
    if (it == session_events.end()) {
        return;
    }
    std::vector<rpc_rules::SessionEvent> events = it->second;
    std::stable_sort(events.begin(), events.end(),
                     [](const auto& a, const auto& b) { return before(a.ts, b.ts); });
    const RpcChurn churn = rpc_rules::session_churn(events, options);
    if (rpc_rules::churn_fires(churn, options)) {
        f.churn = churn;
    }
}

void RpcAnalyzer::Impl::decide(Conn& c, ConnectionReport& r) {
    RpcFacts f;
    facts(c, f);
    unanswered(c, f);
    collision_and_churn(c, f);
    for (const RpcFinding& x : f.findings) {
        r.verdicts.push_back(x.verdict);
    }
    if (f.collision) {
        r.verdicts.push_back(Verdict::NfsClientidCollision);
    }
    if (f.churn) {
        r.verdicts.push_back(Verdict::NfsSessionChurn);
    }
    r.rpc = std::move(f);
}

RpcAnalyzer::RpcAnalyzer(RpcOptions options, ProgramObserver observer)
    : impl_(std::make_unique<Impl>()) {
    impl_->options = options;
    impl_->observer = std::move(observer);
}

RpcAnalyzer::~RpcAnalyzer() = default;

void RpcAnalyzer::on_segment(const SegmentView& s) {
    Impl& im = *impl_;
    if (before(im.capture_end, s.ts)) {
        im.capture_end = s.ts;
    }
    const bool syn = (s.flags & decode::tcp_flag::kSyn) != 0;
    if (s.payload.empty() && !syn) {
        return;
    }
    Impl::Conn& c = im.conns.get(s.flow);
    if (c.serial == 0) {
        c.serial = ++im.next_serial;
        c.client = s.client;
        c.server = s.server;
    }
    const std::size_t dir = s.from_client ? 0 : 1;
    if (syn) {
        c.streams[dir].start(s.seq + 1);
        return;
    }
    Impl::Sink sink;
    sink.impl = &im;
    sink.conn = &c;
    sink.from_client = s.from_client;
    c.streams[dir].push({.seq = s.seq,
                         .payload = s.payload,
                         .claimed_len = s.claimed_payload,
                         .ts = s.ts,
                         .frame = s.frame},
                        sink);
}

void RpcAnalyzer::on_close(FlowId flow, CloseEvent e, bool from_client) {
    (void)e, (void)from_client;
    if (Impl::Conn* c = impl_->conns.find(flow); c != nullptr && !c->closed) {
        c->closed = true;
        c->closed_ts = impl_->capture_end;
    }
}

void RpcAnalyzer::decide(FlowId flow, ConnectionReport& r) {
    // Every connection gets `rpc` (zeros without RPC), as issue 19 item 4 asks.
    if (Impl::Conn* c = impl_->conns.find(flow)) {
        impl_->decide(*c, r);
    } else {
        r.rpc.emplace();
    }
}

void RpcAnalyzer::forget(FlowId flow) noexcept {
    impl_->conns.erase(flow);
}

}  // namespace vxcheck::analyze

// NFS facts from call arguments and replies: versions, COMPOUND ops, NFS/MOUNT status errors,
// and the session-limit rules that compare a message with the session it names.

#include "rpc_state.h"
#include "vxcheck/rpc/mount.h"

namespace vxcheck::analyze {

using rpc_state::ErrorKind;

void RpcAnalyzer::Impl::decode_call_args(Conn& c, bool from_client, const rpc::Record& record,
                                         const rpc::Message& m, CallRec* rec) {
    const rpc::CallHeader& h = m.call;
    if (h.prog == rpc::kProgNfs && h.vers == 3) {
        c.versions |= 1U;
    }
    if (h.prog == rpc::kProgPortmap) {
        note_port_query(c, m);
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
            if (!rpc_state::bump(c.ops, cc.ops[i])) {
                ++c.bounds_hit;
            }
        }
        c.call_op_count = static_cast<std::uint32_t>(cc.op_count);
        std::copy_n(cc.ops.begin(), std::min<std::size_t>(cc.op_count, c.call_ops.size()),
                    c.call_ops.begin());
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
                if (!rpc_state::bump(c.cb_ops, cb.ops[i])) {
                    ++c.bounds_hit;
                }
            }
        }
    }
}

// A session's entry by its id, through the connection's cache of the last one it named.
const RpcAnalyzer::Impl::Session* RpcAnalyzer::Impl::find_session(Conn& c,
                                                                  const rpc::SessionId& id) {
    if (c.session_gen != 0 && c.session_id == id &&
        (c.session != nullptr || c.session_gen == sessions_gen)) {
        return c.session;
    }
    const auto s = sessions.find(id);
    c.session = s == sessions.end() ? nullptr : &s->second;
    c.session_id = id;
    c.session_gen = sessions_gen;
    return c.session;
}

void RpcAnalyzer::Impl::check_request_size(Conn& c, const rpc::Record& record, std::uint32_t xid,
                                           const rpc::SessionId& id) {
    const Session* s = find_session(c, id);
    if (s == nullptr || record.length <= s->fore.maxrequestsize) {
        return;
    }
    add_finding(c, {.verdict = Verdict::NfsRequestTooBig,
                    .xid = xid,
                    .ts = record.ts,
                    .length = record.length,
                    .limit = s->fore.maxrequestsize});
}

void RpcAnalyzer::Impl::decode_results(Conn& c, const rpc::Record& record, const rpc::Message& m,
                                       const CallRec& call) {
    const rpc::XdrBytes results = m.reply.results;
    if (call.prog == rpc::kProgPortmap) {
        learn_port(c, call, m);
        return;
    }
    if (call.prog == rpc::kProgNfs && call.vers == 3) {
        if (const auto s = rpc::nfs3_reply_status(call.proc, results); s && *s != 0) {
            count_error(c, call.prog, ErrorKind::Nfs3, *s);
        }
        return;
    }
    if (call.prog == rpc::kProgMount && call.proc == rpc::kMountProcMnt && call.vers == 3) {
        rpc::MntReply mnt;
        if (rpc::parse_mnt_reply(results, mnt) && mnt.status != 0) {
            count_error(c, call.prog, ErrorKind::Mount, mnt.status);
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
    if (const std::uint32_t s = rpc_rules::compound_failure(r); s != rpc::nfs4err::kOk) {
        count_error(c, call.prog, ErrorKind::Nfs4, s);
    }
    if (nfs4) {
        compound_rules(c, record, m.xid, call, r);
    }
}

void RpcAnalyzer::Impl::compound_rules(Conn& c, const rpc::Record& record, std::uint32_t xid,
                                       const CallRec& call, const rpc::CompoundReply& r) {
    // Processing stops at the first failing op: the reply's one error status is its failure.
    const std::uint32_t failed = rpc_rules::compound_failure(r);
    if (rpc_rules::reply_too_big(failed)) {
        add_finding(c, {.verdict = Verdict::NfsReplyTooBig,
                        .xid = xid,
                        .ts = record.ts,
                        .status = failed,
                        .length = record.length});
    }
    if (rpc_rules::request_too_big(failed)) {
        add_finding(
            c,
            {.verdict = Verdict::NfsRequestTooBig, .xid = xid, .ts = record.ts, .status = failed});
    }
    const bool session_err = rpc_rules::session_error(failed);
    for (std::size_t i = 0; i < r.result_count; ++i) {
        const rpc::OpResult& o = r.results[i];
        if (o.status == rpc::nfs4err::kOk && o.op == rpc::op::kSetclientidConfirm) {
            session_event(c, record.ts, true);
        }
    }
    if (r.create_session) {
        const rpc::SessionId& id = r.create_session->sessionid;
        if (const auto s = sessions.find(id); s != sessions.end()) {
            s->second = {r.create_session->fore};  // cached pointers see the new limits
        } else if (sessions.size() < kMaxSessions) {
            sessions.emplace(id, Session{r.create_session->fore});
            ++sessions_gen;
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
    const Session* s = find_session(c, call.session);
    if (s == nullptr) {
        return;
    }
    const std::uint32_t limit = rpc_rules::reply_limit(s->fore, call.cachethis);
    if (record.length > limit) {
        add_finding(c, {.verdict = Verdict::NfsReplyExceedsSessionLimit,
                        .xid = xid,
                        .ts = record.ts,
                        .length = record.length,
                        .limit = limit,
                        .cached_limit = call.cachethis});
    }
}

}  // namespace vxcheck::analyze

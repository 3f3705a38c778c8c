// The cross-connection tables the rules need, each bounded (a full table counts a bound hit):
// earlier copies of a call, later answers, client owners per server, session events per
// (client, server); and the decisions that read them (unanswered, collision, churn).

#include <algorithm>

#include "rpc_state.h"

namespace vxcheck::analyze {

using rpc_state::kEndpointBytes;

namespace {

rpc_state::CallKey key_of(const track::Endpoint& client, const track::Endpoint& server,
                          std::uint64_t pair_hash, bool from_client, std::uint32_t xid,
                          std::uint32_t prog, std::uint32_t vers, std::uint32_t proc) noexcept {
    rpc_state::CallKey k{};
    rpc_state::put(k.bytes.data(), client, false);
    rpc_state::put(k.bytes.data() + kEndpointBytes, server, true);
    k.bytes[2 * kEndpointBytes] = from_client ? 1 : 0;
    const std::uint32_t words[4] = {xid, prog, vers, proc};
    std::memcpy(k.bytes.data() + 2 * kEndpointBytes + 1, words, sizeof words);
    k.hash = rpc_state::call_hash(pair_hash, from_client, xid, prog, vers, proc);
    return k;
}

std::uint64_t pair_hash_of(const track::Endpoint& client, const track::Endpoint& server) noexcept {
    return rpc_state::hash_bytes(rpc_state::pair_key(client, server));
}

}  // namespace

rpc_state::CallKey RpcAnalyzer::Impl::call_key(const Conn& c, bool from_client, std::uint32_t xid,
                                               std::uint32_t prog, std::uint32_t vers,
                                               std::uint32_t proc) noexcept {
    return key_of(c.client, c.server, c.pair_hash, from_client, xid, prog, vers, proc);
}

void RpcAnalyzer::Impl::set_endpoints(Conn& c, const track::Endpoint& client,
                                      const track::Endpoint& server) noexcept {
    c.client = client;
    c.server = server;
    c.pair_hash = pair_hash_of(client, server);
}

// Returns true when the call is a copy of one on an earlier connection.
bool RpcAnalyzer::Impl::cross_connection_copy(Conn& c, bool from_client, const rpc::Message& m,
                                              const rpc::Record& record) {
    const rpc::CallHeader& h = m.call;
    const CallKey k = call_key(c, from_client, m.xid, h.prog, h.vers, h.proc);
    bool inserted = false;
    CrossCall& earlier = cross_calls.upsert(k, inserted);
    const bool copy = !inserted && earlier.serial < c.serial;
    if (copy) {
        RpcFinding f{.verdict = Verdict::RpcRetransmitted, .xid = m.xid, .ts = record.ts};
        f.seconds = seconds_between(earlier.last, record.ts);
        f.same_connection = false;
        add_finding(c, f);
        rpc_state::add_once(c.resent_earlier, m.xid);
        rpc_state::add_once(c.retransmitted, m.xid);
    }
    earlier = {c.serial, record.ts};
    return copy;
}

void RpcAnalyzer::Impl::note_answered(const Conn& c, std::uint32_t xid) {
    bool inserted = false;
    std::uint64_t& s = answered.upsert(call_key(c, true, xid, 0, 0, 0), inserted);
    s = std::max(s, c.serial);
}

void RpcAnalyzer::Impl::present_owner(Conn& c, Bytes owner, const rpc::Verifier4& verifier,
                                      Timestamp ts) {
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
    owners[g].events.push_back({rpc_state::address_of(c.client), verifier, ts});
    ++owner_events;
    ++rule_events;
    if (std::find(c.owner_groups.begin(), c.owner_groups.end(), g) == c.owner_groups.end()) {
        c.owner_groups.push_back(g);
    }
}

void RpcAnalyzer::Impl::session_event(Conn& c, Timestamp ts, bool establishment) {
    c.session_reply = true;
    if (session_event_count >= kMaxSessionEvents) {
        ++bounds_hit;
        return;
    }
    session_events[rpc_state::pair_key(c.client, c.server)].push_back(
        {rpc_state::address_of(c.client), ts, establishment});
    ++session_event_count;
    ++rule_events;
}

bool RpcAnalyzer::Impl::answered_later_than(const CallKey& k, std::uint64_t serial) const noexcept {
    const std::uint64_t* later = answered.find(k);
    return later != nullptr && *later > serial;
}

// rpc_unanswered asks for the evidence to be in the capture: a reply the capture (or the reader)
// lost is not evidence of none. Bytes lost before the call was first sent cannot hold its reply.
// While the replies' stream holds segments behind missing bytes (live, before the other side
// acknowledges them or the connection is decided), the reply may be among either.
bool RpcAnalyzer::Impl::reply_may_be_lost(const Conn& c, const CallRec& k) noexcept {
    const std::size_t dir = k.from_client ? 1 : 0;  // the replies' direction
    const rpc::RecordStream& s = c.streams[dir];
    return s.holding() || (s.lost_any() && !(s.lost_until() < k.first)) ||
           (c.unparsed[dir] != 0 && !(c.unparsed_until[dir] < k.first)) ||
           acked_beyond(c, dir, k.first);
}

// Bytes a stream never showed at its end are proved sent by its FIN's sequence number (the data
// ends there), or else by the other side's acknowledgement of them. A stream no point fed has
// no position, and a shed one (rpc_budget.cc) none any more.
std::uint32_t RpcAnalyzer::Impl::acked_unread(const Conn& c, std::size_t dir) noexcept {
    const auto bit = static_cast<std::uint8_t>(1U << dir);
    if (c.shed || c.point[dir] == Conn::kNoPoint || ((c.fin_seen | c.acked_known) & bit) == 0) {
        return 0;
    }
    const std::uint32_t sent = (c.fin_seen & bit) != 0 ? c.fin_seq[dir] : c.acked[dir];
    const auto beyond = static_cast<std::int32_t>(sent - c.streams[dir].read_to());
    return beyond > 0 ? static_cast<std::uint32_t>(beyond) : 0;
}

// When those bytes were sent is known only as before the latest time an acknowledgement went
// higher or a FIN came, in either direction: a call sent after that cannot be answered in them.
bool RpcAnalyzer::Impl::acked_beyond(const Conn& c, std::size_t dir, Timestamp since) noexcept {
    return !(c.acked_at < since) && acked_unread(c, dir) != 0;
}

bool RpcAnalyzer::Impl::is_unanswered(const Conn& c, const CallRec& k, Timestamp end) const {
    if (k.answered || reply_may_be_lost(c, k)) {
        return false;
    }
    const bool answered_later = answered_later_than(call_key(c, true, k.xid, 0, 0, 0), c.serial);
    const bool closed_after = c.closed && c.closed_ts >= k.last;
    return rpc_rules::unanswered(false, answered_later, seconds_between(k.last, end), closed_after,
                                 options.unanswered_after_s);
}

void RpcAnalyzer::Impl::unanswered(Conn& c, RpcFacts& f) {
    for (const CallRec& k : c.calls_seen) {
        if (!k.answered && reply_may_be_lost(c, k)) {
            ++f.unread.calls_not_judged;
            continue;
        }
        if (is_unanswered(c, k, capture_end)) {
            f.findings.push_back({.verdict = Verdict::RpcUnanswered,
                                  .xid = k.xid,
                                  .ts = k.last,
                                  .seconds = seconds_between(k.last, capture_end),
                                  .closed = c.closed && c.closed_ts >= k.last,
                                  .call_frame = k.frame});
        }
    }
}

bool RpcAnalyzer::revisable(const ConnectionReport& r) const {
    return r.rpc && r.has(Verdict::RpcUnanswered);
}

// The calls of r found unanswered when its connection was decided: those answered since on a
// later connection between the same client IP and server ip:port are not (rule (b)); their
// findings and evidence go, and the verdict with the last of them.
void RpcAnalyzer::revise(ConnectionReport& r) {
    if (!revisable(r)) {
        return;
    }
    RpcFacts& f = *r.rpc;
    const std::uint64_t pair = pair_hash_of(r.client, r.server);
    const auto answered_later = [&](const RpcFinding& x) {
        if (x.verdict != Verdict::RpcUnanswered) {
            return false;
        }
        return impl_->answered_later_than(key_of(r.client, r.server, pair, true, x.xid, 0, 0, 0),
                                          f.serial);
    };
    std::erase_if(r.evidence, [&](const EvidenceFrame& e) {
        return e.note.kind == EvidenceNote::Kind::RpcCall && answered_later(e.note.rpc);
    });
    std::erase_if(f.findings, answered_later);
    if (std::none_of(f.findings.begin(), f.findings.end(),
                     [](const RpcFinding& x) { return x.verdict == Verdict::RpcUnanswered; })) {
        std::erase(r.verdicts, Verdict::RpcUnanswered);
        if (r.verdicts.empty()) {
            r.verdicts.push_back(Verdict::Clean);
        }
    }
}

void RpcAnalyzer::Impl::collision_and_churn(Conn& c, RpcFacts& f) {
    for (const std::size_t g : c.owner_groups) {
        const OwnerGroup& group = owners[g];
        std::vector<rpc_rules::SessionEvent> at_server;
        for (const auto& [key, events] : session_events) {
            PairKey want{};
            rpc_state::put(want.data() + kEndpointBytes, group.server, true);
            if (std::equal(key.begin() + kEndpointBytes, key.end(),
                           want.begin() + kEndpointBytes)) {
                at_server.insert(at_server.end(), events.begin(), events.end());
            }
        }
        std::stable_sort(at_server.begin(), at_server.end(),
                         [](const auto& a, const auto& b) { return a.ts < b.ts; });
        if (auto col =
                rpc_rules::clientid_collision(group.owner, group.events, at_server, options)) {
            f.collision = std::move(col);
            break;
        }
    }
    if (!c.session_reply) {
        return;
    }
    const auto it = session_events.find(rpc_state::pair_key(c.client, c.server));
    if (it == session_events.end()) {
        return;
    }
    std::vector<rpc_rules::SessionEvent> events = it->second;
    std::stable_sort(events.begin(), events.end(),
                     [](const auto& a, const auto& b) { return a.ts < b.ts; });
    const RpcChurn churn = rpc_rules::session_churn(events, options);
    if (rpc_rules::churn_fires(churn, options)) {
        f.churn = churn;
    }
}

}  // namespace vxcheck::analyze

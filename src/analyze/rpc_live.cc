// Live RPC verdicts (ConnectionPlugin::poll): the connections whose RPC verdicts became certain
// since the last poll. Findings made at a packet (accept errors, denials, too-big and
// session-limit errors, retransmissions) are new entries in a connection's findings; a call is
// unanswered once the capture has run the unanswered time after its last copy, counted up to the
// wall clock (as the SYN settle rule counts); collision and churn are looked at again only after
// an owner presentation or a session event. A connection is listed once per new verdict.
//
// Cost: a poll walks the connections that carried a call; per connection it reads the findings
// added since the last poll and the calls from the first one not known to be answered to the
// first one too young to be due (calls are kept in order of first sight).

#include "rpc_state.h"

namespace vxcheck::analyze {

namespace {

std::uint32_t bit(Verdict v) noexcept {
    return 1U << static_cast<unsigned>(v);
}

}  // namespace

void RpcAnalyzer::Impl::list_live(Conn& c) {
    live.push_back(c.id);
    c.listed = true;
    c.live_index = live.size() - 1;
}

void RpcAnalyzer::Impl::unlist_live(Conn& c) noexcept {
    if (!c.listed) {
        return;
    }
    const FlowId moved = live.back();
    live[c.live_index] = moved;
    if (Conn* m = conns.find(moved)) {
        m->live_index = c.live_index;
    }
    live.pop_back();
    c.listed = false;
}

// The verdict bits c has at `now` that it did not have at the last poll.
std::uint32_t RpcAnalyzer::Impl::gained_bits(Conn& c, Timestamp now, bool rules_changed) {
    std::uint32_t bits = 0;
    for (; c.findings_polled < c.findings.size(); ++c.findings_polled) {
        bits |= bit(c.findings[c.findings_polled].verdict);
    }
    if ((c.flagged & bit(Verdict::RpcUnanswered)) == 0) {
        while (c.pending_from < c.calls_seen.size() && c.calls_seen[c.pending_from].answered) {
            ++c.pending_from;
        }
        for (std::size_t i = c.pending_from; i < c.calls_seen.size(); ++i) {
            const CallRec& k = c.calls_seen[i];
            if (!c.closed && seconds_between(k.first, now) < options.unanswered_after_s) {
                break;  // this call and the later ones are too young
            }
            if (is_unanswered(c, k, now)) {
                bits |= bit(Verdict::RpcUnanswered);
                break;
            }
        }
    }
    if (rules_changed && (!c.owner_groups.empty() || c.session_reply)) {
        RpcFacts f;
        collision_and_churn(c, f);
        bits |= f.collision ? bit(Verdict::NfsClientidCollision) : 0U;
        bits |= f.churn ? bit(Verdict::NfsSessionChurn) : 0U;
    }
    bits &= ~c.flagged;
    c.flagged |= bits;
    return bits;
}

void RpcAnalyzer::poll(Timestamp now, std::vector<FlowId>& gained) {
    Impl& im = *impl_;
    if (im.capture_end < now) {
        im.capture_end = now;  // live: the capture has run until now
    }
    const bool rules_changed = im.rule_events != im.rule_events_polled;
    im.rule_events_polled = im.rule_events;
    for (const FlowId id : im.live) {
        Impl::Conn* c = im.conns.find(id);
        if (c != nullptr && im.gained_bits(*c, im.capture_end, rules_changed) != 0) {
            gained.push_back(id);
        }
    }
}

}  // namespace vxcheck::analyze

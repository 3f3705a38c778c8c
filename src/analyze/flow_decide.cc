// Deciding connections: a flow's facts to a report (the parts' facts, the rules, the plug-ins'
// verdicts), live polling of the flows with a decisive event, and the end of a run. See
// connections_impl.h for how the connection analysis is split.

#include <algorithm>

#include "capture_join.h"
#include "connections_impl.h"
#include "nat_tracking.h"
#include "syn_tracking.h"
#include "vxcheck/analyze/rules.h"

namespace vxcheck::analyze {

// The dirty list keeps, once each, only the keys of tracked flows still marked: without
// poll() (analyze) it would grow by a key for every connection ever marked. The next
// compaction waits until the list has doubled, so each costs O(1) per key listed, and the
// list stays below twice the flows tracked (ConnectionOptions::max_flows).
void ConnectionAnalyzer::Impl::compact_dirty() noexcept {
    std::size_t kept = 0;
    for (const FlowKey& k : dirty) {
        Flow* f = flows.find(k);
        if (f != nullptr && f->dirty) {
            f->dirty = false;  // a second copy of the key is dropped
            dirty[kept++] = k;
        }
    }
    dirty.resize(kept);
    for (const FlowKey& k : dirty) {
        flows.find(k)->dirty = true;
    }
    dirty_limit = std::max(kMinDirtyLimit, 2 * kept);
}

// Lists for poll() the flows the plug-ins say may have gained a verdict.
void ConnectionAnalyzer::Impl::poll_plugins(Timestamp when) {
    polled.clear();
    for (ConnectionPlugin* p : plugins) {
        p->poll(when, polled);
    }
    for (const FlowId id : polled) {
        if (id >= flows.capacity()) {
            continue;
        }
        Flow& f = flows.at(id);
        if (f.live && !f.dirty) {
            dirty.push_back(f.key);
            f.dirty = true;
            f.waiting = false;
        }
    }
}

std::vector<ConnectionReport> ConnectionAnalyzer::Impl::poll(Timestamp when, double settle_s) {
    if (!plugins.empty()) {
        poll_plugins(when);
    }
    std::vector<ConnectionReport> out;
    std::vector<FlowKey> keep;
    for (const FlowKey& k : dirty) {
        Flow* found = flows.find(k);
        if (found == nullptr) {
            continue;  // decided already (evicted or expired)
        }
        Flow& f = *found;
        if (absorbed(f)) {
            f.dirty = false;
            continue;  // reported inside the flow it was joined into
        }
        if (f.waiting && seconds_between(cold_of(f).dirty_since, when) < settle_s) {
            keep.push_back(k);
            continue;
        }
        f.dirty = false;
        ConnectionReport r = decide(f, !kTakeEvidence);
        r.decided_at = when;
        std::uint32_t bits = 0;
        for (const Verdict v : r.verdicts) {
            if (v != Verdict::Clean) {
                bits |= 1U << static_cast<unsigned>(v);
            }
        }
        if ((bits & ~cold_of(f).emitted) != 0) {
            make_cold(f).emitted |= bits;  // a dirty flow has its cold part (mark_dirty)
            out.push_back(std::move(r));
        }
    }
    dirty = std::move(keep);
    datagram_plugins.poll(when, points, out);
    return out;
}

// From the parts' facts to the verdicts (rules.h); the evidence is taken (the flow lets go of it)
// when f leaves the table next.
ConnectionReport ConnectionAnalyzer::Impl::decide(Flow& f, bool take_evidence) {
    ConnectionReport r;
    r.client = f.client();
    r.server = f.server();
    r.packets = f.packets;
    r.first_ts = f.first_ts();
    r.last_ts = f.last;
    r.history.resize(f.history_len);
    for (std::size_t i = 0; i < f.history_len; ++i) {
        r.history[i] = history_letter(f, i);
    }
    r.retransmissions = f.retransmissions[0];
    r.retransmissions_reply = f.retransmissions[1];
    r.incomplete = f.incomplete;
    for (std::uint16_t p = 0; p < std::min<std::size_t>(points.size(), kMaxPoints); ++p) {
        if ((f.points & point_bit(p)) != 0) {
            r.points.push_back(points[p]);
        }
    }
    r.points_beyond_cap = f.unfollowed;
    if (const NatLink* l = nat.link_of(f); l != nullptr && l->kind == NatLink::Kind::Joined) {
        if (const Flow* pre = flows.find(l->other); pre != nullptr) {
            credit_answers(*pre, f);
        }
    }
    const SynFacts syn = decide_syns(f, r);
    const FlowCold& cold = cold_of(f);
    if (cold.flags_not_captured != 0) {
        r.flags_not_captured = cold.flags_not_captured;
        r.flags_snaplen = cold.flags_snaplen;
        if (r.outcome == Outcome::NoSyn) {
            r.outcome = Outcome::FlagsNotCaptured;
        }
    }
    decide_nat(f, vteps, options, r);
    nat.decide(f, r);
    r.one_way_before_nat = !f.seq_known[1] && nat.before_nat_only(f);
    describe_hops(f, nat, r);
    if (const std::optional<std::uint32_t> isn = last_refused(f)) {
        r.refused = refused.facts(f.client(), f.server(), *isn);
    }
    r.verdicts = verdicts_of({.dropped = syn.dropped,
                              .rejected = syn.rejected,
                              .delayed = r.delay_s.has_value(),
                              .inner_snat = static_cast<bool>(r.inner_snat),
                              .outer_snat = static_cast<bool>(r.outer_snat),
                              .corrupted = !r.corrupted.empty(),
                              .endpoint_refused = r.refused.has_value()});
    // The report's copies first: a throw leaves the flow's frames and charges as they were.
    f.evidence.for_each([&r](const KeptFrame& k) { r.evidence.push_back(k.to_evidence_frame()); });
    if (take_evidence) {
        evidence.give_back(f.evidence);  // the table no longer holds them
        f.evidence.clear();
        state.give_back(std::exchange(f.detail_bytes, 0));
    }
    if (!plugins.empty()) {
        decide_plugins(f, r, take_evidence);  // may add evidence
    }
    if (nat.observing() && !r.has(Verdict::Clean)) {
        nat.describe_data(f, r);  // where its data packets were lost, if any
    }
    r.evidence_total = r.evidence.size() + f.evidence_not_kept;
    return r;
}

// The plug-ins add their verdicts; the list stays in enum order, without Clean if any.
void ConnectionAnalyzer::Impl::decide_plugins(const Flow& f, ConnectionReport& r, bool last) {
    for (ConnectionPlugin* p : plugins) {
        if (last) {
            p->ending(f.id);
        }
        p->decide(f.id, r);
    }
    settle_verdicts(r.verdicts);
}

void ConnectionAnalyzer::Impl::drop_absorbed(Flow& f) {
    Flow* into = flows.find(nat.link_of(f)->other);
    if (into != nullptr) {
        credit_answers(f, *into);
    }
    while (KeptFrame* k = f.evidence.pop_front()) {
        if (into != nullptr && into->evidence.size() < kMaxEvidence) {
            into->evidence.push_back(k);
        } else {
            evidence.give_back(k->cost());
            KeptFrame::destroy(k);
        }
    }
    state.give_back(std::exchange(f.detail_bytes, 0));
    forget(f);
    nat.forget(f);
    flows.erase(f);
}

std::vector<ConnectionReport> ConnectionAnalyzer::take_decided() {
    std::vector<ConnectionReport> out = std::exchange(impl_->decided, {});
    impl_->datagram_plugins.take_decided(impl_->points, out);
    return out;
}

std::vector<ConnectionReport> ConnectionAnalyzer::poll(Timestamp now, double settle_s) {
    return impl_->poll(now, settle_s);
}

std::size_t ConnectionAnalyzer::open_connections() const noexcept {
    return impl_->flows.size();
}

// The connections decided early first, then the held ones, the UDP flows and those still
// tracked, by first packet (the held ones with what the whole capture shows of their runs). The
// tracked ones are decided one at a time as their turn comes, and handed over at once: a table
// of --max-flows connections is never a list of as many reports. (The UDP flows are decided
// first to know their turns; a TCP decision reads nothing they change.)

void ConnectionAnalyzer::finish(const std::function<void(ConnectionReport&)>& each) {
    for (ConnectionReport& r : take_decided()) {
        each(r);
    }
    // The capture ran until the last packet analysed, whatever it carried: a rule that waits
    // (rpc_unanswered: 5 s after the call) counts up to it, not up to the plug-in's own last
    // segment. (poll() is how a plug-in learns the time; what it lists is decided below anyway.)
    std::vector<FlowId> listed;
    for (ConnectionPlugin* p : impl_->plugins) {
        p->poll(impl_->now, listed);
    }
    std::vector<std::pair<std::uint64_t, ConnectionReport>> rest =
        impl_->held.take_all(impl_->refused);
    for (auto& [order, r] : rest) {
        for (ConnectionPlugin* p : impl_->plugins) {
            p->revise(r);
        }
    }
    impl_->datagram_plugins.finish(impl_->points, rest);
    std::stable_sort(rest.begin(), rest.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
    std::vector<Flow*> order;
    order.reserve(impl_->flows.size());
    impl_->flows.for_each([&](Flow& f) { order.push_back(&f); });
    std::sort(order.begin(), order.end(),
              [](const Flow* a, const Flow* b) { return a->order < b->order; });
    auto next = rest.begin();
    for (Flow* f : order) {
        for (; next != rest.end() && next->first <= f->order; ++next) {
            each(next->second);
        }
        if (impl_->absorbed(*f)) {
            impl_->drop_absorbed(*f);
            continue;
        }
        ConnectionReport r = impl_->decide(*f, Impl::kTakeEvidence);
        impl_->forget(*f);
        each(r);
    }
    for (; next != rest.end(); ++next) {
        each(next->second);
    }
    impl_->flows.clear();
    impl_->nat.clear();
}

std::vector<ConnectionReport> ConnectionAnalyzer::finish() {
    std::vector<ConnectionReport> out;
    finish([&out](ConnectionReport& r) { out.push_back(std::move(r)); });
    return out;
}

const ConnectionStats& ConnectionAnalyzer::stats() const noexcept {
    impl_->reported = impl_->datagram_plugins.with_stats(impl_->stats);
    impl_->reported.vtep_pairs_evicted = impl_->vteps.evicted();
    impl_->reported.evidence_frames_dropped = impl_->evidence.dropped;
    impl_->reported.alloc_failures += impl_->nat.alloc_failures;
    return impl_->reported;
}

std::size_t ConnectionAnalyzer::pending_dirty() const noexcept {
    return impl_->dirty.size();
}

std::size_t ConnectionAnalyzer::evidence_bytes() const noexcept {
    return impl_->evidence.used();
}

std::size_t ConnectionAnalyzer::state_bytes() const noexcept {
    return impl_->state.used();
}

std::size_t ConnectionAnalyzer::decided_waiting() const noexcept {
    return impl_->decided.size();
}

ConnectionReport ConnectionAnalyzer::keep_for_evidence_file(ConnectionReport& c) noexcept {
    return take_for_evidence_file(impl_->evidence, c);
}

}  // namespace vxcheck::analyze

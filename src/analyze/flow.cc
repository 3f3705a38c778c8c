// Bookkeeping shared by the parts of the connection analysis: see flow.h.

#include "flow.h"

namespace vxcheck::analyze {

SynTx first_transmission(const Flow& f) noexcept {
    const bool tunnelled = (f.first_kept & kFirstTunnelled) != 0;
    SynTx tx;
    tx.ts = f.first_ts();
    tx.last_ts = tx.ts;
    tx.ip_id = f.first_ip_id;
    if ((f.first_kept & kFirstTsval) != 0) {
        tx.tsval = f.first_tsval;
    }
    tx.points = point_bit(f.first_point);
    tx.first_point = f.first_point;
    tx.last_point = f.first_point;
    tx.syn = f.first_options;
    tx.frame = f.first_frame;
    if (!followed(f.first_point)) {
        tx.unfollowed = true;
        tx.unfollowed_point = f.first_point;
    }
    if (tunnelled) {
        tx.has_outer = true;
        tx.first_tunnelled = true;
        tx.outer_sport = f.first_outer_sport;
        tx.outer_point = f.first_point;
        tx.outer_status = f.first_outer_status;
    }
    return tx;
}

void note_sighting(Flow& f, const Segment& s, const Observation& o) {
    const PlainSighting here{.ip_id = s.ip_id, .seq = s.t.seq, .point = o.ctx.point, .ts = o.ts};
    if (f.packets == 1 && (!f.side || f.side->plain.empty())) {
        // The connection's first packet: kept in the record (its SYN, if it is one, keeps the
        // same sequence number, IP ID and point).
        f.first_kept |= kFirstSighting;
        f.first_seq = here.seq;
        f.first_ip_id = here.ip_id;
        f.first_point = here.point;
        return;
    }
    if ((f.first_kept & kFirstSighting) != 0) {
        // The list takes the first and this one: what room_in() would have charged for both.
        constexpr std::size_t kBoth = 2 * sizeof(PlainSighting);
        if (!o.state.take_within(kBoth, kShareSightings)) {
            f.incomplete = true;
            ++o.detail_dropped;
            return;
        }
        try {
            make_side(f).plain.reserve(2);
        } catch (...) {
            o.state.give_back(kBoth);
            throw;
        }
        f.detail_bytes += static_cast<std::uint32_t>(kBoth);
        f.side->plain.push_back(PlainSighting{.ip_id = f.first_ip_id,
                                              .seq = f.first_seq,
                                              .point = f.first_point,
                                              .ts = f.first_ts()});
        f.first_kept &= static_cast<std::uint8_t>(~kFirstSighting);
        f.side->plain.push_back(here);
        return;
    }
    FlowSide& side = make_side(f);
    if (side.plain.size() < kMaxPlain && room_in(f, side.plain, kMaxPlain, o, kShareSightings)) {
        side.plain.push_back(here);
    }
}

void mark_dirty(Flow& f, const Observation& o, bool waiting) {
    FlowCold& c = make_cold(f);  // first: a flow marked dirty has its dirty_since
    if (!f.dirty) {
        o.dirty.push_back(f.key);  // may throw: the flag is set only once the key is listed
        f.dirty = true;
    }
    c.dirty_since = o.ts;
    f.waiting = waiting;
}

EvidenceNote note_for(EvidenceNote::Kind kind, const Segment& s) noexcept {
    EvidenceNote n{.kind = kind};
    if (!s.tunnelled) {
        return n;
    }
    n.tunnelled = true;
    n.outer_sport = s.outer_sport;
    if (const verify::Verdict* v = s.outer_checksum()) {
        n.outer_known = true;
        n.outer_status = v->status;
        n.stored = v->stored;
        n.expected = v->expected;
    }
    return n;
}

void keep_evidence(Flow& f, const Observation& o, const EvidenceNote& note) {
    if (f.evidence.size() >= kMaxEvidence) {
        ++f.evidence_not_kept;
        return;
    }
    const RawFrame& fr = o.ctx.packet.frame();
    const std::size_t cost = sizeof(KeptFrame) + fr.data.size();
    if (!o.evidence.take(cost)) {
        ++o.evidence.dropped;
        ++f.evidence_not_kept;
        return;
    }
    try {
        f.evidence.push_back(KeptFrame::make(fr, o.ctx.point, note));
    } catch (...) {
        o.evidence.give_back(cost);
        throw;
    }
}

ConnectionReport take_for_evidence_file(EvidenceBudget& budget, ConnectionReport& c) noexcept {
    // A kept report costs its place in the list twice over (the list's growth), and its frames.
    constexpr std::size_t kReportCost = 2 * sizeof(ConnectionReport);
    ConnectionReport kept;
    if (!budget.take(kReportCost)) {
        budget.dropped += c.evidence.size();
        return kept;
    }
    std::size_t n = 0;
    for (std::size_t i = 0; i < c.evidence.size(); ++i) {
        if (!budget.take(EvidenceBudget::cost(c.evidence[i]))) {
            ++budget.dropped;
        } else if (n++ != i) {  // never onto itself: a vector moved onto itself is emptied
            c.evidence[n - 1] = std::move(c.evidence[i]);
        }
    }
    c.evidence.resize(n);  // shrinks: no allocation
    if (n == 0) {
        budget.give_back(kReportCost);
        return kept;
    }
    kept.client = c.client;
    kept.server = c.server;
    kept.verdicts = std::move(c.verdicts);
    kept.evidence = std::move(c.evidence);
    return kept;
}

void add_history(Flow& f, Event e, bool from_client) noexcept {
    const auto bit = static_cast<std::uint16_t>(
        1U << (static_cast<unsigned>(e) + (from_client ? kHistoryEvents.size() : 0U)));
    if ((f.history_seen & bit) != 0) {
        return;  // like Zeek, each event letter is recorded once per direction
    }
    f.history_seen |= bit;
    if (f.history_len < kMaxHistory) {
        const auto code = static_cast<unsigned>(static_cast<unsigned>(e) +
                                                (from_client ? kHistoryEvents.size() : 0U));
        const std::size_t i = f.history_len++;
        f.history[i / 2] |= static_cast<std::uint8_t>(code << (i % 2 == 0 ? 0U : 4U));
    }
}

}  // namespace vxcheck::analyze

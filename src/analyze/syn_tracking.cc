// SYN tracking: see syn_tracking.h; the rules it applies are in rules.cc (domain spec 4).

#include "syn_tracking.h"

#include <algorithm>
#include <span>
#include <utility>
#include <vector>

#include "nat_join.h"
#include "vxcheck/analyze/rules.h"

namespace vxcheck::analyze {
namespace {

// The attempts in f's side part (none when it has none).
std::span<Attempt> side_list(Flow& f) noexcept {
    return f.side ? std::span<Attempt>(f.side->attempts.begin(), f.side->attempts.end())
                  : std::span<Attempt>();
}

// The attempt of `isn` in f's side part, made if new (the oldest of kMaxAttempts gives way);
// nullptr when the state budget has no room for it.
Attempt* attempt_for(Flow& f, std::uint32_t isn, const Observation& o) {
    PackedVec<Attempt>& attempts = make_side(f).attempts;
    for (Attempt& c : attempts) {
        if (c.isn == isn) {
            return &c;
        }
    }
    if (attempts.size() == kMaxAttempts) {
        const std::size_t freed = heap_bytes(attempts.front().tx);
        attempts.erase(attempts.begin());
        o.state.give_back(freed);
        f.detail_bytes -= static_cast<std::uint32_t>(freed);
    }
    if (!room_in(f, attempts, kMaxAttempts, o)) {
        return nullptr;
    }
    Attempt& a = attempts.emplace_back();
    a.isn = isn;
    return &a;
}

// The connection's first packet is a SYN: its attempt is kept in the record (kFirstSyn),
// charged nothing, with this packet as its one transmission.
void keep_first_syn(Flow& f, const Segment& s, const Observation& o) {
    f.first_kept |= kFirstSyn;
    f.first_seq = s.t.seq;
    f.first_ip_id = s.ip_id;
    f.first_point = o.ctx.point;
    f.first_frame = o.ctx.packet.frame().number;
    f.first_options = s.syn;
    if (s.tsval) {
        f.first_kept |= kFirstTsval;
        f.first_tsval = *s.tsval;
    }
    if (s.tunnelled) {
        f.first_kept |= kFirstTunnelled;
        f.first_outer_sport = s.outer_sport;
        f.first_outer_status =
            s.outer_verdict_known ? s.outer_verdict.status : verify::Status::Unverified;
    }
    EvidenceNote note = note_for(EvidenceNote::Kind::Syn, s);
    note.syn_number = 1;
    note.isn = s.t.seq;
    note.offset_s = 0;
    keep_evidence(f, o, note);
}

// Moves the attempt kept in the record (kFirstSyn) into FlowSide::attempts, as the first
// attempt with its one transmission, charged what room_in() would have charged for them (an
// attempt and a transmission: both lists are empty then). False, with f incomplete and the
// entry counted as not kept, when the state budget has no room: the attempt stays in the record
// and what needed the move (the SYN being observed) is not kept.
bool move_first_syn(Flow& f, const Observation& o) {
    constexpr std::size_t kCost = sizeof(Attempt) + sizeof(SynTx);
    if (!o.state.take_within(kCost, kShareVerdicts)) {
        f.incomplete = true;
        ++o.detail_dropped;
        return false;
    }
    std::vector<SynTx> tx;
    try {
        tx.reserve(1);
        make_side(f).attempts.reserve(1);
    } catch (...) {
        o.state.give_back(kCost);
        throw;
    }
    tx.push_back(first_transmission(f));
    const SynAttempts in_record(f);
    const AttemptView v = in_record.front();
    Attempt& a = f.side->attempts.emplace_back();
    a.isn = v.isn;
    a.tx = std::move(tx);
    a.answered = v.answered;
    a.answered_after = v.answered_after;
    a.rst = v.rst;
    a.icmp = v.icmp;
    a.icmp_type = v.icmp_type;
    a.icmp_code = v.icmp_code;
    f.first_kept &= static_cast<std::uint8_t>(~kFirstSynBits);
    f.detail_bytes += static_cast<std::uint32_t>(kCost);
    return true;
}

// Whether transmission c may have been seen at `point` already. A followed point is in its
// mask. Of the points not followed (beyond kMaxPoints) it keeps the first one only: at another
// such point it counts as not seen there.
bool seen_at(const SynTx& c, std::uint16_t point) noexcept {
    return followed(point) ? (c.points & point_bit(point)) != 0
                           : c.unfollowed && c.unfollowed_point == point;
}

// The same transmission seen at another capture point has the same IP ID and TSval, and
// options that fit MSS clamping in one order or the other (the order in which points report a
// packet need not be its path's: nat_join.h); the latest such transmission not seen at this
// point yet. At a point not followed this cannot be told
// for sure: a SYN with the IP ID and TSval of one seen elsewhere is taken as that one (the
// common case: one SYN crossing many interfaces counts once, as a run on each point's capture
// alone counts it), and only a second sighting at the first such point that saw it starts a
// transmission of its own (a duplicate at another point beyond the cap is not told apart).
SynTx* same_transmission(Attempt& a, const Segment& s, std::uint16_t point) noexcept {
    SynTx* tx = nullptr;
    for (SynTx& c : a.tx) {
        if (c.ip_id == s.ip_id && c.tsval == s.tsval && !seen_at(c, point) &&
            options_may_match(c.syn, s.syn, s.src.v6)) {
            tx = &c;
        }
    }
    return tx;
}

// A sighting at a point not followed: the first such point is kept (seen_at()).
void note_unfollowed(SynTx& tx, std::uint16_t point) noexcept {
    if (!followed(point) && !tx.unfollowed) {
        tx.unfollowed = true;
        tx.unfollowed_point = point;
    }
}

// NFLOG stamps a packet when the reader gets it, which may be after the same packet's capture at
// the next points (nat_join.h): the time of an NFLOG sighting does not say where the packet went
// last, so such a sighting never becomes the transmission's last point (logged_by_nflog()). Nor
// is an NFLOG sighting of the outer packet with another source port the later one: an NFLOG rule
// (raw or mangle table) logs before the nat table's SNAT, so its port is the one before the
// rewrite.

// A point not followed is never the transmission's last point: where it went after a followed
// point is then unknown (tx.unfollowed), and describe_hops() says nothing of it.
void join_transmission(SynTx& tx, const Segment& s, const Observation& o) noexcept {
    tx.points |= point_bit(o.ctx.point);
    note_unfollowed(tx, o.ctx.point);
    const bool nflog = logged_by_nflog(o.ctx.packet);
    if (!nflog && followed(o.ctx.point)) {
        tx.last_ts = o.ts;
        tx.last_point = o.ctx.point;
    }
    if (!s.tunnelled) {
        return;
    }
    if (!tx.has_outer) {
        tx.has_outer = true;
        tx.outer_sport = s.outer_sport;
        tx.outer_point = o.ctx.point;
    } else if (tx.outer_sport != s.outer_sport && nflog && !tx.outer_changed) {
        tx.outer_changed = true;  // the port before the rewrite, logged late
        tx.other_sport = std::exchange(tx.outer_sport, s.outer_sport);
        tx.other_point = std::exchange(tx.outer_point, o.ctx.point);
    } else if (tx.outer_sport != s.outer_sport) {
        tx.outer_changed = true;
        tx.other_sport = s.outer_sport;
        tx.other_point = o.ctx.point;
    }
}

// Whether `ack` answers the SYN of the attempt with ISN `isn`: it acknowledges ISN+1, or, when
// the SYN carried data (TCP Fast Open, RFC 7413 4.2), that data too, as far as the client sent
// it: a server that takes the data acknowledges it in the SYN-ACK, and a RST acknowledges
// everything the SYN held (Linux tcp_v4_send_reset(): seq + SYN + data length). The client's
// direction tracks its sequence space as seq + payload (track_retransmission()), so past ISN+1
// the answer may ack at most next_seq - ISN more; a SYN is one segment, so that is below 64 KiB,
// and the next_seq of another ISN is not.
bool answers(const Flow& f, std::uint32_t isn, std::uint32_t ack) noexcept {
    const std::uint32_t beyond = ack - (isn + 1);
    if (beyond == 0) {
        return true;
    }
    const std::uint32_t syn_data = f.next_seq[0] - isn;
    return f.seq_known[0] && syn_data <= 0xffff && beyond <= syn_data;
}

// The transmissions the client sent before it got an answer. A SYN sent again after the
// server's SYN-ACK (another IP ID or TSval than the answered one: not a copy of it) means that
// answer never reached the client: the connection waited for the answer to the last SYN.
std::size_t waited_for(const AttemptView& a) noexcept {
    if (!a.answered || a.answered_after == 0 || a.tx.size() <= a.answered_after) {
        return a.answered_after;
    }
    const SynTx& answered = a.tx[a.answered_after - 1U];
    const SynTx& last = a.tx.back();
    const bool copy = last.ip_id == answered.ip_id && last.tsval == answered.tsval;
    return copy ? a.answered_after : a.tx.size();
}

AttemptFacts facts_of(const AttemptView& a) noexcept {
    return {.syns = static_cast<unsigned>(a.tx.size()) + a.extra_tx,
            .answered = a.answered,
            .rst = a.rst,
            .icmp = a.icmp};
}

}  // namespace

void on_syn(Flow& f, const Segment& s, const Observation& o) {
    if ((f.first_kept & kFirstSyn) != 0) {
        if (!move_first_syn(f, o)) {
            return;
        }
    } else if (f.packets == 1 && side_attempts(f) == 0) {
        keep_first_syn(f, s, o);
        return;
    }
    Attempt* found = attempt_for(f, s.t.seq, o);
    if (found == nullptr) {
        return;
    }
    Attempt& a = *found;
    if (SynTx* tx = same_transmission(a, s, o.ctx.point)) {
        join_transmission(*tx, s, o);
        keep_evidence(f, o, note_for(EvidenceNote::Kind::SynSeenAgain, s));
        return;
    }
    if (a.tx.size() == kMaxTx) {
        ++a.extra_tx;
        return;
    }
    if (!room_in(f, a.tx, kMaxTx, o)) {
        if (a.tx.empty()) {
            f.side->attempts.pop_back();  // just made (every attempt kept has a transmission)
        }
        return;
    }
    if (!a.tx.empty()) {
        // A retransmission: dropped unless answered soon; after an answer, the answer was lost.
        mark_dirty(f, o, !a.answered);
    }
    SynTx& n = a.tx.emplace_back(SynTx{.ts = o.ts,
                                       .last_ts = o.ts,
                                       .ip_id = s.ip_id,
                                       .tsval = s.tsval,
                                       .points = point_bit(o.ctx.point),
                                       .first_point = o.ctx.point,
                                       .last_point = o.ctx.point,
                                       .syn = s.syn,
                                       .frame = o.ctx.packet.frame().number});
    note_unfollowed(n, o.ctx.point);
    if (s.tunnelled) {
        n.has_outer = true;
        n.first_tunnelled = true;
        n.outer_sport = s.outer_sport;
        n.outer_point = o.ctx.point;
        n.outer_status =
            s.outer_verdict_known ? s.outer_verdict.status : verify::Status::Unverified;
    }
    EvidenceNote note = note_for(EvidenceNote::Kind::Syn, s);
    note.syn_number = static_cast<std::uint32_t>(a.tx.size());
    note.isn = a.isn;
    note.offset_s = seconds_between(a.tx[0].ts, o.ts);
    keep_evidence(f, o, note);
}

std::optional<AttemptStart> on_syn_ack(Flow& f, const Segment& s, const Observation& o) {
    if ((f.first_kept & kFirstSyn) != 0) {
        if ((f.first_kept & kFirstAnswered) != 0 || !answers(f, f.first_seq, s.t.ack)) {
            return std::nullopt;
        }
        f.first_kept |= kFirstAnswered;  // after one transmission: no retransmission to mark
        keep_evidence(f, o, note_for(EvidenceNote::Kind::SynAck, s));
        return AttemptStart{.isn = f.first_seq, .first_ts = f.first_ts()};
    }
    for (Attempt& a : side_list(f)) {
        if (a.answered || !answers(f, a.isn, s.t.ack)) {
            continue;
        }
        a.answered = true;
        if (a.tx.size() >= 2) {
            mark_dirty(f, o, false);  // answered after retransmissions
        }
        a.answered_after = static_cast<std::uint8_t>(a.tx.size());
        keep_evidence(f, o, note_for(EvidenceNote::Kind::SynAck, s));
        return AttemptStart{.isn = a.isn, .first_ts = a.tx.front().ts};
    }
    return std::nullopt;
}

std::optional<AttemptStart> on_rst(Flow& f, const Segment& s, const Observation& o) {
    if ((f.first_kept & kFirstSyn) != 0) {
        if ((f.first_kept & (kFirstAnswered | kFirstRst)) != 0 ||
            !answers(f, f.first_seq, s.t.ack)) {
            return std::nullopt;
        }
        f.first_kept |= kFirstRst;
        mark_dirty(f, o, false);
        keep_evidence(f, o, EvidenceNote{.kind = EvidenceNote::Kind::Rst});
        return AttemptStart{.isn = f.first_seq, .first_ts = f.first_ts()};
    }
    for (Attempt& a : side_list(f)) {
        if (!a.answered && !a.rst && answers(f, a.isn, s.t.ack)) {
            a.rst = true;
            mark_dirty(f, o, false);
            keep_evidence(f, o, EvidenceNote{.kind = EvidenceNote::Kind::Rst});
            return AttemptStart{.isn = a.isn, .first_ts = a.tx.front().ts};
        }
    }
    return std::nullopt;
}

bool comes_back(const Flow& f, std::uint32_t isn) noexcept {
    const auto seen = [&](Event e) {
        const unsigned bit = 1U << static_cast<unsigned>(e);
        return (f.history_seen & (bit | (bit << kHistoryEvents.size()))) != 0;
    };
    if (!seen(Event::Fin) && !seen(Event::Rst)) {
        return false;
    }
    if ((f.first_kept & kFirstSyn) != 0) {
        return f.first_seq != isn;
    }
    if (f.side) {
        for (const Attempt& a : f.side->attempts) {
            if (a.isn == isn) {
                return false;
            }
        }
    }
    return true;
}

std::optional<std::uint32_t> last_refused(const Flow& f) noexcept {
    const SynAttempts attempts(f);
    for (std::size_t i = attempts.size(); i-- > 0;) {
        const AttemptView a = attempts[i];
        if (a.rst && !a.answered && !a.tx.empty()) {
            return a.isn;
        }
    }
    return std::nullopt;
}

void on_icmp_unreachable(Flow& f, std::uint32_t seq, std::uint8_t type, std::uint8_t code,
                         const Observation& o) {
    const EvidenceNote note{
        .kind = EvidenceNote::Kind::IcmpUnreachable, .icmp_type = type, .icmp_code = code};
    if ((f.first_kept & kFirstSyn) != 0) {
        if (f.first_seq == seq && (f.first_kept & (kFirstAnswered | kFirstIcmp)) == 0) {
            f.first_kept |= kFirstIcmp;
            mark_dirty(f, o, false);
            f.first_icmp_type = type;
            f.first_icmp_code = code;
            keep_evidence(f, o, note);
        }
        return;
    }
    for (Attempt& a : side_list(f)) {
        if (a.isn == seq && !a.answered && !a.icmp) {
            a.icmp = true;
            mark_dirty(f, o, false);
            a.icmp_type = type;
            a.icmp_code = code;
            keep_evidence(f, o, note);
        }
    }
}

void credit_answers(const Flow& pre, Flow& post) noexcept {
    const SynAttempts answers(pre);
    const auto answered = [&](std::uint32_t isn) {
        for (std::size_t i = 0; i < answers.size(); ++i) {
            const AttemptView b = answers[i];
            if (b.isn == isn && b.answered) {
                return true;
            }
        }
        return false;
    };
    if ((post.first_kept & kFirstSyn) != 0) {
        if ((post.first_kept & (kFirstAnswered | kFirstRst | kFirstIcmp)) == 0 &&
            answered(post.first_seq)) {
            post.first_kept |= kFirstAnswered;
        }
        return;
    }
    for (Attempt& a : side_list(post)) {
        if (!a.answered && !a.rst && !a.icmp && answered(a.isn)) {
            a.answered = true;
            a.answered_after = static_cast<std::uint8_t>(std::min<std::size_t>(a.tx.size(), 255));
        }
    }
}

SynFacts decide_syns(const Flow& f, ConnectionReport& r) {
    SynFacts out;
    const SynAttempts attempts(f);
    r.attempts = static_cast<unsigned>(attempts.size());
    r.outcome = Outcome::NoSyn;
    for (std::size_t i = 0; i < attempts.size(); ++i) {
        const AttemptFacts facts = facts_of(attempts[i]);
        out.rejected = out.rejected || attempt_rejected(facts);
        out.dropped = out.dropped || attempt_dropped(facts);
    }
    if (attempts.empty()) {
        return out;
    }
    const AttemptView a = attempts.back();
    const AttemptFacts facts = facts_of(a);
    r.syns = facts.syns;
    for (const SynTx& tx : a.tx) {
        r.syn_offsets_s.push_back(seconds_between(a.tx[0].ts, tx.ts));
    }
    r.outcome = outcome_of(facts);
    const std::size_t waited = std::min(waited_for(a), r.syn_offsets_s.size());
    if (r.outcome == Outcome::Established && waited >= 2) {
        r.delay_s = r.syn_offsets_s[waited - 1U];
        r.schedule = classify_schedule(std::span(r.syn_offsets_s).first(waited));
    } else if (r.outcome == Outcome::RejectedIcmp) {
        r.icmp_type = a.icmp_type;
        r.icmp_code = a.icmp_code;
    } else if (r.outcome == Outcome::Dropped || r.outcome == Outcome::Unanswered) {
        r.schedule = classify_schedule(r.syn_offsets_s);
    }
    return out;
}

}  // namespace vxcheck::analyze

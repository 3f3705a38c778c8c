// The capture-point join: see capture_join.h.

#include "capture_join.h"

#include <bit>

namespace vxcheck::analyze {
namespace {

// The outer source port of tx seen at one point and another at another point (both followed:
// no hop names a point beyond kMaxPoints).
void add_rewrite(const SynTx& tx, const Hop& which, ConnectionReport& r) {
    if (tx.outer_changed && followed(tx.outer_point) && followed(tx.other_point)) {
        Hop h = which;
        h.kind = Hop::Kind::OuterPortRewritten;
        h.from_sport = tx.outer_sport;
        h.from_point = tx.outer_point;
        h.to_sport = tx.other_sport;
        h.to_point = tx.other_point;
        r.hops.push_back(h);
    }
}

}  // namespace

void describe_hops(const Flow& f, const NatJoin& nat, ConnectionReport& r) {
    if (std::popcount(f.points_c2s) < 2 && !nat.enabled()) {
        return;
    }
    const SynAttempts attempts(f);
    if (attempts.empty()) {
        return;
    }
    const AttemptView a = attempts.back();
    const bool unanswered = !a.answered && !a.rst && !a.icmp;
    bool learned = false;  // a point only the learned path expected
    for (std::size_t t = 0; t < a.tx.size(); ++t) {
        const SynTx& tx = a.tx[t];
        const Hop which{.syn_number = static_cast<std::uint32_t>(t + 1),
                        .offset_s = seconds_between(a.tx[0].ts, tx.ts)};
        if (tx.unfollowed) {
            // Seen at a point not followed (beyond kMaxPoints): where it went last, and which
            // point it missed, are unknown.
            add_rewrite(tx, which, r);
            continue;
        }
        const PointMask seen_missing =
            std::popcount(f.points_c2s) < 2 ? 0U : f.points_c2s & ~tx.points;
        std::uint16_t last = tx.last_point;
        const PointMask expected = nat.expected_missing(f, tx.points, last);
        learned = learned || (expected & ~seen_missing) != 0;
        const PointMask missing = seen_missing | expected;
        if (missing != 0) {
            Hop h = which;
            h.kind = Hop::Kind::NeverReached;
            h.last_point = expected != 0 ? last : tx.last_point;
            h.missing = missing;
            h.seen = tx.points;
            h.seen_order = nat.path_order(f.server(), tx.points);
            r.hops.push_back(std::move(h));
        } else if ((unanswered && a.tx.size() >= 2) || t + 1 < a.answered_after) {
            // A lost SYN (retransmitted, never answered or answered only later) after whose
            // points nothing learned comes. A lone unanswered SYN may still be answered.
            std::uint16_t at = kMaxPoints;
            PointMask unordered = 0;
            if (nat.order_unknown(f, tx.points, at, unordered)) {
                Hop h = which;
                h.kind = Hop::Kind::OrderUnknown;
                h.seen = tx.points;
                h.last_known = at < kMaxPoints;
                h.last_point = h.last_known ? at : tx.last_point;
                h.missing = unordered;
                r.hops.push_back(h);
            }
        }
        add_rewrite(tx, which, r);
    }
    if (learned && r.path.empty()) {
        nat.put_path(f, r);
    }
}

std::optional<std::uint16_t> delivered_at(const Flow& f, const Candidate& c) noexcept {
    std::optional<std::uint16_t> at;
    any_sighting(f, [&](const PlainSighting& p) {
        if (p.ip_id == c.inner_ip_id && p.seq == c.inner_seq && p.point != c.point &&
            seconds_between(c.ts, p.ts) >= 0) {
            at = p.point;
        }
        return at.has_value();
    });
    return at;
}

}  // namespace vxcheck::analyze

// Data packets across capture points (issue 18 item 5): where each data segment of a connection
// was seen, and the first point where it was expected and missing. See nat_join.h (on_data,
// describe_data) and flow.h (DataTx, FlowData).
//
// The rules:
// - One transmission is one set of bytes sent once: the same direction, sequence number, length
//   and IPv4 identification at another point within the join window. NAT and tunnels keep all
//   four; a retransmission has the same bytes but (Linux) another IP ID, and is its own
//   transmission. Where an offload cut or merged segments between points (TSO or GSO on the
//   sender, GRO on the receiver), no segment at the next point is the same: a segment there
//   whose bytes overlap a transmission's, within the window, is that transmission seen there
//   (all of them, for a merged one), unless it has exactly its bytes under another IP ID.
//   (A retransmission cut differently from the original can thus hide the original's loss.)
// - A transmission is expected at the points that saw other data of its direction and were
//   capturing when it was sent (their first packet before it), and only after its last point on
//   the path learned for its destination (nat_join.h): a point before its first one was passed,
//   in another form. Without a learned order nothing is said.
// - Bytes the receiver acknowledged were delivered: their latest transmission is not lost,
//   whatever a point after its last one missed (a capture that dropped packets under load).
//   An earlier transmission of the same bytes is judged by its sightings: its retransmission,
//   not it, may be what got through.
// - It is missing at such a point once the point saw a later data transmission of the same
//   direction (one path delivers in order: the later one overtook it), or went on capturing for
//   kDataTransit after it. It is judged when it leaves the ring of the kDataRing latest, or at
//   the decision; one that might still arrive then is counted as not judged, never called lost.

#include <algorithm>
#include <bit>
#include <cmath>

#include "nat_join.h"

namespace vxcheck::analyze {
namespace {

bool overlaps(const DataTx& t, std::uint32_t seq, std::uint32_t length) noexcept {
    // RFC 1982 arithmetic: [seq, seq + length) and [t.seq, t.seq + t.length) intersect.
    const auto a = static_cast<std::int32_t>(seq - t.seq);
    const auto b = static_cast<std::int32_t>(t.seq - seq);
    return (a >= 0 && static_cast<std::uint32_t>(a) < t.length) ||
           (b >= 0 && static_cast<std::uint32_t>(b) < length);
}

void seen_at(DataTx& t, const Observation& o, bool nflog) noexcept {
    t.points |= point_bit(o.ctx.point);
    if (!nflog) {  // an NFLOG stamp says nothing of where the packet went last
        t.last_ts = o.ts;
        t.last_point = o.ctx.point;
    }
}

}  // namespace

void NatJoin::on_data(Flow& f, const Segment& s, const Observation& o, bool from_client) {
    const std::uint16_t point = o.ctx.point;
    if (point >= kMaxPoints || s.payload == 0) {
        return;
    }
    FlowNat* n = make_state(f, o);
    if (n == nullptr) {
        return;
    }
    FlowData& d = n->data;
    const PointMask bit = point_bit(point);
    d.points[from_client ? 0 : 1] |= bit;
    const bool nflog = logged_by_nflog(o.ctx.packet);
    const auto near = [&](const DataTx& t) {
        return t.from_client == from_client && (t.points & bit) == 0 &&
               std::fabs(seconds_between(t.ts, o.ts)) <= window_s_;
    };
    bool joined = false;
    for (DataTx& t : d.ring) {
        if (!near(t) || !overlaps(t, s.t.seq, s.payload)) {
            continue;
        }
        if (t.seq == s.t.seq && t.length == s.payload && t.ip_id != s.ip_id) {
            continue;  // the same bytes sent another time: a transmission of its own
        }
        seen_at(t, o, nflog);
        joined = true;
    }
    if (joined) {
        return;
    }
    ++d.followed;
    const DataTx fresh{.ts = o.ts,
                       .last_ts = o.ts,
                       .frame = o.ctx.packet.frame().number,
                       .seq = s.t.seq,
                       .length = s.payload,
                       .points = bit,
                       .ip_id = s.ip_id,
                       .first_point = point,
                       .last_point = point,
                       .from_client = from_client};
    if (d.ring.size() < kDataRing) {
        if (room_in(f, d.ring, kDataRing, o, kShareSightings)) {
            d.ring.push_back(fresh);
        }
        return;
    }
    DataTx& oldest = d.ring[d.next];
    d.next = static_cast<std::uint8_t>((d.next + 1) % kDataRing);
    switch (judge(f, d, oldest)) {
        case Judged::Lost:
            ++d.lost_total;
            if (d.lost.size() < kMaxDataLost &&
                room_in(f, d.lost, kMaxDataLost, o, kShareSightings)) {
                d.lost.push_back(oldest);
            }
            break;
        case Judged::Pending:
            ++d.not_judged;
            break;
        case Judged::Complete:
            break;
    }
    oldest = fresh;
}

void NatJoin::on_ack(const Flow& f, const Segment& s, bool from_client) noexcept {
    if ((s.t.flags & decode::tcp_flag::kAck) == 0) {
        return;
    }
    FlowNat* n = state_of(f);
    if (n == nullptr || n->data.followed == 0) {
        return;
    }
    const std::size_t dir = from_client ? 1 : 0;  // the client acknowledges the server's data
    FlowData& d = n->data;
    if (!d.acked_known[dir] || static_cast<std::int32_t>(s.t.ack - d.acked[dir]) > 0) {
        d.acked[dir] = s.t.ack;
        d.acked_known[dir] = true;
    }
}

namespace {

// Whether the receiver acknowledged t's bytes and t is their latest transmission.
bool delivered(const FlowData& d, const DataTx& t) noexcept {
    const std::size_t dir = t.from_client ? 0 : 1;
    if (!d.acked_known[dir] || static_cast<std::int32_t>(d.acked[dir] - (t.seq + t.length)) < 0) {
        return false;
    }
    for (const DataTx& u : d.ring) {
        if (u.from_client == t.from_client && u.seq == t.seq && seconds_between(t.ts, u.ts) > 0) {
            return false;  // sent again later: that one may be what was acknowledged
        }
    }
    return true;
}

}  // namespace

NatJoin::Judged NatJoin::judge(const Flow& f, const FlowData& d, DataTx& t) const noexcept {
    if (delivered(d, t)) {
        return Judged::Complete;
    }
    PointMask candidates = d.points[t.from_client ? 0 : 1] & ~t.points & started_;
    for (std::uint16_t q = 0; q < kMaxPoints && candidates != 0; ++q) {
        if ((candidates & point_bit(q)) != 0 && point_first_[q] > t.ts) {
            candidates &= ~point_bit(q);  // not capturing yet when it was sent
        }
    }
    if (candidates == 0) {
        return Judged::Complete;
    }
    const Path* path = path_to(t.from_client ? f.server() : f.client());
    if (path == nullptr) {
        return Judged::Complete;  // no order learned: nothing is said
    }
    std::array<PointMask, kMaxPoints> follows{};
    closure(*path, follows);
    std::uint16_t last = t.last_point;
    const PointMask first = first_missing(follows, t.points, candidates, last);
    if (first == 0) {
        return Judged::Complete;  // every point it missed comes before its last one
    }
    PointMask ripe = 0;  // of the first missing points, those where it can no longer arrive
    for (std::uint16_t q = 0; q < kMaxPoints; ++q) {
        const PointMask bit = point_bit(q);
        if ((first & bit) == 0) {
            continue;
        }
        bool overtaken = seconds_between(t.ts, point_last_[q]) >= kDataTransit;
        for (const DataTx& u : d.ring) {
            overtaken = overtaken || (u.from_client == t.from_client && (u.points & bit) != 0 &&
                                      seconds_between(t.ts, u.ts) > 0);
        }
        ripe |= overtaken ? bit : PointMask{0};
    }
    if (ripe == 0) {
        return Judged::Pending;
    }
    t.missing = ripe;
    t.reached_last = last;
    return Judged::Lost;
}

void NatJoin::describe_data(const Flow& f, ConnectionReport& r) const {
    const FlowNat* n = state_of(f);
    if (n == nullptr || n->data.followed == 0 || std::popcount(f.points) < 2) {
        return;  // one point: nothing to follow its data across
    }
    const FlowData& d = n->data;
    r.data_followed = d.followed;
    r.data_lost = d.lost_total;
    r.data_not_judged = d.not_judged;
    std::vector<DataTx> lost = d.lost;
    for (DataTx t : d.ring) {
        const Judged j = judge(f, d, t);
        if (j == Judged::Pending) {
            ++r.data_not_judged;
        } else if (j == Judged::Lost) {
            ++r.data_lost;
            if (lost.size() < kMaxDataLost) {
                lost.push_back(t);
            }
        }
    }
    std::stable_sort(lost.begin(), lost.end(), [](const DataTx& a, const DataTx& b) {
        return seconds_between(a.ts, b.ts) > 0;
    });
    for (const DataTx& t : lost) {
        Hop h;
        h.kind = Hop::Kind::DataNeverReached;
        h.offset_s = seconds_between(f.first_ts(), t.ts);
        h.last_point = t.reached_last;
        h.missing = t.missing;
        h.seen = t.points;
        h.seen_order = path_order(t.from_client ? f.server() : f.client(), t.points);
        h.from_client = t.from_client;
        h.seq = t.seq;
        h.length = t.length;
        h.first_point = t.first_point;
        h.frame = t.frame;
        r.hops.push_back(std::move(h));
    }
}

}  // namespace vxcheck::analyze

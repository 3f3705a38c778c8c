// The join across NAT: see nat_join.h.

#include "nat_join.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <new>
#include <optional>

namespace vxcheck::analyze {
namespace {

// A sighting before NAT: the pre-NAT record of a joined connection, or an NFLOG sighting at
// PREROUTING or OUTPUT (nat_join.h). Its timestamp may be later than the next point's.
bool before_nat(const PointSeen& s) noexcept {
    return s.pre_nat || s.logged_before_nat;
}

// Of two sightings, the earlier; at equal times an NFLOG one at PREROUTING/OUTPUT, then a
// pre-NAT one, then an untunnelled one.
bool by_time(const PointSeen& a, const PointSeen& b) noexcept {
    const double dt = seconds_between(a.ts, b.ts);
    if (dt != 0) {
        return dt > 0;
    }
    if (a.logged_before_nat != b.logged_before_nat) {
        return a.logged_before_nat;
    }
    if (a.pre_nat != b.pre_nat) {
        return a.pre_nat;
    }
    return !a.tunnelled && b.tunnelled;
}

// Whether two sightings of one packet can be ordered: a sighting before NAT only against those of
// its own kind (the inner packet, or the outer one). Its timestamp says nothing of its place among
// the other kind's (NFLOG stamps a locally sent packet when the reader gets it, which may be after
// the packet reached the other node).
bool comparable(const PointSeen& a, const PointSeen& b) noexcept {
    return !((before_nat(a) || before_nat(b)) && a.tunnelled != b.tunnelled);
}

// Of two sightings of one packet, the one earlier on its path: a sighting before NAT comes
// before the other sightings of its kind (the inner packet, or the outer one)
// whatever the timestamps say (nat_join.h); otherwise by_time().
bool before(const PointSeen& a, const PointSeen& b) noexcept {
    if (before_nat(a) != before_nat(b) && a.tunnelled == b.tunnelled) {
        return before_nat(a);
    }
    return by_time(a, b);
}

const NatLink* link_in(const FlowNat* n) noexcept {
    return n == nullptr || n->nat.empty() ? nullptr : &n->nat.front();
}

// Makes room for f's one NAT link within the state budget; false when there is none.
bool room_for_link(Flow& f, FlowNat& n, const Observation& o) {
    return !n.nat.empty() || room_in(f, n.nat, 1, o);
}

void set_link(FlowNat& n, const NatLink& l) {
    if (n.nat.empty()) {
        n.nat.push_back(l);
    } else {
        n.nat.front() = l;
    }
}

// A problem is noted on a record not joined already (a join made by another transmission of
// the same SYN stands).
void note_problem(Flow& f, FlowNat& n, const NatLink& l, const Observation& o) {
    const NatLink* have = link_in(&n);
    if (have != nullptr &&
        (have->kind == NatLink::Kind::Joined || have->kind == NatLink::Kind::Absorbed)) {
        return;
    }
    if (room_for_link(f, n, o)) {
        set_link(n, l);
    }
}

bool same_hop(const PointSeen& a, const PointSeen& b) noexcept {
    return a.point == b.point && a.pre_nat == b.pre_nat && a.tunnelled == b.tunnelled;
}

// The flow's first SYN sighting, kept in its attempts: `seen` holds it only once a sighting at
// another hop comes, so a single capture point allocates nothing for the path.
std::optional<PointSeen> first_sighting(const Flow& f) noexcept {
    const SynAttempts attempts(f);
    if (attempts.empty() || attempts.front().tx.empty()) {
        return std::nullopt;
    }
    const SynTx& tx = attempts.front().tx.front();
    if (!followed(tx.first_point)) {
        return std::nullopt;  // a point not followed is no hop
    }
    return PointSeen{
        .ts = tx.ts,
        .frame = tx.frame,
        .point = tx.first_point,
        .ip_id = tx.ip_id,
        .outer_sport = tx.first_tunnelled ? tx.outer_sport : std::uint16_t{0},
        .tunnelled = tx.first_tunnelled,
        .pre_nat = false,
        .outer_status = tx.first_tunnelled ? tx.outer_status : verify::Status::Unverified};
}

// f's sightings, the first one included.
std::vector<PointSeen> sightings(const Flow& f, const FlowNat* n) {
    if (n != nullptr && !n->seen.empty()) {
        return n->seen;
    }
    std::vector<PointSeen> out;
    if (const std::optional<PointSeen> first = first_sighting(f)) {
        out.push_back(*first);
    }
    return out;
}

// The MSS option TCPMSS adds to a SYN without one is at most the default send MSS: 536 over
// IPv4 (RFC 1122 4.2.2.6), 1220 over IPv6 (RFC 8200's minimum MTU 1280, less 60 bytes).
constexpr std::uint16_t kAddedMssV4 = 536;
constexpr std::uint16_t kAddedMssV6 = 1220;

}  // namespace

bool logged_by_nflog(const decode::DecodedPacket& p) noexcept {
    const auto layers = p.layers();
    return !layers.empty() && layers.front().proto == decode::Proto::Nflog;
}

bool clamped_only(const SynOptions& earlier, const SynOptions& later, bool v6) noexcept {
    if (earlier.has_wscale() != later.has_wscale() || earlier.wscale != later.wscale) {
        return false;
    }
    if (earlier.has_mss()) {
        return later.has_mss() && later.mss <= earlier.mss;
    }
    return !later.has_mss() || later.mss <= (v6 ? kAddedMssV6 : kAddedMssV4);
}

bool options_may_match(const SynOptions& a, const SynOptions& b, bool v6) noexcept {
    return clamped_only(a, b, v6) || clamped_only(b, a, v6);
}

track::Endpoint subnet_of(const track::Endpoint& e, std::uint8_t prefix_len) noexcept {
    track::Endpoint s;
    s.v6 = e.v6;
    const unsigned bits = e.v6 ? 64U : std::min<unsigned>(prefix_len, 32U);
    for (unsigned i = 0; i < bits / 8; ++i) {
        s.addr[i] = e.addr[i];
    }
    if (bits % 8 != 0) {
        s.addr[bits / 8] = static_cast<std::uint8_t>(e.addr[bits / 8] & (0xFF00U >> (bits % 8)));
    }
    return s;
}

void sort_path(std::vector<PointSeen>& seen) noexcept {
    // before() on pairs is not a strict weak order over mixed kinds; the sort places each
    // sighting before NAT at the earliest time of the other sightings of its kind,
    // when that is earlier than its own stamp (a consistent key), then sorts by_time().
    for (PointSeen& s : seen) {
        if (!before_nat(s)) {
            continue;
        }
        for (const PointSeen& o : seen) {
            if (!before_nat(o) && o.tunnelled == s.tunnelled && o.ts < s.ts) {
                s.ts = o.ts;
            }
        }
    }
    std::stable_sort(seen.begin(), seen.end(), by_time);
}

FlowNat* NatJoin::state_of(const Flow& f) noexcept {
    const auto it = state_.find(f.key);
    return it == state_.end() ? nullptr : &it->second;
}

const FlowNat* NatJoin::state_of(const Flow& f) const noexcept {
    const auto it = state_.find(f.key);
    return it == state_.end() ? nullptr : &it->second;
}

// f's NAT-path state, made (its table node charged to f) if new; nullptr when the state budget
// has no room for it.
FlowNat* NatJoin::make_state(Flow& f, const Observation& o) {
    if (FlowNat* n = state_of(f)) {
        return n;
    }
    constexpr std::size_t kNode = sizeof(FlowNat) + sizeof(track::FlowKey) + 2 * sizeof(void*);
    if (!o.state.take(kNode)) {
        f.incomplete = true;
        ++o.detail_dropped;
        return nullptr;
    }
    f.detail_bytes += static_cast<std::uint32_t>(kNode);
    return &state_[f.key];
}

void NatJoin::forget(const Flow& f) noexcept {
    if (!state_.empty()) {
        state_.erase(f.key);
    }
}

const NatLink* NatJoin::link_of(const Flow& f) const noexcept {
    return link_in(state_of(f));
}

// f's sightings in path order. The first one comes from its SYN record, which does not say
// how the frame was captured: a sighting at a point that logs by NFLOG before NAT is marked so
// from the point.
std::vector<PointSeen> NatJoin::path_sightings(const Flow& f) const {
    std::vector<PointSeen> seen = sightings(f, state_of(f));
    for (PointSeen& s : seen) {
        if (s.point < kMaxPoints && (logged_points_ & point_bit(s.point)) != 0) {
            s.logged_before_nat = true;
        }
    }
    sort_path(seen);
    return seen;
}

void NatJoin::put_path(const Flow& f, ConnectionReport& r) const {
    const NatLink* l = link_of(f);
    const bool joined = l != nullptr && l->kind == NatLink::Kind::Joined;
    std::vector<PointSeen> seen = path_sightings(f);
    for (const PointSeen& p : seen) {
        const bool pre = p.pre_nat && joined;
        r.path.push_back(PathHop{.point = p.point,
                                 .client = pre ? l->client : f.client(),
                                 .server = pre ? l->server : f.server(),
                                 .tunnelled = p.tunnelled,
                                 .outer_sport = p.outer_sport,
                                 .outer_status = p.outer_status,
                                 .first_frame = p.frame,
                                 .pre_nat = pre});
    }
}

void NatJoin::enable(const ConnectionOptions& options) {
    if (enabled()) {
        return;
    }
    window_s_ = options.nat_join_window_s;
    prefix_len_ = options.flannel_prefix_len;
    expect_several_ = options.several_points;
    index_.assign_zero(std::bit_ceil(std::max<std::size_t>(options.nat_join_entries, 1)),
                       kFirstKept);
    paths_.assign_zero(kMaxPaths);
}

void NatJoin::add_point() {
    ++points_;
    if ((points_ >= 2 || expect_several_) && spots_.empty()) {
        spots_.assign_zero(kSpots, kFirstKept);
        data_index_.assign_zero(kDataIndex, kFirstKept);
    }
}

NatJoin::Entry* NatJoin::slot_of(std::uint32_t isn, std::uint16_t ip_id, std::uint32_t tsval) {
    return &index_.at(static_cast<std::size_t>(syn_home(isn, ip_id, tsval)) & (index_.size() - 1));
}

namespace {

// A frame logged by NFLOG at the PREROUTING (0) or OUTPUT (3) hook: before the nat table's
// DNAT and SNAT when the rule is in the raw or mangle table (the pre-NAT tap).
bool logged_before_nat(const decode::DecodedPacket& p) noexcept {
    if (!logged_by_nflog(p)) {
        return false;
    }
    const auto* n = std::get_if<decode::NflogInfo>(&p.layers().front().info);
    return n != nullptr && n->has_hook && (n->hook == 0 || n->hook == 3);
}

// A packet's sighting at o's point, as a hop of its connection's path.
PointSeen sighting(const Segment& s, const Observation& o) noexcept {
    return PointSeen{.ts = o.ts,
                     .frame = o.ctx.packet.frame().number,
                     .point = o.ctx.point,
                     .ip_id = s.ip_id,
                     .outer_sport = s.tunnelled ? s.outer_sport : std::uint16_t{0},
                     .tunnelled = s.tunnelled,
                     .pre_nat = false,
                     .logged_before_nat = logged_before_nat(o.ctx.packet),
                     .outer_status = s.tunnelled && s.outer_verdict_known
                                         ? s.outer_verdict.status
                                         : verify::Status::Unverified};
}

}  // namespace

void NatJoin::on_syn(Flow& f, const Segment& s, const Observation& o,
                     track::FlowTable<Flow>& flows) {
    if (!enabled() || !followed(o.ctx.point)) {
        return;  // a point not followed is no hop and joins nothing
    }
    const PointSeen here = sighting(s, o);
    add_hop(f, here, o, flows);
    const std::uint32_t tsval = s.tsval.value_or(0);
    Entry& e = *slot_of(s.t.seq, s.ip_id, tsval);
    const bool same_ids = e.used && e.isn == s.t.seq && e.ip_id == s.ip_id &&
                          e.has_tsval == s.tsval.has_value() && e.tsval == tsval;
    if (same_ids && e.point == o.ctx.point) {
        return;  // one point: the same record, or another SYN (not joined)
    }
    const double dt = seconds_between(e.ts, o.ts);  // > 0: this sighting is the later one
    const bool same = same_ids && options_may_match(e.syn, s.syn, s.src.v6);
    if (same_ids && !same && std::fabs(dt) <= window_s_) {
        return;  // another SYN: the one indexed keeps its slot (nat_join.h)
    }
    Flow* other = other_record(e, same, f,
                               Entry{.ts = o.ts,
                                     .key = f.key,
                                     .isn = s.t.seq,
                                     .tsval = tsval,
                                     .ip_id = s.ip_id,
                                     .point = o.ctx.point,
                                     .syn = s.syn,
                                     .has_tsval = s.tsval.has_value(),
                                     .used = true,
                                     .tunnelled = s.tunnelled,
                                     .before_nat = here.logged_before_nat},
                               flows);
    if (other != nullptr) {
        pair(f, *other, e, here, o, &s.syn);
    }
}

// The record of the indexed sighting e when this packet (`same`: the same identity) is seen on
// another record f; nullptr when it is f itself at another point, or when e gives its slot to
// `fresh` (another identity, or one whose record left the table).
Flow* NatJoin::other_record(Entry& e, bool same, const Flow& f, const Entry& fresh,
                            track::FlowTable<Flow>& flows) noexcept {
    Flow* other = same && !(e.key == f.key) ? flows.find(e.key) : nullptr;
    if (!same || (other == nullptr && !(e.key == f.key))) {
        e = fresh;
    }
    return other;
}

// Two records of one packet (`here` on f, the indexed sighting e on other): joins them, the
// later one being the post-NAT record, or notes why not. `syn`: the SYN options seen here.
void NatJoin::pair(Flow& f, Flow& other, const Entry& e, const PointSeen& here,
                   const Observation& o, const SynOptions* syn) {
    const double dt = seconds_between(e.ts, here.ts);  // > 0: this sighting is the later one
    if (std::fabs(dt) > window_s_) {
        ++refused;
        const auto skew = static_cast<float>(std::fabs(dt));
        problem(f, NatLink{.kind = NatLink::Kind::ClockSkew, .skew_s = skew, .other = e.key}, o);
        problem(other, NatLink{.kind = NatLink::Kind::ClockSkew, .skew_s = skew, .other = f.key},
                o);
        return;
    }
    const bool this_later = e.before_nat != here.logged_before_nat
                                ? e.before_nat
                                : dt >= 0;  // this one is the post-NAT
    if (syn != nullptr &&
        !clamped_only(this_later ? e.syn : *syn, this_later ? *syn : e.syn, f.key.lo.v6)) {
        return;  // another SYN: its MSS option is not the pre-NAT one clamped (nat_join.h)
    }
    if (this_later ? (e.tunnelled && !here.tunnelled) : (here.tunnelled && !e.tunnelled)) {
        ++refused;  // NAT comes before encapsulation: a tunnelled record is never the pre-NAT one
        problem(f, NatLink{.kind = NatLink::Kind::WrongOrder, .other = e.key}, o);
        problem(other, NatLink{.kind = NatLink::Kind::WrongOrder, .other = f.key}, o);
        return;
    }
    link(this_later ? other : f, this_later ? f : other, o);
}

// A hop of f's path: the first sighting at each point (add_seen); a sighting of a record joined
// into another (Absorbed) is that one's pre-NAT hop.
void NatJoin::add_hop(Flow& f, const PointSeen& here, const Observation& o,
                      track::FlowTable<Flow>& flows) {
    if (here.logged_before_nat) {
        logged_points_ |= point_bit(here.point);
    }
    const NatLink* l = link_of(f);
    if (l != nullptr && l->kind == NatLink::Kind::Absorbed) {
        if (Flow* post = flows.find(l->other)) {
            PointSeen pre = here;
            pre.pre_nat = true;
            pre_points_ |= point_bit(here.point);
            add_seen(*post, pre, o);
        }
    } else {
        add_seen(f, here, o);
    }
}

void NatJoin::on_data_join(Flow& f, const Segment& s, const Observation& o,
                           track::FlowTable<Flow>& flows) {
    if (data_index_.empty() || !followed(o.ctx.point) || has_attempts(f)) {
        return;  // a record with SYNs is joined by them
    }
    const PointSeen here = sighting(s, o);
    add_hop(f, here, o, flows);
    const NatLink* l = link_of(f);
    if (l != nullptr && (l->kind == NatLink::Kind::Joined || l->kind == NatLink::Kind::Absorbed)) {
        return;
    }
    const std::uint64_t h = data_home(s.t.seq, s.t.ack, s.ip_id, s.payload);
    Entry& e = data_index_.at(static_cast<std::size_t>(h) & (data_index_.size() - 1));
    const bool same = e.used && e.isn == s.t.seq && e.tsval == s.t.ack && e.ip_id == s.ip_id &&
                      e.payload == s.payload;
    if (same && e.point == o.ctx.point) {
        return;  // one point: the same record, or another segment (not joined)
    }
    Flow* other = other_record(e, same, f,
                               Entry{.ts = o.ts,
                                     .key = f.key,
                                     .isn = s.t.seq,
                                     .tsval = s.t.ack,
                                     .ip_id = s.ip_id,
                                     .point = o.ctx.point,
                                     .payload = s.payload,
                                     .syn = {},
                                     .has_tsval = true,
                                     .used = true,
                                     .tunnelled = s.tunnelled,
                                     .before_nat = here.logged_before_nat},
                               flows);
    if (other != nullptr && !has_attempts(*other)) {  // a record with SYNs is joined by them
        pair(f, *other, e, here, o, nullptr);
    }
}

// Joins the pre-NAT record into the post-NAT one: the post-NAT flow keeps the tuple as sent and
// the pre-NAT points' sightings; the pre-NAT flow is reported there. A record already joined
// with a third one stays as it is (a chain of joins is not followed).
void NatJoin::link(Flow& pre, Flow& post, const Observation& o) {
    const NatLink* pl = link_of(pre);
    const NatLink* ql = link_of(post);
    if (pl != nullptr && pl->kind == NatLink::Kind::Absorbed) {
        return;  // joined already (this one, or another post-NAT record)
    }
    if ((pl != nullptr && pl->kind == NatLink::Kind::Joined) ||
        (ql != nullptr && ql->kind != NatLink::Kind::ClockSkew &&
         ql->kind != NatLink::Kind::WrongOrder)) {
        return;
    }
    FlowNat* pn = make_state(pre, o);
    FlowNat* qn = pn != nullptr ? make_state(post, o) : nullptr;
    if (qn == nullptr || !room_for_link(pre, *pn, o) || !room_for_link(post, *qn, o)) {
        return;
    }
    const std::vector<PointSeen> pre_seen = sightings(pre, pn);
    std::uint16_t first_point = 0;
    Timestamp first_ts;
    bool any = false;
    for (const PointSeen& p : pre_seen) {
        if (!any || seconds_between(p.ts, first_ts) > 0) {
            first_point = p.point;
            first_ts = p.ts;
            any = true;
        }
    }
    set_link(*qn, NatLink{.kind = NatLink::Kind::Joined,
                          .point = first_point,
                          .client = pre.client(),
                          .server = pre.server(),
                          .other = pre.key});
    set_link(*pn, NatLink{.kind = NatLink::Kind::Absorbed, .other = post.key});
    for (PointSeen p : pre_seen) {
        p.pre_nat = true;
        pre_points_ |= point_bit(p.point);
        add_seen(post, p, o);
    }
    ++joins;
}

void NatJoin::problem(Flow& f, const NatLink& l, const Observation& o) {
    if (FlowNat* n = make_state(f, o)) {
        note_problem(f, *n, l, o);
    }
}

void NatJoin::add_seen(Flow& f, const PointSeen& p, const Observation& o) {
    FlowNat* n = state_of(f);
    if (n == nullptr || n->seen.empty()) {
        const std::optional<PointSeen> first = first_sighting(f);
        if (first && same_hop(*first, p)) {
            return;
        }
        n = make_state(f, o);
        if (n == nullptr) {
            return;
        }
        if (first && room_in(f, n->seen, kMaxSeen, o)) {
            n->seen.push_back(*first);
        }
    }
    for (const PointSeen& q : n->seen) {
        if (same_hop(q, p)) {
            return;  // the first SYN at each hop is the hop
        }
    }
    if (n->seen.size() >= kMaxSeen || !room_in(f, n->seen, kMaxSeen, o)) {
        return;
    }
    n->seen.push_back(p);
    learn(f, n->seen, p);
}

// The same transmission (IP ID) at two points orders them on the path to f's server's subnet.
void NatJoin::learn(const Flow& f, const std::vector<PointSeen>& seen,
                    const PointSeen& p) noexcept {
    Path* path = path_for(subnet_of(f.server(), prefix_len_));
    if (path == nullptr) {
        return;  // the paths learned are bounded: further subnets are not learned
    }
    for (const PointSeen& q : seen) {
        if (q.point == p.point || q.ip_id != p.ip_id ||
            std::fabs(seconds_between(q.ts, p.ts)) > window_s_) {
            continue;  // points whose clocks disagree teach no order
        }
        order(*path, q, p);
    }
}

// The path of a subnet, made if new and there is room; nullptr when there is none.
NatJoin::Path* NatJoin::path_for(const track::Endpoint& subnet) noexcept {
    if (last_path_ < paths_.size() && paths_[last_path_].used &&
        paths_[last_path_].subnet == subnet) {
        return &paths_[last_path_];
    }
    Path* free = nullptr;
    for (std::size_t i = 0; i < paths_.size(); ++i) {
        Path& c = paths_[i];
        if (c.used && c.subnet == subnet) {
            last_path_ = i;
            return &c;
        }
        if (!c.used && free == nullptr) {
            free = &c;
        }
    }
    if (free != nullptr) {
        free->used = true;
        free->subnet = subnet;
    }
    return free;
}

// Two sightings of one packet at two points: the earlier on its path comes first, when they
// are comparable() (before() puts a sighting before NAT first among its own kind).
void NatJoin::order(Path& path, const PointSeen& a, const PointSeen& b, bool read_order) noexcept {
    if (a.point == b.point || a.point >= kMaxPoints || b.point >= kMaxPoints) {
        return;
    }
    path.carried |= point_bit(a.point) | point_bit(b.point);
    if (!comparable(a, b)) {
        return;
    }
    // At equal times (a microsecond clock, two points a few microseconds apart) the tunnel says
    // nothing: encapsulation follows on the sender, decapsulation on the receiver. With
    // read_order, the sighting read first (a, from an earlier file: files given in path order)
    // comes first.
    if (read_order && a.ts == b.ts && !before_nat(a) && !before_nat(b)) {
        path.after[a.point] |= point_bit(b.point);
        return;
    }
    if (before(a, b)) {
        path.after[a.point] |= point_bit(b.point);
    } else {
        path.after[b.point] |= point_bit(a.point);
    }
}

void NatJoin::closure(const Path& path, std::array<PointMask, kMaxPoints>& out) noexcept {
    out = path.after;
    // Warshall, on bit masks, over the points that carried traffic to the subnet: no other
    // point is ordered (order() marks both points carried).
    for (PointMask ks = path.carried; ks != 0; ks &= ks - 1) {
        const auto k = static_cast<std::uint16_t>(std::countr_zero(ks));
        for (PointMask ps = path.carried; ps != 0; ps &= ps - 1) {
            const auto p = static_cast<std::uint16_t>(std::countr_zero(ps));
            if ((out[p] & point_bit(k)) != 0) {
                out[p] |= out[k];
            }
        }
    }
}

namespace {

std::uint64_t mix(std::uint64_t h, std::uint64_t v) noexcept {
    h ^= v + 0x9E3779B97F4A7C15ULL + (h << 6) + (h >> 2);
    return h * 0xFF51AFD7ED558CCDULL;
}

std::uint64_t addr_words(const track::Endpoint& e) noexcept {
    std::uint64_t a = 0;
    std::uint64_t b = 0;
    std::memcpy(&a, e.addr.data(), sizeof a);
    std::memcpy(&b, e.addr.data() + 8, sizeof b);
    return a ^ (b * 0x9E3779B97F4A7C15ULL);
}

// A packet as observe() knows it: what no hop between two NATs changes, and where it goes.
struct Observed {
    std::uint64_t key = 0;
    track::Endpoint dst;
    bool tunnelled = false;
};

// A TCP segment (any port): addresses, ports, IP ID, sequence and acknowledgment numbers.
void observed_segment(const Segment& s, Observed& o) noexcept {
    std::uint64_t h = mix(addr_words(s.src), addr_words(s.dst));
    h = mix(h, std::uint64_t{s.t.sport} << 48 | std::uint64_t{s.t.dport} << 32 | s.ip_id);
    h = mix(h, std::uint64_t{s.t.seq} << 32 | s.t.ack);
    o.key = mix(h, 6) | 1U;
    o.dst = s.dst;
    o.dst.port = 0;
    o.tunnelled = s.tunnelled;
}

// Any other IPv4 packet: its innermost IPv4 header's addresses, IP ID and protocol, and the
// first 8 bytes after it (ICMP type, code, checksum, identifier, sequence; UDP ports, length,
// checksum) as captured. A fragment after the first is keyed by its offset instead.
bool observed_ipv4(const decode::DecodedPacket& p, Observed& o) noexcept {
    const auto layers = p.layers();
    const decode::Layer* ip = nullptr;
    bool tunnelled = false;
    for (const decode::Layer& l : layers) {
        if (l.proto == decode::Proto::Ipv4) {
            if (ip != nullptr) {
                tunnelled = true;
            }
            ip = &l;
        } else if (l.proto == decode::Proto::Ipv6) {
            ip = nullptr;  // an IPv6 packet inside: not keyed
        }
    }
    if (ip == nullptr) {
        return false;
    }
    const auto* v4 = std::get_if<decode::Ipv4Info>(&ip->info);
    if (v4 == nullptr) {
        return false;
    }
    std::uint64_t first = v4->frag_offset;
    const Bytes payload = ip->payload();
    if (v4->frag_offset == 0 && payload.size() >= 8) {
        std::memcpy(&first, payload.data(), sizeof first);
    } else if (v4->frag_offset == 0) {
        return false;  // nothing beside the IP ID tells two packets apart
    }
    std::uint64_t h =
        mix(std::uint64_t{v4->src} << 32 | v4->dst, std::uint64_t{v4->id} << 8 | v4->protocol);
    o.key = mix(h, first) | 1U;
    o.dst.set_ipv4(v4->dst, 0);
    o.tunnelled = tunnelled;
    return true;
}

}  // namespace

void NatJoin::observe(const PacketContext& ctx, const PacketDigest& d) noexcept {
    if (spots_.empty() || ctx.point >= kMaxPoints) {
        return;
    }
    if ((started_ & point_bit(ctx.point)) == 0) {
        started_ |= point_bit(ctx.point);
        point_first_[ctx.point] = d.ts;
    }
    point_last_[ctx.point] = d.ts;
    Observed o;
    if (d.has_segment) {
        observed_segment(d.segment, o);
    } else if (!observed_ipv4(ctx.packet, o)) {
        return;
    }
    Path* path = path_for(subnet_of(o.dst, prefix_len_));
    if (path == nullptr) {
        return;
    }
    path->carried |= point_bit(ctx.point);
    const bool nflog = ctx.packet.frame().link == LinkType::Nflog && logged_before_nat(ctx.packet);
    const auto how =
        static_cast<std::uint8_t>((o.tunnelled ? kTunnelled : 0) | (nflog ? kBeforeNat : 0));
    const PointSeen here{
        .ts = d.ts, .point = ctx.point, .tunnelled = o.tunnelled, .logged_before_nat = nflog};
    Spot* slot = nullptr;
    try {
        slot = &spots_.at(static_cast<std::size_t>(o.key >> 40) & (spots_.size() - 1));
    } catch (const std::bad_alloc&) {
        ++alloc_failures;
        return;
    }
    Spot& s = *slot;
    const bool same = s.key == o.key && (s.points & point_bit(ctx.point)) == 0 &&
                      std::fabs(seconds_between(s.first_ts, d.ts)) <= window_s_;
    if (!same) {  // a new packet (or this one again at the same point): its first sighting
        s = Spot{.key = o.key,
                 .first_ts = d.ts,
                 .last_ts = d.ts,
                 .points = point_bit(ctx.point),
                 .first_point = ctx.point,
                 .last_point = ctx.point,
                 .first_how = how,
                 .last_how = how};
        return;
    }
    const auto seen = [](Timestamp ts, std::uint16_t point, std::uint8_t h) {
        return PointSeen{.ts = ts,
                         .point = point,
                         .tunnelled = (h & kTunnelled) != 0,
                         .logged_before_nat = (h & kBeforeNat) != 0};
    };
    const PointSeen first = seen(s.first_ts, s.first_point, s.first_how);
    const PointSeen last = seen(s.last_ts, s.last_point, s.last_how);
    order(*path, first, here, true);
    order(*path, last, here, true);
    s.points |= point_bit(ctx.point);
    // The latest sighting is the one the next is ordered against. One that cannot be ordered
    // against it (a sighting before NAT of the other kind, whose time says nothing) never takes
    // its place: the next point would then be ordered against neither and its order to `last`
    // lost. A sighting with a meaningful time takes the place of one that has none.
    const bool later =
        comparable(last, here) ? before(last, here) || last.ts == here.ts : !before_nat(here);
    if (later) {
        s.last_ts = d.ts;
        s.last_point = ctx.point;
        s.last_how = how;
    }
}

const NatJoin::Path* NatJoin::path_of(const Flow& f) const noexcept {
    return path_to(f.server());
}

const NatJoin::Path* NatJoin::path_to(const track::Endpoint& dst) const noexcept {
    const track::Endpoint subnet = subnet_of(dst, prefix_len_);
    for (const Path& c : paths_) {
        if (c.used && c.subnet == subnet) {
            return &c;
        }
    }
    return nullptr;
}

PointMask NatJoin::first_missing(const std::array<PointMask, kMaxPoints>& follows,
                                 PointMask reached, PointMask candidates,
                                 std::uint16_t& last) noexcept {
    PointMask next = 0;
    for (std::uint16_t p = 0; p < kMaxPoints; ++p) {
        if ((reached & point_bit(p)) != 0) {
            next |= follows[p];
        }
    }
    next &= ~reached & candidates;
    // Only points after the last one reached: one that precedes a reached point was passed.
    PointMask beyond = 0;
    for (std::uint16_t q = 0; q < kMaxPoints; ++q) {
        if ((next & point_bit(q)) != 0 && (follows[q] & reached) == 0) {
            beyond |= point_bit(q);
        }
    }
    // The first of them: one no other of them precedes.
    PointMask first = 0;
    for (std::uint16_t q = 0; q < kMaxPoints; ++q) {
        if ((beyond & point_bit(q)) == 0) {
            continue;
        }
        bool preceded = false;
        for (std::uint16_t r = 0; r < kMaxPoints; ++r) {
            preceded =
                preceded || (r != q && (beyond & point_bit(r)) != 0 &&
                             (follows[r] & point_bit(q)) != 0 && (follows[q] & point_bit(r)) == 0);
        }
        if (!preceded) {
            first |= point_bit(q);
        }
    }
    // The last reached point: a reached one that precedes them and no other reached one.
    for (std::uint16_t p = 0; p < kMaxPoints && first != 0; ++p) {
        if ((reached & point_bit(p)) != 0 && (follows[p] & first) != 0 &&
            (follows[p] & reached & ~point_bit(p)) == 0) {
            last = p;
        }
    }
    return first;
}

PointMask NatJoin::expected_missing(const Flow& f, PointMask reached,
                                    std::uint16_t& last) const noexcept {
    const Path* path = path_of(f);
    if (path == nullptr || reached == 0) {
        return 0;
    }
    std::array<PointMask, kMaxPoints> follows{};
    closure(*path, follows);
    return first_missing(follows, reached, ~PointMask{0}, last);
}

std::vector<std::uint16_t> NatJoin::path_order(const track::Endpoint& dst, PointMask points) const {
    std::array<PointMask, kMaxPoints> follows{};
    if (const Path* path = path_to(dst)) {
        closure(*path, follows);
    }
    // A point's rank: how many of the others it is known to follow.
    std::vector<std::pair<int, std::uint16_t>> ranked;
    for (std::uint16_t p = 0; p < kMaxPoints; ++p) {
        if ((points & point_bit(p)) == 0) {
            continue;
        }
        int rank = 0;
        for (std::uint16_t q = 0; q < kMaxPoints; ++q) {
            if (q != p && (points & point_bit(q)) != 0 && (follows[q] & point_bit(p)) != 0) {
                ++rank;
            }
        }
        ranked.emplace_back(rank, p);
    }
    std::sort(ranked.begin(), ranked.end());
    std::vector<std::uint16_t> out;
    out.reserve(ranked.size());
    for (const auto& [rank, p] : ranked) {
        out.push_back(p);
    }
    return out;
}

bool NatJoin::order_unknown(const Flow& f, PointMask reached, std::uint16_t& last,
                            PointMask& unordered) const noexcept {
    unordered = 0;
    if (!several_points() || reached == 0) {
        return false;
    }
    const Path* path = path_of(f);
    if (path == nullptr) {
        return false;
    }
    std::array<PointMask, kMaxPoints> follows{};
    closure(*path, follows);
    PointMask after_reached = 0;
    PointMask ordered = 0;  // points ordered against another one on this path
    for (std::uint16_t p = 0; p < kMaxPoints; ++p) {
        if ((reached & point_bit(p)) != 0) {
            after_reached |= follows[p];
        }
        if (follows[p] != 0) {
            ordered |= point_bit(p) | follows[p];
        }
    }
    if ((after_reached & ~reached) != 0) {
        return false;  // something learned follows (expected_missing() says what)
    }
    if ((ordered & reached) == 0) {
        return false;  // no packet joins its points with any other: captures of other places
    }
    // The last reached point, when the order among them is known.
    std::uint16_t maximal = 0;
    unsigned count = 0;
    for (std::uint16_t p = 0; p < kMaxPoints; ++p) {
        if ((reached & point_bit(p)) != 0 && (follows[p] & reached & ~point_bit(p)) == 0) {
            maximal = p;
            ++count;
        }
    }
    if (count == 1) {
        last = maximal;
    }
    for (std::uint16_t q = 0; q < kMaxPoints; ++q) {
        if ((path->carried & ~reached & point_bit(q)) != 0 && (follows[q] & reached) == 0) {
            unordered |= point_bit(q);
        }
    }
    return true;
}

void NatJoin::decide(const Flow& f, ConnectionReport& r) const {
    const NatLink* l = link_of(f);
    const bool joined = l != nullptr && l->kind == NatLink::Kind::Joined;
    if (joined) {
        r.as_sent = AsSent{.client = l->client, .server = l->server, .point = l->point};
    } else if (l != nullptr && l->kind == NatLink::Kind::ClockSkew) {
        r.nat_problem = NatJoinProblem::ClockSkew;
        r.nat_skew_s = l->skew_s;
    } else if (l != nullptr && l->kind == NatLink::Kind::WrongOrder) {
        r.nat_problem = NatJoinProblem::WrongOrder;
    } else if (l == nullptr && pre_points_ != 0 && f.points != 0 && !f.unfollowed &&
               (f.points & ~pre_points_) == 0) {
        r.nat_problem = NatJoinProblem::Unmatched;
    }
    if (!joined && r.nat_problem == NatJoinProblem::None) {
        return;
    }
    put_path(f, r);
    if (!joined) {
        return;
    }
    std::vector<PointSeen> seen = path_sightings(f);
    // Inner SNAT by the rewrite itself: the client as sent against the client after NAT.
    r.inner_snat = l->client == f.client()
                       ? InnerSnatReason{}
                       : InnerSnatReason{.kind = InnerSnatReason::Kind::Rewritten,
                                         .port = f.client().port,
                                         .before = l->client};
    // Outer SNAT: the same transmission's outer packet at a pre-NAT point (before POSTROUTING:
    // one that saw the connection as sent, or an NFLOG tap before NAT) and at a point after it.
    const PointMask before = pre_points_ | logged_points_;
    for (const PointSeen& a : seen) {
        if (!a.tunnelled || a.pre_nat || (before & point_bit(a.point)) == 0) {
            continue;
        }
        for (const PointSeen& b : seen) {
            if (b.tunnelled && b.ip_id == a.ip_id && (before & point_bit(b.point)) == 0) {
                r.outer_snat = a.outer_sport == b.outer_sport
                                   ? OuterSnatReason{}
                                   : OuterSnatReason{.kind = OuterSnatReason::Kind::Rewritten,
                                                     .port = b.outer_sport,
                                                     .pre_nat_port = a.outer_sport};
                return;
            }
        }
    }
}

}  // namespace vxcheck::analyze

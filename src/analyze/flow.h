#pragma once
// The state of one tracked connection, shared by the parts of the connection analysis (private
// to src/analyze): flow management (connections.cc), SYN tracking (syn_tracking.cc), tunnel and
// NAT evidence (nat_tracking.cc) and the capture-point join (capture_join.cc).

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <utility>
#include <vector>

#include "kept_frame.h"
#include "packed_vec.h"
#include "vxcheck/analyze/budget.h"
#include "vxcheck/analyze/connections.h"

namespace vxcheck::analyze {

inline constexpr std::size_t kMaxTx = 16;         // SYN transmissions kept per attempt
inline constexpr std::size_t kMaxAttempts = 4;    // ISNs kept per connection (the latest ones)
inline constexpr std::size_t kMaxSports = 8;      // outer source ports kept per connection
inline constexpr std::size_t kMaxCandidates = 8;  // bad outer checksums kept per connection
inline constexpr std::size_t kMaxEvidence = 32;   // frames copied per connection
inline constexpr std::size_t kMaxPlain = 64;      // untunnelled sightings kept per connection
inline constexpr std::size_t kMaxSeen = 16;       // points whose first SYN is kept per connection
inline constexpr std::size_t kDataRing = 64;  // data transmissions followed at once per connection
inline constexpr std::size_t kMaxDataLost = 8;  // data transmissions kept that missed a point
// A point that went on capturing this long after a data transmission and never saw it, missed
// it: the same packet crosses a node's capture points and the wire to another node in well
// under a millisecond (data_path.cc).
inline constexpr double kDataTransit = 0.1;

inline double seconds_between(Timestamp a, Timestamp b) noexcept {
    return static_cast<double>(b.sec - a.sec) +
           (static_cast<double>(b.nsec) - static_cast<double>(a.nsec)) * 1e-9;
}

// A point's bit in a PointMask (connection_report.h); 0 for a point not followed across points.
inline PointMask point_bit(std::uint16_t point) noexcept {
    return point < kMaxPoints ? (PointMask{1} << point) : PointMask{0};
}

inline bool followed(std::uint16_t point) noexcept {
    return point < kMaxPoints;
}

/// One SYN transmission, joined across capture points by IP ID and TSval.
struct SynTx {
    Timestamp ts;
    Timestamp last_ts;
    std::uint16_t ip_id = 0;
    std::optional<std::uint32_t> tsval;
    PointMask points = 0;  // the followed points that saw it
    std::uint16_t first_point = 0;
    std::uint16_t last_point = 0;  // the last followed point (not logged by NFLOG) that saw it
    SynOptions syn;                // its MSS and window-scale options, as first seen
    // Seen at a point not followed (beyond kMaxPoints): `unfollowed_point` is the first such.
    // Its last point and the points it missed are then unknown (describe_hops says nothing).
    bool unfollowed = false;
    std::uint16_t unfollowed_point = 0;
    std::uint64_t frame = 0;
    bool has_outer = false;
    bool first_tunnelled = false;  // the first sighting came in a tunnel (has_outer: any did)
    std::uint16_t outer_sport = 0;
    std::uint16_t outer_point = 0;  // the first point that saw it in a tunnel (has_outer)
    verify::Status outer_status = verify::Status::Ok;
    bool outer_changed = false;  // another point saw a different outer source port
    std::uint16_t other_sport = 0;
    std::uint16_t other_point = 0;
};

/// The SYNs of one ISN and how they were answered.
struct Attempt {
    std::uint32_t isn = 0;
    std::vector<SynTx> tx;       // at most kMaxTx; most attempts have one or two
    std::uint32_t extra_tx = 0;  // transmissions beyond kMaxTx
    bool answered = false;
    std::uint8_t answered_after = 0;  // transmissions seen when the SYN-ACK came
    bool rst = false;
    bool icmp = false;
    std::uint8_t icmp_type = 0;
    std::uint8_t icmp_code = 0;
};

struct Candidate {  // a bad outer UDP checksum, judged once every VTEP pair's mode is known
    std::uint16_t inner_ip_id = 0;  // with seq: the same packet seen at another capture point
    std::uint32_t inner_seq = 0;
    track::Endpoint outer_src;
    track::Endpoint outer_dst;
    std::uint16_t sport = 0;
    std::uint16_t stored = 0;
    std::uint16_t expected = 0;
    std::uint16_t residual = 0;
    std::uint16_t point = 0;
    std::uint64_t frame = 0;
    Timestamp ts;
};

// A packet seen without a tunnel header (on flannel.1 or a pod interface), to tell later whether
// a packet with a corrupted outer checksum was delivered after all.
struct PlainSighting {
    std::uint16_t ip_id = 0;
    std::uint32_t seq = 0;
    std::uint16_t point = 0;
    Timestamp ts;
};

// The first SYN from the client seen at one capture point: a hop of the connection's path
// (issue 18 item 5). `pre_nat`: seen in the pre-NAT record joined into this flow (its tuple is
// the NatLink's).
struct PointSeen {
    Timestamp ts;
    std::uint64_t frame = 0;
    std::uint16_t point = 0;
    std::uint16_t ip_id = 0;
    std::uint16_t outer_sport = 0;
    bool tunnelled = false;
    bool pre_nat = false;
    bool logged_before_nat = false;  // by NFLOG at PREROUTING or OUTPUT (nat_join.h)
    verify::Status outer_status = verify::Status::Ok;
};

// A join across NAT (nat_join.h): on the post-NAT flow the pre-NAT record's tuple (Joined); on
// the pre-NAT flow the post-NAT flow it went into (Absorbed: it is reported there, not alone);
// or why two records of one SYN were not joined (on both).
struct NatLink {
    enum class Kind : std::uint8_t { Joined, Absorbed, ClockSkew, WrongOrder };
    Kind kind = Kind::Joined;
    std::uint16_t point = 0;   // Joined: the pre-NAT point
    float skew_s = 0;          // ClockSkew
    track::Endpoint client{};  // Joined: as sent
    track::Endpoint server{};
    track::FlowKey other{};  // the other record
};

// One transmission of a data segment (payload > 0) followed across capture points (issue 18
// item 5): the same bytes in the same direction with the same IP ID at another point within the
// join window, or, where offloads cut or merge segments between points (TSO/GSO on the sender,
// GRO on the receiver), a segment at another point whose bytes overlap its own.
struct DataTx {
    Timestamp ts;  // the first sighting
    Timestamp last_ts;
    std::uint64_t frame = 0;  // the first sighting's frame
    std::uint32_t seq = 0;
    std::uint32_t length = 0;
    PointMask points = 0;
    std::uint16_t ip_id = 0;
    std::uint16_t first_point = 0;
    std::uint16_t last_point = 0;  // the latest sighting not logged by NFLOG (nat_join.h)
    bool from_client = false;
    // Judged lost: the first points after reached_last on its path that it never reached.
    PointMask missing = 0;
    std::uint16_t reached_last = 0;
};

// A flow's data transmissions across capture points, made for flows with data when two or more
// points are analysed: the latest kDataRing in a ring (a transmission leaving it is judged, see
// NatJoin::on_data), and those that missed a point they were expected at.
struct FlowData {
    std::vector<DataTx> ring;
    std::vector<DataTx> lost;  // the first kMaxDataLost
    std::uint64_t followed = 0;
    std::uint64_t lost_total = 0;
    std::uint64_t not_judged = 0;       // left the ring while still on their way
    std::array<PointMask, 2> points{};  // points that saw data, per direction ([0] client)
    // The receiver's highest acknowledgment of each direction's data, once one is seen.
    std::array<std::uint32_t, 2> acked{};
    std::array<bool, 2> acked_known{};
    std::uint8_t next = 0;  // the ring's oldest entry, once it is full
};

// A flow's NAT-path state, kept beside the table (nat_join.h) for the flows that have one, so
// the per-flow record does not grow: its SYN hops once a second one comes (the first stays in
// the attempts), its NAT link (at most one), and its data transmissions across points. Charged
// to the flow's detail_bytes.
struct FlowNat {
    std::vector<PointSeen> seen;
    std::vector<NatLink> nat;
    FlowData data;
};

// History letters (Zeek's): the event, upper case from the client.
inline constexpr std::array<char, 6> kHistoryEvents{'s', 'h', 'r', 'f', 'd', 'a'};
enum class Event : std::uint8_t { Syn, SynAck, Rst, Fin, Data, Ack };
// Each letter is recorded once per direction (add_history), so this many fit every history.
inline constexpr std::size_t kMaxHistory = 2 * kHistoryEvents.size();

// What a connection keeps beyond its record (Flow), made on the first event that needs it: a
// second outer source port in a direction, an outer VTEP pair that is not IPv4, an outer
// source port out of range, a bad outer checksum, a decisive event for live decisions, a
// segment whose flags the snaplen cut. An ordinary connection (a SYN flood's included) never
// has one, and an ordinary segment never reads it (Flow's comment). At most one per tracked
// connection, of a fixed size, freed with it: --max-flows bounds it as it bounds the records
// (the per-connection cost in tools/bench/README.md), and it is not drawn from the state
// budget, which bounds what grows with the traffic of one connection (the lists).
struct FlowCold {
    // Tunnel context, client -> server direction (the one NAT rewrites): the outer source ports
    // per direction, once a direction has a second one (until then the one is Flow::last_sport;
    // make_cold() copies it here).
    std::array<std::uint8_t, 2> nsports{};
    std::array<std::uint16_t, 2> sports_cut{};  // changes to a port beyond the list (saturating)
    std::array<std::array<std::uint16_t, kMaxSports>, 2> sports{};  // [0] client->server
    std::optional<std::uint16_t> out_of_range;
    // The VTEP pair last seen from the client when it is not IPv4 (Flow::outer_pair == 0): an
    // IPv4 pair is Flow::outer_pair itself (outer_endpoints()).
    track::Endpoint outer_client;
    track::Endpoint outer_server;
    // Live decisions: the decisive event (Flow::dirty) happened at dirty_since. emitted: verdict
    // bits already returned by poll().
    Timestamp dirty_since;
    std::uint32_t emitted = 0;
    // Segments whose flags the snaplen cut off, and the most that was captured of their frames.
    std::uint32_t flags_not_captured = 0;
    std::uint32_t flags_snaplen = 0;
    std::vector<Candidate> candidates;
    std::uint64_t candidates_total = 0;
};

// What a connection keeps beyond its record besides its evidence: its SYN attempts and its
// untunnelled sightings once it has more than the record holds (Flow's "first" fields), and its
// cold part. Made on the first event that needs one of them. At most one per tracked
// connection, of a fixed size, freed with it: --max-flows bounds it as it bounds the records,
// and it is not drawn from the state budget, which the lists it holds draw on.
struct FlowSide {
    PackedVec<Attempt> attempts;     // the latest kMaxAttempts ISNs
    PackedVec<PlainSighting> plain;  // the first kMaxPlain packets seen without a tunnel
    std::unique_ptr<FlowCold> cold;  // made by make_cold(), read through cold_of()
};

// Flow::first_kept: what of the connection's first packet the record keeps in place of a list
// entry. kFirstSyn: its first SYN attempt, with that packet as its one transmission, seen at one
// point (the kFirst* bits after it are that attempt's); kFirstSighting: its first untunnelled
// sighting.
inline constexpr std::uint8_t kFirstSyn = 1U << 0U;
inline constexpr std::uint8_t kFirstSighting = 1U << 1U;
inline constexpr std::uint8_t kFirstTsval = 1U << 2U;      // first_tsval is the SYN's TSval
inline constexpr std::uint8_t kFirstTunnelled = 1U << 3U;  // the SYN came in a tunnel
inline constexpr std::uint8_t kFirstAnswered = 1U << 4U;   // a SYN-ACK answered it
inline constexpr std::uint8_t kFirstRst = 1U << 5U;        // a RST refused it
inline constexpr std::uint8_t kFirstIcmp = 1U << 6U;       // an ICMP error quoted it
inline constexpr std::uint8_t kFirstSynBits =
    kFirstSyn | kFirstTsval | kFirstTunnelled | kFirstAnswered | kFirstRst | kFirstIcmp;

// Laid out for the per-packet path: everything a segment of a known connection reads or writes
// is in the first two cache lines (the key and counters, then sequence and tunnel state), and
// nothing else is touched unless something happens (a SYN, an answer, a data retransmission, a
// new outer port or VTEP pair, a bad checksum, a point not followed). With thousands of connections
// their state does not stay in the cache while the capture streams through it: two lines, which the
// adjacent-line prefetcher fetches together, instead of four or five per packet. With plug-ins
// registered a segment also reads `id`, the first field of line 3, which is prefetched with the
// others then. Lines 3 and 4 hold what every connection has once (its history, the table's
// queue links, its evidence list and side part, one pointer each); the rest is in FlowSide,
// made on the first event that needs it, and the lists live on the heap, allocated only when a
// flow has them (the memory a connection costs: tools/bench/README.md).
//
// Kept in the record: a connection whose first packet is a SYN keeps that attempt in its
// "first" fields (first_kept, kFirstSyn) instead of a list entry, and one whose first packet
// came without a tunnel keeps that sighting so (kFirstSighting), so a connection of one SYN
// allocates nothing but its evidence. The attempt stays there while it has that one
// transmission seen at one point (its answer, RST or ICMP error are bits here); the next SYN
// of the connection, or the same one at another point, moves it to FlowSide::attempts first
// (move_first_syn()), and a second sighting the first sighting to FlowSide::plain: the lists
// then hold what they would have held, charged as they would have been. Either is kept in the
// record or in the list, never both. Readers go through SynAttempts and for_each_sighting(),
// which show the one kept in the record as the lists' first entry.
struct alignas(64) Flow {
    // --- line 1 ---
    track::FlowKey key;
    std::uint64_t packets = 0;
    Timestamp last;
    // --- line 2 ---
    std::array<std::uint32_t, 2> next_seq{};
    // The outer IPv4 VTEP pair last seen from the client, as (client << 32 | server); 0: none,
    // or not IPv4 (FlowCold::outer_client and outer_server then hold it: outer_endpoints()).
    std::uint64_t outer_pair = 0;
    PointMask points = 0;      // the followed points that saw it (connection_report.h)
    PointMask points_c2s = 0;  // ... a packet from the client
    std::uint32_t vni = 0;
    std::array<std::uint16_t, 2> seq_point{};
    std::array<std::uint16_t, 2> last_sport{};  // the outer source port last seen, per direction
    std::uint16_t history_seen = 0;  // bit Event + 6 * from_client: the letter is in `history`
    std::array<bool, 2> seq_known{};
    std::array<bool, 2> sport_known{};
    bool client_known = false;
    bool client_is_lo = false;  // the client is key.lo (else key.hi)
    bool tunnelled = false;
    // The first packet, when the record keeps its SYN attempt or its sighting (first_kept, kFirst*
    // bits; "Kept in the record" above): its sequence number, IP ID and point; its time is
    // first_ts(). In line 2's spare bytes, read and written only by SYN tracking and sightings.
    std::uint8_t first_kept = 0;
    verify::Status first_outer_status = verify::Status::Ok;  // kFirstTunnelled: the SYN's
    std::uint8_t first_icmp_type = 0;                        // kFirstIcmp
    std::uint32_t first_seq = 0;
    std::uint16_t first_ip_id = 0;
    std::uint16_t first_point = 0;
    // --- line 3: the plug-ins' per-flow state index, then what every flow has once. Lines 3
    // and 4 are filled without padding: the 8-byte fields, then the 4-, 2- and 1-byte ones.
    alignas(64) std::uint32_t id = 0;  // the table's index_of(): plug-ins' state (plugin.h)
    // The first packet's time (first_ts()), in two fields so that no padding follows the
    // nanoseconds.
    std::uint32_t first_nsec = 0;
    std::int64_t first_sec = 0;
    std::uint64_t order = 0;
    std::uint64_t first_frame = 0;   // kFirstSyn: the SYN's frame
    FrameList evidence;              // at most kMaxEvidence (kept_frame.h)
    std::unique_ptr<FlowSide> side;  // made by make_side()
    // The table's queue (flow_table.h), in second-chance order: `packets` when the flow last
    // joined the queue's newest end; a flow with more has been active since (connections.cc).
    Flow* older = nullptr;
    Flow* newer = nullptr;
    std::uint64_t queued_packets = 0;
    // Data retransmissions per direction, counted at the first capture point of that direction
    // (the same segment seen at another point is not a retransmission), up to 2^32 - 1.
    // Written only when a segment is one, so line 2 has room for the 64-bit point masks.
    std::array<std::uint32_t, 2> retransmissions{};
    // What the lists hold on the heap (attempts and their transmissions, candidates,
    // sightings; not `evidence`), and the flow's NAT-path state (FlowNat): taken from the state
    // budget as they grow, given back when the flow leaves the table. A flow's lists are capped
    // by the constants above, far below 4 GiB.
    std::uint32_t detail_bytes = 0;
    std::uint32_t evidence_not_kept = 0;  // frames beyond kMaxEvidence or the evidence budget
    std::uint32_t first_tsval = 0;        // kFirstTsval
    // Where each direction's stream starts, as its SYNs show it (plugin.h): kept for the
    // plug-ins, which read it at a connection's first payload instead of noting every SYN.
    // Updated only while plug-ins are registered.
    SynStarts starts;
    std::uint16_t first_outer_sport = 0;  // kFirstTunnelled
    SynOptions first_options;             // kFirstSyn: the SYN's MSS and window scale
    bool live = false;                    // in use (the table reuses dead entries)
    // An allocation failure, or the state budget, cost it detail (ConnectionReport::incomplete).
    bool incomplete = false;
    // A packet of it came at a point not followed (beyond kMaxPoints): `points` is not all of
    // the points that saw it.
    bool unfollowed = false;
    // Live decisions: a decisive event happened (dirty) at FlowCold::dirty_since; `waiting` when
    // the event is an unanswered SYN retransmission whose answer may still come.
    bool dirty = false;
    bool waiting = false;
    std::uint8_t first_icmp_code = 0;  // kFirstIcmp
    // The history's letters in order, two to a byte (history_letter()): each of the
    // kMaxHistory letters is recorded at most once (history_seen).
    std::uint8_t history_len = 0;
    std::array<std::uint8_t, kMaxHistory / 2> history{};

    [[nodiscard]] const track::Endpoint& client() const noexcept {
        return client_is_lo ? key.lo : key.hi;
    }
    [[nodiscard]] const track::Endpoint& server() const noexcept {
        return client_is_lo ? key.hi : key.lo;
    }
    [[nodiscard]] Timestamp first_ts() const noexcept {
        return Timestamp{.sec = first_sec, .nsec = first_nsec};
    }
};
// Lines 1 and 2 keep the per-segment state where it was before the first-packet fields took
// line 2's spare bytes.
static_assert(offsetof(Flow, packets) == 40 && offsetof(Flow, last) == 48);
static_assert(offsetof(Flow, next_seq) == 64 && offsetof(Flow, outer_pair) == 72 &&
              offsetof(Flow, points) == 80 && offsetof(Flow, points_c2s) == 88 &&
              offsetof(Flow, vni) == 96 && offsetof(Flow, seq_point) == 100 &&
              offsetof(Flow, last_sport) == 104 && offsetof(Flow, history_seen) == 108 &&
              offsetof(Flow, seq_known) == 110 && offsetof(Flow, sport_known) == 112 &&
              offsetof(Flow, client_known) == 114 && offsetof(Flow, client_is_lo) == 115 &&
              offsetof(Flow, tunnelled) == 116 && offsetof(Flow, first_kept) == 117);
static_assert(offsetof(Flow, id) == 128,
              "the per-segment state fits in two cache lines, the "
              "plug-ins' index starts the third");
static_assert(sizeof(Flow) <= 256, "a connection's record is at most four cache lines");

/// The letter of f's history at position i (< f.history_len): each is stored as its Event plus
/// 6 when from the client, in four bits.
[[nodiscard]] inline char history_letter(const Flow& f, std::size_t i) noexcept {
    const unsigned code = (f.history[i / 2] >> (i % 2 == 0 ? 0U : 4U)) & 0xFU;
    const char c = kHistoryEvents[code % kHistoryEvents.size()];
    return code >= kHistoryEvents.size() ? static_cast<char>(c - 'a' + 'A') : c;
}

/// f's side part, made if it has none yet; throws std::bad_alloc.
inline FlowSide& make_side(Flow& f) {
    if (!f.side) [[unlikely]] {
        f.side = std::make_unique<FlowSide>();
    }
    return *f.side;
}

[[nodiscard]] inline bool has_cold(const Flow& f) noexcept {
    return f.side && f.side->cold;
}

/// f's cold part, made if it has none yet; throws std::bad_alloc.
inline FlowCold& make_cold(Flow& f) {
    FlowSide& side = make_side(f);
    if (!side.cold) [[unlikely]] {
        side.cold = std::make_unique<FlowCold>();
        // Without a cold part a direction has had one outer source port at most: last_sport.
        for (std::size_t dir = 0; dir < 2; ++dir) {
            if (f.sport_known[dir]) {
                side.cold->sports[dir][0] = f.last_sport[dir];
                side.cold->nsports[dir] = 1;
            }
        }
    }
    return *side.cold;
}

inline const FlowCold kNoCold{};  // what a flow without a cold part has: nothing

/// f's cold part, or an empty one when f has none.
[[nodiscard]] inline const FlowCold& cold_of(const Flow& f) noexcept {
    return has_cold(f) ? *f.side->cold : kNoCold;
}

/// The attempts f keeps in its side part (none when it has none).
[[nodiscard]] inline std::size_t side_attempts(const Flow& f) noexcept {
    return f.side ? f.side->attempts.size() : 0;
}

/// Whether f has a SYN attempt (in its record or its side part).
[[nodiscard]] inline bool has_attempts(const Flow& f) noexcept {
    return (f.first_kept & kFirstSyn) != 0 || side_attempts(f) != 0;
}

/// f's first transmission as the record keeps it (kFirstSyn), made whole.
[[nodiscard]] SynTx first_transmission(const Flow& f) noexcept;

/// One SYN attempt as its readers see it (SynAttempts): an Attempt's facts and transmissions.
struct AttemptView {
    std::uint32_t isn = 0;
    std::span<const SynTx> tx;  // at least one
    std::uint32_t extra_tx = 0;
    bool answered = false;
    std::uint8_t answered_after = 0;
    bool rst = false;
    bool icmp = false;
    std::uint8_t icmp_type = 0;
    std::uint8_t icmp_code = 0;
};

/// f's SYN attempts, oldest first: the one kept in the record (kFirstSyn), or those in its side
/// part. A view: valid while f does not change, and its AttemptViews while it lives (the
/// record's transmission is made whole in it), so it is neither copied nor moved.
class SynAttempts {
  public:
    explicit SynAttempts(const Flow& f) noexcept
        : list_(f.side ? &f.side->attempts : nullptr), in_record_((f.first_kept & kFirstSyn) != 0) {
        if (in_record_) {
            first_ = first_transmission(f);
            first_isn_ = f.first_seq;
            first_bits_ = f.first_kept;
            first_icmp_ = {f.first_icmp_type, f.first_icmp_code};
        }
    }
    SynAttempts(const SynAttempts&) = delete;
    SynAttempts& operator=(const SynAttempts&) = delete;
    SynAttempts(SynAttempts&&) = delete;
    SynAttempts& operator=(SynAttempts&&) = delete;
    ~SynAttempts() = default;

    [[nodiscard]] std::size_t size() const noexcept {
        return in_record_ ? 1 : (list_ != nullptr ? list_->size() : 0);
    }
    [[nodiscard]] bool empty() const noexcept { return size() == 0; }
    [[nodiscard]] AttemptView operator[](std::size_t i) const noexcept {
        if (in_record_) {
            const bool answered = (first_bits_ & kFirstAnswered) != 0;
            return {.isn = first_isn_,
                    .tx = std::span<const SynTx>(&first_, 1),
                    .answered = answered,
                    .answered_after = static_cast<std::uint8_t>(answered ? 1 : 0),
                    .rst = (first_bits_ & kFirstRst) != 0,
                    .icmp = (first_bits_ & kFirstIcmp) != 0,
                    .icmp_type = first_icmp_[0],
                    .icmp_code = first_icmp_[1]};
        }
        const Attempt& a = (*list_)[i];
        return {.isn = a.isn,
                .tx = std::span<const SynTx>(a.tx),
                .extra_tx = a.extra_tx,
                .answered = a.answered,
                .answered_after = a.answered_after,
                .rst = a.rst,
                .icmp = a.icmp,
                .icmp_type = a.icmp_type,
                .icmp_code = a.icmp_code};
    }
    [[nodiscard]] AttemptView front() const noexcept { return (*this)[0]; }
    [[nodiscard]] AttemptView back() const noexcept { return (*this)[size() - 1]; }

  private:
    const PackedVec<Attempt>* list_;
    bool in_record_;
    std::uint8_t first_bits_ = 0;
    std::array<std::uint8_t, 2> first_icmp_{};
    std::uint32_t first_isn_ = 0;
    SynTx first_{};
};

/// Calls fn(const PlainSighting&) for f's untunnelled sightings, oldest first, until it returns
/// true; returns whether one did.
template <class Fn>
bool any_sighting(const Flow& f, Fn&& fn) {
    if ((f.first_kept & kFirstSighting) != 0) {
        const PlainSighting p{
            .ip_id = f.first_ip_id, .seq = f.first_seq, .point = f.first_point, .ts = f.first_ts()};
        return fn(p);
    }
    if (f.side) {
        for (const PlainSighting& p : f.side->plain) {
            if (fn(p)) {
                return true;
            }
        }
    }
    return false;
}

/// The outer VTEP pair last seen from the client (client, server); zero endpoints when none.
[[nodiscard]] inline std::pair<track::Endpoint, track::Endpoint> outer_endpoints(
    const Flow& f) noexcept {
    if (f.outer_pair == 0) {
        return {cold_of(f).outer_client, cold_of(f).outer_server};
    }
    // What the digest makes of an IPv4 outer header: the address, port 0 (digest.cc).
    std::pair<track::Endpoint, track::Endpoint> out;
    out.first.set_ipv4(static_cast<std::uint32_t>(f.outer_pair >> 32), 0);
    out.second.set_ipv4(static_cast<std::uint32_t>(f.outer_pair), 0);
    return out;
}

/// The bytes of evidence frames held, against ConnectionOptions::evidence_budget_bytes: a frame
/// costs what holds it, its header and its bytes (a tracked connection's KeptFrame::cost(); a
/// report's EvidenceFrame and its bytes, cost()). Charged when a frame is copied into a flow,
/// released when the flow's frames leave the table in a report; charged again
/// (ConnectionAnalyzer::keep_for_evidence_file) for the frames kept until the end for
/// --evidence. A ByteBudget (budget.h) that counts the frames it could not keep.
struct EvidenceBudget : ByteBudget {
    using ByteBudget::ByteBudget;
    using ByteBudget::give_back;

    std::uint64_t dropped = 0;  // frames not kept because the budget was spent

    [[nodiscard]] static std::size_t cost(const EvidenceFrame& e) noexcept {
        return sizeof(EvidenceFrame) + e.bytes.size();
    }
    void give_back(const FrameList& frames) noexcept {
        frames.for_each([this](const KeptFrame& k) { give_back(k.cost()); });
    }
};

/// What the parts need of the packet being analysed, beside its segment: where it was seen, its
/// frame (for evidence), the evidence and state budgets, and the list of flows with a decisive
/// event since the last poll().
struct Observation {
    const PacketContext& ctx;
    Timestamp ts;
    std::vector<track::FlowKey>& dirty;
    EvidenceBudget& evidence;
    ByteBudget& state;              // ConnectionOptions::state_budget_bytes
    std::uint64_t& detail_dropped;  // list entries not kept for the state budget
};

/// Makes room for one more element in one of f's lists (at most `max`), within the state
/// budget; false, with f marked incomplete, when the budget is spent (the element is not kept).
/// Sightings (FlowSide::plain) take from a smaller share (budget.h): they only confirm where a
/// packet with a bad outer checksum went, and must not crowd out SYN history or RPC state.
template <class Vec>
[[nodiscard]] bool room_in(Flow& f, Vec& v, std::size_t max, const Observation& o,
                           unsigned quarters = kShareVerdicts) {
    std::size_t charged = 0;
    if (room_for_one(v, max, o.state, charged, quarters)) {
        f.detail_bytes += static_cast<std::uint32_t>(charged);
        return true;
    }
    f.incomplete = true;
    ++o.detail_dropped;
    return false;
}

/// Records an untunnelled sighting of the observed segment s, the first kMaxPlain, within the
/// sightings' share of the state budget: the connection's first packet in the record
/// (kFirstSighting, charged nothing), the others in FlowSide::plain. A second sighting moves
/// the first into the list with it, charged as the list would have charged both; when the
/// budget has no room for them, the new one is not kept (counted, f incomplete).
void note_sighting(Flow& f, const Segment& s, const Observation& o);

/// Marks f as having a decisive event at ts (poll() decides it); `waiting`: the event is an
/// unanswered SYN retransmission whose answer may still come.
void mark_dirty(Flow& f, const Observation& o, bool waiting);

/// The evidence note of a segment: its kind, and the tunnel it came in (outer port, checksum).
[[nodiscard]] EvidenceNote note_for(EvidenceNote::Kind kind, const Segment& s) noexcept;

/// Copies the observed frame into f's evidence (at most kMaxEvidence frames, within the evidence
/// budget: a frame beyond it is counted, not kept).
void keep_evidence(Flow& f, const Observation& o, const EvidenceNote& note);

/// ConnectionAnalyzer::keep_for_evidence_file, against `budget`.
[[nodiscard]] ConnectionReport take_for_evidence_file(EvidenceBudget& budget,
                                                      ConnectionReport& c) noexcept;

/// Records a history letter, once per event and direction (as Zeek does).
void add_history(Flow& f, Event e, bool from_client) noexcept;

// RFC 1982 serial-number comparison: a data segment that ends at or before what this direction
// already sent is a retransmission (counted at the direction's first capture point). Inline: it
// runs for every segment.
inline void track_retransmission(Flow& f, const Segment& s, std::uint16_t point, std::size_t dir,
                                 std::size_t payload) noexcept {
    if (!f.seq_known[dir]) {
        f.seq_known[dir] = true;
        f.seq_point[dir] = point;
        f.next_seq[dir] = s.t.seq + static_cast<std::uint32_t>(payload);
        return;
    }
    if (point != f.seq_point[dir] || payload == 0) {
        return;
    }
    const std::uint32_t end = s.t.seq + static_cast<std::uint32_t>(payload);
    if (static_cast<std::int32_t>(end - f.next_seq[dir]) <= 0) {
        if (f.retransmissions[dir] != UINT32_MAX) [[likely]] {
            ++f.retransmissions[dir];
        }
    } else {
        f.next_seq[dir] = end;
    }
}

/// The history event of a segment.
inline Event event_of(bool syn, bool ack, bool rst, bool fin, std::size_t payload) noexcept {
    return syn           ? (ack ? Event::SynAck : Event::Syn)
           : rst         ? Event::Rst
           : fin         ? Event::Fin
           : payload > 0 ? Event::Data
                         : Event::Ack;
}

}  // namespace vxcheck::analyze

#pragma once
// The join across NAT (issue 18 items 3-5, domain spec 5.3): the same SYN is recognised before
// and after NAT by what NAT does not change, its ISN, IPv4 identification and TSval. A SYN
// identity index (a fixed table keyed by that identity) remembers which record saw each SYN
// first; the same SYN on a record with another tuple, within the join window, joins the two:
// the earlier sighting is the pre-NAT record, reported inside the post-NAT one (its tuple as
// sent, its points as hops), never alone. The two sightings are at two capture points: NAT
// happens between points, and one point seeing one SYN identity under two tuples is two SYNs
// (synthetic captures reuse ISNs and IP IDs).
//
// Which of two joined records is the pre-NAT one: a SYN logged by NFLOG at the PREROUTING or
// OUTPUT hook (the raw or mangle table, where a pre-NAT tap is set up) was logged before NAT,
// whatever the timestamps say: NFLOG stamps a locally sent packet when it is delivered to the
// reader, which may be after the same packet's capture on flannel.1. Otherwise the earlier
// sighting is the pre-NAT one.
//
// Path order (the rule): points are ordered by the time they saw the same packet; at equal
// times a pre-NAT sighting comes first, then an untunnelled one. Any packet recognisable at two
// or more points teaches that order for the paths to its destination's subnet (the flannel
// lease: one node): a SYN by its ISN, IP ID and TSval (joined across NAT), and every other IPv4
// packet (a data segment or ACK of any connection, ICMP, UDP) by what no hop between NATs
// changes, its innermost addresses, IP ID, protocol and first transport words (observe()). A
// point that carried any traffic to a subnet is on that subnet's path. A SYN that stopped short
// is compared with that path: the first point after its last one that it never reached is
// where it was lost; where nothing captured says which point comes after its last one, the
// report says so (Hop::Kind::OrderUnknown) rather than guessing.
//
// A point beyond kMaxPoints (connection_report.h) takes no part: its SYNs are not indexed,
// joined or listed as hops, and its packets teach no order.

#include <array>
#include <cstdint>
#include <unordered_map>
#include <vector>

#include "flow.h"
#include "vxcheck/track/flow_table.h"

namespace vxcheck::analyze {

class NatJoin {
  public:
    /// Makes the index (once), when the first capture point is added. Without it (an analyzer
    /// fed packets with no point added) nothing is joined or learned.
    void enable(const ConnectionOptions& options);
    [[nodiscard]] bool enabled() const noexcept { return !index_.empty(); }

    /// Counts a capture point added. With two or more (or from the first one on, when the
    /// options say more will come), observe() learns from every packet.
    void add_point();
    [[nodiscard]] bool several_points() const noexcept { return points_ >= 2; }
    [[nodiscard]] bool observing() const noexcept { return !spots_.empty(); }

    /// Any packet at any point (per packet: noexcept, allocation-free, a fixed table): the same
    /// innermost IPv4 packet at two points within the join window orders them on the path to its
    /// destination's subnet, and the point is marked on that subnet's path.
    void observe(const PacketContext& ctx, const PacketDigest& d) noexcept;

    /// A SYN from the client of f at o.ctx.point: records the point's first sighting, learns the
    /// path order, and joins f with the record of the same SYN under another tuple.
    void on_syn(Flow& f, const Segment& s, const Observation& o, track::FlowTable<Flow>& flows);

    /// Fills r's NAT path (as_sent, the hops in path order, a join problem) and decides inner and
    /// outer SNAT by the rewrite itself where both sides were captured.
    void decide(const Flow& f, ConnectionReport& r) const;

    /// The points the learned path to f's server expects after those in `reached`, that it
    /// never reached, and the last reached point before them; 0 when none.
    [[nodiscard]] PointMask expected_missing(const Flow& f, PointMask reached,
                                             std::uint16_t& last) const noexcept;

    /// For a packet of f that reached the points in `reached` and where expected_missing() found
    /// nothing: whether nothing learned follows its last point (`last`, the reached point no
    /// other reached point is known to follow), on a path where some packet joined one of its
    /// points with another (else the points are captures of unrelated places: nothing is said);
    /// `unordered` gets the points that carried traffic to f's server's subnet that it never
    /// reached and whose place on the path is unknown.
    [[nodiscard]] bool order_unknown(const Flow& f, PointMask reached, std::uint16_t& last,
                                     PointMask& unordered) const noexcept;

    /// Fills r.path from f's hops, in path order (a pre-NAT hop with the tuple as sent).
    void put_path(const Flow& f, ConnectionReport& r) const;

    /// f's NAT link, if any (Absorbed: f is reported inside the flow it was joined into).
    [[nodiscard]] const NatLink* link_of(const Flow& f) const noexcept;
    [[nodiscard]] bool absorbed(const Flow& f) const noexcept {
        const NatLink* l = link_of(f);
        return l != nullptr && l->kind == NatLink::Kind::Absorbed;
    }
    /// Drops f's NAT-path state: f leaves the table (its charge goes back with f's detail).
    void forget(const Flow& f) noexcept;
    void clear() noexcept { state_.clear(); }

    /// Points that saw a pre-NAT record (of a joined connection).
    [[nodiscard]] PointMask pre_nat_points() const noexcept { return pre_points_; }
    /// Whether every point that saw f logs before NAT: a pre-NAT point of a joined connection,
    /// or one whose SYNs NFLOG logged at PREROUTING or OUTPUT (never known of a point not
    /// followed).
    [[nodiscard]] bool before_nat_only(const Flow& f) const noexcept {
        return f.points != 0 && !f.unfollowed && (f.points & ~(pre_points_ | logged_points_)) == 0;
    }

    /// Counters: joins made, and identities matched but not joined (clock skew, wrong order).
    std::uint64_t joins = 0;
    std::uint64_t refused = 0;

  private:
    struct Entry {
        Timestamp ts;
        track::FlowKey key;
        std::uint32_t isn = 0;
        std::uint32_t tsval = 0;
        std::uint16_t ip_id = 0;
        std::uint16_t point = 0;
        bool has_tsval = false;
        bool used = false;
        bool tunnelled = false;
        bool before_nat = false;  // logged by NFLOG at PREROUTING or OUTPUT (before_nat())
    };
    struct Path {
        track::Endpoint subnet;
        std::array<PointMask, kMaxPoints> after{};  // bit q of after[p]: q follows p
        PointMask carried = 0;                      // bit p: point p carried traffic to the subnet
        bool used = false;
    };
    static constexpr std::size_t kMaxPaths = 64;
    // One packet's sightings in observe()'s table: the first and the latest (by path order).
    struct Spot {
        std::uint64_t key = 0;  // 0: empty
        Timestamp first_ts;
        Timestamp last_ts;
        PointMask points = 0;
        std::uint16_t first_point = 0;
        std::uint16_t last_point = 0;
        std::uint8_t first_how = 0;  // kTunnelled | kBeforeNat
        std::uint8_t last_how = 0;
    };
    static constexpr std::uint8_t kTunnelled = 1;
    static constexpr std::uint8_t kBeforeNat = 2;
    static constexpr std::size_t kSpots = 8192;

    Entry* slot_of(std::uint32_t isn, std::uint16_t ip_id, std::uint32_t tsval) noexcept;
    void link(Flow& pre, Flow& post, const Observation& o);
    void add_seen(Flow& f, const PointSeen& p, const Observation& o);
    void problem(Flow& f, const NatLink& l, const Observation& o);
    void learn(const Flow& f, const std::vector<PointSeen>& seen, const PointSeen& p) noexcept;
    [[nodiscard]] FlowNat* state_of(const Flow& f) noexcept;
    [[nodiscard]] const FlowNat* state_of(const Flow& f) const noexcept;
    [[nodiscard]] FlowNat* make_state(Flow& f, const Observation& o);
    [[nodiscard]] const Path* path_of(const Flow& f) const noexcept;
    [[nodiscard]] Path* path_for(const track::Endpoint& subnet) noexcept;
    // Orders two sightings of one packet on `path`; read_order: a was read before b.
    static void order(Path& path, const PointSeen& a, const PointSeen& b,
                      bool read_order = false) noexcept;
    // after[] made transitive: bit q of out[p]: q is known to follow p.
    static void closure(const Path& path, std::array<PointMask, kMaxPoints>& out) noexcept;
    [[nodiscard]] std::vector<PointSeen> path_sightings(const Flow& f) const;

    std::vector<Entry> index_;
    std::vector<Path> paths_;
    std::vector<Spot> spots_;    // observe()'s table: made when observing() starts
    std::size_t last_path_ = 0;  // observe()'s cache: the path of the last subnet looked up
    std::uint32_t points_ = 0;
    bool expect_several_ = false;  // ConnectionOptions::several_points
    std::unordered_map<track::FlowKey, FlowNat, track::FlowKeyHash> state_;
    PointMask pre_points_ = 0;
    PointMask logged_points_ = 0;  // points whose SYNs NFLOG logged before NAT
    double window_s_ = 1.0;
    std::uint8_t prefix_len_ = 24;
};

/// The subnet of a server address: the flannel lease (prefix_len bits) of IPv4, /64 of IPv6.
[[nodiscard]] track::Endpoint subnet_of(const track::Endpoint& e, std::uint8_t prefix_len) noexcept;

/// Sorts hops in path order: by time, a pre-NAT sighting before others at equal times, then an
/// untunnelled one before a tunnelled one.
void sort_path(std::vector<PointSeen>& seen) noexcept;

}  // namespace vxcheck::analyze

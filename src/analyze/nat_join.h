#pragma once
// The join across NAT (issue 18 items 3-5, domain spec 5.3): the same SYN is recognised before
// and after NAT by what NAT does not change, its ISN, IPv4 identification and TCP options
// (TSval, window scale, and an MSS that clamping may lower: below). A SYN identity index (a
// fixed table keyed by ISN, IP ID and TSval) remembers which record saw each SYN
// first; the same SYN on a record with another tuple, within the join window, joins the two:
// the earlier sighting is the pre-NAT record, reported inside the post-NAT one (its tuple as
// sent, its points as hops), never alone. The two sightings are at two capture points: NAT
// happens between points, and one point seeing one SYN identity under two tuples is two SYNs
// (synthetic captures reuse ISNs and IP IDs). A connection whose SYNs came before the capture
// (a mount made long ago) is joined the same way by its client's data segments: sequence and
// acknowledgment numbers, IP ID and length, which NAT does not change either (on_data_join());
// their first sighting at each point is then the path's hop.
//
// The SYN's MSS and window-scale options are part of its identity: NAT rewrites addresses and
// ports, never TCP options, but the TCPMSS target (iptables mangle table, which may sit between
// two capture points) lowers an MSS option and never raises it ("Never increase MSS",
// net/netfilter/xt_TCPMSS.c), and adds one to a SYN that has none, at most 536 over IPv4 and
// 1220 over IPv6 (RFC 1122 4.2.2.6's default; RFC 8200's minimum MTU less 60 bytes of
// headers); nothing removes one. So the later (post-NAT) sighting of one SYN carries the
// earlier one's window-scale option (both absent, or the same shift), and an MSS option at most
// the earlier one's, or, where the earlier has none, none or one at most that default
// (clamped_only()). A sighting with the ISN, IP ID and TSval of the indexed SYN that fails this
// is another SYN: not joined. Within the join window the index keeps the SYN it holds (a slot
// holds one SYN, and the one it holds may yet be seen at another point); after it the other SYN
// takes the slot, as any SYN with another identity does. Where the order of the two sightings
// is not known, the options must fit one of the two orders (options_may_match()): sightings
// further apart than the window (ClockSkew), and one transmission at two points of one record
// (syn_tracking.cc), whose points report it in an order that need not be its path's (NFLOG
// stamps late; two hosts' clocks differ), where a refused match would count one SYN twice.
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
#include "zeroed_table.h"

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

    /// Any packet at any point (per packet: a fixed table, which allocates only while the slots
    /// it keeps grow, zeroed_table.h): the same innermost IPv4 packet at two points within the
    /// join window orders them on the path to its destination's subnet, and the point is marked
    /// on that subnet's path. When the table must grow and cannot, the
    /// packet's sighting is then not kept (counted in alloc_failures).
    void observe(const PacketContext& ctx, const PacketDigest& d) noexcept;

    /// A SYN from the client of f at o.ctx.point: records the point's first sighting, learns the
    /// path order, and joins f with the record of the same SYN under another tuple.
    void on_syn(Flow& f, const Segment& s, const Observation& o, track::FlowTable<Flow>& flows);

    /// A data segment from the client of f, a record without SYNs (the capture began after
    /// them), while observing(): its first sighting at each point is a hop, and the same segment
    /// (sequence and acknowledgment numbers, IP ID and length: NAT changes none) on a record with
    /// another tuple at another point joins the two, as the same SYN does.
    void on_data_join(Flow& f, const Segment& s, const Observation& o,
                      track::FlowTable<Flow>& flows);

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

    /// The points of `points` in the order learned for the path to dst's subnet (a point that
    /// follows more of the others comes later; ties, and a path not learned, by point number).
    [[nodiscard]] std::vector<std::uint16_t> path_order(const track::Endpoint& dst,
                                                        PointMask points) const;

    /// A data segment (payload > 0) of f at o.ctx.point, while observing() (data_path.cc): the
    /// same transmission seen at another point joins it (DataTx), a new one enters f's ring, and
    /// the one it pushes out is judged: lost when a point after its last one on its path, that
    /// saw other data of its direction and was capturing, never saw it.
    void on_data(Flow& f, const Segment& s, const Observation& o, bool from_client);

    /// A segment with an acknowledgment of f (data_path.cc): what the receiver of the other
    /// direction has received, once f follows data.
    void on_ack(const Flow& f, const Segment& s, bool from_client) noexcept;

    /// For a connection with verdicts: the data transmissions that missed a point they were
    /// expected at (DataNeverReached hops, the first kMaxDataLost) and the counts.
    void describe_data(const Flow& f, ConnectionReport& r) const;

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
    /// Packets observe() could not keep a sighting of (its table could not grow).
    std::uint64_t alloc_failures = 0;

  private:
    struct Entry {
        Timestamp ts;
        track::FlowKey key;
        std::uint32_t isn = 0;
        std::uint32_t tsval = 0;
        std::uint16_t ip_id = 0;
        std::uint16_t point = 0;
        std::uint32_t payload = 0;  // data_index_: the segment's payload bytes
        SynOptions syn;
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
    // Slots each table keeps at first (GrowingDirectTable).
    static constexpr std::size_t kFirstKept = 64;

    // Where the tables put an entry (the hash of its identity; the table takes the bits it
    // needs), and whether a slot holds one (GrowingDirectTable's traits).
    [[nodiscard]] static std::uint64_t syn_home(std::uint32_t isn, std::uint16_t ip_id,
                                                std::uint32_t tsval) noexcept {
        const std::uint64_t h = (std::uint64_t{isn} << 32 | tsval) ^ (std::uint64_t{ip_id} << 17);
        return (h * 0x9E3779B97F4A7C15ULL) >> 32;
    }
    [[nodiscard]] static std::uint64_t data_home(std::uint32_t seq, std::uint32_t ack,
                                                 std::uint16_t ip_id,
                                                 std::uint32_t payload) noexcept {
        const std::uint64_t h = (std::uint64_t{seq} << 32 | ack) ^ (std::uint64_t{ip_id} << 17) ^
                                (std::uint64_t{payload} << 3);
        return (h * 0x9E3779B97F4A7C15ULL) >> 32;
    }
    struct SynSlots {
        static bool occupied(const Entry& e) noexcept { return e.used; }
        static std::size_t home(const Entry& e) noexcept {
            return static_cast<std::size_t>(syn_home(e.isn, e.ip_id, e.tsval));
        }
    };
    struct DataSlots {
        static bool occupied(const Entry& e) noexcept { return e.used; }
        static std::size_t home(const Entry& e) noexcept {
            return static_cast<std::size_t>(data_home(e.isn, e.tsval, e.ip_id, e.payload));
        }
    };
    struct SpotSlots {
        static bool occupied(const Spot& s) noexcept { return s.points != 0; }
        static std::size_t home(const Spot& s) noexcept {
            return static_cast<std::size_t>(s.key >> 40);
        }
    };

    Entry* slot_of(std::uint32_t isn, std::uint16_t ip_id, std::uint32_t tsval);
    void pair(Flow& f, Flow& other, const Entry& e, const PointSeen& here, const Observation& o,
              const SynOptions* syn);
    void add_hop(Flow& f, const PointSeen& here, const Observation& o,
                 track::FlowTable<Flow>& flows);
    static Flow* other_record(Entry& e, bool same, const Flow& f, const Entry& fresh,
                              track::FlowTable<Flow>& flows) noexcept;
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
    [[nodiscard]] const Path* path_to(const track::Endpoint& dst) const noexcept;
    // Of `candidates`, the points that follow a point of `reached` on the path (closure()
    // `follows`) and precede none of them, and of those the first ones; `last`: the reached
    // point just before them.
    static PointMask first_missing(const std::array<PointMask, kMaxPoints>& follows,
                                   PointMask reached, PointMask candidates,
                                   std::uint16_t& last) noexcept;
    // data_path.cc: whether t missed a point (Lost: sets t.missing and t.reached_last), or
    // may still reach one (Pending).
    enum class Judged : std::uint8_t { Complete, Lost, Pending };
    Judged judge(const Flow& f, const FlowData& d, DataTx& t) const noexcept;

    // The direct-mapped tables keep only the slots their entries need (zeroed_table.h); paths_
    // is taken at once, costing only the pages its entries use.
    GrowingDirectTable<Entry, SynSlots> index_;
    // Data segments of records without SYNs, by sequence and acknowledgment numbers, IP ID and
    // length (isn, tsval, ip_id, payload): made with spots_, when several points are analysed.
    GrowingDirectTable<Entry, DataSlots> data_index_;
    static constexpr std::size_t kDataIndex = 1024;
    ZeroedTable<Path> paths_;
    GrowingDirectTable<Spot, SpotSlots> spots_;  // observe()'s table: made when observing() starts
    std::size_t last_path_ = 0;  // observe()'s cache: the path of the last subnet looked up
    std::uint32_t points_ = 0;
    bool expect_several_ = false;  // ConnectionOptions::several_points
    std::unordered_map<track::FlowKey, FlowNat, track::FlowKeyHash> state_;
    PointMask pre_points_ = 0;
    PointMask logged_points_ = 0;  // points whose SYNs NFLOG logged before NAT
    double window_s_ = 1.0;
    // Each point's first and latest packet (observe()): a point expects a packet only while
    // it was capturing.
    std::array<Timestamp, kMaxPoints> point_first_{};
    std::array<Timestamp, kMaxPoints> point_last_{};
    PointMask started_ = 0;
    std::uint8_t prefix_len_ = 24;
};

/// Whether `later` may be the SYN `earlier` further on its path, after NAT and MSS clamping:
/// the same window-scale option, an MSS option no higher, or one TCPMSS adds (v6: over IPv6).
[[nodiscard]] bool clamped_only(const SynOptions& earlier, const SynOptions& later,
                                bool v6) noexcept;
/// Whether two sightings may be one SYN in one order or the other (clamped_only() either way).
[[nodiscard]] bool options_may_match(const SynOptions& a, const SynOptions& b, bool v6) noexcept;

/// Whether a frame was logged by NFLOG (its first layer). NFLOG stamps a packet when the reader
/// gets it, later than the same packet's capture at the next points may be, so such a sighting
/// never becomes a packet's last point (syn_tracking.cc, data_path.cc).
[[nodiscard]] bool logged_by_nflog(const decode::DecodedPacket& p) noexcept;

/// The subnet of a server address: the flannel lease (prefix_len bits) of IPv4, /64 of IPv6.
[[nodiscard]] track::Endpoint subnet_of(const track::Endpoint& e, std::uint8_t prefix_len) noexcept;

/// Sorts hops in path order: by time, a pre-NAT sighting before others at equal times, then an
/// untunnelled one before a tunnelled one.
void sort_path(std::vector<PointSeen>& seen) noexcept;

}  // namespace vxcheck::analyze

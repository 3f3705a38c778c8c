// Connection verdicts. Per packet: find the innermost TCP segment (and the tunnel carrying it),
// update the connection's SYN attempts, tunnel context and evidence. At the end (or when a
// connection is evicted), decide its verdicts from domain spec 2 (checksum fingerprints),
// 4 (SYN schedules, dropped vs rejected) and 5 (double-SNAT evidence).

#include "vxcheck/analyze/connections.h"

#include <sys/mman.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdlib>
#include <map>
#include <new>
#include <utility>

#include "explain.h"
#include "vxcheck/verify/checksum.h"

namespace vxcheck::analyze {
namespace {

using decode::Layer;
using decode::Proto;
using track::Endpoint;
using track::FlowKey;

constexpr std::size_t kMaxTx = 16;         // SYN transmissions kept per attempt
constexpr std::size_t kMaxAttempts = 4;    // ISNs kept per connection (the latest ones)
constexpr std::size_t kMaxSports = 8;      // outer source ports kept per connection
constexpr std::size_t kMaxCandidates = 8;  // bad outer checksums kept per connection
constexpr std::size_t kMaxEvidence = 32;   // frames copied per connection
constexpr std::size_t kMaxHistory = 24;
constexpr std::size_t kMaxPlain = 64;     // untunnelled sightings kept per connection
constexpr std::uint16_t kMaxPoints = 32;  // capture points tracked in bit masks
constexpr std::uint8_t kTcpOptTimestamp = 8;
constexpr std::uint8_t kIcmpDestUnreachable = 3;
constexpr std::uint8_t kIcmpv6DestUnreachable = 1;
constexpr std::size_t kIcmpHeaderLen = 8;

double seconds_between(Timestamp a, Timestamp b) noexcept {
    return static_cast<double>(b.sec - a.sec) +
           (static_cast<double>(b.nsec) - static_cast<double>(a.nsec)) * 1e-9;
}

std::uint32_t point_bit(std::uint16_t point) noexcept {
    return point < kMaxPoints ? (1U << point) : 0U;
}

// The innermost TCP layer and the IP layer that carries it (indices into pkt.layers()), or
// nothing: where digest() starts.
struct InnerTcp {
    std::size_t tcp = 0;
    std::size_t ip = 0;
    const decode::TcpInfo* info = nullptr;
};

std::optional<InnerTcp> inner_tcp(const decode::DecodedPacket& pkt) noexcept {
    const int t = pkt.innermost(Proto::Tcp);
    if (t < 0) {
        return std::nullopt;
    }
    const int ip = pkt.enclosing_ip(static_cast<std::size_t>(t));
    const auto* info = pkt.layers()[static_cast<std::size_t>(t)].as<decode::TcpInfo>();
    if (ip < 0 || info == nullptr) {
        return std::nullopt;
    }
    return InnerTcp{static_cast<std::size_t>(t), static_cast<std::size_t>(ip), info};
}

struct SynTx {
    Timestamp ts;
    Timestamp last_ts;
    std::uint16_t ip_id = 0;
    std::optional<std::uint32_t> tsval;
    std::uint32_t points = 0;
    std::uint16_t first_point = 0;
    std::uint16_t last_point = 0;
    std::uint64_t frame = 0;
    bool has_outer = false;
    std::uint16_t outer_sport = 0;
    verify::Status outer_status = verify::Status::Ok;
    bool outer_changed = false;  // another point saw a different outer source port
    std::uint16_t other_sport = 0;
    std::uint16_t other_point = 0;
};

struct Attempt {
    std::uint32_t isn = 0;
    std::vector<SynTx> tx;       // at most kMaxTx; most attempts have one or two
    std::uint32_t extra_tx = 0;  // transmissions beyond kMaxTx
    bool answered = false;
    std::uint8_t answered_after = 0;  // transmissions seen when the SYN-ACK came
    Timestamp answered_ts;
    bool rst = false;
    bool icmp = false;
    std::uint8_t icmp_type = 0;
    std::uint8_t icmp_code = 0;
};

struct Candidate {  // a bad outer UDP checksum, judged once every VTEP pair's mode is known
    std::uint16_t inner_ip_id = 0;  // with seq: the same packet seen at another capture point
    std::uint32_t inner_seq = 0;
    Endpoint outer_src;
    Endpoint outer_dst;
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

// History letters (Zeek's): the event, upper case from the client.
constexpr std::array<char, 6> kHistoryEvents{'s', 'h', 'r', 'f', 'd', 'a'};
enum class Event : std::uint8_t { Syn, SynAck, Rst, Fin, Data, Ack };

// Laid out for the per-packet path: everything a segment of a known connection reads or writes
// is in the first two cache lines (the key and counters, then sequence and tunnel state), and
// nothing else is touched unless something happens (a SYN, an answer, a new outer port or VTEP
// pair, a bad checksum). With thousands of connections their state does not stay in the cache
// while the capture streams through it: two lines, which the adjacent-line prefetcher fetches
// together, instead of four or five per packet. The rest lives behind vectors at the end,
// allocated only when a flow has it. A SYN flood costs about 1.7 KiB per tracked connection
// (tools/bench/README.md).
struct alignas(64) Flow {
    // --- line 1 ---
    FlowKey key;
    std::uint64_t packets = 0;
    Timestamp last;
    // --- line 2 ---
    // Data retransmissions per direction, counted at the first capture point of that direction
    // (the same segment seen at another point is not a retransmission).
    std::array<std::uint64_t, 2> retransmissions{};
    std::array<std::uint32_t, 2> next_seq{};
    // The outer IPv4 VTEP pair last stored in outer_client/outer_server, as (client << 32 |
    // server); 0: none, or not IPv4 (they are then written every time).
    std::uint64_t outer_pair = 0;
    std::uint32_t points = 0;
    std::uint32_t points_c2s = 0;
    std::uint32_t vni = 0;
    std::array<std::uint16_t, 2> seq_point{};
    std::array<std::uint16_t, 2> last_sport{};  // the outer source port last seen, per direction
    std::uint16_t history_seen = 0;  // bit Event + 6 * from_client: the letter is in `history`
    std::array<bool, 2> seq_known{};
    std::array<bool, 2> sport_known{};
    bool client_known = false;
    bool client_is_lo = false;  // the client is key.lo (else key.hi)
    bool tunnelled = false;
    // --- the rest: once per flow, or on events ---
    bool live = false;  // in use (FlowTable reuses dead entries)
    std::uint8_t history_len = 0;
    std::array<char, kMaxHistory> history{};
    // Tunnel context, client -> server direction (the one NAT rewrites).
    std::array<std::uint8_t, 2> nsports{};
    std::array<std::array<std::uint16_t, kMaxSports>, 2> sports{};  // [0] client->server
    std::optional<std::uint16_t> out_of_range;
    Endpoint outer_client;
    Endpoint outer_server;
    Timestamp first;
    std::uint64_t order = 0;
    std::uint64_t out_of_range_frame = 0;
    std::uint16_t out_of_range_point = 0;
    // Live decisions: a decisive event happened (dirty) at dirty_since; `waiting` when the event
    // is an unanswered SYN retransmission whose answer may still come. emitted: verdict bits
    // already returned by poll().
    bool dirty = false;
    bool waiting = false;
    Timestamp dirty_since;
    std::uint32_t emitted = 0;
    std::vector<Attempt> attempts;  // the latest kMaxAttempts ISNs
    std::vector<Candidate> candidates;
    std::uint64_t candidates_total = 0;
    std::vector<PlainSighting> plain;  // the first kMaxPlain packets seen without a tunnel
    std::vector<EvidenceFrame> evidence;

    [[nodiscard]] const Endpoint& client() const noexcept { return client_is_lo ? key.lo : key.hi; }
    [[nodiscard]] const Endpoint& server() const noexcept { return client_is_lo ? key.hi : key.lo; }
};
static_assert(offsetof(Flow, live) <= 128, "the per-segment state fits in two cache lines");

// Flows in 2 MiB blocks, each advised to be one huge page (MADV_HUGEPAGE): the per-packet path
// jumps between thousands of flows while the capture streams through the TLB, so with 4 KiB
// pages most flow accesses would also wait for a page walk. Indices are stable; nothing moves.
class FlowStore {
  public:
    FlowStore() = default;
    FlowStore(const FlowStore&) = delete;
    FlowStore& operator=(const FlowStore&) = delete;
    ~FlowStore() { clear(); }

    [[nodiscard]] Flow& operator[](std::size_t i) noexcept {
        return blocks_[i / kPerBlock][i % kPerBlock];
    }
    [[nodiscard]] const Flow& operator[](std::size_t i) const noexcept {
        return blocks_[i / kPerBlock][i % kPerBlock];
    }
    [[nodiscard]] std::size_t size() const noexcept { return size_; }

    Flow& emplace_back() {
        if (size_ == blocks_.size() * kPerBlock) {
            void* block = std::aligned_alloc(kBlockBytes, kBlockBytes);
            if (block == nullptr) {
                throw std::bad_alloc();
            }
            ::madvise(block, kBlockBytes, MADV_HUGEPAGE);  // a hint: fine if refused
            blocks_.push_back(static_cast<Flow*>(block));
        }
        Flow* f = new (&(*this)[size_]) Flow();
        ++size_;
        return *f;
    }

    void clear() noexcept {
        for (std::size_t i = 0; i < size_; ++i) {
            (*this)[i].~Flow();
        }
        for (Flow* b : blocks_) {
            std::free(b);
        }
        blocks_.clear();
        size_ = 0;
    }

  private:
    static constexpr std::size_t kBlockBytes = std::size_t{2} << 20;
    static constexpr std::size_t kPerBlock = kBlockBytes / sizeof(Flow);

    std::vector<Flow*> blocks_;
    std::size_t size_ = 0;
};

// A hint to load the cache line at p. On x86-64 an instruction of its own: GCC 12 emitted
// nothing for __builtin_prefetch in FlowTable::prefetch (the whole function compiled to `ret`,
// at -O2 and -O3), which made the prefetch measured earlier a no-op.
inline void prefetch_line(const void* p) noexcept {
#if defined(__x86_64__)
    asm volatile("prefetcht0 (%0)" : : "r"(p));
#else
    __builtin_prefetch(p);
#endif
}

// The connection table: open addressing with linear probing over 16-byte slots (a hash tag and
// the flow's address, so that a lookup goes from the slot straight to the flow, with no division
// and no block table on the way: 25 instructions a packet fewer than with an index, 1.8% faster
// on one thread), in front of the flows themselves in a FlowStore (stable addresses, reused through
// a free list). std::unordered_map needed two dependent misses (bucket, node) per packet. On one
// thread, prefetching a flow's lines a few packets ahead, from a guess of the hash, measured no
// faster on a Zen 5 VM, with prefetcht0 too; in analyze --threads, whose digests are made
// before the ordered analysis, 8 frames ahead saves a quarter of it (app::analyse_in_order;
// tools/bench/README.md).
class FlowTable {
  public:
    FlowTable() : slots_(kMinSlots) {}

    [[nodiscard]] static std::uint64_t hash(const FlowKey& k) noexcept {
        return track::FlowKeyHash{}(k);
    }

    [[nodiscard]] Flow* find(const FlowKey& k) noexcept { return find(k, hash(k)); }
    /// The same with k's hash already computed (flow_for inserts with it when k is absent).
    [[nodiscard]] Flow* find(const FlowKey& k, std::uint64_t h) noexcept {
        const std::uint32_t tag = tag_of(h);
        for (std::size_t i = tag & mask(); slots_[i].flow != nullptr; i = (i + 1) & mask()) {
            if (slots_[i].tag == tag && slots_[i].flow->key == k) {
                return slots_[i].flow;
            }
        }
        return nullptr;
    }

    /// Starts loading what find(k, h) will read first: k's home slot and the first two lines of
    /// the flow there (k's, unless another one took its slot).
    void prefetch(std::uint64_t h) const noexcept {
        const Slot& s = slots_[tag_of(h) & mask()];
        if (s.flow != nullptr) {
            const auto* f = reinterpret_cast<const char*>(s.flow);
            prefetch_line(f);
            prefetch_line(f + 64);
        }
    }

    /// Starts loading k's home slot only: unlike prefetch(), reads nothing, so never waits.
    void prefetch_slot(std::uint64_t h) const noexcept {
        prefetch_line(&slots_[tag_of(h) & mask()]);
    }

    /// Adds a flow for k, which must be absent.
    Flow& insert(const FlowKey& k, std::uint64_t h) {
        if (2 * (live_ + 1) > slots_.size()) {
            rehash(2 * slots_.size());
        }
        Flow* f = nullptr;
        if (!free_.empty()) {
            f = free_.back();
            free_.pop_back();
        } else {
            f = &flows_.emplace_back();
        }
        f->key = k;
        f->live = true;
        place(Slot{.tag = tag_of(h), .flow = f});
        ++live_;
        return *f;
    }

    /// Removes f (a flow of this table): its slot is closed up by backward shifting.
    void erase(Flow& f) {
        const std::uint32_t tag = tag_of(hash(f.key));
        std::size_t i = tag & mask();
        while (slots_[i].flow != &f) {
            i = (i + 1) & mask();
        }
        for (std::size_t j = (i + 1) & mask(); slots_[j].flow != nullptr; j = (j + 1) & mask()) {
            const std::size_t home = slots_[j].tag & mask();
            // Entry j may move into the hole at i unless its home lies cyclically in (i, j].
            const bool stays = i <= j ? (i < home && home <= j) : (i < home || home <= j);
            if (!stays) {
                slots_[i] = slots_[j];
                i = j;
            }
        }
        slots_[i] = Slot{};
        f = Flow{};  // releases its vectors
        free_.push_back(&f);
        --live_;
    }

    [[nodiscard]] std::size_t size() const noexcept { return live_; }

    /// Calls fn(Flow&) for every live flow (fn must not insert or erase).
    template <typename Fn>
    void for_each(Fn&& fn) {
        for (std::size_t i = 0; i < flows_.size(); ++i) {
            if (flows_[i].live) {
                fn(flows_[i]);
            }
        }
    }

    void clear() {
        flows_.clear();
        free_.clear();
        slots_.assign(kMinSlots, Slot{});
        live_ = 0;
    }

  private:
    struct Slot {
        std::uint32_t tag = 0;  // the hash's high half; its low bits pick the home slot
        Flow* flow = nullptr;   // in flows_; nullptr: the slot is empty
    };
    static constexpr std::size_t kMinSlots = 1024;  // a power of two

    static std::uint32_t tag_of(std::uint64_t h) noexcept {
        return static_cast<std::uint32_t>(h >> 32);
    }
    [[nodiscard]] std::size_t mask() const noexcept { return slots_.size() - 1; }

    void place(Slot s) noexcept {
        std::size_t i = s.tag & mask();
        while (slots_[i].flow != nullptr) {
            i = (i + 1) & mask();
        }
        slots_[i] = s;
    }

    void rehash(std::size_t n) {
        std::vector<Slot> old(n);
        old.swap(slots_);
        for (const Slot& s : old) {
            if (s.flow != nullptr) {
                place(s);
            }
        }
    }

    std::vector<Slot> slots_;
    FlowStore flows_;
    std::vector<Flow*> free_;  // erased flows of flows_, to reuse
    std::size_t live_ = 0;
};

void add_history(Flow& f, Event e, bool from_client) noexcept {
    const auto bit = static_cast<std::uint16_t>(
        1U << (static_cast<unsigned>(e) + (from_client ? kHistoryEvents.size() : 0U)));
    if ((f.history_seen & bit) != 0) {
        return;  // like Zeek, each event letter is recorded once per direction
    }
    f.history_seen |= bit;
    const char c = kHistoryEvents[static_cast<std::size_t>(e)];
    if (f.history_len < kMaxHistory) {
        f.history[f.history_len++] = from_client ? static_cast<char>(c - 'a' + 'A') : c;
    }
}

// Calls fn(outer_ip, zero) for every VXLAN/Geneve tunnel of `pkt`, outermost first, whose outer
// UDP checksum shows its VTEP pair's mode (domain spec 2.4): zero checksums, or full ones (ok or
// partial). outer_ip is the IP layer that carries the tunnel.
template <typename Fn>
void for_each_vtep_sighting(const decode::DecodedPacket& pkt, const verify::Verdicts& verdicts,
                            Fn&& fn) {
    const auto layers = pkt.layers();
    for (std::size_t i = 0; i + 1 < layers.size(); ++i) {
        if (layers[i].proto != Proto::Udp ||
            (layers[i + 1].proto != Proto::Vxlan && layers[i + 1].proto != Proto::Geneve)) {
            continue;
        }
        const verify::Verdict* v = verdicts.for_layer(i);
        const int ip = pkt.enclosing_ip(i);
        bool zero = false;
        if (v != nullptr && ip >= 0 && shows_vtep_mode(*v, zero)) {
            fn(layers[static_cast<std::size_t>(ip)], zero);
        }
    }
}

enum class Mode { Unknown, Zero, Full };

struct PairCounts {
    std::uint64_t zero = 0;
    std::uint64_t full = 0;
};

}  // namespace

struct ConnectionAnalyzer::Impl {
    explicit Impl(ConnectionOptions o) : options(std::move(o)) {
        for (const std::uint16_t p : options.ports) {
            watched_ports[p / 64] |= std::uint64_t{1} << (p % 64);
        }
    }

    ConnectionOptions options;
    // options.ports as a bit per port: two bit tests a packet instead of a search of the list
    // for each of its ports (28 instructions a packet with the default list of one).
    std::array<std::uint64_t, 65536 / 64> watched_ports{};
    std::vector<std::string> points;
    FlowTable flows;
    std::map<std::pair<Endpoint, Endpoint>, PairCounts> vtep_pairs;
    struct VtepSlot {
        std::uint64_t key = 0;
        PairCounts* counts = nullptr;  // a node of vtep_pairs
    };
    static constexpr unsigned kVtepCacheBits = 8;
    std::array<VtepSlot, std::size_t{1} << kVtepCacheBits> vtep_cache{};
    std::vector<ConnectionReport> decided;
    std::vector<FlowKey> dirty;  // flows with a decisive event since the last poll()
    ConnectionStats stats;
    std::uint64_t next_order = 0;
    Timestamp now;
    std::uint64_t packets_since_sweep = 0;
    // The digest of a packet that comes without one. A member, not a local: a fresh one (or an
    // empty std::optional of one) is cleared whole, a few hundred bytes, for every packet.
    PacketDigest scratch;

    [[nodiscard]] bool watched(std::uint16_t sport, std::uint16_t dport) const noexcept {
        if (options.all_ports) {
            return true;
        }
        return watched_server_port(sport) || watched_server_port(dport);
    }

    [[nodiscard]] bool watched_server_port(std::uint16_t port) const noexcept {
        return ((watched_ports[port / 64] >> (port % 64)) & 1U) != 0;
    }

    [[nodiscard]] Mode mode_of(const Endpoint& src, const Endpoint& dst) const {
        const auto it = vtep_pairs.find({src, dst});
        if (it == vtep_pairs.end() || it->second.zero == it->second.full) {
            return Mode::Unknown;
        }
        return it->second.zero > it->second.full ? Mode::Zero : Mode::Full;
    }

    // The counters of a VTEP pair (the outer IP layer's addresses). Every tunnelled packet needs
    // them, and a node has few VTEP peers: IPv4 pairs are remembered in a small direct-mapped
    // cache in front of the map (whose nodes never move), which saves a tree walk of 16-byte
    // address comparisons per packet.
    PairCounts& pair_counts(const Layer& ip) {
        const auto* v4 = ip.as<decode::Ipv4Info>();
        if (v4 == nullptr) {
            return vtep_pairs[{track::source_of(ip, 0), track::destination_of(ip, 0)}];
        }
        return pair_counts_v4((std::uint64_t{v4->src} << 32) | v4->dst);
    }

    // An IPv4 pair as (src << 32 | dst).
    PairCounts& pair_counts_v4(std::uint64_t key) {
        VtepSlot& slot = vtep_cache[(key * 0x9e3779b97f4a7c15ULL) >> (64 - kVtepCacheBits)];
        if (slot.counts == nullptr || slot.key != key) {
            slot.key = key;
            slot.counts =
                &vtep_pairs[{track::ipv4_endpoint(static_cast<std::uint32_t>(key >> 32), 0),
                             track::ipv4_endpoint(static_cast<std::uint32_t>(key), 0)}];
        }
        return *slot.counts;
    }

    void learn_vtep_mode(const decode::DecodedPacket& pkt, const verify::Verdicts& verdicts,
                         const PacketDigest& d) {
        if (d.vteps_complete) {
            for (std::size_t i = 0; i < d.vtep_count; ++i) {
                PairCounts& counts = pair_counts_v4(d.vteps[i].pair);
                ++(d.vteps[i].zero ? counts.zero : counts.full);
            }
            return;
        }
        for_each_vtep_sighting(pkt, verdicts, [this](const Layer& ip, bool zero) {
            PairCounts& counts = pair_counts(ip);
            ++(zero ? counts.zero : counts.full);
        });
    }

    Flow* flow_for(const FlowKey& key, std::uint64_t h) {
        if (Flow* f = flows.find(key, h)) {
            return f;
        }
        if (flows.size() >= options.max_flows) {
            evict_oldest();
        }
        Flow& f = flows.insert(key, h);
        f.order = next_order++;
        ++stats.flows_created;
        stats.peak_flows = std::max<std::uint64_t>(stats.peak_flows, flows.size());
        return &f;
    }

    // Decides and drops the least recently active eighth of the table (amortised O(1)).
    void evict_oldest() {
        std::vector<std::pair<Timestamp, FlowKey>> by_age;
        by_age.reserve(flows.size());
        flows.for_each([&](const Flow& f) { by_age.emplace_back(f.last, f.key); });
        const std::size_t n = std::max<std::size_t>(1, by_age.size() / 8);
        std::nth_element(by_age.begin(), by_age.begin() + static_cast<std::ptrdiff_t>(n - 1),
                         by_age.end(), [](const auto& a, const auto& b) {
                             return std::tie(a.first.sec, a.first.nsec) <
                                    std::tie(b.first.sec, b.first.nsec);
                         });
        for (std::size_t i = 0; i < n; ++i) {
            Flow& f = *flows.find(by_age[i].second);
            decided.push_back(decide(f));
            flows.erase(f);
            ++stats.evicted;
        }
    }

    void expire_idle() {
        std::vector<Flow*> idle;
        flows.for_each([&](Flow& f) {
            if (seconds_between(f.last, now) > options.idle_timeout_s) {
                idle.push_back(&f);
            }
        });
        for (Flow* f : idle) {
            decided.push_back(decide(*f));
            flows.erase(*f);
            ++stats.expired;
        }
    }

    void keep_evidence(Flow& f, const PacketContext& ctx, std::string note) {
        if (f.evidence.size() >= kMaxEvidence) {
            return;
        }
        const RawFrame& fr = ctx.packet.frame();
        f.evidence.push_back(EvidenceFrame{.point = ctx.point,
                                           .frame = fr.number,
                                           .ts = fr.ts,
                                           .link = fr.link,
                                           .wirelen = fr.wirelen,
                                           .bytes = {fr.data.begin(), fr.data.end()},
                                           .note = std::move(note)});
    }

    std::string outer_desc(const Segment& s) const {
        if (!s.tunnelled) {
            return "";
        }
        std::string d = ", outer sport " + std::to_string(s.outer_sport);
        if (const verify::Verdict* v = s.outer_checksum()) {
            d += ", outer UDP checksum " + std::string(to_string(v->status));
            if (v->status == verify::Status::Bad) {
                d += " (stored " + hex(v->stored) + ", expected " + hex(v->expected) + ")";
            }
        }
        return d;
    }

    static std::string hex(std::uint16_t v) {
        static constexpr char kHex[] = "0123456789abcdef";
        std::string s = "0x0000";
        for (int i = 0; i < 4; ++i) {
            s[static_cast<std::size_t>(5 - i)] = kHex[static_cast<unsigned>(v >> (4 * i)) & 0xfU];
        }
        return s;
    }

    void mark_dirty(Flow& f, Timestamp ts, bool waiting) {
        if (!f.dirty) {
            f.dirty = true;
            dirty.push_back(f.key);
        }
        f.dirty_since = ts;
        f.waiting = waiting;
    }

    void on_syn(Flow& f, const Segment& s, const PacketContext& ctx) {
        const RawFrame& fr = ctx.packet.frame();
        Attempt* a = nullptr;
        for (Attempt& c : f.attempts) {
            if (c.isn == s.t.seq) {
                a = &c;
            }
        }
        if (a == nullptr) {
            if (f.attempts.size() == kMaxAttempts) {
                f.attempts.erase(f.attempts.begin());
            }
            a = &f.attempts.emplace_back();
            a->isn = s.t.seq;
        }
        const std::optional<std::uint32_t> tsval = s.tsval;
        // The same transmission seen at another capture point has the same IP ID and TSval.
        SynTx* tx = nullptr;
        for (SynTx& c : a->tx) {
            if (c.ip_id == s.ip_id && c.tsval == tsval && (c.points & point_bit(ctx.point)) == 0) {
                tx = &c;
            }
        }
        std::string note;
        if (tx != nullptr) {
            tx->points |= point_bit(ctx.point);
            tx->last_ts = fr.ts;
            tx->last_point = ctx.point;
            if (s.tunnelled) {
                if (!tx->has_outer) {
                    tx->has_outer = true;
                    tx->outer_sport = s.outer_sport;
                } else if (tx->outer_sport != s.outer_sport) {
                    tx->outer_changed = true;
                    tx->other_sport = s.outer_sport;
                    tx->other_point = ctx.point;
                }
            }
            note = "the same SYN seen again at this capture point" + outer_desc(s);
        } else {
            if (a->tx.size() == kMaxTx) {
                ++a->extra_tx;
                return;
            }
            if (!a->tx.empty() && !a->answered) {
                mark_dirty(f, fr.ts, true);  // a retransmission: dropped unless answered soon
            }
            SynTx& n = a->tx.emplace_back(SynTx{.ts = fr.ts,
                                                .last_ts = fr.ts,
                                                .ip_id = s.ip_id,
                                                .tsval = tsval,
                                                .points = point_bit(ctx.point),
                                                .first_point = ctx.point,
                                                .last_point = ctx.point,
                                                .frame = fr.number});
            if (s.tunnelled) {
                n.has_outer = true;
                n.outer_sport = s.outer_sport;
                n.outer_status =
                    s.outer_verdict_known ? s.outer_verdict.status : verify::Status::Unverified;
            }
            const double off = seconds_between(a->tx[0].ts, fr.ts);
            char buf[96];
            std::snprintf(buf, sizeof buf, "SYN #%u of ISN %u at +%.3f s",
                          static_cast<unsigned>(a->tx.size()), a->isn, off);
            note = buf + outer_desc(s);
        }
        keep_evidence(f, ctx, std::move(note));
    }

    void on_tcp(const PacketDigest& d, const PacketContext& ctx) {
        const Segment& s = d.segment;
        const Timestamp ts = d.ts;  // the frame's own fields are another core's cache lines
        ++stats.segments;
        Flow& f = *flow_for(s.key, s.hash);
        if (f.packets == 0) {
            f.first = ts;
        }
        ++f.packets;
        f.last = ts;
        f.points |= point_bit(ctx.point);
        const bool syn = (s.t.flags & decode::tcp_flag::kSyn) != 0;
        const bool ack = (s.t.flags & decode::tcp_flag::kAck) != 0;
        const bool rst = (s.t.flags & decode::tcp_flag::kRst) != 0;
        const bool fin = (s.t.flags & decode::tcp_flag::kFin) != 0;
        // The client is one of the key's endpoints: which one.
        if (!f.client_known) {
            if (syn && !ack) {
                f.client_is_lo = s.src_is_lo;
                f.client_known = true;
            } else if (syn && ack) {
                f.client_is_lo = !s.src_is_lo;
                f.client_known = true;
            } else if (watched_server_port(s.dst.port) && !watched_server_port(s.src.port)) {
                f.client_is_lo = s.src_is_lo;  // mid-stream: the side talking to the watched port
            } else if (f.packets == 1) {
                f.client_is_lo = s.src_is_lo;
            }
        }
        // s.src == f.client() (which side of the key each is; both, when they are one).
        const bool from_client = s.src_is_lo == f.client_is_lo || s.src == s.dst;
        if (from_client) {
            f.points_c2s |= point_bit(ctx.point);
        }
        const std::size_t payload = s.payload;
        add_history(f,
                    syn           ? (ack ? Event::SynAck : Event::Syn)
                    : rst         ? Event::Rst
                    : fin         ? Event::Fin
                    : payload > 0 ? Event::Data
                                  : Event::Ack,
                    from_client);
        track_retransmission(f, s, ctx.point, from_client ? 0 : 1, payload);

        if (s.tunnelled) {
            on_outer(f, s, ctx, from_client);
        } else if (f.plain.size() < kMaxPlain) {
            f.plain.push_back(
                PlainSighting{.ip_id = s.ip_id, .seq = s.t.seq, .point = ctx.point, .ts = ts});
        }
        if (syn && !ack) {
            on_syn(f, s, ctx);
        } else if (syn && ack) {
            for (std::size_t i = 0; i < f.attempts.size(); ++i) {
                Attempt& a = f.attempts[i];
                if (a.isn + 1 == s.t.ack && !a.answered) {
                    a.answered = true;
                    if (a.tx.size() >= 2) {
                        mark_dirty(f, ts, false);  // answered after retransmissions
                    }
                    a.answered_after = static_cast<std::uint8_t>(a.tx.size());
                    a.answered_ts = ts;
                    keep_evidence(f, ctx, "SYN-ACK: the server answered" + outer_desc(s));
                }
            }
        } else if (rst && !from_client) {
            for (std::size_t i = 0; i < f.attempts.size(); ++i) {
                Attempt& a = f.attempts[i];
                if (a.isn + 1 == s.t.ack && !a.answered && !a.rst) {
                    a.rst = true;
                    mark_dirty(f, ts, false);
                    keep_evidence(f, ctx, "RST with ack = ISN+1: nothing listens, SYN rejected");
                }
            }
        }
    }

    // RFC 1982 serial-number comparison: a data segment that ends at or before what this
    // direction already sent is a retransmission.
    static void track_retransmission(Flow& f, const Segment& s, std::uint16_t point,
                                     std::size_t dir, std::size_t payload) noexcept {
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
            ++f.retransmissions[dir];
        } else {
            f.next_seq[dir] = end;
        }
    }

    void on_outer(Flow& f, const Segment& s, const PacketContext& ctx, bool from_client) {
        const std::uint16_t sport = s.outer_sport;
        f.tunnelled = true;
        f.vni = s.vni;
        if (from_client) {
            // The VTEP pair is written when it changes (compared as IPv4 numbers: the outer
            // endpoints' other fields are all zero then).
            const std::uint64_t pair =
                s.outer_src.v6 || s.outer_dst.v6
                    ? 0
                    : (std::uint64_t{s.outer_src.ipv4()} << 32) | s.outer_dst.ipv4();
            if (pair == 0 || pair != f.outer_pair) {
                f.outer_client = s.outer_src;
                f.outer_server = s.outer_dst;
                f.outer_pair = pair;
            }
        }
        // Each direction is encapsulated by its own VTEP, with its own source ports; the list
        // is searched only when the port differs from the last one seen.
        const std::size_t dir = from_client ? 0 : 1;
        if (!f.sport_known[dir] || f.last_sport[dir] != sport) {
            f.sport_known[dir] = true;
            f.last_sport[dir] = sport;
            auto& ports = f.sports[dir];
            auto& n = f.nsports[dir];
            if (std::find(ports.begin(), ports.begin() + n, sport) == ports.begin() + n &&
                n < kMaxSports) {
                ports[n++] = sport;
            }
        }
        if ((sport < options.vxlan_sport_min || sport > options.vxlan_sport_max) &&
            !f.out_of_range) {
            f.out_of_range = sport;
            mark_dirty(f, ctx.packet.frame().ts, false);
            f.out_of_range_frame = ctx.packet.frame().number;
            f.out_of_range_point = ctx.point;
        }
        const verify::Verdict* outer = s.outer_checksum();
        if (outer != nullptr && outer->status == verify::Status::Bad && outer->expected_known) {
            const bool seen =
                std::any_of(f.candidates.begin(), f.candidates.end(), [&](const Candidate& c) {
                    return c.inner_ip_id == s.ip_id && c.inner_seq == s.t.seq &&
                           c.stored == outer->stored && c.point != ctx.point;
                });
            if (seen) {
                return;  // the same bad packet at another capture point (already evidence)
            }
            ++f.candidates_total;
            mark_dirty(f, ctx.packet.frame().ts, false);
            if (f.candidates.size() < kMaxCandidates) {
                f.candidates.push_back(Candidate{.inner_ip_id = s.ip_id,
                                                 .inner_seq = s.t.seq,
                                                 .outer_src = s.outer_src,
                                                 .outer_dst = s.outer_dst,
                                                 .sport = sport,
                                                 .stored = outer->stored,
                                                 .expected = outer->expected,
                                                 .residual = outer->residual,
                                                 .point = ctx.point,
                                                 .frame = ctx.packet.frame().number,
                                                 .ts = ctx.packet.frame().ts});
            }
            const bool syn = (s.t.flags & decode::tcp_flag::kSyn) != 0;
            if (!syn) {  // SYNs keep their own evidence note
                keep_evidence(f, ctx, "bad outer UDP checksum" + outer_desc(s));
            }
        }
    }

    void on_icmp(const decode::DecodedPacket& pkt, std::size_t idx, const PacketContext& ctx) {
        const Layer& l = pkt.layers()[idx];
        const auto& icmp = std::get<decode::IcmpInfo>(l.info);
        const bool v4 = l.proto == Proto::Icmpv4;
        if (icmp.type != (v4 ? kIcmpDestUnreachable : kIcmpv6DestUnreachable) ||
            l.bytes.size() < kIcmpHeaderLen) {
            return;
        }
        // The quoted datagram: IP header + at least the first 8 bytes of TCP (ports, seq).
        const Bytes q = l.bytes.subspan(kIcmpHeaderLen);
        Endpoint src;
        Endpoint dst;
        std::size_t l4 = 0;
        if (v4) {
            if (q.size() < 20 || (q[0] >> 4) != 4 || q[9] != 6) {
                return;
            }
            l4 = std::size_t{q[0] & 0x0fU} * 4;
            std::copy_n(q.begin() + 12, 4, src.addr.begin());
            std::copy_n(q.begin() + 16, 4, dst.addr.begin());
        } else {
            if (q.size() < 40 || (q[0] >> 4) != 6 || q[6] != 6) {
                return;
            }
            l4 = 40;
            std::copy_n(q.begin() + 8, 16, src.addr.begin());
            std::copy_n(q.begin() + 24, 16, dst.addr.begin());
            src.v6 = dst.v6 = true;
        }
        if (q.size() < l4 + 8) {
            return;
        }
        src.port = be16(q, l4);
        dst.port = be16(q, l4 + 2);
        const std::uint32_t seq = be32(q, l4 + 4);
        const FlowKey key = FlowKey::of(src, dst);
        Flow* found = flows.find(key);
        if (found == nullptr) {
            return;
        }
        Flow& f = *found;
        for (std::size_t i = 0; i < f.attempts.size(); ++i) {
            Attempt& a = f.attempts[i];
            if (a.isn == seq && !a.answered && !a.icmp) {
                a.icmp = true;
                mark_dirty(f, ctx.packet.frame().ts, false);
                a.icmp_type = icmp.type;
                a.icmp_code = icmp.code;
                keep_evidence(f, ctx,
                              "ICMP destination unreachable (type " + std::to_string(icmp.type) +
                                  " code " + std::to_string(icmp.code) + ") quoting the SYN");
            }
        }
    }

    void on_packet(const PacketContext& ctx) {
        const decode::DecodedPacket& pkt = ctx.packet;
        if (ctx.digest == nullptr) {
            digest(pkt, ctx.verdicts, scratch);
        }
        const PacketDigest& d = ctx.digest == nullptr ? scratch : *ctx.digest;
        now = d.ts;
        learn_vtep_mode(pkt, ctx.verdicts, d);
        if (d.has_segment) {
            if (watched(d.segment.t.sport, d.segment.t.dport)) {
                on_tcp(d, ctx);
            }
        } else if (d.icmp >= 0) {
            on_icmp(pkt, static_cast<std::size_t>(d.icmp), ctx);
        }
        if (++packets_since_sweep >= 65536) {
            packets_since_sweep = 0;
            expire_idle();
        }
    }

    std::vector<ConnectionReport> poll(Timestamp when, double settle_s) {
        std::vector<ConnectionReport> out;
        std::vector<FlowKey> keep;
        for (const FlowKey& k : dirty) {
            Flow* found = flows.find(k);
            if (found == nullptr) {
                continue;  // decided already (evicted or expired)
            }
            Flow& f = *found;
            if (f.waiting && seconds_between(f.dirty_since, when) < settle_s) {
                keep.push_back(k);
                continue;
            }
            f.dirty = false;
            ConnectionReport r = decide(f);
            r.decided_at = when;
            std::uint32_t bits = 0;
            for (const Verdict v : r.verdicts) {
                if (v != Verdict::Clean) {
                    bits |= 1U << static_cast<unsigned>(v);
                }
            }
            if ((bits & ~f.emitted) != 0) {
                f.emitted |= bits;
                out.push_back(std::move(r));
            }
        }
        dirty = std::move(keep);
        return out;
    }

    // --- deciding --------------------------------------------------------------------------

    [[nodiscard]] bool is_flannel_address(const Endpoint& e) const noexcept {
        if (e.v6 || options.flannel_prefix_len >= 32) {
            return false;
        }
        const std::uint32_t host_mask = (1U << (32 - options.flannel_prefix_len)) - 1U;
        return (e.ipv4() & host_mask) == 0;
    }

    [[nodiscard]] std::string masqueraded_port_reason(std::uint16_t port) const {
        // MASQUERADE maps ports 512-1023 into 600-1023 and >= 1024 into 1024-65535
        // (nf_nat_l4proto_unique_tuple); Linux RPC clients bind 665-1023, sockets the ephemeral
        // range. 600-664, or >= 1024 outside the ephemeral range, can only come from NAT.
        if (port >= 600 && port <= 664) {
            return "port " + std::to_string(port) +
                   " is in 600-664, where MASQUERADE puts privileged ports; the Linux NFS client "
                   "binds 665-1023";
        }
        if (port >= 1024 && (port < options.ephemeral_min || port > options.ephemeral_max)) {
            return "port " + std::to_string(port) + " is outside the ephemeral range " +
                   std::to_string(options.ephemeral_min) + "-" +
                   std::to_string(options.ephemeral_max) + " (MASQUERADE --random-fully)";
        }
        return "";
    }

    static const char* schedule_name(const std::vector<double>& offsets) {
        // Classic: RTO 1 s doubling -> 0,1,3,7,15,31,63. Linux >= 6.5 with
        // tcp_syn_linear_timeouts=4: 0,1,2,3,4,5,7,11,19,35,67 (domain spec 4.1).
        static constexpr std::array<double, 8> kClassic{0, 1, 3, 7, 15, 31, 63, 127};
        static constexpr std::array<double, 11> kLinear{0, 1, 2, 3, 4, 5, 7, 11, 19, 35, 67};
        const auto matches = [&](const auto& sched) {
            if (offsets.size() > sched.size()) {
                return false;
            }
            for (std::size_t i = 1; i < offsets.size(); ++i) {
                const double tol = std::max(0.25, 0.1 * sched[i]);
                if (std::fabs(offsets[i] - sched[i]) > tol) {
                    return false;
                }
            }
            return true;
        };
        if (offsets.size() < 2) {
            return "";
        }
        const bool classic = matches(kClassic);
        const bool linear = matches(kLinear);
        if (classic && linear) {
            return "classic_or_linear";
        }
        return classic ? "classic" : linear ? "linear" : "other";
    }

    ConnectionReport decide(const Flow& f) {
        ConnectionReport r;
        r.client = f.client();
        r.server = f.server();
        r.packets = f.packets;
        r.first_ts = f.first;
        r.last_ts = f.last;
        r.history.assign(f.history.data(), f.history_len);
        r.retransmissions = f.retransmissions[0];
        r.retransmissions_reply = f.retransmissions[1];
        for (std::uint16_t p = 0; p < std::min<std::size_t>(points.size(), kMaxPoints); ++p) {
            if ((f.points & point_bit(p)) != 0) {
                r.points.push_back(points[p]);
            }
        }
        bool dropped = false;
        bool rejected = false;
        r.attempts = static_cast<unsigned>(f.attempts.size());
        for (std::size_t i = 0; i < f.attempts.size(); ++i) {
            const Attempt& a = f.attempts[i];
            const bool last = i + 1 == f.attempts.size();
            const unsigned syns = static_cast<unsigned>(a.tx.size()) + a.extra_tx;
            rejected = rejected || a.rst || a.icmp;
            dropped = dropped || (!a.answered && !a.rst && !a.icmp && syns >= 2);
            if (!last) {
                continue;
            }
            r.syns = syns;
            for (std::size_t t = 0; t < a.tx.size(); ++t) {
                r.syn_offsets_s.push_back(seconds_between(a.tx[0].ts, a.tx[t].ts));
            }
            if (a.answered) {
                r.outcome = "established";
                if (a.answered_after >= 2) {
                    r.delay_s = r.syn_offsets_s[a.answered_after - 1U];
                    r.schedule = schedule_name(std::vector<double>(
                        r.syn_offsets_s.begin(), r.syn_offsets_s.begin() + a.answered_after));
                }
            } else if (a.rst) {
                r.outcome = "rejected_rst";
            } else if (a.icmp) {
                r.outcome = "rejected_icmp";
                r.icmp_type = a.icmp_type;
                r.icmp_code = a.icmp_code;
            } else {
                r.outcome = syns >= 2 ? "dropped" : "unanswered";
                r.schedule = schedule_name(r.syn_offsets_s);
            }
        }
        if (f.attempts.size() == 0) {
            r.outcome = "no_syn";
        }
        describe_hops(f, r);

        // Tunnel context and NAT evidence.
        if (f.tunnelled) {
            r.outer_client = track::ip_to_string(f.outer_client);
            r.outer_server = track::ip_to_string(f.outer_server);
            r.vni = f.vni;
            r.outer_sports.assign(f.sports[0].begin(), f.sports[0].begin() + f.nsports[0]);
            r.outer_sports_reply.assign(f.sports[1].begin(), f.sports[1].begin() + f.nsports[1]);
        }
        r.outer_sport_out_of_range = f.out_of_range;
        r.corrupted_total = 0;
        for (const Candidate& c : f.candidates) {
            CorruptedOuter co{.sport = c.sport,
                              .pre_nat_sport = std::nullopt,
                              .stored = c.stored,
                              .expected = c.expected,
                              .point = c.point,
                              .frame = c.frame,
                              .delivered_at = std::nullopt};
            const Mode mode = mode_of(c.outer_src, c.outer_dst);
            // Variant B: the field is the valid checksum for the pre-NAT port, so the residual
            // is P_new - P_old and P_old = P_new + ~R (domain spec 2.4).
            const std::uint16_t p_old = verify::ones_add(c.sport, verify::ones_neg(c.residual));
            if (c.stored == 0xffff && mode != Mode::Full) {
                co.variant = 'A';
            } else if (mode != Mode::Zero && p_old != c.sport && p_old >= options.vxlan_sport_min &&
                       p_old <= options.vxlan_sport_max) {
                co.variant = 'B';
                co.pre_nat_sport = p_old;
            } else {
                continue;  // a bad checksum, but not the NAT fingerprint
            }
            for (const PlainSighting& p : f.plain) {
                if (p.ip_id == c.inner_ip_id && p.seq == c.inner_seq && p.point != c.point &&
                    seconds_between(c.ts, p.ts) >= 0) {
                    co.delivered_at = p.point;
                    break;
                }
            }
            ++r.corrupted_total;
            r.corrupted.push_back(co);
        }
        if (f.candidates_total > f.candidates.size() && !r.corrupted.empty()) {
            r.corrupted_total += f.candidates_total - f.candidates.size();
        }

        if (f.client_known && is_flannel_address(f.client())) {
            const std::string why = masqueraded_port_reason(f.client().port);
            if (!why.empty()) {
                r.inner_snat_reason = "the client address " + track::ip_to_string(f.client()) +
                                      " is flannel.1's (x.y.z.0) and its " + why;
            }
        }
        if (f.out_of_range) {
            r.outer_snat_reason = "outer VXLAN source port " + std::to_string(*f.out_of_range) +
                                  " is outside the driver's range " +
                                  std::to_string(options.vxlan_sport_min) + "-" +
                                  std::to_string(options.vxlan_sport_max);
        } else if (!r.corrupted.empty()) {
            const CorruptedOuter& c = r.corrupted.front();
            r.outer_snat_reason =
                c.variant == 'B'
                    ? "the outer UDP checksum is valid for source port " +
                          std::to_string(*c.pre_nat_sport) + ", not for the port on the wire (" +
                          std::to_string(c.sport) + "): NAT rewrote it"
                    : "the outer UDP checksum 0xffff on a tunnel that sends no checksums is what "
                      "NAT leaves when it rewrites the packet (pre-5.7 kernels)";
        }

        if (r.inner_snat_reason.empty() && !r.outer_snat_reason.empty() && f.client_known &&
            is_flannel_address(f.client())) {
            // Only packets kube-proxy marked 0x4000 get their outer packet masqueraded, and the
            // same mark masquerades the inner packet: the inner NAT follows from the outer one.
            r.inner_snat_inferred = true;
            r.inner_snat_reason = "the client address " + track::ip_to_string(f.client()) +
                                  " is flannel.1's (x.y.z.0) and its outer packet was "
                                  "masqueraded, which only happens to packets marked 0x4000 for "
                                  "masquerading, so the inner packet was masqueraded too (port " +
                                  std::to_string(f.client().port) +
                                  " looks ephemeral: the port alone could not show it)";
        }

        if (dropped) {
            r.verdicts.push_back(Verdict::SynDropped);
        }
        if (rejected) {
            r.verdicts.push_back(Verdict::SynRejected);
        }
        if (r.delay_s) {
            r.verdicts.push_back(Verdict::DelayedConnect);
        }
        const bool inner = !r.inner_snat_reason.empty();
        const bool outer = !r.outer_snat_reason.empty();
        if (inner) {
            r.verdicts.push_back(Verdict::InnerSnat);
        }
        if (outer) {
            r.verdicts.push_back(Verdict::OuterSnat);
        }
        if (inner && outer) {
            r.verdicts.push_back(Verdict::DoubleSnat);
        }
        if (!r.corrupted.empty()) {
            r.verdicts.push_back(Verdict::OuterChecksumCorrupted);
        }
        if (r.verdicts.empty()) {
            r.verdicts.push_back(Verdict::Clean);
        }
        explain(r, options, points);

        r.evidence = f.evidence;
        return r;
    }

    // Where SYNs were seen and lost across capture points; outer ports rewritten between them.
    void describe_hops(const Flow& f, ConnectionReport& r) const {
        if (f.attempts.size() == 0 || std::popcount(f.points_c2s) < 2) {
            return;
        }
        const Attempt& a = f.attempts[f.attempts.size() - 1];
        for (std::size_t t = 0; t < a.tx.size(); ++t) {
            const SynTx& tx = a.tx[t];
            const std::uint32_t missing = f.points_c2s & ~tx.points;
            const std::string which = "SYN #" + std::to_string(t + 1) + " (+" +
                                      fixed3(seconds_between(a.tx[0].ts, tx.ts)) + " s)";
            if (missing != 0) {
                std::string never;
                for (std::uint16_t p = 0; p < std::min<std::size_t>(points.size(), kMaxPoints);
                     ++p) {
                    if ((missing & point_bit(p)) != 0) {
                        never += (never.empty() ? "" : ", ") + points[p];
                    }
                }
                r.hops.push_back(which + ": last seen at " + points[tx.last_point] +
                                 ", never reached " + never);
            }
            if (tx.outer_changed) {
                r.hops.push_back(which + ": outer source port " + std::to_string(tx.outer_sport) +
                                 " at " + points[tx.first_point] + " became " +
                                 std::to_string(tx.other_sport) + " at " + points[tx.other_point]);
            }
        }
    }

    static std::string fixed3(double v) {
        char buf[32];
        std::snprintf(buf, sizeof buf, "%.3f", v);
        return buf;
    }
};

bool shows_vtep_mode(const verify::Verdict& v, bool& zero) noexcept {
    zero = v.status == verify::Status::Zero;
    return zero || v.status == verify::Status::Ok || v.status == verify::Status::Partial;
}

std::optional<std::uint32_t> tcp_tsval(Bytes opts) noexcept {
    std::size_t off = 0;
    while (off < opts.size()) {
        const std::uint8_t kind = opts[off];
        if (kind == 0) {
            break;
        }
        if (kind == 1) {
            ++off;
            continue;
        }
        if (off + 2 > opts.size() || opts[off + 1] < 2 || off + opts[off + 1] > opts.size()) {
            break;
        }
        if (kind == kTcpOptTimestamp && opts[off + 1] == 10) {
            return be32(opts, off + 2);
        }
        off += opts[off + 1];
    }
    return std::nullopt;
}

// Written in place, field by field, and only what is read later: the digest is a few hundred
// bytes, and clearing it whole, or building endpoints and copying them into the key, cost as
// much as the rest (stores that later wider loads cannot be forwarded from).
void Segment::set_ipv4_endpoints(std::uint32_t sa, std::uint32_t da) noexcept {
    const std::uint16_t sp = t.sport;
    const std::uint16_t dp = t.dport;
    src.set_ipv4(sa, sp);
    dst.set_ipv4(da, dp);
    // FlowKey::of(src, dst), from the numbers: an IPv4 endpoint orders by address, then port.
    const bool src_first = sa < da || (sa == da && sp < dp);
    key.lo.set_ipv4(src_first ? sa : da, src_first ? sp : dp);
    key.hi.set_ipv4(src_first ? da : sa, src_first ? dp : sp);
    src_is_lo = src_first;
    hash = track::FlowKeyHash{}(key);
}

void Segment::set_tunnel(std::uint32_t tunnel_vni, std::uint16_t sport,
                         const verify::Verdict* outer) noexcept {
    tunnelled = true;
    vni = tunnel_vni;
    outer_sport = sport;
    outer_verdict_known = outer != nullptr;
    if (outer != nullptr) {
        outer_verdict = *outer;
    }
}

void Segment::set_ipv4_tunnel(std::uint32_t tunnel_vni, std::uint16_t sport, std::uint32_t osa,
                              std::uint32_t oda, const verify::Verdict* outer) noexcept {
    set_tunnel(tunnel_vni, sport, outer);
    outer_src.set_ipv4(osa, 0);
    outer_dst.set_ipv4(oda, 0);
}

void Segment::no_tunnel() noexcept {
    tunnelled = false;
    outer_verdict_known = false;
    outer_sport = 0;
    vni = 0;
}

PacketDigest digest(const decode::DecodedPacket& pkt, const verify::Verdicts& verdicts) noexcept {
    PacketDigest d;
    digest(pkt, verdicts, d);
    return d;
}

void digest(const decode::DecodedPacket& pkt, const verify::Verdicts& verdicts,
            PacketDigest& d) noexcept {
    d.begin(pkt.frame().ts);
    for_each_vtep_sighting(pkt, verdicts, [&d](const Layer& ip, bool zero) {
        if (const auto* v4 = ip.as<decode::Ipv4Info>()) {
            d.add_vtep((std::uint64_t{v4->src} << 32) | v4->dst, zero);
        } else {
            d.vteps_complete = false;  // on_packet walks the layers itself
        }
    });
    const std::optional<InnerTcp> inner = inner_tcp(pkt);
    if (!inner) {
        d.icmp = static_cast<std::int8_t>(
            std::max(pkt.innermost(Proto::Icmpv4), pkt.innermost(Proto::Icmpv6)));
        return;
    }
    const auto layers = pkt.layers();
    d.has_segment = true;
    Segment& s = d.segment;
    const Layer& tcp = layers[inner->tcp];
    const Layer& ip = layers[inner->ip];
    s.t = *inner->info;
    s.tcp_layer = static_cast<std::uint8_t>(inner->tcp);
    s.payload = tcp.claimed_len - tcp.header_len;
    if ((s.t.flags & decode::tcp_flag::kSyn) != 0) {
        const Bytes header = tcp.header();
        s.tsval = tcp_tsval(header.subspan(std::min<std::size_t>(20, header.size())));
    }
    if (const auto* v4 = ip.as<decode::Ipv4Info>()) {
        s.ip_id = v4->id;
        s.set_ipv4_endpoints(v4->src, v4->dst);
    } else {
        s.ip_id = 0;
        s.src = track::source_of(ip, s.t.sport);
        s.dst = track::destination_of(ip, s.t.dport);
        s.key = FlowKey::of(s.src, s.dst);
        s.src_is_lo = s.src < s.dst;  // as FlowKey::of orders them
        s.hash = track::FlowKeyHash{}(s.key);
    }
    s.no_tunnel();
    // The tunnel whose payload holds this segment: the nearest VXLAN/Geneve before it.
    for (std::size_t i = inner->ip; i-- > 1;) {
        if (layers[i].proto != Proto::Vxlan && layers[i].proto != Proto::Geneve) {
            continue;
        }
        const auto* udp = layers[i - 1].as<decode::UdpInfo>();
        const int oip = pkt.enclosing_ip(i - 1);
        if (udp == nullptr || oip < 0) {
            break;
        }
        std::uint32_t vni = 0;
        if (const auto* x = layers[i].as<decode::VxlanInfo>()) {
            vni = x->vni;
        } else if (const auto* g = layers[i].as<decode::GeneveInfo>()) {
            vni = g->vni;
        }
        const verify::Verdict* outer = verdicts.for_layer(i - 1);
        const Layer& outer_ip = layers[static_cast<std::size_t>(oip)];
        if (const auto* ov4 = outer_ip.as<decode::Ipv4Info>()) {
            s.set_ipv4_tunnel(vni, udp->sport, ov4->src, ov4->dst, outer);
        } else {
            s.set_tunnel(vni, udp->sport, outer);
            s.outer_src = track::source_of(outer_ip, 0);
            s.outer_dst = track::destination_of(outer_ip, 0);
        }
        break;
    }
}

ConnectionAnalyzer::ConnectionAnalyzer(ConnectionOptions options)
    : impl_(std::make_unique<Impl>(std::move(options))) {}

ConnectionAnalyzer::~ConnectionAnalyzer() = default;

std::uint16_t ConnectionAnalyzer::add_point(std::string name) {
    impl_->points.push_back(std::move(name));
    return static_cast<std::uint16_t>(impl_->points.size() - 1);
}

const std::vector<std::string>& ConnectionAnalyzer::points() const noexcept {
    return impl_->points;
}

void ConnectionAnalyzer::on_packet(const PacketContext& ctx) noexcept {
    try {
        impl_->on_packet(ctx);
    } catch (...) {
        // Only allocation can throw here (new flow, evidence copy); the packet is still counted
        // by the summary, and the connection simply misses this packet.
    }
}

void ConnectionAnalyzer::prefetch(std::uint64_t flow_hash) const noexcept {
    impl_->flows.prefetch(flow_hash);
}

void ConnectionAnalyzer::prefetch_slot(std::uint64_t flow_hash) const noexcept {
    impl_->flows.prefetch_slot(flow_hash);
}

std::vector<ConnectionReport> ConnectionAnalyzer::take_decided() {
    return std::exchange(impl_->decided, {});
}

std::vector<ConnectionReport> ConnectionAnalyzer::poll(Timestamp now, double settle_s) {
    return impl_->poll(now, settle_s);
}

std::size_t ConnectionAnalyzer::open_connections() const noexcept {
    return impl_->flows.size();
}

std::vector<ConnectionReport> ConnectionAnalyzer::finish() {
    std::vector<const Flow*> order;
    order.reserve(impl_->flows.size());
    impl_->flows.for_each([&](const Flow& f) { order.push_back(&f); });
    std::sort(order.begin(), order.end(),
              [](const Flow* a, const Flow* b) { return a->order < b->order; });
    std::vector<ConnectionReport> out = std::exchange(impl_->decided, {});
    for (const Flow* f : order) {
        out.push_back(impl_->decide(*f));
    }
    impl_->flows.clear();
    return out;
}

const ConnectionStats& ConnectionAnalyzer::stats() const noexcept {
    return impl_->stats;
}

bool ConnectionReport::has(Verdict v) const noexcept {
    return std::find(verdicts.begin(), verdicts.end(), v) != verdicts.end();
}

std::string_view to_string(Verdict v) noexcept {
    switch (v) {
        case Verdict::SynDropped:
            return "syn_dropped";
        case Verdict::SynRejected:
            return "syn_rejected";
        case Verdict::DelayedConnect:
            return "delayed_connect";
        case Verdict::InnerSnat:
            return "inner_snat";
        case Verdict::OuterSnat:
            return "outer_snat";
        case Verdict::DoubleSnat:
            return "double_snat";
        case Verdict::OuterChecksumCorrupted:
            return "outer_checksum_corrupted";
        case Verdict::Clean:
            return "clean";
    }
    return "unknown";
}

}  // namespace vxcheck::analyze

#pragma once
// The state of the RPC analyzer, shared by its parts (private to src/analyze):
//   rpc_calls.cc     per-connection call/reply matching, counts and SRT samples
//   rpc_nfs.cc       NFS facts from call arguments and COMPOUND replies
//   rpc_registry.cc  the cross-connection tables the rules need (copies, answers, owners,
//                    session events) and the rules that read them
//   rpc_facts.cc     a connection's RpcFacts: labels, errors, latency summaries
//   rpc_analyzer.cc  the ConnectionPlugin entry points
//   rpc_live.cc      live verdicts: the connections poll() lists
//   rpc_evidence.cc  the frames behind the findings (--evidence)
//   rpc_activity.cc  calls, errors and response times for live metrics
//   rpc_budget.cc    what the per-connection state costs the state budget, and shedding it
// Per-message work keys on numbers (XIDs, program/version/procedure, status codes); labels are
// built only when a connection is decided.

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <map>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "flow.h"
#include "rpc_recent.h"
#include "vxcheck/analyze/rpc_analyzer.h"
#include "vxcheck/analyze/rpc_rules.h"
#include "vxcheck/prefetch.h"
#include "vxcheck/rpc/message.h"
#include "vxcheck/rpc/nfs.h"
#include "vxcheck/rpc/record_stream.h"

namespace vxcheck::analyze {

namespace rpc_state {

inline constexpr std::size_t kEndpointBytes = 19;
// (client address, server ip:port)
using PairKey = std::array<std::uint8_t, 2 * kEndpointBytes>;

/// (client address, server ip:port, direction, xid, prog, vers, proc), with its hash
/// (call_hash()): the key of the cross-connection tables.
struct CallKey {
    std::array<std::uint8_t, 2 * kEndpointBytes + 1 + 16> bytes{};
    std::uint64_t hash = 0;
    friend bool operator==(const CallKey& a, const CallKey& b) noexcept {
        return a.hash == b.hash && a.bytes == b.bytes;
    }
};
[[nodiscard]] inline std::uint64_t hash_of(const CallKey& k) noexcept {
    return k.hash;
}

inline void put(std::uint8_t* at, const track::Endpoint& e, bool with_port) noexcept {
    std::memcpy(at, e.addr.data(), e.addr.size());
    const std::uint16_t port = with_port ? e.port : 0;
    std::memcpy(at + 16, &port, 2);
    at[18] = e.v6 ? 1 : 0;
}

inline track::Endpoint address_of(track::Endpoint e) noexcept {
    e.port = 0;
    return e;
}

inline PairKey pair_key(const track::Endpoint& client, const track::Endpoint& server) noexcept {
    PairKey k{};
    put(k.data(), client, false);
    put(k.data() + kEndpointBytes, server, true);
    return k;
}

/// The MurmurHash3 64-bit finaliser: every input bit reaches every output bit.
[[nodiscard]] constexpr std::uint64_t fmix64(std::uint64_t h) noexcept {
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 33;
    return h;
}

/// The hash of a call's CallKey from `pair`, the hash of its connection's (client address,
/// server ip:port) (hash_bytes(pair_key())), made once a connection, and the call's numbers,
/// each multiplied by an odd number from the tables' key (kRecentKey: fixed, for reports that
/// are the same in every run) before mixing.
[[nodiscard]] inline std::uint64_t call_hash(std::uint64_t pair, bool from_client,
                                             std::uint32_t xid, std::uint32_t prog,
                                             std::uint32_t vers, std::uint32_t proc) noexcept {
    const track::SipKey& key = kRecentKey;
    const std::uint64_t a = (std::uint64_t{xid} << 32 | proc) ^ (from_client ? 1U : 0U) << 31;
    const std::uint64_t b = std::uint64_t{prog} << 32 | vers;
    return fmix64(fmix64(pair ^ a * (key.k0 | 1U)) ^ b * (key.k1 | 1U));
}

/// Keeps in `kept` the later of it and `ts` (per segment: earlier(), not the defaulted <=>).
inline void later_of(Timestamp& kept, const Timestamp& ts) noexcept {
    if (earlier(kept, ts)) {
        kept = ts;
    }
}

/// The point that feeds a direction of a connection or UDP flow: the first capture point to show
/// it; the same message seen again at another point (node and pod, both ends of a tunnel) is not
/// a new message. `kNoPoint` until a point is seen.
inline constexpr std::uint16_t kNoPoint = 0xFFFF;
/// Whether capture point `point` feeds the direction whose feeding point is `fed_by` (taken by
/// the first point that shows it).
inline bool feeds(std::uint16_t& fed_by, std::uint16_t point) noexcept {
    if (fed_by == kNoPoint) {
        fed_by = point;
    }
    return fed_by == point;
}

struct CallRec {
    std::uint32_t xid = 0;
    bool from_client = true;
    std::uint32_t prog = 0;
    std::uint32_t vers = 0;
    std::uint32_t proc = 0;
    std::uint32_t seq = 0;  // stream position of the last copy
    Timestamp first;
    Timestamp last;
    std::uint32_t copies = 0;
    bool answered = false;
    bool from_earlier = false;  // a copy of a call on an earlier connection
    bool compound = false;      // NFSv4 COMPOUND
    bool has_sequence = false;
    bool cachethis = false;
    rpc::SessionId session{};
    std::uint32_t main_op = 0;  // the compound's last op, for the latency table
    std::uint64_t frame = 0;    // frame of the last copy
};

/// Positions in a connection's call records by XID: an open-addressing table with linear
/// probing, at most half full, grown by doubling (amortised like the records themselves) and
/// never past 2 * kMaxCallsPerConnection slots. A slot holds the XID beside the position, so a
/// probe reads a record only when its XID matches. Records are only appended between
/// rebuild()s, so a lookup walks its probe chain to the first empty slot and keeps the latest
/// matching record.
class XidIndex {
  public:
    template <class Match>
    CallRec* latest(std::vector<CallRec>& calls, std::uint32_t xid, Match match) noexcept {
        if (slots_.empty()) {
            return nullptr;
        }
        const std::size_t mask = slots_.size() - 1;
        CallRec* best = nullptr;
        for (std::size_t i = slot_of(xid, mask); slots_[i].pos != 0; i = (i + 1) & mask) {
            if (slots_[i].xid != xid) {
                continue;
            }
            CallRec& r = calls[slots_[i].pos - 1];
            if (match(r) && (best == nullptr || &r > best)) {
                best = &r;
            }
        }
        return best;
    }

    /// A hint: starts loading the slot where `xid`'s probe begins.
    void prefetch(std::uint32_t xid) const noexcept {
        if (!slots_.empty()) {
            prefetch_line(&slots_[slot_of(xid, slots_.size() - 1)]);
        }
    }

    /// Indexes calls.back(), just appended.
    void add(const std::vector<CallRec>& calls) {
        if ((calls.size()) * 2 > slots_.size()) {
            slots_.assign(std::max<std::size_t>(16, slots_.size() * 2), Slot{});
            for (std::size_t i = 0; i < calls.size(); ++i) {
                place(calls[i].xid, i);
            }
            return;
        }
        place(calls.back().xid, calls.size() - 1);
    }

    /// Heap bytes of the index.
    [[nodiscard]] std::size_t memory_bytes() const noexcept { return heap_bytes(slots_); }

    /// Indexes `calls` anew, after records were removed (the table keeps its size).
    void rebuild(const std::vector<CallRec>& calls) noexcept {
        std::fill(slots_.begin(), slots_.end(), Slot{});
        for (std::size_t i = 0; i < calls.size(); ++i) {
            place(calls[i].xid, i);
        }
    }

  private:
    struct Slot {
        std::uint32_t xid = 0;
        std::uint32_t pos = 0;  // record index + 1; 0 is empty
    };
    // Multiply-shift (Dietzfelbinger) with an odd multiplier from the process's random key: a
    // client picks its own XIDs, and with a fixed multiplier it could make one probe chain of
    // every call it keeps waiting. The slot is the product's top bits (mask + 1 is a power of
    // two, at least 16).
    static std::size_t slot_of(std::uint32_t xid, std::size_t mask) noexcept {
        const std::uint64_t a = track::flow_hash_key().k0 | 1U;
        return static_cast<std::size_t>((a * xid) >> (64 - std::bit_width(mask)));
    }
    void place(std::uint32_t xid, std::size_t index) noexcept {
        const std::size_t mask = slots_.size() - 1;
        std::size_t i = slot_of(xid, mask);
        while (slots_[i].pos != 0) {
            i = (i + 1) & mask;
        }
        slots_[i] = Slot{.xid = xid, .pos = static_cast<std::uint32_t>(index + 1)};
    }

    std::vector<Slot> slots_;
};

/// What a response time is counted under: the procedure, and for a COMPOUND its last op (0 for
/// the procedure as a whole). Kept apart from the accumulators (Conn::srt_keys), so finding a
/// key reads one line of keys instead of a line of every accumulator before it.
struct SrtKey {
    std::uint32_t prog = 0;
    std::uint32_t vers = 0;
    std::uint32_t proc = 0;
    std::uint32_t op = 0;
    friend bool operator==(const SrtKey&, const SrtKey&) = default;
};

/// The response times of one key (its SrtKey is at the same index of Conn::srt_keys). What
/// every sample updates is in the first line, so that a sample reads that line and its
/// histogram bucket's (and, among the first kSrtExact, the line it is kept in).
struct alignas(64) SrtAcc {
    std::uint64_t count = 0;
    double min = 0;
    double max = 0;
    std::uint64_t hist_total = 0;           // the sum of hist
    double fresh_sum = 0;                   // of the samples in fresh
    std::array<double, kSrtExact> first{};  // the first kSrtExact response times
    // Every response time, by log bucket (srt_log_bucket()). A bucket about to overflow halves
    // them all (the shape stays).
    std::array<std::uint16_t, kSrtLogBuckets> hist{};
    // Samples not yet given to take_activity(), by histogram bucket (op 0 entries only).
    std::array<std::uint32_t, kSrtBuckets> fresh{};
};

/// The log bucket of a response time (rpc_analyzer.h: kSrtBucketsPerOctave from
/// kSrtFloorSeconds), and the value a quantile in it is read as: its geometric middle.
[[nodiscard]] inline std::size_t srt_log_bucket(double seconds) noexcept {
    if (!(seconds > kSrtFloorSeconds)) {
        return 0;
    }
    const double b = std::log2(seconds / kSrtFloorSeconds) * kSrtBucketsPerOctave;
    return b >= static_cast<double>(kSrtLogBuckets - 1) ? kSrtLogBuckets - 1
                                                        : static_cast<std::size_t>(b);
}
[[nodiscard]] inline double srt_log_middle(std::size_t bucket) noexcept {
    return kSrtFloorSeconds * std::exp2((static_cast<double>(bucket) + 0.5) /
                                        static_cast<double>(kSrtBucketsPerOctave));
}

/// Counts response time `s`, whose srt_log_bucket() is `bucket`, in a (all but min, max and
/// count, which the caller keeps).
inline void add_response_time(SrtAcc& a, double s, std::size_t bucket) noexcept {
    if (a.count < kSrtExact) {
        a.first[a.count] = s;
    }
    std::uint16_t& n = a.hist[bucket];
    if (n == std::numeric_limits<std::uint16_t>::max()) {
        a.hist_total = 0;
        for (std::uint16_t& h : a.hist) {
            h = static_cast<std::uint16_t>(h / 2);
            a.hist_total += h;
        }
    }
    ++n;
    ++a.hist_total;
}

/// The count, min, median, p99 and max of a's response times (rpc_facts.cc).
[[nodiscard]] RpcLatency latency(const SrtAcc& a);

struct ProcCount {
    std::uint32_t prog = 0;
    std::uint32_t vers = 0;
    std::uint32_t proc = 0;
    std::uint64_t n = 0;
    std::uint64_t exported = 0;  // of n, given to take_activity()
};

/// Counts `key` in v; false (nothing counted) when v holds kMaxCountKeys other keys already.
[[nodiscard]] inline bool bump(std::vector<std::pair<std::uint32_t, std::uint64_t>>& v,
                               std::uint32_t key) {
    for (auto& [k, n] : v) {
        if (k == key) {
            ++n;
            return true;
        }
    }
    if (v.size() >= kMaxCountKeys) {
        return false;
    }
    v.emplace_back(key, 1);
    return true;
}

/// XIDs listed per connection (retransmitted, resent from an earlier connection): as many as
/// the report lists; the findings count the rest.
inline constexpr std::size_t kMaxListedXids = RpcFacts::kMaxRpcXidList;

/// Adds `xid` to `xids` once, while they hold fewer than kMaxListedXids.
inline void add_once(std::vector<std::uint32_t>& xids, std::uint32_t xid) {
    if (xids.size() < kMaxListedXids && std::find(xids.begin(), xids.end(), xid) == xids.end()) {
        xids.push_back(xid);
    }
}

/// Findings kept per verdict and connection: a connection can make one with every message (a
/// denial, an error, a resend), and the report lists each kept one. The rest are counted as
/// bound hits (RpcFacts::bounds_hit); the verdict stands.
inline constexpr std::size_t kMaxFindingsPerVerdict = RpcFacts::kMaxRpcXidList;

/// What an error reply counts under; labelled (RpcFacts::errors) only when decided.
using ErrorKind = RpcErrorKind;

struct ErrorCount {
    ErrorKind kind = ErrorKind::Accept;
    std::uint32_t code = 0;
    std::uint32_t detail = 0;  // Denied: the auth_stat of an AUTH_ERROR
    std::uint64_t n = 0;
    std::uint32_t prog = 0;      // the call's program
    std::uint64_t exported = 0;  // of n, given to take_activity()
};

// Evidence (rpc_evidence.cc).
inline constexpr std::size_t kCallSnapshots = 4;  // frames of unanswered calls kept
// Replies read before their call, held for it (EarlyReply); the oldest goes when more come.
inline constexpr std::size_t kEarlyReplies = 4;

// A reply that matched no call when it was read: its call may still come, read later although
// sent earlier (capture points read or written out of time order: a reply on eth0 before its
// call on flannel.1). Its record is copied (at most the stream's kept bytes); a call read later
// with its XID, from the other side and stamped no later, is answered by it then. A reply whose
// call is not in the capture (the capture began after it) is held until newer ones push it out.
// The record's views point into `bytes` (its head, then its tail): a move keeps them valid.
struct EarlyReply {
    std::vector<std::uint8_t> bytes;
    rpc::Record record;
    std::uint32_t xid = 0;
    bool from_client = false;
};
inline constexpr std::size_t kSnapshotBytes = 1024;  // bytes of such a frame kept
inline constexpr std::size_t kMaxRpcEvidence = 16;   // frames behind findings per connection
inline constexpr std::size_t kEvidencePerVerdict = 4;

/// Which call a snapshot slot holds (Conn::snapshot_tags): apart from the frames, so that the
/// reply that releases a slot reads one line of tags, not every slot's frame.
struct SnapshotTag {
    std::uint32_t xid = 0;
    bool used = false;
    bool from_client = true;
};

/// The frame of a call not yet answered, kept in case it stays so (its bytes reused); the
/// slot's tag (SnapshotTag, same index) says which call.
struct CallSnapshot {
    EvidenceFrame frame;
};

}  // namespace rpc_state

struct RpcAnalyzer::Impl {
    using CallRec = rpc_state::CallRec;
    using CallKey = rpc_state::CallKey;
    using PairKey = rpc_state::PairKey;

    struct Session {
        rpc::ChannelAttrs fore;
    };
    struct Conn;
    // Takes the records of one direction of a connection's stream into on_record().
    struct Sink final : rpc::RecordSink {
        Sink(Impl& i, Conn& c, bool client) noexcept : impl(&i), conn(&c), from_client(client) {}
        Impl* impl;
        Conn* conn;
        bool from_client;
        void on_record(const rpc::Record& record) noexcept override {
            try {
                impl->on_record(*conn, from_client, record);
            } catch (...) {
                ++conn->bounds_hit;  // an allocation failed: the record's facts are lost
            }
        }
    };

    // A segment reads the first lines and two of its direction's stream (prefetch()).
    struct Conn {
        static constexpr std::uint16_t kNoPoint = rpc_state::kNoPoint;
        static constexpr std::size_t kHotBytes = 640;  // covers the fields before `snapshots`
        // Connections and UDP flows in order of first sight: SegmentView::order (DatagramView::
        // order) + 1, so that 0 is none.
        std::uint64_t serial = 0;
        track::Endpoint client;
        track::Endpoint server;
        // Per stream: the highest acknowledgement of its bytes the other side sent, bare ACKs
        // included (acked_known bit 0: client->server, 1).
        std::array<std::uint32_t, 2> acked{};
        // The capture point that feeds each stream: the first to show that direction.
        std::array<std::uint16_t, 2> point{kNoPoint, kNoPoint};
        // Its analysis stopped because the state budget had no more for it (rpc_budget.cc). With
        // `point`, all a segment inside a record reads of the connection (its first line).
        bool shed = false;
        bool closed = false;
        // Bit 0 (client->server) and 1: the stream holds segments, waiting for the bytes before
        // them (RecordStream::holding()), so that an acknowledgement from the other side is
        // offered to it (RecordStream::acknowledged()) without reading it otherwise.
        std::uint8_t holding = 0;
        bool program_noted = false;
        bool session_reply = false;  // carried an establishment or a session error
        std::uint8_t acked_known = 0;
        std::uint8_t fin_seen = 0;  // bit 0: a FIN from the client (fin_seq[0]), 1: the server
        std::uint8_t versions = 0;  // bit 0: v3, bit 1 + minor: v4.minor
        // What each stream holds on the heap (RecordStream::memory_bytes()), as of its last
        // push, acknowledgement or finish: footprint() reads these, not the other stream's line.
        std::array<std::uint32_t, 2> stream_bytes{};
        std::uint64_t pair_hash = 0;  // of (client address, server ip:port): set_endpoints()
        // When an acknowledgement last went higher or a FIN came, in either direction: the
        // latest time a segment proved bytes of a stream sent (acked_beyond()).
        Timestamp acked_at;
        std::uint64_t calls = 0, replies = 0, calls_c2s = 0, calls_s2c = 0;
        std::uint64_t bounds_hit = 0, garbled = 0;
        // The calls of the connection, the oldest answered ones retired when it fills
        // (retire_answered()): retired_calls of them, all answered.
        std::vector<CallRec> calls_seen;
        std::uint64_t retired_calls = 0;
        std::size_t retire_at = kRetireCallsAt;
        rpc_state::XidIndex by_xid;  // into calls_seen
        std::vector<std::uint32_t> retransmitted, resent_earlier;
        std::vector<rpc_state::ProcCount> procs;
        std::vector<std::pair<std::uint32_t, std::uint64_t>> ops, cb_ops;
        std::vector<rpc_state::ErrorCount> errors;  // few keys: a linear search
        std::vector<rpc_state::SrtAcc> srt;
        std::vector<rpc_state::SrtKey> srt_keys;  // srt's keys, in its order: a linear search
        std::vector<RpcFinding> findings;
        std::vector<std::size_t> owner_groups;  // indices into Impl::owners
        // Live verdicts (rpc_live.cc): whether the connection is in Impl::live (listed on its
        // first call), and the first call not known to be answered.
        FlowId id = 0;
        bool listed = false;
        std::size_t pending_from = 0;
        // Evidence (rpc_evidence.cc): frames behind findings; frames of calls not yet answered;
        // the ops of the COMPOUND call being looked at.
        std::vector<EvidenceFrame> evidence;
        std::uint32_t call_op_count = 0;
        std::array<std::uint32_t, EvidenceNote::kMaxOps> call_ops{};
        bool active = false;  // a call or reply since the last take_activity()
        std::array<rpc_state::SnapshotTag, rpc_state::kCallSnapshots> snapshot_tags{};
        std::vector<rpc_state::EarlyReply> early_replies;  // at most kEarlyReplies
        // The state budget (rpc_budget.cc): heap bytes charged for the connection (its record
        // is charged apart), and of them the bytes its lists' elements hold (evidence and
        // snapshot frames).
        std::size_t charged = 0;
        std::size_t nested_bytes = 0;
        // The session this connection's SEQUENCE named last (find_session()): a connection
        // names one session, and the map lookup would read a dozen cold nodes per message.
        // `session` is its entry in Impl::sessions (nodes never move or go), or nullptr when
        // it was not there at generation `session_gen` (0: nothing cached).
        rpc::SessionId session_id{};
        std::uint64_t session_gen = 0;
        const Session* session = nullptr;
        // Last: the snapshots and each stream are a few hundred bytes; the fields above are what
        // every message reads (kHotBytes: on_segment() loads them when the segment may complete
        // a record; prefetch() loads the first line and the stream's first lines).
        std::array<rpc_state::CallSnapshot, rpc_state::kCallSnapshots> snapshots;
        std::array<rpc::RecordStream, 2> streams;  // [0] client->server, [1] server->client
        Timestamp closed_ts;                       // the last FIN or RST (on_close())
        std::array<std::uint32_t, 2> fin_seq{};    // each side's FIN's sequence number
        // Live verdicts, read at poll() only: the connection's place in Impl::live, findings
        // already looked at, verdict bits already flagged.
        std::size_t live_index = 0;
        std::size_t findings_polled = 0;
        std::uint32_t flagged = 0;
        // Per direction: records that did not parse (their header cut by the snaplen, or not
        // RPC), and the time of the latest: with the streams' own losses
        // (RecordStream::lost_until()), what a call's reply may have been lost in.
        std::array<std::uint64_t, 2> unparsed{};
        std::array<Timestamp, 2> unparsed_until{};
    };

    struct OwnerGroup {
        track::Endpoint server;
        std::string owner;
        std::vector<rpc_rules::OwnerEvent> events;
    };
    struct CrossCall {
        std::uint64_t serial = 0;
        Timestamp last;
    };

    RpcOptions options;
    ProgramObserver observer;
    // The state budget: the connection analysis's (share_state_budget()), else one of its own
    // without a limit. rpc_dropped: connections and UDP flows refused or shed for it.
    ByteBudget own_budget;
    ByteBudget* budget = &own_budget;
    std::uint64_t rpc_dropped = 0;
    FlowStorage<Conn> conns;
    // By FlowId: the connections the state budget had no room for (counted once, reported in
    // decide()). It grows only when one is refused, so a SYN flood adds nothing here.
    std::vector<bool> refused;
    Timestamp capture_end;
    std::uint64_t bounds_hit = 0;  // cross-connection tables full
    // The most recent kMaxCrossCalls calls and answers (rpc_recent.h: a full group forgets its
    // least recently used entry, counted as a bound hit).
    rpc_state::RecentTable<CallKey, CrossCall> cross_calls{kMaxCrossCalls};
    // (client, server, xid) -> latest serial answered
    rpc_state::RecentTable<CallKey, std::uint64_t> answered{kMaxCrossCalls};
    std::vector<OwnerGroup> owners;
    std::size_t owner_events = 0;
    std::map<PairKey, std::vector<rpc_rules::SessionEvent>> session_events;
    std::size_t session_event_count = 0;
    std::map<rpc::SessionId, Session> sessions;
    std::uint64_t sessions_gen = 1;  // counts the sessions added (Conn::session_gen)
    // Live verdicts (rpc_live.cc): connections that carried a call; owner presentations and
    // session events so far, and as of the last poll.
    std::vector<FlowId> live;
    std::uint64_t rule_events = 0;
    std::uint64_t rule_events_polled = 0;
    const SegmentView* segment = nullptr;  // the segment being pushed (rpc_evidence.cc)
    // Live metrics (rpc_activity.cc): whether to keep the activity of connections that leave,
    // and what they left since the last take_activity().
    bool keep_activity = false;
    RpcActivity left;

    // rpc_calls.cc
    void on_record(Conn& c, bool from_client, const rpc::Record& record);
    // The other side acknowledged bytes up to `ack` of the stream from the client (or to it).
    void acknowledged(Conn& c, bool from_client, std::uint32_t ack);
    // Delivers what the streams still hold (their gaps declared), before c is decided.
    void finish_streams(Conn& c);
    // What c's lists no longer hold of their elements' heap bytes (Conn::nested_bytes).
    static void unnest(Conn& c, std::size_t bytes) noexcept {
        c.nested_bytes -= std::min(c.nested_bytes, bytes);
    }
    void on_call(Conn& c, bool from_client, const rpc::Record& record, const rpc::Message& m);
    void on_reply(Conn& c, bool from_client, const rpc::Record& record, const rpc::Message& m);
    // Matches a reply to its call and takes its facts; false when no call has its XID.
    bool answer(Conn& c, bool from_client, const rpc::Record& record, const rpc::Message& m);
    void hold_early_reply(Conn& c, bool from_client, const rpc::Record& record, std::uint32_t xid);
    // After a call: the reply held for it, if one was read first, answers it now.
    void answer_early(Conn& c, bool call_from_client, const rpc::Record& call, std::uint32_t xid);
    static CallRec* call_record(Conn& c, bool from_client, const rpc::Record& record,
                                const rpc::Message& m, bool& again);
    static void count_procedure(Conn& c, const rpc::CallHeader& h);
    static void retire_answered(Conn& c);
    static void count_error(Conn& c, std::uint32_t prog, rpc_state::ErrorKind kind,
                            std::uint32_t code, std::uint32_t detail = 0);
    void add_srt(Conn& c, const CallRec& call, double s) const;
    static void add_finding(Conn& c, const RpcFinding& f);

    // rpc_nfs.cc
    void decode_call_args(Conn& c, bool from_client, const rpc::Record& record,
                          const rpc::Message& m, CallRec* rec);
    const Session* find_session(Conn& c, const rpc::SessionId& id);
    void check_request_size(Conn& c, const rpc::Record& record, std::uint32_t xid,
                            const rpc::SessionId& id);
    void decode_results(Conn& c, const rpc::Record& record, const rpc::Message& m,
                        const CallRec& call);
    void compound_rules(Conn& c, const rpc::Record& record, std::uint32_t xid, const CallRec& call,
                        const rpc::CompoundReply& r);

    // rpc_registry.cc
    // Sets the connection's client and server (and pair_hash, which call_key() needs).
    static void set_endpoints(Conn& c, const track::Endpoint& client,
                              const track::Endpoint& server) noexcept;
    static CallKey call_key(const Conn& c, bool from_client, std::uint32_t xid, std::uint32_t prog,
                            std::uint32_t vers, std::uint32_t proc) noexcept;
    [[nodiscard]] bool cross_connection_copy(Conn& c, bool from_client, const rpc::Message& m,
                                             const rpc::Record& record);
    void note_answered(const Conn& c, std::uint32_t xid);
    void present_owner(Conn& c, Bytes owner, const rpc::Verifier4& verifier, Timestamp ts);
    void session_event(Conn& c, Timestamp ts, bool establishment);
    void unanswered(Conn& c, RpcFacts& f);
    // rpc_unanswered (b): whether the answer key `k` (call_key(c, true, xid, 0, 0, 0)) was
    // answered on a connection later than `serial` (note_answered()).
    [[nodiscard]] bool answered_later_than(const CallKey& k, std::uint64_t serial) const noexcept;
    // Whether call k of c is unanswered when the capture runs until `end` (rpc_unanswered).
    [[nodiscard]] bool is_unanswered(const Conn& c, const CallRec& k, Timestamp end) const;
    // Whether bytes of the direction that answers call k were lost to the capture or the
    // reader at or after the call was first sent: its reply may be among them.
    [[nodiscard]] static bool reply_may_be_lost(const Conn& c, const CallRec& k) noexcept;
    // Bytes of stream `dir` sent past the last one the stream read, as the other side's
    // acknowledgements or the sender's FIN prove: bytes the capture lost at the stream's end
    // (0: none, or not known).
    [[nodiscard]] static std::uint32_t acked_unread(const Conn& c, std::size_t dir) noexcept;
    // Whether there are such bytes, acknowledged at or after `since`.
    [[nodiscard]] static bool acked_beyond(const Conn& c, std::size_t dir,
                                           Timestamp since) noexcept;
    // Notes the acknowledgement a segment from the other side of stream `dir` carries, and the
    // FIN of stream `dir` at sequence number `seq`.
    static void note_ack(Conn& c, std::size_t dir, std::uint32_t ack, Timestamp ts) noexcept;
    static void note_fin(Conn& c, std::size_t dir, std::uint32_t seq, Timestamp ts) noexcept;
    void collision_and_churn(Conn& c, RpcFacts& f);

    // rpc_facts.cc
    void facts(Conn& c, RpcFacts& f) const;

    // rpc_budget.cc
    [[nodiscard]] static std::size_t footprint(const Conn& c) noexcept;
    void account(Conn& c) noexcept;
    void shed(Conn& c) noexcept;
    // Gives back all c holds, `record` (its Conn or UdpFlow) included.
    void release(Conn& c, std::size_t record) noexcept;

    // rpc_analyzer.cc
    Conn* open(const SegmentView& s);
    void decide(Conn& c, ConnectionReport& r);

    // rpc_evidence.cc
    void snapshot_call(Conn& c, bool from_client, const rpc::Record& record, const rpc::Message& m);
    void release_snapshot(Conn& c, bool from_client, std::uint32_t xid) noexcept;
    void keep_findings(Conn& c, std::size_t first, bool from_client, const rpc::Record& record,
                       const rpc::Message& m);
    void add_evidence(const Conn& c, const RpcFacts& f, ConnectionReport& r) const;

    // rpc_activity.cc
    static void collect(Conn& c, RpcActivity& out);

    // rpc_live.cc
    void list_live(Conn& c);
    void unlist_live(Conn& c) noexcept;
    [[nodiscard]] std::uint32_t gained_bits(Conn& c, Timestamp now, bool rules_changed);

    // rpc_udp.cc: ONC RPC over UDP (the rules are in rpc_analyzer.h).
    struct UdpFlow {
        Conn conn;  // client, server, serial and the RPC facts; its streams stay unused
        std::uint64_t order = 0;
        Timestamp first;
        Timestamp last;
        std::uint64_t packets = 0;
        PointMask points = 0;                   // capture points (bit per point)
        std::array<std::uint32_t, 2> copies{};  // datagrams per direction: a copy's position
        std::size_t findings_polled = 0;        // findings when poll() last looked
        std::uint32_t emitted = 0;              // verdict bits poll() reported
        // The tunnel of the first tunnelled datagram, and the outer source ports per direction
        // (each change, at most kMaxSports).
        bool tunnelled = false;
        track::Endpoint outer_client;
        track::Endpoint outer_server;
        std::uint32_t vni = 0;
        std::array<std::vector<std::uint16_t>, 2> outer_sports;
        std::array<std::uint32_t, 2> sports_cut{};  // changes to a port beyond kMaxSports
    };
    struct PortQuery {  // a GETPORT/GETADDR call for a UDP service, awaiting its reply
        std::uint64_t serial = 0;
        std::uint32_t xid = 0;
    };
    struct UdpCounters {
        std::uint64_t datagrams = 0, flows = 0, evicted = 0, not_rpc = 0, ports_not_learned = 0;
        std::uint64_t alloc_failures = 0;
    };
    std::unordered_map<track::FlowKey, UdpFlow, track::FlowKeyHash> udp_flows;
    std::vector<std::pair<PointMask, ConnectionReport>> udp_decided;  // (points, report)
    std::array<std::uint64_t, 65536 / 64> learned_ports{};            // a bit per port
    std::size_t learned_count = 0;
    std::vector<PortQuery> port_queries;  // oldest first, at most kMaxPortQueries
    UdpCounters udp;

    bool on_datagram(const DatagramView& d);
    [[nodiscard]] bool udp_rpc_port(std::uint16_t port) const noexcept;
    void evict_udp();
    static void note_tunnel(UdpFlow& f, const DatagramView& d, bool from_client);
    ConnectionReport decide_udp(UdpFlow& f);
    void note_port_query(const Conn& c, const rpc::Message& m);
    void learn_port(const Conn& c, const CallRec& call, const rpc::Message& m);
};

static_assert(offsetof(RpcAnalyzer::Impl::Conn, snapshots) <= RpcAnalyzer::Impl::Conn::kHotBytes,
              "prefetch() loads the fields every message reads");

}  // namespace vxcheck::analyze

// Connection verdicts: flow management (lookup and insert, eviction when the table is full,
// idle expiry, live polling) and the order of the parts per packet. Per packet: find the
// innermost TCP segment (and the tunnel carrying it), update the connection's SYN attempts
// (syn_tracking.cc), tunnel context and NAT evidence (nat_tracking.cc) and the VTEP modes
// (vtep_modes.cc). When a connection is decided, the rules (rules.cc) turn those facts into
// verdicts; the report words them. A SYN with a new ISN on a closed 4-tuple starts a new
// connection; refused attempts are recorded across connections (refused.h) for
// nfs_endpoint_refused.

#include "vxcheck/analyze/connections.h"

#include <algorithm>
#include <functional>
#include <utility>

#include "capture_join.h"
#include "datagram.h"
#include "flow.h"
#include "nat_tracking.h"
#include "refused.h"
#include "syn_tracking.h"
#include "vtep_modes.h"
#include "vxcheck/analyze/rules.h"
#include "vxcheck/decode/icmp_quote.h"
#include "vxcheck/track/flow_table.h"
#include "vxcheck/wire.h"

namespace vxcheck::analyze {
namespace {

using decode::Proto;
using track::FlowKey;
using FlowTable = track::FlowTable<Flow>;

// Which side of the key is the client: the SYN's sender, the SYN-ACK's receiver, mid-stream the
// side talking to the watched server endpoint (port 2049 ...: issue 19's rule for connections
// without a SYN), or else the first packet's sender.
template <typename Watched>
void learn_client(Flow& f, const Segment& s, bool syn, bool ack, Watched&& watched) noexcept {
    if (f.client_known) {
        return;
    }
    if (syn && !ack) {
        f.client_is_lo = s.src_is_lo;
        f.client_known = true;
    } else if (syn && ack) {
        f.client_is_lo = !s.src_is_lo;
        f.client_known = true;
    } else if (watched(s.dst) && !watched(s.src)) {
        f.client_is_lo = s.src_is_lo;
    } else if (watched(s.src) && !watched(s.dst)) {
        f.client_is_lo = !s.src_is_lo;  // a packet from the server
    } else if (f.packets == 1) {
        f.client_is_lo = s.src_is_lo;
    }
}

// The captured payload of a segment: at most what the headers claim, within the frame.
Bytes payload_of(const Segment& s, Bytes frame) noexcept {
    if (s.payload_offset >= frame.size()) {
        return {};
    }
    return frame.subspan(s.payload_offset,
                         std::min<std::size_t>(s.payload, frame.size() - s.payload_offset));
}

}  // namespace

struct ConnectionAnalyzer::Impl {
    explicit Impl(ConnectionOptions o)
        : options(std::move(o)),
          vteps(options.max_vtep_pairs),
          evidence{.limit = options.evidence_budget_bytes},
          state(options.state_budget_bytes) {
        for (const std::uint16_t p : options.ports) {
            watched_ports[p / 64] |= std::uint64_t{1} << (p % 64);
        }
    }

    static constexpr bool kTakeEvidence = true;
    static constexpr std::size_t kMinDirtyLimit = 1024;

    ConnectionOptions options;
    // options.ports as a bit per port: two bit tests a packet instead of a search of the list.
    std::array<std::uint64_t, 65536 / 64> watched_ports{};
    std::vector<std::string> points;
    FlowTable flows;
    VtepModes vteps;
    std::vector<ConnectionReport> decided;
    std::vector<FlowKey> dirty;                // flows with a decisive event since the last poll()
    std::size_t dirty_limit = kMinDirtyLimit;  // compact_dirty() when dirty reaches it
    EvidenceBudget evidence;
    ByteBudget state;  // per-connection detail: the flows' lists and the plug-ins' state
    ConnectionStats stats;
    std::uint64_t next_order = 0;
    Timestamp now;
    std::uint64_t packets_since_sweep = 0;
    // The digest of a packet that comes without one. A member, not a local: a fresh one (or an
    // empty std::optional of one) is cleared whole, a few hundred bytes, for every packet.
    PacketDigest scratch;
    std::vector<ConnectionPlugin*> plugins;
    std::vector<FlowId> polled;  // poll_plugins()' list, kept for its capacity
    DatagramPlugins datagram_plugins;
    ConnectionStats reported;  // stats with the datagram plug-ins' counters, for stats()
    RefusedRegistry refused;
    HeldReports held;
    Flow* current = nullptr;  // the flow of the packet being analysed, once it has one

    [[nodiscard]] bool watched(const Segment& s) const noexcept {
        if (options.all_ports || watched_server_port(s.t.sport) || watched_server_port(s.t.dport)) {
            return true;
        }
        return options.loopback_proxy_ports &&
               (is_loopback_proxy(s.dst) || is_loopback_proxy(s.src));
    }

    // A server endpoint the analysis watches: a watched port, or a loopback proxy port.
    [[nodiscard]] bool watched_server(const track::Endpoint& e) const noexcept {
        return watched_server_port(e.port) ||
               (options.loopback_proxy_ports && is_loopback_proxy(e));
    }

    [[nodiscard]] bool watched_server_port(std::uint16_t port) const noexcept {
        return ((watched_ports[port / 64] >> (port % 64)) & 1U) != 0;
    }

    // The connection of a segment; `syn`: a SYN without ACK, which starts a new connection on a
    // closed 4-tuple (the old one is decided first, as an eviction decides it).
    Flow& flow_for(const Segment& s, bool syn) {
        const FlowKey& key = s.key;
        const std::uint64_t h = s.hash;
        if (Flow* f = flows.find(key, h)) {
            if (!syn || !comes_back(*f, s.t.seq)) [[likely]] {
                return *f;
            }
            decide_and_drop(*f);
            ++stats.reconnections;
        }
        if (flows.size() >= options.max_flows) {
            evict_one();
        }
        Flow& f = flows.insert(key, h);
        f.order = next_order++;
        f.queued_packets = 1;  // with the packet that creates it (on_tcp counts it)
        if (!plugins.empty()) {
            f.id = static_cast<FlowId>(flows.index_of(f));
        }
        ++stats.flows_created;
        stats.peak_flows = std::max<std::uint64_t>(stats.peak_flows, flows.size());
        return f;
    }

    // Tells the plug-ins that f leaves the table.
    void forget(const Flow& f) noexcept {
        for (ConnectionPlugin* p : plugins) {
            p->forget(f.id);
        }
    }

    // Decides f from its facts (no prose: the report words it) and drops it. A refused attempt
    // whose run may still grow waits in `held` (refused.h) for the rest of its run.
    void decide_and_drop(Flow& f) {
        ConnectionReport r = decide(f, kTakeEvidence);
        const Attempt* a = last_refused(f);
        if (a == nullptr || !refused.nfs_server(r.server)) {
            decided.push_back(std::move(r));
        } else if (!held.hold(f.order, a->isn, std::move(r))) {
            ++stats.refused_not_held;  // reported now, without waiting for the rest of its run
            decided.push_back(std::move(r));
        }
        forget(f);
        flows.erase(f);
    }

    // Decides and drops one flow: the oldest in the table's queue that had no packet since it
    // joined it. One that had rejoins at the newest end instead (a second chance, as a clock
    // hand gives): every such move is paid for by a packet, so an eviction costs O(1) amortised
    // and the packet path does no bookkeeping for it, and the flows kept are the active ones.
    void evict_one() {
        Flow* f = flows.oldest();
        while (f->packets != f->queued_packets) {
            f->queued_packets = f->packets;
            flows.requeue(*f);
            f = flows.oldest();
        }
        decide_and_drop(*f);
        ++stats.evicted;
    }

    // Decides and drops the flows idle longer than the timeout, from the oldest end of the
    // queue: an idle flow is dropped, one active since it joined rejoins at the newest end, and
    // the walk stops at the first that is neither (the flows behind it joined later). O(1)
    // amortised per packet, never a walk of the table; a flow is never expired before its idle
    // time is up, and at the latest once the flows queued before it have been idle as long.
    void expire_idle() {
        while (Flow* f = flows.oldest()) {
            if (seconds_between(f->last, now) > options.idle_timeout_s) {
                decide_and_drop(*f);
                ++stats.expired;
            } else if (f->packets != f->queued_packets) {
                f->queued_packets = f->packets;
                flows.requeue(*f);
            } else {
                break;
            }
        }
        datagram_plugins.expire(now, options.idle_timeout_s);
    }

    void on_tcp(const PacketDigest& d, const PacketContext& ctx) {
        const Segment& s = d.segment;
        const Observation o{.ctx = ctx,
                            .ts = d.ts,
                            .dirty = dirty,
                            .evidence = evidence,
                            .state = state,
                            .detail_dropped = stats.detail_dropped};
        ++stats.segments;
        const bool syn = (s.t.flags & decode::tcp_flag::kSyn) != 0;
        const bool ack = (s.t.flags & decode::tcp_flag::kAck) != 0;
        Flow& f = flow_for(s, syn && !ack);
        current = &f;
        if (f.packets == 0) {
            f.first = o.ts;
        }
        ++f.packets;
        f.last = o.ts;
        f.points |= point_bit(ctx.point);
        const bool rst = (s.t.flags & decode::tcp_flag::kRst) != 0;
        const bool fin = (s.t.flags & decode::tcp_flag::kFin) != 0;
        learn_client(f, s, syn, ack,
                     [this](const track::Endpoint& e) { return watched_server(e); });
        // s.src == f.client() (which side of the key each is; both, when they are one).
        const bool from_client = s.src_is_lo == f.client_is_lo || s.src == s.dst;
        if (from_client) {
            f.points_c2s |= point_bit(ctx.point);
        }
        add_history(f, event_of(syn, ack, rst, fin, s.payload), from_client);
        track_retransmission(f, s, ctx.point, from_client ? 0 : 1, s.payload);

        if (s.tunnelled) {
            on_outer(f, s, o, from_client, options);
        } else if (f.plain.size() < kMaxPlain &&
                   room_in(f, f.plain, kMaxPlain, o, kShareSightings)) {
            f.plain.push_back(
                PlainSighting{.ip_id = s.ip_id, .seq = s.t.seq, .point = ctx.point, .ts = o.ts});
        }
        if (syn && !ack) {
            on_syn(f, s, o);
        } else if (syn && ack) {
            if (const Attempt* a = on_syn_ack(f, s, o)) {
                refused.on_accepted(f.client(), f.server(), a->isn, a->tx.front().ts);
            }
        } else if (rst && !from_client) {
            if (const Attempt* a = on_rst(f, s, o); a != nullptr && !a->tx.empty()) {
                on_refused(f, *a, o);
            }
        }
        if (!plugins.empty()) [[unlikely]] {
            notify_plugins(f, s, o, from_client);
        }
    }

    // Records a refused attempt; when its run now has what the rule needs, the run's open
    // connections are marked for poll() to decide again (live: their verdict is new).
    void on_refused(Flow& f, const Attempt& a, const Observation& o) {
        if (!refused.on_refused(f.client(), f.server(), a.isn, a.tx.front().ts, f.key)) {
            ++stats.refused_not_recorded;
            return;
        }
        std::vector<FlowKey> run;
        if (!refused.facts(f.client(), f.server(), a.isn, &run)) {
            return;
        }
        for (const FlowKey& k : run) {
            if (Flow* other = flows.find(k); other != nullptr && other != &f) {
                mark_dirty(*other, o, false);
            }
        }
    }

    void notify_plugins(const Flow& f, const Segment& s, const Observation& o, bool from_client) {
        const SegmentView view{.flow = f.id,
                               .client = f.client(),
                               .server = f.server(),
                               .frame = o.ctx.packet.frame().number,
                               .from_client = from_client,
                               .seq = s.t.seq,
                               .ack = s.t.ack,
                               .flags = s.t.flags,
                               .claimed_payload = s.payload,
                               .payload = payload_of(s, o.ctx.packet.frame().data),
                               .ts = o.ts,
                               .point = o.ctx.point,
                               .raw = &o.ctx.packet.frame()};
        const bool rst = (s.t.flags & decode::tcp_flag::kRst) != 0;
        const bool fin = (s.t.flags & decode::tcp_flag::kFin) != 0;
        for (ConnectionPlugin* p : plugins) {
            p->on_segment(view);
            if (rst || fin) {
                p->on_close(f.id, rst ? CloseEvent::Rst : CloseEvent::Fin, from_client);
            }
        }
    }

    void on_icmp(const decode::DecodedPacket& pkt, std::size_t idx, const PacketContext& ctx,
                 Timestamp ts) {
        const decode::Layer& l = pkt.layers()[idx];
        const auto& icmp = std::get<decode::IcmpInfo>(l.info);
        const bool v4 = l.proto == Proto::Icmpv4;
        if (icmp.type != (v4 ? wire::kIcmpDestUnreachable : wire::kIcmpv6DestUnreachable)) {
            return;
        }
        const std::optional<decode::QuotedTcp> q = decode::quoted_tcp(l.bytes, !v4);
        if (!q) {
            return;
        }
        track::Endpoint src;
        track::Endpoint dst;
        src.addr = q->src;
        dst.addr = q->dst;
        src.v6 = dst.v6 = q->v6;
        src.port = q->sport;
        dst.port = q->dport;
        Flow* f = flows.find(FlowKey::of(src, dst));
        if (f == nullptr) {
            return;
        }
        current = f;
        on_icmp_unreachable(*f, q->seq, icmp.type, icmp.code,
                            Observation{.ctx = ctx,
                                        .ts = ts,
                                        .dirty = dirty,
                                        .evidence = evidence,
                                        .state = state,
                                        .detail_dropped = stats.detail_dropped});
    }

    void on_packet(const PacketContext& ctx) {
        const decode::DecodedPacket& pkt = ctx.packet;
        if (ctx.digest == nullptr) {
            digest(pkt, ctx.verdicts, scratch);
        }
        const PacketDigest& d = ctx.digest == nullptr ? scratch : *ctx.digest;
        now = d.ts;
        vteps.learn(pkt, ctx.verdicts, d);
        if (d.has_segment) {
            if (watched(d.segment)) {
                on_tcp(d, ctx);
            }
        } else if (d.icmp >= 0) {
            on_icmp(pkt, static_cast<std::size_t>(d.icmp), ctx, d.ts);
        } else if (!datagram_plugins.empty()) {  // a UDP datagram, maybe
            datagram_plugins.on_packet(ctx, d.ts, options.all_ports, watched_ports, next_order);
        }
        current = nullptr;  // a failure in the sweep costs no connection its detail
        if (dirty.size() >= dirty_limit) [[unlikely]] {
            compact_dirty();
        }
        if (++packets_since_sweep >= 65536) {
            packets_since_sweep = 0;
            expire_idle();
        }
    }

    // The dirty list keeps, once each, only the keys of tracked flows still marked: without
    // poll() (analyze) it would grow by a key for every connection ever marked. The next
    // compaction waits until the list has doubled, so each costs O(1) per key listed, and the
    // list stays below twice the flows tracked (ConnectionOptions::max_flows).
    void compact_dirty() noexcept {
        std::size_t kept = 0;
        for (const FlowKey& k : dirty) {
            Flow* f = flows.find(k);
            if (f != nullptr && f->dirty) {
                f->dirty = false;  // a second copy of the key is dropped
                dirty[kept++] = k;
            }
        }
        dirty.resize(kept);
        for (const FlowKey& k : dirty) {
            flows.find(k)->dirty = true;
        }
        dirty_limit = std::max(kMinDirtyLimit, 2 * kept);
    }

    // Lists for poll() the flows the plug-ins say may have gained a verdict.
    void poll_plugins(Timestamp when) {
        polled.clear();
        for (ConnectionPlugin* p : plugins) {
            p->poll(when, polled);
        }
        for (const FlowId id : polled) {
            if (id >= flows.capacity()) {
                continue;
            }
            Flow& f = flows.at(id);
            if (f.live && !f.dirty) {
                dirty.push_back(f.key);
                f.dirty = true;
                f.waiting = false;
            }
        }
    }

    std::vector<ConnectionReport> poll(Timestamp when, double settle_s) {
        if (!plugins.empty()) {
            poll_plugins(when);
        }
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
            ConnectionReport r = decide(f, !kTakeEvidence);
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
        datagram_plugins.poll(when, points, out);
        return out;
    }

    // From the parts' facts to the verdicts (rules.h); the evidence is taken (moved) when f
    // leaves the table next.
    ConnectionReport decide(Flow& f, bool take_evidence) {
        ConnectionReport r;
        r.client = f.client();
        r.server = f.server();
        r.packets = f.packets;
        r.first_ts = f.first;
        r.last_ts = f.last;
        r.history.assign(f.history.data(), f.history_len);
        r.retransmissions = f.retransmissions[0];
        r.retransmissions_reply = f.retransmissions[1];
        r.incomplete = f.incomplete;
        for (std::uint16_t p = 0; p < std::min<std::size_t>(points.size(), kMaxPoints); ++p) {
            if ((f.points & point_bit(p)) != 0) {
                r.points.push_back(points[p]);
            }
        }
        const SynFacts syn = decide_syns(f, r);
        describe_hops(f, r);
        decide_nat(f, vteps, options, r);
        if (const Attempt* a = last_refused(f)) {
            r.refused = refused.facts(f.client(), f.server(), a->isn);
        }
        r.verdicts = verdicts_of({.dropped = syn.dropped,
                                  .rejected = syn.rejected,
                                  .delayed = r.delay_s.has_value(),
                                  .inner_snat = static_cast<bool>(r.inner_snat),
                                  .outer_snat = static_cast<bool>(r.outer_snat),
                                  .corrupted = !r.corrupted.empty(),
                                  .endpoint_refused = r.refused.has_value()});
        if (take_evidence) {
            evidence.give_back(f.evidence);  // the table no longer holds them
            state.give_back(std::exchange(f.detail_bytes, 0));
            r.evidence = std::move(f.evidence);
        } else {
            r.evidence = f.evidence;
        }
        if (!plugins.empty()) {
            decide_plugins(f, r);  // may add evidence
        }
        return r;
    }

    // The plug-ins add their verdicts; the list stays in enum order, without Clean if any.
    void decide_plugins(const Flow& f, ConnectionReport& r) {
        for (ConnectionPlugin* p : plugins) {
            p->decide(f.id, r);
        }
        settle_verdicts(r.verdicts);
    }
};

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

void ConnectionAnalyzer::add_plugin(ConnectionPlugin& plugin) {
    impl_->plugins.push_back(&plugin);
    plugin.share_state_budget(impl_->state);
}

void ConnectionAnalyzer::add_datagram_plugin(DatagramPlugin& plugin) {
    impl_->datagram_plugins.add(plugin);
}

void ConnectionAnalyzer::note_rpc_program(const track::Endpoint& server, std::uint32_t program) {
    try {
        impl_->refused.note_program(server, program);
    } catch (...) {
        ++impl_->stats.alloc_failures;  // the server is not recorded
    }
}

void ConnectionAnalyzer::on_packet(const PacketContext& ctx) noexcept {
    try {
        impl_->current = nullptr;
        impl_->on_packet(ctx);
    } catch (...) {
        // Only allocation can fail here (a new flow, a list growing, an evidence copy): the rule
        // of connections.h applies.
        ++impl_->stats.alloc_failures;
        if (impl_->current != nullptr) {
            impl_->current->incomplete = true;
        }
    }
}

void ConnectionAnalyzer::prefetch(std::uint64_t flow_hash) const noexcept {
    // With plug-ins a segment also reads the flow's third line (Flow::id).
    impl_->flows.prefetch(flow_hash, impl_->plugins.empty() ? 2 : 3);
}

void ConnectionAnalyzer::prefetch_plugins(const Segment& s) const noexcept {
    if (impl_->plugins.empty() || s.payload == 0) {
        return;
    }
    if (const Flow* f = std::as_const(impl_->flows).find(s.key, s.hash)) {
        const bool from_client = s.src_is_lo == f->client_is_lo || s.src == s.dst;
        for (const ConnectionPlugin* p : impl_->plugins) {
            p->prefetch(f->id, from_client);
        }
    }
}

void ConnectionAnalyzer::prefetch_slot(std::uint64_t flow_hash) const noexcept {
    impl_->flows.prefetch_slot(flow_hash);
}

std::vector<ConnectionReport> ConnectionAnalyzer::take_decided() {
    std::vector<ConnectionReport> out = std::exchange(impl_->decided, {});
    impl_->datagram_plugins.take_decided(impl_->points, out);
    return out;
}

std::vector<ConnectionReport> ConnectionAnalyzer::poll(Timestamp now, double settle_s) {
    return impl_->poll(now, settle_s);
}

std::size_t ConnectionAnalyzer::open_connections() const noexcept {
    return impl_->flows.size();
}

// The connections decided early first, then the held ones, the UDP flows and those still
// tracked, by first packet (the held ones with what the whole capture shows of their runs). The
// tracked ones are decided one at a time as their turn comes, and handed over at once: a table
// of --max-flows connections is never a list of as many reports. (The UDP flows are decided
// first to know their turns; a TCP decision reads nothing they change.)
void ConnectionAnalyzer::finish(const std::function<void(ConnectionReport&)>& each) {
    for (ConnectionReport& r : take_decided()) {
        each(r);
    }
    std::vector<std::pair<std::uint64_t, ConnectionReport>> rest =
        impl_->held.take_all(impl_->refused);
    impl_->datagram_plugins.finish(impl_->points, rest);
    std::stable_sort(rest.begin(), rest.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
    std::vector<Flow*> order;
    order.reserve(impl_->flows.size());
    impl_->flows.for_each([&](Flow& f) { order.push_back(&f); });
    std::sort(order.begin(), order.end(),
              [](const Flow* a, const Flow* b) { return a->order < b->order; });
    auto next = rest.begin();
    for (Flow* f : order) {
        for (; next != rest.end() && next->first <= f->order; ++next) {
            each(next->second);
        }
        ConnectionReport r = impl_->decide(*f, Impl::kTakeEvidence);
        impl_->forget(*f);
        each(r);
    }
    for (; next != rest.end(); ++next) {
        each(next->second);
    }
    impl_->flows.clear();
}

std::vector<ConnectionReport> ConnectionAnalyzer::finish() {
    std::vector<ConnectionReport> out;
    finish([&out](ConnectionReport& r) { out.push_back(std::move(r)); });
    return out;
}

const ConnectionStats& ConnectionAnalyzer::stats() const noexcept {
    impl_->reported = impl_->datagram_plugins.with_stats(impl_->stats);
    impl_->reported.vtep_pairs_evicted = impl_->vteps.evicted();
    impl_->reported.evidence_frames_dropped = impl_->evidence.dropped;
    return impl_->reported;
}

std::size_t ConnectionAnalyzer::pending_dirty() const noexcept {
    return impl_->dirty.size();
}

std::size_t ConnectionAnalyzer::evidence_bytes() const noexcept {
    return impl_->evidence.used;
}

std::size_t ConnectionAnalyzer::state_bytes() const noexcept {
    return impl_->state.used();
}

std::size_t ConnectionAnalyzer::decided_waiting() const noexcept {
    return impl_->decided.size();
}

ConnectionReport ConnectionAnalyzer::keep_for_evidence_file(ConnectionReport& c) noexcept {
    return take_for_evidence_file(impl_->evidence, c);
}

}  // namespace vxcheck::analyze

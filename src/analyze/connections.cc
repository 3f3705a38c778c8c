// Connection verdicts, the per-packet path (connections_impl.h): flow management (lookup and
// insert, eviction when the table is full, idle expiry) and the order of the parts per packet. Per
// packet: find the innermost TCP segment (and the tunnel carrying it), update the connection's SYN
// attempts (syn_tracking.cc), tunnel context and NAT evidence (nat_tracking.cc) and the VTEP modes
// (vtep_modes.cc). When a connection is decided, the rules (rules.cc) turn those facts into
// verdicts; the report words them. A SYN with a new ISN on a closed 4-tuple starts a new
// connection; refused attempts are recorded across connections (refused.h) for
// nfs_endpoint_refused.

#include "vxcheck/analyze/connections.h"

#include <algorithm>
#include <functional>
#include <utility>

#include "connections_impl.h"
#include "nat_tracking.h"
#include "syn_tracking.h"
#include "vxcheck/decode/icmp_quote.h"
#include "vxcheck/wire.h"

namespace vxcheck::analyze {
namespace {

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

// The connection of a segment; `syn`: a SYN without ACK, which starts a new connection on a
// closed 4-tuple (the old one is decided first, as an eviction decides it).
Flow& ConnectionAnalyzer::Impl::flow_for(const Segment& s, bool syn) {
    const FlowKey& key = s.key;
    const std::uint64_t h = s.hash;
    if (Flow* f = flows.find(key, h)) {
        if (!syn || !comes_back(*f, s.t.seq)) [[likely]] {
            return *f;
        }
        decide_and_drop(*f, true);
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
void ConnectionAnalyzer::Impl::forget(const Flow& f) noexcept {
    for (ConnectionPlugin* p : plugins) {
        p->forget(f.id);
    }
}

// Decides f from its facts (no prose: the report words it) and drops it. A refused attempt
// whose run may still grow waits in `held` (refused.h) for the rest of its run; so does a
// connection whose 4-tuple came back when a plug-in may revise its verdicts with what the
// connections after it show (a call resent after the reconnect and answered there).
void ConnectionAnalyzer::Impl::decide_and_drop(Flow& f, bool came_back) {
    if (absorbed(f)) {
        drop_absorbed(f);
        return;
    }
    ConnectionReport r = decide(f, kTakeEvidence);
    const std::optional<std::uint32_t> refused_isn = last_refused(f);
    const bool refused_run = refused_isn && refused.nfs_server(r.server);
    const bool revisable =
        came_back && std::any_of(plugins.begin(), plugins.end(),
                                 [&](const ConnectionPlugin* p) { return p->revisable(r); });
    if (!refused_run && !revisable) {
        decided.push_back(std::move(r));
    } else if (!held.hold(f.order, refused_run ? *refused_isn : 0, std::move(r), refused_run)) {
        ++stats.refused_not_held;  // reported now, without its run or a plug-in's revision
        decided.push_back(std::move(r));
    }
    forget(f);
    nat.forget(f);
    flows.erase(f);
}

// Decides and drops one flow: the oldest in the table's queue that had no packet since it
// joined it. One that had rejoins at the newest end instead (a second chance, as a clock
// hand gives): every such move is paid for by a packet, so an eviction costs O(1) amortised
// and the packet path does no bookkeeping for it, and the flows kept are the active ones.
void ConnectionAnalyzer::Impl::evict_one() {
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
void ConnectionAnalyzer::Impl::expire_idle() {
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

void ConnectionAnalyzer::Impl::on_tcp(const PacketDigest& d, const PacketContext& ctx) {
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
        f.first_sec = o.ts.sec;
        f.first_nsec = o.ts.nsec;
    }
    ++f.packets;
    f.last = o.ts;
    f.points |= point_bit(ctx.point);
    if (!followed(ctx.point)) [[unlikely]] {
        f.unfollowed = true;
    }
    const bool rst = (s.t.flags & decode::tcp_flag::kRst) != 0;
    const bool fin = (s.t.flags & decode::tcp_flag::kFin) != 0;
    learn_client(f, s, syn, ack, [this](const track::Endpoint& e) { return watched_server(e); });
    // s.src == f.client() (which side of the key each is; both, when they are one).
    const bool from_client = s.src_is_lo == f.client_is_lo || s.src == s.dst;
    if (from_client) {
        f.points_c2s |= point_bit(ctx.point);
    }
    // A segment whose flags the snaplen cut off is no event: not a SYN, an answer, a close or
    // data (its flags read 0 and its payload 0). It still shows the connection, its ports and
    // tunnel; the report says that the SYN story of such segments could not be decided.
    const bool flags_known = s.t.flags_known();
    if (flags_known) [[likely]] {
        add_history(f, event_of(syn, ack, rst, fin, s.payload), from_client);
        track_retransmission(f, s, ctx.point, from_client ? 0 : 1, s.payload);
    } else {
        FlowCold& c = make_cold(f);
        ++c.flags_not_captured;
        c.flags_snaplen = std::max(c.flags_snaplen, ctx.packet.frame().caplen);
    }

    if (s.tunnelled) {
        on_outer(f, s, o, from_client, options);
    } else {
        note_sighting(f, s, o);
    }
    if (nat.observing()) {
        nat.on_ack(f, s, from_client);
        if (s.payload != 0) {
            nat.on_data(f, s, o, from_client);
            if (from_client) {
                nat.on_data_join(f, s, o, flows);
            }
        }
    }
    if (syn && !ack) {
        on_syn(f, s, o);
        if (from_client) {
            nat.on_syn(f, s, o, flows);
        }
    } else if (syn && ack) {
        if (const std::optional<AttemptStart> a = on_syn_ack(f, s, o)) {
            refused.on_accepted(f.client(), f.server(), a->isn, a->first_ts);
        }
    } else if (rst && !from_client) {
        if (const std::optional<AttemptStart> a = on_rst(f, s, o)) {
            on_refused(f, *a, o);
        }
    }
    if (!plugins.empty() && flags_known) [[unlikely]] {
        notify_plugins(f, s, o, from_client);
    }
}

// Records a refused attempt; when its run now has what the rule needs, the run's open
// connections are marked for poll() to decide again (live: their verdict is new).
void ConnectionAnalyzer::Impl::on_refused(Flow& f, const AttemptStart& a, const Observation& o) {
    if (!refused.on_refused(f.client(), f.server(), a.isn, a.first_ts, f.key)) {
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

void ConnectionAnalyzer::Impl::notify_plugins(Flow& f, const Segment& s, const Observation& o,
                                              bool from_client) {
    constexpr std::uint8_t kControl =
        decode::tcp_flag::kSyn | decode::tcp_flag::kFin | decode::tcp_flag::kRst;
    if (s.payload == 0 && (s.t.flags & kControl) == 0) {
        const BareAck a{.flow = f.id,
                        .from_client = from_client,
                        .has_ack = (s.t.flags & decode::tcp_flag::kAck) != 0,
                        .ack = s.t.ack,
                        .ts = o.ts};
        for (ConnectionPlugin* p : plugins) {
            p->on_bare_ack(a);
        }
        return;
    }
    if ((s.t.flags & decode::tcp_flag::kSyn) != 0) {
        f.starts.on_syn(from_client, s.t.seq, o.ctx.point);
    }
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
                           .raw = &o.ctx.packet.frame(),
                           .order = f.order,
                           .starts = f.starts};
    const bool rst = (s.t.flags & decode::tcp_flag::kRst) != 0;
    const bool fin = (s.t.flags & decode::tcp_flag::kFin) != 0;
    for (ConnectionPlugin* p : plugins) {
        p->on_segment(view);
        if (rst || fin) {
            p->on_close(f.id, rst ? CloseEvent::Rst : CloseEvent::Fin, from_client);
        }
    }
}

void ConnectionAnalyzer::Impl::on_icmp(const decode::DecodedPacket& pkt, std::size_t idx,
                                       const PacketContext& ctx, Timestamp ts) {
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

void ConnectionAnalyzer::Impl::on_packet(const PacketContext& ctx) {
    const decode::DecodedPacket& pkt = ctx.packet;
    if (ctx.digest == nullptr) {
        digest(pkt, ctx.verdicts, scratch);
    }
    const PacketDigest& d = ctx.digest == nullptr ? scratch : *ctx.digest;
    now = d.ts;
    if (!followed(ctx.point)) [[unlikely]] {
        note_unfollowed(ctx.point);
    }
    vteps.learn(pkt, ctx.verdicts, d);
    if (nat.observing()) {
        nat.observe(ctx, d);
    }
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

void ConnectionAnalyzer::Impl::note_unfollowed(std::uint16_t point) {
    const std::size_t i = point - kMaxPoints;
    if (i >= unfollowed.size()) {
        unfollowed.resize(i + 1);  // once per point: add_point() reserves the room
    }
    if (!unfollowed[i]) {
        unfollowed[i] = true;
        ++stats.points_not_followed;
    }
}

ConnectionAnalyzer::ConnectionAnalyzer(ConnectionOptions options)
    : impl_(std::make_unique<Impl>(std::move(options))) {}

ConnectionAnalyzer::~ConnectionAnalyzer() = default;

std::uint16_t ConnectionAnalyzer::add_point(std::string name) {
    impl_->points.push_back(std::move(name));
    if (impl_->points.size() > kMaxPoints) {
        impl_->unfollowed.resize(impl_->points.size() - kMaxPoints);
    }
    // From the first point on: files are read one after another, and the first one's SYNs must
    // be in the index when a later file has the same SYN under another tuple.
    impl_->nat.enable(impl_->options);
    impl_->nat.add_point();
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

}  // namespace vxcheck::analyze

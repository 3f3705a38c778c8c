// The ConnectionPlugin entry points of the RPC analyzer: segments feed the per-direction
// record streams; a connection's facts and verdicts are built when it is decided.

#include "vxcheck/analyze/rpc_analyzer.h"

#include <utility>

#include "rpc_state.h"
#include "vxcheck/decode/packet.h"
#include "vxcheck/prefetch.h"

namespace vxcheck::analyze {

using rpc_state::feeds;
using rpc_state::later_of;

void RpcAnalyzer::Impl::decide(Conn& c, ConnectionReport& r) {
    RpcFacts f;
    facts(c, f);
    if (!r.one_way_before_nat) {
        unanswered(c, f);  // a point that sees no reply of the connection proves none missing
    }
    collision_and_churn(c, f);
    for (const RpcFinding& x : f.findings) {
        r.verdicts.push_back(x.verdict);
    }
    if (f.collision) {
        r.verdicts.push_back(Verdict::NfsClientidCollision);
    }
    if (f.churn) {
        r.verdicts.push_back(Verdict::NfsSessionChurn);
    }
    add_evidence(c, f, r);
    r.rpc = std::move(f);
    r.incomplete = r.incomplete || c.shed;  // the state budget cost it the rest of its RPC
}

RpcAnalyzer::RpcAnalyzer(RpcOptions options, ProgramObserver observer)
    : impl_(std::make_unique<Impl>()) {
    impl_->options = options;
    impl_->observer = std::move(observer);
}

RpcAnalyzer::~RpcAnalyzer() = default;

// A connection's RPC state is made at its first payload, from what the connection analysis
// hands over with it: where each direction's stream starts (SegmentView::starts, from the SYNs)
// and its place in the order of first sight (SegmentView::order). A SYN before that changes
// nothing here, so connections that never carry data (a SYN flood, refused attempts) cost
// nothing.
//
// One capture point per direction feeds its stream: the same segment seen again at another point
// (node and pod, both ends of a tunnel) carries no new message, and its SYN must not restart the
// stream.
void RpcAnalyzer::on_segment(const SegmentView& s) {
    Impl& im = *impl_;
    later_of(im.capture_end, s.ts);
    const std::size_t dir = s.from_client ? 0 : 1;
    Impl::Conn* c = im.conns.find(s.flow);
    if ((s.flags & decode::tcp_flag::kSyn) != 0) {
        if (c != nullptr && feeds(c->point[dir], s.point)) {
            c->streams[dir].start(s.seq + 1);
        }
        return;
    }
    if (c != nullptr) {
        if ((s.flags & decode::tcp_flag::kFin) != 0) {
            Impl::note_fin(*c, dir, s.seq + s.claimed_payload, s.ts);
        }
        if ((s.flags & decode::tcp_flag::kAck) != 0) {
            Impl::note_ack(*c, dir ^ 1U, s.ack, s.ts);
            if ((c->holding & (2U >> dir)) != 0 && !c->shed) {
                im.acknowledged(*c, !s.from_client, s.ack);
            }
        }
    }
    if (s.payload.empty()) {
        return;
    }
    if (c == nullptr && (c = im.open(s)) == nullptr) {
        return;  // the state budget has no room for it
    }
    if (c->shed || !feeds(c->point[dir], s.point)) {
        return;
    }
    Impl::Sink sink(im, *c, s.from_client);
    im.segment = &s;
    rpc::RecordStream& stream = c->streams[dir];
    if (stream.may_complete(s.claimed_payload)) {
        const auto* p = reinterpret_cast<const char*>(c);
        for (std::size_t off = 64; off < Impl::Conn::kHotBytes; off += 64) {
            prefetch_line(p + off);
        }
    }
    const std::uint64_t records = stream.counters().records;
    stream.push({.seq = s.seq,
                 .payload = s.payload,
                 .claimed_len = s.claimed_payload,
                 .ts = s.ts,
                 .frame = s.frame},
                sink);
    im.segment = nullptr;
    if (stream.holding()) {
        c->holding = static_cast<std::uint8_t>(c->holding | (1U << dir));
    }
    // Only a record (its facts, findings and frames) or a stream buffer grows what the
    // connection holds: a segment inside a record leaves the lists alone, and footprint() would
    // read every one of them.
    const auto stream_bytes = static_cast<std::uint32_t>(stream.memory_bytes());
    if (stream.counters().records != records || stream_bytes != c->stream_bytes[dir]) {
        c->stream_bytes[dir] = stream_bytes;
        im.account(*c);
    }
}

// A bare ACK may be all that shows bytes lost at the end of the other side's stream (a reply
// dropped by the capture, the client silent after it).
void RpcAnalyzer::on_bare_ack(const BareAck& a) noexcept {
    later_of(impl_->capture_end, a.ts);
    if (a.has_ack) {
        if (Impl::Conn* c = impl_->conns.find(a.flow)) {
            Impl::note_ack(*c, a.from_client ? 1U : 0U, a.ack, a.ts);
        }
    }
}

// A segment held past a gap waits for the bytes before it; once the other side acknowledges
// them, they reached it without being captured (a drop in the capture, or a point that missed
// them), and waiting longer only delays the replies held behind them until the connection is
// decided. Only a stream that holds segments is offered the acknowledgement: a capture may show
// an acknowledgement before the data it covers (two points), and without data captured beyond
// the gap nothing says the bytes are lost.
void RpcAnalyzer::Impl::acknowledged(Conn& c, bool from_client, std::uint32_t ack) {
    const std::size_t dir = from_client ? 0 : 1;
    Sink sink(*this, c, from_client);
    c.streams[dir].acknowledged(ack, sink);
    if (!c.streams[dir].holding()) {
        c.holding = static_cast<std::uint8_t>(c.holding & ~(1U << dir));
    }
    c.stream_bytes[dir] = static_cast<std::uint32_t>(c.streams[dir].memory_bytes());
}

void RpcAnalyzer::Impl::finish_streams(Conn& c) {
    for (std::size_t dir = 0; dir < 2; ++dir) {
        if ((c.holding & (1U << dir)) != 0) {
            Sink sink(*this, c, dir == 0);
            c.streams[dir].finish(sink);
            c.stream_bytes[dir] = static_cast<std::uint32_t>(c.streams[dir].memory_bytes());
        }
    }
    c.holding = 0;
}

// nullptr when the state budget has no room for the connection's record (counted once).
RpcAnalyzer::Impl::Conn* RpcAnalyzer::Impl::open(const SegmentView& s) {
    if (s.flow < refused.size() && refused[s.flow]) {
        return nullptr;
    }
    if (!budget->take_within(sizeof(Conn), kShareRpc)) {
        if (s.flow >= refused.size()) {
            refused.resize(std::size_t{s.flow} + 1);
        }
        refused[s.flow] = true;
        ++rpc_dropped;
        return nullptr;
    }
    Conn* made = nullptr;
    try {
        made = &conns.get(s.flow);
    } catch (...) {
        budget->give_back(sizeof(Conn));
        throw;
    }
    Conn& c = *made;
    c.id = s.flow;
    set_endpoints(c, s.client, s.server);
    c.serial = s.order + 1;
    c.point = s.starts.point;
    for (std::size_t dir = 0; dir < 2; ++dir) {
        if (c.point[dir] != Conn::kNoPoint) {
            c.streams[dir].start(s.starts.next[dir]);
        }
    }
    return &c;
}

// closed_ts is the last FIN or RST: a call sent after one side's FIN (a half-close) is still
// followed by the close of the other side, and rpc_unanswered (c) counts a close after the call.
void RpcAnalyzer::on_close(FlowId flow, CloseEvent e, bool from_client) {
    (void)e, (void)from_client;
    if (Impl::Conn* c = impl_->conns.find(flow); c != nullptr) {
        c->closed = true;
        c->closed_ts = impl_->capture_end;
    }
}

// An acknowledgement only goes up (a lower one is a reordered or repeated segment).
void RpcAnalyzer::Impl::note_ack(Conn& c, std::size_t dir, std::uint32_t ack,
                                 Timestamp ts) noexcept {
    const auto bit = static_cast<std::uint8_t>(1U << dir);
    if ((c.acked_known & bit) == 0 || static_cast<std::int32_t>(ack - c.acked[dir]) > 0) {
        c.acked[dir] = ack;
        c.acked_known = static_cast<std::uint8_t>(c.acked_known | bit);
        later_of(c.acked_at, ts);
    }
}

// A FIN's sequence number follows the last data byte its side sent.
void RpcAnalyzer::Impl::note_fin(Conn& c, std::size_t dir, std::uint32_t seq,
                                 Timestamp ts) noexcept {
    c.fin_seen = static_cast<std::uint8_t>(c.fin_seen | (1U << dir));
    c.fin_seq[dir] = seq;
    later_of(c.acked_at, ts);
}

// Before the last decision the streams let go of what they hold: their gaps are declared, and
// the records behind them delivered (a live decision leaves them waiting for the bytes).
void RpcAnalyzer::ending(FlowId flow) {
    if (Impl::Conn* c = impl_->conns.find(flow)) {
        impl_->finish_streams(*c);
    }
}

void RpcAnalyzer::decide(FlowId flow, ConnectionReport& r) {
    // Every connection gets `rpc` (zeros without RPC), as issue 19 item 4 asks.
    if (Impl::Conn* c = impl_->conns.find(flow)) {
        impl_->decide(*c, r);
    } else {
        r.rpc.emplace();
        if (flow < impl_->refused.size() && impl_->refused[flow]) {
            r.rpc->bounds_hit = 1;  // not analysed: the state budget had no room for it
            r.incomplete = true;
        }
    }
}

void RpcAnalyzer::forget(FlowId flow) noexcept {
    if (Impl::Conn* c = impl_->conns.find(flow)) {
        impl_->release(*c, sizeof(Impl::Conn));
        impl_->unlist_live(*c);
        if (impl_->keep_activity && c->active) {
            try {
                Impl::collect(*c, impl_->left);
            } catch (...) {
                ++impl_->bounds_hit;  // its last activity is not in the metrics
            }
        }
    }
    impl_->conns.erase(flow);
    if (flow < impl_->refused.size()) {
        impl_->refused[flow] = false;
    }
}

// Most segments of an NFS connection lie inside a record (the data of a READ reply or a WRITE
// call): they read the connection's first line and their stream. The lines a message reads are
// loaded by on_segment() once the stream says the segment may complete one.
void RpcAnalyzer::prefetch(FlowId flow, bool from_client) const noexcept {
    if (const Impl::Conn* c = impl_->conns.find(flow)) {
        prefetch_line(c);
        c->streams[from_client ? 0 : 1].prefetch();
    }
}

}  // namespace vxcheck::analyze

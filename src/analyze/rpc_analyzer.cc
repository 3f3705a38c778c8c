// The ConnectionPlugin entry points of the RPC analyzer: segments feed the per-direction
// record streams; a connection's facts and verdicts are built when it is decided.

#include "vxcheck/analyze/rpc_analyzer.h"

#include <utility>

#include "rpc_state.h"
#include "vxcheck/decode/packet.h"
#include "vxcheck/prefetch.h"

namespace vxcheck::analyze {

using rpc_state::before;

void RpcAnalyzer::Impl::decide(Conn& c, ConnectionReport& r) {
    RpcFacts f;
    facts(c, f);
    unanswered(c, f);
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
    r.rpc = std::move(f);
}

RpcAnalyzer::RpcAnalyzer(RpcOptions options, ProgramObserver observer)
    : impl_(std::make_unique<Impl>()) {
    impl_->options = options;
    impl_->observer = std::move(observer);
}

RpcAnalyzer::~RpcAnalyzer() = default;

// A connection's RPC state is made at its first payload: a SYN only notes where each direction's
// stream starts (Impl::Opening), so connections that never carry data (a SYN flood, refused
// attempts) cost a few bytes here, not a Conn.
void RpcAnalyzer::on_segment(const SegmentView& s) {
    Impl& im = *impl_;
    if (before(im.capture_end, s.ts)) {
        im.capture_end = s.ts;
    }
    const std::size_t dir = s.from_client ? 0 : 1;
    Impl::Conn* c = im.conns.find(s.flow);
    if ((s.flags & decode::tcp_flag::kSyn) != 0) {
        if (c != nullptr) {
            c->streams[dir].start(s.seq + 1);
        } else {
            im.note_syn(s.flow, dir, s.seq + 1);
        }
        return;
    }
    if (s.payload.empty()) {
        return;
    }
    if (c == nullptr) {
        c = &im.open(s);
    }
    Impl::Sink sink;
    sink.impl = &im;
    sink.conn = c;
    sink.from_client = s.from_client;
    c->streams[dir].push({.seq = s.seq,
                          .payload = s.payload,
                          .claimed_len = s.claimed_payload,
                          .ts = s.ts,
                          .frame = s.frame},
                         sink);
}

void RpcAnalyzer::Impl::note_syn(FlowId flow, std::size_t dir, std::uint32_t start) {
    if (flow >= openings.size()) {
        openings.resize(std::size_t{flow} + 1);
    }
    Opening& o = openings[flow];
    if (o.serial == 0) {
        o.serial = ++next_serial;
    }
    o.start[dir] = start;
    o.known |= static_cast<std::uint8_t>(1U << dir);
}

RpcAnalyzer::Impl::Conn& RpcAnalyzer::Impl::open(const SegmentView& s) {
    Conn& c = conns.get(s.flow);
    c.client = s.client;
    c.server = s.server;
    if (s.flow < openings.size() && openings[s.flow].serial != 0) {
        const Opening o = std::exchange(openings[s.flow], {});
        c.serial = o.serial;
        for (std::size_t dir = 0; dir < 2; ++dir) {
            if ((o.known & (1U << dir)) != 0) {
                c.streams[dir].start(o.start[dir]);
            }
        }
    } else {
        c.serial = ++next_serial;
    }
    return c;
}

void RpcAnalyzer::on_close(FlowId flow, CloseEvent e, bool from_client) {
    (void)e, (void)from_client;
    if (Impl::Conn* c = impl_->conns.find(flow); c != nullptr && !c->closed) {
        c->closed = true;
        c->closed_ts = impl_->capture_end;
    }
}

void RpcAnalyzer::decide(FlowId flow, ConnectionReport& r) {
    // Every connection gets `rpc` (zeros without RPC), as issue 19 item 4 asks.
    if (Impl::Conn* c = impl_->conns.find(flow)) {
        impl_->decide(*c, r);
    } else {
        r.rpc.emplace();
    }
}

void RpcAnalyzer::forget(FlowId flow) noexcept {
    impl_->conns.erase(flow);
    if (flow < impl_->openings.size()) {
        impl_->openings[flow] = {};
    }
}

void RpcAnalyzer::prefetch(FlowId flow, bool from_client) const noexcept {
    if (const Impl::Conn* c = impl_->conns.find(flow)) {
        prefetch_line(c);
        c->streams[from_client ? 0 : 1].prefetch();
    }
}

}  // namespace vxcheck::analyze

// The ConnectionPlugin entry points of the RPC analyzer: segments feed the per-direction
// record streams; a connection's facts and verdicts are built when it is decided.

#include "vxcheck/analyze/rpc_analyzer.h"

#include "rpc_state.h"
#include "vxcheck/decode/packet.h"

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
    add_evidence(c, f, r);
    r.rpc = std::move(f);
}

RpcAnalyzer::RpcAnalyzer(RpcOptions options, ProgramObserver observer)
    : impl_(std::make_unique<Impl>()) {
    impl_->options = options;
    impl_->observer = std::move(observer);
}

RpcAnalyzer::~RpcAnalyzer() = default;

void RpcAnalyzer::on_segment(const SegmentView& s) {
    Impl& im = *impl_;
    if (before(im.capture_end, s.ts)) {
        im.capture_end = s.ts;
    }
    const bool syn = (s.flags & decode::tcp_flag::kSyn) != 0;
    if (s.payload.empty() && !syn) {
        return;
    }
    Impl::Conn& c = im.conns.get(s.flow);
    if (c.serial == 0) {
        c.serial = ++im.next_serial;
        c.id = s.flow;
        c.client = s.client;
        c.server = s.server;
    }
    const std::size_t dir = s.from_client ? 0 : 1;
    if (syn) {
        c.streams[dir].start(s.seq + 1);
        return;
    }
    Impl::Sink sink;
    sink.impl = &im;
    sink.conn = &c;
    sink.from_client = s.from_client;
    im.segment = &s;
    c.streams[dir].push({.seq = s.seq,
                         .payload = s.payload,
                         .claimed_len = s.claimed_payload,
                         .ts = s.ts,
                         .frame = s.frame},
                        sink);
    im.segment = nullptr;
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
    if (Impl::Conn* c = impl_->conns.find(flow)) {
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
}

}  // namespace vxcheck::analyze

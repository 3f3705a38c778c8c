// RPC activity for live metrics (RpcAnalyzer::take_activity): per connection, the calls, error
// replies and service response times counted since the last take, as typed keys. The per-reply
// cost is a histogram bucket bumped in the connection's SRT entry (add_srt); the rest happens
// when the activity is taken (every 100 ms in `capture`) or when a connection leaves.

#include <algorithm>

#include "rpc_state.h"

namespace vxcheck::analyze {

std::size_t srt_bucket(double seconds) noexcept {
    const auto* it = std::lower_bound(kSrtBucketBounds.begin(), kSrtBucketBounds.end(), seconds);
    return static_cast<std::size_t>(it - kSrtBucketBounds.begin());
}

void RpcAnalyzer::Impl::collect(Conn& c, RpcActivity& out) {
    for (rpc_state::ProcCount& p : c.procs) {
        if (p.n != p.exported) {
            out.calls.push_back(
                {.prog = p.prog, .vers = p.vers, .proc = p.proc, .n = p.n - p.exported});
            p.exported = p.n;
        }
    }
    for (rpc_state::ErrorCount& e : c.errors) {
        if (e.n != e.exported) {
            out.errors.push_back({.prog = e.prog,
                                  .kind = e.kind,
                                  .code = e.code,
                                  .detail = e.detail,
                                  .n = e.n - e.exported});
            e.exported = e.n;
        }
    }
    for (std::size_t i = 0; i < c.srt.size(); ++i) {
        rpc_state::SrtAcc& a = c.srt[i];
        const rpc_state::SrtKey& k = c.srt_keys[i];
        if (k.op != 0 ||
            std::all_of(a.fresh.begin(), a.fresh.end(), [](std::uint32_t n) { return n == 0; })) {
            continue;
        }
        RpcActivity::Srt& s = out.srt.emplace_back();
        s.prog = k.prog;
        s.vers = k.vers;
        s.proc = k.proc;
        std::copy(a.fresh.begin(), a.fresh.end(), s.buckets.begin());
        s.sum = a.fresh_sum;
        a.fresh = {};
        a.fresh_sum = 0;
    }
    c.active = false;
}

void RpcAnalyzer::keep_activity() noexcept {
    impl_->keep_activity = true;
}

void RpcAnalyzer::take_activity(RpcActivity& out) {
    Impl& im = *impl_;
    const auto append = [](auto& to, auto& from) {
        to.insert(to.end(), from.begin(), from.end());
        from.clear();
    };
    append(out.calls, im.left.calls);
    append(out.errors, im.left.errors);
    append(out.srt, im.left.srt);
    for (const FlowId id : im.live) {
        if (Impl::Conn* c = im.conns.find(id); c != nullptr && c->active) {
            Impl::collect(*c, out);
        }
    }
}

}  // namespace vxcheck::analyze

// What a connection's RPC state costs the state budget (ConnectionOptions::state_budget_bytes,
// shared with the flows' lists), and what happens when the budget has no more for it.
//
// Rules:
// - A connection's RPC state is charged at its first payload (its record: a Conn, or a UdpFlow
//   for a flow over UDP) and after each
//   segment or datagram for whatever its lists, buffers and frames grew by (footprint()); what
//   it lets go of is given back then, and all of it when the connection leaves.
// - The RPC state fills at most three quarters of the budget (budget.h: kShareRpc), so SYN
//   history, which the main verdicts need, always has room.
// - A connection whose record does not fit is not analysed for RPC (counted once); one whose
//   growth does not fit is shed: its record buffers, held segments and held call frames are
//   let go, what it already counted (calls, replies, errors, findings) stays for its report,
//   and nothing more of it is read (counted once, and in the connection's RPC bounds_hit).
//   A connection keeps at most what one segment added above the limit: the budget is exceeded
//   by at most one segment's growth of one connection.

#include "rpc_state.h"

namespace vxcheck::analyze {

std::size_t RpcAnalyzer::Impl::footprint(const Conn& c) noexcept {
    return heap_bytes(c.calls_seen) + c.by_xid.memory_bytes() + heap_bytes(c.retransmitted) +
           heap_bytes(c.resent_earlier) + heap_bytes(c.procs) + heap_bytes(c.ops) +
           heap_bytes(c.cb_ops) + heap_bytes(c.errors) + heap_bytes(c.srt) +
           heap_bytes(c.srt_keys) + heap_bytes(c.findings) + heap_bytes(c.owner_groups) +
           heap_bytes(c.evidence) + heap_bytes(c.early_replies) + c.nested_bytes +
           c.stream_bytes[0] + c.stream_bytes[1];
}

void RpcAnalyzer::Impl::account(Conn& c) noexcept {
    const std::size_t now = footprint(c);
    if (now <= c.charged) {
        budget->give_back(c.charged - now);
        c.charged = now;
    } else if (budget->take_within(now - c.charged, kShareRpc)) {
        c.charged = now;
    } else {
        shed(c);
    }
}

void RpcAnalyzer::Impl::shed(Conn& c) noexcept {
    if (!c.shed) {
        c.shed = true;
        ++c.bounds_hit;
        ++rpc_dropped;
    }
    for (rpc::RecordStream& s : c.streams) {
        s = rpc::RecordStream();
    }
    c.stream_bytes = {};
    for (rpc_state::CallSnapshot& s : c.snapshots) {
        unnest(c, s.frame.bytes.capacity());
        s.frame.bytes = {};
    }
    c.snapshot_tags = {};
    for (const rpc_state::EarlyReply& e : c.early_replies) {
        unnest(c, e.bytes.capacity());
    }
    c.early_replies = {};
    const std::size_t now = footprint(c);
    if (now <= c.charged) {
        budget->give_back(c.charged - now);
    } else {
        budget->force(now - c.charged);  // what it holds still, for its report
    }
    c.charged = now;
}

void RpcAnalyzer::Impl::release(Conn& c, std::size_t record) noexcept {
    budget->give_back(record + std::exchange(c.charged, 0));
}

void RpcAnalyzer::share_state_budget(ByteBudget& budget) noexcept {
    impl_->budget = &budget;
}

}  // namespace vxcheck::analyze

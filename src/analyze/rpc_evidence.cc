// The frames behind the RPC verdicts, for --evidence: each kept with a note naming the finding
// and the call (RpcCall / RpcReply). Frames die at the next read, so they are copied when seen:
// - a finding made at a packet (retransmission, accept error, denial, too-big and session-limit
//   errors) keeps that packet's frame, and for a reply the frame of its call if it is held;
// - the frames of the first kCallSnapshots calls not yet answered are held (the first
//   kSnapshotBytes of each, in slots whose buffers are reused), released by the reply; a call
//   decided unanswered gives its held frame.
// A frame is copied only when the record ends in the segment being pushed (a record completed
// later, from held out-of-order segments, has no frame at hand). Bounds: kMaxRpcEvidence frames
// per connection, kEvidencePerVerdict per verdict.

#include <algorithm>

#include "rpc_state.h"

namespace vxcheck::analyze {

namespace {

using rpc_state::CallSnapshot;

// The segment's frame, if the record ended in it.
const RawFrame* frame_of(const SegmentView* s, const rpc::Record& record) noexcept {
    return s != nullptr && s->raw != nullptr && s->raw->number == record.frame ? s->raw : nullptr;
}

void copy_frame(EvidenceFrame& e, const SegmentView& s, const RawFrame& raw, std::size_t max) {
    e.point = s.point;
    e.frame = raw.number;
    e.ts = raw.ts;
    e.link = raw.link;
    e.wirelen = raw.wirelen;
    e.bytes.assign(raw.data.begin(),
                   raw.data.begin() + static_cast<std::ptrdiff_t>(std::min(max, raw.data.size())));
}

std::size_t frames_for(const std::vector<EvidenceFrame>& ev, Verdict v) noexcept {
    return static_cast<std::size_t>(std::count_if(
        ev.begin(), ev.end(), [&](const EvidenceFrame& e) { return e.note.rpc.verdict == v; }));
}

const CallSnapshot* held(const RpcAnalyzer::Impl::Conn& c, std::uint32_t xid,
                         std::uint64_t frame) noexcept {
    for (std::size_t i = 0; i < c.snapshot_tags.size(); ++i) {
        const rpc_state::SnapshotTag& t = c.snapshot_tags[i];
        if (t.used && t.xid == xid && c.snapshots[i].frame.frame == frame) {
            return &c.snapshots[i];
        }
    }
    return nullptr;
}

}  // namespace

void RpcAnalyzer::Impl::snapshot_call(Conn& c, bool from_client, const rpc::Record& record,
                                      const rpc::Message& m) {
    const RawFrame* raw = frame_of(segment, record);
    if (raw == nullptr) {
        return;
    }
    constexpr std::size_t kNone = rpc_state::kCallSnapshots;
    std::size_t i = kNone;
    for (std::size_t k = 0; k < c.snapshot_tags.size(); ++k) {  // a later copy replaces it
        const rpc_state::SnapshotTag& t = c.snapshot_tags[k];
        if (t.used && t.xid == m.xid && t.from_client == from_client) {
            i = k;
        }
    }
    for (std::size_t k = 0; k < c.snapshot_tags.size() && i == kNone; ++k) {
        if (!c.snapshot_tags[k].used) {
            i = k;
        }
    }
    if (i == kNone) {
        return;  // kCallSnapshots calls are waiting: this one's frame is not kept
    }
    CallSnapshot* slot = &c.snapshots[i];
    const std::size_t before = slot->frame.bytes.capacity();
    copy_frame(slot->frame, *segment, *raw, options.frame_bytes ? rpc_state::kSnapshotBytes : 0);
    c.nested_bytes += slot->frame.bytes.capacity() - before;
    c.snapshot_tags[i] = {.xid = m.xid, .used = true, .from_client = from_client};
    EvidenceNote& n = slot->frame.note;
    n = EvidenceNote{.kind = EvidenceNote::Kind::RpcCall};
    n.prog = m.call.prog;
    n.vers = m.call.vers;
    n.proc = m.call.proc;
    n.op_count = c.call_op_count;
    n.ops = c.call_ops;
}

void RpcAnalyzer::Impl::release_snapshot(Conn& c, bool from_client, std::uint32_t xid) noexcept {
    for (rpc_state::SnapshotTag& t : c.snapshot_tags) {
        if (t.used && t.xid == xid && t.from_client != from_client) {
            t.used = false;
        }
    }
}

// Frame numbers for the findings made by this record, and their frames.
void RpcAnalyzer::Impl::keep_findings(Conn& c, std::size_t first, bool from_client,
                                      const rpc::Record& record, const rpc::Message& m) {
    const bool call = m.type == rpc::MsgType::Call;
    const CallRec* rec = c.by_xid.latest(c.calls_seen, m.xid, [&](const CallRec& r) {
        return call ? r.from_client == from_client && r.prog == m.call.prog &&
                          r.vers == m.call.vers && r.proc == m.call.proc
                    : r.from_client != from_client;
    });
    const RawFrame* raw = frame_of(segment, record);
    for (std::size_t i = first; i < c.findings.size(); ++i) {
        RpcFinding& f = c.findings[i];
        f.call_frame = call ? record.frame : (rec != nullptr ? rec->frame : 0);
        f.reply_frame = call ? 0 : record.frame;
        if (c.evidence.size() + 2 > rpc_state::kMaxRpcEvidence ||
            frames_for(c.evidence, f.verdict) >= rpc_state::kEvidencePerVerdict) {
            continue;
        }
        const CallSnapshot* s = call ? nullptr : held(c, m.xid, f.call_frame);
        EvidenceNote n = s != nullptr ? s->frame.note : EvidenceNote{};
        if (rec != nullptr && s == nullptr) {
            n.prog = rec->prog;
            n.vers = rec->vers;
            n.proc = rec->proc;
        }
        n.rpc = f;
        if (s != nullptr) {
            c.evidence.push_back(s->frame);
            c.evidence.back().note = n;
            c.nested_bytes += c.evidence.back().bytes.capacity();
        }
        if (raw != nullptr) {
            n.kind = call ? EvidenceNote::Kind::RpcCall : EvidenceNote::Kind::RpcReply;
            if (call) {
                n.op_count = c.call_op_count;
                n.ops = c.call_ops;
            }
            EvidenceFrame& e = c.evidence.emplace_back();
            copy_frame(e, *segment, *raw, options.frame_bytes ? raw->data.size() : 0);
            e.note = n;
            c.nested_bytes += e.bytes.capacity();
        }
    }
}

// The frames of the connection's findings, and of its unanswered calls that are held, among
// r's in capture order.
void RpcAnalyzer::Impl::add_evidence(const Conn& c, const RpcFacts& f, ConnectionReport& r) const {
    const std::size_t own = r.evidence.size();
    r.evidence.insert(r.evidence.end(), c.evidence.begin(), c.evidence.end());
    std::size_t unanswered = 0;
    for (const RpcFinding& x : f.findings) {
        if (x.verdict != Verdict::RpcUnanswered || unanswered == rpc_state::kEvidencePerVerdict) {
            continue;
        }
        if (const CallSnapshot* s = held(c, x.xid, x.call_frame)) {
            r.evidence.push_back(s->frame);
            r.evidence.back().note.rpc = x;
            ++unanswered;
        }
    }
    if (r.evidence.size() != own) {
        std::stable_sort(
            r.evidence.begin(), r.evidence.end(),
            [](const EvidenceFrame& a, const EvidenceFrame& b) { return a.ts < b.ts; });
    }
}

}  // namespace vxcheck::analyze

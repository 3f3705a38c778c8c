#pragma once
// The plug-in point for per-connection analyzers (an ONC RPC / NFS analyzer, for one): they see
// every TCP segment of a tracked connection, with its direction and payload, the connection's
// open and close events, and add verdict facts when it is decided, without touching the TCP and
// NAT parts. With no plug-in registered the per-packet path costs one predictable branch.
//
// A connection is named by a FlowId, a small number that stays the same while the connection is
// tracked and is reused after forget(): a plug-in keeps its per-connection state in a side store
// indexed by it (FlowStorage below), allocated on first use, like Suricata's flow-storage.c.

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "vxcheck/analyze/budget.h"
#include "vxcheck/analyze/connection_report.h"
#include "vxcheck/bytes.h"
#include "vxcheck/frame.h"
#include "vxcheck/track/flow_key.h"
#include "vxcheck/track/flow_table.h"

namespace vxcheck::analyze {

using FlowId = std::uint32_t;

/// Where each direction of a connection starts, as its SYNs show it: the first capture point to
/// show a SYN (or SYN-ACK) in a direction feeds it, and that point's latest SYN there gives its
/// stream's first sequence number. The connection analysis keeps one in each connection's
/// record and hands it to the plug-ins with every segment, so that a plug-in makes its state
/// at the first payload and keeps nothing for connections that never carry data (a SYN flood).
struct SynStarts {
    static constexpr std::uint16_t kNoPoint = 0xFFFF;  // no SYN in that direction yet
    std::array<std::uint32_t, 2> next{};  // [0] client->server: the SYN's sequence number + 1
    std::array<std::uint16_t, 2> point{kNoPoint, kNoPoint};

    /// A SYN (or SYN-ACK) with sequence number `seq`, seen at capture point `at`.
    void on_syn(bool from_client, std::uint32_t seq, std::uint16_t at) noexcept {
        const std::size_t dir = from_client ? 0 : 1;
        if (point[dir] == kNoPoint) {
            point[dir] = at;
        }
        if (point[dir] == at) {
            next[dir] = seq + 1;
        }
    }
    [[nodiscard]] bool any() const noexcept { return point[0] != kNoPoint || point[1] != kNoPoint; }
};

/// One TCP segment of a tracked connection. `payload` holds the captured payload bytes (fewer
/// than the headers claim when the capture cut them); valid only during the call.
struct SegmentView {
    FlowId flow = 0;
    track::Endpoint client;  // the connection's client and server
    track::Endpoint server;
    std::uint64_t frame = 0;  // frame number in its file (1-based)
    bool from_client = false;
    std::uint32_t seq = 0;
    std::uint32_t ack = 0;
    std::uint8_t flags = 0;             // decode::tcp_flag bits
    std::uint32_t claimed_payload = 0;  // payload bytes as the headers claim them
    Bytes payload;
    Timestamp ts;
    std::uint16_t point = 0;        // capture point
    const RawFrame* raw = nullptr;  // the whole frame, for a plug-in that keeps evidence
    // The connection's place in the order of first sight, shared with the UDP flows of the
    // datagram plug-ins (DatagramView::order; ConnectionAnalyzer::finish orders by it).
    std::uint64_t order = 0;
    SynStarts starts;  // the connection's SYNs up to and including this segment
};

/// Why a plug-in is told a connection ends.
enum class CloseEvent : std::uint8_t {
    Fin,  // a FIN from one side (the connection may still carry the other side's data)
    Rst,  // a RST
};

/// A segment without payload, SYN, FIN or RST (ConnectionPlugin::on_bare_ack()).
struct BareAck {
    FlowId flow = 0;
    bool from_client = true;
    bool has_ack = false;  // the ACK flag is set, and `ack` is the acknowledgement number
    std::uint32_t ack = 0;
    Timestamp ts;
};

class ConnectionPlugin {
  public:
    virtual ~ConnectionPlugin() = default;

    /// Every segment of a tracked connection that carries payload or a SYN, FIN or RST, in
    /// capture order. It may throw std::bad_alloc only (its state could not grow): the analyzer
    /// counts that as an allocation failure and marks the connection incomplete.
    virtual void on_segment(const SegmentView& s) = 0;
    /// Any other segment (a bare ACK, a window update: a fifth of a busy capture) gives only what
    /// a plug-in can learn from it, in the same order: that the capture went on, and how far the
    /// side that sent it acknowledged the other side's bytes.
    virtual void on_bare_ack(const BareAck& a) noexcept { (void)a; }
    /// A FIN or RST was seen on the connection (after on_segment for that segment); may throw
    /// std::bad_alloc as on_segment.
    virtual void on_close(FlowId flow, CloseEvent e, bool from_client) {
        (void)flow, (void)e, (void)from_client;
    }
    /// The connection is about to be decided for the last time (the capture ended, or it leaves
    /// the table), before that decide(): what a plug-in keeps waiting for later packets (data
    /// held behind bytes not captured) can go now. Not called before a live decide(), after
    /// which the connection goes on.
    virtual void ending(FlowId flow) { (void)flow; }
    /// The connection is decided (at the end, when evicted or idle, or live by poll()): add
    /// verdict facts to r. Called before r's verdicts are final; r.verdicts may be extended.
    virtual void decide(FlowId flow, ConnectionReport& r) = 0;
    /// Whether a verdict of r (just decided, before the capture's end: its 4-tuple came back)
    /// may change with what later connections show; the analyzer then holds r and calls
    /// revise() at the end.
    [[nodiscard]] virtual bool revisable(const ConnectionReport& r) const {
        (void)r;
        return false;
    }
    /// At the end of the capture: updates the verdicts of r, held since revisable(r).
    virtual void revise(ConnectionReport& r) { (void)r; }
    /// The connection left the table (after its last decide()): drop its state; the id is
    /// reused.
    virtual void forget(FlowId flow) noexcept = 0;
    /// A hint: a segment of `flow` with payload, in that direction, comes soon; starts loading
    /// the state on_segment reads first. Changes nothing.
    virtual void prefetch(FlowId flow, bool from_client) const noexcept {
        (void)flow, (void)from_client;
    }
    /// Live use (ConnectionAnalyzer::poll, every 100 ms or so): appends the flows that may have
    /// gained a verdict since the last call; a rule that waits (rpc_unanswered) counts time up
    /// to `now`, wall clock. The analyzer decides them and reports those whose verdicts are new.
    /// Cheap: a plug-in looks only at the flows it marked, not at every open one. May throw
    /// std::bad_alloc (the flows not listed are reported when decided).
    virtual void poll(Timestamp now, std::vector<FlowId>& gained) { (void)now, (void)gained; }
    /// Given once, when the plug-in is registered: the connection analysis's state budget
    /// (ConnectionOptions::state_budget_bytes), which the plug-in's per-connection state draws
    /// on as the flows' lists do. It outlives the plug-in's use of it.
    virtual void share_state_budget(ByteBudget& budget) noexcept { (void)budget; }
};

/// One UDP datagram (the innermost transport of a packet that carries no TCP segment, inside
/// VXLAN/Geneve too). `payload` holds the captured payload bytes; valid only during the call.
struct DatagramView {
    track::Endpoint src;
    track::Endpoint dst;
    std::uint64_t frame = 0;            // frame number in its file (1-based)
    std::uint32_t claimed_payload = 0;  // payload bytes as the UDP header claims them
    Bytes payload;
    Timestamp ts;
    std::uint16_t point = 0;  // capture point
    bool watched = false;     // a port the connection options watch (or all ports)
    // The nearest VXLAN/Geneve tunnel around the datagram, if any: the outer IP addresses
    // (port 0), the outer UDP source port and the VNI.
    bool tunnelled = false;
    track::Endpoint outer_src;
    track::Endpoint outer_dst;
    std::uint16_t outer_sport = 0;
    std::uint32_t vni = 0;
    // The place among the connections (ConnectionAnalyzer::finish orders by it) that a flow
    // starting with this datagram takes.
    std::uint64_t order = 0;
};

/// A plug-in that keeps flows of its own over UDP (the ONC RPC analysis: one datagram, one
/// message) and hands its decided flows to the connection analysis as ConnectionReports, in the
/// same stream as the TCP connections. It owns its flow table and its bounds; the connection
/// analysis calls it only for packets without a TCP segment, so the TCP path does no new work.
class DatagramPlugin {
  public:
    virtual ~DatagramPlugin() = default;

    /// Every UDP datagram of a packet without a TCP segment, in capture order. Returns true
    /// when the datagram started a flow (which took `d.order`). Never throws: an allocation
    /// failure is counted by the plug-in (stats()).
    virtual bool on_datagram(const DatagramView& d) noexcept = 0;
    /// Decides the flows idle for longer than `idle_s` at `now`, as the connection analysis
    /// decides idle connections; their reports wait for take_decided(). May throw
    /// std::bad_alloc only.
    virtual void expire(Timestamp now, double idle_s) = 0;
    /// Appends the flows decided early (idle, or evicted because the table was full) since the
    /// last call, with capture points named from `points`.
    virtual void take_decided(const std::vector<std::string>& points,
                              std::vector<ConnectionReport>& out) = 0;
    /// Live use: appends the flows that gained a verdict since they were last returned, decided
    /// at wall-clock `now`.
    virtual void poll(Timestamp now, const std::vector<std::string>& points,
                      std::vector<ConnectionReport>& out) = 0;
    /// Decides every remaining flow and appends (order, report) pairs; the table is emptied.
    virtual void finish(const std::vector<std::string>& points,
                        std::vector<std::pair<std::uint64_t, ConnectionReport>>& out) = 0;
    /// Adds the plug-in's counters (datagrams, flows, bounds hit, anomalies) to `stats`.
    virtual void add_stats(ConnectionStats& stats) const noexcept = 0;
};

/// Per-connection state of type T for a plug-in, indexed by FlowId and allocated on first use.
/// The states live in huge-page blocks (track::FlowStore), as the flows do: a plug-in reads its
/// state on every segment of thousands of connections, and with 4 KiB pages each read would
/// also wait for a page walk. A forgotten state is reset and kept for the next connection.
template <typename T>
class FlowStorage {
  public:
    FlowStorage() = default;
    FlowStorage(const FlowStorage&) = delete;
    FlowStorage& operator=(const FlowStorage&) = delete;

    /// The state of `flow`, created (T{}) if it has none; throws std::bad_alloc.
    T& get(FlowId flow) {
        if (flow >= slots_.size()) {
            slots_.resize(std::size_t{flow} + 1, nullptr);
        }
        if (slots_[flow] == nullptr) {
            if (free_.empty()) {
                // erase() then never allocates; the capacity doubles, so that the copies of
                // free_ that growing it makes are amortised over the states made.
                if (free_.capacity() < pool_.size() + 1) {
                    free_.reserve(std::max(2 * free_.capacity(), pool_.size() + 1));
                }
                T& fresh = pool_.emplace_back();
                slots_[flow] = &fresh;
            } else {
                slots_[flow] = free_.back();
                free_.pop_back();
            }
        }
        return *slots_[flow];
    }
    /// The state of `flow`, or nullptr if it has none.
    [[nodiscard]] T* find(FlowId flow) noexcept {
        return flow < slots_.size() ? slots_[flow] : nullptr;
    }
    [[nodiscard]] const T* find(FlowId flow) const noexcept {
        return flow < slots_.size() ? slots_[flow] : nullptr;
    }
    void erase(FlowId flow) noexcept {
        static_assert(std::is_nothrow_default_constructible_v<T>, "erase() resets in place");
        if (flow < slots_.size() && slots_[flow] != nullptr) {
            T* t = std::exchange(slots_[flow], nullptr);
            t->~T();
            new (t) T();
            free_.push_back(t);  // within the capacity get() reserved
        }
    }

  private:
    track::FlowStore<T> pool_;
    std::vector<T*> slots_;
    std::vector<T*> free_;
};

}  // namespace vxcheck::analyze

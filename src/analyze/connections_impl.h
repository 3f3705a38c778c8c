#pragma once
// The connection analysis's state (private to src/analyze): the table, the budgets, the plug-ins
// and the per-packet and deciding steps, split as Suricata splits flow handling
// (flow-hash.c / flow-manager.c):
//   connections.cc    the per-packet path: lookup and insert, eviction when the table is full,
//                     idle expiry, the order of the parts per packet, the plug-ins' segments
//   flow_decide.cc    deciding: a flow's facts to a report, live polling, the end of a run

#include <algorithm>
#include <array>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "datagram.h"
#include "flow.h"
#include "nat_join.h"
#include "refused.h"
#include "syn_tracking.h"
#include "vtep_modes.h"
#include "vxcheck/analyze/connections.h"
#include "vxcheck/track/flow_table.h"

namespace vxcheck::analyze {

using decode::Proto;
using track::FlowKey;
using FlowTable = track::FlowTable<Flow>;

struct ConnectionAnalyzer::Impl {
    explicit Impl(ConnectionOptions o)
        : options(std::move(o)),
          vteps(options.max_vtep_pairs),
          evidence(options.evidence_budget_bytes),
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
    NatJoin nat;              // the join across NAT, with two or more capture points
    // Points beyond kMaxPoints that carried a packet (ConnectionStats::points_not_followed):
    // index point - kMaxPoints.
    std::vector<bool> unfollowed;

    // f is the pre-NAT record of another flow and is reported inside it (nat_join.h).
    [[nodiscard]] bool absorbed(const Flow& f) const noexcept { return nat.absorbed(f); }

    // Drops an absorbed flow without a report: its evidence frames go to the flow it was joined
    // into, when that is still tracked.
    void drop_absorbed(Flow& f);

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
    Flow& flow_for(const Segment& s, bool syn);

    // Tells the plug-ins that f leaves the table.
    void forget(const Flow& f) noexcept;

    // Decides f from its facts (no prose: the report words it) and drops it. A refused attempt
    // whose run may still grow waits in `held` (refused.h) for the rest of its run.
    void decide_and_drop(Flow& f, bool came_back = false);

    // Decides and drops one flow: the oldest in the table's queue that had no packet since it
    // joined it. One that had rejoins at the newest end instead (a second chance, as a clock
    // hand gives): every such move is paid for by a packet, so an eviction costs O(1) amortised
    // and the packet path does no bookkeeping for it, and the flows kept are the active ones.
    void evict_one();

    // Decides and drops the flows idle longer than the timeout, from the oldest end of the
    // queue: an idle flow is dropped, one active since it joined rejoins at the newest end, and
    // the walk stops at the first that is neither (the flows behind it joined later). O(1)
    // amortised per packet, never a walk of the table; a flow is never expired before its idle
    // time is up, and at the latest once the flows queued before it have been idle as long.
    void expire_idle();

    void on_tcp(const PacketDigest& d, const PacketContext& ctx);

    // Records a refused attempt; when its run now has what the rule needs, the run's open
    // connections are marked for poll() to decide again (live: their verdict is new).
    void on_refused(Flow& f, const AttemptStart& a, const Observation& o);

    void notify_plugins(Flow& f, const Segment& s, const Observation& o, bool from_client);

    void on_icmp(const decode::DecodedPacket& pkt, std::size_t idx, const PacketContext& ctx,
                 Timestamp ts);

    void on_packet(const PacketContext& ctx);

    // A packet at a point beyond kMaxPoints: counts the point once (the packet is analysed,
    // the point is in no mask).
    void note_unfollowed(std::uint16_t point);

    // The dirty list keeps, once each, only the keys of tracked flows still marked: without
    // poll() (analyze) it would grow by a key for every connection ever marked. The next
    // compaction waits until the list has doubled, so each costs O(1) per key listed, and the
    // list stays below twice the flows tracked (ConnectionOptions::max_flows).
    void compact_dirty() noexcept;

    // Lists for poll() the flows the plug-ins say may have gained a verdict.
    void poll_plugins(Timestamp when);

    std::vector<ConnectionReport> poll(Timestamp when, double settle_s);

    // From the parts' facts to the verdicts (rules.h); the evidence is taken (moved) when f
    // leaves the table next.
    ConnectionReport decide(Flow& f, bool take_evidence);

    // The plug-ins add their verdicts; the list stays in enum order, without Clean if any.
    // `last`: the flow's last decision (ConnectionPlugin::ending() first).
    void decide_plugins(const Flow& f, ConnectionReport& r, bool last);
};

}  // namespace vxcheck::analyze

#pragma once
// Connection verdicts (domain spec 2, 4, 5): per TCP connection on the watched ports, from one
// or several capture points: silently dropped or rejected SYNs, delayed connects, inner and
// outer SNAT, double SNAT, and outer UDP checksums corrupted by NAT (variants A and B).
//
// The analysis is made of parts with one job each (src/analyze): flow management here, SYN
// tracking, VTEP checksum-mode learning, tunnel and NAT evidence, the capture-point join, and
// the rules (rules.h) that turn their facts into verdicts. Prose is the report's (report/).

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "vxcheck/analyze/connection_report.h"
#include "vxcheck/analyze/digest.h"
#include "vxcheck/analyze/options.h"
#include "vxcheck/analyze/plugin.h"

namespace vxcheck::analyze {

class ConnectionAnalyzer {
  public:
    explicit ConnectionAnalyzer(ConnectionOptions options);
    ~ConnectionAnalyzer();
    ConnectionAnalyzer(const ConnectionAnalyzer&) = delete;
    ConnectionAnalyzer& operator=(const ConnectionAnalyzer&) = delete;

    /// Names a capture point (a file, an interface); returns its index for PacketContext.
    std::uint16_t add_point(std::string name);
    [[nodiscard]] const std::vector<std::string>& points() const noexcept;

    /// Registers a per-connection analyzer (plugin.h), before the first packet; it must outlive
    /// this analyzer.
    void add_plugin(ConnectionPlugin& plugin);
    /// Registers a plug-in with flows of its own over UDP (plugin.h: DatagramPlugin), before the
    /// first packet; it must outlive this analyzer. Its decided flows come out of take_decided(),
    /// poll() and finish() with the connections.
    void add_datagram_plugin(DatagramPlugin& plugin);

    /// Records that `server` carried ONC RPC `program` (an RPC call to it was seen). The refused
    /// rule (nfs_endpoint_refused) counts a server that carried NFS (100003) as an NFS endpoint
    /// on any port; connections decided after this call see it. Never throws.
    void note_rpc_program(const track::Endpoint& server, std::uint32_t program);

    /// Analyses one packet. Never throws: an allocation failure is counted in
    /// stats().alloc_failures, and the analysis degrades by this rule: the packet's connection
    /// keeps what the packet had already updated (its counters first) and is marked incomplete
    /// (ConnectionReport::incomplete), the detail that could not be stored is lost; a packet
    /// whose connection could not be created is otherwise ignored.
    void on_packet(const PacketContext& ctx) noexcept;

    /// A hint, for the thread that calls on_packet: starts loading the table slot and the first
    /// lines of the connection whose key hashes to `flow_hash` (Segment::hash), for an
    /// on_packet soon after. Changes nothing.
    void prefetch(std::uint64_t flow_hash) const noexcept;
    /// The last step, a few packets after prefetch(): the plug-ins' state of the connection of
    /// segment `s` (ConnectionPlugin::prefetch), if it carries payload. Reads only the lines
    /// prefetch() loaded.
    void prefetch_plugins(const Segment& s) const noexcept;
    /// The first step of prefetch() only: starts loading the table slot, reads nothing (never
    /// waits). For a prefetch() a few packets later, when the slot is in the cache.
    void prefetch_slot(std::uint64_t flow_hash) const noexcept;

    /// Connections decided early (evicted or idle) since the last call.
    std::vector<ConnectionReport> take_decided();
    /// Live use: connections that gained a verdict since they were last returned, because their
    /// decisive packet arrived (SYN-ACK after retransmissions, RST, ICMP, a NAT fingerprint) or
    /// a retransmitted SYN stayed unanswered for `settle_s`. `now` is wall-clock time.
    std::vector<ConnectionReport> poll(Timestamp now, double settle_s = 0.5);
    [[nodiscard]] std::size_t open_connections() const noexcept;

    /// Decides every remaining connection; ordered by first packet.
    std::vector<ConnectionReport> finish();
    /// The same, each report handed to `each` as soon as it is decided (it may be moved from):
    /// no list of every remaining connection is made.
    void finish(const std::function<void(ConnectionReport&)>& each);

    [[nodiscard]] const ConnectionStats& stats() const noexcept;

    /// For the --evidence file: a report with only what the file needs of `c` (its endpoints,
    /// verdicts and the evidence frames that fit the evidence budget, moved out of `c`), empty
    /// (no evidence) when nothing fits. The frames kept stay charged to the budget; those beyond
    /// it are counted (ConnectionStats::evidence_frames_dropped). Never throws.
    [[nodiscard]] ConnectionReport keep_for_evidence_file(ConnectionReport& c) noexcept;

    /// The bounded state, for the tests and the output's drain: keys listed for poll(), bytes
    /// of evidence held (ConnectionOptions::evidence_budget_bytes), bytes of per-connection
    /// detail held (ConnectionOptions::state_budget_bytes: 0 again once every connection has
    /// left), reports decided early and not yet taken (take_decided()).
    [[nodiscard]] std::size_t pending_dirty() const noexcept;
    [[nodiscard]] std::size_t evidence_bytes() const noexcept;
    [[nodiscard]] std::size_t state_bytes() const noexcept;
    [[nodiscard]] std::size_t decided_waiting() const noexcept;

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace vxcheck::analyze

#pragma once
// The ONC RPC / NFS analysis of tracked connections (issue 19 items 3 and 4), a ConnectionPlugin:
// per connection and direction an rpc::RecordStream turns the TCP byte stream into RPC
// messages; calls flow in both directions (the v4.1 backchannel); a reply matches the call with
// the same XID sent in the opposite direction on the same connection. The facts of a connection
// (RpcFacts) and the rules of rpc_rules.h give its RPC verdicts when it is decided.
//
// Facts that span connections (earlier copies of a call, later answers, client owners per
// server, establishments per client, session limits) live in the analyzer, in tables bounded by
// the named constants below; a bound hit is counted (RpcFacts::bounds_hit), never grown past.
// A connection without RPC costs a parse attempt per payload segment and no allocation beyond
// its per-connection state (made at its first payload; a SYN notes only where the streams start).

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>

#include "vxcheck/analyze/plugin.h"
#include "vxcheck/track/flow_key.h"

namespace vxcheck::analyze {

// Bounds.
inline constexpr std::size_t kMaxCallsPerConnection = 1024;  // call records kept per connection
inline constexpr std::size_t kMaxCrossCalls = 65536;         // calls remembered across connections
inline constexpr std::size_t kMaxOwnerEvents = 4096;     // EXCHANGE_ID/SETCLIENTID presentations
inline constexpr std::size_t kMaxSessionEvents = 16384;  // establishments and session errors
inline constexpr std::size_t kMaxSessions = 4096;        // CREATE_SESSION replies kept
inline constexpr std::size_t kSrtSamples = 256;          // samples kept per key for median/p99

struct RpcOptions {
    // A call with no reply is unanswered when the capture runs this long after its last copy.
    double unanswered_after_s = 5.0;
    // nfs_session_churn: this many establishments within the window, or this many cycles.
    double churn_window_s = 60.0;
    unsigned churn_establishments = 3;
    unsigned churn_cycles = 2;
    // nfs_clientid_collision: times the presenting client IP changes.
    unsigned collision_switches = 2;
};

class RpcAnalyzer final : public ConnectionPlugin {
  public:
    /// Told that `server` carried ONC RPC `program` (a call to it was seen).
    using ProgramObserver = std::function<void(const track::Endpoint&, std::uint32_t)>;

    explicit RpcAnalyzer(RpcOptions options = {}, ProgramObserver observer = {});
    ~RpcAnalyzer() override;
    RpcAnalyzer(const RpcAnalyzer&) = delete;
    RpcAnalyzer& operator=(const RpcAnalyzer&) = delete;

    void on_segment(const SegmentView& s) override;
    void on_close(FlowId flow, CloseEvent e, bool from_client) override;
    void decide(FlowId flow, ConnectionReport& r) override;
    void forget(FlowId flow) noexcept override;
    void prefetch(FlowId flow, bool from_client) const noexcept override;

    struct Impl;

  private:
    std::unique_ptr<Impl> impl_;
};

}  // namespace vxcheck::analyze

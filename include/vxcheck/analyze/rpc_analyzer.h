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
//
// ONC RPC over UDP (rpc_udp.cc; issue 19: NFSv3, MOUNT, portmap, one datagram per message) is a
// DatagramPlugin with a flow table of its own, and the analyzer hands its decided flows to the
// connection analysis as ConnectionReports (transport udp). The choice, and why: the connection
// analysis's flows are TCP connections (SYN attempts, history, NAT evidence, TCP
// retransmissions), and a transport bit there would put a UDP test on every TCP segment and
// a TCP-sized record behind every UDP flow; here the TCP per-segment path is unchanged, UDP
// datagrams are seen only for packets without a TCP segment, and the table holds only flows
// that carried RPC. Rules:
// - A datagram is looked at when a port is 111 (portmap), 2049 (NFS), one the options watch, or
//   one a portmap GETPORT / rpcbind GETADDR reply handed out for a UDP service (learned while
//   reading, at most kMaxLearnedUdpPorts, more counted in udp_ports_not_learned; at most
//   kMaxPortQueries queries await their reply, the oldest dropped as a bound hit). One that is not
//   in a flow starts one only when it is an RPC CALL (rpcvers 2) of a known program; its sender is
//   the client. Anything else costs a header parse and no allocation; one on port 111, 2049 or a
//   learned port that is not an RPC message at all is counted (ConnectionStats::udp_not_rpc,
//   "rpc.udp_not_rpc").
// - A flow is (client ip:port, server ip:port): a REPLY on it matches the call with its XID sent
//   the other way. The payload is the message (no record marking).
// - rpc_retransmitted: a call seen again on the flow with the same XID (and program, version,
//   procedure): UDP has no transport retransmission, and NFS/UDP clients resend with the same
//   XID at timeo. Each direction is read from the first capture point that shows it (as on
//   TCP): the same datagram seen at another point is not a resend.
// - rpc_unanswered: the >= unanswered_after_s rule only (UDP never closes).
// - A flow idle for the connection analysis's idle timeout is decided and dropped, as an idle
//   TCP connection is; when kMaxUdpFlows are tracked the least recently active eighth is
//   decided early (ConnectionStats::udp_evicted).

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "vxcheck/analyze/plugin.h"
#include "vxcheck/track/flow_key.h"

namespace vxcheck::analyze {

// Bounds.
inline constexpr std::size_t kMaxCallsPerConnection = 1024;  // call records kept per connection
// Answered calls are retired once a connection holds this many records (or twice the number left
// after the last retirement): the records a reply looks for stay few and close together.
inline constexpr std::size_t kRetireCallsAt = 64;
inline constexpr std::size_t kMaxCrossCalls = 65536;     // calls remembered across connections
inline constexpr std::size_t kMaxOwnerEvents = 4096;     // EXCHANGE_ID/SETCLIENTID presentations
inline constexpr std::size_t kMaxSessionEvents = 16384;  // establishments and session errors
inline constexpr std::size_t kMaxSessions = 4096;        // CREATE_SESSION replies kept
// Response times per key (a procedure, or a COMPOUND's last op): the first kSrtExact kept as
// they are, so the median and p99 of a few calls are exact, and every one counted in a log
// histogram, kSrtBucketsPerOctave buckets to an octave from kSrtFloorSeconds up to about 70
// minutes (the last bucket takes the rest). A quantile of more calls is its bucket's geometric
// middle, clamped to the key's min and max: within 2^(1/16) - 1 (4.4%) of the true value, over
// the whole capture, in a fixed 0.5 KiB per key; the lowest and highest rank are min and max,
// and so is a quantile in the open last bucket.
inline constexpr std::size_t kSrtExact = 16;
inline constexpr std::size_t kSrtBucketsPerOctave = 8;
inline constexpr std::size_t kSrtLogBuckets = 32 * kSrtBucketsPerOctave;
inline constexpr double kSrtFloorSeconds = 1e-6;
// Distinct keys a connection counts under: procedures, NFSv4 ops, callback ops and error kinds
// each (a client chooses its procedure and op numbers, so without a bound one connection could
// grow its tables, and the linear search through them, without end), and response-time keys
// (each a fixed histogram). A message whose key does not fit is counted as a bound hit.
inline constexpr std::size_t kMaxCountKeys = 64;
inline constexpr std::size_t kMaxSrtKeys = 16;
inline constexpr std::size_t kMaxUdpFlows = 4096;       // UDP RPC flows tracked at once
inline constexpr std::size_t kMaxLearnedUdpPorts = 64;  // UDP ports learned from portmap
inline constexpr std::size_t kMaxPortQueries = 64;  // GETPORT/GETADDR calls awaiting their reply
inline constexpr std::uint16_t kPortmapPort = 111;

/// What an RPC error reply counts under (RpcFacts::errors labels it; so do the metrics).
enum class RpcErrorKind : std::uint8_t { Denied, Accept, Nfs3, Mount, Nfs4 };
/// The label of an error, as RpcFacts::errors (the JSON `errors` keys) spells it:
/// "MSG_DENIED:AUTH_ERROR:AUTH_TOOWEAK", "PROG_UNAVAIL", "NFS3ERR_NOENT", "MNT3ERR_ACCES",
/// "NFS4ERR_DELAY"; unnamed codes as "NFS3ERR_<n>" / "NFS4ERR_<n>". `detail`: the auth_stat of
/// an AUTH_ERROR denial.
[[nodiscard]] std::string rpc_error_label(RpcErrorKind kind, std::uint32_t code,
                                          std::uint32_t detail);

/// The upper bounds (seconds) of the service-response-time histogram of RpcActivity; a last
/// bucket (+Inf) takes the rest.
inline constexpr std::array<double, 16> kSrtBucketBounds = {
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
    0.05,   0.1,     0.25,   0.5,   1.0,    2.5,   5.0,  10.0};
inline constexpr std::size_t kSrtBuckets = kSrtBucketBounds.size() + 1;
/// The histogram bucket of `seconds` (the first bound >= it; the last for +Inf).
[[nodiscard]] std::size_t srt_bucket(double seconds) noexcept;

/// RPC activity since the last RpcAnalyzer::take_activity(), for live metrics: typed keys and
/// counts, summed per connection (the same key may come once per connection).
struct RpcActivity {
    struct Calls {
        std::uint32_t prog = 0, vers = 0, proc = 0;
        std::uint64_t n = 0;
    };
    struct Errors {
        std::uint32_t prog = 0;
        RpcErrorKind kind = RpcErrorKind::Accept;
        std::uint32_t code = 0, detail = 0;
        std::uint64_t n = 0;
    };
    struct Srt {  // replies matched to calls of a procedure, by response time
        std::uint32_t prog = 0, vers = 0, proc = 0;
        std::array<std::uint64_t, kSrtBuckets> buckets{};
        double sum = 0;
    };
    std::vector<Calls> calls;
    std::vector<Errors> errors;
    std::vector<Srt> srt;
};

struct RpcOptions {
    // A call with no reply is unanswered when the capture runs this long after its last copy.
    double unanswered_after_s = 5.0;
    // nfs_session_churn: this many establishments within the window, or this many cycles.
    double churn_window_s = 60.0;
    unsigned churn_establishments = 3;
    unsigned churn_cycles = 2;
    // nfs_clientid_collision: times the presenting client IP changes.
    unsigned collision_switches = 2;
    // Whether evidence frames keep their bytes (only an evidence file writes them; the reports
    // name the frames). Without, a held call costs no copy of its frame.
    bool frame_bytes = true;
};

class RpcAnalyzer final : public ConnectionPlugin, public DatagramPlugin {
  public:
    /// Told that `server` carried ONC RPC `program` (a call to it was seen).
    using ProgramObserver = std::function<void(const track::Endpoint&, std::uint32_t)>;

    explicit RpcAnalyzer(RpcOptions options = {}, ProgramObserver observer = {});
    ~RpcAnalyzer() override;
    RpcAnalyzer(const RpcAnalyzer&) = delete;
    RpcAnalyzer& operator=(const RpcAnalyzer&) = delete;

    void on_segment(const SegmentView& s) override;
    /// The capture went on (rpc_unanswered (c) counts time to the last segment seen), and how
    /// far one side acknowledged the other's bytes (bytes lost at a stream's end).
    void on_bare_ack(const BareAck& a) noexcept override;
    void on_close(FlowId flow, CloseEvent e, bool from_client) override;
    void ending(FlowId flow) override;
    void decide(FlowId flow, ConnectionReport& r) override;
    /// rpc_unanswered (b): a connection decided when its 4-tuple came back may see its calls
    /// answered on a later connection; revise() clears those at the end (rpc_registry.cc).
    [[nodiscard]] bool revisable(const ConnectionReport& r) const override;
    void revise(ConnectionReport& r) override;
    void forget(FlowId flow) noexcept override;
    void prefetch(FlowId flow, bool from_client) const noexcept override;
    /// Live: the connections whose RPC verdicts became certain since the last call (rpc_live.cc).
    void poll(Timestamp now, std::vector<FlowId>& gained) override;
    /// The per-connection RPC state draws on `budget` (rpc_budget.cc); without it, there is no
    /// limit.
    void share_state_budget(ByteBudget& budget) noexcept override;

    /// Live metrics: from now on, counts response times into the metrics histogram and keeps
    /// the activity of connections that leave the table for take_activity() (off by default:
    /// nobody would take it, and a reply would bump a histogram for nothing).
    void keep_activity() noexcept;
    /// The RPC activity since the last call, added to `out` (rpc_activity.cc). Cost: a walk over
    /// the connections that carried calls; per active one, its few procedure, error and SRT
    /// entries.
    void take_activity(RpcActivity& out);

    bool on_datagram(const DatagramView& d) noexcept override;
    void expire(Timestamp now, double idle_s) override;
    void take_decided(const std::vector<std::string>& points,
                      std::vector<ConnectionReport>& out) override;
    void poll(Timestamp now, const std::vector<std::string>& points,
              std::vector<ConnectionReport>& out) override;
    void finish(const std::vector<std::string>& points,
                std::vector<std::pair<std::uint64_t, ConnectionReport>>& out) override;
    void add_stats(ConnectionStats& stats) const noexcept override;

    struct Impl;

  private:
    std::unique_ptr<Impl> impl_;
};

}  // namespace vxcheck::analyze

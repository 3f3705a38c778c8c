#pragma once
// The registry of refused connection attempts, for nfs_endpoint_refused (issue 19; domain spec
// 7, 7.1 items 10 and 12): per client IP and server ip:port (the client's source port may change
// between attempts), the attempts that a RST refused, and the attempts a SYN-ACK accepted once
// a refusal was seen. Only refused traffic creates state, and it is bounded: kMaxRefusedGroups
// (client IP, server) pairs and kMaxRefusedPerGroup attempts each (the oldest go first); what
// does not fit is counted. Also the servers that carried NFS (note_program).

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <vector>

#include "vxcheck/analyze/connection_report.h"
#include "vxcheck/track/flow_key.h"

namespace vxcheck::analyze {

inline constexpr std::size_t kMaxRefusedGroups = 4096;
inline constexpr std::size_t kMaxRefusedPerGroup = 64;
inline constexpr std::size_t kMaxNfsServers = 4096;

class RefusedRegistry {
  public:
    /// A RST (ack = ISN+1) refused the attempt `isn` from `client` (ip:port) to `server`, whose
    /// first SYN was at syn_ts. False when it could not be recorded (the registry is full).
    bool on_refused(const track::Endpoint& client, const track::Endpoint& server, std::uint32_t isn,
                    Timestamp syn_ts, const track::FlowKey& key);
    /// A SYN-ACK accepted the attempt: recorded only where a refusal was seen before (it ends
    /// that run).
    void on_accepted(const track::Endpoint& client, const track::Endpoint& server,
                     std::uint32_t isn, Timestamp syn_ts);
    /// `server` carried ONC RPC `program`; only NFS (100003) is kept.
    void note_program(const track::Endpoint& server, std::uint32_t program);

    /// Whether `server` is an NFS endpoint for the rule with what is known so far.
    [[nodiscard]] bool nfs_server(const track::Endpoint& server) const;

    /// The nfs_endpoint_refused facts of the refused attempt `isn` from `client` to `server`,
    /// when its run has enough attempts (kMinRefusedAttempts, kMinRefusedGapS) and the server
    /// is an NFS endpoint; none otherwise (or when the attempt is not recorded). `run`, if
    /// given, receives the 4-tuples of the run's attempts.
    [[nodiscard]] std::optional<RefusedEndpoint> facts(
        const track::Endpoint& client, const track::Endpoint& server, std::uint32_t isn,
        std::vector<track::FlowKey>* run_keys = nullptr) const;

  private:
    struct Key {
        track::Endpoint client_ip;  // port 0
        track::Endpoint server;
        auto operator<=>(const Key&) const = default;
        bool operator==(const Key&) const = default;
    };
    struct Entry {
        std::uint32_t isn = 0;
        std::uint16_t sport = 0;
        Timestamp syn_ts;
        bool refused = false;
        track::FlowKey key;
    };
    static Key key_of(const track::Endpoint& client, const track::Endpoint& server) noexcept;
    static void insert(std::vector<Entry>& list, const Entry& e);

    std::map<Key, std::vector<Entry>> groups_;
    std::set<track::Endpoint> nfs_servers_;
    std::optional<track::Endpoint> last_noted_;
};

/// Connections decided before the end (a reconnect on their 4-tuple, eviction, idle expiry) whose
/// last attempt was refused by an NFS endpoint: their run may still grow, and the verdict and its
/// facts (the whole run) go on every attempt of a run, the first ones included, so they are
/// reported at the end. At most kMaxHeld; each with its first-packet order.
inline constexpr std::size_t kMaxHeld = 4096;

class HeldReports {
  public:
    /// Holds r (its refused attempt `isn`, if `refused`; else r waits for plug-ins' revise()
    /// only); false when full (r is then left as it was).
    bool hold(std::uint64_t order, std::uint32_t isn, ConnectionReport&& r, bool refused = true);
    /// All held connections, each with the verdict if its run qualifies, and its order.
    std::vector<std::pair<std::uint64_t, ConnectionReport>> take_all(
        const RefusedRegistry& registry);

  private:
    struct Held {
        std::uint64_t order = 0;
        std::uint32_t isn = 0;
        bool refused = true;
        ConnectionReport report;
    };
    static bool judge(const RefusedRegistry& registry, Held& h);
    std::vector<Held> held_;
};

/// Adds nfs_endpoint_refused and its facts to r (verdicts in enum order, without Clean).
void add_refused(ConnectionReport& r, RefusedEndpoint facts);

}  // namespace vxcheck::analyze

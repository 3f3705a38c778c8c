#pragma once
// What the connection analysis watches and the ranges its rules compare against.

#include <cstddef>
#include <cstdint>
#include <vector>

namespace vxcheck::analyze {

struct ConnectionOptions {
    std::vector<std::uint16_t> ports{2049};  // server ports to watch (NFS by default)
    bool all_ports = false;
    // Also watch loopback addresses (127.0.0.0/8, ::1) on ports 20049-21049, where efs-utils'
    // local TLS proxy listens for the NFS mounts it makes (domain spec 7, 7.1 item 12).
    bool loopback_proxy_ports = true;
    std::size_t max_flows = 200000;      // bound on tracked connections; oldest evicted first
    std::uint32_t idle_timeout_s = 900;  // a connection idle this long is decided and dropped
    // Bound on the VTEP pairs whose checksum mode is remembered (vtep_modes.h); the least
    // recently used pair gives way to a new one (ConnectionStats::vtep_pairs_evicted).
    std::size_t max_vtep_pairs = 65536;
    // Bound on the bytes of evidence frames held: those copied into tracked connections, and
    // those kept for the --evidence file. A frame beyond it is not kept
    // (ConnectionStats::evidence_frames_dropped).
    std::size_t evidence_budget_bytes = std::size_t{64} << 20;
    // Bound on the bytes of per-connection detail held beyond each connection's fixed record:
    // the lists of SYN attempts and transmissions, bad outer checksums and sightings, and the
    // plug-ins' state (the ONC RPC analysis's per-connection state); a connection's first SYN
    // attempt and sighting, kept in its record while it has only one, are not charged (they
    // are charged when they move into the lists). A list entry beyond it is
    // not kept (ConnectionStats::detail_dropped, the connection marked incomplete); a connection
    // whose RPC state does not fit is not analysed for RPC from then on
    // (ConnectionStats::rpc_connections_dropped).
    std::size_t state_budget_bytes = std::size_t{128} << 20;
    // The VXLAN driver picks outer source ports in [min, max] (ip_local_port_range 32768-60999,
    // max exclusive: domain spec 1.2); a port outside was rewritten by NAT.
    std::uint16_t vxlan_sport_min = 32768;
    std::uint16_t vxlan_sport_max = 60998;
    // Local ephemeral range of clients (net.ipv4.ip_local_port_range).
    std::uint16_t ephemeral_min = 32768;
    std::uint16_t ephemeral_max = 60999;
    std::uint8_t flannel_prefix_len = 24;  // per-node lease; x.y.z.0 is flannel.1's address
    // The join across NAT (issue 18 item 3): the same SYN seen before and after NAT at two capture
    // points further apart in time than this is not joined (the points' clocks disagree), and
    // the SYN identities remembered for the join (a fixed table, made when a second capture
    // point is added: a newer SYN takes the slot of an older one).
    double nat_join_window_s = 1.0;
    std::size_t nat_join_entries = 4096;
    // The input has several capture points (files): the path order is learned from every packet
    // from the first point on, not only once a second point is added (nat_join.h).
    bool several_points = false;
    // The ONC RPC / NFS analysis (rpc_analyzer.h); off with --no-rpc.
    bool rpc = true;
    double rpc_unanswered_after_s = 5.0;  // rpc_unanswered: the capture runs this long after
};

}  // namespace vxcheck::analyze

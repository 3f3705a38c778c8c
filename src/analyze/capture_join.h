#pragma once
// The capture-point join (domain spec 5.3): the same packet seen at several capture points.
// SYN transmissions are joined by IP ID and TSval as they arrive (syn_tracking.cc); at decision
// time this says where each SYN was last seen, which outer port rewrites happened between
// points, and whether a packet with a corrupted outer checksum was delivered after all.

#include <optional>

#include "flow.h"
#include "nat_join.h"

namespace vxcheck::analyze {

/// For the decisive attempt, when the client's packets were seen at two or more points: each
/// SYN that some point never saw, and each SYN whose outer source port differs between points.
/// A point counts as expected when this connection's packets reached it, or when the path that
/// other traffic to the server's node took (nat_join.h) has it after the SYN's last point; a SYN
/// that stopped short of such a point also gets the connection's path (r.path), as a joined
/// connection does. A lost SYN (retransmitted and never answered, or answered only later)
/// after whose points nothing learned comes gets an OrderUnknown hop: where it was seen, and that
/// the order beyond is unknown.
void describe_hops(const Flow& f, const NatJoin& nat, ConnectionReport& r);

/// The capture point where the packet of candidate c (same IP ID and sequence number) was seen
/// decapsulated at or after c, at another point: the receiver delivered it anyway.
[[nodiscard]] std::optional<std::uint16_t> delivered_at(const Flow& f, const Candidate& c) noexcept;

}  // namespace vxcheck::analyze

#pragma once
// Tunnel context and NAT evidence per connection (domain spec 2, 5): the VTEP pair, the outer
// source ports per direction, a port outside the driver's range, and bad outer checksums kept
// as candidates until the VTEP pair's checksum mode is known (at decision time).

#include "flow.h"
#include "vtep_modes.h"

namespace vxcheck::analyze {

/// A segment that came in a VXLAN/Geneve tunnel.
void on_outer(Flow& f, const Segment& s, const Observation& o, bool from_client,
              const ConnectionOptions& options);

/// Fills r's tunnel context, corrupted outer checksums (variant A/B, and whether another capture
/// point saw the packet delivered anyway), and the inner and outer SNAT reasons.
void decide_nat(const Flow& f, const VtepModes& modes, const ConnectionOptions& options,
                ConnectionReport& r);

}  // namespace vxcheck::analyze

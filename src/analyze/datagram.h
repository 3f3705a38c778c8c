#pragma once
// The UDP side of the connection analysis, for the datagram plug-ins (plugin.h:
// DatagramPlugin): the datagram of a packet, and the calls the analysis makes to the plug-ins.
// Private to src/analyze.

#include <array>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "vxcheck/analyze/digest.h"
#include "vxcheck/analyze/plugin.h"
#include "vxcheck/decode/packet.h"

namespace vxcheck::analyze {

/// Fills the addresses, frame number, payload and tunnel of `out` from the packet's last layer
/// when it is UDP inside IPv4/IPv6 (a datagram inside VXLAN/Geneve too: the tunnel's own UDP
/// layer is not the last). False otherwise; reads only, never allocates. A first IP fragment
/// gives the bytes it carries, with the length the UDP header claims for the whole datagram.
[[nodiscard]] bool datagram_of(const decode::DecodedPacket& packet, DatagramView& out) noexcept;

/// The datagram plug-ins registered on a connection analysis.
class DatagramPlugins {
  public:
    using PortBits = std::array<std::uint64_t, 65536 / 64>;

    void add(DatagramPlugin& p) { plugins_.push_back(&p); }
    [[nodiscard]] bool empty() const noexcept { return plugins_.empty(); }

    /// Hands the packet's UDP datagram, if it has one, to every plug-in: `watched` when
    /// `all_ports` or a port's bit is set in `ports`; a flow it starts takes `next_order`, which
    /// then moves on.
    void on_packet(const PacketContext& ctx, Timestamp ts, bool all_ports, const PortBits& ports,
                   std::uint64_t& next_order) noexcept;
    void expire(Timestamp now, double idle_s);
    void take_decided(const std::vector<std::string>& points, std::vector<ConnectionReport>& out);
    void poll(Timestamp now, const std::vector<std::string>& points,
              std::vector<ConnectionReport>& out);
    void finish(const std::vector<std::string>& points,
                std::vector<std::pair<std::uint64_t, ConnectionReport>>& out);
    /// `stats` with the plug-ins' counters added.
    [[nodiscard]] ConnectionStats with_stats(ConnectionStats stats) const noexcept;

  private:
    std::vector<DatagramPlugin*> plugins_;
};

}  // namespace vxcheck::analyze

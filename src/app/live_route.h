#pragma once
// Private to src/app: `capture -i default-route`, the interface that carries the node's default
// route (its underlay: eth0, ens5, enp0s3, bond0...), so that one DaemonSet fits every node
// whatever its interfaces are called. Read from the kernel's routing tables in /proc (the
// network namespace vxcheck runs in: the node's own with hostNetwork).

#include <optional>
#include <string>
#include <string_view>

namespace vxcheck::app {

/// The name `-i` takes for the interface of the default route.
inline constexpr std::string_view kDefaultRouteInterface = "default-route";

/// The interface of the IPv4 default route in the text of /proc/net/route: the route to
/// 0.0.0.0/0 that is up with the lowest metric (the first of equals). None if there is none.
[[nodiscard]] std::optional<std::string> ipv4_default_route(std::string_view proc_net_route);

/// The same for IPv6 from /proc/net/ipv6_route: the route to ::/0 that is up and not a reject
/// route (the kernel keeps an unreachable ::/0 on lo), the lowest metric first.
[[nodiscard]] std::optional<std::string> ipv6_default_route(std::string_view proc_net_ipv6_route);

/// The interface of the default route of this network namespace, IPv4 first, then IPv6.
/// Throws std::runtime_error saying what was read when there is no default route.
[[nodiscard]] std::string default_route_interface();

}  // namespace vxcheck::app

#include "live_route.h"

#include <cstdint>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <vector>

namespace vxcheck::app {
namespace {

constexpr std::uint32_t kRouteUp = 0x0001;      // RTF_UP
constexpr std::uint32_t kRouteReject = 0x0200;  // RTF_REJECT

std::vector<std::string> fields(std::string_view line) {
    std::vector<std::string> out;
    std::istringstream in{std::string(line)};
    for (std::string f; in >> f;) {
        out.push_back(f);
    }
    return out;
}

std::optional<std::uint32_t> hex(const std::string& text) {
    try {
        std::size_t used = 0;
        const unsigned long v = std::stoul(text, &used, 16);
        if (used == text.size() && v <= 0xffffffffUL) {
            return static_cast<std::uint32_t>(v);
        }
    } catch (const std::exception&) {
    }
    return std::nullopt;
}

// The interface of the best default route among the lines of a routing table: `is_default`
// picks the fields of a line that is one, and returns its interface, flags and metric.
struct Candidate {
    std::string iface;
    std::uint32_t flags = 0;
    std::uint32_t metric = 0;
};

template <typename Pick>
std::optional<std::string> best(std::string_view table, Pick pick) {
    std::optional<Candidate> found;
    std::size_t start = 0;
    while (start < table.size()) {
        std::size_t end = table.find('\n', start);
        if (end == std::string_view::npos) {
            end = table.size();
        }
        const std::optional<Candidate> c = pick(fields(table.substr(start, end - start)));
        start = end + 1;
        if (c && (c->flags & kRouteUp) != 0 && (c->flags & kRouteReject) == 0 &&
            (!found || c->metric < found->metric)) {
            found = c;
        }
    }
    if (!found) {
        return std::nullopt;
    }
    return found->iface;
}

std::string read_file(const char* path) {
    std::ifstream in(path);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

}  // namespace

std::optional<std::string> ipv4_default_route(std::string_view proc_net_route) {
    // Iface Destination Gateway Flags RefCnt Use Metric Mask MTU Window IRTT (hex numbers but
    // the counters and the metric, which are decimal).
    return best(proc_net_route, [](const std::vector<std::string>& f) -> std::optional<Candidate> {
        if (f.size() < 8 || f[1] != "00000000" || f[7] != "00000000") {
            return std::nullopt;  // the header, or not 0.0.0.0/0
        }
        const auto flags = hex(f[3]);
        try {
            if (flags) {
                return Candidate{f[0], *flags, static_cast<std::uint32_t>(std::stoul(f[6]))};
            }
        } catch (const std::exception&) {
        }
        return std::nullopt;
    });
}

std::optional<std::string> ipv6_default_route(std::string_view proc_net_ipv6_route) {
    // dest dest_len src src_len next_hop metric refcnt use flags iface (all hex).
    return best(proc_net_ipv6_route,
                [](const std::vector<std::string>& f) -> std::optional<Candidate> {
                    if (f.size() < 10 || f[0] != std::string(32, '0') || f[1] != "00") {
                        return std::nullopt;
                    }
                    const auto metric = hex(f[5]);
                    const auto flags = hex(f[8]);
                    if (!metric || !flags) {
                        return std::nullopt;
                    }
                    return Candidate{f[9], *flags, *metric};
                });
}

std::string default_route_interface() {
    if (auto v4 = ipv4_default_route(read_file("/proc/net/route"))) {
        return *v4;
    }
    if (auto v6 = ipv6_default_route(read_file("/proc/net/ipv6_route"))) {
        return *v6;
    }
    throw std::runtime_error(
        "-i default-route: this network namespace has no default route (/proc/net/route, "
        "/proc/net/ipv6_route); name the interface with -i IFACE");
}

}  // namespace vxcheck::app

#include "live_points.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <stdexcept>

#include "live_route.h"

namespace vxcheck::app {
namespace {

constexpr double kMiB = 1024.0 * 1024.0;

// The kernel doubles the size asked for; half of what it reports is what was granted.
std::uint64_t asked_of_kernel(std::uint64_t asked) {
    return std::min(asked, capture::kMaxSocketBuffer);
}

bool capped(std::uint64_t granted, std::uint64_t asked) {
    return granted / 2 < asked_of_kernel(asked);
}

void log_buffer(const Point& p, std::uint64_t asked) {
    const std::uint64_t granted = p.source->buffer_bytes();
    if (capped(granted, asked)) {
        spdlog::warn(
            "{}: socket buffer {:.1f} MiB of the {:.1f} MiB asked: net.core.rmem_max caps it "
            "without CAP_NET_ADMIN (raise net.core.rmem_max, or grant NET_ADMIN)",
            p.name, static_cast<double>(granted / 2) / kMiB, static_cast<double>(asked) / kMiB);
    } else {
        spdlog::info(
            "{}: socket buffer {:.1f} MiB (the kernel reports {:.1f} MiB with its "
            "bookkeeping)",
            p.name, static_cast<double>(granted / 2) / kMiB, static_cast<double>(granted) / kMiB);
    }
}

}  // namespace

std::string interface_name(const std::string& given) {
    if (given != kDefaultRouteInterface) {
        return given;
    }
    std::string name = default_route_interface();
    spdlog::info("-i {}: {} carries the default route", given, name);
    return name;
}

bool open_points(const CaptureConfig& config, const capture::LiveOptions& live,
                 std::vector<Point>& points) {
    for (const std::string& given : config.interfaces) {
        Point p;
        try {
            p.name = interface_name(given);
        } catch (const std::runtime_error& e) {
            spdlog::error("{}", e.what());
            return false;
        }
        if (std::any_of(points.begin(), points.end(),
                        [&](const Point& q) { return q.name == p.name; })) {
            spdlog::error("-i {}: {} is given twice", given, p.name);
            return false;
        }
        try {
            p.source = capture::open_live(p.name, live);
        } catch (const capture::OpenError& e) {
            spdlog::error("{}", e.what());
            return false;
        }
        p.summary.file = p.name;
        p.summary.link_type = p.source->link_name();
        log_buffer(p, live.buffer_bytes);
        points.push_back(std::move(p));
    }
    return true;
}

void lose(Point& p, Timestamp now) {
    spdlog::warn("{}; reopening it every second", p.source->error());
    p.up = false;
    p.down_since = now;
    p.last_try = now;
}

bool retry(Point& p, Timestamp now) {
    if (p.up || seconds(p.last_try, now) < 1.0) {
        return p.up;
    }
    p.last_try = now;
    try {
        p.source->rebind();
    } catch (const capture::OpenError&) {
        return false;  // still down; again in a second
    }
    p.up = true;
    spdlog::info("{}: capturing again", p.name);
    return true;
}

std::string kernel_note(const capture::LiveStats& stats, std::uint64_t granted,
                        std::uint64_t asked) {
    std::string note;
    if (stats.kernel_drops != 0) {
        note = std::to_string(stats.kernel_drops) + " frames dropped by the kernel (buffer full";
        if (capped(granted, asked)) {
            note += "; the kernel granted " + std::to_string(granted / 2) + " of the " +
                    std::to_string(asked) +
                    " bytes asked: raise net.core.rmem_max or grant NET_ADMIN)";
        } else if (asked_of_kernel(asked) >= capture::kMaxSocketBuffer) {
            note += " at the largest buffer the kernel grants; capture less with --filter)";
        } else {
            note += "; try --buffer-size)";
        }
    }
    if (stats.unread() != 0) {
        note += (note.empty() ? "" : "; ") + std::to_string(stats.unread()) +
                " frames still queued at stop were not read";
    }
    return note;
}

}  // namespace vxcheck::app

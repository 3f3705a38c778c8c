#pragma once
// Private to src/app: the interfaces of `vxcheck capture`: their sockets and kernel counters,
// an interface that goes down (bound again once a second, given up after --give-up-after), and
// the note on the kernel's counters in the final report.

#include <cstdint>
#include <ctime>
#include <memory>
#include <string>
#include <vector>

#include "vxcheck/app/config.h"
#include "vxcheck/capture/source.h"
#include "vxcheck/report/summary.h"

namespace vxcheck::app {

[[nodiscard]] inline Timestamp wall_clock() noexcept {
    timespec ts{};
    ::clock_gettime(CLOCK_REALTIME, &ts);
    return Timestamp{.sec = ts.tv_sec, .nsec = static_cast<std::uint32_t>(ts.tv_nsec)};
}

[[nodiscard]] inline double seconds(Timestamp a, Timestamp b) noexcept {
    return static_cast<double>(b.sec - a.sec) +
           (static_cast<double>(b.nsec) - static_cast<double>(a.nsec)) * 1e-9;
}

/// An interface, its capture point (its index), and what was read from it. Its socket stays
/// open from start to end, through every time the interface goes down (rebind()), so its
/// kernel counters cover the whole capture.
struct Point {
    std::string name;
    std::unique_ptr<capture::LiveSource> source;
    bool up = true;  // false from a read error until the socket is bound again
    report::Summary summary;
    std::uint32_t write_id = 0;
    Timestamp down_since;
    Timestamp last_try;

    [[nodiscard]] capture::LiveStats stats() const { return source->stats(); }
};

/// The interface `-i` names: itself, or for "default-route" the interface of the default route
/// (live_route.h; throws std::runtime_error when there is none).
[[nodiscard]] std::string interface_name(const std::string& given);

/// Opens every interface (each name through interface_name(); an interface named twice that
/// way is refused) and logs the socket buffer each got (the first that fails ends the
/// run: false).
bool open_points(const CaptureConfig& config, const capture::LiveOptions& live,
                 std::vector<Point>& points);

/// The interface failed (went down, was deleted): it is bound again by retry().
void lose(Point& p, Timestamp now);

/// Binds a lost interface's socket again, at most once a second; whether it is back.
bool retry(Point& p, Timestamp now);

/// What the report says about the kernel's counters of one interface ("" when nothing was
/// lost): frames dropped, with advice only where a larger --buffer-size would help (the kernel
/// granted what was asked and can grant more), and frames still queued at stop.
/// `granted`: the buffer read back (SO_RCVBUF, doubled by the kernel); `asked`: --buffer-size.
[[nodiscard]] std::string kernel_note(const capture::LiveStats& stats, std::uint64_t granted,
                                      std::uint64_t asked);

}  // namespace vxcheck::app

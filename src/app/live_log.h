#pragma once
// Private to src/app: what `vxcheck capture` writes to stderr besides the report: its log lines
// and the periodic status. With --json both are JSON objects, one per line ("type": "log" and
// "type": "status"), so that everything the capture writes to stdout and stderr is JSON Lines:
// `kubectl logs` interleaves the two streams, and a jq filter over them must never meet a line
// that is not JSON. Without --json they are the lines a terminal reader expects.

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "vxcheck/analyze/connection_report.h"
#include "vxcheck/frame.h"

namespace vxcheck::app {

/// "2026-03-01T12:00:00.123456Z": RFC 3339, UTC, microseconds.
[[nodiscard]] std::string rfc3339_utc(Timestamp ts);

/// One log line as a JSON object {"type":"log","timestamp","level","message"} with its newline.
[[nodiscard]] std::string log_json(Timestamp ts, std::string_view level, std::string_view message);

/// Makes the default logger write its lines as log_json() does.
void log_as_json_lines();

/// What the periodic status tells, as numbers.
struct StatusFacts {
    struct Interface {
        std::string name;
        std::uint64_t frames = 0;
        std::uint64_t kernel_drops = 0;
        bool up = true;
    };
    Timestamp now;
    double elapsed_s = 0;
    std::uint64_t frames = 0;
    std::vector<Interface> interfaces;
    std::size_t tracked_connections = 0;
    // Connections that gained each verdict so far (each counted once per connection).
    std::array<std::uint64_t, analyze::kVerdictCount> verdicts{};
};

/// The status line for a terminal ("vxcheck: 3 s | 84 frames (...) | ..."), with its newline.
[[nodiscard]] std::string status_text(const StatusFacts& s);

/// The status as one JSON object {"type":"status",...} with its newline.
[[nodiscard]] std::string status_json(const StatusFacts& s);

}  // namespace vxcheck::app

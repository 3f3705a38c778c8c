#pragma once
// Private to src/app: pieces shared by run_analyze (both frame loops), run_bench and run_capture.

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "vxcheck/app/config.h"
#include "vxcheck/app/pipeline.h"
#include "vxcheck/verify/verify.h"

namespace vxcheck::app {

/// Whether a packet is listed under --packets: 'bad' = a bad checksum or a decode anomaly.
[[nodiscard]] inline bool selected(PacketSelection sel, const FrameProcessor& frame) noexcept {
    switch (sel) {
        case PacketSelection::All:
            return true;
        case PacketSelection::None:
            return false;
        case PacketSelection::Bad:
            return frame.bad();
    }
    return false;
}

/// "pcaps/node-a-eth0.pcap" -> "node-a-eth0"; made unique among the points so far.
std::string point_name(const std::string& file, const std::vector<std::string>& taken);

/// A progress line on stderr at most once a second, for long files read from a terminal.
/// tick() reads the clock: callers on a per-frame path call it only every so many frames.
class Progress {
  public:
    explicit Progress(bool enabled) : enabled_(enabled) {}

    /// `position` and `size` of the file in bytes (size 0: unknown, e.g. a pipe).
    void tick(const std::string& file, std::uint64_t position, std::uint64_t size,
              std::uint64_t frames) {
        if (!enabled_) {
            return;
        }
        const auto now = std::chrono::steady_clock::now();
        if (now - last_ < std::chrono::seconds(1)) {
            return;
        }
        last_ = now;
        shown_ = true;
        if (size != 0) {
            std::fprintf(stderr, "\r%s: %llu frames, %.0f%%   ", file.c_str(),
                         static_cast<unsigned long long>(frames),
                         100.0 * static_cast<double>(position) / static_cast<double>(size));
        } else {
            std::fprintf(stderr, "\r%s: %llu frames   ", file.c_str(),
                         static_cast<unsigned long long>(frames));
        }
    }

    void done() {
        if (shown_) {
            std::fprintf(stderr, "\r\033[K");
            shown_ = false;
        }
    }

  private:
    bool enabled_;
    bool shown_ = false;
    std::chrono::steady_clock::time_point last_ = std::chrono::steady_clock::now();
};

}  // namespace vxcheck::app

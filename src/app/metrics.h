#pragma once
// Prometheus metrics for `capture --metrics-listen` (prometheus-cpp). Private to src/app.

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "vxcheck/analyze/connections.h"
#include "vxcheck/analyze/rpc_analyzer.h"
#include "vxcheck/frame.h"
#include "vxcheck/verify/verify.h"

namespace vxcheck::app {

class Metrics {
  public:
    /// Listens on `listen` for http://listen/metrics (metrics_http.h). Throws
    /// std::runtime_error naming the problem when it cannot listen. `interfaces`: the names of
    /// the capture points, in point order (the `interface` label).
    Metrics(const std::string& listen, const std::vector<std::string>& interfaces);
    ~Metrics();
    Metrics(const Metrics&) = delete;
    Metrics& operator=(const Metrics&) = delete;

    /// Starts answering (its thread; after privileges are dropped, see MetricsListener).
    void serve();

    /// One frame on interface `point` with its checksum verdicts.
    void on_frame(std::size_t point, const verify::Verdicts& verdicts) noexcept;
    /// A connection gained these verdicts (each counted once per connection).
    void on_verdicts(const std::vector<analyze::Verdict>& gained) noexcept;
    void set_kernel(std::size_t point, std::uint64_t received, std::uint64_t drops) noexcept;
    /// Whether interface `point` is bound (false while it is down and being bound again), and
    /// the capture time of its last frame (zero: none yet).
    void set_interface(std::size_t point, bool up, Timestamp last_frame) noexcept;
    /// Connections in the analyzer's table now (open ones and closed ones not yet forgotten).
    void set_tracked_connections(std::size_t n) noexcept;
    /// Frames analysed after a later frame of another interface so far (time_order.h; a
    /// cumulative count: the counter grows by what it gained).
    void set_out_of_order(std::uint64_t total) noexcept;
    /// The analyzer's cumulative counters (allocation failures, evictions, what the memory
    /// bounds dropped).
    void set_connection_stats(const analyze::ConnectionStats& stats) noexcept;
    /// RPC calls, error replies and service response times since the last call
    /// (RpcAnalyzer::take_activity), under the bounded labels of rpc_labels.h.
    void on_rpc(const analyze::RpcActivity& activity);
    /// The port it listens on (useful with port 0 in `listen`).
    [[nodiscard]] int port() const;
    /// The text exposition format, as served at /metrics.
    [[nodiscard]] std::string text() const;

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace vxcheck::app

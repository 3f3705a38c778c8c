#pragma once
// Prometheus metrics for `capture --metrics-listen` (prometheus-cpp). Private to src/app.

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "vxcheck/analyze/connections.h"
#include "vxcheck/analyze/rpc_analyzer.h"
#include "vxcheck/verify/verify.h"

namespace vxcheck::app {

class Metrics {
  public:
    /// Listens on `listen` for http://listen/metrics (metrics_http.h). Throws
    /// std::runtime_error naming the problem when it cannot listen.
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
    void set_open_connections(std::size_t n) noexcept;
    /// The analyzer's cumulative counters (allocation failures).
    void set_connection_stats(const analyze::ConnectionStats& stats) noexcept;
    /// RPC calls, error replies and service response times since the last call
    /// (RpcAnalyzer::take_activity), under the bounded labels of rpc_labels.h.
    void on_rpc(const analyze::RpcActivity& activity);
    /// The port it listens on (useful with port 0 in `listen`).
    [[nodiscard]] int port() const;

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace vxcheck::app

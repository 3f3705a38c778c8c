// Metric names follow Prometheus conventions: counters end in _total, labels are low-cardinality
// (interface, check, depth, status, verdict). Counters are created up front: the per-frame path
// only increments atomics.

#include "metrics.h"

#include <prometheus/counter.h>
#include <prometheus/exposer.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include <stdexcept>

#include "vxcheck/report/summary.h"

namespace vxcheck::app {

namespace {
constexpr std::size_t kDepths = 3;  // 0, 1, and "2+" share the last row
constexpr std::size_t kVerdicts = analyze::kVerdictCount;
}  // namespace

struct Metrics::Impl {
    std::shared_ptr<prometheus::Registry> registry = std::make_shared<prometheus::Registry>();
    std::unique_ptr<prometheus::Exposer> exposer;
    std::vector<prometheus::Counter*> frames;           // per interface
    std::vector<prometheus::Counter*> kernel_received;  // per interface
    std::vector<prometheus::Counter*> kernel_drops;     // per interface
    std::vector<std::uint64_t> last_received;
    std::vector<std::uint64_t> last_drops;
    std::array<std::array<std::array<prometheus::Counter*, verify::kStatusCount>, kDepths>,
               verify::kCheckCount>
        checksums{};
    std::array<prometheus::Counter*, kVerdicts> verdicts{};
    prometheus::Counter* syn_dropped = nullptr;
    prometheus::Gauge* open = nullptr;
    prometheus::Counter* alloc_failures = nullptr;
    std::uint64_t last_alloc_failures = 0;
};

Metrics::Metrics(const std::string& listen, const std::vector<std::string>& interfaces)
    : impl_(std::make_unique<Impl>()) {
    auto& r = *impl_->registry;
    auto& frames = prometheus::BuildCounter()
                       .Name("vxcheck_frames_total")
                       .Help("Frames captured, by interface")
                       .Register(r);
    auto& received = prometheus::BuildCounter()
                         .Name("vxcheck_kernel_received_total")
                         .Help("Frames the kernel queued for vxcheck (PACKET_STATISTICS)")
                         .Register(r);
    auto& drops = prometheus::BuildCounter()
                      .Name("vxcheck_capture_drops_total")
                      .Help("Frames the kernel dropped because vxcheck's buffer was full")
                      .Register(r);
    for (const auto& i : interfaces) {
        impl_->frames.push_back(&frames.Add({{"interface", i}}));
        impl_->kernel_received.push_back(&received.Add({{"interface", i}}));
        impl_->kernel_drops.push_back(&drops.Add({{"interface", i}}));
    }
    impl_->last_received.assign(interfaces.size(), 0);
    impl_->last_drops.assign(interfaces.size(), 0);
    auto& checks = prometheus::BuildCounter()
                       .Name("vxcheck_checksums_total")
                       .Help("Checksum verdicts by layer (ipv4, tcp, udp), tunnel depth and status")
                       .Register(r);
    for (std::size_t c = 0; c < verify::kCheckCount; ++c) {
        for (std::size_t d = 0; d < kDepths; ++d) {
            for (std::size_t s = 0; s < verify::kStatusCount; ++s) {
                impl_->checksums[c][d][s] = &checks.Add(
                    {{"check", std::string(verify::to_string(static_cast<verify::Check>(c)))},
                     {"depth", d + 1 == kDepths ? std::to_string(d) + "+" : std::to_string(d)},
                     {"status", std::string(verify::to_string(static_cast<verify::Status>(s)))}});
            }
        }
    }
    auto& verdicts = prometheus::BuildCounter()
                         .Name("vxcheck_connection_verdicts_total")
                         .Help("Connections that gained each verdict (counted once per connection)")
                         .Register(r);
    for (std::size_t v = 0; v < kVerdicts; ++v) {
        impl_->verdicts[v] = &verdicts.Add(
            {{"verdict", std::string(analyze::to_string(static_cast<analyze::Verdict>(v)))}});
    }
    impl_->syn_dropped = &prometheus::BuildCounter()
                              .Name("vxcheck_syn_dropped_total")
                              .Help("Connections whose retransmitted SYNs were never answered")
                              .Register(r)
                              .Add({});
    impl_->open = &prometheus::BuildGauge()
                       .Name("vxcheck_open_connections")
                       .Help("Connections currently tracked")
                       .Register(r)
                       .Add({});
    impl_->alloc_failures =
        &prometheus::BuildCounter()
             .Name("vxcheck_connection_alloc_failures_total")
             .Help("Packets whose connection analysis an allocation failure cut short")
             .Register(r)
             .Add({});
    try {
        impl_->exposer = std::make_unique<prometheus::Exposer>(listen);
    } catch (const std::exception& e) {
        throw std::runtime_error("--metrics-listen " + listen + ": cannot listen: " + e.what());
    }
    impl_->exposer->RegisterCollectable(impl_->registry);
}

Metrics::~Metrics() = default;

void Metrics::on_frame(std::size_t point, const verify::Verdicts& verdicts) noexcept {
    if (point < impl_->frames.size()) {
        impl_->frames[point]->Increment();
    }
    for (const verify::Verdict& v : verdicts.items()) {
        const std::size_t d = std::min<std::size_t>(v.depth, kDepths - 1);
        impl_->checksums[static_cast<std::size_t>(v.check)][d][static_cast<std::size_t>(v.status)]
            ->Increment();
    }
}

void Metrics::on_verdicts(const std::vector<analyze::Verdict>& gained) noexcept {
    for (const analyze::Verdict v : gained) {
        impl_->verdicts[static_cast<std::size_t>(v)]->Increment();
        if (v == analyze::Verdict::SynDropped) {
            impl_->syn_dropped->Increment();
        }
    }
}

void Metrics::set_kernel(std::size_t point, std::uint64_t received, std::uint64_t drops) noexcept {
    if (point >= impl_->kernel_received.size()) {
        return;
    }
    // PACKET_STATISTICS are cumulative here; counters only go up.
    if (received > impl_->last_received[point]) {
        impl_->kernel_received[point]->Increment(
            static_cast<double>(received - impl_->last_received[point]));
        impl_->last_received[point] = received;
    }
    if (drops > impl_->last_drops[point]) {
        impl_->kernel_drops[point]->Increment(
            static_cast<double>(drops - impl_->last_drops[point]));
        impl_->last_drops[point] = drops;
    }
}

void Metrics::set_open_connections(std::size_t n) noexcept {
    impl_->open->Set(static_cast<double>(n));
}

void Metrics::set_connection_stats(const analyze::ConnectionStats& stats) noexcept {
    // Cumulative in the analyzer; the counter only goes up.
    if (stats.alloc_failures > impl_->last_alloc_failures) {
        impl_->alloc_failures->Increment(
            static_cast<double>(stats.alloc_failures - impl_->last_alloc_failures));
        impl_->last_alloc_failures = stats.alloc_failures;
    }
}

}  // namespace vxcheck::app

// Metric names follow Prometheus conventions: counters end in _total, labels are low-cardinality
// (interface, check, depth, status, verdict). Counters are created up front: the per-frame path
// only increments atomics. The RPC series are created when first seen, with label values from
// the fixed tables of rpc_labels.h (bounded there), from the activity the RPC analyzer hands
// over every poll, never per packet.

#include "metrics.h"

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <stdexcept>

#include "metrics_http.h"
#include "rpc_labels.h"
#include "vxcheck/report/summary.h"

namespace vxcheck::app {

namespace {
constexpr std::size_t kDepths = 3;  // 0, 1, and "2+" share the last row
constexpr std::size_t kVerdicts = analyze::kVerdictCount;
}  // namespace

struct Metrics::Impl {
    std::shared_ptr<prometheus::Registry> registry = std::make_shared<prometheus::Registry>();
    std::unique_ptr<MetricsListener> listener;
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
    // What the bounds on memory dropped, by structure (ConnectionStats), and the values last
    // added: the flows decided early because the table was full, the VTEP pairs forgotten, the
    // evidence frames not kept, the connections whose counted verdicts were forgotten.
    static constexpr std::size_t kDropped = 6;
    std::array<prometheus::Counter*, kDropped> dropped{};
    std::array<std::uint64_t, kDropped> last_dropped{};
    prometheus::Family<prometheus::Counter>* rpc_calls = nullptr;
    prometheus::Family<prometheus::Counter>* rpc_errors = nullptr;
    prometheus::Family<prometheus::Histogram>* rpc_srt = nullptr;
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
    auto& dropped = prometheus::BuildCounter()
                        .Name("vxcheck_state_dropped_total")
                        .Help(
                            "What the bounds on memory dropped, by structure: flows decided "
                            "early (--max-flows), VTEP pairs forgotten (--max-vtep-pairs), "
                            "evidence frames not kept (--evidence-budget), connections whose "
                            "counted verdicts were forgotten, SYN/checksum/sighting records not "
                            "kept and connections not (fully) analysed for RPC (--state-budget)")
                        .Register(r);
    const std::array<const char*, Impl::kDropped> structures{
        "flows",          "vtep_pairs",        "evidence_frames",
        "verdict_memory", "connection_detail", "rpc_connections"};
    for (std::size_t i = 0; i < structures.size(); ++i) {
        impl_->dropped[i] = &dropped.Add({{"structure", structures[i]}});
    }
    impl_->rpc_calls = &prometheus::BuildCounter()
                            .Name("vxcheck_rpc_calls_total")
                            .Help("ONC RPC calls by program, version and procedure")
                            .Register(r);
    impl_->rpc_errors = &prometheus::BuildCounter()
                             .Name("vxcheck_rpc_errors_total")
                             .Help("ONC RPC error replies by program and status")
                             .Register(r);
    impl_->rpc_srt = &prometheus::BuildHistogram()
                          .Name("vxcheck_rpc_srt_seconds")
                          .Help("ONC RPC service response time (call to reply) by procedure")
                          .Register(r);
    // The registry outlives the listener (declared first in Impl, destroyed last).
    impl_->listener = std::make_unique<MetricsListener>(listen, [registry = impl_->registry.get()] {
        return prometheus::TextSerializer().Serialize(registry->Collect());
    });
}

void Metrics::serve() {
    impl_->listener->start();
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
    const std::array<std::uint64_t, Impl::kDropped> now{stats.evicted,
                                                        stats.vtep_pairs_evicted,
                                                        stats.evidence_frames_dropped,
                                                        stats.verdict_memory_evicted,
                                                        stats.detail_dropped,
                                                        stats.rpc_connections_dropped};
    for (std::size_t i = 0; i < now.size(); ++i) {
        if (now[i] > impl_->last_dropped[i]) {
            impl_->dropped[i]->Increment(static_cast<double>(now[i] - impl_->last_dropped[i]));
            impl_->last_dropped[i] = now[i];
        }
    }
}

int Metrics::port() const {
    return impl_->listener->port();
}

void Metrics::on_rpc(const analyze::RpcActivity& activity) {
    const auto procedure = [](std::uint32_t prog, std::uint32_t vers, std::uint32_t proc) {
        const ProcedureLabels l = procedure_labels(prog, vers, proc);
        return prometheus::Labels{
            {"program", l.program}, {"version", l.version}, {"procedure", l.procedure}};
    };
    for (const analyze::RpcActivity::Calls& c : activity.calls) {
        impl_->rpc_calls->Add(procedure(c.prog, c.vers, c.proc))
            .Increment(static_cast<double>(c.n));
    }
    for (const analyze::RpcActivity::Errors& e : activity.errors) {
        impl_->rpc_errors
            ->Add({{"program", program_label(e.prog)},
                   {"status", status_label(e.kind, e.code, e.detail)}})
            .Increment(static_cast<double>(e.n));
    }
    static const prometheus::Histogram::BucketBoundaries kBounds(analyze::kSrtBucketBounds.begin(),
                                                                 analyze::kSrtBucketBounds.end());
    std::vector<double> increments(analyze::kSrtBuckets);
    for (const analyze::RpcActivity::Srt& s : activity.srt) {
        std::copy(s.buckets.begin(), s.buckets.end(), increments.begin());
        impl_->rpc_srt->Add(procedure(s.prog, s.vers, s.proc), kBounds)
            .ObserveMultiple(increments, s.sum);
    }
}

}  // namespace vxcheck::app

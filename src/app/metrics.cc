// Metric names follow Prometheus conventions: counters end in _total, labels are low-cardinality
// (interface, check, depth, status, verdict, protocol, structure). Each quantity is one series:
// none is counted twice under two names (a SYN drop is the verdict syn_dropped, a flow evicted
// from the table is vxcheck_connections_evicted_total only). The registry holds vxcheck's own
// series only: the listener is vxcheck's (metrics_http.h), so no library series are mixed in.
// Counters are created up front: the per-frame path only increments atomics. The RPC series are
// created when first seen, with label values from the fixed tables of rpc_labels.h (bounded there),
// from the activity the RPC analyzer hands over every poll, never per packet.

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

// The text exposition format of every series, as /metrics serves it.
std::string exposition(prometheus::Registry& registry) {
    return prometheus::TextSerializer().Serialize(registry.Collect());
}
}  // namespace

struct Metrics::Impl {
    std::shared_ptr<prometheus::Registry> registry = std::make_shared<prometheus::Registry>();
    std::unique_ptr<MetricsListener> listener;
    std::vector<prometheus::Counter*> frames;           // per interface
    std::vector<prometheus::Counter*> kernel_received;  // per interface
    std::vector<prometheus::Counter*> kernel_drops;     // per interface
    std::vector<prometheus::Gauge*> up;                 // per interface
    std::vector<prometheus::Gauge*> last_frame;         // per interface
    std::vector<std::uint64_t> last_received;
    std::vector<std::uint64_t> last_drops;
    std::array<std::array<std::array<prometheus::Counter*, verify::kStatusCount>, kDepths>,
               verify::kCheckCount>
        checksums{};
    std::array<prometheus::Counter*, kVerdicts> verdicts{};
    prometheus::Gauge* tracked = nullptr;
    prometheus::Counter* out_of_order = nullptr;
    std::uint64_t last_out_of_order = 0;
    prometheus::Counter* alloc_failures = nullptr;
    std::uint64_t last_alloc_failures = 0;
    // Connections decided early because their table was full: TCP (--max-flows), UDP RPC flows.
    std::array<prometheus::Counter*, 2> evicted{};
    std::array<std::uint64_t, 2> last_evicted{};
    // What the other bounds on memory dropped, by structure (ConnectionStats), and the values
    // last added: the VTEP pairs forgotten, the evidence frames not kept, the connections whose
    // counted verdicts were forgotten, the records and RPC connections the state budget refused.
    static constexpr std::size_t kDropped = 5;
    std::array<prometheus::Counter*, kDropped> dropped{};
    std::array<std::uint64_t, kDropped> last_dropped{};
    prometheus::Family<prometheus::Counter>* rpc_calls = nullptr;
    prometheus::Family<prometheus::Counter>* rpc_errors = nullptr;
    prometheus::Family<prometheus::Histogram>* rpc_srt = nullptr;

    void add_build_info();
    void add_interfaces(const std::vector<std::string>& interfaces);
    void add_checksums();
    void add_connections();
    void add_rpc();
};

// Help texts say what each series counts, in the words of the README's metric list.
void Metrics::Impl::add_build_info() {
    prometheus::BuildGauge()
        .Name("vxcheck_build_info")
        .Help("Always 1; the labels name the running vxcheck build")
        .Register(*registry)
        .Add({{"version", VXCHECK_BUILD_VERSION}, {"compiler", VXCHECK_BUILD_COMPILER}})
        .Set(1);
}

void Metrics::Impl::add_interfaces(const std::vector<std::string>& interfaces) {
    auto& r = *registry;
    auto& f = prometheus::BuildCounter()
                  .Name("vxcheck_frames_total")
                  .Help("Frames read from the interface (those its capture filter passed)")
                  .Register(r);
    auto& rx = prometheus::BuildCounter()
                   .Name("vxcheck_kernel_received_total")
                   .Help(
                       "Frames the kernel passed to vxcheck's socket on the interface, read "
                       "or dropped (PACKET_STATISTICS tp_packets)")
                   .Register(r);
    auto& d = prometheus::BuildCounter()
                  .Name("vxcheck_capture_drops_total")
                  .Help(
                      "Frames of the interface the kernel dropped because vxcheck's socket "
                      "buffer was full (PACKET_STATISTICS tp_drops): not analysed")
                  .Register(r);
    auto& u = prometheus::BuildGauge()
                  .Name("vxcheck_interface_up")
                  .Help(
                      "1 while the interface is captured, 0 while it is down or gone and "
                      "bound again every second (its frames are not seen then)")
                  .Register(r);
    auto& last = prometheus::BuildGauge()
                     .Name("vxcheck_last_frame_timestamp_seconds")
                     .Help(
                         "Capture time (Unix seconds) of the last frame read on the "
                         "interface; 0 before the first")
                     .Register(r);
    for (const auto& i : interfaces) {
        frames.push_back(&f.Add({{"interface", i}}));
        kernel_received.push_back(&rx.Add({{"interface", i}}));
        kernel_drops.push_back(&d.Add({{"interface", i}}));
        up.push_back(&u.Add({{"interface", i}}));
        up.back()->Set(1);  // the interfaces are open when the metrics are made
        last_frame.push_back(&last.Add({{"interface", i}}));
    }
    last_received.assign(interfaces.size(), 0);
    last_drops.assign(interfaces.size(), 0);
}

void Metrics::Impl::add_checksums() {
    auto& checks = prometheus::BuildCounter()
                       .Name("vxcheck_checksums_total")
                       .Help(
                           "Checksum verdicts on the frames read, one per IPv4 header, TCP and "
                           "UDP checksum: by check, tunnel depth (0 outermost, 2+ deeper) and "
                           "status (ok, bad, partial, zero, unverified)")
                       .Register(*registry);
    for (std::size_t c = 0; c < verify::kCheckCount; ++c) {
        for (std::size_t d = 0; d < kDepths; ++d) {
            for (std::size_t s = 0; s < verify::kStatusCount; ++s) {
                checksums[c][d][s] = &checks.Add(
                    {{"check", std::string(verify::to_string(static_cast<verify::Check>(c)))},
                     {"depth", d + 1 == kDepths ? std::to_string(d) + "+" : std::to_string(d)},
                     {"status", std::string(verify::to_string(static_cast<verify::Status>(s)))}});
            }
        }
    }
}

void Metrics::Impl::add_connections() {
    auto& r = *registry;
    auto& v = prometheus::BuildCounter()
                  .Name("vxcheck_connection_verdicts_total")
                  .Help(
                      "Connections on the watched ports that gained each verdict (each "
                      "connection counted once per verdict; clean when it has none)")
                  .Register(r);
    for (std::size_t i = 0; i < kVerdicts; ++i) {
        verdicts[i] = &v.Add(
            {{"verdict", std::string(analyze::to_string(static_cast<analyze::Verdict>(i)))}});
    }
    tracked = &prometheus::BuildGauge()
                   .Name("vxcheck_tracked_connections")
                   .Help(
                       "Connections in the table now, open ones and closed ones not yet "
                       "decided and forgotten (at most --max-flows)")
                   .Register(r)
                   .Add({});
    out_of_order = &prometheus::BuildCounter()
                        .Name("vxcheck_frames_out_of_order_total")
                        .Help(
                            "Frames analysed after a later frame of another interface (several "
                            "-i: the frame came more than 20 ms late, or a burst filled the "
                            "interface's ring)")
                        .Register(r)
                        .Add({});
    alloc_failures = &prometheus::BuildCounter()
                          .Name("vxcheck_connection_alloc_failures_total")
                          .Help(
                              "Packets whose connection analysis an allocation failure cut "
                              "short")
                          .Register(r)
                          .Add({});
    auto& e = prometheus::BuildCounter()
                  .Name("vxcheck_connections_evicted_total")
                  .Help(
                      "Connections decided early, with what was seen so far, because their "
                      "table was full: tcp (--max-flows), udp (ONC RPC over UDP flows)")
                  .Register(r);
    evicted = {&e.Add({{"protocol", "tcp"}}), &e.Add({{"protocol", "udp"}})};
    auto& dropped_family = prometheus::BuildCounter()
                               .Name("vxcheck_state_dropped_total")
                               .Help(
                                   "Entries the other bounds on memory dropped, by structure: "
                                   "VTEP pairs forgotten (--max-vtep-pairs), evidence frames "
                                   "not kept (--evidence-budget), connections whose counted "
                                   "verdicts were forgotten (may be counted again), SYN, "
                                   "checksum and sighting records not kept and connections "
                                   "not (fully) analysed for RPC (--state-budget)")
                               .Register(r);
    const std::array<const char*, kDropped> structures{
        "vtep_pairs", "evidence_frames", "verdict_memory", "connection_detail", "rpc_connections"};
    for (std::size_t i = 0; i < structures.size(); ++i) {
        dropped[i] = &dropped_family.Add({{"structure", structures[i]}});
    }
}

void Metrics::Impl::add_rpc() {
    auto& r = *registry;
    rpc_calls = &prometheus::BuildCounter()
                     .Name("vxcheck_rpc_calls_total")
                     .Help("ONC RPC calls seen (every copy), by program, version and procedure")
                     .Register(r);
    rpc_errors = &prometheus::BuildCounter()
                      .Name("vxcheck_rpc_errors_total")
                      .Help("ONC RPC replies that carry an error, by program and status")
                      .Register(r);
    rpc_srt = &prometheus::BuildHistogram()
                   .Name("vxcheck_rpc_srt_seconds")
                   .Help("ONC RPC service response time, call to reply, by procedure")
                   .Register(r);
}

Metrics::Metrics(const std::string& listen, const std::vector<std::string>& interfaces)
    : impl_(std::make_unique<Impl>()) {
    impl_->add_build_info();
    impl_->add_interfaces(interfaces);
    impl_->add_checksums();
    impl_->add_connections();
    impl_->add_rpc();
    // The registry outlives the listener (declared first in Impl, destroyed last).
    impl_->listener = std::make_unique<MetricsListener>(
        listen, [registry = impl_->registry.get()] { return exposition(*registry); });
}

std::string Metrics::text() const {
    return exposition(*impl_->registry);
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

void Metrics::set_interface(std::size_t point, bool up, Timestamp last_frame) noexcept {
    if (point >= impl_->up.size()) {
        return;
    }
    impl_->up[point]->Set(up ? 1 : 0);
    impl_->last_frame[point]->Set(static_cast<double>(last_frame.sec) +
                                  static_cast<double>(last_frame.nsec) * 1e-9);
}

void Metrics::set_tracked_connections(std::size_t n) noexcept {
    impl_->tracked->Set(static_cast<double>(n));
}

namespace {
// Adds to a counter what a cumulative value grew by since `last` (counters only go up).
void add_growth(prometheus::Counter& counter, std::uint64_t now, std::uint64_t& last) {
    if (now > last) {
        counter.Increment(static_cast<double>(now - last));
        last = now;
    }
}

template <std::size_t N>
void add_growth(const std::array<prometheus::Counter*, N>& counters,
                const std::array<std::uint64_t, N>& now, std::array<std::uint64_t, N>& last) {
    for (std::size_t i = 0; i < N; ++i) {
        add_growth(*counters[i], now[i], last[i]);
    }
}
}  // namespace

void Metrics::set_out_of_order(std::uint64_t total) noexcept {
    add_growth(*impl_->out_of_order, total, impl_->last_out_of_order);
}

void Metrics::set_connection_stats(const analyze::ConnectionStats& stats) noexcept {
    // Cumulative in the analyzer; the counters only go up.
    add_growth(*impl_->alloc_failures, stats.alloc_failures, impl_->last_alloc_failures);
    add_growth(impl_->evicted, {stats.evicted, stats.udp_evicted}, impl_->last_evicted);
    add_growth(impl_->dropped,
               {stats.vtep_pairs_evicted, stats.evidence_frames_dropped,
                stats.verdict_memory_evicted, stats.detail_dropped, stats.rpc_connections_dropped},
               impl_->last_dropped);
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

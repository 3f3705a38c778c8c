// `vxcheck capture`: live capture on one or more interfaces. One thread: poll() the sockets,
// drain what is queued through the same per-frame pipeline and frame consumer as `analyze`,
// ask the connection analyzer every 100 ms which connections were just decided and print them,
// a status line on stderr every few seconds, and the full report at the end (SIGINT, SIGTERM,
// --duration, --count). An interface that goes down is reopened once a second until it is
// back.

#include <poll.h>
#include <spdlog/spdlog.h>

#include <array>
#include <atomic>
#include <csignal>
#include <cstdio>
#include <ctime>
#include <memory>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "frame_consumer.h"
#include "run_common.h"
#include "verdict_memory.h"
#include "vxcheck/analyze/rules.h"
#include "vxcheck/app/pipeline.h"
#include "vxcheck/capture/source.h"
#include "vxcheck/report/pcapng_writer.h"
#include "vxcheck/report/reporter.h"

#ifdef VXCHECK_HAVE_PROMETHEUS
#include "metrics.h"
#endif

namespace vxcheck::app {
namespace {

std::atomic<bool> g_stop{false};

extern "C" void on_stop_signal(int) {
    g_stop.store(true);
}

void stop_on_signals() {
    struct sigaction sa {};
    sa.sa_handler = on_stop_signal;
    ::sigemptyset(&sa.sa_mask);
    ::sigaction(SIGINT, &sa, nullptr);
    ::sigaction(SIGTERM, &sa, nullptr);
    g_stop.store(false);
}

Timestamp wall_clock() noexcept {
    timespec ts{};
    ::clock_gettime(CLOCK_REALTIME, &ts);
    return Timestamp{.sec = ts.tv_sec, .nsec = static_cast<std::uint32_t>(ts.tv_nsec)};
}

double seconds(Timestamp a, Timestamp b) noexcept {
    return static_cast<double>(b.sec - a.sec) +
           (static_cast<double>(b.nsec) - static_cast<double>(a.nsec)) * 1e-9;
}

// An interface, its capture point (its index), and what was read from it.
struct Point {
    std::string name;
    std::unique_ptr<capture::LiveSource> source;  // null while the interface is down
    report::Summary summary;
    std::uint32_t write_id = 0;
    Timestamp last_reopen;
    capture::LiveStats stats_before;  // of sources closed after an error

    // The kernel's counters over every source this interface has had.
    [[nodiscard]] capture::LiveStats stats() const {
        if (!source) {
            return stats_before;
        }
        const auto s = source->stats();
        return {stats_before.received + s.received, stats_before.kernel_drops + s.kernel_drops};
    }
};

// Opens every interface (the first that fails ends the run: false).
bool open_points(const CaptureConfig& config, const capture::LiveOptions& live,
                 std::vector<Point>& points) {
    for (const std::string& name : config.interfaces) {
        Point p;
        p.name = name;
        try {
            p.source = capture::open_live(name, live);
        } catch (const capture::OpenError& e) {
            spdlog::error("{}", e.what());
            return false;
        }
        p.summary.file = name;
        p.summary.link_type = p.source->link_name();
        points.push_back(std::move(p));
    }
    return true;
}

// Where frames and figures go besides the report: --write and --metrics-listen.
struct Outputs {
    std::unique_ptr<report::PcapngWriter> writer;
    bool write_failed = false;
#ifdef VXCHECK_HAVE_PROMETHEUS
    std::unique_ptr<Metrics> metrics;
#endif

    // Opens them (a failure is logged and ends the run: false).
    bool open(const CaptureConfig& config, std::vector<Point>& points) {
        try {
            if (!config.write_path.empty()) {
                writer =
                    std::make_unique<report::PcapngWriter>(config.write_path, "vxcheck capture");
                for (Point& p : points) {
                    p.write_id = writer->add_interface(p.name, p.source->link());
                }
            }
        } catch (const std::exception& e) {
            spdlog::error("{}", e.what());
            return false;
        }
#ifdef VXCHECK_HAVE_PROMETHEUS
        if (!config.metrics_listen.empty()) {
            try {
                metrics = std::make_unique<Metrics>(config.metrics_listen, config.interfaces);
            } catch (const std::exception& e) {
                spdlog::error("{}", e.what());
                return false;
            }
        }
#else
        if (!config.metrics_listen.empty()) {
            spdlog::error("--metrics-listen: this vxcheck was built without prometheus-cpp");
            return false;
        }
#endif
        return true;
    }

    // Keeps a frame for --write; the first failure is logged and ends the writing.
    void write(const Point& p, const RawFrame& frame) {
        if (!writer || write_failed) {
            return;
        }
        try {
            writer->write(p.write_id, frame.ts, frame.data, frame.wirelen);
        } catch (const std::exception& e) {
            spdlog::error("{}; no longer writing", e.what());
            write_failed = true;
        }
    }

    // Flushes --write; whether everything was written.
    bool close() {
        if (write_failed) {
            return false;
        }
        if (writer) {
            try {
                writer->flush();
            } catch (const std::exception& e) {
                spdlog::error("{}", e.what());
                return false;
            }
        }
        return true;
    }
};

// The capture loop and its steps, from the opened interfaces to the final report.
class LiveRun {
  public:
    LiveRun(const CaptureConfig& config, const capture::LiveOptions& live,
            std::vector<Point>& points, Outputs& outputs, report::Reporter& reporter)
        : config_(config),
          live_(live),
          points_(points),
          outputs_(outputs),
          // Packets are listed in the JSON report only.
          consumer_(config.connections, reporter,
                    config.json ? config.packets : PacketSelection::None, config.evidence_path,
                    [this](const analyze::ConnectionReport& c) { count_verdicts(c); }),
          processor_(config.decode),
          counted_(config.connections.max_flows) {
        processor_.prefetch_for(&consumer_.connections());  // as analyze does
        for (const Point& p : points_) {
            consumer_.add_point(p.name);
        }
        consumer_.count_verdict_memory(&counted_.evicted());
#ifdef VXCHECK_HAVE_PROMETHEUS
        if (outputs_.metrics && consumer_.rpc() != nullptr) {
            consumer_.rpc()->keep_activity();
        }
#endif
    }

    // Until SIGINT/SIGTERM, --count frames or --duration.
    void loop();
    // The report of every interface, then every connection; the exit code.
    ExitCode final_report();

  private:
    void read_ready();
    void read_point(std::size_t index);
    void lose(Point& p);
    void reopen_down(Timestamp now);
    void poll_decided(Timestamp now);
    void status_line(Timestamp now) const;
    void count_verdicts(const analyze::ConnectionReport& c);

    const CaptureConfig& config_;
    const capture::LiveOptions& live_;
    std::vector<Point>& points_;
    Outputs& outputs_;
    FrameConsumer consumer_;
    FrameProcessor processor_;
    // The verdicts counted per connection, for as many connections as may be tracked at once.
    VerdictMemory counted_;
    std::array<std::uint64_t, analyze::kVerdictCount> verdict_counts_{};
    Timestamp start_;
    std::uint64_t frames_ = 0;
    RawFrame frame_;
    std::vector<pollfd> pfds_;
    std::vector<std::size_t> pfd_point_;
};

void LiveRun::loop() {
    std::string names;
    for (const Point& p : points_) {
        names += (names.empty() ? "" : ", ") + p.name;
    }
    spdlog::info("capturing on {} (filter: {}); Ctrl-C stops and prints the report", names,
                 config_.filter.empty() ? "none" : config_.filter);
    start_ = wall_clock();
    Timestamp last_poll = start_;
    Timestamp last_status = start_;
    while (!g_stop.load()) {
        read_ready();
        const Timestamp now = wall_clock();
        reopen_down(now);
        if (seconds(last_poll, now) >= 0.1) {
            last_poll = now;
            poll_decided(now);
        }
        if (config_.status_interval_s > 0 &&
            seconds(last_status, now) >= config_.status_interval_s) {
            last_status = now;
            status_line(now);
        }
        if (config_.duration_s > 0 && seconds(start_, now) >= config_.duration_s) {
            break;
        }
    }
}

// Waits up to 100 ms for frames on the interfaces that are up, then reads what is queued.
void LiveRun::read_ready() {
    pfds_.clear();
    pfd_point_.clear();
    for (std::size_t i = 0; i < points_.size(); ++i) {
        if (points_[i].source) {
            pfds_.push_back(pollfd{.fd = points_[i].source->fd(), .events = POLLIN, .revents = 0});
            pfd_point_.push_back(i);
        }
    }
    ::poll(pfds_.data(), pfds_.size(), 100);
    for (const std::size_t index : pfd_point_) {
        read_point(index);
    }
}

// A bounded batch per interface, so that one busy interface cannot starve the rest.
void LiveRun::read_point(std::size_t index) {
    Point& p = points_[index];
    const auto point = static_cast<std::uint16_t>(index);
    for (int n = 0; n < 4096 && p.source; ++n) {
        const capture::ReadStatus st = p.source->next(frame_);
        if (st == capture::ReadStatus::WouldBlock || st == capture::ReadStatus::End) {
            break;
        }
        if (st == capture::ReadStatus::Error) {
            lose(p);
            break;
        }
        ++frames_;
        processor_.process(frame_, p.summary);
        consumer_.analyse(p.name, point, processor_);
#ifdef VXCHECK_HAVE_PROMETHEUS
        if (outputs_.metrics) {
            outputs_.metrics->on_frame(index, processor_.verdicts());
        }
#endif
        outputs_.write(p, frame_);
        if (config_.count != 0 && frames_ >= config_.count) {
            g_stop.store(true);
            break;
        }
    }
}

// The interface failed (went down, say): it is reopened later, and the failed source's kernel
// counters are kept (those of the last source closed: they replace any kept before).
void LiveRun::lose(Point& p) {
    spdlog::warn("{}; reopening it every second", p.source->error());
    p.stats_before = p.source->stats();
    p.source.reset();
    p.last_reopen = wall_clock();
}

void LiveRun::reopen_down(Timestamp now) {
    for (Point& p : points_) {
        if (!p.source && seconds(p.last_reopen, now) >= 1.0) {
            p.last_reopen = now;
            try {
                p.source = capture::open_live(p.name, live_);
                spdlog::info("{}: capturing again", p.name);
            } catch (const capture::OpenError&) {
                // still down; try again in a second
            }
        }
    }
}

// Prints the connections decided since the last poll (settled, evicted, idle).
void LiveRun::poll_decided(Timestamp now) {
    consumer_.poll(now);
    consumer_.drain();  // connections decided early (table full, idle)
#ifdef VXCHECK_HAVE_PROMETHEUS
    if (outputs_.metrics) {
        outputs_.metrics->set_open_connections(consumer_.connections().open_connections());
        analyze::ConnectionStats stats = consumer_.connections().stats();
        stats.verdict_memory_evicted = counted_.evicted();
        outputs_.metrics->set_connection_stats(stats);
        if (analyze::RpcAnalyzer* rpc = consumer_.rpc()) {
            analyze::RpcActivity activity;
            rpc->take_activity(activity);
            outputs_.metrics->on_rpc(activity);
        }
        for (std::size_t i = 0; i < points_.size(); ++i) {
            if (points_[i].source) {
                const capture::LiveStats s = points_[i].stats();
                outputs_.metrics->set_kernel(i, s.received, s.kernel_drops);
            }
        }
    }
#endif
}

void LiveRun::status_line(Timestamp now) const {
    std::string per;
    std::uint64_t drops = 0;
    for (const Point& p : points_) {
        per += (per.empty() ? "" : ", ") + p.name + " " + std::to_string(p.summary.frames_read) +
               (p.source ? "" : " (down)");
        if (p.source) {
            drops += p.stats().kernel_drops;
        }
    }
    std::string verdicts;
    for (std::size_t v = 0; v < verdict_counts_.size(); ++v) {
        if (verdict_counts_[v] != 0 && v != static_cast<std::size_t>(analyze::Verdict::Clean)) {
            verdicts += (verdicts.empty() ? "" : ", ") +
                        std::string(to_string(static_cast<analyze::Verdict>(v))) + " " +
                        std::to_string(verdict_counts_[v]);
        }
    }
    std::fprintf(stderr,
                 "vxcheck: %.0f s | %llu frames (%s) | %llu kernel drops | %zu open "
                 "connections | verdicts: %s\n",
                 seconds(start_, now), static_cast<unsigned long long>(frames_), per.c_str(),
                 static_cast<unsigned long long>(drops), consumer_.connections().open_connections(),
                 verdicts.empty() ? "none" : verdicts.c_str());
}

// Counts the verdicts a connection gained since it was last reported (live, a connection is
// reported when first decided and again at the end), for the status line and the metrics.
void LiveRun::count_verdicts(const analyze::ConnectionReport& c) {
    const std::uint32_t fresh = counted_.gained(c);
    std::vector<analyze::Verdict> gained;
    for (const auto v : c.verdicts) {
        if ((fresh & (1U << static_cast<unsigned>(v))) != 0) {
            gained.push_back(v);
            ++verdict_counts_[static_cast<std::size_t>(v)];
        }
    }
#ifdef VXCHECK_HAVE_PROMETHEUS
    if (outputs_.metrics) {
        outputs_.metrics->on_verdicts(gained);
    }
#endif
}

// As `analyze` prints it: per interface, then every connection.
ExitCode LiveRun::final_report() {
    for (Point& p : points_) {
        const capture::LiveStats stats = p.stats();
        if (stats.kernel_drops != 0) {
            p.summary.read_error = std::to_string(stats.kernel_drops) +
                                   " frames dropped by the kernel (buffer full; try --buffer-size)";
        }
        consumer_.begin_file(p.summary);
        consumer_.end_file(p.summary);
    }
    bool error = !outputs_.close();
    const report::ConnectionTotals totals = consumer_.finish(error);
    return error ? ExitCode::Error : outcome(consumer_.total(), totals);
}

}  // namespace

std::string default_capture_filter(const CaptureConfig& config) {
    std::string f;
    if (config.connections.all_ports) {
        f = "tcp";
    } else {
        for (const auto p : config.connections.ports) {
            f += (f.empty() ? "tcp port " : " or tcp port ") + std::to_string(p);
        }
        if (config.connections.loopback_proxy_ports) {
            // efs-utils' local TLS proxy ports, on loopback only (the analyzer's rule).
            f += " or (tcp portrange " + std::to_string(analyze::kEfsProxyPortMin) + "-" +
                 std::to_string(analyze::kEfsProxyPortMax) +
                 " and (net 127.0.0.0/8 or ip6 host ::1))";
        }
    }
    for (const auto p : config.decode.vxlan_ports) {
        f += " or udp dst port " + std::to_string(p);
    }
    for (const auto p : config.decode.geneve_ports) {
        f += " or udp dst port " + std::to_string(p);
    }
    return f + " or icmp or icmp6";
}

ExitCode run_capture(const CaptureConfig& config, std::ostream& out) {
    const capture::LiveOptions live{
        .filter = config.filter, .snaplen = config.snaplen, .buffer_bytes = config.buffer_bytes};
    std::vector<Point> points;
    if (!open_points(config, live, points)) {
        return ExitCode::Error;
    }
    Outputs outputs;
    if (!outputs.open(config, points)) {
        return ExitCode::Error;
    }
    stop_on_signals();
    auto reporter = config.json ? report::make_json_reporter(out)
                                : report::make_text_reporter(out, {.max_rows = config.max_rows});
    LiveRun run(config, live, points, outputs, *reporter);
    run.loop();
    return run.final_report();
}

}  // namespace vxcheck::app

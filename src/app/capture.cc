// `vxcheck capture`: live capture on one or more interfaces. One thread: poll() the sockets,
// drain what is queued through the same per-frame pipeline and frame consumer as `analyze`,
// ask the connection analyzer every 100 ms which connections were just decided and print them,
// a status on stderr every few seconds (a JSON object with --json, live_log.h), and the full
// report at the end (SIGINT, SIGTERM, SIGHUP, SIGPIPE, --duration, --count). At the end what is
// still queued in the sockets is read for a short bounded time, and what remains is counted. An
// interface that goes down is bound again once a second until it is back, or until
// --give-up-after. Once the sockets and the metrics listener are open, every privilege is
// dropped (privileges.h).

#include <poll.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <csignal>
#include <cstdio>
#include <ctime>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "frame_consumer.h"
#include "input_points.h"
#include "live_log.h"
#include "live_points.h"
#include "output_files.h"
#include "privileges.h"
#include "run_common.h"
#include "time_order.h"
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
std::atomic<int> g_signal{0};  // the signal that stopped the capture, 0 if none

// How long the sockets are read at the end for what is still queued in them.
constexpr double kDrainSeconds = 0.25;
// How long a frame of several interfaces is held for frames of the others stamped before it
// (time_order.h): far above the microseconds from the kernel's stamp to the socket, far below
// what a live verdict may lag.
constexpr std::int64_t kOrderHoldNs = 20'000'000;

extern "C" void on_stop_signal(int sig) {
    g_signal.store(sig);
    g_stop.store(true);
}

// SIGHUP (the terminal went away) and SIGPIPE (a reader of stdout went away) end the capture as
// SIGINT and SIGTERM do: --write flushed whole, the report written where it still can be.
void stop_on_signals() {
    struct sigaction sa {};
    sa.sa_handler = on_stop_signal;
    ::sigemptyset(&sa.sa_mask);
    for (const int sig : {SIGINT, SIGTERM, SIGHUP, SIGPIPE}) {
        ::sigaction(sig, &sa, nullptr);
    }
    g_stop.store(false);
    g_signal.store(0);
}

// Where frames and figures go besides the report: --write, --evidence and --metrics-listen.
struct Outputs {
    std::unique_ptr<report::PcapngWriter> writer;
    std::vector<std::pair<std::uint16_t, std::uint32_t>> any_ids;  // -i any's points: interface
    std::unique_ptr<report::OutputFile> evidence;                  // handed to the FrameConsumer
    bool write_failed = false;
#ifdef VXCHECK_HAVE_PROMETHEUS
    std::unique_ptr<Metrics> metrics;
#endif

    // Opens them, the files created now (output_files.h; a failure is logged and ends the
    // run: false).
    bool open(const CaptureConfig& config, std::vector<Point>& points) {
        try {
            const RunFiles files = files_of(config);
            if (auto file = open_output(files, "--write", config.file_mode)) {
                writer =
                    std::make_unique<report::PcapngWriter>(std::move(*file), "vxcheck capture");
                for (Point& p : points) {
                    p.write_id = writer->add_interface(p.name, p.source->link());
                }
            }
            evidence = open_output(files, "--evidence", config.file_mode);
        } catch (const std::exception& e) {
            spdlog::error("{}", e.what());
            return false;
        }
#ifdef VXCHECK_HAVE_PROMETHEUS
        if (!config.metrics_listen.empty()) {
            try {
                std::vector<std::string> names;  // as resolved (-i default-route)
                for (const Point& p : points) {
                    names.push_back(p.name);
                }
                metrics = std::make_unique<Metrics>(config.metrics_listen, names);
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

    // Keeps a frame for --write; the first failure is logged and ends the writing. A frame of
    // -i any goes to an interface of its own (`at`, named `name`, described when first seen),
    // so that reading the file again gives the points this run has (input_points.h).
    void write(const Point& p, const RawFrame& frame, std::uint16_t at, const std::string& name) {
        if (!writer || write_failed) {
            return;
        }
        try {
            std::uint32_t id = p.write_id;
            if (name != p.name) {
                const auto it = std::find_if(any_ids.begin(), any_ids.end(),
                                             [&](const auto& k) { return k.first == at; });
                if (it != any_ids.end()) {
                    id = it->second;
                } else {
                    id = writer->add_interface(name, frame.link);
                    any_ids.emplace_back(at, id);
                }
            }
            writer->write(id, frame.ts, frame.data, frame.wirelen);
        } catch (const std::exception& e) {
            spdlog::error("{}; no longer writing", e.what());
            write_failed = true;
        }
    }

    // capture -w -: what is buffered goes out now, so that the reader of the pipe (tcpdump -r -,
    // tshark -r -) sees the frames as they come.
    void flush_pipe() {
        if (!writer || write_failed) {
            return;
        }
        try {
            writer->flush();
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
                writer->close();
            } catch (const std::exception& e) {
                spdlog::error("{}", e.what());
                return false;
            }
        }
        return true;
    }
};

// The point of the interface "any" (its frames without an SLL2 header), if it is captured.
std::uint16_t any_index(const std::vector<Point>& points) {
    for (std::size_t i = 0; i < points.size(); ++i) {
        if (points[i].source->link() == LinkType::LinuxSll2) {
            return static_cast<std::uint16_t>(i);
        }
    }
    return 0;
}

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
                    config.json ? config.packets : PacketSelection::None,
                    std::move(outputs.evidence),
                    [this](const analyze::ConnectionReport& c) { count_verdicts(c); }),
          any_(consumer_, any_index(points)),
          processor_(config.decode),
          counted_(config.connections.max_flows) {
        if (points_.size() > 1) {
            order_.emplace(points_.size(), TimeOrder::Limits{.hold_ns = kOrderHoldNs});
        }
        processor_.prefetch_for(&consumer_.connections());  // as analyze does
        consumer_.enable_reassembly(config.decode);
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

    // Until a stop signal, --count frames, --duration or --give-up-after.
    void loop();
    // Reads what is still queued in the sockets, for at most kDrainSeconds.
    void drain();
    // Hands on the frames still held for their time order.
    void flush_order();
    // The report of every interface, then every connection; the exit code.
    ExitCode final_report();

  private:
    void read_ready();
    bool read_point(std::size_t index);
    void deliver(std::size_t index, const RawFrame& frame);
    void reopen_down(Timestamp now);
    void poll_decided(Timestamp now);
    void status(Timestamp now) const;
    void update_metrics();
    void count_verdicts(const analyze::ConnectionReport& c);

    const CaptureConfig& config_;
    const capture::LiveOptions& live_;
    std::vector<Point>& points_;
    Outputs& outputs_;
    FrameConsumer consumer_;
    AnyPoints any_;  // the points of -i any's interfaces
    FrameProcessor processor_;
    // The verdicts counted per connection, for as many connections as may be tracked at once.
    VerdictMemory counted_;
    std::array<std::uint64_t, analyze::kVerdictCount> verdict_counts_{};
    Timestamp start_;
    std::uint64_t frames_ = 0;
    bool gave_up_ = false;  // an interface stayed down longer than --give-up-after
    RawFrame frame_;
    // Several interfaces: their frames put back in time order (time_order.h).
    std::optional<TimeOrder> order_;
    Timestamp round_start_;
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
    while (!g_stop.load() && !gave_up_) {
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
            status(now);
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
        if (points_[i].up) {
            pfds_.push_back(pollfd{.fd = points_[i].source->fd(), .events = POLLIN, .revents = 0});
            pfd_point_.push_back(i);
        }
    }
    ::poll(pfds_.data(), pfds_.size(), 100);
    round_start_ = wall_clock();
    if (order_) {
        order_->begin_round(round_start_);
    }
    for (const std::size_t index : pfd_point_) {
        if (read_point(index) && order_) {
            order_->unfinished(index);
        }
    }
    if (order_) {
        order_->end_round(wall_clock(),
                          [this](std::size_t point, const RawFrame& f) { deliver(point, f); });
    }
}

// A bounded batch per interface, so that one busy interface cannot starve the rest; whether
// more may be queued (the batch ended full).
bool LiveRun::read_point(std::size_t index) {
    Point& p = points_[index];
    for (int n = 0; n < 4096 && p.up; ++n) {
        const capture::ReadStatus st = p.source->next(frame_);
        if (st == capture::ReadStatus::WouldBlock || st == capture::ReadStatus::End) {
            return false;
        }
        if (st == capture::ReadStatus::Error) {
            lose(p, wall_clock());
            return false;
        }
        ++frames_;
        if (order_) {
            order_->hold(index, frame_, round_start_,
                         [this](std::size_t point, const RawFrame& f) { deliver(point, f); });
        } else {
            deliver(index, frame_);
        }
        if (config_.count != 0 && frames_ >= config_.count) {
            g_stop.store(true);
            return false;
        }
    }
    return p.up;
}

// One frame of interface `index`, in time order, through the pipeline and to the outputs.
void LiveRun::deliver(std::size_t index, const RawFrame& frame) {
    Point& p = points_[index];
    processor_.process(frame, p.summary);
    // -i any: each interface its own point (input_points.h); only "any" gives SLL2 frames.
    const std::uint16_t at = frame.link == LinkType::LinuxSll2 ? any_.point_of(frame)
                                                               : static_cast<std::uint16_t>(index);
    consumer_.analyse(p.name, at, processor_);
#ifdef VXCHECK_HAVE_PROMETHEUS
    if (outputs_.metrics) {
        outputs_.metrics->on_frame(index, processor_.verdicts());
    }
#endif
    outputs_.write(p, frame, at, consumer_.connections().points()[at]);
}

// Hands on every frame still held (the end of the capture), and says how many came late.
void LiveRun::flush_order() {
    if (!order_) {
        return;
    }
    order_->flush([this](std::size_t point, const RawFrame& f) { deliver(point, f); });
    if (order_->late() != 0) {
        spdlog::warn(
            "{} frames were analysed after a later frame of another interface (they came more "
            "than {} ms late, or a burst filled an interface's {} MiB ring)",
            order_->late(), kOrderHoldNs / 1'000'000, TimeOrder::Limits{}.ring_bytes >> 20);
    }
}

void LiveRun::drain() {
    if (config_.count != 0 && frames_ >= config_.count) {
        return;  // what is queued beyond --count stays unread, and is counted so
    }
    const Timestamp start = wall_clock();
    bool more = true;
    while (more && seconds(start, wall_clock()) < kDrainSeconds) {
        more = false;
        for (std::size_t i = 0; i < points_.size(); ++i) {
            more = read_point(i) || more;
        }
    }
}

// Binds the lost interfaces again; ends the capture when one stays down past --give-up-after.
void LiveRun::reopen_down(Timestamp now) {
    for (Point& p : points_) {
        if (!retry(p, now) && config_.give_up_after_s > 0 &&
            seconds(p.down_since, now) >= config_.give_up_after_s) {
            spdlog::error("{}: down for {:.1f} s (--give-up-after): stopping the capture", p.name,
                          seconds(p.down_since, now));
            p.summary.read_error =
                fmt::format("the interface went down and did not come back within {:g} s",
                            config_.give_up_after_s);
            gave_up_ = true;
        }
    }
}

// Prints the connections decided since the last poll (settled, evicted, idle).
void LiveRun::poll_decided(Timestamp now) {
    if (config_.write_path == "-") {
        outputs_.flush_pipe();
    }
    consumer_.poll(now);
    consumer_.drain();  // connections decided early (table full, idle)
    update_metrics();
}

// The figures the metrics take from the analyzer and the interfaces, every poll.
void LiveRun::update_metrics() {
#ifdef VXCHECK_HAVE_PROMETHEUS
    if (!outputs_.metrics) {
        return;
    }
    Metrics& m = *outputs_.metrics;
    m.set_tracked_connections(consumer_.connections().open_connections());
    m.set_out_of_order(order_ ? order_->late() : 0);
    analyze::ConnectionStats stats = consumer_.connections().stats();
    stats.verdict_memory_evicted = counted_.evicted();
    m.set_connection_stats(stats);
    if (analyze::RpcAnalyzer* rpc = consumer_.rpc()) {
        analyze::RpcActivity activity;
        rpc->take_activity(activity);
        m.on_rpc(activity);
    }
    for (std::size_t i = 0; i < points_.size(); ++i) {
        const Point& p = points_[i];
        const capture::LiveStats s = p.stats();
        m.set_kernel(i, s.received, s.kernel_drops);
        m.set_interface(i, p.up, p.summary.frames_read != 0 ? p.summary.last_ts : Timestamp{});
    }
#endif
}

// The status on stderr: a line, or with --json a JSON object (live_log.h).
void LiveRun::status(Timestamp now) const {
    StatusFacts s{.now = now,
                  .elapsed_s = seconds(start_, now),
                  .frames = frames_,
                  .interfaces = {},
                  .tracked_connections = consumer_.connections().open_connections(),
                  .verdicts = verdict_counts_};
    for (const Point& p : points_) {
        s.interfaces.push_back({.name = p.name,
                                .frames = p.summary.frames_read,
                                .kernel_drops = p.stats().kernel_drops,
                                .up = p.up});
    }
    const std::string line = config_.json ? status_json(s) : status_text(s);
    std::fwrite(line.data(), 1, line.size(), stderr);
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
    if (const int sig = g_signal.load(); sig != 0) {
        spdlog::info("stopped by {}", sig == SIGINT    ? "SIGINT"
                                      : sig == SIGTERM ? "SIGTERM"
                                      : sig == SIGHUP  ? "SIGHUP"
                                                       : "SIGPIPE");
    }
    for (Point& p : points_) {
        const capture::LiveStats stats = p.stats();
        const std::string note = kernel_note(stats, p.source->buffer_bytes(), live_.buffer_bytes);
        if (!note.empty()) {
            spdlog::warn("{}: {}", p.name, note);
            p.summary.read_error += (p.summary.read_error.empty() ? "" : "; ") + note;
        }
        consumer_.begin_file(p.summary);
        consumer_.end_file(p.summary);
    }
    bool error = !outputs_.close() || gave_up_;
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
    if (config.json) {
        log_as_json_lines();  // stdout and stderr together are JSON Lines (live_log.h)
    }
    std::optional<RunAs> user;
    std::vector<Point> points;
    Outputs outputs;
    try {
        if (!config.run_as.empty()) {
            user = lookup_user(config.run_as);  // before anything is opened
        }
        if (!open_points(config, live, points) || !outputs.open(config, points)) {
            return ExitCode::Error;
        }
        drop_privileges(user);
    } catch (const PrivilegeError& e) {
        spdlog::error("{}", e.what());
        return ExitCode::Error;
    }
#ifdef VXCHECK_HAVE_PROMETHEUS
    if (outputs.metrics) {
        outputs.metrics->serve();  // its thread holds no privilege either
    }
#endif
    stop_on_signals();
    auto reporter = config.json ? report::make_json_reporter(out)
                                : report::make_text_reporter(out, {.max_rows = config.max_rows});
    LiveRun run(config, live, points, outputs, *reporter);
    run.loop();
    run.drain();
    run.flush_order();
    return run.final_report();
}

}  // namespace vxcheck::app

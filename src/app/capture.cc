// `vxcheck capture`: live capture on one or more interfaces. One thread: poll() the sockets,
// drain what is queued through the same per-frame pipeline as `analyze`, ask the connection
// analyzer every 100 ms which connections were just decided and print them, a status line on
// stderr every few seconds, and the full report at the end (SIGINT, SIGTERM, --duration,
// --count). An interface that goes down is reopened once a second until it is back.

#include <poll.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <ctime>
#include <map>
#include <memory>
#include <ostream>

#include "run_common.h"
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

Timestamp wall_clock() noexcept {
    timespec ts{};
    ::clock_gettime(CLOCK_REALTIME, &ts);
    return Timestamp{.sec = ts.tv_sec, .nsec = static_cast<std::uint32_t>(ts.tv_nsec)};
}

double seconds(Timestamp a, Timestamp b) noexcept {
    return static_cast<double>(b.sec - a.sec) +
           (static_cast<double>(b.nsec) - static_cast<double>(a.nsec)) * 1e-9;
}

struct Point {
    std::string name;
    std::unique_ptr<capture::LiveSource> source;  // null while the interface is down
    report::Summary summary;
    std::uint32_t write_id = 0;
    Timestamp last_reopen;
    capture::LiveStats stats_before;  // of sources closed after an error
    capture::LiveStats stats;
};

std::uint32_t verdict_bits(const analyze::ConnectionReport& c) {
    std::uint32_t bits = 0;
    for (const auto v : c.verdicts) {
        bits |= 1U << static_cast<unsigned>(v);
    }
    return bits;
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
    capture::LiveOptions live{
        .filter = config.filter, .snaplen = config.snaplen, .buffer_bytes = config.buffer_bytes};
    std::vector<Point> points;
    for (const std::string& name : config.interfaces) {
        Point p;
        p.name = name;
        try {
            p.source = capture::open_live(name, live);
        } catch (const capture::OpenError& e) {
            spdlog::error("{}", e.what());
            return ExitCode::Error;
        }
        p.summary.file = name;
        p.summary.link_type = p.source->link_name();
        points.push_back(std::move(p));
    }

    std::unique_ptr<report::PcapngWriter> writer;
    try {
        if (!config.write_path.empty()) {
            writer = std::make_unique<report::PcapngWriter>(config.write_path, "vxcheck capture");
            for (Point& p : points) {
                p.write_id = writer->add_interface(p.name, p.source->link());
            }
        }
    } catch (const std::exception& e) {
        spdlog::error("{}", e.what());
        return ExitCode::Error;
    }
#ifdef VXCHECK_HAVE_PROMETHEUS
    std::unique_ptr<Metrics> metrics;
    if (!config.metrics_listen.empty()) {
        try {
            metrics = std::make_unique<Metrics>(config.metrics_listen, config.interfaces);
        } catch (const std::exception& e) {
            spdlog::error("{}", e.what());
            return ExitCode::Error;
        }
    }
#else
    if (!config.metrics_listen.empty()) {
        spdlog::error("--metrics-listen: this vxcheck was built without prometheus-cpp");
        return ExitCode::Error;
    }
#endif

    struct sigaction sa {};
    sa.sa_handler = on_stop_signal;
    ::sigemptyset(&sa.sa_mask);
    ::sigaction(SIGINT, &sa, nullptr);
    ::sigaction(SIGTERM, &sa, nullptr);
    g_stop.store(false);

    auto reporter = config.json ? report::make_json_reporter(out)
                                : report::make_text_reporter(out, {.max_rows = config.max_rows});
    analyze::ConnectionAnalyzer connections(config.connections);
    FrameProcessor processor(config.decode);
    processor.prefetch_for(&connections);  // as analyze does
    for (const Point& p : points) {
        connections.add_point(p.name);
    }
    std::map<std::pair<std::string, std::string>, std::uint32_t> counted;  // verdict bits seen
    std::array<std::uint64_t, analyze::kVerdictCount> verdict_counts{};
    auto count_verdicts = [&](const analyze::ConnectionReport& c) {
        auto& seen = counted[{track::to_string(c.client), track::to_string(c.server)}];
        std::vector<analyze::Verdict> gained;
        for (const auto v : c.verdicts) {
            if ((seen & (1U << static_cast<unsigned>(v))) == 0) {
                gained.push_back(v);
                ++verdict_counts[static_cast<std::size_t>(v)];
            }
        }
        seen |= verdict_bits(c);
#ifdef VXCHECK_HAVE_PROMETHEUS
        if (metrics) {
            metrics->on_verdicts(gained);
        }
#endif
    };
    ConnectionOutput output(connections, config.connections, *reporter, config.evidence_path,
                            count_verdicts);

    std::string names;
    for (const Point& p : points) {
        names += (names.empty() ? "" : ", ") + p.name;
    }
    spdlog::info("capturing on {} (filter: {}); Ctrl-C stops and prints the report", names,
                 config.filter.empty() ? "none" : config.filter);

    const Timestamp start = wall_clock();
    Timestamp last_poll = start;
    Timestamp last_status = start;
    std::uint64_t frames = 0;
    bool write_failed = false;
    RawFrame frame;
    std::vector<pollfd> pfds;
    std::vector<std::size_t> pfd_point;
    while (!g_stop.load()) {
        pfds.clear();
        pfd_point.clear();
        for (std::size_t i = 0; i < points.size(); ++i) {
            if (points[i].source) {
                pfds.push_back(
                    pollfd{.fd = points[i].source->fd(), .events = POLLIN, .revents = 0});
                pfd_point.push_back(i);
            }
        }
        ::poll(pfds.data(), pfds.size(), 100);
        for (std::size_t k = 0; k < pfds.size(); ++k) {
            Point& p = points[pfd_point[k]];
            // Drain a bounded batch per interface so one busy interface cannot starve the rest.
            for (int n = 0; n < 4096 && p.source; ++n) {
                const capture::ReadStatus st = p.source->next(frame);
                if (st == capture::ReadStatus::WouldBlock || st == capture::ReadStatus::End) {
                    break;
                }
                if (st == capture::ReadStatus::Error) {
                    spdlog::warn("{}; reopening it every second", p.source->error());
                    const auto s = p.source->stats();
                    p.stats_before.received = s.received;
                    p.stats_before.kernel_drops = s.kernel_drops;
                    p.source.reset();
                    p.last_reopen = wall_clock();
                    break;
                }
                ++frames;
                processor.process(frame, p.summary);
                connections.on_packet(processor.context(static_cast<std::uint16_t>(pfd_point[k])));
#ifdef VXCHECK_HAVE_PROMETHEUS
                if (metrics) {
                    metrics->on_frame(pfd_point[k], processor.verdicts());
                }
#endif
                if (config.json && selected(config.packets, processor)) {
                    reporter->packet({p.name, processor.packet(), processor.verdicts()});
                }
                if (writer && !write_failed) {
                    try {
                        writer->write(p.write_id, frame.ts, frame.data, frame.wirelen);
                    } catch (const std::exception& e) {
                        spdlog::error("{}; no longer writing", e.what());
                        write_failed = true;
                    }
                }
                if (config.count != 0 && frames >= config.count) {
                    g_stop.store(true);
                    break;
                }
            }
        }
        const Timestamp now = wall_clock();
        for (Point& p : points) {
            if (!p.source && seconds(p.last_reopen, now) >= 1.0) {
                p.last_reopen = now;
                try {
                    p.source = capture::open_live(p.name, live);
                    spdlog::info("{}: capturing again", p.name);
                } catch (const capture::OpenError&) {
                    // still down; try again in a second
                }
            }
        }
        if (seconds(last_poll, now) >= 0.1) {
            last_poll = now;
            for (const auto& c : connections.poll(now)) {
                count_verdicts(c);
                reporter->event(c, connections.points());
            }
            output.drain();  // connections decided early (table full, idle)
#ifdef VXCHECK_HAVE_PROMETHEUS
            if (metrics) {
                metrics->set_open_connections(connections.open_connections());
                metrics->set_connection_stats(connections.stats());
                for (std::size_t i = 0; i < points.size(); ++i) {
                    if (points[i].source) {
                        const auto s = points[i].source->stats();
                        metrics->set_kernel(i, points[i].stats_before.received + s.received,
                                            points[i].stats_before.kernel_drops + s.kernel_drops);
                    }
                }
            }
#endif
        }
        if (config.status_interval_s > 0 && seconds(last_status, now) >= config.status_interval_s) {
            last_status = now;
            std::string per;
            std::uint64_t drops = 0;
            for (Point& p : points) {
                per += (per.empty() ? "" : ", ") + p.name + " " +
                       std::to_string(p.summary.frames_read) + (p.source ? "" : " (down)");
                if (p.source) {
                    drops += p.stats_before.kernel_drops + p.source->stats().kernel_drops;
                }
            }
            std::string verdicts;
            for (std::size_t v = 0; v < verdict_counts.size(); ++v) {
                if (verdict_counts[v] != 0 &&
                    v != static_cast<std::size_t>(analyze::Verdict::Clean)) {
                    verdicts += (verdicts.empty() ? "" : ", ") +
                                std::string(to_string(static_cast<analyze::Verdict>(v))) + " " +
                                std::to_string(verdict_counts[v]);
                }
            }
            std::fprintf(stderr,
                         "vxcheck: %.0f s | %llu frames (%s) | %llu kernel drops | %zu open "
                         "connections | verdicts: %s\n",
                         seconds(start, now), static_cast<unsigned long long>(frames), per.c_str(),
                         static_cast<unsigned long long>(drops), connections.open_connections(),
                         verdicts.empty() ? "none" : verdicts.c_str());
        }
        if (config.duration_s > 0 && seconds(start, now) >= config.duration_s) {
            break;
        }
    }

    // The final report, as `analyze` prints it: per interface, then every connection.
    report::Summary total;
    for (std::size_t i = 0; i < points.size(); ++i) {
        Point& p = points[i];
        if (p.source) {
            const auto s = p.source->stats();
            p.stats = {p.stats_before.received + s.received,
                       p.stats_before.kernel_drops + s.kernel_drops};
        } else {
            p.stats = p.stats_before;
        }
        if (p.stats.kernel_drops != 0) {
            p.summary.read_error = std::to_string(p.stats.kernel_drops) +
                                   " frames dropped by the kernel (buffer full; try --buffer-size)";
        }
        reporter->begin_file(p.name, p.summary.link_type);
        reporter->end_file(p.summary);
        total.merge(p.summary);
    }
    bool error = write_failed;
    if (writer && !write_failed) {
        try {
            writer->flush();
        } catch (const std::exception& e) {
            spdlog::error("{}", e.what());
            error = true;
        }
    }
    const report::ConnectionTotals totals = output.finish(error);
    reporter->finish(total, points.size(), totals);
    return error ? ExitCode::Error : outcome(total, totals);
}

}  // namespace vxcheck::app

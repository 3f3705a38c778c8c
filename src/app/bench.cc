// `vxcheck bench FILE`: throughput of the whole analyze pipeline on a capture held in memory.
//
// The capture is loaded once (every frame copied into memory), so that the runs measure vxcheck
// and not the disk or the page cache.
// Each run makes five passes over the frames: decode; decode + verify; decode + verify +
// summary tallies + digest (FrameProcessor without its fast path); FrameProcessor as analyze
// runs it, the fast path taking the frames of its two shapes (include/vxcheck/fastpath/); and
// the full pipeline of analyze through the same FrameConsumer (connection tracking and verdicts,
// decided connections drained as analyze drains them, the packet lines and the text report,
// written to a sink that only hashes it), in batches on one thread, as analyze runs a pcap file
// (analyse_in_memory, bench.h). A stage's cost is the difference between two passes, best run of
// each; the fast path's is what it saves (negative). With --threads N the full pipeline also runs
// on N threads (parallel.cc), and its report hash is compared with the one-thread report.

#include "bench.h"

#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <limits>
#include <memory>
#include <nlohmann/json.hpp>
#include <ostream>
#include <streambuf>
#include <string>
#include <vector>

#include "frame_consumer.h"
#include "parallel.h"
#include "run_common.h"
#include "vxcheck/analyze/connections.h"
#include "vxcheck/app/pipeline.h"
#include "vxcheck/capture/source.h"
#include "vxcheck/decode/decode.h"
#include "vxcheck/report/reporter.h"
#include "vxcheck/verify/verify.h"

namespace vxcheck::app {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
    return std::chrono::duration<double>(Clock::now() - start).count();
}

constexpr std::size_t kChunkBytes = std::size_t{64} << 20;  // arena chunks for copied frames

// Every frame of one capture, in memory.
struct Capture {
    std::unique_ptr<capture::Source> source;  // owns the mapping that stable frames point into
    std::vector<RawFrame> frames;
    std::vector<std::unique_ptr<std::uint8_t[]>> chunks;  // copies of frames that die at next()
    std::size_t chunk_used = kChunkBytes;
    std::uint64_t bytes = 0;
    std::string link_name;
    std::string error;  // the read error the file ended with, if any
    double load_seconds = 0;

    const std::uint8_t* keep(Bytes data) {
        if (data.size() > kChunkBytes - chunk_used) {
            chunks.push_back(std::make_unique<std::uint8_t[]>(std::max(kChunkBytes, data.size())));
            chunk_used = 0;
        }
        std::uint8_t* dst = chunks.back().get() + chunk_used;
        std::copy(data.begin(), data.end(), dst);
        chunk_used += data.size();
        return dst;
    }
};

// A progress line on stderr while a large capture loads: in place on a terminal, one line every
// few seconds otherwise (logs).
class LoadProgress {
  public:
    explicit LoadProgress(const std::string& file)
        : file_(file), tty_(::isatty(STDERR_FILENO) != 0) {}

    void tick(const capture::Source& src, std::uint64_t frames) {
        if ((frames & 0xffffU) != 0) {
            return;
        }
        const auto now = Clock::now();
        if (now - last_ < (tty_ ? std::chrono::seconds(1) : std::chrono::seconds(5))) {
            return;
        }
        last_ = now;
        shown_ = true;
        const double pct = src.size() != 0 ? 100.0 * static_cast<double>(src.position()) /
                                                 static_cast<double>(src.size())
                                           : 0.0;
        std::fprintf(stderr, "%sloading %s: %llu frames, %.0f%%%s", tty_ ? "\r" : "", file_.c_str(),
                     static_cast<unsigned long long>(frames), pct, tty_ ? "   " : "\n");
    }

    void done() const {
        if (shown_ && tty_) {
            std::fprintf(stderr, "\r\033[K");
        }
    }

  private:
    const std::string& file_;
    bool tty_;
    bool shown_ = false;
    Clock::time_point last_ = Clock::now();
};

Capture load(const std::string& file) {
    const auto start = Clock::now();
    Capture cap;
    cap.source = capture::open_file(file);
    cap.link_name = cap.source->link_name();
    LoadProgress progress(file);
    RawFrame frame;
    capture::ReadStatus status;
    while ((status = cap.source->next(frame)) == capture::ReadStatus::Frame) {
        frame.data = Bytes{cap.keep(frame.data), frame.data.size()};
        cap.bytes += frame.caplen;
        cap.frames.push_back(frame);
        progress.tick(*cap.source, cap.frames.size());
    }
    progress.done();
    if (status == capture::ReadStatus::Error) {
        cap.error = cap.source->error();
    }
    cap.load_seconds = seconds_since(start);
    return cap;
}

// An output stream that keeps only a hash and a count of what is written to it: the report
// is produced (its cost is part of the pipeline) but not stored.
class HashingBuf final : public std::streambuf {
  public:
    [[nodiscard]] std::uint64_t hash() const noexcept { return hash_; }
    [[nodiscard]] std::uint64_t bytes() const noexcept { return bytes_; }

  protected:
    int_type overflow(int_type c) override {
        if (!traits_type::eq_int_type(c, traits_type::eof())) {
            mix(static_cast<unsigned char>(c));
        }
        return traits_type::not_eof(c);
    }
    std::streamsize xsputn(const char* s, std::streamsize n) override {
        for (std::streamsize i = 0; i < n; ++i) {
            mix(static_cast<unsigned char>(s[i]));
        }
        return n;
    }

  private:
    void mix(unsigned char c) noexcept {  // FNV-1a
        hash_ = (hash_ ^ c) * 0x100000001b3ULL;
        ++bytes_;
    }
    std::uint64_t hash_ = 0xcbf29ce484222325ULL;
    std::uint64_t bytes_ = 0;
};

struct ReportHash {
    std::uint64_t hash = 0;
    std::uint64_t bytes = 0;
    bool operator==(const ReportHash&) const = default;
};

// A full pass: the whole time, and the part after the last frame (deciding every connection
// and writing the report), which does not grow with the frames but with the connections.
struct FullTimes {
    double seconds = 0;
    double report_seconds = 0;
};

// --- the passes ------------------------------------------------------------------------------

volatile std::size_t g_sink;  // keeps the partial passes from being optimised away

// The headers of frame i + kAhead are requested while frame i is processed. The capture is in
// memory, not in the cache: without this a pass that reads only the headers (decode alone) waits
// for memory at every frame, while the passes that sum whole frames stream through them, so the
// stage differences came out negative. analyze reads a block into the cache just before it
// decodes it (pcap_source.cc), which this stands in for.
constexpr std::size_t kAhead = 4;
inline void prefetch_frame(const std::vector<RawFrame>& frames, std::size_t i) noexcept {
    if (i + kAhead < frames.size()) {
        const std::uint8_t* p = frames[i + kAhead].data.data();
        __builtin_prefetch(p);
        __builtin_prefetch(p + 64);
        __builtin_prefetch(p + 128);
    }
}

double pass_decode(const Capture& cap, const decode::DecodeOptions& options) {
    const auto start = Clock::now();
    auto pkt = std::make_unique<decode::DecodedPacket>();
    std::size_t layers = 0;
    for (std::size_t i = 0; i < cap.frames.size(); ++i) {
        prefetch_frame(cap.frames, i);
        const RawFrame& f = cap.frames[i];
        decode::decode(f, options, *pkt);
        layers += pkt->layers().size();
    }
    g_sink = layers;
    return seconds_since(start);
}

double pass_verify(const Capture& cap, const decode::DecodeOptions& options) {
    const auto start = Clock::now();
    auto pkt = std::make_unique<decode::DecodedPacket>();
    verify::Verdicts verdicts;
    std::size_t n = 0;
    for (std::size_t i = 0; i < cap.frames.size(); ++i) {
        prefetch_frame(cap.frames, i);
        const RawFrame& f = cap.frames[i];
        decode::decode(f, options, *pkt);
        verify::verify(*pkt, verdicts);
        n += verdicts.items().size();
    }
    g_sink = n;
    return seconds_since(start);
}

// FrameProcessor, as analyze runs it: with the fast path as `options` say (and then how many
// frames it took in `fast_frames`), or without.
double pass_tally(const Capture& cap, const decode::DecodeOptions& options,
                  std::uint64_t* fast_frames = nullptr) {
    const auto start = Clock::now();
    auto processor = std::make_unique<FrameProcessor>(options);
    report::Summary summary;
    for (std::size_t i = 0; i < cap.frames.size(); ++i) {
        prefetch_frame(cap.frames, i);
        processor->process(cap.frames[i], summary);
    }
    g_sink = static_cast<std::size_t>(summary.decoded);
    if (fast_frames != nullptr) {
        *fast_frames = processor->fast_frames();
    }
    return seconds_since(start);
}

// The full pipeline of `vxcheck analyze FILE` (text report, bad packets listed), through the
// batch pipeline as analyze runs it (src/app/analyze.cc), on one thread or on more.
FullTimes pass_full(const Capture& cap, const BenchConfig& config, const std::string& file,
                    BatchPipeline& pipeline, ReportHash& out) {
    const auto start = Clock::now();
    HashingBuf buf;
    std::ostream os(&buf);
    auto reporter = report::make_text_reporter(os);
    FrameConsumer consumer(config.connections, *reporter, PacketSelection::Bad);
    consumer.enable_reassembly(config.decode);  // as analyze does
    Clock::time_point frames_done;
    analyse_in_memory(cap.frames, file, cap.link_name, pipeline, consumer, &frames_done);
    os.flush();
    out = {buf.hash(), buf.bytes()};
    return {seconds_since(start), seconds_since(frames_done)};
}

std::uint64_t peak_rss_kb() {
    rusage ru{};
    ::getrusage(RUSAGE_SELF, &ru);
    return static_cast<std::uint64_t>(ru.ru_maxrss);
}

struct Best {
    double seconds = std::numeric_limits<double>::infinity();
    std::vector<double> runs;
    void add(double s) {
        runs.push_back(s);
        seconds = std::min(seconds, s);
    }
};

// --- the runs and what they print ---------------------------------------------------------------

// Every pass's runs, and what the full passes reported.
struct Results {
    Best decode_only;
    Best verify_too;
    Best tally_general;
    Best tally_too;
    std::uint64_t fast_frames = 0;
    Best full;
    Best report;  // the part of a full pass after the last frame
    Best parallel;
    ReportHash one;
    ReportHash many;
    bool identical = true;
};

Results run_passes(const Capture& cap, const BenchConfig& config) {
    BatchPipeline single(config.decode, 1);  // analyze's one thread: in batches too
    std::unique_ptr<BatchPipeline> pipeline;
    if (config.threads > 1) {
        pipeline = std::make_unique<BatchPipeline>(config.decode, config.threads);
    }
    // The first three passes take the general path (decode(), verify()); the fourth is
    // FrameProcessor as analyze runs it, the fast path included (unless --no-fast-path).
    decode::DecodeOptions general = config.decode;
    general.fast_path = false;
    Results r;
    for (unsigned i = 0; i < config.repeat; ++i) {
        r.decode_only.add(pass_decode(cap, general));
        r.verify_too.add(pass_verify(cap, general));
        r.tally_general.add(pass_tally(cap, general));
        r.tally_too.add(config.decode.fast_path ? pass_tally(cap, config.decode, &r.fast_frames)
                                                : r.tally_general.runs.back());
        const FullTimes t = pass_full(cap, config, config.file, single, r.one);
        r.full.add(t.seconds);
        r.report.add(t.report_seconds);
        if (pipeline) {
            r.parallel.add(pass_full(cap, config, config.file, *pipeline, r.many).seconds);
            r.identical = r.identical && r.many == r.one;
        }
    }
    return r;
}

// Stage costs in ns per packet, from differences of best runs; noise can make one slightly
// negative.
struct Stages {
    explicit Stages(const Capture& cap, const Results& r)
        : n(static_cast<double>(cap.frames.size())),
          decode(ns(r.decode_only.seconds)),
          verify(ns(r.verify_too.seconds) - ns(r.decode_only.seconds)),
          tally(ns(r.tally_general.seconds) - ns(r.verify_too.seconds)),
          fast(ns(r.tally_too.seconds) - ns(r.tally_general.seconds)),  // < 0: saved
          report(ns(r.report.seconds)),
          analyze(ns(r.full.seconds) - ns(r.tally_too.seconds) - report),
          full(ns(r.full.seconds)),
          pps(n / r.full.seconds),
          gbps(static_cast<double>(cap.bytes) * 8 / r.full.seconds / 1e9) {}

    [[nodiscard]] double ns(double s) const { return s * 1e9 / n; }

    double n;
    double decode;
    double verify;
    double tally;
    double fast;
    double report;
    double analyze;
    double full;
    double pps;
    double gbps;
};

void print_json(const Capture& cap, const BenchConfig& config, const Results& r, const Stages& st,
                std::uint64_t rss, std::ostream& out) {
    nlohmann::ordered_json j;
    j["type"] = "bench";
    j["file"] = config.file;
    j["frames"] = cap.frames.size();
    j["bytes_captured"] = cap.bytes;
    j["frames_copied"] = cap.frames.size();  // every frame is copied into memory
    j["load_seconds"] = cap.load_seconds;
    j["repeat"] = config.repeat;
    j["threads"] = config.threads;
    j["pps"] = st.pps;
    j["gbit_per_s"] = st.gbps;
    j["ns_per_packet"] = st.full;
    j["seconds"] = r.full.seconds;
    j["runs_seconds"] = r.full.runs;
    j["fast_path_frames"] = r.fast_frames;
    j["stages_ns_per_packet"] = {{"decode", st.decode},         {"verify", st.verify},
                                 {"summary", st.tally},         {"fast_path", st.fast},
                                 {"track_analyze", st.analyze}, {"decide_report", st.report}};
    j["passes_seconds"] = {{"decode", r.decode_only.runs},
                           {"decode_verify", r.verify_too.runs},
                           {"decode_verify_summary", r.tally_general.runs},
                           {"frame_processor", r.tally_too.runs},
                           {"full", r.full.runs},
                           {"full_after_last_frame", r.report.runs}};
    if (config.threads > 1) {
        j["parallel"] = {
            {"threads", config.threads},
            {"pps", st.n / r.parallel.seconds},
            {"gbit_per_s", static_cast<double>(cap.bytes) * 8 / r.parallel.seconds / 1e9},
            {"ns_per_packet", st.ns(r.parallel.seconds)},
            {"seconds", r.parallel.seconds},
            {"runs_seconds", r.parallel.runs},
            {"speedup", r.full.seconds / r.parallel.seconds},
            {"output_identical", r.identical}};
    }
    j["report_bytes"] = r.one.bytes;
    j["peak_rss_kb"] = rss;
    if (!cap.error.empty()) {
        j["error"] = cap.error;
    }
    out << j.dump() << '\n';
}

void print_text(const Capture& cap, const BenchConfig& config, const Results& r, const Stages& st,
                std::uint64_t rss, std::ostream& out) {
    char line[200];
    const auto print = [&](const char* fmt, auto... args) {
        std::snprintf(line, sizeof line, fmt, args...);
        out << line;
    };
    out << "vxcheck bench " << config.file << '\n';
    print("  %zu frames, %llu captured bytes, copied into memory in %.2f s\n", cap.frames.size(),
          static_cast<unsigned long long>(cap.bytes), cap.load_seconds);
    print("  %u run%s of each pass, best kept; the fast path took %.1f%% of the frames\n\n",
          config.repeat, config.repeat == 1 ? "" : "s",
          100.0 * static_cast<double>(r.fast_frames) / st.n);
    print("  %-34s %10s %7s\n", "stage", "ns/packet", "share");
    const auto stage = [&](const char* name, double v) {
        print("  %-34s %10.1f %6.1f%%\n", name, v, 100.0 * v / st.full);
    };
    stage("decode", st.decode);
    stage("checksums and verdicts (verify)", st.verify);
    stage("summary tallies + digest", st.tally);
    stage("fast path instead (saved if < 0)", st.fast);
    stage("track + analyze (connections)", st.analyze);
    stage("decide + report (at the end)", st.report);
    stage("full pipeline", st.full);
    out << '\n';
    print("  1 thread:  %8.3f Mpps  %7.2f Gbit/s  %7.1f ns/packet  (%.3f s per run)\n",
          st.pps / 1e6, st.gbps, st.full, r.full.seconds);
    if (config.threads > 1) {
        print(
            "  %u threads: %7.3f Mpps  %7.2f Gbit/s  %7.1f ns/packet  (%.3f s, %.2fx one "
            "thread, report %s)\n",
            config.threads, st.n / r.parallel.seconds / 1e6,
            static_cast<double>(cap.bytes) * 8 / r.parallel.seconds / 1e9,
            st.ns(r.parallel.seconds), r.parallel.seconds, r.full.seconds / r.parallel.seconds,
            r.identical ? "identical" : "DIFFERENT");
    }
    print("  peak RSS: %.1f MiB\n", static_cast<double>(rss) / 1024.0);
}

}  // namespace

report::ConnectionTotals analyse_in_memory(std::span<const RawFrame> frames,
                                           const std::string& file, const std::string& link_name,
                                           BatchPipeline& pipeline, FrameConsumer& consumer,
                                           std::chrono::steady_clock::time_point* frames_done) {
    const std::uint16_t point = consumer.add_file_point(file);
    report::Summary summary;
    summary.file = file;
    summary.point = consumer.connections().points()[point];
    summary.link_type = link_name;
    consumer.begin_file(summary);
    std::size_t next = 0;
    pipeline.prefetch_slots_for(&consumer.connections());  // as analyze does
    pipeline.run(
        [&](FrameBatch& batch) {
            while (!batch.full() && next < frames.size()) {
                batch.add_view(frames[next++]);
            }
            return next < frames.size();
        },
        [&](const FrameBatch& batch) { consumer.analyse(file, point, batch, summary); });
    pipeline.prefetch_slots_for(nullptr);  // the consumer's connections may go
    if (frames_done != nullptr) {
        *frames_done = std::chrono::steady_clock::now();
    }
    consumer.end_file(summary);
    bool error = false;
    return consumer.finish(error);
}

ExitCode run_bench(const BenchConfig& config, std::ostream& out) {
    Capture cap;
    try {
        cap = load(config.file);
    } catch (const capture::OpenError& e) {
        spdlog::error("{}", e.what());
        return ExitCode::Error;
    }
    if (!cap.error.empty()) {
        spdlog::error("{}: stopped after frame {}: {} (benchmarking the frames read)", config.file,
                      cap.frames.size(), cap.error);
    }
    if (cap.frames.empty()) {
        spdlog::error("{}: no frames to benchmark", config.file);
        return ExitCode::Error;
    }
    const Results r = run_passes(cap, config);
    const Stages st(cap, r);
    const std::uint64_t rss = peak_rss_kb();
    if (config.json) {
        print_json(cap, config, r, st, rss, out);
    } else {
        print_text(cap, config, r, st, rss, out);
    }
    if (!r.identical) {
        spdlog::error("--threads {} gave a different report than one thread", config.threads);
        return ExitCode::Error;
    }
    return cap.error.empty() ? ExitCode::Clean : ExitCode::Error;
}

}  // namespace vxcheck::app

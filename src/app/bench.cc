// `vxcheck bench FILE`: throughput of the whole analyze pipeline on a capture held in memory,
// and where the time goes, on one thread and on --threads N.
//
// The capture is loaded once (every frame copied into memory), so that most passes measure
// vxcheck and not the disk or the page cache. Each run makes these passes over the frames:
//  - decode; decode + verify; decode + verify + summary tallies + digest (FrameProcessor without
//    its fast path); FrameProcessor as analyze runs it, the fast path taking the frames of its
//    two shapes (include/vxcheck/fastpath/): one frame after another, one thread;
//  - on one thread and, with --threads N, on N: the batch pipeline with nothing after it (the
//    stateless stages and the batches' hand-off); the full pipeline of analyze without the RPC
//    analysis (--no-rpc); the full pipeline through the same FrameConsumer as analyze
//    (connection tracking and verdicts, the RPC analysis, decided connections drained as
//    analyze drains them, the packet lines and the text report, written to a sink that only
//    hashes it), as analyze runs a pcap file (analyse_in_memory, bench.h);
//  - reading: the file's records through its extents (BlockReader) and nothing else, one
//    thread; and run_analyze itself on the file (reading included, as `vxcheck analyze FILE`),
//    on one thread and on N.
// A stage's cost is the difference between two passes, best run of each: on one thread the
// stages add up to the full pipeline; on N threads a difference is what the stage adds to the
// wall time (the stages overlap). The fast path's is what it saves (negative). The reports of
// every full pass (one thread, N, from memory and from the file) must hash the same.

#include "bench.h"

#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <limits>
#include <memory>
#include <nlohmann/json.hpp>
#include <ostream>
#include <span>
#include <streambuf>
#include <string>
#include <vector>

#include "file_order.h"
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
    cap.source = in_time_order(file, capture::open_file(file));
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
// batch pipeline as analyze runs it (src/app/analyze.cc), on one thread or on more, with the
// connection options `connections` (the RPC analysis on or off).
FullTimes pass_full(const Capture& cap, const analyze::ConnectionOptions& connections,
                    const BenchConfig& config, BatchPipeline& pipeline, ReportHash& out) {
    const auto start = Clock::now();
    HashingBuf buf;
    std::ostream os(&buf);
    auto reporter = report::make_text_reporter(os);
    FrameConsumer consumer(connections, *reporter, PacketSelection::Bad);
    consumer.enable_reassembly(config.decode);  // as analyze does
    Clock::time_point frames_done;
    analyse_in_memory(cap.frames, config.file, cap.link_name, pipeline, consumer, &frames_done);
    os.flush();
    out = {buf.hash(), buf.bytes()};
    return {seconds_since(start), seconds_since(frames_done)};
}

// The batch pipeline with nothing after it: each batch filled, decoded, verified, tallied and
// digested (on the pipeline's threads), then handed over in order and dropped.
double pass_stateless(const Capture& cap, BatchPipeline& pipeline) {
    const auto start = Clock::now();
    std::size_t next = 0;
    std::uint64_t decoded = 0;
    pipeline.run(
        [&](FrameBatch& batch) {
            while (!batch.full() && next < cap.frames.size()) {
                batch.add_view(cap.frames[next++]);
            }
            return next < cap.frames.size();
        },
        [&](const FrameBatch& batch) { decoded += batch.tally().decoded; });
    g_sink = static_cast<std::size_t>(decoded);
    return seconds_since(start);
}

// Reading alone: the file's records as analyze reads them on one thread (four extents of about
// a batch each, read with one preadv() and walked), each frame's last byte touched, as the bare
// read loop does (tools/bench/readloop.cc); what the walk leaves comes from next(). The file is
// in the page cache after the load, so this is the kernel's copy and the walk.
double pass_read(const std::string& file, std::uint64_t& frames) {
    constexpr std::size_t kGroup = 4;  // as BatchPipeline reads
    const auto start = Clock::now();
    auto source = capture::open_file(file);
    std::array<capture::ExtentBuffer, kGroup> storage;
    std::array<capture::BlockReader::Read, kGroup> reads{};
    std::array<capture::BlockReader::Read*, kGroup> group{};
    std::vector<RawFrame> walked(FrameBatch::kCapacity);
    std::vector<std::uint8_t> copies;
    std::uint64_t n = 0;
    unsigned touched = 0;
    capture::BlockReader* const blocks = source->blocks();
    while (blocks != nullptr && blocks->walking()) {
        std::size_t k = 0;
        while (k < kGroup && blocks->claim(walked.size(), reads[k].extent)) {
            reads[k].storage = &storage[k];
            group[k] = &reads[k];
            ++k;
        }
        if (k == 0) {
            break;
        }
        blocks->read(std::span<capture::BlockReader::Read* const>(group.data(), k));
        for (std::size_t i = 0; i < k; ++i) {
            const std::size_t m = blocks->walk(reads[i].extent, reads[i].bytes, walked, copies);
            for (std::size_t f = 0; f < m; ++f) {
                touched ^= walked[f].data.empty() ? 0U : walked[f].data.back();
            }
            n += m;
        }
    }
    RawFrame frame;
    while (source->next(frame) == capture::ReadStatus::Frame) {
        touched ^= frame.data.empty() ? 0U : frame.data.back();
        ++n;
    }
    g_sink = touched;
    frames = n;
    return seconds_since(start);
}

// `vxcheck analyze FILE` itself (run_analyze: reading the file included), with the text report
// into a hashing sink, on `threads` threads.
double pass_analyze_file(const BenchConfig& config, unsigned threads, ReportHash& out) {
    AnalyzeConfig analyze;
    analyze.files = {config.file};
    analyze.point_names = {""};
    analyze.decode = config.decode;
    analyze.connections = config.connections;
    analyze.packets = PacketSelection::Bad;
    analyze.threads = threads;
    const auto start = Clock::now();
    HashingBuf buf;
    std::ostream os(&buf);
    run_analyze(analyze, os);
    os.flush();
    out = {buf.hash(), buf.bytes()};
    return seconds_since(start);
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
    [[nodiscard]] bool empty() const noexcept { return runs.empty(); }
};

// --- the runs and what they print ---------------------------------------------------------------

// The passes through the batch pipeline on one number of threads.
struct PipelineRuns {
    unsigned threads = 1;
    Best stateless;      // the batches with nothing after them
    Best full_no_rpc;    // the full pipeline, --no-rpc (not run when the RPC analysis is off)
    Best no_rpc_report;  // its part after the last frame
    Best full;
    Best report;     // the part of a full pass after the last frame
    Best from_file;  // run_analyze on the file
    ReportHash hash;
};

// Every pass's runs, and what the full passes reported.
struct Results {
    Best decode_only;
    Best verify_too;
    Best tally_general;
    Best tally_too;
    std::uint64_t fast_frames = 0;
    Best read;
    std::uint64_t read_frames = 0;
    PipelineRuns one;
    PipelineRuns many;  // --threads N, N > 1 (else not run)
    bool identical = true;
    std::string different;  // which report differed from one thread's in memory, if any
};

void run_pipeline_passes(const Capture& cap, const BenchConfig& config, BatchPipeline& pipeline,
                         PipelineRuns& p) {
    p.stateless.add(pass_stateless(cap, pipeline));
    if (config.connections.rpc) {
        analyze::ConnectionOptions no_rpc = config.connections;
        no_rpc.rpc = false;
        ReportHash ignored;
        const FullTimes t = pass_full(cap, no_rpc, config, pipeline, ignored);
        p.full_no_rpc.add(t.seconds);
        p.no_rpc_report.add(t.report_seconds);
    }
    const FullTimes t = pass_full(cap, config.connections, config, pipeline, p.hash);
    p.full.add(t.seconds);
    p.report.add(t.report_seconds);
}

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
    r.many.threads = config.threads;
    // A file that ends in a read error says so in analyze's report, not in the passes over
    // the frames loaded before it: its reports from the file are not compared.
    const bool from_file_comparable = cap.error.empty();
    const auto check = [&r](const ReportHash& h, const char* what) {
        if (!(h == r.one.hash) && r.identical) {
            r.identical = false;
            r.different = what;
        }
    };
    for (unsigned i = 0; i < config.repeat; ++i) {
        r.decode_only.add(pass_decode(cap, general));
        r.verify_too.add(pass_verify(cap, general));
        r.tally_general.add(pass_tally(cap, general));
        r.tally_too.add(config.decode.fast_path ? pass_tally(cap, config.decode, &r.fast_frames)
                                                : r.tally_general.runs.back());
        run_pipeline_passes(cap, config, single, r.one);
        r.read.add(pass_read(config.file, r.read_frames));
        ReportHash from_file;
        r.one.from_file.add(pass_analyze_file(config, 1, from_file));
        if (from_file_comparable) {
            check(from_file, "analyze FILE, one thread");
        }
        if (pipeline) {
            run_pipeline_passes(cap, config, *pipeline, r.many);
            check(r.many.hash, "--threads, in memory");
            r.many.from_file.add(pass_analyze_file(config, config.threads, from_file));
            if (from_file_comparable) {
                check(from_file, "analyze --threads FILE");
            }
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
          report(ns(r.one.report.seconds)),
          analyze(ns(r.one.full.seconds) - ns(r.tally_too.seconds) - report),
          full(ns(r.one.full.seconds)),
          read(ns(r.read.seconds)),
          pps(n / r.one.full.seconds),
          gbps(static_cast<double>(cap.bytes) * 8 / r.one.full.seconds / 1e9) {}

    [[nodiscard]] double ns(double s) const { return s * 1e9 / n; }

    double n;
    double decode;
    double verify;
    double tally;
    double fast;
    double report;
    double analyze;
    double full;
    double read;
    double pps;
    double gbps;
};

// What each stage adds to one pipeline's wall time, in ns per packet: they add up to the full
// pipeline (with the RPC analysis off, `rpc` is 0 and `no_rpc` is false).
struct PipelineStages {
    PipelineStages(const Stages& st, const PipelineRuns& p)
        : threads(p.threads),
          stateless(st.ns(p.stateless.seconds)),
          report(st.ns(p.report.seconds)),
          full(st.ns(p.full.seconds)),
          from_file(st.ns(p.from_file.seconds)),
          reading(from_file - full),
          has_rpc(!p.full_no_rpc.empty()) {
        const double frames = full - report;  // the full pass up to its last frame
        const double frames_no_rpc =
            has_rpc ? st.ns(p.full_no_rpc.seconds) - st.ns(p.no_rpc_report.seconds) : frames;
        connections = frames_no_rpc - stateless;
        rpc = frames - frames_no_rpc;
    }

    unsigned threads;
    double stateless;    // decode, verify, tallies, digest in batches, and the hand-off
    double connections;  // the ordered analysis without the RPC analysis
    double rpc = 0;      // the RPC analysis
    double report;       // decide + report, after the last frame
    double full;         // the capture in memory
    double from_file;    // analyze FILE, reading included
    double reading;      // from_file - full
    bool has_rpc;
};

nlohmann::ordered_json pipeline_json(const Capture& cap, const Stages& st, const PipelineStages& ps,
                                     const PipelineRuns& p) {
    nlohmann::ordered_json j;
    j["threads"] = ps.threads;
    j["stages_ns_per_packet"] = {{"stateless", ps.stateless},
                                 {"connections", ps.connections},
                                 {"rpc", ps.has_rpc ? nlohmann::ordered_json(ps.rpc) : nullptr},
                                 {"decide_report", ps.report},
                                 {"full", ps.full},
                                 {"reading", ps.reading},
                                 {"from_file", ps.from_file}};
    j["pps"] = st.n / p.full.seconds;
    j["gbit_per_s"] = static_cast<double>(cap.bytes) * 8 / p.full.seconds / 1e9;
    j["pps_from_file"] = st.n / p.from_file.seconds;
    j["passes_seconds"] = {{"stateless", p.stateless.runs},
                           {"full_no_rpc", p.full_no_rpc.runs},
                           {"full_no_rpc_after_last_frame", p.no_rpc_report.runs},
                           {"full", p.full.runs},
                           {"full_after_last_frame", p.report.runs},
                           {"from_file", p.from_file.runs}};
    return j;
}

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
    j["seconds"] = r.one.full.seconds;
    j["runs_seconds"] = r.one.full.runs;
    j["fast_path_frames"] = r.fast_frames;
    const PipelineStages one(st, r.one);
    j["stages_ns_per_packet"] = {{"decode", st.decode},
                                 {"verify", st.verify},
                                 {"summary", st.tally},
                                 {"fast_path", st.fast},
                                 {"batch_handoff", one.stateless - st.ns(r.tally_too.seconds)},
                                 {"connections", one.connections},
                                 {"rpc", one.has_rpc ? nlohmann::ordered_json(one.rpc) : nullptr},
                                 {"track_analyze", st.analyze},
                                 {"decide_report", st.report},
                                 {"read", st.read}};
    j["passes_seconds"] = {{"decode", r.decode_only.runs},
                           {"decode_verify", r.verify_too.runs},
                           {"decode_verify_summary", r.tally_general.runs},
                           {"frame_processor", r.tally_too.runs},
                           {"full", r.one.full.runs},
                           {"full_after_last_frame", r.one.report.runs},
                           {"read", r.read.runs}};
    j["read"] = {{"frames", r.read_frames},
                 {"seconds", r.read.seconds},
                 {"pps", static_cast<double>(r.read_frames) / r.read.seconds}};
    j["pipelines"] = nlohmann::ordered_json::array();
    j["pipelines"].push_back(pipeline_json(cap, st, one, r.one));
    if (config.threads > 1) {
        const PipelineStages many(st, r.many);
        j["pipelines"].push_back(pipeline_json(cap, st, many, r.many));
        j["parallel"] = {
            {"threads", config.threads},
            {"pps", st.n / r.many.full.seconds},
            {"gbit_per_s", static_cast<double>(cap.bytes) * 8 / r.many.full.seconds / 1e9},
            {"ns_per_packet", st.ns(r.many.full.seconds)},
            {"seconds", r.many.full.seconds},
            {"runs_seconds", r.many.full.runs},
            {"speedup", r.one.full.seconds / r.many.full.seconds},
            {"output_identical", r.identical}};
    }
    j["output_identical"] = r.identical;
    j["report_bytes"] = r.one.hash.bytes;
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
    const PipelineStages one(st, r.one);
    print("  %-38s %10s %7s\n", "stage, 1 thread", "ns/packet", "share");
    const auto stage = [&](const char* name, double v) {
        print("  %-38s %10.1f %6.1f%%\n", name, v, 100.0 * v / st.full);
    };
    stage("decode", st.decode);
    stage("checksums and verdicts (verify)", st.verify);
    stage("summary tallies + digest", st.tally);
    stage("fast path instead (saved if < 0)", st.fast);
    stage("batch hand-off", one.stateless - st.ns(r.tally_too.seconds));
    stage("track + analyze (connections)", one.connections);
    if (one.has_rpc) {
        stage("RPC analysis", one.rpc);
    }
    stage("decide + report (at the end)", st.report);
    stage("full pipeline (capture in memory)", st.full);
    stage("reading the file (analyze FILE - above)", one.reading);
    print("  %-38s %10.1f\n", "analyze FILE", one.from_file);
    print("  %-38s %10.1f  (%.3f Mpps: extents read and walked, no analysis)\n", "reading alone",
          st.read, static_cast<double>(r.read_frames) / r.read.seconds / 1e6);
    out << '\n';
    if (config.threads > 1) {
        const PipelineStages many(st, r.many);
        print("  %-38s %10s %10s\n", "what each stage adds, ns/packet", "1 thread",
              (std::to_string(config.threads) + " threads").c_str());
        const auto both = [&](const char* name, double a, double b) {
            print("  %-38s %10.1f %10.1f\n", name, a, b);
        };
        both("decode + verify + tallies (batches)", one.stateless, many.stateless);
        both("track + analyze (ordered)", one.connections, many.connections);
        if (one.has_rpc) {
            both("RPC analysis (ordered)", one.rpc, many.rpc);
        }
        both("decide + report (at the end)", one.report, many.report);
        both("full pipeline (capture in memory)", one.full, many.full);
        both("reading the file", one.reading, many.reading);
        both("analyze FILE", one.from_file, many.from_file);
        out << '\n';
    }
    print(
        "  1 thread:  %8.3f Mpps  %7.2f Gbit/s  %7.1f ns/packet  (%.3f s per run; %.3f Mpps "
        "from the file)\n",
        st.pps / 1e6, st.gbps, st.full, r.one.full.seconds, st.n / r.one.from_file.seconds / 1e6);
    if (config.threads > 1) {
        print(
            "  %u threads: %7.3f Mpps  %7.2f Gbit/s  %7.1f ns/packet  (%.3f s, %.2fx one "
            "thread; %.3f Mpps from the file)\n",
            config.threads, st.n / r.many.full.seconds / 1e6,
            static_cast<double>(cap.bytes) * 8 / r.many.full.seconds / 1e9,
            st.ns(r.many.full.seconds), r.many.full.seconds,
            r.one.full.seconds / r.many.full.seconds, st.n / r.many.from_file.seconds / 1e6);
    }
    const char* same = cap.error.empty() ? "identical in every full pass"
                                         : "identical in every full pass over the frames loaded";
    print("  report %s\n", r.identical ? same : ("DIFFERENT: " + r.different).c_str());
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
    if (std::all_of(cap.frames.begin(), cap.frames.end(),
                    [](const RawFrame& f) { return f.link == LinkType::Unsupported; })) {
        spdlog::error("{}: link type {} is not supported: no frame to benchmark", config.file,
                      cap.link_name);
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
        spdlog::error("{} gave a different report than one thread in memory", r.different);
        return ExitCode::Error;
    }
    return cap.error.empty() ? ExitCode::Clean : ExitCode::Error;
}

}  // namespace vxcheck::app

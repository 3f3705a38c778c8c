// `vxcheck analyze FILE...`: every file in turn, one report.
//
// Two frame loops give the same report, byte for byte:
//  - in batches (BatchPipeline, src/app/parallel.cc): 256 frames are read straight into a
//    batch's storage, decoded and verified (on any of --threads threads), then analysed in
//    capture order on this thread, with each frame's connection prefetched 8 frames ahead.
//    Taken for every classic pcap file, and for every file with --threads 2 or more.
//  - one frame at a time: read, decode, verify, analyse, then the next. Taken for pcapng and
//    stdin with one thread (their frames would have to be copied into a batch), and by the
//    tests as the reference the batches are compared with (AnalyzeConfig::frame_at_a_time).
//
// Why batches on one thread too: the connection analysis waits on memory. A 4.7 GB capture
// streams through the caches while thousands of connections are live, so a connection's state
// has left the cache by its next packet; one frame at a time, its lines can be prefetched only
// while that frame's checksums are summed, too late to hide the wait. In a batch the frames'
// flows are known 8 frames before they are analysed. On the 5M-packet capture, one thread, on
// the AMD EPYC VM of 2026-12-02 (tools/bench/README.md): 21 alternating runs, median ratio
// 0.92 (one frame at a time 1.28 - 1.70 s, min - median; in batches 1.18 - 1.57 s); on an
// earlier VM 0.96 in 10.

#include <spdlog/spdlog.h>

#include <memory>
#include <optional>
#include <ostream>

#include "parallel.h"
#include "run_common.h"
#include "vxcheck/app/pipeline.h"
#include "vxcheck/capture/source.h"
#include "vxcheck/report/reporter.h"

namespace vxcheck::app {
namespace {

// What the frame loops share: the analysis, where its output goes, and the packet lines.
struct Run {
    const AnalyzeConfig& config;
    analyze::ConnectionAnalyzer& connections;
    ConnectionOutput& output;
    report::Reporter& reporter;
    Progress& progress;

    void analyse(const std::string& file, std::uint16_t point, const FrameProcessor& frame) {
        connections.on_packet(frame.context(point));
        if (selected(config.packets, frame)) {
            reporter.packet({file, frame.packet(), frame.verdicts()});
        }
        output.frame_analysed();
    }
};

// One frame at a time. The processor's prefetch of the connection's lines while the frame's
// checksums are summed hides part of the wait for them.
capture::ReadStatus frame_at_a_time(Run& run, capture::Source& source, const std::string& file,
                                    std::uint16_t point, FrameProcessor& processor,
                                    report::Summary& summary) {
    RawFrame frame;
    capture::ReadStatus status;
    while ((status = source.next(frame)) == capture::ReadStatus::Frame) {
        processor.process(frame, summary);
        run.analyse(file, point, processor);
        if ((summary.frames_read & 0xffffU) == 0) {
            run.progress.tick(file, source.position(), source.size(), summary.frames_read);
        }
    }
    return status;
}

// `blocks`: the source as a BlockReader (a classic pcap file), or null (frames are copied).
capture::ReadStatus in_batches(Run& run, capture::Source& source, capture::BlockReader* blocks,
                               const std::string& file, std::uint16_t point,
                               BatchPipeline& pipeline, report::Summary& summary) {
    const std::uint64_t source_size = source.size();
    RawFrame frame;
    capture::ReadStatus status = capture::ReadStatus::Frame;
    pipeline.run(
        [&](FrameBatch& batch) {
            if (blocks != nullptr && blocks->walking()) {
                batch.position = source.position();
                return true;  // the batch has its extent's records; more extents follow
            }
            // The rest, the end or the error come from next(), copied.
            while (!batch.full()) {
                status = source.next(frame);
                if (status != capture::ReadStatus::Frame) {
                    batch.position = source.position();
                    return false;
                }
                batch.add_copy(frame);
            }
            batch.position = source.position();
            return true;
        },
        [&](const FrameBatch& batch) {
            analyse_in_order(batch, run.connections,
                             [&](const FrameProcessor& r) { run.analyse(file, point, r); });
            summary.merge(batch.tally());
            run.progress.tick(file, batch.position, source_size, summary.frames_read);
        },
        blocks);
    return status;
}

}  // namespace

ExitCode run_analyze(const AnalyzeConfig& config, std::ostream& out) {
    auto reporter = config.json ? report::make_json_reporter(out)
                                : report::make_text_reporter(out, {.max_rows = config.max_rows});
    analyze::ConnectionAnalyzer connections(config.connections);
    ConnectionOutput output(connections, config.connections, *reporter, config.evidence_path);
    Progress progress(config.progress);
    Run run{config, connections, output, *reporter, progress};
    // Each made when a file first needs it. The thread that decodes a frame in a batch starts
    // loading its connection's table slot, for the prefetch 8 frames ahead (analyse_in_order).
    std::optional<BatchPipeline> pipeline;
    std::unique_ptr<FrameProcessor> processor;
    report::Summary total;
    bool input_error = false;
    std::size_t files_read = 0;

    for (const std::string& file : config.files) {
        std::unique_ptr<capture::Source> source;
        try {
            source = capture::open_file(file);
        } catch (const capture::OpenError& e) {
            spdlog::error("{}", e.what());
            input_error = true;
            continue;
        }
        ++files_read;
        const std::uint16_t point = connections.add_point(point_name(file, connections.points()));
        report::Summary summary;
        summary.file = file;
        summary.link_type = source->link_name();
        reporter->begin_file(file, summary.link_type);

        auto* blocks = dynamic_cast<capture::BlockReader*>(source.get());
        capture::ReadStatus status;
        if (config.threads > 1 || (blocks != nullptr && !config.frame_at_a_time)) {
            if (!pipeline) {
                pipeline.emplace(config.decode, config.threads);
                pipeline->prefetch_slots_for(&connections);
            }
            status = in_batches(run, *source, blocks, file, point, *pipeline, summary);
        } else {
            if (!processor) {
                processor = std::make_unique<FrameProcessor>(config.decode);
                processor->prefetch_for(&connections);
            }
            status = frame_at_a_time(run, *source, file, point, *processor, summary);
        }
        progress.done();
        if (status == capture::ReadStatus::Error) {
            summary.read_error = source->error();
            input_error = true;
        }
        if (summary.frames_read != 0 &&
            summary.skipped[static_cast<std::size_t>(decode::SkipReason::UnsupportedLinkType)] ==
                summary.frames_read) {
            spdlog::warn("{}: link type {} is not supported; {} frames counted but not decoded",
                         file, summary.link_type, summary.frames_read);
        }
        reporter->end_file(summary);
        if (!summary.read_error.empty()) {
            spdlog::error("{}: stopped after frame {}: {}", file, summary.frames_read,
                          summary.read_error);
        }
        total.merge(summary);
    }
    const report::ConnectionTotals totals = output.finish(input_error);
    reporter->finish(total, files_read, totals);
    if (input_error) {
        return ExitCode::Error;
    }
    return outcome(total, totals);
}

}  // namespace vxcheck::app

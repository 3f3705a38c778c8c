// `vxcheck analyze FILE...`: one report. Several files are read as one timeline, merged by
// time, a frame at a time (merged_inputs.h); one file goes through one of the loops below.
//
// Two frame loops give the same report, byte for byte, through the same FrameConsumer:
//  - in batches (BatchPipeline, src/app/parallel.cc): 256 frames are read straight into a
//    batch's storage, decoded and verified (on any of --threads threads), then analysed in
//    capture order on this thread, with each frame's connection prefetched 8 frames ahead.
//    Taken for every file the capture module opens (classic pcap files are read in extents,
//    the others copied frame by frame into the batches), whatever --threads is.
//  - one frame at a time: read, decode, verify, analyse, then the next. Taken by the tests as
//    the reference the batches are compared with (AnalyzeConfig::frame_at_a_time), and for a
//    source that offers no block reading (capture::Source::blocks()) on one thread.
//
// Why batches on one thread too: the connection analysis waits on memory. A large capture
// streams through the caches while thousands of connections are live, so a connection's state
// has left the cache by its next packet; one frame at a time, its lines can be prefetched only
// while that frame's checksums are summed, too late to hide the wait. In a batch the frames'
// flows are known 8 frames before they are analysed (tools/bench/README.md has the figures).

#include <spdlog/spdlog.h>

#include <memory>
#include <optional>
#include <ostream>
#include <utility>

#include "file_order.h"
#include "frame_consumer.h"
#include "merged_inputs.h"
#include "output_files.h"
#include "parallel.h"
#include "run_common.h"
#include "vxcheck/app/pipeline.h"
#include "vxcheck/capture/block_reader.h"
#include "vxcheck/capture/source.h"
#include "vxcheck/report/reporter.h"

namespace vxcheck::app {
namespace {

// One file's frame loops: where the frames come from, where they go, and the progress line.
struct FileRun {
    const std::string& file;
    FilePoints& points;
    capture::Source& source;
    FrameConsumer& consumer;
    Progress& progress;
    report::Summary& summary;
};

// One frame at a time. The processor's prefetch of the connection's lines while the frame's
// checksums are summed hides part of the wait for them.
capture::ReadStatus frame_at_a_time(const FileRun& run, FrameProcessor& processor) {
    RawFrame frame;
    capture::ReadStatus status;
    while ((status = run.source.next(frame)) == capture::ReadStatus::Frame) {
        processor.process(frame, run.summary);
        run.consumer.analyse(run.file, run.points, processor);
        if ((run.summary.frames_read & 0xffffU) == 0) {
            run.progress.tick(run.file, run.source.position(), run.source.size(),
                              run.summary.frames_read);
        }
    }
    return status;
}

// In batches: the extents of the file while the source walks them (capture::BlockReader),
// then what next() gives, copied.
capture::ReadStatus in_batches(const FileRun& run, BatchPipeline& pipeline) {
    capture::BlockReader* const blocks = run.source.blocks();
    const std::uint64_t source_size = run.source.size();
    RawFrame frame;
    capture::ReadStatus status = capture::ReadStatus::Frame;
    pipeline.run(
        [&](FrameBatch& batch) {
            if (blocks != nullptr && blocks->walking()) {
                batch.position = run.source.position();
                return true;  // the batch has its extent's records; more extents follow
            }
            // The rest, the end or the error come from next(), copied.
            while (!batch.full()) {
                status = run.source.next(frame);
                if (status != capture::ReadStatus::Frame) {
                    batch.position = run.source.position();
                    return false;
                }
                batch.add_copy(frame);
            }
            batch.position = run.source.position();
            return true;
        },
        [&](const FrameBatch& batch) {
            run.consumer.analyse(run.file, run.points, batch, run.summary);
            run.progress.tick(run.file, batch.position, source_size, run.summary.frames_read);
        },
        blocks);
    return status;
}

// The loops' reusable state, each made when a file first needs it. The thread that decodes a
// frame in a batch starts loading its connection's table slot, for the prefetch 8 frames ahead
// (analyse_in_order).
struct Loops {
    const AnalyzeConfig& config;
    analyze::ConnectionAnalyzer& connections;
    std::optional<BatchPipeline> pipeline;
    std::unique_ptr<FrameProcessor> processor;

    capture::ReadStatus run(const FileRun& file) {
        if (config.threads > 1 || (file.source.blocks() != nullptr && !config.frame_at_a_time)) {
            if (!pipeline) {
                pipeline.emplace(config.decode, config.threads);
                pipeline->prefetch_slots_for(&connections);
            }
            return in_batches(file, *pipeline);
        }
        return frame_at_a_time(file, frame_processor());
    }

    FrameProcessor& frame_processor() {
        if (!processor) {
            processor = std::make_unique<FrameProcessor>(config.decode);
            processor->prefetch_for(&connections);
        }
        return *processor;
    }
};

// Reads one file through the loops into the report; adds the frames analysed to `given`.
// Returns false on a read error.
bool analyse_file(InputFile& in, FrameConsumer& consumer, Loops& loops, Progress& progress,
                  std::uint64_t& given) {
    consumer.begin_file(in.summary);
    const capture::ReadStatus status =
        loops.run({in.file, in.points, *in.source, consumer, progress, in.summary});
    progress.done();
    given += in.summary.frames_read;
    return end_input(in, status, consumer, true);
}

}  // namespace

ExitCode run_analyze(const AnalyzeConfig& config, std::ostream& out) {
    // The --evidence file is created before any input is read: a path that cannot be written
    // (or that is an input) ends the run now, not after it.
    auto evidence = open_output(files_of(config), "--evidence", config.file_mode);
    auto reporter = config.json ? report::make_json_reporter(out)
                                : report::make_text_reporter(
                                      out, {.max_rows = config.max_rows, .brief = config.brief});
    FrameConsumer consumer(config.connections, *reporter, config.packets, std::move(evidence));
    consumer.enable_reassembly(config.decode);
    consumer.track_time_order(config.files.size());
    Progress progress(config.progress);
    Loops loops{config, consumer.connections(), {}, {}};
    bool input_error = false;
    capture::FileOptions read{.filter = config.read_filter, .max_frames = 0};
    std::uint64_t given = 0;  // frames analysed so far, for -c over all files

    // Several files are opened at once and read as one timeline (merged_inputs.h); a file that
    // cannot be opened is a one-line error, and the others are read.
    const bool merged = config.files.size() > 1;
    std::vector<std::unique_ptr<InputFile>> inputs;
    for (std::size_t i = 0; i < config.files.size(); ++i) {
        const std::string& file = config.files[i];
        if (config.count != 0) {
            if (given >= config.count) {
                break;  // -c: the files after are not read, as tcpdump stops
            }
            read.max_frames = config.count - given;
        }
        std::unique_ptr<capture::Source> source;
        try {
            source = in_time_order(file, capture::open_file(file, read));
        } catch (const capture::OpenError& e) {
            spdlog::error("{}", e.what());
            input_error = true;
            continue;
        }
        const std::string name = i < config.point_names.size() ? config.point_names[i] : "";
        auto in = std::make_unique<InputFile>(consumer, file, name, std::move(source));
        if (merged) {
            inputs.push_back(std::move(in));
        } else if (!analyse_file(*in, consumer, loops, progress, given)) {
            input_error = true;
        }
    }
    if (!inputs.empty()) {
        FrameProcessor& processor = loops.frame_processor();
        if (!analyse_merged(inputs, consumer, processor, progress, config.count, given)) {
            input_error = true;
        }
    }
    const report::ConnectionTotals totals = consumer.finish(input_error);
    if (input_error) {
        return ExitCode::Error;
    }
    return outcome(consumer.total(), totals);
}

}  // namespace vxcheck::app

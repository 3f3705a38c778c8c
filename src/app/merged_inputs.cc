// The input files of `vxcheck analyze`, several read as one timeline (merged_inputs.h).

#include "merged_inputs.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <utility>

#include "vxcheck/decode/packet.h"

namespace vxcheck::app {
namespace {

// A file's next frame in the merge: its time and the file's place on the command line.
struct Head {
    Timestamp ts;
    std::size_t input = 0;
};

// The heap's order (std::push_heap keeps the greatest first): the later frame is the lesser, so
// the earliest frame, of the earliest file on the command line at equal times, comes first.
bool later(const Head& a, const Head& b) noexcept {
    return a.ts != b.ts ? b.ts < a.ts : b.input < a.input;
}

}  // namespace

InputFile::InputFile(FrameConsumer& consumer, std::string file_name, const std::string& point_name,
                     std::unique_ptr<capture::Source> src)
    : file(std::move(file_name)),
      source(std::move(src)),
      points(
          consumer.connections(), file, source->interface_count(),
          [s = source.get()](std::uint32_t interface) { return s->interface_name(interface); },
          point_name) {
    summary.file = file;
    summary.link_type = source->link_name();
}

bool end_input(InputFile& in, capture::ReadStatus status, FrameConsumer& consumer, bool begun) {
    report::Summary& summary = in.summary;
    if (summary.point = in.points.names(); summary.point.empty()) {
        // No frame: the file is still a point (as a one-point file, named after it).
        summary.point = consumer.connections().points()[in.points.point_of(FrameOrigin{})];
    }
    if (status == capture::ReadStatus::Error) {
        summary.read_error = in.source->error();
    }
    // A file none of whose frames vxcheck can decode is an input error, like one that is not a
    // capture: a report of "nothing found" would say the traffic is healthy. (A pcapng file
    // with one such interface among others is analysed; its report counts what it skipped.)
    const bool undecodable =
        summary.frames_read != 0 &&
        summary.skipped[static_cast<std::size_t>(decode::SkipReason::UnsupportedLinkType)] ==
            summary.frames_read;
    summary.frames_filtered = in.source->filtered();
    if (!begun) {
        consumer.begin_file(summary);
    }
    consumer.end_file(summary);
    if (!summary.read_error.empty()) {
        spdlog::error("{}: stopped after frame {}: {}", in.file, summary.frames_read,
                      summary.read_error);
    }
    // A file of several interfaces is put in time order (FileOrder), which warns of the frames
    // it could not place; a classic pcap or a one-interface pcapng is read as written.
    if (const FrameConsumer::Lateness l = consumer.lateness();
        l.frames != 0 && in.source->interface_count() <= 1) {
        spdlog::warn(
            "{}: {} frame(s) are stamped more than 1 s before a frame analysed before them (the "
            "first is frame {}, up to {:.1f} s back): the file is not in time order, and vxcheck "
            "reads it as written; `reordercap` sorts it",
            in.file, l.frames, l.first_frame, static_cast<double>(l.most_ns) * 1e-9);
    }
    if (undecodable) {
        spdlog::error(
            "{}: link type {} is not supported ({} frames counted, none analysed); vxcheck reads "
            "Ethernet, Linux cooked (SLL, SLL2), raw IP, BSD loopback and NFLOG captures",
            in.file, summary.link_type, summary.frames_read);
    }
    return status != capture::ReadStatus::Error && !undecodable;
}

bool analyse_merged(std::vector<std::unique_ptr<InputFile>>& inputs, FrameConsumer& consumer,
                    FrameProcessor& processor, Progress& progress, std::uint64_t count,
                    std::uint64_t& given) {
    bool ok = true;
    std::vector<RawFrame> frames(inputs.size());  // each file's next frame, read by its source
    std::vector<Head> heap;
    heap.reserve(inputs.size());
    const auto end = [&](std::size_t i, capture::ReadStatus status) {
        consumer.select_input(i);
        ok = end_input(*inputs[i], status, consumer, false) && ok;
    };
    const auto advance = [&](std::size_t i) {
        const capture::ReadStatus status = inputs[i]->source->next(frames[i]);
        if (status != capture::ReadStatus::Frame) {
            end(i, status);
            return;
        }
        heap.push_back({frames[i].ts, i});
        std::push_heap(heap.begin(), heap.end(), later);
    };
    const auto tick = [&] {
        std::uint64_t position = 0;
        std::uint64_t size = 0;
        for (const auto& in : inputs) {
            position += in->source->position();
            size += in->source->size();
        }
        progress.tick(std::to_string(inputs.size()) + " files", position, size, given);
    };
    for (std::size_t i = 0; i < inputs.size(); ++i) {
        advance(i);
    }
    std::uint64_t analysed = 0;
    while (!heap.empty() && (count == 0 || analysed < count)) {
        std::pop_heap(heap.begin(), heap.end(), later);
        const std::size_t i = heap.back().input;
        heap.pop_back();
        InputFile& in = *inputs[i];
        processor.process(frames[i], in.summary);
        consumer.select_input(i);
        consumer.analyse(in.file, in.points, processor);
        ++analysed;
        ++given;
        if ((given & 0xffffU) == 0) {
            tick();
        }
        advance(i);
    }
    // -c: the files still open end where the count left them, in the order of their next
    // frames; one that gave no frame was not read.
    std::sort(heap.begin(), heap.end(), [](const Head& a, const Head& b) { return later(b, a); });
    for (const Head& h : heap) {
        if (inputs[h.input]->summary.frames_read != 0) {
            end(h.input, capture::ReadStatus::End);
        }
    }
    consumer.select_input(0);
    progress.done();
    return ok;
}

}  // namespace vxcheck::app

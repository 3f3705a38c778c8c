#pragma once
// Private to src/app: the input files of `vxcheck analyze`, and several of them read as one
// timeline.
//
// Files given together are capture points of the same traffic (node-a eth0, node-b eth0, an
// NFLOG tap before NAT, flannel.1 ...): their frames overlap in time. Read one file after the
// other, the analysis would see a retransmission in the first file before the first SYN in the
// second, and a post-NAT record before its pre-NAT one, so the report would depend on the order
// of the files on the command line. Several files are therefore read as one stream merged by
// timestamp: a k-way merge over the files' next frames, the earliest first; equal timestamps in
// command-line order, and a file's own frames always in file order. Each frame keeps its file,
// its capture point and its frame number within its file.
//
// Each file's frame stays where its source read it until that frame has been analysed (a source
// reads a file's next frame only then), so the merge copies no frame. It reads one frame at a
// time, on the running thread: the batches of the single-file path (parallel.h) tally a batch's
// frames into one summary, and the frames of a merged batch belong to several files.
//
// A file's summary ends the file when its last frame has been analysed (or its read failed):
// files that do not overlap in time, given in time order, are reported as when read in turn.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "file_points.h"
#include "frame_consumer.h"
#include "run_common.h"
#include "vxcheck/app/pipeline.h"
#include "vxcheck/capture/source.h"
#include "vxcheck/report/summary.h"

namespace vxcheck::app {

/// One input file of a run: its frames, its capture points and its tallies.
struct InputFile {
    /// `point_name`: NAME of NAME=FILE, or "".
    InputFile(FrameConsumer& consumer, std::string file, const std::string& point_name,
              std::unique_ptr<capture::Source> source);

    std::string file;
    std::unique_ptr<capture::Source> source;
    FilePoints points;
    report::Summary summary;
};

/// Ends `in` in the report after its last frame: its points, what its read filter rejected, its
/// read error (logged, one line naming the file) if `status` is Error, a warning if its link
/// type is not supported. `begun`: begin_file() was called for it already. Returns false on a
/// read error.
bool end_input(InputFile& in, capture::ReadStatus status, FrameConsumer& consumer, bool begun);

/// Reads `inputs` as one stream merged by time (this file's comment) through `processor` into
/// `consumer`, each file ended in the report when its frames are over. `count`: the merge stops
/// after this many frames (0: no limit); a file none of whose frames were analysed by then is
/// not reported, as if not read. Adds the frames analysed to `given`. Returns false if an input
/// ended with a read error.
bool analyse_merged(std::vector<std::unique_ptr<InputFile>>& inputs, FrameConsumer& consumer,
                    FrameProcessor& processor, Progress& progress, std::uint64_t count,
                    std::uint64_t& given);

}  // namespace vxcheck::app

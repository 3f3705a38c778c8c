#pragma once
// Private to src/app: the full pass of `vxcheck bench` (src/app/bench.cc), which does what
// `vxcheck analyze` does to a file, on frames held in memory.

#include <chrono>
#include <span>
#include <string>

#include "frame_consumer.h"
#include "parallel.h"
#include "vxcheck/frame.h"
#include "vxcheck/report/reporter.h"

namespace vxcheck::app {

/// `frames` (of the file `file`, link type `link_name`; their bytes live through the call) as
/// `analyze` takes a file: through `pipeline` in batches into `consumer` (its own capture point,
/// begin_file, each frame analysed, decided connections drained, end_file), then finished
/// (every connection decided, the report ended). Sets `frames_done`, if given, to when the
/// last frame was analysed. Returns the connection totals.
report::ConnectionTotals analyse_in_memory(
    std::span<const RawFrame> frames, const std::string& file, const std::string& link_name,
    BatchPipeline& pipeline, FrameConsumer& consumer,
    std::chrono::steady_clock::time_point* frames_done = nullptr);

}  // namespace vxcheck::app

// TEMPORARY (being written).
#include <spdlog/spdlog.h>

#include "vxcheck/app/pipeline.h"

namespace vxcheck::app {

ExitCode run_bench(const BenchConfig& config, std::ostream&) {
    spdlog::error("bench {}: not implemented yet", config.file);
    return ExitCode::Error;
}

}  // namespace vxcheck::app

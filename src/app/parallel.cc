// TEMPORARY (being written): --threads runs single-threaded until the sharded version lands.
#include <spdlog/spdlog.h>

#include "vxcheck/app/pipeline.h"

namespace vxcheck::app {

ExitCode run_analyze_parallel(const AnalyzeConfig& config, std::ostream& out) {
    spdlog::warn("--threads {}: not implemented yet, running single-threaded", config.threads);
    return run_analyze(config, out);
}

}  // namespace vxcheck::app

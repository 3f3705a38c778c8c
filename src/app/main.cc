// vxcheck entry point: logging setup, command dispatch, and exceptions -> exit codes
// (0 clean, 1 findings, 2 usage or input error, or a report that could not be written).

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <csignal>
#include <exception>
#include <string>

#include "output_files.h"
#include "vxcheck/app/options.h"
#include "vxcheck/app/pipeline.h"

namespace {

using vxcheck::app::ExitCode;

// The command, its files checked against standard output first (an input or an output that is
// the file the report goes to is refused before anything is read or written).
ExitCode run(const vxcheck::app::Command& command, std::ostream& out) {
    namespace app = vxcheck::app;
    if (const auto* text = std::get_if<app::ShowText>(&command)) {
        out << text->text;
        return ExitCode::Clean;
    }
    if (const auto* capture = std::get_if<app::CaptureConfig>(&command)) {
        app::check_files(app::files_of(*capture), STDOUT_FILENO);
        if (capture->write_path == "-") {
            // As tcpdump -w -: the capture on standard output, the report on standard error.
            app::ReportStream report(STDERR_FILENO);
            ExitCode code = app::run_capture(*capture, report.stream());
            if (const std::string problem = report.finish(); !problem.empty()) {
                spdlog::error("the report could not be written to standard error: {}", problem);
                code = ExitCode::Error;
            }
            return code;
        }
        return app::run_capture(*capture, out);
    }
    if (const auto* bench = std::get_if<app::BenchConfig>(&command)) {
        return app::run_bench(*bench, out);
    }
    const auto& cfg = std::get<app::AnalyzeConfig>(command);
    app::check_files(app::files_of(cfg), STDOUT_FILENO);
    return app::run_analyze(cfg, out);
}

}  // namespace

int main(int argc, char** argv) {
    const std::string stdout_problem = vxcheck::app::guard_standard_descriptors();
    auto logger = spdlog::stderr_color_st("vxcheck");
    logger->set_pattern("vxcheck: %^%l%$: %v");
    spdlog::set_default_logger(logger);
    // A reader that goes away (`| head`) is a write error (EPIPE) that the report's stream
    // keeps and the exit code tells, not a silent death. `capture` installs its own handler.
    ::signal(SIGPIPE, SIG_IGN);

    if (!stdout_problem.empty()) {
        spdlog::error("{}", stdout_problem);
        return static_cast<int>(ExitCode::Error);
    }
    ExitCode code = ExitCode::Error;
    vxcheck::app::ReportStream report(STDOUT_FILENO);
    try {
        const std::vector<std::string> args(argv + 1, argv + argc);
        code = run(vxcheck::app::parse_command_line(args, ::isatty(STDERR_FILENO) != 0),
                   report.stream());
    } catch (const std::exception& e) {  // UsageError and every other one: one line
        spdlog::error("{}", e.what());
        code = ExitCode::Error;
    }
    if (const std::string problem = report.finish(); !problem.empty()) {
        spdlog::error("the report could not be written to standard output: {}", problem);
        code = ExitCode::Error;
    }
    return static_cast<int>(code);
}

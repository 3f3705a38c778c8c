// vxcheck entry point: logging setup, command dispatch, and exceptions -> exit codes
// (0 clean, 1 findings, 2 usage or input error).

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <exception>
#include <iostream>

#include "vxcheck/app/options.h"
#include "vxcheck/app/pipeline.h"

int main(int argc, char** argv) {
    using vxcheck::app::ExitCode;
    auto logger = spdlog::stderr_color_st("vxcheck");
    logger->set_pattern("vxcheck: %^%l%$: %v");
    spdlog::set_default_logger(logger);

    std::ios::sync_with_stdio(false);
    try {
        const std::vector<std::string> args(argv + 1, argv + argc);
        const auto command = vxcheck::app::parse_command_line(args, ::isatty(STDERR_FILENO) != 0);
        if (const auto* text = std::get_if<vxcheck::app::ShowText>(&command)) {
            std::cout << text->text;
            return 0;
        }
        if (const auto* capture = std::get_if<vxcheck::app::CaptureConfig>(&command)) {
            return static_cast<int>(vxcheck::app::run_capture(*capture, std::cout));
        }
        if (const auto* bench = std::get_if<vxcheck::app::BenchConfig>(&command)) {
            return static_cast<int>(vxcheck::app::run_bench(*bench, std::cout));
        }
        const auto& cfg = std::get<vxcheck::app::AnalyzeConfig>(command);
        return static_cast<int>(vxcheck::app::run_analyze(cfg, std::cout));
    } catch (const vxcheck::app::UsageError& e) {
        spdlog::error("{}", e.what());
        return static_cast<int>(ExitCode::Error);
    } catch (const std::exception& e) {
        spdlog::error("{}", e.what());
        return static_cast<int>(ExitCode::Error);
    }
}

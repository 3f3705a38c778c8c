#pragma once
// Command-line parsing (Boost.Program_options) into validated configurations.

#include <stdexcept>
#include <string>
#include <variant>
#include <vector>

#include "vxcheck/app/config.h"

namespace vxcheck::app {

/// A bad command line; what() is one line, and the exit code is 2.
class UsageError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

/// Help or version text to print, exit 0.
struct ShowText {
    std::string text;
};

using Command = std::variant<ShowText, AnalyzeConfig, CaptureConfig, BenchConfig>;

/// Parses argv (without argv[0]). Throws UsageError.
Command parse_command_line(const std::vector<std::string>& args, bool stderr_is_tty);

}  // namespace vxcheck::app

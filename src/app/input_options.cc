// tcpdump's habits on the command line (input_options.h).

#include "input_options.h"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <optional>
#include <utility>

#include "option_values.h"
#include "vxcheck/app/options.h"
#include "vxcheck/capture/source.h"
#include "vxcheck_version.h"  // generated at every build (cmake/GitDescribe.cmake)

namespace vxcheck::app {
namespace {

// Whether a command-line word names something on disk (a file that cannot be read still does:
// its open error says so).
bool names_a_file(const std::string& arg) {
    struct stat st {};
    return arg == "-" || ::stat(arg.c_str(), &st) == 0 || (errno != ENOENT && errno != ENOTDIR);
}

// NAME=FILE: the point name and the file of a word that is not a file itself but whose part
// after its first '=' names one; nullopt for any other word.
std::optional<std::pair<std::string, std::string>> named_input(const std::string& word) {
    const std::size_t eq = word.find('=');
    if (eq == 0 || eq == std::string::npos || names_a_file(word) ||
        !names_a_file(word.substr(eq + 1))) {
        return std::nullopt;
    }
    return std::make_pair(word.substr(0, eq), word.substr(eq + 1));
}

bool names_an_input(const std::string& word) {
    return names_a_file(word) || named_input(word).has_value();
}

bool looks_like_capture_name(const std::string& word) {
    for (const char* suffix : {".pcap", ".pcapng", ".cap", ".gz"}) {
        const std::string s = suffix;
        if (word.size() > s.size() && word.compare(word.size() - s.size(), s.size(), s) == 0) {
            return true;
        }
    }
    return false;
}

// The positional words: files, then a filter expression (input_options.h).
void split_files_and_filter(const std::vector<std::string>& words, AnalyzeConfig& cfg) {
    std::size_t first = 0;
    while (first < words.size() && names_an_input(words[first])) {
        ++first;
    }
    std::string expression;
    for (std::size_t i = first; i < words.size(); ++i) {
        expression += (expression.empty() ? "" : " ") + words[i];
    }
    std::string problem;
    if (!expression.empty() && (problem = capture::filter_problem(expression)).empty()) {
        cfg.files.insert(cfg.files.end(), words.begin(),
                         words.begin() + static_cast<std::ptrdiff_t>(first));
        cfg.read_filter = expression;
        return;
    }
    const bool file_names =
        (words.size() - first == 1 && words[first].find_first_of(" \t\n") == std::string::npos) ||
        std::any_of(words.begin() + static_cast<std::ptrdiff_t>(first), words.end(),
                    looks_like_capture_name);
    if (!expression.empty() && !file_names) {
        throw UsageError("analyze: filter '" + expression + "': " + problem);
    }
    cfg.files.insert(cfg.files.end(), words.begin(), words.end());
}

}  // namespace

std::string version_text() {
    std::string v = std::string("vxcheck ") + VXCHECK_VERSION;
    if (*VXCHECK_GIT_DESCRIBE != '\0') {
        v += std::string(" (git ") + VXCHECK_GIT_DESCRIBE + ")";
    }
    return v + "\n" + capture::pcap_version() + "\n";
}

void set_inputs(const InputWords& words, AnalyzeConfig& cfg) {
    cfg.files = words.read;
    split_files_and_filter(words.positional, cfg);
    if (words.filter) {
        if (!cfg.read_filter.empty()) {
            throw UsageError("analyze: two filters: -f '" + *words.filter + "' and '" +
                             cfg.read_filter + "' after the files");
        }
        if (const std::string problem = capture::filter_problem(*words.filter); !problem.empty()) {
            throw UsageError("analyze: filter '" + *words.filter + "': " + problem);
        }
        cfg.read_filter = *words.filter;
    }
    cfg.count = to_count(words.count, "count", 0, UINT64_MAX);
    cfg.point_names.assign(cfg.files.size(), "");
    for (std::size_t i = 0; i < cfg.files.size(); ++i) {
        if (auto named = named_input(cfg.files[i])) {
            cfg.point_names[i] = std::move(named->first);
            cfg.files[i] = std::move(named->second);
        }
    }
}

}  // namespace vxcheck::app

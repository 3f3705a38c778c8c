#pragma once
// Private to src/app: tcpdump's habits on the command line. analyze's inputs (-r, the files
// after the options, a read filter given with -f or after the files, -c) and --version.

#include <optional>
#include <string>
#include <vector>

#include "vxcheck/app/config.h"

namespace vxcheck::app {

/// What `vxcheck --version` and every command's --version print: vxcheck's version, `git
/// describe` of the source at build time (when it was a git checkout), libpcap's version.
[[nodiscard]] std::string version_text();

/// analyze's input words, as given.
struct InputWords {
    std::vector<std::string> read;        // -r FILE, in order
    std::vector<std::string> positional;  // the words after the options
    std::optional<std::string> filter;    // -f EXPR
    std::string count = "0";              // -c N
};

/// Sets cfg.files (the -r files, then the positional files), cfg.read_filter and cfg.count. As
/// tcpdump: the positional words are files up to the first that names nothing on disk; the
/// words from there on are a filter expression if they compile as BPF (checked by libpcap for an
/// Ethernet capture; each file's own link type is checked when it is opened). Throws UsageError:
/// a filter that does not compile (unless its words look like missing files: one word without
/// spaces, or a capture file's suffix; their open error then names them), two filters, a bad
/// count. A word NAME=FILE (not a file itself, FILE one) is FILE, its capture point named NAME
/// (cfg.point_names).
void set_inputs(const InputWords& words, AnalyzeConfig& cfg);

}  // namespace vxcheck::app

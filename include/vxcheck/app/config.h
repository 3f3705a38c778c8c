#pragma once
// The validated configuration built by app/options.cc (the only place that parses the CLI).

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "vxcheck/analyze/connections.h"
#include "vxcheck/decode/decode.h"

namespace vxcheck::app {

enum class ExitCode : int { Clean = 0, Findings = 1, Error = 2 };

enum class PacketSelection { Bad, All, None };

struct AnalyzeConfig {
    std::vector<std::string> files;  // -r FILE and the positional files, in that order
    // The point name given as NAME=FILE for files[i], or "" (named after the file): one per file.
    std::vector<std::string> point_names;
    std::string read_filter;  // -f EXPR or a trailing expression: BPF, tcpdump syntax
    std::uint64_t count = 0;  // -c: stop after this many frames (over all files); 0: all
    decode::DecodeOptions decode;
    analyze::ConnectionOptions connections;
    std::string evidence_path;  // --evidence: pcapng of the frames behind connection verdicts
    unsigned file_mode = 0600;  // --file-mode: permission bits of the files written
    bool json = false;
    PacketSelection packets = PacketSelection::Bad;
    std::size_t max_rows = 25;
    bool brief = false;     // --brief: the text report's headline alone
    bool progress = false;  // a progress line on stderr (default: when stderr is a terminal)
    unsigned threads = 1;   // decode/verify threads; connections in order, output unchanged
    // One thread (with --threads 1), one frame at a time, for every file (else in batches): not
    // an option of the command; the tests compare the batches with it.
    bool frame_at_a_time = false;
};

struct CaptureConfig {
    std::vector<std::string> interfaces;
    std::string filter;  // BPF; built from the watched ports when not given
    decode::DecodeOptions decode;
    analyze::ConnectionOptions connections;
    double duration_s = 0;       // 0: until SIGINT/SIGTERM
    std::uint64_t count = 0;     // 0: no limit
    std::string write_path;      // --write: keep the raw capture as pcapng
    std::string metrics_listen;  // --metrics-listen ADDR:PORT
    std::string evidence_path;
    unsigned file_mode = 0600;
    std::uint64_t buffer_bytes = 32ULL << 20;  // at most 1023 MiB (options.cc: the kernel's limit)
    std::uint32_t snaplen = 262144;
    double status_interval_s = 5;
    bool json = false;
    PacketSelection packets = PacketSelection::None;
    std::size_t max_rows = 25;
    std::string run_as;          // -Z USER: the user to become once the sockets are open
    double give_up_after_s = 0;  // an interface down this long ends the capture; 0: never
};

struct BenchConfig {
    std::string file;
    decode::DecodeOptions decode;
    analyze::ConnectionOptions connections;
    unsigned repeat = 3;
    unsigned threads = 1;
    bool json = false;
};

}  // namespace vxcheck::app

#pragma once
// Where frames come from. The pipeline sees only this interface; src/capture/pcap_source.cc is
// the one file that includes <pcap.h>.

#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>

#include "vxcheck/frame.h"

namespace vxcheck::capture {

enum class ReadStatus { Frame, End, Error };

class Source {
  public:
    virtual ~Source() = default;
    /// Fills `frame` with the next frame; it stays valid until the next call.
    virtual ReadStatus next(RawFrame& frame) noexcept = 0;
    /// What went wrong after next() returned Error (e.g. a record cut short).
    [[nodiscard]] virtual const std::string& error() const noexcept = 0;
    /// The capture's link type as libpcap names it ("EN10MB", "LINUX_SLL2", ...).
    [[nodiscard]] virtual const std::string& link_name() const noexcept = 0;
    /// Bytes consumed so far and the total if known (0 for pipes), for progress reports.
    [[nodiscard]] virtual std::uint64_t position() const noexcept = 0;
    [[nodiscard]] virtual std::uint64_t size() const noexcept = 0;
};

/// Thrown when a capture cannot be opened; what() is one line naming the file and the problem.
class OpenError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

/// Opens a pcap or pcapng file ("-" reads standard input). Timestamps come in nanoseconds
/// whatever the file's resolution. Throws OpenError.
std::unique_ptr<Source> open_file(const std::string& path);

}  // namespace vxcheck::capture

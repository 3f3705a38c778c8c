#pragma once
// A small streaming pcapng writer (SHB, IDBs, EPBs with optional comments), used for
// --evidence and for `capture --write`. libpcap cannot write pcapng or comments.

#include <cstdint>
#include <string>
#include <string_view>

#include "vxcheck/bytes.h"
#include "vxcheck/frame.h"
#include "vxcheck/report/output_file.h"

namespace vxcheck::report {

class PcapngWriter {
  public:
    /// Writes the section header into `file` (created by the caller: output_file.h). Every
    /// write error throws std::runtime_error naming the file.
    PcapngWriter(OutputFile file, const std::string& comment);

    /// Declares an interface (capture point); returns its id for write().
    std::uint32_t add_interface(const std::string& name, LinkType link);
    /// Appends one frame (timestamps in nanoseconds). No allocation once the first frames with
    /// the longest comment have been written.
    void write(std::uint32_t interface, Timestamp ts, Bytes data, std::uint32_t wirelen,
               std::string_view comment = {});
    /// Writes what is buffered.
    void flush();
    /// Flushes and closes the file; its errors throw.
    void close();

  private:
    OutputFile file_;
    std::string block_;  // the block being built, reused
    std::uint32_t interfaces_ = 0;
};

}  // namespace vxcheck::report

#pragma once
// A small streaming pcapng writer (SHB, IDBs, EPBs with optional comments), used for
// --evidence and for `capture --write`. libpcap cannot write pcapng or comments.

#include <cstdint>
#include <fstream>
#include <string>

#include "vxcheck/bytes.h"
#include "vxcheck/frame.h"

namespace vxcheck::report {

class PcapngWriter {
  public:
    /// Creates `path` and writes the section header. Throws std::runtime_error naming the file.
    PcapngWriter(const std::string& path, const std::string& comment);

    /// Declares an interface (capture point); returns its id for write().
    std::uint32_t add_interface(const std::string& name, LinkType link);
    /// Appends one frame (timestamps in nanoseconds). Throws std::runtime_error on a write error.
    void write(std::uint32_t interface, Timestamp ts, Bytes data, std::uint32_t wirelen,
               const std::string& comment = "");
    void flush();

  private:
    std::string path_;
    std::ofstream out_;
    std::uint32_t interfaces_ = 0;
};

}  // namespace vxcheck::report

#pragma once
// Private to vxcheck_capture and src/app: reading a classic pcap file a block of records at a
// time, into storage the caller owns.
//
// Source's contract is that a frame dies at the next read (libpcap reuses its buffer). The
// parallel pipeline wants frames that live as long as the batch they are in, without copying
// them out of the source's buffer: read_block() reads whole records straight into the batch's
// own storage, so the frames are views that stay valid until that storage is reused.

#include <cstdint>
#include <span>
#include <vector>

#include "vxcheck/frame.h"

namespace vxcheck::capture {

class BlockReader {
  public:
    /// Reads the next whole records (at most frames.size(), about a block of bytes) into
    /// `storage` (resized as needed, never shrunk) and describes them in `frames`, numbered
    /// after the frames read before. Returns how many; 0 when this reader has no more for the
    /// block path (the end of the file, a record it leaves to libpcap, a file that is not
    /// classic pcap): next() then gives what remains, the end or the error, as libpcap says.
    /// Throws std::bad_alloc only.
    virtual std::size_t read_block(std::vector<std::uint8_t>& storage,
                                   std::span<RawFrame> frames) = 0;

  protected:
    BlockReader() = default;
    ~BlockReader() = default;
    BlockReader(const BlockReader&) = default;
    BlockReader& operator=(const BlockReader&) = default;
};

}  // namespace vxcheck::capture

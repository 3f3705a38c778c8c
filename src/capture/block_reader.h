#pragma once
// Private to vxcheck_capture and src/app: reading a classic pcap file in extents, contiguous
// byte ranges of the file, into storage the caller owns.
//
// Source's contract is that a frame dies at the next read (libpcap reuses its buffer). The
// parallel pipeline wants frames that live as long as the batch they are in, without copying
// them out of a buffer of the source's, and it wants the kernel's copy out of the page cache
// (most of the cost of reading) to run on several threads at once. So reading is split in three:
//
//   claim()  in file order, one caller at a time, cheap: the next extent (offset and length);
//   read()   any thread, concurrently: pread() of an extent into the caller's storage;
//   walk()   in claim order, one caller at a time: the records in an extent's bytes.
//
// An extent's boundaries are not record boundaries: a record that an extent cuts is carried
// (its first part copied) and completed with the head of the next extent, into the storage
// `copies` that walk() is given. The same happens to the records of an extent that do not fit
// in `frames`. next() reads the same way, one extent at a time.

#include <cstdint>
#include <span>
#include <vector>

#include "vxcheck/bytes.h"
#include "vxcheck/frame.h"

namespace vxcheck::capture {

class BlockReader {
  public:
    struct Extent {
        std::uint64_t offset = 0;
        std::size_t length = 0;
        bool last = false;  // reaches the file's size at opening: libpcap takes over after it
    };

    /// The next extent, sized for about `frames` records; once the end of the file is claimed,
    /// empty ones (for records carried past the last extent's frames). False once libpcap has
    /// taken over: next() then gives what remains, the end or the error, as libpcap says. One
    /// caller at a time.
    virtual bool claim(std::size_t frames, Extent& extent) noexcept = 0;

    /// Reads `extent` into `storage` (resized as needed, never shrunk); returns the bytes
    /// read, fewer at the end of the file or on an error (which libpcap meets again, and
    /// reports, when it takes over). Any thread, concurrently with other reads.
    virtual std::size_t read(const Extent& extent, std::vector<std::uint8_t>& storage) = 0;

    /// The whole records in `data` (the bytes read() gave for `extent`), after what the walk
    /// of the extent before left over, described in `frames` and numbered after the frames
    /// before; returns how many (0 is possible: one large record may span extents). A frame's
    /// bytes are in `data`, or in `copies` (cleared first) for the records that began in
    /// earlier extents; both must live as long as the frames. Extents are walked in claim
    /// order, every one claimed, one call at a time, `frames` never empty. Once the last
    /// extent's records are all taken, or at anything the walk does not take as libpcap would
    /// (a record longer than the snapshot length, a short read, an extent out of order),
    /// libpcap takes over. Throws std::bad_alloc only.
    virtual std::size_t walk(const Extent& extent, Bytes data, std::span<RawFrame> frames,
                             std::vector<std::uint8_t>& copies) = 0;

    /// Whether extents still come (false once libpcap has taken over).
    [[nodiscard]] virtual bool walking() const noexcept = 0;

  protected:
    BlockReader() = default;
    ~BlockReader() = default;
    BlockReader(const BlockReader&) = default;
    BlockReader& operator=(const BlockReader&) = default;
};

}  // namespace vxcheck::capture

#pragma once
// Reading a classic pcap file in extents, contiguous byte ranges of the file, into storage the
// caller owns: a capability a Source may offer (Source::blocks(), source.h).
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

#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>
#include <span>
#include <vector>

#include "vxcheck/bytes.h"
#include "vxcheck/frame.h"

namespace vxcheck::capture {

class ExtentBuffer;

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

    /// One extent to read, where to, and (set by read()) the bytes read.
    struct Read {
        Extent extent;
        class ExtentBuffer* storage = nullptr;
        Bytes bytes;
    };

    /// Reads each extent into its storage (grown as needed, never shrunk) and sets its bytes
    /// (the reads are the callers': a batch's own, say, wherever it is):
    /// fewer than its length at the end of the file or on an error (which libpcap meets again,
    /// and reports, when it takes over). Extents that follow one another in the file (as
    /// successive claims do) are read with one system call for all: the kernel's copy out of
    /// the page cache costs less in a few larger reads than in many small ones
    /// (tools/bench/README.md). At most kMaxReads at once. Any thread, concurrently with other
    /// reads. Throws std::bad_alloc only.
    static constexpr std::size_t kMaxReads = 8;
    virtual void read(std::span<Read* const> reads) = 0;

    /// One extent: read() of one.
    Bytes read(const Extent& extent, class ExtentBuffer& storage) {
        Read r{.extent = extent, .storage = &storage, .bytes = {}};
        Read* const one = &r;
        read(std::span<Read* const>(&one, 1));
        return r.bytes;
    }

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

/// Where read() puts an extent: page-aligned storage in which the extent's first byte lands at
/// the offset into a page that it has in the file, so that the kernel's copy out of the page
/// cache has source and destination equally aligned. The copy (rep movsb) is slowest when the
/// destination is a few bytes past the source modulo 4096, which is where malloc puts a large
/// block, and fastest when they are equal (tools/bench/README.md has the figures).
/// PcapFileSource also keeps stdio's buffer in one, placed at offset 0.
class ExtentBuffer {
  public:
    static constexpr std::size_t kPage = 4096;

    /// Room for `length` bytes read from file offset `offset`: their first byte, at
    /// offset % kPage into the storage. Grows the storage (the only allocation) when it is
    /// too small; the bytes placed before are then gone.
    [[nodiscard]] std::uint8_t* place(std::uint64_t offset, std::size_t length) {
        const std::size_t head = static_cast<std::size_t>(offset % kPage);
        if (head + length > capacity_) {
            const std::size_t want = (head + length + kPage - 1) / kPage * kPage;
            storage_.reset(
                static_cast<std::uint8_t*>(::operator new (want, std::align_val_t{kPage})));
            capacity_ = want;
        }
        return storage_.get() + head;
    }

  private:
    struct PageFree {
        void operator()(std::uint8_t* p) const noexcept {
            ::operator delete (p, std::align_val_t{kPage});
        }
    };
    std::unique_ptr<std::uint8_t, PageFree> storage_;
    std::size_t capacity_ = 0;
};

}  // namespace vxcheck::capture

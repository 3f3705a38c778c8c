#pragma once
// Private to vxcheck_capture: the file source, a classic pcap or pcapng file (or stdin) that
// libpcap opens and that is read, while it is classic pcap, in extents (BlockReader). Its
// libpcap side (opening, next() from libpcap, the hand-over) is in pcap_source.cc, the one file
// that includes <pcap.h>; the extents (claiming, reading, walking their records) in
// extent_walk.cc.

#include <sys/uio.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "pcapng_reader.h"
#include "vxcheck/capture/block_reader.h"
#include "vxcheck/capture/source.h"

struct pcap;         // libpcap's pcap_t
struct bpf_program;  // libpcap's compiled filter

namespace vxcheck::capture {

struct PcapCloser {
    void operator()(pcap* p) const noexcept;  // pcap_close
};
using PcapPtr = std::unique_ptr<pcap, PcapCloser>;

struct ProgramFree {
    void operator()(bpf_program* p) const noexcept;  // pcap_freecode
};
using ProgramPtr = std::unique_ptr<bpf_program, ProgramFree>;

struct FileCloser {
    void operator()(std::FILE* f) const noexcept;  // fclose, but for stdin
};

class GzipReader;  // gzip_stream.h

// pcap_source.cc: the DLT_* value libpcap's filter compiler takes for a LINKTYPE_* value, and
// libpcap's name of that link type ("EN10MB").
[[nodiscard]] int dlt_of_linktype(std::uint32_t linktype) noexcept;
[[nodiscard]] std::string link_type_name_of_linktype(std::uint32_t linktype);

// Classic pcap layout (libpcap sf-pcap.c): a 24-byte file header, then records of a 16-byte
// header (seconds, micro- or nanoseconds, captured length, wire length) and the captured bytes.
inline constexpr std::size_t kPcapFileHeaderLen = 24;
inline constexpr std::size_t kPcapRecordHeaderLen = 16;
inline constexpr std::uint32_t kPcapMagicMicro = 0xa1b2c3d4;
inline constexpr std::uint32_t kPcapMagicNano = 0xa1b23c4d;
// libpcap rejects a captured length above max_snaplen_for_dlt() (at least 256 KiB for every
// link type) and cuts one above the snapshot length: the block walk leaves both to libpcap.
inline constexpr std::uint32_t kMaxWalkedCaplen = 262144;
// Bytes read per extent, at most: a few hundred frames, small enough to stay in the L2 cache
// while they are processed, large enough that the system call costs little. A larger record
// is carried across extents.
inline constexpr std::size_t kBlockBytes = std::size_t{256} << 10;
// Frames per extent for next() (the parallel pipeline's batches set their own).
inline constexpr std::size_t kBlockFrames = 1024;

class PcapFileSource final : public Source, public BlockReader {
  public:
    /// Opens `path` ("-": standard input). Throws OpenError.
    PcapFileSource(const std::string& path, const FileOptions& options);

    ReadStatus next(RawFrame& frame) noexcept override;
    [[nodiscard]] const std::string& error() const noexcept override { return error_; }
    [[nodiscard]] const std::string& link_name() const noexcept override { return link_name_; }
    [[nodiscard]] std::uint64_t position() const noexcept override;
    [[nodiscard]] std::uint64_t size() const noexcept override { return size_; }
    // Every file: a pcapng file or stdin is never walked (walking() is false from the start).
    [[nodiscard]] BlockReader* blocks() noexcept override { return this; }
    [[nodiscard]] std::uint64_t filtered() const noexcept override { return filtered_; }
    [[nodiscard]] std::uint32_t interface_count() const override;
    [[nodiscard]] std::string interface_name(std::uint32_t interface) const override;

    // --- BlockReader (block_reader.h) ----------------------------------------------------------

    using BlockReader::read;  // one extent, for next()
    bool claim(std::size_t frames, Extent& extent) noexcept override;
    void read(std::span<Read* const> reads) override;
    std::size_t walk(const Extent& extent, Bytes data, std::span<RawFrame> frames,
                     std::vector<std::uint8_t>& copies) override;
    [[nodiscard]] bool walking() const noexcept override {
        return walking_.load(std::memory_order_relaxed);
    }

  private:
    // One walk's state: the extent's bytes, how far into them, the frames described so far.
    struct Walk {
        Bytes data;
        std::span<RawFrame> frames;
        std::size_t used = 0;  // bytes of data taken (walked, or appended to what was carried)
        std::size_t n = 0;
        bool go_on = true;  // false: the walk of this extent is over
    };

    // pcap_source.cc: the libpcap side.
    void walk_classic_pcap() noexcept;
    void hand_over_to_libpcap() noexcept;
    // At libpcap's end or error: whether the file ended before its size at opening (sets error_).
    bool shrank() noexcept;
    // Opens the raw file (or takes stdin); sets size_, and `regular` for a regular file.
    std::FILE* open_raw(const std::string& path, bool& regular);
    // The read filter compiled for link type `dlt`, or null with error_ set.
    ProgramPtr compile_filter(int dlt, const std::string& expression);
    // Whether a frame just described is given (the read filter passes it); counts it either way.
    bool keep(const RawFrame& frame, const bpf_program* filter) noexcept;

    // pcapng_source.cc: a pcapng file, read by PcapngReader rather than libpcap.
    // Whether `in` is a pcapng file: then it is read from here on (throws OpenError if its
    // head is broken). If not, `in` is the same stream from its first byte again (perhaps a
    // new stream, owning the old one, that gives the bytes looked at first).
    bool open_pcapng(std::FILE*& in, const std::string& name, const std::string& filter);
    ReadStatus next_pcapng(RawFrame& frame) noexcept;
    // Takes the interfaces described since the last call: their names, their read filter.
    bool take_new_interfaces() noexcept;
    [[nodiscard]] bool limit_reached() const noexcept {
        return max_frames_ != 0 && given_ >= max_frames_;
    }
    // --count reached while walking: no more extents, and next() ends.
    void stop_walking() noexcept { walking_.store(false, std::memory_order_relaxed); }

    // extent_walk.cc: the extents.
    void read_run(std::span<Read* const> reads, std::span<iovec> iov) noexcept;
    std::size_t next_extent_noexcept() noexcept;
    void describe(const std::uint8_t* h, std::uint32_t caplen, RawFrame& frame) noexcept;
    void walk_carried(Walk& w, std::vector<std::uint8_t>& copies);
    bool complete_carried(Walk& w, std::size_t off, std::size_t need);
    void walk_data(Walk& w);
    [[nodiscard]] std::uint32_t field32(const std::uint8_t* p) const noexcept {
        std::uint32_t v;
        std::memcpy(&v, p, sizeof v);
        return swapped_ ? __builtin_bswap32(v) : v;
    }

    ExtentBuffer buffer_;  // stdio's; must outlive pcap_ (declared first, destroyed last)
    PcapPtr pcap_;
    std::unique_ptr<std::FILE, FileCloser> input_;  // a pcapng file's stream (pcap_ is null)
    std::FILE* file_ = nullptr;         // owned by pcap_ (or by the gzip stream libpcap reads)
    const GzipReader* gzip_ = nullptr;  // a gzip-compressed file's reader, owned by pcap_
    ProgramPtr filter_;                 // the read filter, if any
    std::string filter_expression_;
    std::unique_ptr<PcapngReader> pcapng_;       // a pcapng file's reader (libpcap reads no frame)
    std::vector<ProgramPtr> interface_filters_;  // the read filter per pcapng interface
    mutable std::mutex names_mutex_;             // names_ is read on the analysing thread
    std::vector<std::string> names_;             // the pcapng interfaces' names
    std::uint64_t max_frames_ = 0;               // FileOptions::max_frames
    std::uint64_t given_ = 0;                    // frames the filter passed (all, without one)
    std::uint64_t filtered_ = 0;                 // frames it rejected
    LinkType link_ = LinkType::Unsupported;
    std::string link_name_;
    std::string error_;
    std::uint64_t count_ = 0;
    std::uint64_t size_ = 0;
    // The extents (classic pcap files only).
    std::atomic<bool> walking_{false};  // records come from extents (until libpcap takes over)
    bool swapped_ = false;
    bool nano_ = false;
    bool handover_failed_ = false;
    int fd_ = -1;
    std::uint32_t max_caplen_ = 0;
    // Claiming (one caller at a time).
    std::uint64_t next_claim_ = 0;  // file offset of the next extent
    bool claimed_all_ = false;      // the extent that reaches size_ is claimed
    // Walking (one caller at a time, in claim order).
    std::uint64_t cursor_ = 0;  // file offset of the first record not taken
    std::vector<std::uint8_t>
        carry_;  // [carry_head_, end): the bytes from cursor_ to the next extent
    std::size_t carry_head_ = 0;
    std::atomic<std::size_t> carried_bytes_{0};  // read by claim()
    // Bytes per record in the last extent walked (header included); read by claim().
    std::atomic<std::size_t> average_record_{2048};
    // next()'s extent and its frames.
    ExtentBuffer block_;
    std::vector<std::uint8_t> copies_;
    std::vector<RawFrame> frames_;
    std::size_t in_block_ = 0;
    std::size_t next_in_block_ = 0;
};

}  // namespace vxcheck::capture

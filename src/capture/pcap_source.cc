// libpcap-backed sources. The only file that includes <pcap.h>.
//
// Classic pcap files (2.4, micro- or nanosecond, either byte order) are read with pread[v]() in
// extents, contiguous byte ranges, straight into a buffer of ours (or, for the parallel
// pipeline, the batch's own: BlockReader): a frame is a view into that buffer, with one copy out
// of the page cache instead of three (stdio's buffer, then libpcap's); a record an extent cuts
// is copied whole into the next one's storage. Extents are of up to 256 KiB, about a batch of
// frames; the batch pipeline reads four with one preadv() (BlockReader::read). (This replaced a
// mapping of the whole file: with a page cache of small folios, faulting the pages in cost more
// than the copy, the cost changed with the page cache's state from run to run, and a file that
// shrank while mapped raised SIGBUS.) libpcap still opens every file, so the header checks and
// their messages are its own, and it takes over for everything the walk does not do exactly as it
// would: pcapng, stdin, older or modified pcap formats, the end of the file, and any record that is
// cut short or longer than the snapshot length.

#include <fcntl.h>
#include <pcap/pcap.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

#include "vxcheck/capture/block_reader.h"
#include "vxcheck/capture/source.h"

namespace vxcheck::capture {
namespace {

constexpr std::size_t kReadBufferSize = std::size_t{1} << 20;  // stdio's 4 KiB is the bottleneck

struct PcapCloser {
    void operator()(pcap_t* p) const noexcept { pcap_close(p); }
};
using PcapPtr = std::unique_ptr<pcap_t, PcapCloser>;

LinkType map_link_type(int dlt) noexcept {
    switch (dlt) {
        case DLT_EN10MB:
            return LinkType::Ethernet;
        case DLT_LINUX_SLL:
            return LinkType::LinuxSll;
        case DLT_LINUX_SLL2:
            return LinkType::LinuxSll2;
        case DLT_RAW:
            return LinkType::RawIp;
        case DLT_IPV4:
            return LinkType::RawIpv4;
        case DLT_IPV6:
            return LinkType::RawIpv6;
        case DLT_NULL:
        case DLT_LOOP:
            return LinkType::Null;
        default:
            return LinkType::Unsupported;
    }
}

std::string link_type_name(int dlt) {
    const char* name = pcap_datalink_val_to_name(dlt);
    return name != nullptr ? name : "DLT " + std::to_string(dlt);
}

// libpcap's open errors name the file already in some cases and not in others; we always do.
std::string describe_open_error(const std::string& path, const char* err) {
    const std::string e = err;
    if (e.find("unknown file format") != std::string::npos) {
        return path + ": not a pcap or pcapng capture (unknown file format)";
    }
    if (e.find("truncated dump file") != std::string::npos ||
        e.find("truncated pcapng dump file") != std::string::npos) {
        return path + ": capture file header is truncated (" + e + ")";
    }
    return path + ": " + e;
}

constexpr std::uint32_t kPcapngShbType = 0x0a0d0d0a;
constexpr std::uint32_t kPcapngByteOrderMagic = 0x1a2b3c4d;
constexpr std::uint32_t kPcapngMinShbLen = 28;

std::uint32_t load32(const unsigned char* p, bool swap) noexcept {
    std::uint32_t v;
    std::memcpy(&v, p, sizeof v);
    return swap ? __builtin_bswap32(v) : v;
}

// libpcap 1.10 does not check that a pcapng Section Header Block's two length fields agree, and
// then reads garbage as packets. Check the SHB ourselves; returns a problem or "".
std::string check_pcapng_header(std::FILE* f, std::uint64_t file_size) {
    unsigned char head[12];
    if (std::fread(head, 1, sizeof head, f) != sizeof head ||
        load32(head, false) != kPcapngShbType) {
        return "";  // not pcapng (or too short): libpcap says what it is
    }
    const std::uint32_t bom = load32(head + 8, false);
    if (bom != kPcapngByteOrderMagic && bom != __builtin_bswap32(kPcapngByteOrderMagic)) {
        return "broken pcapng section header (bad byte-order magic)";
    }
    const bool swap = bom != kPcapngByteOrderMagic;
    const std::uint32_t len = load32(head + 4, swap);
    if (len < kPcapngMinShbLen || len % 4 != 0 || len > file_size) {
        return "broken pcapng section header (block length " + std::to_string(len) + ")";
    }
    unsigned char trailer[4];
    if (std::fseek(f, static_cast<long>(len) - 4, SEEK_SET) != 0 ||
        std::fread(trailer, 1, sizeof trailer, f) != sizeof trailer ||
        load32(trailer, swap) != len) {
        return "broken pcapng section header (block lengths " + std::to_string(len) + " and " +
               std::to_string(load32(trailer, swap)) + " differ)";
    }
    return "";
}

// Classic pcap layout (libpcap sf-pcap.c): a 24-byte file header, then records of a 16-byte
// header (seconds, micro- or nanoseconds, captured length, wire length) and the captured bytes.
constexpr std::size_t kPcapFileHeaderLen = 24;
constexpr std::size_t kPcapRecordHeaderLen = 16;
constexpr std::uint32_t kPcapMagicMicro = 0xa1b2c3d4;
constexpr std::uint32_t kPcapMagicNano = 0xa1b23c4d;
// libpcap rejects a captured length above max_snaplen_for_dlt() (at least 256 KiB for every
// link type) and cuts one above the snapshot length: the block walk leaves both to libpcap.
constexpr std::uint32_t kMaxWalkedCaplen = 262144;
// Bytes read per extent, at most: a few hundred frames, small enough to stay in the L2 cache
// while they are processed, large enough that the system call costs little. A larger record
// is carried across extents.
constexpr std::size_t kBlockBytes = std::size_t{256} << 10;
// Frames per extent for next() (the parallel pipeline's batches set their own).
constexpr std::size_t kBlockFrames = 1024;

class PcapFileSource final : public Source, public BlockReader {
  public:
    explicit PcapFileSource(const std::string& path) : frames_(kBlockFrames) {
        std::FILE* f = nullptr;
        bool regular = false;
        if (path == "-") {
            f = stdin;
        } else {
            struct stat st {};
            if (::stat(path.c_str(), &st) != 0) {
                throw OpenError(path + ": " + std::strerror(errno));
            }
            if (S_ISDIR(st.st_mode)) {
                throw OpenError(path + ": is a directory, not a capture file");
            }
            size_ = static_cast<std::uint64_t>(st.st_size);
            if (size_ == 0 && S_ISREG(st.st_mode)) {
                throw OpenError(path + ": empty file, not a pcap or pcapng capture");
            }
            f = std::fopen(path.c_str(), "rb");
            if (f == nullptr) {
                throw OpenError(path + ": " + std::strerror(errno));
            }
            regular = S_ISREG(st.st_mode);
            if (regular) {
                const std::string problem = check_pcapng_header(f, size_);
                if (!problem.empty() || std::fseek(f, 0, SEEK_SET) != 0) {
                    std::fclose(f);
                    throw OpenError(path + ": " + (problem.empty() ? "cannot seek" : problem));
                }
            }
        }
        // Page-aligned (stdio refills it from offsets that are multiples of its size), for the
        // kernel's copy: see ExtentBuffer. new char[] puts it 16 bytes into a page, where that
        // copy is slowest.
        std::setvbuf(f, reinterpret_cast<char*>(buffer_.place(0, kReadBufferSize)), _IOFBF,
                     kReadBufferSize);
        file_ = f;
        char errbuf[PCAP_ERRBUF_SIZE] = {};
        pcap_.reset(
            pcap_fopen_offline_with_tstamp_precision(f, PCAP_TSTAMP_PRECISION_NANO, errbuf));
        if (!pcap_) {
            if (f != stdin) {
                std::fclose(f);
            }
            throw OpenError(describe_open_error(path == "-" ? "<stdin>" : path, errbuf));
        }
        const int dlt = pcap_datalink(pcap_.get());
        link_ = map_link_type(dlt);
        link_name_ = link_type_name(dlt);
        if (regular) {
            walk_classic_pcap();
        }
    }

    ReadStatus next(RawFrame& frame) noexcept override {
        while (next_in_block_ == in_block_ && walking()) {
            next_in_block_ = 0;
            in_block_ = next_extent_noexcept();
        }
        if (next_in_block_ < in_block_) {
            frame = frames_[next_in_block_++];
            return ReadStatus::Frame;
        }
        if (handover_failed_) {
            return ReadStatus::Error;  // after the frames walked before it
        }
        pcap_pkthdr* hdr = nullptr;
        const u_char* data = nullptr;
        const int rc = pcap_next_ex(pcap_.get(), &hdr, &data);
        if (rc == 1) {
            frame.ts = Timestamp{.sec = hdr->ts.tv_sec,
                                 .nsec = static_cast<std::uint32_t>(hdr->ts.tv_usec)};
            frame.caplen = hdr->caplen;
            frame.wirelen = hdr->len;
            frame.link = link_;
            frame.number = ++count_;
            frame.data = Bytes{data, hdr->caplen};
            return ReadStatus::Frame;
        }
        if (rc == PCAP_ERROR_BREAK) {
            return ReadStatus::End;
        }
        error_ = pcap_geterr(pcap_.get());
        return ReadStatus::Error;
    }

    [[nodiscard]] const std::string& error() const noexcept override { return error_; }
    [[nodiscard]] const std::string& link_name() const noexcept override { return link_name_; }
    [[nodiscard]] std::uint64_t position() const noexcept override {
        if (walking()) {
            return cursor_;
        }
        const off_t pos = ::ftello(file_);
        return pos < 0 ? 0 : static_cast<std::uint64_t>(pos);
    }
    [[nodiscard]] std::uint64_t size() const noexcept override { return size_; }
    // Every file: a pcapng file or stdin is never walked (walking() is false from the start).
    [[nodiscard]] BlockReader* blocks() noexcept override { return this; }

    // --- BlockReader (block_reader.h) ----------------------------------------------------------

    using BlockReader::read;  // one extent, for next()

    bool claim(std::size_t frames, Extent& extent) noexcept override {
        if (!walking()) {
            return false;
        }
        if (claimed_all_) {
            // Empty extents, for the records carried past the last one's frames.
            extent = Extent{.offset = next_claim_, .length = 0, .last = true};
            return true;
        }
        // About what `frames` can take at the last extent's average record, an eighth short,
        // less what is carried already: the records that do not fit in an extent's frames are
        // carried, copied, into the next one's. At least `frames` bare record headers' worth
        // (something new to walk, so that a large carried record gets whole), at most
        // kBlockBytes.
        const std::size_t avg = average_record_.load(std::memory_order_relaxed);
        const std::size_t carried = carried_bytes_.load(std::memory_order_relaxed);
        const std::size_t least = std::min(frames * kPcapRecordHeaderLen, kBlockBytes);
        const std::size_t fit = std::clamp(frames * avg / 8 * 7, least, kBlockBytes);
        const std::size_t want = carried + least >= fit ? least : fit - carried;
        extent.offset = next_claim_;
        extent.length = want;
        extent.last = next_claim_ + want >= size_;
        next_claim_ += want;
        claimed_all_ = extent.last;
        return true;
    }

    void read(std::span<Read* const> reads) override {
        // Runs of extents that follow one another, one preadv() each (on a short read, again
        // from where it stopped, until the run is read or the file ends or fails).
        std::array<iovec, kMaxReads> iov{};
        std::size_t i = 0;
        while (i < reads.size()) {
            std::size_t n = 0;
            std::uint64_t end = reads[i]->extent.offset;
            while (i + n < reads.size() && n < iov.size() && reads[i + n]->extent.offset == end) {
                Read& r = *reads[i + n];
                iov[n] = iovec{.iov_base = r.storage->place(r.extent.offset, r.extent.length),
                               .iov_len = r.extent.length};
                r.bytes = Bytes{static_cast<const std::uint8_t*>(iov[n].iov_base), 0};
                end += r.extent.length;
                ++n;
            }
            read_run(reads.subspan(i, n), {iov.data(), n});
            i += n;
        }
    }

    std::size_t walk(const Extent& extent, Bytes data, std::span<RawFrame> frames,
                     std::vector<std::uint8_t>& copies) override {
        copies.clear();
        if (!walking()) {
            return 0;
        }
        if (frames.empty()) {
            hand_over_to_libpcap();  // nowhere to put frames: libpcap reads on, losing none
            return 0;
        }
        if (extent.length != 0 && extent.offset != cursor_ + (carry_.size() - carry_head_)) {
            hand_over_to_libpcap();  // not the extent that follows: libpcap reads on, in order
            return 0;
        }
        Walk w{.data = data, .frames = frames};
        if (carry_head_ != carry_.size()) {
            walk_carried(w, copies);
        }
        if (w.go_on) {
            walk_data(w);
        }
        if (extent.last ? w.n < frames.size() : data.size() < extent.length) {
            // The end of the file as it was at opening, with every whole record before it taken
            // (with the frames full, empty extents follow for what is carried), or a short read
            // before it: libpcap reads what remains from the first record not taken, a record
            // cut short, one written since, or the error.
            hand_over_to_libpcap();
        }
        return w.n;
    }

    [[nodiscard]] bool walking() const noexcept override {
        return walking_.load(std::memory_order_relaxed);
    }

  private:
    // Walks the file in extents if it is a classic pcap 2.4 file (libpcap has checked its header).
    void walk_classic_pcap() noexcept {
        pcap_t* p = pcap_.get();
        if (pcap_major_version(p) != 2 || pcap_minor_version(p) != 4) {
            return;  // 2.0-2.3 may swap the length fields; DG/UX 543.0: libpcap sorts them out
        }
        unsigned char head[4];
        fd_ = ::fileno(file_);
        if (::pread(fd_, head, sizeof head, 0) != static_cast<ssize_t>(sizeof head)) {
            return;
        }
        std::uint32_t magic;
        std::memcpy(&magic, head, sizeof magic);
        const bool swapped = pcap_is_swapped(p) != 0;
        if (swapped) {
            magic = __builtin_bswap32(magic);
        }
        if (magic != kPcapMagicMicro && magic != kPcapMagicNano) {
            return;  // Kuznetzov's modified format has longer record headers
        }
        swapped_ = swapped;
        nano_ = magic == kPcapMagicNano;
        const auto snapshot = static_cast<std::uint32_t>(std::max(pcap_snapshot(p), 0));
        max_caplen_ = std::min(snapshot, kMaxWalkedCaplen);
        cursor_ = kPcapFileHeaderLen;
        next_claim_ = kPcapFileHeaderLen;
        walking_.store(true, std::memory_order_relaxed);
        // The file is read once, front to back: a capture that is not in the page cache comes
        // off the disk in larger readahead steps (a hint; nothing depends on it).
        ::posix_fadvise(fd_, 0, 0, POSIX_FADV_SEQUENTIAL);
    }

    // Reads extents that follow one another into `iov` (one entry each, `reads` beside them);
    // sets each one's bytes to what arrived.
    void read_run(std::span<Read* const> reads, std::span<iovec> iov) noexcept {
        std::uint64_t offset = reads.front()->extent.offset;
        std::size_t first = 0;  // the first entry not yet read whole
        while (first < iov.size()) {
            if (iov[first].iov_len == 0) {
                ++first;
                continue;
            }
            const ssize_t r = ::preadv(fd_, &iov[first], static_cast<int>(iov.size() - first),
                                       static_cast<off_t>(offset));
            if (r < 0 && errno == EINTR) {
                continue;
            }
            if (r <= 0) {
                return;
            }
            offset += static_cast<std::uint64_t>(r);
            for (auto left = static_cast<std::size_t>(r); left != 0;) {
                const std::size_t take = std::min(left, iov[first].iov_len);
                Bytes& got = reads[first]->bytes;
                got = Bytes{got.data(), got.size() + take};
                iov[first].iov_base = static_cast<std::uint8_t*>(iov[first].iov_base) + take;
                iov[first].iov_len -= take;
                left -= take;
                if (iov[first].iov_len == 0) {
                    ++first;
                }
            }
        }
    }

    [[nodiscard]] std::uint32_t field32(const std::uint8_t* p) const noexcept {
        std::uint32_t v;
        std::memcpy(&v, p, sizeof v);
        return swapped_ ? __builtin_bswap32(v) : v;
    }

    // next()'s own extent. Growing a buffer is the only allocation; if that fails, libpcap reads
    // the rest (it needs no more memory than a record).
    std::size_t next_extent_noexcept() noexcept {
        try {
            Extent e;
            if (!claim(frames_.size(), e)) {
                hand_over_to_libpcap();
                return 0;
            }
            return walk(e, read(e, block_), frames_, copies_);
        } catch (const std::bad_alloc&) {
            hand_over_to_libpcap();
            return 0;
        }
    }

    // One walk's state: the extent's bytes, how far into them, the frames described so far.
    struct Walk {
        Bytes data;
        std::span<RawFrame> frames;
        std::size_t used = 0;  // bytes of data taken (walked, or appended to what was carried)
        std::size_t n = 0;
        bool go_on = true;  // false: the walk of this extent is over
    };

    // A record's header at `h` (the whole record is there): its frame, numbered next.
    void describe(const std::uint8_t* h, std::uint32_t caplen, RawFrame& frame) noexcept {
        // As libpcap: both timestamp fields are signed 32-bit; microseconds scale to nanoseconds.
        std::int64_t fraction = static_cast<std::int32_t>(field32(h + 4));
        if (!nano_) {
            fraction *= 1000;
        }
        frame.ts = Timestamp{.sec = static_cast<std::int32_t>(field32(h)),
                             .nsec = static_cast<std::uint32_t>(fraction)};
        frame.caplen = caplen;
        frame.wirelen = field32(h + 12);
        frame.link = link_;
        frame.number = ++count_;
        frame.data = Bytes{h + kPcapRecordHeaderLen, caplen};
        frame.csum_not_ready = false;
    }

    // The records that begin in what was carried (at cursor_), completed from the head of the
    // extent and copied into `copies`. Clears w.go_on when what was carried is not all taken
    // (the frames are full): the rest of the extent is then carried too.
    void walk_carried(Walk& w, std::vector<std::uint8_t>& copies) {
        std::size_t off = carry_head_;
        std::size_t taken = 0;  // frames
        while (off < carry_.size() && taken < w.frames.size()) {
            if (!complete_carried(w, off, kPcapRecordHeaderLen)) {
                break;  // the extent ends inside the record header
            }
            const std::uint32_t caplen = field32(carry_.data() + off + 8);
            if (caplen > max_caplen_) {
                w.go_on = false;  // libpcap's to cut or reject (below), with its own words
                break;
            }
            if (!complete_carried(w, off, kPcapRecordHeaderLen + caplen)) {
                break;  // the extent ends inside the record
            }
            off += kPcapRecordHeaderLen + caplen;
            ++taken;
        }
        // Copy the records taken at once: `copies` does not move after the frames point into it.
        // Everything that may throw (allocate) comes before any frame is described, so that an
        // exception loses no frame: libpcap then reads on from cursor_.
        copies.assign(carry_.begin() + static_cast<std::ptrdiff_t>(carry_head_),
                      carry_.begin() + static_cast<std::ptrdiff_t>(off));
        const bool rest_carried = w.go_on && off < carry_.size();
        if (rest_carried) {
            // The frames are full, or the extent ends inside a record: carry the rest as well.
            carry_.insert(carry_.end(), w.data.begin() + static_cast<std::ptrdiff_t>(w.used),
                          w.data.end());
            w.used = w.data.size();
        }
        for (std::size_t at = 0; at < copies.size();) {
            const std::uint8_t* h = copies.data() + at;
            const std::uint32_t caplen = field32(h + 8);
            describe(h, caplen, w.frames[w.n++]);
            at += kPcapRecordHeaderLen + caplen;
            cursor_ += kPcapRecordHeaderLen + caplen;
        }
        carry_head_ = off;
        if (!w.go_on) {
            hand_over_to_libpcap();
            return;
        }
        if (rest_carried) {
            w.go_on = false;
            if (carry_head_ > carry_.size() / 2) {
                carry_.erase(carry_.begin(),
                             carry_.begin() + static_cast<std::ptrdiff_t>(carry_head_));
                carry_head_ = 0;
            }
        } else {
            carry_.clear();
            carry_head_ = 0;
        }
        carried_bytes_.store(carry_.size() - carry_head_, std::memory_order_relaxed);
    }

    // Makes the `need` carried bytes from `off` whole by appending the extent's next bytes;
    // false if the extent has too few.
    bool complete_carried(Walk& w, std::size_t off, std::size_t need) {
        const std::size_t have = carry_.size() - off;
        if (have >= need) {
            return true;
        }
        const std::size_t take = std::min(need - have, w.data.size() - w.used);
        carry_.insert(carry_.end(), w.data.begin() + static_cast<std::ptrdiff_t>(w.used),
                      w.data.begin() + static_cast<std::ptrdiff_t>(w.used + take));
        w.used += take;
        return take == need - have;
    }

    // The records in the rest of the extent; what does not fit in `frames`, or is cut by the
    // extent's end, is carried to the next extent.
    void walk_data(Walk& w) {
        // Room for the most that can be carried, before any frame is described (see above).
        carry_.reserve(w.data.size() - w.used);
        const std::uint8_t* base = w.data.data();
        std::size_t pos = w.used;
        const std::size_t end = w.data.size();
        while (w.n < w.frames.size() && end - pos >= kPcapRecordHeaderLen) {
            const std::uint8_t* h = base + pos;
            const std::uint32_t caplen = field32(h + 8);
            if (caplen > max_caplen_) {
                hand_over_to_libpcap();  // libpcap's to cut or reject, with its own words
                return;
            }
            const std::size_t record = kPcapRecordHeaderLen + caplen;
            if (end - pos < record) {
                break;
            }
            describe(h, caplen, w.frames[w.n++]);
            pos += record;
            cursor_ += record;
        }
        carry_.assign(w.data.begin() + static_cast<std::ptrdiff_t>(pos), w.data.end());
        carry_head_ = 0;
        carried_bytes_.store(carry_.size(), std::memory_order_relaxed);
        w.used = end;
        if (w.n != 0 && pos > 0) {
            average_record_.store(std::max<std::size_t>(pos / w.n, 1), std::memory_order_relaxed);
        }
    }

    // libpcap continues at the first record not taken (cursor_). Frames taken stay valid: their
    // bytes are in the caller's storage.
    // If the seek fails, next() reports it once the frames walked before are given.
    void hand_over_to_libpcap() noexcept {
        if (!walking()) {
            return;
        }
        walking_.store(false, std::memory_order_relaxed);
        carry_.clear();
        carry_head_ = 0;
        if (::fseeko(file_, static_cast<off_t>(cursor_), SEEK_SET) != 0) {
            error_ = std::string("cannot seek: ") + std::strerror(errno);
            handover_failed_ = true;
        }
    }

    ExtentBuffer buffer_;  // stdio's; must outlive pcap_ (declared first, destroyed last)
    PcapPtr pcap_;
    std::FILE* file_ = nullptr;  // owned by pcap_
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

}  // namespace

std::unique_ptr<Source> open_file(const std::string& path) {
    return std::make_unique<PcapFileSource>(path);
}

}  // namespace vxcheck::capture

// --- BPF compilation for the live source (src/capture/bpf.h) ---------------------------------

#include <linux/filter.h>

#include "bpf.h"

namespace vxcheck::capture {

std::vector<sock_filter> compile_filter(LinkType link, std::uint32_t snaplen,
                                        const std::string& expression) {
    int dlt = DLT_EN10MB;
    if (link == LinkType::RawIp) {
        dlt = DLT_RAW;
    }
    std::unique_ptr<pcap_t, void (*)(pcap_t*)> dead(pcap_open_dead(dlt, static_cast<int>(snaplen)),
                                                    pcap_close);
    if (!dead) {
        throw OpenError("cannot prepare the BPF compiler");
    }
    bpf_program prog{};
    if (pcap_compile(dead.get(), &prog, expression.c_str(), 1, PCAP_NETMASK_UNKNOWN) != 0) {
        throw OpenError("filter '" + expression + "': " + pcap_geterr(dead.get()));
    }
    std::vector<sock_filter> out(prog.bf_len);
    for (unsigned i = 0; i < prog.bf_len; ++i) {
        out[i] = sock_filter{.code = prog.bf_insns[i].code,
                             .jt = prog.bf_insns[i].jt,
                             .jf = prog.bf_insns[i].jf,
                             .k = prog.bf_insns[i].k};
    }
    pcap_freecode(&prog);
    return out;
}

}  // namespace vxcheck::capture

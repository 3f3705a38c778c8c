// libpcap-backed sources. The only file that includes <pcap.h>.
//
// Classic pcap files (2.4, micro- or nanosecond, either byte order) are read with pread() in
// blocks of whole records, straight into a buffer of ours (or, for the parallel pipeline, the
// batch's own: BlockReader): a frame is a view into that buffer, with one copy out of the page
// cache instead of three (stdio's buffer, then libpcap's). A block of 256 KiB stays in the L2
// cache while its frames are decoded and their checksums summed. (This replaced a mapping of the
// whole file: with a page cache of small folios, faulting the pages in cost more than the copy,
// the cost changed with the page cache's state from run to run, and a file that shrank while
// mapped raised SIGBUS.) libpcap still opens every file, so the header checks and their messages
// are its own, and it takes over for everything the block walk does not do exactly as it would:
// pcapng, stdin, older or modified pcap formats, the end of the file, and any record that is cut
// short or longer than the snapshot length.

#include <fcntl.h>
#include <pcap/pcap.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

#include "block_reader.h"
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
// Bytes read per block, at most: a few hundred frames, small enough to stay in the L2 cache
// while they are processed, large enough that the system call costs nothing. A larger record
// grows the buffer. At least kMinBlockBytes, whatever the frames are like.
constexpr std::size_t kBlockBytes = std::size_t{256} << 10;
constexpr std::size_t kMinBlockBytes = std::size_t{16} << 10;
// Frames per block for next() (the parallel pipeline's batches set their own).
constexpr std::size_t kBlockFrames = 1024;

class PcapFileSource final : public Source, public BlockReader {
  public:
    explicit PcapFileSource(const std::string& path)
        : buffer_(new char[kReadBufferSize]), frames_(kBlockFrames) {
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
        std::setvbuf(f, buffer_.get(), _IOFBF, kReadBufferSize);
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
        if (handover_failed_) {
            return ReadStatus::Error;
        }
        if (walking_) {
            if (next_in_block_ == in_block_) {
                next_in_block_ = 0;
                in_block_ = read_block_noexcept();
            }
            if (next_in_block_ < in_block_) {
                frame = frames_[next_in_block_++];
                return ReadStatus::Frame;
            }
            if (!hand_over_to_libpcap()) {
                return ReadStatus::Error;
            }
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
        if (walking_) {
            return cursor_;
        }
        const off_t pos = ::ftello(file_);
        return pos < 0 ? 0 : static_cast<std::uint64_t>(pos);
    }
    [[nodiscard]] std::uint64_t size() const noexcept override { return size_; }

    std::size_t read_block(std::vector<std::uint8_t>& storage,
                           std::span<RawFrame> frames) override {
        if (!walking_ || frames.empty()) {
            return 0;
        }
        if (next_in_block_ != in_block_) {
            return 0;  // next() has frames of its own block left: they come first
        }
        const std::size_t n = walk_block(storage, frames);
        if (n == 0) {
            hand_over_to_libpcap();  // a failure is next()'s error
        }
        return n;
    }

  private:
    // Walks the file in blocks if it is a classic pcap 2.4 file (libpcap has checked its header).
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
        walking_ = true;
        // The file is read once, front to back: a capture that is not in the page cache comes
        // off the disk in larger readahead steps (a hint; nothing depends on it).
        ::posix_fadvise(fd_, 0, 0, POSIX_FADV_SEQUENTIAL);
    }

    [[nodiscard]] std::uint32_t field32(const std::uint8_t* p) const noexcept {
        std::uint32_t v;
        std::memcpy(&v, p, sizeof v);
        return swapped_ ? __builtin_bswap32(v) : v;
    }

    // next()'s own block. Growing the buffer for a large record is the only allocation; if that
    // fails, libpcap reads the rest (it needs no more memory than a record).
    std::size_t read_block_noexcept() noexcept {
        try {
            return walk_block(block_, frames_);
        } catch (const std::bad_alloc&) {
            return 0;
        }
    }

    // Reads from cursor_ into `storage` and describes the whole records there in `frames`.
    // Returns 0, leaving cursor_ at the record, when the next record is for libpcap: cut short
    // by the end of the file (or a read error), or a captured length the walk does not take.
    std::size_t walk_block(std::vector<std::uint8_t>& storage, std::span<RawFrame> frames) {
        // Read about what `frames` can take (the last block's average record, one to spare):
        // bytes read past the last frame taken would be read again for the next block.
        const std::size_t want =
            std::clamp((frames.size() + 1) * average_record_, kMinBlockBytes, kBlockBytes);
        if (storage.size() < want) {
            storage.resize(want);
        }
        std::size_t got = read_at(storage, 0, want, cursor_);
        std::size_t off = 0;
        std::size_t n = 0;
        while (n < frames.size()) {
            if (got - off < kPcapRecordHeaderLen) {
                break;
            }
            const std::uint8_t* h = storage.data() + off;
            const std::uint32_t caplen = field32(h + 8);
            if (caplen > max_caplen_) {
                break;  // libpcap's to cut or reject, with its own words
            }
            const std::size_t record = kPcapRecordHeaderLen + caplen;
            if (got - off < record) {
                if (off != 0 || got < want) {
                    break;  // the next block starts here; or the file ends inside the record
                }
                // One record larger than the block (up to 256 KiB): make room, read the rest.
                if (storage.size() < record) {
                    storage.resize(record);
                }
                got += read_at(storage, got, record - got, cursor_ + got);
                if (got < record) {
                    break;
                }
                h = storage.data();
            }
            // As libpcap: both timestamp fields are signed 32-bit; microseconds scale to
            // nanoseconds.
            std::int64_t fraction = static_cast<std::int32_t>(field32(h + 4));
            if (!nano_) {
                fraction *= 1000;
            }
            RawFrame& frame = frames[n++];
            frame.ts = Timestamp{.sec = static_cast<std::int32_t>(field32(h)),
                                 .nsec = static_cast<std::uint32_t>(fraction)};
            frame.caplen = caplen;
            frame.wirelen = field32(h + 12);
            frame.link = link_;
            frame.number = ++count_;
            frame.data = Bytes{h + kPcapRecordHeaderLen, caplen};
            frame.csum_not_ready = false;
            off += record;
        }
        cursor_ += off;
        if (n != 0) {
            average_record_ = std::max<std::size_t>(off / n, 1);
        }
        return n;
    }

    // pread() of `len` bytes into storage[at...] from file offset `from`, until done, the end
    // of the file or an error (which libpcap meets again, and reports, when it takes over).
    std::size_t read_at(std::vector<std::uint8_t>& storage, std::size_t at, std::size_t len,
                        std::uint64_t from) const noexcept {
        std::size_t got = 0;
        while (got < len) {
            const ssize_t r =
                ::pread(fd_, storage.data() + at + got, len - got, static_cast<off_t>(from + got));
            if (r < 0 && errno == EINTR) {
                continue;
            }
            if (r <= 0) {
                break;
            }
            got += static_cast<std::size_t>(r);
        }
        return got;
    }

    // libpcap continues at the current record. The mapping stays: earlier frames point into it.
    bool hand_over_to_libpcap() noexcept {
        walking_ = false;
        if (::fseeko(file_, static_cast<off_t>(cursor_), SEEK_SET) != 0) {
            error_ = std::string("cannot seek: ") + std::strerror(errno);
            handover_failed_ = true;
            return false;
        }
        return true;
    }

    std::unique_ptr<char[]> buffer_;  // must outlive pcap_ (declared first, destroyed last)
    PcapPtr pcap_;
    std::FILE* file_ = nullptr;  // owned by pcap_
    LinkType link_ = LinkType::Unsupported;
    std::string link_name_;
    std::string error_;
    std::uint64_t count_ = 0;
    std::uint64_t size_ = 0;
    // The block walk (classic pcap files only).
    bool walking_ = false;  // records come from blocks (until libpcap takes over)
    bool swapped_ = false;
    bool nano_ = false;
    bool handover_failed_ = false;
    int fd_ = -1;
    std::uint32_t max_caplen_ = 0;
    std::uint64_t cursor_ = 0;         // file offset of the next record not yet in a block
    std::vector<std::uint8_t> block_;  // next()'s block
    std::vector<RawFrame> frames_;     // its frames
    std::size_t in_block_ = 0;
    std::size_t next_in_block_ = 0;
    std::size_t average_record_ = 2048;  // bytes per record in the last block (header included)
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

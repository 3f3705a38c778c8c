// libpcap-backed sources. The only file that includes <pcap.h>.
//
// Classic pcap files (2.4, micro- or nanosecond, either byte order) are read through mmap: a
// frame is then a view into the page cache, with no copy into stdio's and then libpcap's buffer
// (those copies were most of the time of reading). libpcap still opens every file, so the
// header checks and their messages are its own, and it takes over for everything the mapped walk
// does not do exactly as it would: pcapng, stdin, older or modified pcap formats, the end of the
// mapping, and any record that is cut short or longer than the snapshot length.

#include <pcap/pcap.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

#include "stable_frames.h"
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
// link type) and cuts one above the snapshot length: the mapped walk leaves both to libpcap.
constexpr std::uint32_t kMaxMappedCaplen = 262144;
// Pages further than this behind the read position are unmapped, so that the resident size
// stays bounded however large the file is (the page cache keeps them).
constexpr std::uint64_t kReleaseWindow = std::uint64_t{64} << 20;
// Every cache line this far ahead of the read position is requested from memory in order. The
// record headers form a chain (each says where the next one is), so walking them waits for
// memory at every record; a steady stream of line requests ahead of the walk lets the memory
// work in parallel and the hardware prefetcher keep up, for the walk and the decoders after it.
constexpr std::uint64_t kPrefetchAhead = 16384;
constexpr std::uint64_t kCacheLine = 64;

// A read-only private mapping of a whole file.
class Mapping {
  public:
    Mapping() = default;
    Mapping(const Mapping&) = delete;
    Mapping& operator=(const Mapping&) = delete;
    ~Mapping() {
        if (base_ != nullptr) {
            ::munmap(const_cast<std::uint8_t*>(base_), size_);
        }
    }

    /// Maps `size` bytes of `fd`; false (and nothing mapped) if the kernel refuses.
    bool map(int fd, std::size_t size) noexcept {
        void* addr = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (addr == MAP_FAILED) {
            return false;
        }
        base_ = static_cast<const std::uint8_t*>(addr);
        size_ = size;
        return true;
    }
    /// Drops the page mappings of [offset, offset + len): later reads fault them in again.
    void release(std::size_t offset, std::size_t len) const noexcept {
        ::madvise(const_cast<std::uint8_t*>(base_) + offset, len, MADV_DONTNEED);
    }

    [[nodiscard]] const std::uint8_t* data() const noexcept { return base_; }
    [[nodiscard]] std::size_t size() const noexcept { return size_; }

  private:
    const std::uint8_t* base_ = nullptr;
    std::size_t size_ = 0;
};

class PcapFileSource final : public Source, public StableFrames {
  public:
    explicit PcapFileSource(const std::string& path) : buffer_(new char[kReadBufferSize]) {
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
            map_classic_pcap();
        }
    }

    ReadStatus next(RawFrame& frame) noexcept override {
        if (mapped_) {
            if (next_mapped(frame)) {
                return ReadStatus::Frame;
            }
            if (!hand_over_to_libpcap()) {
                return ReadStatus::Error;
            }
        }
        last_stable_ = false;
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
        if (mapped_) {
            return cursor_;
        }
        const off_t pos = ::ftello(file_);
        return pos < 0 ? 0 : static_cast<std::uint64_t>(pos);
    }
    [[nodiscard]] std::uint64_t size() const noexcept override { return size_; }

    [[nodiscard]] bool last_frame_stable() const noexcept override { return last_stable_; }
    void keep_pages() noexcept override { keep_pages_ = true; }

  private:
    // Maps the file if it is a classic pcap 2.4 file (libpcap has already checked its header).
    void map_classic_pcap() noexcept {
        pcap_t* p = pcap_.get();
        if (pcap_major_version(p) != 2 || pcap_minor_version(p) != 4) {
            return;  // 2.0-2.3 may swap the length fields; DG/UX 543.0: libpcap sorts them out
        }
        // The size now, not at stat() time: mapping past the end would fault on access.
        struct stat st {};
        if (::fstat(::fileno(file_), &st) != 0 ||
            static_cast<std::uint64_t>(st.st_size) < kPcapFileHeaderLen ||
            !map_.map(::fileno(file_), static_cast<std::size_t>(st.st_size))) {
            return;
        }
        std::uint32_t magic;
        std::memcpy(&magic, map_.data(), sizeof magic);
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
        max_caplen_ = std::min(snapshot, kMaxMappedCaplen);
        cursor_ = kPcapFileHeaderLen;
        mapped_ = true;
    }

    [[nodiscard]] std::uint32_t field32(const std::uint8_t* p) const noexcept {
        std::uint32_t v;
        std::memcpy(&v, p, sizeof v);
        return swapped_ ? __builtin_bswap32(v) : v;
    }

    // The next record from the mapping, or false when libpcap must read it (see the top).
    bool next_mapped(RawFrame& frame) noexcept {
        const std::uint64_t left = map_.size() - cursor_;
        if (left < kPcapRecordHeaderLen) {
            return false;
        }
        const std::uint8_t* h = map_.data() + cursor_;
        const std::uint32_t caplen = field32(h + 8);
        if (caplen > max_caplen_ || caplen > left - kPcapRecordHeaderLen) {
            return false;
        }
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
        cursor_ += kPcapRecordHeaderLen + caplen;
        last_stable_ = true;
        const std::uint64_t want = std::min<std::uint64_t>(cursor_ + kPrefetchAhead, map_.size());
        for (; prefetched_ < want; prefetched_ += kCacheLine) {
            __builtin_prefetch(map_.data() + prefetched_);
        }
        if (!keep_pages_ && cursor_ >= released_ + 2 * kReleaseWindow) {
            map_.release(static_cast<std::size_t>(released_), kReleaseWindow);
            released_ += kReleaseWindow;
        }
        return true;
    }

    // libpcap continues at the current record. The mapping stays: earlier frames point into it.
    bool hand_over_to_libpcap() noexcept {
        mapped_ = false;
        if (::fseeko(file_, static_cast<off_t>(cursor_), SEEK_SET) != 0) {
            error_ = std::string("cannot seek: ") + std::strerror(errno);
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
    // The mapped walk (classic pcap files only).
    Mapping map_;
    bool mapped_ = false;  // records come from map_ (until libpcap takes over)
    bool swapped_ = false;
    bool nano_ = false;
    bool last_stable_ = false;
    bool keep_pages_ = false;
    std::uint32_t max_caplen_ = 0;
    std::uint64_t cursor_ = 0;      // file offset of the next record
    std::uint64_t released_ = 0;    // pages before this offset have been unmapped
    std::uint64_t prefetched_ = 0;  // lines before this offset have been requested
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

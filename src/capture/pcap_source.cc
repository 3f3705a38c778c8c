// libpcap-backed sources. The only file that includes <pcap.h>. The file source is declared
// in pcap_file_source.h; its extents are claimed, read and walked in extent_walk.cc.
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
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

#include "gzip_stream.h"
#include "pcap_file_source.h"
#include "vxcheck/pcapng.h"

namespace vxcheck::capture {
namespace {

constexpr std::size_t kReadBufferSize = std::size_t{1} << 20;  // stdio's 4 KiB is the bottleneck

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
        case DLT_NFLOG:
            return LinkType::Nflog;
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
        load32(head, false) != pcapng::kSectionHeader) {
        return "";  // not pcapng (or too short): libpcap says what it is
    }
    const std::uint32_t bom = load32(head + 8, false);
    if (bom != pcapng::kByteOrderMagic && bom != __builtin_bswap32(pcapng::kByteOrderMagic)) {
        return "broken pcapng section header (bad byte-order magic)";
    }
    const bool swap = bom != pcapng::kByteOrderMagic;
    const std::uint32_t len = load32(head + 4, swap);
    if (len < pcapng::kSectionHeaderMin || len % 4 != 0 || len > file_size) {
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

}  // namespace

void PcapCloser::operator()(pcap* p) const noexcept {
    pcap_close(p);
}

std::FILE* PcapFileSource::open_raw(const std::string& path, bool& regular) {
    regular = false;
    if (path == "-") {
        return stdin;
    }
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
    std::FILE* f = std::fopen(path.c_str(), "rb");
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
    return f;
}

PcapFileSource::PcapFileSource(const std::string& path, const FileOptions& options)
    : max_frames_(options.max_frames) {
    bool regular = false;
    std::FILE* f = open_raw(path, regular);
    const std::string name = path == "-" ? "<stdin>" : path;
    // Page-aligned (stdio refills it from offsets that are multiples of its size), for the
    // kernel's copy: see ExtentBuffer. new char[] puts it 16 bytes into a page, where that
    // copy is slowest. A regular file smaller than kReadBufferSize needs no more than its
    // pages: stdio reads it whole either way.
    const std::size_t stdio_bytes =
        regular ? static_cast<std::size_t>(std::min<std::uint64_t>(
                      kReadBufferSize, (size_ + ExtentBuffer::kPage - 1) / ExtentBuffer::kPage *
                                           ExtentBuffer::kPage))
                : kReadBufferSize;
    std::setvbuf(f, reinterpret_cast<char*>(buffer_.place(0, stdio_bytes)), _IOFBF, stdio_bytes);
    file_ = f;
    std::FILE* pcap_input = f;
    if (starts_gzip(f)) {
        // libpcap reads the decompressed stream; the file itself gives the progress (the
        // compressed bytes read) and the check that it did not shrink. No extents: they are
        // byte ranges of the file as stored.
        const GzipStream gz = open_gzip(f, f != stdin, name);
        pcap_input = gz.file;
        gzip_ = gz.reader;
        regular = false;
    }
    if (open_pcapng(pcap_input, name, options.filter)) {
        return;
    }
    char errbuf[PCAP_ERRBUF_SIZE] = {};
    pcap_.reset(
        pcap_fopen_offline_with_tstamp_precision(pcap_input, PCAP_TSTAMP_PRECISION_NANO, errbuf));
    if (!pcap_) {
        std::string problem = describe_open_error(name, errbuf);
        if (gzip_ != nullptr && !gzip_error(*gzip_).empty()) {
            problem = name + ": " + gzip_error(*gzip_);  // libpcap says only "Input/output error"
        }
        if (pcap_input != stdin) {
            std::fclose(pcap_input);  // the gzip stream closes the file too
        }
        throw OpenError(problem);
    }
    const int dlt = pcap_datalink(pcap_.get());
    link_ = map_link_type(dlt);
    link_name_ = link_type_name(dlt);
    if (!options.filter.empty()) {
        filter_ = compile_filter(dlt, options.filter);
        if (!filter_) {
            throw OpenError(name + ": " + error_);
        }
    }
    if (regular) {
        walk_classic_pcap();
    }
}

void ProgramFree::operator()(bpf_program* p) const noexcept {
    pcap_freecode(p);
    delete p;
}

// LINKTYPE_* values that are not the DLT_* value libpcap's compiler takes (pcap/dlt.h).
int dlt_of_linktype(std::uint32_t linktype) noexcept {
    constexpr std::uint32_t kLinktypeRaw = 101;
    return linktype == kLinktypeRaw ? DLT_RAW : static_cast<int>(linktype);
}

std::string link_type_name_of_linktype(std::uint32_t linktype) {
    return link_type_name(dlt_of_linktype(linktype));
}

ProgramPtr PcapFileSource::compile_filter(int dlt, const std::string& expression) {
    std::unique_ptr<pcap_t, void (*)(pcap_t*)> dead(pcap_open_dead(dlt, 262144), pcap_close);
    auto prog = std::make_unique<bpf_program>();
    if (!dead) {
        error_ = "cannot prepare the BPF compiler";
        return nullptr;
    }
    if (pcap_compile(dead.get(), prog.get(), expression.c_str(), 1, PCAP_NETMASK_UNKNOWN) != 0) {
        error_ = "filter '" + expression + "' for link type " + link_type_name(dlt) + ": " +
                 pcap_geterr(dead.get());
        return nullptr;
    }
    return ProgramPtr(prog.release());
}

bool PcapFileSource::keep(const RawFrame& frame, const bpf_program* filter) noexcept {
    if (filter != nullptr) {
        pcap_pkthdr hdr{};
        hdr.ts.tv_sec = static_cast<time_t>(frame.ts.sec);
        hdr.caplen = frame.caplen;
        hdr.len = frame.wirelen;
        if (pcap_offline_filter(filter, &hdr, frame.data.data()) == 0) {
            ++filtered_;
            return false;
        }
    }
    ++given_;
    return true;
}

ReadStatus PcapFileSource::next(RawFrame& frame) noexcept {
    if (pcapng_) {
        return next_pcapng(frame);
    }
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
    if (limit_reached()) {
        return ReadStatus::End;  // --count: what follows is not read
    }
    pcap_pkthdr* hdr = nullptr;
    const u_char* data = nullptr;
    int rc = 0;
    while ((rc = pcap_next_ex(pcap_.get(), &hdr, &data)) == 1) {
        frame.ts =
            Timestamp{.sec = hdr->ts.tv_sec, .nsec = static_cast<std::uint32_t>(hdr->ts.tv_usec)};
        frame.caplen = hdr->caplen;
        frame.wirelen = hdr->len;
        frame.link = link_;
        frame.number = ++count_;
        frame.interface = 0;
        frame.data = Bytes{data, hdr->caplen};
        frame.csum_not_ready = false;
        if (keep(frame, filter_.get())) {
            return ReadStatus::Frame;
        }
    }
    if (rc == PCAP_ERROR_BREAK) {
        return shrank() ? ReadStatus::Error : ReadStatus::End;
    }
    error_ = pcap_geterr(pcap_.get());
    if (gzip_ != nullptr && !gzip_error(*gzip_).empty()) {
        error_ = gzip_error(*gzip_);  // libpcap says only "Input/output error"
    }
    shrank();  // what happened, rather than libpcap's "truncated dump file"
    return ReadStatus::Error;
}

// A file whose size at opening was known and that ends before it was cut while being read (by
// a rotation, a copy over it, a full disk): what was read of it is a fraction that nothing else
// tells. The extents' walk hands such a file over to libpcap at its first short read, so this
// check at libpcap's end covers both ways of reading. A file read whole and cut afterwards is
// no error.
bool PcapFileSource::shrank() noexcept {
    if (size_ == 0 || file_ == nullptr || file_ == stdin) {
        return false;
    }
    struct stat st {};
    const off_t pos = ::ftello(file_);
    if (::fstat(::fileno(file_), &st) != 0 || pos < 0 || static_cast<std::uint64_t>(pos) >= size_ ||
        static_cast<std::uint64_t>(st.st_size) >= size_) {
        return false;
    }
    error_ = "file shrank from " + std::to_string(size_) + " to " + std::to_string(st.st_size) +
             " bytes while being read";
    return true;
}

std::uint64_t PcapFileSource::position() const noexcept {
    if (walking()) {
        return cursor_;
    }
    const off_t pos = ::ftello(file_);
    return pos < 0 ? 0 : static_cast<std::uint64_t>(pos);
}

// Walks the file in extents if it is a classic pcap 2.4 file (libpcap has checked its header).
void PcapFileSource::walk_classic_pcap() noexcept {
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

// libpcap continues at the first record not taken (cursor_). Frames taken stay valid: their
// bytes are in the caller's storage.
// If the seek fails, next() reports it once the frames walked before are given.
void PcapFileSource::hand_over_to_libpcap() noexcept {
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

std::unique_ptr<Source> open_file(const std::string& path, const FileOptions& options) {
    return std::make_unique<PcapFileSource>(path, options);
}

std::string filter_problem(const std::string& expression) {
    std::unique_ptr<pcap_t, void (*)(pcap_t*)> dead(pcap_open_dead(DLT_EN10MB, 262144), pcap_close);
    if (!dead) {
        return "cannot prepare the BPF compiler";
    }
    bpf_program prog{};
    if (pcap_compile(dead.get(), &prog, expression.c_str(), 1, PCAP_NETMASK_UNKNOWN) != 0) {
        return pcap_geterr(dead.get());
    }
    pcap_freecode(&prog);
    return "";
}

std::string pcap_version() {
    return pcap_lib_version();
}

}  // namespace vxcheck::capture

// --- BPF compilation for the live source (src/capture/bpf.h) ---------------------------------

#include <linux/filter.h>

#include "bpf.h"

namespace vxcheck::capture {
namespace {

constexpr std::uint32_t kSll2HeaderLen = 20;

// A cooked socket's filter sees the packet from its network header, without the SLL2 header
// the program was compiled for. As libpcap does for its own cooked sockets (pcap-linux.c,
// fix_offset): a load from the header's protocol, interface index or packet type becomes the
// kernel's ancillary load of that field; a load past the header moves back by its length.
// False if the program loads another header field (libpcap would then filter in user space).
bool fix_cooked_offsets(bpf_insn& insn) noexcept {
    const unsigned cls = BPF_CLASS(insn.code);
    const unsigned mode = BPF_MODE(insn.code);
    if ((cls != BPF_LD && cls != BPF_LDX) ||
        (mode != BPF_ABS && mode != BPF_IND && mode != BPF_MSH)) {
        return true;
    }
    if (insn.k >= kSll2HeaderLen) {
        insn.k -= kSll2HeaderLen;
    } else if (insn.k == 0) {
        insn.k = static_cast<std::uint32_t>(SKF_AD_OFF + SKF_AD_PROTOCOL);
    } else if (insn.k == 4) {
        insn.k = static_cast<std::uint32_t>(SKF_AD_OFF + SKF_AD_IFINDEX);
    } else if (insn.k == 10) {
        insn.k = static_cast<std::uint32_t>(SKF_AD_OFF + SKF_AD_PKTTYPE);
    } else if (static_cast<std::int32_t>(insn.k) > 0) {
        return false;
    }
    return true;
}

}  // namespace

std::vector<sock_filter> compile_filter(LinkType link, std::uint32_t snaplen,
                                        const std::string& expression) {
    int dlt = DLT_EN10MB;
    if (link == LinkType::RawIp) {
        dlt = DLT_RAW;
    } else if (link == LinkType::LinuxSll2) {
        dlt = DLT_LINUX_SLL2;  // "any": a cooked socket (live_source.cc)
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
        if (link == LinkType::LinuxSll2 && !fix_cooked_offsets(prog.bf_insns[i])) {
            pcap_freecode(&prog);
            throw OpenError("filter '" + expression +
                            "': reads a field of the cooked header that the kernel's filter on "
                            "'any' cannot see; give a simpler filter");
        }
        out[i] = sock_filter{.code = prog.bf_insns[i].code,
                             .jt = prog.bf_insns[i].jt,
                             .jf = prog.bf_insns[i].jf,
                             .k = prog.bf_insns[i].k};
    }
    pcap_freecode(&prog);
    return out;
}

}  // namespace vxcheck::capture

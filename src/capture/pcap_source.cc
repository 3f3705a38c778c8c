// libpcap-backed sources. The only file that includes <pcap.h>.

#include <pcap/pcap.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

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

class PcapFileSource final : public Source {
  public:
    explicit PcapFileSource(const std::string& path) : buffer_(new char[kReadBufferSize]) {
        std::FILE* f = nullptr;
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
            if (S_ISREG(st.st_mode)) {
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
    }

    ReadStatus next(RawFrame& frame) noexcept override {
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
        const long pos = std::ftell(file_);
        return pos < 0 ? 0 : static_cast<std::uint64_t>(pos);
    }
    [[nodiscard]] std::uint64_t size() const noexcept override { return size_; }

  private:
    std::unique_ptr<char[]> buffer_;  // must outlive pcap_ (declared first, destroyed last)
    PcapPtr pcap_;
    std::FILE* file_ = nullptr;  // owned by pcap_
    LinkType link_ = LinkType::Unsupported;
    std::string link_name_;
    std::string error_;
    std::uint64_t count_ = 0;
    std::uint64_t size_ = 0;
};

}  // namespace

std::unique_ptr<Source> open_file(const std::string& path) {
    return std::make_unique<PcapFileSource>(path);
}

}  // namespace vxcheck::capture

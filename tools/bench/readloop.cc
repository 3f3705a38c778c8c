// vxcheck_readloop: the fastest bare libpcap read loop, the ceiling vxcheck analyze is measured
// against (issue 5). pcap_fopen_offline() on a FILE* with a 1 MiB setvbuf buffer, pcap_next_ex()
// in a loop, one byte of every packet folded into an accumulator that is printed, so the loop
// cannot be optimized away and every packet's data is really touched.
//
// Usage: vxcheck_readloop [--json] FILE
// Prints packets, captured bytes, seconds and Mpps (wall clock, steady_clock, open to close).

#include <pcap.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <new>

namespace {

constexpr std::size_t kReadBuffer = std::size_t{1} << 20;  // 1 MiB, as in the ceiling

constexpr std::size_t kPage = 4096;

struct PageFree {
    void operator()(char* p) const noexcept { ::operator delete (p, std::align_val_t{kPage}); }
};

struct PcapCloser {
    void operator()(pcap_t* p) const noexcept { pcap_close(p); }  // also fcloses the FILE*
};

int usage() {
    std::fprintf(stderr, "usage: vxcheck_readloop [--json] FILE\n");
    return 2;
}

}  // namespace

int main(int argc, char** argv) {
    bool json = false;
    const char* path = nullptr;
    for (int i = 1; i < argc; ++i) {
        if (std::strcmp(argv[i], "--json") == 0) {
            json = true;
        } else if (std::strcmp(argv[i], "-h") == 0 || std::strcmp(argv[i], "--help") == 0) {
            usage();
            return 0;
        } else if (path == nullptr) {
            path = argv[i];
        } else {
            return usage();
        }
    }
    if (path == nullptr) {
        return usage();
    }

    const auto start = std::chrono::steady_clock::now();
    std::FILE* file = std::fopen(path, "rb");
    if (file == nullptr) {
        std::fprintf(stderr, "vxcheck_readloop: %s: %s\n", path, std::strerror(errno));
        return 2;
    }
    // The buffer must outlive the FILE; it is freed after pcap_close() below. Page-aligned: stdio
    // refills it from file offsets that are multiples of its size, and on some CPUs the kernel's
    // copy into it (rep movsb) is several times slower when the destination sits 1-31 bytes past
    // the source's offset in a page, which is where malloc puts a 1 MiB block (16 bytes into an
    // mmap'ed page; measurements in tools/bench/README.md). The ceiling should not be slowed down
    // by its buffer.
    const std::unique_ptr<char, PageFree> buffer(
        static_cast<char*>(::operator new (kReadBuffer, std::align_val_t{kPage})));
    if (std::setvbuf(file, buffer.get(), _IOFBF, kReadBuffer) != 0) {
        std::fprintf(stderr, "vxcheck_readloop: setvbuf failed\n");
        std::fclose(file);
        return 2;
    }
    char errbuf[PCAP_ERRBUF_SIZE] = {};
    std::unique_ptr<pcap_t, PcapCloser> pcap(pcap_fopen_offline(file, errbuf));
    if (!pcap) {
        std::fprintf(stderr, "vxcheck_readloop: %s: %s\n", path, errbuf);
        std::fclose(file);
        return 2;
    }

    std::uint64_t packets = 0;
    std::uint64_t bytes = 0;
    std::uint8_t acc = 0;
    pcap_pkthdr* header = nullptr;
    const u_char* data = nullptr;
    int rc = 0;
    while ((rc = pcap_next_ex(pcap.get(), &header, &data)) == 1) {
        ++packets;
        bytes += header->caplen;
        if (header->caplen != 0) {
            acc ^= data[header->caplen - 1];  // the last byte: the whole record was read
        }
    }
    bool failed = false;
    if (rc == PCAP_ERROR) {
        std::fprintf(stderr, "vxcheck_readloop: %s: %s\n", path, pcap_geterr(pcap.get()));
        failed = true;
    }
    pcap.reset();
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const double mpps = seconds > 0 ? static_cast<double>(packets) / seconds / 1e6 : 0.0;

    if (json) {
        std::printf(
            "{\"tool\":\"readloop\",\"packets\":%llu,\"bytes\":%llu,\"seconds\":%.6f,"
            "\"mpps\":%.4f,\"accumulator\":%u,\"error\":%s}\n",
            static_cast<unsigned long long>(packets), static_cast<unsigned long long>(bytes),
            seconds, mpps, static_cast<unsigned>(acc), failed ? "true" : "false");
    } else {
        std::printf("packets %llu\nbytes %llu\nseconds %.6f\nMpps %.4f\naccumulator 0x%02x\n",
                    static_cast<unsigned long long>(packets),
                    static_cast<unsigned long long>(bytes), seconds, mpps,
                    static_cast<unsigned>(acc));
    }
    return failed ? 1 : 0;
}

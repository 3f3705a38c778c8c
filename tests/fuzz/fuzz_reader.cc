// libFuzzer target: the file readers. The input bytes are a capture file (in memory, a memfd),
// read to the end or to an error twice: frame by frame through capture::open_file() (libpcap
// for pcapng, the block reader for classic pcap), and as the batch pipeline reads a classic
// pcap file, in extents claimed, read and walked (capture::BlockReader), then frame by frame
// for the rest. Every frame handed out must lie in storage the reader owns, at its caplen. Seeds:
// the files of pcaps/ (tools/ci/fuzz_corpus.py).

#include <sys/mman.h>
#include <unistd.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "vxcheck/capture/block_reader.h"
#include "vxcheck/capture/source.h"
#include "vxcheck/frame.h"

namespace vxcheck {
namespace {

// Bounds the work per input: a file of tiny records could otherwise hold a million frames.
constexpr std::size_t kMaxFrames = 4096;

// Touches every byte of the frame (so that ASan sees a frame past its storage).
std::uint32_t touch(const RawFrame& f) {
    if (f.data.size() != f.caplen) {
        std::fprintf(stderr, "fuzz_reader: frame %llu has %zu bytes, caplen %u\n",
                     static_cast<unsigned long long>(f.number), f.data.size(), f.caplen);
        std::abort();
    }
    std::uint32_t sum = 0;
    for (const std::uint8_t b : f.data) {
        sum += b;
    }
    return sum;
}

std::uint32_t read_rest(capture::Source& src, std::size_t frames) {
    RawFrame f;
    std::uint32_t sum = 0;
    while (frames++ < kMaxFrames && src.next(f) == capture::ReadStatus::Frame) {
        sum += touch(f);
    }
    static_cast<void>(src.error());
    static_cast<void>(src.position());
    return sum;
}

// As app/parallel.cc reads: extents claimed two at a time for a few records each, read
// together, walked into a few frames at a time.
std::uint32_t read_in_extents(capture::Source& src, capture::BlockReader& blocks) {
    constexpr std::size_t kGroup = 2;
    constexpr std::size_t kClaimFrames = 3;
    std::array<RawFrame, 2> frames{};
    std::array<capture::ExtentBuffer, kGroup> storage;
    std::array<capture::BlockReader::Read, kGroup> reads{};
    std::array<capture::BlockReader::Read*, kGroup> to_read{};
    std::vector<std::uint8_t> copies;
    std::uint32_t sum = 0;
    std::size_t taken = 0;
    while (blocks.walking() && taken < kMaxFrames) {
        std::size_t n_reads = 0;
        capture::BlockReader::Extent e;
        while (n_reads < kGroup && blocks.claim(kClaimFrames, e)) {
            reads[n_reads] = {.extent = e, .storage = &storage[n_reads], .bytes = {}};
            to_read[n_reads] = &reads[n_reads];
            ++n_reads;
        }
        if (n_reads == 0) {
            break;
        }
        blocks.read({to_read.data(), n_reads});
        for (std::size_t i = 0; i < n_reads; ++i) {
            const std::size_t n = blocks.walk(reads[i].extent, reads[i].bytes, frames, copies);
            for (std::size_t k = 0; k < n; ++k) {
                sum += touch(frames[k]);
            }
            taken += n;
        }
    }
    return sum + read_rest(src, taken);
}

struct Fd {
    int fd = -1;
    ~Fd() {
        if (fd >= 0) {
            ::close(fd);
        }
    }
};

}  // namespace
}  // namespace vxcheck

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace vxcheck;
    const Fd file{::memfd_create("fuzz_reader", 0)};
    if (file.fd < 0) {
        std::perror("memfd_create");
        std::abort();
    }
    for (std::size_t off = 0; off < size;) {
        const ssize_t n = ::write(file.fd, data + off, size - off);
        if (n <= 0) {
            std::perror("write");
            std::abort();
        }
        off += static_cast<std::size_t>(n);
    }
    const std::string path = "/proc/self/fd/" + std::to_string(file.fd);
    volatile std::uint32_t sink = 0;
    try {
        const auto src = capture::open_file(path);
        static_cast<void>(src->link_name());
        static_cast<void>(src->size());
        sink = sink + read_rest(*src, 0);
    } catch (const capture::OpenError&) {
        return 0;  // not a capture: named, not a crash
    }
    const auto again = capture::open_file(path);
    if (capture::BlockReader* blocks = again->blocks(); blocks != nullptr) {
        sink = sink + read_in_extents(*again, *blocks);
    }
    return 0;
}

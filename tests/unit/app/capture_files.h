#pragma once
// Test captures made on the fly: frames read from a shipped capture, repeated over time, and
// written back as classic pcap or pcapng, for the tests of the frame loops (parallel_test.cc,
// frame_consumer_test.cc).

#include <cstdint>
#include <fstream>
#include <ostream>
#include <string>
#include <vector>

#include "vxcheck/capture/source.h"
#include "vxcheck/frame.h"

namespace vxcheck::app::test_captures {

struct Frame {
    Timestamp ts;
    std::uint32_t wirelen = 0;
    std::vector<std::uint8_t> bytes;
};

inline std::vector<Frame> frames_of(const std::string& path) {
    std::vector<Frame> frames;
    auto src = capture::open_file(path);
    RawFrame f;
    while (src->next(f) == capture::ReadStatus::Frame) {
        frames.push_back({f.ts, f.wirelen, {f.data.begin(), f.data.end()}});
    }
    return frames;
}

inline void put32(std::ostream& out, std::uint32_t v) {
    out.write(reinterpret_cast<const char*>(&v), sizeof v);  // host order, as the magic says
}
inline void put16(std::ostream& out, std::uint16_t v) {
    out.write(reinterpret_cast<const char*>(&v), sizeof v);
}

// `rounds` copies of `frames`, each round 20 s after the previous one, so that the same
// connections come back (and the analyzer sees thousands of frames, dozens of batches).
inline std::vector<Frame> repeated(const std::vector<Frame>& frames, int rounds) {
    std::vector<Frame> out;
    for (int r = 0; r < rounds; ++r) {
        for (Frame f : frames) {
            f.ts.sec += 20 * r;
            out.push_back(std::move(f));
        }
    }
    return out;
}

inline void write_pcap(const std::string& path, const std::vector<Frame>& frames) {
    std::ofstream out(path, std::ios::binary);
    put32(out, 0xa1b23c4d);  // nanosecond timestamps
    put16(out, 2);
    put16(out, 4);
    put32(out, 0);
    put32(out, 0);
    put32(out, 262144);
    put32(out, 1);  // Ethernet
    for (const Frame& f : frames) {
        put32(out, static_cast<std::uint32_t>(f.ts.sec));
        put32(out, f.ts.nsec);
        put32(out, static_cast<std::uint32_t>(f.bytes.size()));
        put32(out, f.wirelen);
        out.write(reinterpret_cast<const char*>(f.bytes.data()),
                  static_cast<std::streamsize>(f.bytes.size()));
    }
}

// pcapng (read through libpcap, so the pipeline copies every frame): SHB, one Ethernet IDB with
// nanosecond resolution, one EPB per frame.
inline void write_pcapng(const std::string& path, const std::vector<Frame>& frames) {
    std::ofstream out(path, std::ios::binary);
    put32(out, 0x0a0d0d0a);
    put32(out, 28);
    put32(out, 0x1a2b3c4d);
    put16(out, 1);
    put16(out, 0);
    put32(out, 0xffffffff);
    put32(out, 0xffffffff);
    put32(out, 28);
    put32(out, 1);  // IDB: 20 bytes + if_tsresol option (4 + 1, padded to 8) + opt_endofopt (4)
    put32(out, 32);
    put16(out, 1);
    put16(out, 0);
    put32(out, 262144);
    put16(out, 9);  // if_tsresol
    put16(out, 1);
    out.put(9);  // 10^-9
    out.write("\0\0\0", 3);
    put32(out, 0);  // opt_endofopt
    put32(out, 32);
    for (const Frame& f : frames) {
        const auto caplen = static_cast<std::uint32_t>(f.bytes.size());
        const std::uint32_t padded = (caplen + 3U) & ~3U;
        const std::uint32_t len = 32 + padded;
        const std::uint64_t t = static_cast<std::uint64_t>(f.ts.sec) * 1000000000ULL + f.ts.nsec;
        put32(out, 6);
        put32(out, len);
        put32(out, 0);
        put32(out, static_cast<std::uint32_t>(t >> 32));
        put32(out, static_cast<std::uint32_t>(t));
        put32(out, caplen);
        put32(out, f.wirelen);
        out.write(reinterpret_cast<const char*>(f.bytes.data()), caplen);
        out.write("\0\0\0", padded - caplen);
        put32(out, len);
    }
}

}  // namespace vxcheck::app::test_captures

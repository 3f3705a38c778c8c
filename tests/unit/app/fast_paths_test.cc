// The speed-ups behind `vxcheck bench` and analyze (other than the fast path, which
// tests/unit/fastpath/fast_path_test.cc holds to the general path) agree with the plain code:
//  - a classic pcap file read in blocks gives the frames, the end and the errors that libpcap
//    gives for the same bytes read from a pipe (which libpcap reads itself), for the shipped
//    captures, damaged ones and ones of many blocks; so does the same file read in extents of
//    every size (capture::BlockReader), records cut by extents and frames that do not fit,
//    one extent or several read at once;
//  - the SIMD checksum and the fixed-size header sums equal the word-at-a-time reference at
//    every length and alignment, and InternetChecksum::add_sum equals adding the bytes again;
//  - Endpoint's hand-written comparisons order as the member-wise defaulted ones did.

#include <fcntl.h>
#include <gtest/gtest.h>
#include <pthread.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "packet_builder.h"
#include "source_dir.h"
#include "vxcheck/capture/block_reader.h"
#include "vxcheck/capture/source.h"
#include "vxcheck/track/flow_key.h"
#include "vxcheck/verify/checksum.h"

namespace vxcheck {
namespace {

namespace fs = std::filesystem;
using test::ByteVec;

// --- block reader against libpcap ------------------------------------------------------------

struct Read {
    std::vector<RawFrame> frames;
    std::vector<ByteVec> bytes;
    capture::ReadStatus end = capture::ReadStatus::End;
    std::string error;
    std::string link_name;
    std::size_t from_extents = 0;  // frames read_in_extents() had from the extents
};

// The frames next() gives until the end or an error, into r.
void read_rest(capture::Source& src, Read& r) {
    RawFrame f;
    while ((r.end = src.next(f)) == capture::ReadStatus::Frame) {
        r.frames.push_back(f);
        r.bytes.emplace_back(f.data.begin(), f.data.end());
    }
    r.error = r.end == capture::ReadStatus::Error ? src.error() : "";
}

Read read_all(const std::string& path) {
    Read r;
    auto src = capture::open_file(path);
    r.link_name = src->link_name();
    read_rest(*src, r);
    return r;
}

ByteVec file_bytes(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_bytes(const fs::path& path, const ByteVec& b) {
    std::ofstream out(path, std::ios::binary);
    out.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
}

bool is_classic_pcap(const ByteVec& b) {
    if (b.size() < 24) {
        return false;
    }
    std::uint32_t magic;
    std::memcpy(&magic, b.data(), 4);
    for (const std::uint32_t m : {0xa1b2c3d4U, 0xa1b23c4dU}) {
        if (magic == m || magic == __builtin_bswap32(m)) {
            return true;
        }
    }
    return false;
}

// Reads `b` through a FIFO: not a regular file, so libpcap reads it from start to end.
Read read_through_pipe(const fs::path& fifo, const ByteVec& b) {
    if (::mkfifo(fifo.c_str(), 0600) != 0) {
        ADD_FAILURE() << "mkfifo " << fifo;
        return {};
    }
    std::thread writer([&] {
        // The reader may stop early (a damaged record): then writes fail, quietly.
        sigset_t pipe;
        sigemptyset(&pipe);
        sigaddset(&pipe, SIGPIPE);
        pthread_sigmask(SIG_BLOCK, &pipe, nullptr);
        const int fd = ::open(fifo.c_str(), O_WRONLY);
        for (std::size_t off = 0; fd >= 0 && off < b.size();) {
            const ssize_t n = ::write(fd, b.data() + off, b.size() - off);
            if (n <= 0) {
                break;
            }
            off += static_cast<std::size_t>(n);
        }
        if (fd >= 0) {
            ::close(fd);
        }
    });
    Read r = read_all(fifo.string());
    writer.join();
    fs::remove(fifo);
    return r;
}

void expect_same_reading(const Read& a, const Read& b) {
    ASSERT_EQ(a.frames.size(), b.frames.size());
    for (std::size_t i = 0; i < a.frames.size(); ++i) {
        SCOPED_TRACE("frame " + std::to_string(i + 1));
        EXPECT_EQ(a.frames[i].ts.sec, b.frames[i].ts.sec);
        EXPECT_EQ(a.frames[i].ts.nsec, b.frames[i].ts.nsec);
        EXPECT_EQ(a.frames[i].caplen, b.frames[i].caplen);
        EXPECT_EQ(a.frames[i].wirelen, b.frames[i].wirelen);
        EXPECT_EQ(a.frames[i].link, b.frames[i].link);
        EXPECT_EQ(a.frames[i].number, b.frames[i].number);
        EXPECT_EQ(a.bytes[i], b.bytes[i]);
    }
    EXPECT_EQ(a.end, b.end);
    EXPECT_EQ(a.error, b.error);
    EXPECT_EQ(a.link_name, b.link_name);
}

// Reads `path` as the parallel pipeline does, but on one thread: extents claimed for about
// `claim_frames` records, `group` at a time, read together (one read() call, each into its own
// storage), walked into `walk_frames` frames at a time, then next() for the rest.
Read read_in_extents(const std::string& path, std::size_t claim_frames, std::size_t walk_frames,
                     std::size_t group = 1) {
    Read r;
    auto src = capture::open_file(path);
    r.link_name = src->link_name();
    capture::BlockReader* extents = src->blocks();
    std::vector<RawFrame> frames(walk_frames);
    std::vector<capture::ExtentBuffer> storage(group);
    std::vector<capture::BlockReader::Read> reads;
    std::vector<capture::BlockReader::Read*> to_read;
    std::vector<std::uint8_t> copies;
    while (extents != nullptr && extents->walking()) {
        reads.clear();
        capture::BlockReader::Extent e;
        while (reads.size() < group && extents->claim(claim_frames, e)) {
            reads.push_back({.extent = e, .storage = &storage[reads.size()], .bytes = {}});
        }
        if (reads.empty()) {
            break;
        }
        to_read.clear();
        for (capture::BlockReader::Read& each : reads) {
            to_read.push_back(&each);
        }
        extents->read(to_read);
        for (const capture::BlockReader::Read& got : reads) {
            // Co-aligned with the file (block_reader.h): the same offset into a page.
            EXPECT_EQ(
                reinterpret_cast<std::uintptr_t>(got.bytes.data()) % capture::ExtentBuffer::kPage,
                got.extent.offset % capture::ExtentBuffer::kPage);
            EXPECT_LE(got.bytes.size(), got.extent.length);
            const std::size_t n = extents->walk(got.extent, got.bytes, frames, copies);
            for (std::size_t i = 0; i < n; ++i) {
                r.frames.push_back(frames[i]);
                r.bytes.emplace_back(frames[i].data.begin(), frames[i].data.end());
            }
            r.from_extents += n;
        }
    }
    read_rest(*src, r);
    return r;
}

class BlockReader : public ::testing::Test {
  protected:
    // The process id too: test processes that CTest runs side by side may hold their fixtures
    // at the same address (sanitizer allocators place the heap at fixed addresses).
    void SetUp() override {
        dir_ =
            fs::temp_directory_path() / ("vxcheck-fast-paths-" + std::to_string(::getpid()) + "-" +
                                         std::to_string(reinterpret_cast<std::uintptr_t>(this)));
        fs::create_directories(dir_);
    }
    void TearDown() override { fs::remove_all(dir_); }

    // Reads `b` from a regular file (in blocks, and in extents of several sizes) and from a
    // pipe (libpcap), and compares. `intact`: every record is one the walk takes (none cut
    // short, none over the snapshot length), so every frame must come from the extents (the
    // walk also hands over to libpcap when it loses its way, which would hide a slip).
    void check(const std::string& name, const ByteVec& b, bool intact = false) {
        SCOPED_TRACE(name);
        const std::string file = (dir_ / "blocks.pcap").string();
        write_bytes(file, b);
        const Read libpcap = read_through_pipe(dir_ / "pipe", b);
        expect_same_reading(read_all(file), libpcap);
        // Extents shorter than a record (every record cut, some cut twice), a few records long
        // with fewer frames to put them in (records carried on, again and again), and as in
        // analyze --threads.
        // Each also read 3 or 8 extents at a time, as the pipeline reads a group (fill_one).
        for (const auto& [claim, walk, group] :
             std::vector<std::tuple<std::size_t, std::size_t, std::size_t>>{{1, 1, 1},
                                                                            {1, 1, 3},
                                                                            {1, 4, 1},
                                                                            {2, 1, 1},
                                                                            {2, 1, 8},
                                                                            {3, 2, 1},
                                                                            {3, 2, 3},
                                                                            {5, 5, 1},
                                                                            {16, 3, 1},
                                                                            {16, 3, 3},
                                                                            {64, 1, 1},
                                                                            {128, 128, 1},
                                                                            {128, 128, 8}}) {
            SCOPED_TRACE("extents for " + std::to_string(claim) + " records, " +
                         std::to_string(walk) + " frames at a time, " + std::to_string(group) +
                         " read at once");
            const Read extents = read_in_extents(file, claim, walk, group);
            expect_same_reading(extents, libpcap);
            if (intact) {
                EXPECT_EQ(extents.from_extents, libpcap.frames.size());
            }
        }
    }

    fs::path dir_;
};

TEST_F(BlockReader, ShippedCapturesReadAsLibpcapReadsThem) {
    int checked = 0;
    for (const char* dir : {"pcaps", "pcaps/bad"}) {
        for (const auto& e : fs::directory_iterator(fs::path(vxcheck::test::source_dir()) / dir)) {
            if (!e.is_regular_file()) {
                continue;
            }
            const ByteVec b = file_bytes(e.path().string());
            if (is_classic_pcap(b)) {
                check(e.path().filename().string(), b, std::string(dir) == "pcaps");
                ++checked;
            }
        }
    }
    EXPECT_GT(checked, 15);
}

TEST_F(BlockReader, DamagedCapturesEndAsLibpcapSays) {
    const ByteVec good =
        file_bytes((fs::path(vxcheck::test::source_dir()) / "pcaps/vxlan-clean.pcap").string());
    ASSERT_GT(good.size(), 200U);
    // Record boundaries of the first two records.
    std::uint32_t cap0;
    std::memcpy(&cap0, good.data() + 24 + 8, 4);
    const auto second = static_cast<std::ptrdiff_t>(24 + 16 + cap0);

    check("header only", ByteVec(good.begin(), good.begin() + 24));
    check("3 bytes after the header", ByteVec(good.begin(), good.begin() + 27));
    check("record header cut", ByteVec(good.begin(), good.begin() + second + 10));
    check("record data cut", ByteVec(good.begin(), good.begin() + second + 40));
    check("last byte missing", ByteVec(good.begin(), good.end() - 1));

    ByteVec small_snaplen = good;  // records longer than the file's snapshot length
    const std::uint32_t snap = 60;
    std::memcpy(small_snaplen.data() + 16, &snap, 4);
    check("caplen over snaplen", small_snaplen);

    ByteVec no_snaplen = good;  // snaplen 0: libpcap takes the link type's maximum
    const std::uint32_t zero = 0;
    std::memcpy(no_snaplen.data() + 16, &zero, 4);
    check("snaplen 0", no_snaplen);

    ByteVec huge = good;  // a captured length no link type allows
    const std::uint32_t big = 300000;
    std::memcpy(huge.data() + second + 8, &big, 4);
    check("huge caplen", huge);

    ByteVec odd_ts = good;  // timestamp fields read as signed 32-bit numbers
    const std::uint32_t sec = 0x90000000U;
    const std::uint32_t usec = 0xfffffff0U;
    std::memcpy(odd_ts.data() + 24, &sec, 4);
    std::memcpy(odd_ts.data() + 28, &usec, 4);
    check("odd timestamps", odd_ts);
}

// Records of every size across many 256 KiB blocks (and one larger than a block, which grows
// the buffer), then the same file cut inside a record far from the start: the block walk must
// stitch nothing wrong at the block boundaries and end as libpcap does.
TEST_F(BlockReader, ManyBlocksAndARecordLargerThanABlockReadAsLibpcapReadsThem) {
    ByteVec b;
    const auto put32 = [&](std::uint32_t v) {
        for (int i = 0; i < 4; ++i) {
            b.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
        }
    };
    put32(0xa1b2c3d4);
    put32(0x00040002);  // version 2.4
    put32(0);
    put32(0);
    put32(262144);  // snaplen
    put32(1);       // Ethernet
    std::mt19937 rng(7);
    std::size_t large_at = 0;
    for (std::uint32_t i = 0; i < 4000; ++i) {
        const std::uint32_t len =
            i == 1700 ? 262144 : 40 + static_cast<std::uint32_t>(rng() % 1800);
        if (i == 1700) {
            large_at = b.size();
        }
        put32(1700000000 + i);
        put32(i % 1000000);
        put32(len);
        put32(len + (i % 3 == 0 ? 4 : 0));  // some frames cut by a snaplen
        for (std::uint32_t k = 0; k < len; ++k) {
            b.push_back(static_cast<std::uint8_t>(rng()));
        }
    }
    ASSERT_GT(b.size(), std::size_t{3} << 20);  // a dozen blocks and more
    check("4000 records", b, true);
    check("cut inside the large record",
          ByteVec(b.begin(), b.begin() + static_cast<std::ptrdiff_t>(large_at + 16 + 262000)));
    check("cut far from the start", ByteVec(b.begin(), b.end() - 500));
}

TEST_F(BlockReader, BigEndianCapturesReadAsLibpcapReadsThem) {
    const ByteVec le = file_bytes(
        (fs::path(vxcheck::test::source_dir()) / "pcaps/scenario-variant-b.pcap").string());
    ByteVec be = le;
    const auto swap32 = [&](std::size_t off) {
        std::uint32_t v;
        std::memcpy(&v, be.data() + off, 4);
        v = __builtin_bswap32(v);
        std::memcpy(be.data() + off, &v, 4);
    };
    const auto swap16 = [&](std::size_t off) { std::swap(be[off], be[off + 1]); };
    swap32(0);
    swap16(4);
    swap16(6);
    for (const std::size_t off : {8U, 12U, 16U, 20U}) {
        swap32(off);
    }
    for (std::size_t off = 24; off + 16 <= le.size();) {
        std::uint32_t cap;
        std::memcpy(&cap, le.data() + off + 8, 4);
        for (std::size_t f = 0; f < 16; f += 4) {
            swap32(off + f);
        }
        off += 16 + cap;
    }
    check("big-endian", be, true);
    check("big-endian, cut", ByteVec(be.begin(), be.end() - 7));
}

// --- checksum ---------------------------------------------------------------------------------

TEST(ExtentBuffer, PlacesBytesAtTheirFileOffsetIntoAPageAndGrows) {
    capture::ExtentBuffer b;
    constexpr std::size_t kPage = capture::ExtentBuffer::kPage;
    const auto page_offset = [](const std::uint8_t* p) {
        return reinterpret_cast<std::uintptr_t>(p) % kPage;
    };
    std::uint8_t* p = b.place(5 * kPage + 16, 5000);  // two pages
    EXPECT_EQ(page_offset(p), 16U);
    std::fill_n(p, 5000, std::uint8_t{0xab});  // the room is really there (ASan checks)
    // Same storage while it fits, whatever the offset.
    std::uint8_t* q = b.place(kPage - 1, 2000);
    EXPECT_EQ(page_offset(q), kPage - 1);
    EXPECT_EQ(q - (kPage - 1), p - 16);
    std::fill_n(q, 2000, std::uint8_t{0xcd});
    // Larger than the storage: a new block, still co-aligned.
    std::uint8_t* r = b.place(3 * kPage + 100, 300 * 1024);
    EXPECT_EQ(page_offset(r), 100U);
    std::fill_n(r, 300 * 1024, std::uint8_t{0xef});
    EXPECT_EQ(r[300 * 1024 - 1], 0xef);
    // An empty extent needs no room.
    EXPECT_EQ(page_offset(b.place(7, 0)), 7U);
}

TEST(SimdChecksum, EveryLengthAndAlignmentMatchesTheReference) {
    std::mt19937 rng(5);
    ByteVec buf(2048 + 64);
    for (auto& x : buf) {
        const unsigned r = rng() % 4;  // many 0xff and 0x00: carries and negative zero
        x = r == 0 ? 0xff : r == 1 ? 0x00 : static_cast<std::uint8_t>(rng());
    }
    for (std::size_t shift = 0; shift < 64; shift += 7) {
        for (std::size_t len = 0; len <= 2048; len += (len < 300 ? 1 : 61)) {
            const std::uint8_t* p = buf.data() + shift;
            ASSERT_EQ(verify::sum_of(Bytes{p, len}), test::ref_fold(test::ref_sum(p, len)))
                << "len " << len << " shift " << shift;
        }
    }
}

template <std::size_t N>
void expect_fixed_sum_matches(const ByteVec& buf) {
    for (std::size_t shift = 0; shift + N <= buf.size(); ++shift) {
        const std::uint8_t* p = buf.data() + shift;
        ASSERT_EQ(verify::sum_of_fixed<N>(p), test::ref_fold(test::ref_sum(p, N)))
            << N << " bytes at shift " << shift;
    }
}

TEST(SimdChecksum, FixedSizeHeaderSumsMatchTheReference) {
    std::mt19937 rng(11);
    ByteVec buf(512);
    for (auto& x : buf) {
        // A third of the bytes 0xff: large sums, carries and negative zero.
        const auto r = static_cast<unsigned>(rng() % 3);
        x = r == 0 ? 0xff : static_cast<std::uint8_t>(rng());
    }
    expect_fixed_sum_matches<2>(buf);
    expect_fixed_sum_matches<6>(buf);
    expect_fixed_sum_matches<20>(buf);  // an IPv4 header
    expect_fixed_sum_matches<30>(buf);  // UDP + VXLAN + inner Ethernet
    expect_fixed_sum_matches<256>(buf);
    expect_fixed_sum_matches<256>(ByteVec(256, 0xff));
    expect_fixed_sum_matches<20>(ByteVec(20, 0x00));  // 0 only when every byte is
}

TEST(SimdChecksum, SpansLongerThanOneFlushOfTheLanes) {
    // 3 MiB of 0xff: every 32-bit lane would overflow without the periodic flush.
    const ByteVec ones(3U << 20, 0xff);
    EXPECT_EQ(verify::sum_of(Bytes{ones.data(), ones.size()}), 0xffff);
    std::mt19937 rng(11);
    ByteVec b((3U << 20) + 5);
    for (auto& x : b) {
        x = static_cast<std::uint8_t>(rng());
    }
    std::uint64_t ref = 0;  // the reference in 64 KiB pieces (its 32-bit sum must not overflow)
    for (std::size_t off = 0; off < b.size(); off += 65536) {
        ref += test::ref_sum(b.data() + off, std::min<std::size_t>(65536, b.size() - off));
    }
    EXPECT_EQ(verify::sum_of(Bytes{b.data(), b.size()}), test::ref_fold(ref));
}

TEST(SimdChecksum, AddSumEqualsAddingTheBytes) {
    std::mt19937 rng(3);
    for (int iter = 0; iter < 300; ++iter) {
        ByteVec b(std::uniform_int_distribution<std::size_t>(0, 400)(rng));
        for (auto& x : b) {
            x = static_cast<std::uint8_t>(rng());
        }
        // Three pieces; the middle one is added from its precomputed sum.
        const std::size_t cut1 = std::uniform_int_distribution<std::size_t>(0, b.size())(rng);
        const std::size_t cut2 = std::uniform_int_distribution<std::size_t>(cut1, b.size())(rng);
        verify::InternetChecksum whole;
        whole.add(Bytes{b.data(), b.size()});
        verify::InternetChecksum pieces;
        pieces.add(Bytes{b.data(), cut1});
        pieces.add_sum(verify::sum_of(Bytes{b.data() + cut1, cut2 - cut1}), cut2 - cut1);
        pieces.add(Bytes{b.data() + cut2, b.size() - cut2});
        ASSERT_EQ(pieces.sum(), whole.sum()) << "cuts " << cut1 << "," << cut2;
    }
}

// --- endpoint ordering --------------------------------------------------------------------------

TEST(EndpointOrder, MatchesMemberWiseComparison) {
    std::mt19937 rng(17);
    const auto random_endpoint = [&] {
        track::Endpoint e;
        for (auto& x : e.addr) {
            x = static_cast<std::uint8_t>(rng() % 3 == 0 ? rng() : rng() % 2);  // many ties
        }
        e.port = static_cast<std::uint16_t>(rng() % 4);
        e.v6 = rng() % 2 == 0;
        return e;
    };
    for (int i = 0; i < 20000; ++i) {
        const track::Endpoint a = random_endpoint();
        const track::Endpoint b = i % 5 == 0 ? a : random_endpoint();
        const auto ref = std::tie(a.addr, a.port, a.v6) <=> std::tie(b.addr, b.port, b.v6);
        ASSERT_EQ(a <=> b, ref);
        ASSERT_EQ(a == b, ref == 0);
    }
}

}  // namespace
}  // namespace vxcheck

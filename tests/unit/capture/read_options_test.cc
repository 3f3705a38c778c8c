// A file source's tcpdump-style reading (FileOptions, source.h): a read filter that libpcap
// compiles for the file's link type, whose rejected frames are counted and keep their numbers'
// places; a limit on the frames given; gzip-compressed files read as the plain ones.

#include <gtest/gtest.h>
#include <unistd.h>
#include <zlib.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "source_dir.h"
#include "vxcheck/capture/source.h"

namespace vxcheck::capture {
namespace {

std::string shipped(const std::string& name) {
    return (std::filesystem::path(vxcheck::test::source_dir()) / "pcaps" / name).string();
}

struct Read {
    std::vector<std::uint64_t> numbers;
    std::vector<std::vector<std::uint8_t>> data;
    ReadStatus end = ReadStatus::End;
    std::string error;
    std::uint64_t filtered = 0;
};

Read read_all(const std::string& path, const FileOptions& options = {}) {
    auto source = open_file(path, options);
    Read r;
    RawFrame frame;
    while ((r.end = source->next(frame)) == ReadStatus::Frame) {
        r.numbers.push_back(frame.number);
        r.data.emplace_back(frame.data.begin(), frame.data.end());
    }
    r.error = source->error();
    r.filtered = source->filtered();
    return r;
}

// `bytes` of `path`, gzip-compressed, at most `keep` compressed bytes kept.
std::string gzip_copy(const std::string& path, std::size_t keep = SIZE_MAX) {
    std::ifstream in(path, std::ios::binary);
    const std::vector<char> plain((std::istreambuf_iterator<char>(in)), {});
    const std::string out = (std::filesystem::temp_directory_path() /
                             ("vxcheck-gz-" + std::to_string(::getpid()) + "-" +
                              std::filesystem::path(path).filename().string() + ".gz"))
                                .string();
    gzFile gz = gzopen(out.c_str(), "wb");
    gzwrite(gz, plain.data(), static_cast<unsigned>(plain.size()));
    gzclose(gz);
    if (keep != SIZE_MAX) {
        std::filesystem::resize_file(out, keep);
    }
    return out;
}

TEST(ReadFilter, RejectedFramesAreCountedAndKeepTheirNumbers) {
    // scenario-63s-variant-a: frames 1, 2 and 8-11 carry the outer UDP checksum 0xffff.
    const Read r = read_all(shipped("scenario-63s-variant-a.pcap"),
                            {.filter = "udp port 8472 and udp[6:2] = 0xffff", .max_frames = 0});
    EXPECT_EQ(r.end, ReadStatus::End);
    EXPECT_EQ(r.numbers, (std::vector<std::uint64_t>{1, 2, 8, 9, 10, 11}));
    EXPECT_EQ(r.filtered, 10U);
}

TEST(ReadFilter, AppliesToPcapngThroughLibpcap) {
    const Read all = read_all(shipped("pcapng-two-blocks.pcapng"));
    const Read none =
        read_all(shipped("pcapng-two-blocks.pcapng"), {.filter = "udp port 1", .max_frames = 0});
    ASSERT_FALSE(all.numbers.empty());
    EXPECT_TRUE(none.numbers.empty());
    EXPECT_EQ(none.filtered, all.numbers.size());
}

TEST(ReadFilter, ThatDoesNotCompileForTheLinkTypeIsAnOpenError) {
    EXPECT_THROW(open_file(shipped("vxlan-clean.pcap"), {.filter = "tcp prot 1", .max_frames = 0}),
                 OpenError);
    EXPECT_NE(filter_problem("tcp prot 1"), "");
    EXPECT_EQ(filter_problem("tcp port 2049 or icmp"), "");
}

TEST(ReadLimit, StopsAfterTheFramesTheFilterPasses) {
    const Read r = read_all(shipped("scenario-63s-variant-a.pcap"),
                            {.filter = "udp[6:2] = 0xffff", .max_frames = 3});
    EXPECT_EQ(r.end, ReadStatus::End);
    EXPECT_EQ(r.numbers, (std::vector<std::uint64_t>{1, 2, 8}));
    const Read ng = read_all(shipped("pcapng-two-blocks.pcapng"), {.filter = "", .max_frames = 1});
    EXPECT_EQ(ng.numbers, (std::vector<std::uint64_t>{1}));
}

TEST(Gzip, CompressedFileGivesTheSameFramesRecognisedByMagicNotName) {
    for (const char* name : {"scenario-63s-variant-a.pcap", "pcapng-two-blocks.pcapng"}) {
        const Read plain = read_all(shipped(name));
        const std::string gz = gzip_copy(shipped(name));
        const std::string unnamed = gz + ".bin";
        std::filesystem::rename(gz, unnamed);
        const Read compressed = read_all(unnamed);
        std::filesystem::remove(unnamed);
        EXPECT_EQ(compressed.end, ReadStatus::End) << name << ": " << compressed.error;
        EXPECT_EQ(compressed.numbers, plain.numbers) << name;
        EXPECT_EQ(compressed.data, plain.data) << name;
    }
}

TEST(Gzip, StreamCutShortIsAReadErrorThatSaysSo) {
    const std::string gz = gzip_copy(shipped("scenario-63s-variant-a.pcap"), 400);
    const Read r = read_all(gz);
    std::filesystem::remove(gz);
    EXPECT_EQ(r.end, ReadStatus::Error);
    EXPECT_NE(r.error.find("cut short"), std::string::npos) << r.error;
}

}  // namespace
}  // namespace vxcheck::capture

// A capture file whose size at opening was known and that ends before it (cut behind the read
// position while being read) is an error naming both sizes, whichever way it is read: classic
// pcap through next() or through the extents of the block reader, pcapng through libpcap. A file
// read whole and cut afterwards is not.

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "vxcheck/capture/block_reader.h"
#include "vxcheck/capture/source.h"
#include "vxcheck/report/output_file.h"
#include "vxcheck/report/pcapng_writer.h"

namespace vxcheck::capture {
namespace {

constexpr std::uint32_t kFrames = 3000;
constexpr std::uint32_t kFrameLen = 1000;
constexpr std::uint64_t kRecordLen = 16 + kFrameLen;
constexpr std::uint64_t kPcapSize = 24 + kFrames * kRecordLen;

class FileShrink : public ::testing::Test {
  protected:
    void SetUp() override {
        dir_ = std::filesystem::temp_directory_path() /
               ("vxcheck-shrink-" + std::to_string(::getpid()));
        std::filesystem::create_directories(dir_);
    }
    void TearDown() override { std::filesystem::remove_all(dir_); }

    // A classic pcap file (microseconds, Ethernet) of kFrames frames of kFrameLen bytes.
    std::string classic_pcap() {
        const std::string path = (dir_ / "classic.pcap").string();
        std::ofstream out(path, std::ios::binary);
        const std::uint32_t header[6] = {0xa1b2c3d4, 0x00040002, 0, 0, 262144, 1};
        out.write(reinterpret_cast<const char*>(header), sizeof header);
        const std::vector<char> frame(kFrameLen, '\x5a');
        for (std::uint32_t i = 0; i < kFrames; ++i) {
            const std::uint32_t record[4] = {1700000000 + i, 0, kFrameLen, kFrameLen};
            out.write(reinterpret_cast<const char*>(record), sizeof record);
            out.write(frame.data(), static_cast<std::streamsize>(frame.size()));
        }
        return path;
    }

    std::string pcapng() {
        const std::string path = (dir_ / "frames.pcapng").string();
        report::PcapngWriter writer(report::OutputFile(path, 0600), "");
        const std::uint32_t id = writer.add_interface("eth0", LinkType::Ethernet);
        const std::vector<std::uint8_t> frame(kFrameLen, 0x5a);
        for (std::uint32_t i = 0; i < kFrames; ++i) {
            writer.write(id, Timestamp{.sec = 1700000000 + i, .nsec = 0},
                         Bytes{frame.data(), frame.size()}, kFrameLen);
        }
        writer.close();
        return path;
    }

    // Reads `source` to its end or error; returns the frames read.
    static std::uint64_t read_rest(Source& source, ReadStatus& status) {
        RawFrame frame;
        std::uint64_t n = 0;
        while ((status = source.next(frame)) == ReadStatus::Frame) {
            ++n;
        }
        return n;
    }

    std::filesystem::path dir_;
};

std::string shrank(std::uint64_t from, std::uint64_t to) {
    return "file shrank from " + std::to_string(from) + " to " + std::to_string(to) +
           " bytes while being read";
}

TEST_F(FileShrink, ClassicPcapCutAtARecordBoundaryIsAnError) {
    const std::string path = classic_pcap();
    auto source = open_file(path);
    RawFrame frame;
    ASSERT_EQ(source->next(frame), ReadStatus::Frame);
    const std::uint64_t cut = 24 + 1500 * kRecordLen;  // beyond the first extent
    std::filesystem::resize_file(path, cut);
    ReadStatus status{};
    const std::uint64_t n = 1 + read_rest(*source, status);
    EXPECT_EQ(n, 1500U);
    EXPECT_EQ(status, ReadStatus::Error);
    EXPECT_EQ(source->error(), shrank(kPcapSize, cut));
}

TEST_F(FileShrink, ClassicPcapCutInsideARecordIsAnError) {
    const std::string path = classic_pcap();
    auto source = open_file(path);
    RawFrame frame;
    ASSERT_EQ(source->next(frame), ReadStatus::Frame);
    const std::uint64_t cut = 24 + 1200 * kRecordLen + 7;
    std::filesystem::resize_file(path, cut);
    ReadStatus status{};
    EXPECT_EQ(1 + read_rest(*source, status), 1200U);
    EXPECT_EQ(status, ReadStatus::Error);
    EXPECT_EQ(source->error(), shrank(kPcapSize, cut));
}

// The way analyze --threads N reads: extents claimed and read ahead, walked in order.
TEST_F(FileShrink, ClassicPcapCutWhileReadInExtentsIsAnError) {
    const std::string path = classic_pcap();
    auto source = open_file(path);
    BlockReader* blocks = source->blocks();
    ASSERT_NE(blocks, nullptr);
    ASSERT_TRUE(blocks->walking());
    std::vector<RawFrame> frames(256);
    std::vector<std::uint8_t> copies;
    ExtentBuffer storage;
    std::uint64_t n = 0;
    BlockReader::Extent extent;
    ASSERT_TRUE(blocks->claim(frames.size(), extent));
    n += blocks->walk(extent, blocks->read(extent, storage), frames, copies);
    ASSERT_GT(n, 0U);
    const std::uint64_t cut = 24 + 900 * kRecordLen + 100;
    std::filesystem::resize_file(path, cut);
    for (int guard = 0; guard < 100000 && blocks->walking(); ++guard) {
        if (!blocks->claim(frames.size(), extent)) {
            break;
        }
        n += blocks->walk(extent, blocks->read(extent, storage), frames, copies);
    }
    ASSERT_FALSE(blocks->walking());
    ReadStatus status{};
    n += read_rest(*source, status);
    EXPECT_EQ(n, 900U);
    EXPECT_EQ(status, ReadStatus::Error);
    EXPECT_EQ(source->error(), shrank(kPcapSize, cut));
}

TEST_F(FileShrink, PcapngCutWhileReadIsAnError) {
    const std::string path = pcapng();
    const std::uint64_t size = std::filesystem::file_size(path);
    auto source = open_file(path);
    RawFrame frame;
    ASSERT_EQ(source->next(frame), ReadStatus::Frame);
    const std::uint64_t cut = size / 2;  // beyond what the first read of stdio's buffer took
    std::filesystem::resize_file(path, cut);
    ReadStatus status{};
    const std::uint64_t n = 1 + read_rest(*source, status);
    EXPECT_LT(n, kFrames);
    EXPECT_EQ(status, ReadStatus::Error);
    EXPECT_EQ(source->error(), shrank(size, cut));
}

TEST_F(FileShrink, FileReadWholeAndCutAfterwardsEndsCleanly) {
    const std::string path = classic_pcap();
    auto source = open_file(path);
    RawFrame frame;
    for (std::uint32_t i = 0; i < kFrames; ++i) {
        ASSERT_EQ(source->next(frame), ReadStatus::Frame) << i;
    }
    std::filesystem::resize_file(path, kPcapSize / 2);
    EXPECT_EQ(source->next(frame), ReadStatus::End) << source->error();
}

}  // namespace
}  // namespace vxcheck::capture

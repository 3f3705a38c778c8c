// A file source offers block reading through its public interface (Source::blocks()): a
// classic pcap file is walked in extents; pcapng is not (libpcap reads it), and the frames
// then come from next().

#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "source_dir.h"
#include "vxcheck/capture/block_reader.h"
#include "vxcheck/capture/source.h"

namespace vxcheck::capture {
namespace {

std::string shipped(const std::string& name) {
    return (std::filesystem::path(vxcheck::test::source_dir()) / "pcaps" / name).string();
}

TEST(SourceBlocks, ClassicPcapFileIsWalkedInExtents) {
    auto source = open_file(shipped("vxlan-clean.pcap"));
    BlockReader* blocks = source->blocks();
    ASSERT_NE(blocks, nullptr);
    EXPECT_TRUE(blocks->walking());
    BlockReader::Extent extent;
    ASSERT_TRUE(blocks->claim(256, extent));
    EXPECT_GT(extent.length, 0U);
}

TEST(SourceBlocks, PcapngFileIsNotWalkedAndComesFromNext) {
    auto source = open_file(shipped("pcapng-two-blocks.pcapng"));
    BlockReader* blocks = source->blocks();
    if (blocks != nullptr) {
        EXPECT_FALSE(blocks->walking());
        BlockReader::Extent extent;
        EXPECT_FALSE(blocks->claim(256, extent));
    }
    RawFrame frame;
    EXPECT_EQ(source->next(frame), ReadStatus::Frame);
}

}  // namespace
}  // namespace vxcheck::capture

// pcapng read block by block (src/capture/pcapng_reader.h through open_file): the interface of
// every packet, interfaces of several link types in one file, both byte orders, several
// sections, EPB / SPB / the obsolete PB, if_tsresol and if_tsoffset; every malformed block ends
// the read with one line naming the block and where it starts.

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "vxcheck/capture/source.h"

namespace vxcheck::capture {
namespace {

// A pcapng file built block by block, in either byte order.
class Pcapng {
  public:
    explicit Pcapng(bool big = false) : big_(big) {}

    Pcapng& shb() {
        std::vector<std::uint8_t> b;
        put32(b, 0x1a2b3c4d);
        put16(b, 1);
        put16(b, 0);
        put32(b, 0xffffffff);
        put32(b, 0xffffffff);
        return block(0x0a0d0d0a, b);
    }
    Pcapng& idb(std::uint16_t linktype, const std::string& name, int tsresol = -1,
                std::int64_t tsoffset = 0, std::uint32_t snaplen = 0) {
        std::vector<std::uint8_t> b;
        put16(b, linktype);
        put16(b, 0);
        put32(b, snaplen);
        if (!name.empty()) {
            option(b, 2, std::vector<std::uint8_t>(name.begin(), name.end()));
        }
        if (tsresol >= 0) {
            option(b, 9, {static_cast<std::uint8_t>(tsresol)});
        }
        if (tsoffset != 0) {
            std::vector<std::uint8_t> v;
            const auto u = static_cast<std::uint64_t>(tsoffset);
            if (big_) {
                put32(v, static_cast<std::uint32_t>(u >> 32));
                put32(v, static_cast<std::uint32_t>(u));
            } else {
                put32(v, static_cast<std::uint32_t>(u));
                put32(v, static_cast<std::uint32_t>(u >> 32));
            }
            option(b, 14, v);
        }
        put32(b, 0);  // opt_endofopt
        return block(1, b);
    }
    Pcapng& epb(std::uint32_t interface, std::uint64_t ts, const std::vector<std::uint8_t>& data,
                std::uint32_t caplen_delta = 0) {
        std::vector<std::uint8_t> b;
        put32(b, interface);
        put32(b, static_cast<std::uint32_t>(ts >> 32));
        put32(b, static_cast<std::uint32_t>(ts));
        put32(b, static_cast<std::uint32_t>(data.size()) + caplen_delta);
        put32(b, static_cast<std::uint32_t>(data.size()));
        padded(b, data);
        return block(6, b);
    }
    Pcapng& spb(const std::vector<std::uint8_t>& data) {
        std::vector<std::uint8_t> b;
        put32(b, static_cast<std::uint32_t>(data.size()));
        padded(b, data);
        return block(3, b);
    }
    Pcapng& pb(std::uint16_t interface, std::uint64_t ts, const std::vector<std::uint8_t>& data) {
        std::vector<std::uint8_t> b;
        put16(b, interface);
        put16(b, 0);
        put32(b, static_cast<std::uint32_t>(ts >> 32));
        put32(b, static_cast<std::uint32_t>(ts));
        put32(b, static_cast<std::uint32_t>(data.size()));
        put32(b, static_cast<std::uint32_t>(data.size()));
        padded(b, data);
        return block(2, b);
    }
    Pcapng& block(std::uint32_t type, const std::vector<std::uint8_t>& body) {
        const auto len = static_cast<std::uint32_t>(12 + body.size());
        put32(bytes_, type);
        put32(bytes_, len);
        bytes_.insert(bytes_.end(), body.begin(), body.end());
        put32(bytes_, len);
        return *this;
    }
    std::vector<std::uint8_t>& bytes() { return bytes_; }

    [[nodiscard]] std::string write() const {
        static int n = 0;
        const std::string path = (std::filesystem::temp_directory_path() /
                                  ("vxcheck-pcapng-" + std::to_string(::getpid()) + "-" +
                                   std::to_string(++n) + ".pcapng"))
                                     .string();
        std::ofstream(path, std::ios::binary)
            .write(reinterpret_cast<const char*>(bytes_.data()),
                   static_cast<std::streamsize>(bytes_.size()));
        return path;
    }

  private:
    void put16(std::vector<std::uint8_t>& b, std::uint16_t v) const {
        if (big_) {
            b.push_back(static_cast<std::uint8_t>(v >> 8));
            b.push_back(static_cast<std::uint8_t>(v));
        } else {
            b.push_back(static_cast<std::uint8_t>(v));
            b.push_back(static_cast<std::uint8_t>(v >> 8));
        }
    }
    void put32(std::vector<std::uint8_t>& b, std::uint32_t v) const {
        put16(b, static_cast<std::uint16_t>(big_ ? v >> 16 : v));
        put16(b, static_cast<std::uint16_t>(big_ ? v : v >> 16));
    }
    void option(std::vector<std::uint8_t>& b, std::uint16_t code,
                const std::vector<std::uint8_t>& v) const {
        put16(b, code);
        put16(b, static_cast<std::uint16_t>(v.size()));
        padded(b, v);
    }
    static void padded(std::vector<std::uint8_t>& b, const std::vector<std::uint8_t>& v) {
        b.insert(b.end(), v.begin(), v.end());
        while (b.size() % 4 != 0) {
            b.push_back(0);
        }
    }

    bool big_;
    std::vector<std::uint8_t> bytes_;
};

struct Frame {
    std::uint32_t interface;
    LinkType link;
    Timestamp ts;
    std::uint64_t number;
    std::vector<std::uint8_t> data;
    std::uint32_t wirelen;
};

struct Read {
    std::vector<Frame> frames;
    ReadStatus end = ReadStatus::End;
    std::string error;
    std::vector<std::string> names;
    std::string link_name;
};

Read read_all(const Pcapng& file, const FileOptions& options = {}) {
    const std::string path = file.write();
    Read r;
    {
        auto source = open_file(path, options);
        for (std::uint32_t i = 0; i < source->interface_count(); ++i) {
            r.names.push_back(source->interface_name(i));
        }
        r.link_name = source->link_name();
        RawFrame f;
        while ((r.end = source->next(f)) == ReadStatus::Frame) {
            r.frames.push_back(
                {f.interface, f.link, f.ts, f.number, {f.data.begin(), f.data.end()}, f.wirelen});
        }
        r.error = source->error();
    }
    std::filesystem::remove(path);
    return r;
}

std::string open_error(const Pcapng& file) {
    const std::string path = file.write();
    std::string error;
    try {
        open_file(path);
    } catch (const OpenError& e) {
        error = e.what();
    }
    std::filesystem::remove(path);
    return error;
}

const std::vector<std::uint8_t> kA = {1, 2, 3, 4, 5};
const std::vector<std::uint8_t> kB = {9, 8, 7};

TEST(PcapngReader, EveryPacketKeepsItsInterfaceAndLinkType) {
    Pcapng f;
    f.shb().idb(1, "eth0", 9).idb(276, "any", 9).idb(239, "nflog:5", 9);
    f.epb(1, 5, kA).epb(0, 6, kB).epb(2, 7, kA);
    const Read r = read_all(f);
    ASSERT_EQ(r.end, ReadStatus::End) << r.error;
    ASSERT_EQ(r.frames.size(), 3U);
    EXPECT_EQ(r.frames[0].interface, 1U);
    EXPECT_EQ(r.frames[0].link, LinkType::LinuxSll2);
    EXPECT_EQ(r.frames[1].interface, 0U);
    EXPECT_EQ(r.frames[1].link, LinkType::Ethernet);
    EXPECT_EQ(r.frames[2].link, LinkType::Nflog);
    EXPECT_EQ(r.frames[2].number, 3U);
    EXPECT_EQ(r.frames[0].data, kA);
    EXPECT_EQ(r.frames[1].data, kB);
    EXPECT_EQ(r.names, (std::vector<std::string>{"eth0", "any", "nflog:5"}));
    EXPECT_EQ(r.link_name, "EN10MB,LINUX_SLL2,NFLOG");
}

TEST(PcapngReader, BigEndianSectionAndTimestampResolutionAndOffset) {
    Pcapng f(true);
    // 2^-10 s units with 100 s added: 1536 units = 1.5 s.
    f.shb().idb(1, "eth0", 0x80 | 10, 100).epb(0, 1536, kA);
    const Read r = read_all(f);
    ASSERT_EQ(r.frames.size(), 1U) << r.error;
    EXPECT_EQ(r.frames[0].ts.sec, 101);
    EXPECT_EQ(r.frames[0].ts.nsec, 500000000U);
    EXPECT_EQ(r.frames[0].data, kA);
}

TEST(PcapngReader, DefaultResolutionIsMicroseconds) {
    Pcapng f;
    f.shb().idb(1, "eth0").epb(0, 3'000'007, kA);
    const Read r = read_all(f);
    ASSERT_EQ(r.frames.size(), 1U) << r.error;
    EXPECT_EQ(r.frames[0].ts.sec, 3);
    EXPECT_EQ(r.frames[0].ts.nsec, 7000U);
}

TEST(PcapngReader, InterfaceIdsStartAgainInEachSection) {
    Pcapng f;
    f.shb().idb(1, "eth0").epb(0, 1, kA);
    f.shb().idb(1, "flannel.1").epb(0, 2, kB);
    const Read r = read_all(f);
    ASSERT_EQ(r.frames.size(), 2U) << r.error;
    EXPECT_EQ(r.frames[0].interface, 0U);
    EXPECT_EQ(r.frames[1].interface, 1U);  // the second section's interface 0
    EXPECT_EQ(r.frames[1].number, 2U);     // numbered over the file, as Wireshark does
}

TEST(PcapngReader, SectionsInBothByteOrders) {
    Pcapng little;
    little.shb().idb(1, "eth0").epb(0, 1, kA);
    Pcapng big(true);
    big.shb().idb(1, "eth1").epb(0, 2, kB);
    little.bytes().insert(little.bytes().end(), big.bytes().begin(), big.bytes().end());
    const Read r = read_all(little);
    ASSERT_EQ(r.frames.size(), 2U) << r.error;
    EXPECT_EQ(r.frames[1].data, kB);
    EXPECT_EQ(r.frames[1].interface, 1U);
}

TEST(PcapngReader, InterfacesDescribedAfterTheFirstPacketAreNamedToo) {
    Pcapng f;
    f.shb().idb(1, "eth0").epb(0, 1, kA).idb(1, "flannel.1").epb(1, 2, kB);
    const std::string path = f.write();
    auto source = open_file(path);
    EXPECT_EQ(source->interface_count(), 1U);  // before the first packet
    RawFrame frame;
    ASSERT_EQ(source->next(frame), ReadStatus::Frame);
    ASSERT_EQ(source->next(frame), ReadStatus::Frame);
    EXPECT_EQ(frame.interface, 1U);
    EXPECT_EQ(source->interface_name(1), "flannel.1");
    EXPECT_EQ(source->interface_name(7), "");
    std::filesystem::remove(path);
}

TEST(PcapngReader, SimpleAndObsoletePacketBlocks) {
    Pcapng f;
    f.shb().idb(1, "eth0", -1, 0, 4).spb(kA).idb(1, "eth1").pb(1, 2'000'000, kB);
    const Read r = read_all(f);
    ASSERT_EQ(r.frames.size(), 2U) << r.error;
    EXPECT_EQ(r.frames[0].data, (std::vector<std::uint8_t>{1, 2, 3, 4}));  // snaplen 4
    EXPECT_EQ(r.frames[0].wirelen, 5U);
    EXPECT_EQ(r.frames[1].interface, 1U);
    EXPECT_EQ(r.frames[1].ts.sec, 2);
}

TEST(PcapngReader, SkipsBlocksItDoesNotUse) {
    Pcapng f;
    f.shb().idb(1, "eth0");
    f.block(4, {0, 0, 0, 0});                          // NRB
    f.block(5, {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0});  // ISB
    f.block(0x0bad, {1, 2, 3, 4});                     // custom
    f.epb(0, 1, kA);
    const Read r = read_all(f);
    ASSERT_EQ(r.end, ReadStatus::End) << r.error;
    ASSERT_EQ(r.frames.size(), 1U);
}

TEST(PcapngReader, ReadFilterPerLinkType) {
    // "ip" compiles differently for Ethernet and SLL2; frames that are not IP are filtered.
    const std::vector<std::uint8_t> eth_arp = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x08, 0x06};
    std::vector<std::uint8_t> sll2_ip(20 + 20, 0);
    sll2_ip[0] = 0x08;
    sll2_ip[20] = 0x45;
    Pcapng f;
    f.shb().idb(1, "eth0").idb(276, "any").epb(0, 1, eth_arp).epb(1, 2, sll2_ip);
    const Read r = read_all(f, FileOptions{.filter = "ip", .max_frames = 0});
    ASSERT_EQ(r.frames.size(), 1U) << r.error;
    EXPECT_EQ(r.frames[0].interface, 1U);
    EXPECT_EQ(r.frames[0].number, 2U);
}

TEST(PcapngReader, CountStopsTheRead) {
    Pcapng f;
    f.shb().idb(1, "eth0").epb(0, 1, kA).epb(0, 2, kA).epb(0, 3, kA);
    EXPECT_EQ(read_all(f, FileOptions{.filter = "", .max_frames = 2}).frames.size(), 2U);
}

TEST(PcapngReader, PacketOfAnUndescribedInterface) {
    Pcapng f;
    f.shb().idb(1, "eth0").epb(0, 1, kA).epb(3, 2, kA);
    const Read r = read_all(f);
    EXPECT_EQ(r.frames.size(), 1U);
    EXPECT_EQ(r.end, ReadStatus::Error);
    EXPECT_NE(r.error.find("Enhanced Packet Block at byte"), std::string::npos) << r.error;
    EXPECT_NE(r.error.find("interface 3 is not described"), std::string::npos) << r.error;
}

TEST(PcapngReader, CapturedLengthPastTheBlock) {
    Pcapng f;
    f.shb().idb(1, "eth0").epb(0, 1, kA, 100);
    const Read r = read_all(f);
    EXPECT_EQ(r.end, ReadStatus::Error);
    EXPECT_NE(r.error.find("captured length 105 exceeds the block"), std::string::npos) << r.error;
}

TEST(PcapngReader, TrailingLengthDiffers) {
    Pcapng f;
    f.shb().idb(1, "eth0").epb(0, 1, kA);
    f.bytes()[f.bytes().size() - 4] ^= 0x04;  // the trailer's low byte (little-endian)
    const Read r = read_all(f);
    EXPECT_EQ(r.end, ReadStatus::Error);
    EXPECT_NE(r.error.find("Enhanced Packet Block"), std::string::npos) << r.error;
    EXPECT_NE(r.error.find("differ"), std::string::npos) << r.error;
}

TEST(PcapngReader, BlockCutShort) {
    Pcapng f;
    f.shb().idb(1, "eth0").epb(0, 1, kA);
    f.bytes().resize(f.bytes().size() - 6);
    const Read r = read_all(f);
    EXPECT_EQ(r.end, ReadStatus::Error);
    EXPECT_NE(r.error.find("cut short"), std::string::npos) << r.error;
}

TEST(PcapngReader, OptionRunningPastTheInterfaceBlock) {
    Pcapng f;
    f.shb();
    f.block(1, {1, 0, 0, 0, 0, 0, 0, 0, 2, 0, 40, 0, 'e', 't', 'h', '0'});
    EXPECT_NE(open_error(f).find("Interface Description Block at byte 28: option 2 runs past"),
              std::string::npos)
        << open_error(f);
}

TEST(PcapngReader, TimestampResolutionOutOfRange) {
    Pcapng f;
    f.shb().idb(1, "eth0", 20);
    EXPECT_NE(open_error(f).find("if_tsresol 20 out of range"), std::string::npos);
}

TEST(PcapngReader, BlockLengthNotAMultipleOfFour) {
    Pcapng f;
    f.shb().idb(1, "eth0");
    f.bytes().insert(f.bytes().end(), {6, 0, 0, 0, 13, 0, 0, 0});
    f.bytes().resize(f.bytes().size() + 8);
    const Read r = read_all(f);
    EXPECT_EQ(r.end, ReadStatus::Error);
    EXPECT_NE(r.error.find("block length 13"), std::string::npos) << r.error;
}

}  // namespace
}  // namespace vxcheck::capture

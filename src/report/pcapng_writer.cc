// pcapng (draft-ietf-opsawg-pcapng): Section Header, Interface Description (if_tsresol = 9:
// nanoseconds) and Enhanced Packet Blocks with opt_comment, in host byte order.

#include "vxcheck/report/pcapng_writer.h"

#include <algorithm>
#include <utility>

#include "vxcheck/pcapng.h"

namespace vxcheck::report {
namespace {

constexpr std::uint8_t kNanoseconds = 9;

std::uint16_t linktype_of(LinkType l) {
    switch (l) {
        case LinkType::Ethernet:
            return 1;
        case LinkType::LinuxSll:
            return 113;
        case LinkType::LinuxSll2:
            return 276;
        case LinkType::RawIp:
            return 101;
        case LinkType::RawIpv4:
            return 228;
        case LinkType::RawIpv6:
            return 229;
        case LinkType::Nflog:
            return 239;
        case LinkType::Null:
        case LinkType::Unsupported:
            break;
    }
    return 0;  // DLT_NULL
}

// A block's body built in a reused string, then written with its type and lengths.
class Block {
  public:
    explicit Block(std::string& body) : body_(body) { body_.clear(); }
    void u16(std::uint16_t v) { raw(&v, 2); }
    void u32(std::uint32_t v) { raw(&v, 4); }
    void raw(const void* p, std::size_t n) { body_.append(static_cast<const char*>(p), n); }
    void pad() { body_.append((4 - body_.size() % 4) % 4, '\0'); }
    void option(std::uint16_t code, std::string_view value) {
        if (value.empty()) {
            return;
        }
        const std::size_t n = std::min<std::size_t>(value.size(), 0xfffc);
        u16(code);
        u16(static_cast<std::uint16_t>(n));
        raw(value.data(), n);
        pad();
    }
    void end_options() {
        u16(pcapng::kOptEnd);
        u16(0);
    }
    void write(OutputFile& out, std::uint32_t type) const {
        const auto len = static_cast<std::uint32_t>(body_.size() + 12);
        out.write(&type, 4);
        out.write(&len, 4);
        out.write(body_.data(), body_.size());
        out.write(&len, 4);
    }

  private:
    std::string& body_;
};

}  // namespace

PcapngWriter::PcapngWriter(OutputFile file, const std::string& comment) : file_(std::move(file)) {
    Block shb(block_);
    shb.u32(pcapng::kByteOrderMagic);
    shb.u16(1);
    shb.u16(0);
    shb.u32(0xffffffff);  // section length unknown
    shb.u32(0xffffffff);
    shb.option(pcapng::kOptComment, comment);
    shb.end_options();
    shb.write(file_, pcapng::kSectionHeader);
}

std::uint32_t PcapngWriter::add_interface(const std::string& name, LinkType link) {
    Block idb(block_);
    idb.u16(linktype_of(link));
    idb.u16(0);
    idb.u32(0);  // snaplen: no limit
    idb.option(pcapng::kIfName, name);
    idb.u16(pcapng::kIfTsresol);
    idb.u16(1);
    idb.raw(&kNanoseconds, 1);
    idb.pad();
    idb.end_options();
    idb.write(file_, pcapng::kInterfaceDescription);
    return interfaces_++;
}

void PcapngWriter::write(std::uint32_t interface, Timestamp ts, Bytes data, std::uint32_t wirelen,
                         std::string_view comment) {
    Block epb(block_);
    const std::uint64_t ns = static_cast<std::uint64_t>(ts.sec) * 1000000000ULL + ts.nsec;
    epb.u32(interface);
    epb.u32(static_cast<std::uint32_t>(ns >> 32));
    epb.u32(static_cast<std::uint32_t>(ns));
    epb.u32(static_cast<std::uint32_t>(data.size()));
    epb.u32(wirelen);
    epb.raw(data.data(), data.size());
    epb.pad();
    epb.option(pcapng::kOptComment, comment);
    epb.end_options();
    epb.write(file_, pcapng::kEnhancedPacket);
}

void PcapngWriter::flush() {
    file_.flush();
}

void PcapngWriter::close() {
    file_.close();
}

}  // namespace vxcheck::report

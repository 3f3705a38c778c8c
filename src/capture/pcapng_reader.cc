// pcapng read block by block (pcapng_reader.h).

#include "pcapng_reader.h"

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace vxcheck::capture {
namespace {

constexpr std::size_t kBlockHeader = 8;  // type, total length
constexpr std::size_t kIdbMin = 20;
constexpr std::size_t kEpbMin = 32;
constexpr std::size_t kPbMin = 32;
constexpr std::size_t kSpbMin = 16;
// A larger block is taken for garbage: libpcap's reader refuses blocks over 16 MiB too.
constexpr std::uint32_t kMaxBlock = 16U << 20;
constexpr std::uint8_t kMaxDecimalResolution = 19;  // 10^19 units still fit 64 bits
constexpr std::uint8_t kMaxBinaryResolution = 63;
// A fraction of a second (< 2^64) times 10^9 needs more than 64 bits.
__extension__ using Wide = unsigned __int128;

std::string block_name(std::uint32_t type) {
    switch (type) {
        case pcapng::kSectionHeader:
            return "Section Header Block";
        case pcapng::kInterfaceDescription:
            return "Interface Description Block";
        case pcapng::kEnhancedPacket:
            return "Enhanced Packet Block";
        case pcapng::kSimplePacket:
            return "Simple Packet Block";
        case pcapng::kObsoletePacket:
            return "Packet Block";
        default: {
            char hex[16];
            std::snprintf(hex, sizeof hex, "0x%08x", type);
            return std::string("block of type ") + hex;
        }
    }
}

}  // namespace

LinkType link_of_linktype(std::uint32_t linktype) noexcept {
    switch (linktype) {
        case 1:
            return LinkType::Ethernet;
        case 113:
            return LinkType::LinuxSll;
        case 276:
            return LinkType::LinuxSll2;
        case 101:
            return LinkType::RawIp;
        case 228:
            return LinkType::RawIpv4;
        case 229:
            return LinkType::RawIpv6;
        case 0:
        case 108:
            return LinkType::Null;
        case 239:
            return LinkType::Nflog;
        default:
            return LinkType::Unsupported;
    }
}

PcapngReader::PcapngReader(std::FILE* in, std::span<const std::uint8_t> head)
    : in_(in), head_(head.begin(), head.end()) {
    block_room_ = std::size_t{64} << 10;
    block_ = std::make_unique_for_overwrite<std::uint8_t[]>(block_room_);
}

bool PcapngReader::fail(const std::string& what) noexcept {
    error_ = "pcapng " + block_name(type_) + " at byte " + std::to_string(block_at_) + ": " + what;
    return false;
}

std::uint16_t PcapngReader::u16(std::size_t at) const noexcept {
    std::uint16_t v;
    std::memcpy(&v, block_.get() + at, sizeof v);
    return swap_ ? __builtin_bswap16(v) : v;
}

std::uint32_t PcapngReader::u32(std::size_t at) const noexcept {
    std::uint32_t v;
    std::memcpy(&v, block_.get() + at, sizeof v);
    return swap_ ? __builtin_bswap32(v) : v;
}

bool PcapngReader::read_exact(std::uint8_t* to, std::size_t n, std::size_t& got) noexcept {
    got = 0;
    while (got < n && head_used_ < head_.size()) {
        to[got++] = head_[head_used_++];
    }
    got += std::fread(to + got, 1, n - got, in_);
    offset_ += got;
    return got == n;
}

PcapngReader::Got PcapngReader::read_block() noexcept {
    block_at_ = offset_;
    std::size_t got = 0;
    if (!read_exact(block_.get(), kBlockHeader, got)) {
        if (got == 0 && std::ferror(in_) == 0) {
            return Got::End;
        }
        type_ = 0;
        fail(std::ferror(in_) != 0 ? std::strerror(errno) : "cut short in its header");
        return Got::Error;
    }
    std::uint32_t raw;
    std::memcpy(&raw, block_.get(), sizeof raw);
    std::size_t have = kBlockHeader;
    if (raw ==
        pcapng::kSectionHeader) {  // the same in both byte orders; the magic after it says which
        type_ = pcapng::kSectionHeader;
        if (!read_exact(block_.get() + have, 4, got)) {
            fail("cut short before its byte-order magic");
            return Got::Error;
        }
        have += 4;
        std::uint32_t bom;
        std::memcpy(&bom, block_.get() + kBlockHeader, sizeof bom);
        if (bom != pcapng::kByteOrderMagic && bom != __builtin_bswap32(pcapng::kByteOrderMagic)) {
            fail("bad byte-order magic");
            return Got::Error;
        }
        swap_ = bom != pcapng::kByteOrderMagic;
    } else if (!in_section_) {
        type_ = raw;
        fail("comes before any Section Header Block");
        return Got::Error;
    }
    type_ = u32(0);
    const std::uint32_t len = u32(4);
    if (len < 12 || len % 4 != 0 || len > kMaxBlock) {
        fail("block length " + std::to_string(len));
        return Got::Error;
    }
    if (block_room_ < len) {  // the bytes read so far move along
        const std::size_t room = std::max<std::size_t>(len, 2 * block_room_);
        auto bigger = std::make_unique_for_overwrite<std::uint8_t[]>(room);
        std::memcpy(bigger.get(), block_.get(), have);
        block_ = std::move(bigger);
        block_room_ = room;
    }
    if (!read_exact(block_.get() + have, len - have, got)) {
        fail("cut short (" + std::to_string(have + got) + " of " + std::to_string(len) + " bytes)");
        return Got::Error;
    }
    if (u32(len - 4) != len) {
        fail("block lengths " + std::to_string(len) + " and " + std::to_string(u32(len - 4)) +
             " differ");
        return Got::Error;
    }
    return Got::Block;
}

bool PcapngReader::section_header() noexcept {
    if (u32(4) < pcapng::kSectionHeaderMin) {
        return fail("block length " + std::to_string(u32(4)));
    }
    if (u16(12) != 1) {
        return fail("version " + std::to_string(u16(12)) + "." + std::to_string(u16(14)) +
                    " (only 1.x is read)");
    }
    in_section_ = true;
    section_base_ = static_cast<std::uint32_t>(interfaces_.size());  // ids start again
    return true;
}

bool PcapngReader::interface_description() noexcept {
    const std::uint32_t len = u32(4);
    if (len < kIdbMin) {
        return fail("block length " + std::to_string(len));
    }
    PcapngInterface itf;
    itf.linktype = u16(8);
    itf.link = link_of_linktype(itf.linktype);
    itf.snaplen = u32(12);
    std::size_t at = 16;
    const std::size_t end = len - 4;
    while (at + 4 <= end) {
        const std::uint16_t code = u16(at);
        const std::uint16_t olen = u16(at + 2);
        if (code == pcapng::kOptEnd) {
            break;
        }
        const std::size_t value = at + 4;
        if (value + olen > end) {
            return fail("option " + std::to_string(code) + " runs past the block");
        }
        if (code == pcapng::kIfName) {
            itf.name.assign(reinterpret_cast<const char*>(block_.get() + value), olen);
            itf.name.erase(std::find(itf.name.begin(), itf.name.end(), '\0'), itf.name.end());
        } else if (code == pcapng::kIfTsresol && olen >= 1) {
            const std::uint8_t r = block_[value];
            itf.decimal = (r & 0x80U) == 0;
            itf.resolution = static_cast<std::uint8_t>(r & 0x7fU);
            if (itf.resolution > (itf.decimal ? kMaxDecimalResolution : kMaxBinaryResolution)) {
                return fail("if_tsresol " + std::to_string(r) + " out of range");
            }
        } else if (code == pcapng::kIfTsoffset && olen >= 8) {
            const std::uint64_t lo = u32(value);
            const std::uint64_t hi = u32(value + 4);
            // An 8-byte value in the section's byte order.
            itf.offset_s = static_cast<std::int64_t>(swap_ ? (lo << 32) | hi : (hi << 32) | lo);
        }
        at = value + ((olen + 3U) & ~std::size_t{3});
    }
    interfaces_.push_back(std::move(itf));
    return true;
}

Timestamp PcapngReader::timestamp(const PcapngInterface& itf, std::uint64_t units) const noexcept {
    std::uint64_t per_second = 1;
    for (std::uint8_t i = 0; i < itf.resolution; ++i) {
        per_second *= itf.decimal ? 10U : 2U;
    }
    const std::uint64_t fraction = units % per_second;
    const auto nsec =
        static_cast<std::uint32_t>(static_cast<Wide>(fraction) * 1000000000U / per_second);
    return Timestamp{.sec = static_cast<std::int64_t>(units / per_second) + itf.offset_s,
                     .nsec = nsec};
}

bool PcapngReader::interface_of(std::uint32_t local, const PcapngInterface*& itf,
                                std::uint32_t& global) noexcept {
    const std::uint64_t g = std::uint64_t{section_base_} + local;
    if (g >= interfaces_.size()) {
        return fail("interface " + std::to_string(local) + " is not described in its section");
    }
    global = static_cast<std::uint32_t>(g);
    itf = &interfaces_[global];
    return true;
}

// A packet block's frame: EPB, SPB or the obsolete PB.
bool PcapngReader::packet(RawFrame& frame) noexcept {
    const std::uint32_t len = u32(4);
    const PcapngInterface* itf = nullptr;
    std::uint32_t global = 0;
    std::size_t data_at = 0;
    std::uint32_t caplen = 0;
    std::uint32_t wirelen = 0;
    std::uint64_t units = 0;
    if (type_ == pcapng::kSimplePacket) {
        if (len < kSpbMin || !interface_of(0, itf, global)) {
            return len < kSpbMin ? fail("block length " + std::to_string(len)) : false;
        }
        data_at = 12;
        wirelen = u32(8);
        caplen = std::min(wirelen, len - static_cast<std::uint32_t>(kSpbMin));
        if (itf->snaplen != 0) {
            caplen = std::min(caplen, itf->snaplen);
        }
    } else {
        if (len < (type_ == pcapng::kEnhancedPacket ? kEpbMin : kPbMin)) {
            return fail("block length " + std::to_string(len));
        }
        const std::uint32_t local = type_ == pcapng::kEnhancedPacket ? u32(8) : u16(8);
        if (!interface_of(local, itf, global)) {
            return false;
        }
        units = (std::uint64_t{u32(12)} << 32) | u32(16);
        caplen = u32(20);
        wirelen = u32(24);
        data_at = 28;
        if (caplen > len - kEpbMin) {
            return fail("captured length " + std::to_string(caplen) + " exceeds the block");
        }
    }
    frame.ts = type_ == pcapng::kSimplePacket ? Timestamp{} : timestamp(*itf, units);
    frame.caplen = caplen;
    frame.wirelen = std::max(wirelen, caplen);
    frame.link = itf->link;
    frame.number = ++count_;
    frame.interface = global;
    frame.data = Bytes{block_.get() + data_at, caplen};
    frame.csum_not_ready = false;
    return true;
}

bool PcapngReader::start() noexcept {
    for (;;) {
        const Got got = read_block();
        if (got == Got::Error && in_section_ && type_ != pcapng::kSectionHeader &&
            type_ != pcapng::kInterfaceDescription) {
            failed_ = true;  // a broken packet block: an error of the read, as for classic pcap
            return true;
        }
        if (got != Got::Block) {
            return got == Got::End;
        }
        if (type_ == pcapng::kEnhancedPacket || type_ == pcapng::kSimplePacket ||
            type_ == pcapng::kObsoletePacket) {
            pending_ = true;
            return true;
        }
        if (type_ == pcapng::kSectionHeader
                ? !section_header()
                : type_ == pcapng::kInterfaceDescription && !interface_description()) {
            return false;
        }
    }
}

ReadStatus PcapngReader::next(RawFrame& frame) noexcept {
    if (failed_) {
        return ReadStatus::Error;
    }
    for (;;) {
        if (!pending_) {
            const Got got = read_block();
            if (got != Got::Block) {
                return got == Got::End ? ReadStatus::End : ReadStatus::Error;
            }
        }
        pending_ = false;
        switch (type_) {
            case pcapng::kSectionHeader:
                if (!section_header()) {
                    return ReadStatus::Error;
                }
                break;
            case pcapng::kInterfaceDescription:
                if (!interface_description()) {
                    return ReadStatus::Error;
                }
                break;
            case pcapng::kEnhancedPacket:
            case pcapng::kSimplePacket:
            case pcapng::kObsoletePacket:
                return packet(frame) ? ReadStatus::Frame : ReadStatus::Error;
            default:
                break;  // NRB, ISB, DSB, custom and unknown blocks: nothing we use
        }
    }
}

}  // namespace vxcheck::capture

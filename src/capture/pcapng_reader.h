#pragma once
// Private to vxcheck_capture: a pcapng file read block by block (no libpcap), for what libpcap's
// reader does not give: the interface of every packet, and interfaces of different link types in
// one file (a mergecap of an Ethernet and an SLL2 capture).
//
// Blocks (pcapng draft, IETF opsawg-pcapng): Section Header (either byte order, several
// sections one after another), Interface Description (if_name, if_tsresol, if_tsoffset),
// Enhanced Packet, Simple Packet and the obsolete Packet Block give frames; Name Resolution,
// Interface Statistics, Decryption Secrets, custom and unknown blocks are skipped. Every block is
// checked against its own lengths before a field of it is read; a malformed one ends the read
// with a one-line error naming the block and where it starts.

#include <cstdint>
#include <cstdio>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "vxcheck/capture/source.h"
#include "vxcheck/frame.h"
#include "vxcheck/pcapng.h"

namespace vxcheck::capture {

/// One Interface Description Block.
struct PcapngInterface {
    std::uint16_t linktype = 0;  // LINKTYPE_* as the file stores it
    LinkType link = LinkType::Unsupported;
    std::uint32_t snaplen = 0;  // 0: no limit
    std::string name;           // if_name, or "" if the block has none
    bool decimal = true;        // if_tsresol: units of 10^-resolution (else 2^-resolution) s
    std::uint8_t resolution = 6;
    std::int64_t offset_s = 0;  // if_tsoffset: seconds added to every timestamp
};

/// Our link type of a LINKTYPE_* value (Unsupported for one we do not decode).
[[nodiscard]] LinkType link_of_linktype(std::uint32_t linktype) noexcept;

class PcapngReader {
  public:
    /// Reads `in` (not owned) whose first bytes, `head`, were already taken from it.
    PcapngReader(std::FILE* in, std::span<const std::uint8_t> head);

    /// Reads up to the first packet (the section header and the interfaces declared before
    /// it); false and error() if its section header or an interface block before the first
    /// packet is broken (the file's header, as it were). Call once, before next().
    bool start() noexcept;
    /// The next frame (valid until the next call), End at the end of the file, or Error.
    /// frame.interface indexes interfaces(); frame.number counts every packet block.
    ReadStatus next(RawFrame& frame) noexcept;

    [[nodiscard]] const std::string& error() const noexcept { return error_; }
    /// Every interface seen so far, of all sections in order.
    [[nodiscard]] const std::vector<PcapngInterface>& interfaces() const noexcept {
        return interfaces_;
    }

  private:
    enum class Got { Block, End, Error };
    Got read_block() noexcept;
    bool read_exact(std::uint8_t* to, std::size_t n, std::size_t& got) noexcept;
    bool section_header() noexcept;
    bool interface_description() noexcept;
    bool packet(RawFrame& frame) noexcept;
    bool fail(const std::string& what) noexcept;
    [[nodiscard]] std::uint16_t u16(std::size_t at) const noexcept;
    [[nodiscard]] std::uint32_t u32(std::size_t at) const noexcept;
    [[nodiscard]] Timestamp timestamp(const PcapngInterface& itf,
                                      std::uint64_t units) const noexcept;
    bool interface_of(std::uint32_t local, const PcapngInterface*& itf,
                      std::uint32_t& global) noexcept;

    std::FILE* in_;
    std::vector<std::uint8_t> head_;  // bytes taken before us, given first
    std::size_t head_used_ = 0;
    // The current block, whole, in block_room_ bytes not zeroed first: a block claims its
    // length before its bytes arrive, and a file cut short (or a fuzz input) may claim far more
    // than it has. Every byte read from is one read_block() read.
    std::unique_ptr<std::uint8_t[]> block_;
    std::size_t block_room_ = 0;
    std::uint32_t type_ = 0;
    std::uint64_t block_at_ = 0;  // file offset of the current block
    std::uint64_t offset_ = 0;    // file offset of the next byte
    bool swap_ = false;           // the section's byte order is not ours
    bool in_section_ = false;
    bool pending_ = false;  // start() read a packet block that next() gives first
    bool failed_ = false;   // start() found a broken block after the interfaces: next() fails
    std::vector<PcapngInterface> interfaces_;
    std::uint32_t section_base_ = 0;  // index in interfaces_ of the section's first interface
    std::uint64_t count_ = 0;
    std::string error_;
};

}  // namespace vxcheck::capture

#pragma once
// IPv4 and IPv6 reassembly (RFC 791, RFC 8200 4.5), bounded and in capture order: the one
// stateful part of decoding. It works on the bytes of a fragment's IP layer and gives back the
// whole datagram as bytes, for decode() to read as if it had arrived whole.
//
// Rules (each outcome a named Anomaly where the input is at fault):
//  - A datagram is keyed by (capture point, IP version, source, destination, identification,
//    protocol); for IPv6 the protocol is the Fragment header's Next Header.
//  - Overlaps follow Linux (inet_frag_queue_insert, both families; RFC 5722 with erratum 3089):
//    a fragment whose bytes are all held already is a duplicate and is ignored
//    (FragmentDuplicate); any other overlap discards the whole datagram (FragmentOverlap), as
//    does a last fragment whose end disagrees with what is held.
//  - A datagram whose end passes 65,535 bytes is discarded (FragmentOversized); so is one of
//    more than kMaxFragments fragments (FragmentTooMany).
//  - A non-last fragment must carry a multiple of 8 bytes, and every fragment at least one
//    (FragmentBadLength: the fragment is ignored).
//  - Memory: the fragments' bytes live in a pool of fixed-size blocks allocated once
//    (ReassemblyOptions::memory_bytes); datagram records are bounded as well. When either is
//    exhausted the oldest datagram is evicted (FragmentMemoryCap on the fragment that needed the
//    room) and counted incomplete.
//  - A datagram not completed within `timeout_s` of its first fragment's capture time is
//    dropped when a later fragment arrives (Linux's ipfrag_time is 30 s); dropped, evicted and
//    flushed datagrams are all counted as incomplete, never lost silently.
//  - The whole datagram starts with the header of the offset-0 fragment: for IPv4 its total
//    length, flags and offset rewritten (the header checksum is not recomputed: the datagram's
//    header is not a header on the wire); for IPv6 the headers before the Fragment header, the
//    Fragment header removed and the payload length rewritten.

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

#include "vxcheck/bytes.h"
#include "vxcheck/decode/anomaly.h"
#include "vxcheck/frame.h"

namespace vxcheck::decode {

struct ReassemblyOptions {
    std::size_t memory_bytes = std::size_t{4} << 20;  // the fragments' bytes held at once
    std::uint32_t timeout_s = 30;                     // capture time, from the first fragment
};

/// What became of one fragment.
enum class FragmentOutcome : std::uint8_t {
    NotFragment,  // not a fragment (or its header cannot be read): decode it as it is
    Held,         // kept until the datagram completes
    Completed,    // this fragment completed the datagram: Reassembler::datagram() holds it
    Dropped,      // ignored or its datagram discarded: `anomaly` says why
};

struct FragmentResult {
    FragmentOutcome outcome = FragmentOutcome::NotFragment;
    bool has_anomaly = false;
    Anomaly anomaly = Anomaly::FragmentOverlap;  // meaningful when has_anomaly
    std::uint32_t incomplete = 0;  // datagrams dropped unfinished by this call (timeout, memory)
};

class Reassembler {
  public:
    static constexpr std::size_t kBlockSize = 2048;
    static constexpr std::size_t kMaxFragments = 64;     // per datagram
    static constexpr std::size_t kMaxHeaderLen = 128;    // IPv4 header; IPv6 headers before 44
    static constexpr std::size_t kMaxDatagram = 65'535;  // IPv4 total length, IPv6 payload
    static constexpr std::size_t kBlocksPerDatagram = (kMaxDatagram + kBlockSize - 1) / kBlockSize;

    /// Allocates every buffer now; none later.
    explicit Reassembler(const ReassemblyOptions& options);
    ~Reassembler();
    Reassembler(const Reassembler&) = delete;
    Reassembler& operator=(const Reassembler&) = delete;

    /// Offers the IP layer `ip` (IPv4 or IPv6 header onwards, as captured and clipped to its
    /// claimed length) of frame `frame` from capture point `point`, captured at `ts`.
    FragmentResult add(Bytes ip, std::uint16_t point, std::uint64_t frame, Timestamp ts) noexcept;

    /// After add() returned Completed, until the next add(): the whole datagram (IP header
    /// onwards) and its fragments' frame numbers in offset order.
    [[nodiscard]] Bytes datagram() const noexcept { return {out_.get(), out_len_}; }
    [[nodiscard]] std::span<const std::uint64_t> frames() const noexcept {
        return {out_frames_.data(), out_frame_count_};
    }

    /// Drops every datagram held; returns how many (all incomplete).
    std::uint32_t flush() noexcept;

    [[nodiscard]] std::size_t pending() const noexcept;
    [[nodiscard]] std::size_t blocks_in_use() const noexcept { return blocks_used_; }
    [[nodiscard]] std::size_t block_count() const noexcept { return block_count_; }
    [[nodiscard]] std::size_t memory_cap() const noexcept { return block_count_ * kBlockSize; }

    struct Entry;
    struct Parsed;

  private:
    Entry* find_or_start(const Parsed& p, Timestamp ts, FragmentResult& r) noexcept;
    Entry* evict_oldest(const Entry* keep) noexcept;
    void release(Entry& e) noexcept;
    bool store(Entry& e, const Parsed& p, FragmentResult& r) noexcept;
    void insert(Entry& e, const Parsed& p, std::uint64_t frame, FragmentResult& r) noexcept;
    void assemble(Entry& e) noexcept;

    ReassemblyOptions options_;
    std::size_t block_count_ = 0;
    std::size_t blocks_used_ = 0;
    std::unique_ptr<std::uint8_t[]> pool_;          // block_count_ blocks of kBlockSize
    std::unique_ptr<std::uint32_t[]> free_blocks_;  // a stack of free block numbers
    std::size_t entry_count_ = 0;
    std::unique_ptr<Entry[]> entries_;
    std::uint64_t arrivals_ = 0;  // orders datagrams by first arrival, for eviction
    std::unique_ptr<std::uint8_t[]> out_;
    std::size_t out_len_ = 0;
    std::array<std::uint64_t, kMaxFragments> out_frames_{};
    std::size_t out_frame_count_ = 0;
};

}  // namespace vxcheck::decode

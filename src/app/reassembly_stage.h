#pragma once
// Private to src/app: IP reassembly as a stage of the ordered analysis, between the stateless
// decode (on any thread) and the connection analysis (FrameConsumer, in capture order).
//
// A frame with an IP fragment (FrameProcessor::fragment()) is offered to the
// decode::Reassembler. A fragment it takes is not analysed on its own; the datagram it
// completes is: its bytes are the completing frame's bytes before the fragment's IP layer (the
// link layer, or the tunnel it came through, with their length fields widened to the whole
// datagram) followed by the whole datagram, decoded with decode() and verified with verify() as
// if it had arrived whole. Only the verdicts inside the reassembled IP layer are kept: the
// checksums before it were verified on the fragments themselves, and the datagram's own IPv4
// header is not a header on the wire. A datagram inside a reassembled one that is itself a
// fragment is offered in turn (kMaxLevels). Every buffer is allocated once.

#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "vxcheck/analyze/digest.h"
#include "vxcheck/decode/decode.h"
#include "vxcheck/decode/reassembly.h"
#include "vxcheck/report/summary.h"
#include "vxcheck/verify/verify.h"

namespace vxcheck::app {

/// Index of the first IPv4 or IPv6 layer at or after `from` that is a fragment, or -1.
[[nodiscard]] int first_fragment(const decode::DecodedPacket& pkt, std::size_t from = 0) noexcept;

class ReassemblyStage {
  public:
    static constexpr std::size_t kMaxPrefix = 256;  // bytes before the fragment's IP layer
    static constexpr int kMaxLevels = 2;            // a fragment inside a reassembled datagram

    /// What became of a frame with a fragment.
    struct Taken {
        bool held = false;       // the reassembler took it: not analysed on its own
        bool completed = false;  // it completed a datagram: packet(), verdicts() and frames()
        bool has_anomaly = false;
        decode::Anomaly anomaly = decode::Anomaly::FragmentOverlap;  // if has_anomaly
    };

    explicit ReassemblyStage(const decode::DecodeOptions& options);

    /// Offers the frame decoded into `fragment`, from capture point `point` (`frame_bad`: it has
    /// a bad checksum of its own). Tallies what it finds into the stage's summary (end_input()
    /// hands it over).
    Taken take(const decode::DecodedPacket& fragment, std::uint16_t point, bool frame_bad) noexcept;

    /// After take() completed a datagram, until the next take(): the datagram and what
    /// ConnectionAnalyzer::on_packet takes, and whether it is bad (`--packets bad`).
    [[nodiscard]] const decode::DecodedPacket& packet() const noexcept { return *packets_[last_]; }
    [[nodiscard]] const verify::Verdicts& verdicts() const noexcept { return verdicts_; }
    [[nodiscard]] analyze::PacketContext context(std::uint16_t point) const noexcept {
        return {point, packet(), verdicts_, &digest_};
    }
    [[nodiscard]] std::span<const std::uint64_t> frames() const noexcept {
        return {frames_.data(), frame_count_};
    }
    [[nodiscard]] bool bad() const noexcept { return bad_; }

    /// The end of an input: the datagrams still waiting are counted incomplete, and the tallies
    /// since the last call are added to `summary`.
    void end_input(report::Summary& summary);

  private:
    bool build(const decode::DecodedPacket& pkt, std::size_t ip, int level) noexcept;
    void note(Taken& t, decode::Anomaly a, bool frame_anomalous) noexcept;

    const decode::DecodeOptions& options_;
    decode::Reassembler reassembler_;
    static constexpr std::size_t kBufferSize =
        kMaxPrefix + decode::Reassembler::kMaxHeaderLen + decode::Reassembler::kMaxDatagram;
    std::array<std::unique_ptr<std::uint8_t[]>, kMaxLevels> buffers_;
    std::array<RawFrame, kMaxLevels> frames_in_;
    std::array<std::unique_ptr<decode::DecodedPacket>, kMaxLevels> packets_;
    std::size_t last_ = 0;
    verify::Verdicts all_;
    verify::Verdicts verdicts_;
    analyze::PacketDigest digest_;
    std::array<std::uint64_t, decode::Reassembler::kMaxFragments> frames_{};
    std::size_t frame_count_ = 0;
    bool bad_ = false;
    report::Summary tally_;
};

}  // namespace vxcheck::app

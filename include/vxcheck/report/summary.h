#pragma once
// Per-file and overall totals that every reporter sees. Nothing is lost: frames_read ==
// decoded + skipped (by reason).

#include <array>
#include <cstdint>
#include <string>

#include "vxcheck/decode/packet.h"
#include "vxcheck/verify/verify.h"

namespace vxcheck::report {

inline constexpr std::size_t kMaxDepth = 8;  // tunnel depths tallied: 0 .. kMaxDepth
inline constexpr std::size_t kSkipReasonCount = 4;

struct Summary {
    std::string file;       // as given on the command line; "" for the total over all files
    std::string point;      // the capture point's name ("": the file's or interface's own name)
    std::string link_type;  // libpcap's name
    std::uint64_t frames_read = 0;
    // Frames of the file the read filter rejected (analyze -f): read, not in frames_read.
    std::uint64_t frames_filtered = 0;
    std::uint64_t decoded = 0;
    std::array<std::uint64_t, kSkipReasonCount> skipped{};  // indexed by SkipReason
    std::uint64_t bytes_captured = 0;
    std::array<std::uint64_t, decode::kAnomalyCount> anomalies{};
    std::uint64_t packets_with_anomalies = 0;
    std::uint64_t packets_with_bad_checksum = 0;
    // checksums[check][depth][status]
    std::array<std::array<std::array<std::uint64_t, verify::kStatusCount>, kMaxDepth + 1>,
               verify::kCheckCount>
        checksums{};
    // IP reassembly (decode/reassembly.h): datagrams completed, and datagrams never completed
    // (timed out, evicted at the memory cap, or still waiting when the input ended).
    std::uint64_t datagrams_reassembled = 0;
    std::uint64_t fragments_incomplete = 0;
    // The earliest and the latest stamp (a file's frames need not be in time order).
    Timestamp first_ts;
    Timestamp last_ts;
    std::string read_error;  // set when the file ended with an error (e.g. cut mid-record)

    /// Tallies one frame. Never allocates. Returns whether the frame is bad: a decode anomaly
    /// or a bad checksum (what `--packets bad` lists).
    bool add(const decode::DecodedPacket& pkt, const verify::Verdicts& verdicts) noexcept;
    /// add() of a frame whose layers are not built, from the frame and its verdicts alone.
    /// Preconditions: the frame has one of the shapes of decode/shapes.h, with the verdicts
    /// verify() gives it at the positions named there; it decodes with no anomaly and no
    /// verdict is bad (add() would return false). The fast path's frames are such.
    void add_fast_path(const RawFrame& f, const verify::Verdicts& verdicts) noexcept;
    /// Tallies a datagram reassembled on a frame add() counted already (whose anomalies and
    /// bad checksums `frame_anomalous` and `frame_bad` say): its decode anomalies and the
    /// verdicts given, and the frame as anomalous or bad if it was not. Returns whether the
    /// datagram is bad (as add()).
    bool add_reassembled(const decode::DecodedPacket& pkt, const verify::Verdicts& verdicts,
                         bool frame_anomalous, bool frame_bad) noexcept;
    /// Counts a reassembly anomaly noted on a frame add() counted already.
    void add_reassembly_anomaly(decode::Anomaly a, bool frame_anomalous) noexcept;
    void merge(const Summary& other);

    [[nodiscard]] std::uint64_t skipped_total() const noexcept;
    [[nodiscard]] std::uint64_t checksum_count(verify::Status s) const noexcept;

  private:
    // What add() and add_fast_path() count of every frame: its time, itself, its bytes.
    void count_frame(const RawFrame& f) noexcept;
    // Counts one checksum verdict by check, depth and status.
    void tally(const verify::Verdict& v) noexcept;
};

}  // namespace vxcheck::report

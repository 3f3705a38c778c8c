#include "vxcheck/report/summary.h"

#include <algorithm>
#include <numeric>

#include "vxcheck/decode/shapes.h"

namespace vxcheck::report {

// Frames come in time order nearly always: one comparison a frame, against the latest stamp.
void Summary::count_frame(const RawFrame& f) noexcept {
    const Timestamp t = f.ts;
    if (frames_read == 0) {
        first_ts = last_ts = t;
    } else if (!earlier(t, last_ts)) {
        last_ts = t;
    } else if (earlier(t, first_ts)) {
        first_ts = t;
    }
    ++frames_read;
    bytes_captured += f.caplen;
}

bool Summary::add(const decode::DecodedPacket& pkt, const verify::Verdicts& verdicts) noexcept {
    count_frame(pkt.frame());
    if (pkt.decoded()) {
        ++decoded;
    } else {
        ++skipped[static_cast<std::size_t>(pkt.skip_reason())];
    }
    for (const decode::Anomaly a : pkt.anomalies()) {
        ++anomalies[static_cast<std::size_t>(a)];
    }
    const bool anomalous = !pkt.anomalies().empty();
    packets_with_anomalies += anomalous ? 1U : 0U;
    bool bad = false;
    for (const verify::Verdict& v : verdicts.items()) {
        tally(v);
        bad = bad || v.status == verify::Status::Bad;
    }
    packets_with_bad_checksum += bad ? 1U : 0U;
    return anomalous || bad;
}

// By the verdicts' positions in the two shapes: a loop over each verdict's check and depth
// would be add()'s, at several times the instructions, for every frame the fast path takes.
void Summary::add_fast_path(const RawFrame& f, const verify::Verdicts& verdicts) noexcept {
    namespace plain = decode::shapes::plain_tcp;
    namespace vx = decode::shapes::tcp_in_vxlan;
    using verify::Check;
    count_frame(f);
    ++decoded;
    const auto v = verdicts.items();
    const auto count = [this](Check check, std::size_t depth, verify::Status status) {
        ++checksums[static_cast<std::size_t>(check)][depth][static_cast<std::size_t>(status)];
    };
    if (v.size() == plain::kVerdictCount) {
        count(Check::Ipv4Header, 0, v[plain::kIpv4Verdict].status);
        count(Check::Tcp, 0, v[plain::kTcpVerdict].status);
        return;
    }
    count(Check::Ipv4Header, 0, v[vx::kOuterIpv4Verdict].status);
    count(Check::Udp, 0, v[vx::kOuterUdpVerdict].status);
    count(Check::Ipv4Header, vx::kInnerDepth, v[vx::kInnerIpv4Verdict].status);
    count(Check::Tcp, vx::kInnerDepth, v[vx::kInnerTcpVerdict].status);
}

bool Summary::add_reassembled(const decode::DecodedPacket& pkt, const verify::Verdicts& verdicts,
                              bool frame_anomalous, bool frame_bad) noexcept {
    ++datagrams_reassembled;
    for (const decode::Anomaly a : pkt.anomalies()) {
        ++anomalies[static_cast<std::size_t>(a)];
    }
    const bool anomalous = !pkt.anomalies().empty();
    packets_with_anomalies += anomalous && !frame_anomalous ? 1U : 0U;
    bool bad = false;
    for (const verify::Verdict& v : verdicts.items()) {
        tally(v);
        bad = bad || v.status == verify::Status::Bad;
    }
    packets_with_bad_checksum += bad && !frame_bad ? 1U : 0U;
    return anomalous || bad;
}

void Summary::add_reassembly_anomaly(decode::Anomaly a, bool frame_anomalous) noexcept {
    ++anomalies[static_cast<std::size_t>(a)];
    packets_with_anomalies += frame_anomalous ? 0U : 1U;
}

void Summary::tally(const verify::Verdict& v) noexcept {
    const std::size_t depth = std::min<std::size_t>(v.depth, kMaxDepth);
    ++checksums[static_cast<std::size_t>(v.check)][depth][static_cast<std::size_t>(v.status)];
}

void Summary::merge(const Summary& o) {
    if (o.frames_read != 0) {
        first_ts = frames_read == 0 ? o.first_ts : std::min(first_ts, o.first_ts);
        last_ts = frames_read == 0 ? o.last_ts : std::max(last_ts, o.last_ts);
    }
    frames_read += o.frames_read;
    frames_filtered += o.frames_filtered;
    decoded += o.decoded;
    bytes_captured += o.bytes_captured;
    packets_with_anomalies += o.packets_with_anomalies;
    packets_with_bad_checksum += o.packets_with_bad_checksum;
    datagrams_reassembled += o.datagrams_reassembled;
    fragments_incomplete += o.fragments_incomplete;
    for (std::size_t i = 0; i < skipped.size(); ++i) {
        skipped[i] += o.skipped[i];
    }
    for (std::size_t i = 0; i < anomalies.size(); ++i) {
        anomalies[i] += o.anomalies[i];
    }
    for (std::size_t c = 0; c < checksums.size(); ++c) {
        for (std::size_t d = 0; d < checksums[c].size(); ++d) {
            for (std::size_t s = 0; s < checksums[c][d].size(); ++s) {
                checksums[c][d][s] += o.checksums[c][d][s];
            }
        }
    }
}

std::uint64_t Summary::skipped_total() const noexcept {
    return std::accumulate(skipped.begin(), skipped.end(), std::uint64_t{0});
}

std::uint64_t Summary::checksum_count(verify::Status s) const noexcept {
    std::uint64_t n = 0;
    for (const auto& by_depth : checksums) {
        for (const auto& by_status : by_depth) {
            n += by_status[static_cast<std::size_t>(s)];
        }
    }
    return n;
}

}  // namespace vxcheck::report

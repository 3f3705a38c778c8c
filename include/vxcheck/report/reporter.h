#pragma once
// Reporters turn pipeline results into text or JSON Lines. They see selected packets as they
// go and each file's Summary at its end.

#include <array>
#include <cstddef>
#include <memory>
#include <ostream>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "vxcheck/analyze/connections.h"
#include "vxcheck/decode/packet.h"
#include "vxcheck/report/summary.h"
#include "vxcheck/verify/verify.h"

namespace vxcheck::report {

/// What the connection analyzer saw overall.
struct ConnectionTotals {
    std::string ports;  // "2049" or "all"
    // The same as facts: the watched TCP ports (empty with all_ports), or every port.
    std::vector<std::uint16_t> port_list;
    bool all_ports = false;
    std::uint64_t connections = 0;
    std::uint64_t with_findings = 0;
    std::array<std::uint64_t, analyze::kVerdictCount> by_verdict{};  // indexed by analyze::Verdict
    analyze::ConnectionStats stats;
};

/// Whether a connection's verdicts call for attention (anything but clean or inner_snat alone).
[[nodiscard]] bool is_finding(const analyze::ConnectionReport& c) noexcept;

struct PacketView {
    const std::string& file;
    const decode::DecodedPacket& packet;
    const verify::Verdicts& verdicts;
    std::string_view point{};  // the capture point's name, as connection records name it
    // IP reassembly: anomalies it noted on this frame (the decoder's are the packet's), and for
    // a datagram reassembled on this frame (`packet` is then the whole datagram, numbered as
    // the frame that completed it), its fragments' frame numbers in offset order.
    std::span<const decode::Anomaly> reassembly_anomalies{};
    std::span<const std::uint64_t> reassembled_from{};
};

class Reporter {
  public:
    virtual ~Reporter() = default;
    virtual void begin_file(const std::string& file, const std::string& link_type) = 0;
    /// A packet selected for output (bad checksum or anomaly, or every one with --packets all).
    virtual void packet(const PacketView& p) = 0;
    virtual void end_file(const Summary& s) = 0;
    /// Connection verdicts, after every file has been read (or as they are decided, live).
    virtual void connection(const analyze::ConnectionReport& c,
                            const std::vector<std::string>& points) = 0;
    /// Live capture: a connection just gained a verdict (printed at once, before the report).
    virtual void event(const analyze::ConnectionReport& c,
                       const std::vector<std::string>& points) = 0;
    /// After the last file; `files` is how many were read.
    virtual void finish(const Summary& total, std::size_t files,
                        const ConnectionTotals& connections) = 0;
};

struct TextOptions {
    std::size_t max_rows = 25;  // rows of the connection and bad-checksum tables
    bool brief = false;         // the headline alone (--brief)
};

std::unique_ptr<Reporter> make_text_reporter(std::ostream& out, TextOptions options = {});
std::unique_ptr<Reporter> make_json_reporter(std::ostream& out);

}  // namespace vxcheck::report

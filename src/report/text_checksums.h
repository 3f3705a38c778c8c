#pragma once
// The text report's checksum section (text_checksums.cc), printed last: per capture point what
// was read and each checksum's verdicts by layer and depth, then the bad checksums collapsed to
// one row per (outer flow, stored -> expected, pre-NAT port) with a count.
//
// A packet seen at several capture points is counted once. Two bad checksums are the same
// packet when they come from different capture points and agree on the check, its depth, the stored
// value, the outer flow, and the innermost IP ID and TCP sequence number (NAT and VXLAN
// encapsulation change neither).

#include <cstdint>
#include <ostream>
#include <string>
#include <unordered_map>
#include <vector>

#include "vxcheck/analyze/connection_report.h"
#include "vxcheck/report/reporter.h"
#include "vxcheck/report/summary.h"

namespace vxcheck::report::text {

class Checksums {
  public:
    explicit Checksums(std::size_t max_rows) : max_rows_(max_rows) {}

    void begin_file(const std::string& file, const std::string& link_type);
    /// A packet selected for output; only its bad checksums are kept.
    void packet(const PacketView& p);
    void end_file(const Summary& s);
    /// Learns the pre-NAT ports that a connection's corrupted outer checksums gave.
    void connection(const analyze::ConnectionReport& c);

    /// Bad packets, each counted once across capture points.
    [[nodiscard]] std::uint64_t unique_bad() const noexcept { return unique_bad_; }
    /// The whole section; `total` for the partial and unverified notes.
    void print(std::ostream& out, const Summary& total) const;

  private:
    struct File {
        std::string name;
        std::string link_type;
        Summary summary;
    };
    struct Row {
        std::string check;   // "udp@0"
        std::string flow;    // outer flow "a:p > b:q"
        std::string source;  // its source "a:p", to find the pre-NAT port
        std::uint16_t stored = 0;
        std::string expected;  // "0xf33c" or "?"
        std::uint64_t packets = 0;
    };
    void print_file(std::ostream& out, const File& f) const;
    void print_rows(std::ostream& out) const;

    std::size_t max_rows_;
    std::vector<File> files_;
    std::vector<Row> rows_;
    std::uint64_t rows_not_kept_ = 0;  // packets in rows beyond --max-rows
    std::uint64_t unique_bad_ = 0;
    std::uint64_t seen_elsewhere_ = 0;  // bad packets already seen at another point
    bool join_full_ = false;            // the identity table is full: later packets not joined
    std::unordered_map<std::uint64_t, std::uint64_t> identities_;  // packet identity -> point
    std::unordered_map<std::string, std::string> pre_nat_;         // "ip:sport" -> "37787"
};

}  // namespace vxcheck::report::text

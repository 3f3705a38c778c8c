#pragma once
// The text report's answer (text_findings.cc): connections grouped by diagnosis, a headline of
// one entry per diagnosis with its remedy, the per-connection table, and each diagnosis's
// explanation once, with per connection only what differs from it.

#include <cstdint>
#include <map>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "vxcheck/analyze/connection_report.h"
#include "vxcheck/report/reporter.h"

namespace vxcheck::report::text {

/// What connections share to be one diagnosis: their verdicts, the corruption variant, and for
/// a rejection whether a RST or an ICMP message refused them. `undetermined`: a clean connection
/// whose double SNAT one capture point cannot rule out (explain.h).
struct DiagnosisKey {
    std::vector<analyze::Verdict> verdicts;
    std::optional<analyze::CorruptionVariant> variant;
    bool icmp = false;
    bool undetermined = false;
    bool operator==(const DiagnosisKey&) const = default;
};
[[nodiscard]] DiagnosisKey diagnosis_of(const analyze::ConnectionReport& c);
/// "double-SNATed; outer checksum corrupted (variant B)".
[[nodiscard]] std::string diagnosis_words(const DiagnosisKey& k);
/// Who the connection comes from: "node 192.168.77.10" (its VTEP) or its client address.
[[nodiscard]] std::string source_of(const analyze::ConnectionReport& c);
/// "NFS" for port 2049, "portmap", "mountd"; else "port N" (UDP flows get "/udp").
[[nodiscard]] std::string service_of(const analyze::ConnectionReport& c);
/// "at once", "never", "63.0 s", or "-" when no SYN was seen.
[[nodiscard]] std::string delay_words(const analyze::ConnectionReport& c);
/// "established", "refused (RST)", "refused (ICMP)", "dropped", "no answer", "no SYN seen".
[[nodiscard]] std::string outcome_words(const analyze::ConnectionReport& c);

class Findings {
  public:
    explicit Findings(std::size_t max_rows) : max_rows_(max_rows) {}

    /// One connection, as the analysis decided it (kept within --max-rows, else counted).
    void add(const analyze::ConnectionReport& c, const std::vector<std::string>& points);
    /// The headline: totals, then each diagnosis with its remedies.
    void headline(std::ostream& out, const ConnectionTotals& ct, const std::string& scope) const;
    /// The per-connection table and each diagnosis's details.
    void details(std::ostream& out, const ConnectionTotals& ct);

  private:
    struct Row {
        char tag = ' ';
        bool syn_time = true;  // `start` is the first SYN's (else the first packet's)
        std::string start;
        std::string client;
        std::string server;
        std::string syns;  // "?" when the flags of its segments were not captured
        std::string delay;
        std::string outcome;
        std::uint32_t flags_snaplen = 0;  // flags not captured: the frames' captured length
    };
    struct Group {
        DiagnosisKey key;
        std::uint64_t members = 0;
        std::vector<std::string> sources;  // the first kMaxSources distinct ones
        std::uint64_t more_sources = 0;
        std::string service;  // "" when members differ
        std::vector<analyze::ConnectionReport> kept;
        std::vector<std::string> remedies;
    };
    Group& group_for(const analyze::ConnectionReport& c);
    [[nodiscard]] char tag_of(std::size_t index) const;
    [[nodiscard]] std::string subject(const Group& g) const;
    void print_table(std::ostream& out, const ConnectionTotals& ct);
    void print_group(std::ostream& out, const Group& g) const;
    // "... N more (M of them need attention ...)": the rows --max-rows left out.
    void print_more(std::ostream& out) const;

    std::size_t max_rows_;
    std::vector<Row> rows_;
    std::vector<Group> groups_;
    std::uint64_t ungrouped_ = 0;  // findings beyond the last group tag
    std::size_t kept_ = 0;         // reports kept in groups (at most max_rows)
    std::uint64_t rows_not_kept_ = 0;
    std::uint64_t findings_not_kept_ = 0;
    // Connections per (source, service), for "3 of 7": the first kMaxSourceCounts pairs.
    std::map<std::string, std::uint64_t> per_source_;
    std::vector<std::string> points_;
    // Connections to efs-utils' loopback proxy ports, which the default watches besides the
    // listed ports: the lowest and highest such server port (0: none).
    std::uint16_t proxy_port_min_ = 0;
    std::uint16_t proxy_port_max_ = 0;
    // "port 2049", "all ports", and the loopback proxy ports when connections to them are reported.
    [[nodiscard]] std::string watched(const ConnectionTotals& ct) const;
};

}  // namespace vxcheck::report::text

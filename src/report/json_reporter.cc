// JSON Lines reporter: one object per line, schema v1 (docs/schema/vxcheck-v1.schema.json; the
// records' rules are in json_records.h, their fields in README.md "JSON output").

#include <cstdio>

#include "json_records.h"
#include "vxcheck/report/reporter.h"

namespace vxcheck::report {

namespace {

using json::ordered_json;

ordered_json checksum_rows(const Summary& s) {
    ordered_json checks = ordered_json::array();
    for (std::size_t c = 0; c < s.checksums.size(); ++c) {
        for (std::size_t d = 0; d < s.checksums[c].size(); ++d) {
            const auto& counts = s.checksums[c][d];
            std::uint64_t n = 0;
            for (const auto k : counts) {
                n += k;
            }
            if (n == 0) {
                continue;
            }
            ordered_json row;
            row["check"] = to_string(static_cast<verify::Check>(c));
            row["depth"] = d;
            for (std::size_t st = 0; st < counts.size(); ++st) {
                row[std::string(to_string(static_cast<verify::Status>(st)))] = counts[st];
            }
            checks.push_back(std::move(row));
        }
    }
    return checks;
}

ordered_json summary_json(const Summary& s, bool total) {
    ordered_json j = json::record("summary");
    j["scope"] = total ? "total" : "file";
    if (!total) {
        j["point"] = s.point.empty() ? s.file : s.point;
        j["file"] = s.file;
        j["link_type"] = s.link_type;
    }
    j["frames_read"] = s.frames_read;
    if (s.frames_filtered != 0) {
        j["frames_filtered"] = s.frames_filtered;  // only with a read filter (analyze -f)
    }
    j["decoded"] = s.decoded;
    ordered_json skipped;
    skipped["total"] = s.skipped_total();
    for (std::size_t r = 1; r < s.skipped.size(); ++r) {
        skipped[std::string(to_string(static_cast<decode::SkipReason>(r)))] = s.skipped[r];
    }
    j["skipped"] = std::move(skipped);
    j["bytes_captured"] = s.bytes_captured;
    // `anomaly_counts`, not `anomalies`: a packet's `anomalies` is a list of names, and one
    // field name has one type across the record types.
    ordered_json anomalies = ordered_json::object();
    for (std::size_t a = 0; a < s.anomalies.size(); ++a) {
        if (s.anomalies[a] != 0) {
            anomalies[std::string(to_string(static_cast<decode::Anomaly>(a)))] = s.anomalies[a];
        }
    }
    j["anomaly_counts"] = std::move(anomalies);
    j["checksums"] = checksum_rows(s);
    j["packets_with_bad_checksum"] = s.packets_with_bad_checksum;
    j["packets_with_anomalies"] = s.packets_with_anomalies;
    if (s.datagrams_reassembled != 0 || s.fragments_incomplete != 0) {
        // only where there were IP fragments to reassemble
        j["datagrams_reassembled"] = s.datagrams_reassembled;
        j["fragments_incomplete"] = s.fragments_incomplete;
    }
    if (!s.read_error.empty()) {
        j["error"] = s.read_error;
    }
    return j;
}

ordered_json totals_json(const ConnectionTotals& ct) {
    ordered_json j = json::record("connections");
    j["ports"] = ct.port_list;  // empty with all_ports
    j["all_ports"] = ct.all_ports;
    j["connections"] = ct.connections;
    j["with_findings"] = ct.with_findings;
    ordered_json by = ordered_json::object();
    for (std::size_t v = 0; v < ct.by_verdict.size(); ++v) {
        by[std::string(to_string(static_cast<analyze::Verdict>(v)))] = ct.by_verdict[v];
    }
    j["by_verdict"] = std::move(by);
    const analyze::ConnectionStats& s = ct.stats;
    j["segments"] = s.segments;
    j["peak_tracked"] = s.peak_flows;
    j["evicted"] = s.evicted;
    j["expired"] = s.expired;
    j["alloc_failures"] = s.alloc_failures;
    // What the bounds on memory dropped (analyze/options.h): always present, 0 when nothing.
    j["dropped"] = ordered_json{{"vtep_pairs", s.vtep_pairs_evicted},
                                {"evidence_frames", s.evidence_frames_dropped},
                                {"verdict_memory", s.verdict_memory_evicted},
                                {"connection_detail", s.detail_dropped},
                                {"rpc_connections", s.rpc_connections_dropped}};
    if (s.points_not_followed != 0) {
        // only when more capture points than analyze::kMaxPoints carried packets
        j["points_not_followed"] = s.points_not_followed;
    }
    if (s.rpc_calls_forgotten != 0) {
        j["rpc_calls_forgotten"] = s.rpc_calls_forgotten;
    }
    if (s.udp_datagrams + s.udp_not_rpc + s.udp_ports_not_learned != 0) {
        j["udp_rpc"] = ordered_json{{"datagrams", s.udp_datagrams},
                                    {"flows", s.udp_flows},
                                    {"evicted", s.udp_evicted},
                                    {"not_rpc", s.udp_not_rpc},
                                    {"ports_not_learned", s.udp_ports_not_learned}};
    }
    return j;
}

class JsonReporter final : public Reporter {
  public:
    explicit JsonReporter(std::ostream& out) : out_(out) {}

    void begin_file(const std::string&, const std::string&) override {}

    void packet(const PacketView& p) override { out_ << json::packet_record(p).dump() << '\n'; }

    void end_file(const Summary& s) override { out_ << summary_json(s, false).dump() << '\n'; }

    void connection(const analyze::ConnectionReport& c,
                    const std::vector<std::string>& points) override {
        out_ << json::connection_record(c, points).dump() << '\n';
    }

    void event(const analyze::ConnectionReport& c,
               const std::vector<std::string>& points) override {
        ordered_json j = json::connection_record(c, points);
        j["type"] = "verdict";
        json::put_time(j, "decided_at", c.decided_at);
        out_ << j.dump() << '\n';
        out_.flush();  // a live consumer reads it now
    }

    void finish(const Summary& total, std::size_t files, const ConnectionTotals& ct) override {
        if (files > 1) {
            out_ << summary_json(total, true).dump() << '\n';
        }
        out_ << totals_json(ct).dump() << '\n';
        out_.flush();
    }

  private:
    std::ostream& out_;
};

}  // namespace

std::unique_ptr<Reporter> make_json_reporter(std::ostream& out) {
    return std::make_unique<JsonReporter>(out);
}

}  // namespace vxcheck::report

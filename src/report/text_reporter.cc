// Human report: per file, what was read and skipped, checksum verdicts by layer and depth, a
// table of bad packets, and a closing line that says what it means.

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <vector>

#include "vxcheck/report/explain.h"
#include "vxcheck/report/format.h"
#include "vxcheck/report/reporter.h"
#include "vxcheck/track/flow_key.h"

namespace vxcheck::report {
namespace {

struct BadRow {
    std::uint64_t frame;
    std::string check;
    std::string stored;
    std::string expected;
    std::string outer;
    std::string inner;
};

std::string fmt(const char* f, auto... args) {
    char buf[256];
    std::snprintf(buf, sizeof buf, f, args...);
    return buf;
}

class TextReporter final : public Reporter {
  public:
    TextReporter(std::ostream& out, TextOptions options) : out_(out), options_(options) {}

    void begin_file(const std::string& file, const std::string& link_type) override {
        rows_.clear();
        bad_packets_ = 0;
        out_ << file << "  (" << link_type << ")\n";
    }

    void packet(const PacketView& p) override {
        if (!p.verdicts.any(verify::Status::Bad)) {
            return;  // the text table lists bad checksums; anomalies are counted in the summary
        }
        ++bad_packets_;
        if (rows_.size() >= options_.max_rows) {
            return;
        }
        const auto& pkt = p.packet;
        // Outer = first IP layer, inner = innermost IP layer inside a tunnel (if any).
        int outer = -1;
        int inner = -1;
        const auto layers = pkt.layers();
        for (std::size_t i = 0; i < layers.size(); ++i) {
            if (layers[i].proto == decode::Proto::Ipv4 || layers[i].proto == decode::Proto::Ipv6) {
                if (outer < 0) {
                    outer = static_cast<int>(i);
                } else if (layers[i].depth > 0) {
                    inner = static_cast<int>(i);
                }
            }
        }
        for (const verify::Verdict& v : p.verdicts.items()) {
            if (v.status != verify::Status::Bad || rows_.size() >= options_.max_rows) {
                continue;
            }
            rows_.push_back(BadRow{
                .frame = pkt.frame().number,
                .check = std::string(to_string(v.check)) + "@" + std::to_string(v.depth),
                .stored = hex16(v.stored),
                .expected = v.expected_known ? hex16(v.expected) : "?",
                .outer = endpoints(pkt, outer),
                .inner = inner >= 0 ? endpoints(pkt, inner) : "",
            });
        }
    }

    void end_file(const Summary& s) override {
        out_ << fmt("  frames: %llu read, %llu decoded, %llu skipped", ull(s.frames_read),
                    ull(s.decoded), ull(s.skipped_total()));
        if (s.skipped_total() != 0) {
            std::string parts;
            for (std::size_t r = 1; r < s.skipped.size(); ++r) {
                if (s.skipped[r] != 0) {
                    parts += (parts.empty() ? "" : ", ") + std::to_string(s.skipped[r]) + " " +
                             std::string(to_string(static_cast<decode::SkipReason>(r)));
                }
            }
            out_ << " (" << parts << ")";
        }
        if (s.frames_filtered != 0) {
            out_ << "; " << s.frames_filtered << " filtered out by the read filter";
        }
        out_ << "\n";
        if (!s.read_error.empty()) {
            out_ << "  read error: " << s.read_error << "\n";
        }
        print_checksums(s);
        print_anomalies(s);
        print_bad_rows(s);
        out_ << "\n";
    }

    void connection(const analyze::ConnectionReport& c,
                    const std::vector<std::string>& points) override {
        if (points_ != points) {
            points_ = points;
        }
        const bool finding = is_finding(c);
        // Rows are kept only while they could still be shown (--max-rows findings, then clean
        // rows while there is room): memory stays bounded on a busy node whatever the number of
        // findings, and the rows not kept are counted, not formatted.
        if (finding ? finding_rows_ >= options_.max_rows : conn_rows_.size() >= options_.max_rows) {
            ++(finding ? findings_not_kept_ : clean_not_kept_);
            return;
        }
        finding_rows_ += finding ? 1U : 0U;
        ConnRow row{.finding = finding,
                    .client = track::to_string(c.client),
                    .server = track::to_string(c.server) + udp_suffix(c),
                    .outer = "-",
                    .syns = c.syns,
                    .delay = c.delay_s ? fmt("%.1f s", *c.delay_s) : "-",
                    .verdicts = verdict_list(c)};
        if (c.tunnelled) {
            std::string sp;
            for (const auto p : c.outer_sports) {
                sp += (sp.empty() ? "" : ",") + std::to_string(p);
            }
            row.outer = track::ip_to_string(c.outer_client) + " > " +
                        track::ip_to_string(c.outer_server) + " sport " + sp;
        }
        if (row.finding && findings_.size() < options_.max_rows) {
            findings_.push_back(c);
        }
        conn_rows_.push_back(std::move(row));
    }

    void event(const analyze::ConnectionReport& c, const std::vector<std::string>&) override {
        const std::time_t t = c.last_ts.sec;
        std::tm tm{};
        ::localtime_r(&t, &tm);
        char when[16];
        std::strftime(when, sizeof when, "%H:%M:%S", &tm);
        std::string detail;
        if (c.delay_s) {
            detail += fmt(", connected after %.1f s", *c.delay_s);
        }
        if (!c.corrupted.empty()) {
            const auto& k = c.corrupted.front();
            detail += k.pre_nat_sport ? fmt(", outer checksum valid for pre-NAT port %u",
                                            unsigned{*k.pre_nat_sport})
                                      : std::string(", outer checksum 0xffff (variant A)");
        }
        if (c.outcome == analyze::Outcome::Dropped) {
            detail += fmt(", %u SYNs unanswered", c.syns);
        }
        out_ << when << "  " << track::to_string(c.client) << " -> " << track::to_string(c.server)
             << ": " << verdict_list(c) << detail << "\n";
        out_.flush();
    }

    void finish(const Summary& total, std::size_t files, const ConnectionTotals& ct) override {
        if (files == 0) {
            return;  // nothing could be read; the errors on stderr say why
        }
        print_connections(ct);
        const auto bad = total.packets_with_bad_checksum;
        const auto partial = total.checksum_count(verify::Status::Partial);
        const auto unverified = total.checksum_count(verify::Status::Unverified);
        out_ << "verdict: ";
        if (bad == 0) {
            out_ << "no bad checksums";
        } else {
            out_ << bad << (bad == 1 ? " packet" : " packets") << " with a bad checksum";
        }
        if (ct.with_findings != 0) {
            out_ << "; " << ct.with_findings
                 << (ct.with_findings == 1 ? " connection needs" : " connections need")
                 << " attention";
        }
        out_ << " in " << total.frames_read << (total.frames_read == 1 ? " frame" : " frames");
        if (total.frames_filtered != 0) {
            out_ << " (" << total.frames_filtered
                 << (total.frames_filtered == 1 ? " frame" : " frames") << " filtered out)";
        }
        if (files > 1) {
            out_ << " from " << files << " files";
        }
        out_ << ".\n";
        if (partial != 0) {
            out_ << "  " << partial
                 << " checksums are 'partial': the sender's NIC fills them in after the capture "
                    "point (TX checksum offload). Not an error.\n";
        }
        if (unverified != 0) {
            out_ << "  " << unverified
                 << " checksums could not be verified (cut by snaplen, fragments, or "
                    "super-packets whose length is not on the wire).\n";
        }
        out_.flush();
    }

  private:
    void print_connections(const ConnectionTotals& ct) {
        out_ << "connections (TCP port " << ct.ports << "): " << ct.connections << " seen, "
             << ct.with_findings << " need attention";
        if (ct.stats.evicted + ct.stats.expired != 0) {
            out_ << " (" << ct.stats.evicted << " decided early: table full, " << ct.stats.expired
                 << " idle)";
        }
        if (ct.stats.alloc_failures != 0) {
            out_ << " (" << ct.stats.alloc_failures
                 << " packets not fully analysed: out of memory)";
        }
        print_dropped(ct.stats);
        if (ct.stats.udp_not_rpc != 0) {
            out_ << " (" << ct.stats.udp_not_rpc
                 << " UDP datagrams on an RPC port were not RPC: rpc.udp_not_rpc)";
        }
        out_ << "\n";
        if (conn_rows_.empty()) {
            out_ << "\n";
            return;
        }
        // Connections that need attention first, then clean ones, --max-rows in all.
        std::stable_sort(conn_rows_.begin(), conn_rows_.end(),
                         [](const ConnRow& a, const ConnRow& b) { return a.finding > b.finding; });
        const std::size_t shown = std::min(conn_rows_.size(), options_.max_rows);
        std::size_t wc = 6;
        std::size_t ws = 6;
        std::size_t wo = 28;
        for (std::size_t i = 0; i < shown; ++i) {
            wc = std::max(wc, conn_rows_[i].client.size());
            ws = std::max(ws, conn_rows_[i].server.size());
            wo = std::max(wo, conn_rows_[i].outer.size());
        }
        out_ << "  " << pad("client", wc) << "  " << pad("server", ws) << "  "
             << pad("outer (VTEPs, client sports)", wo) << "  SYNs  delay    verdicts\n";
        for (std::size_t i = 0; i < shown; ++i) {
            const ConnRow& r = conn_rows_[i];
            out_ << "  " << pad(r.client, wc) << "  " << pad(r.server, ws) << "  "
                 << pad(r.outer, wo) << fmt("  %4u  %-7s  ", r.syns, r.delay.c_str()) << r.verdicts
                 << "\n";
        }
        const std::size_t total = conn_rows_.size() + clean_not_kept_ + findings_not_kept_;
        if (total > shown) {
            const std::size_t more_findings =
                ct.with_findings > shown ? ct.with_findings - shown : 0;
            out_ << "  ... " << total - shown << " more (" << more_findings
                 << " of them need attention; --max-rows N shows more, --json all)\n";
        }
        out_ << "\n";
        for (const auto& c : findings_) {
            print_finding(c);
        }
        if (ct.with_findings > findings_.size()) {
            out_ << "(" << ct.with_findings - findings_.size()
                 << " more connections need attention; see --json)\n\n";
        }
    }

    // What the bounds on memory dropped (analyze/options.h), when they dropped anything.
    void print_dropped(const analyze::ConnectionStats& s) {
        if (s.vtep_pairs_evicted != 0) {
            out_ << " (" << s.vtep_pairs_evicted
                 << " VTEP pairs' checksum modes forgotten for newer ones: --max-vtep-pairs)";
        }
        if (s.evidence_frames_dropped != 0) {
            out_ << " (" << s.evidence_frames_dropped
                 << " evidence frames not kept: --evidence-budget spent)";
        }
        if (s.verdict_memory_evicted != 0) {
            out_ << " (" << s.verdict_memory_evicted
                 << " connections' counted verdicts forgotten: the status line may count some "
                    "twice)";
        }
    }

    // A connection that needs attention: what happened, its evidence frames, what to do.
    void print_finding(const analyze::ConnectionReport& c) {
        std::string verdicts = verdict_list(c);
        std::string outcome;
        if (c.delay_s) {
            outcome = fmt(" (connected after %.1f s)", *c.delay_s);
        } else if (c.outcome == analyze::Outcome::Dropped ||
                   c.outcome == analyze::Outcome::Unanswered) {
            outcome = " (never connected)";
        } else if (c.outcome == analyze::Outcome::RejectedRst ||
                   c.outcome == analyze::Outcome::RejectedIcmp) {
            outcome = " (refused)";
        }
        out_ << track::to_string(c.client) << " -> " << track::to_string(c.server) << udp_suffix(c)
             << outcome << ": " << verdicts << "\n";
        const Explanation words = explain(c, points_);
        out_ << wrap("What happened: " + words.text, "  ", "    ");
        std::size_t n = 0;
        for (const auto& e : c.evidence) {
            if (n == 0) {
                out_ << "  Evidence (" << c.evidence.size()
                     << " frames, --evidence FILE.pcapng keeps them):\n";
            }
            if (++n > 8) {
                out_ << "    ...\n";
                break;
            }
            out_ << "    " << point_name(e.point) << " frame " << e.frame << ": "
                 << evidence_note(e.note) << "\n";
        }
        if (!words.remedies.empty()) {
            out_ << "  What to do:\n";
            for (const auto& r : words.remedies) {
                out_ << wrap("- " + r, "    ", "      ");
            }
        }
        out_ << "\n";
    }

    // A UDP flow's server is written "ip:port/udp"; a TCP connection's as it is.
    static const char* udp_suffix(const analyze::ConnectionReport& c) {
        return c.transport == analyze::Transport::Udp ? "/udp" : "";
    }

    static std::string verdict_list(const analyze::ConnectionReport& c) {
        std::string verdicts;
        for (const auto v : c.verdicts) {
            verdicts += (verdicts.empty() ? "" : ", ") + std::string(to_string(v));
        }
        return verdicts;
    }

    std::string point_name(std::uint16_t p) const {
        return p < points_.size() ? points_[p] : std::to_string(p);
    }

    // Wraps at 100 columns: first line with `first` indent, the rest with `rest`.
    static std::string wrap(const std::string& text, const std::string& first,
                            const std::string& rest) {
        constexpr std::size_t kWidth = 100;
        std::string out;
        std::string line = first;
        std::size_t pos = 0;
        while (pos < text.size()) {
            std::size_t end = text.find(' ', pos);
            if (end == std::string::npos) {
                end = text.size();
            }
            const std::string word = text.substr(pos, end - pos);
            const bool at_start = line.size() == first.size() || line == rest;
            if (!at_start && line.size() + 1 + word.size() > kWidth) {
                out += line + "\n";
                line = rest;
            }
            if (line.size() != first.size() && line != rest) {
                line += ' ';
            }
            line += word;
            pos = end + 1;
        }
        return out + line + "\n";
    }

    static unsigned long long ull(std::uint64_t v) { return static_cast<unsigned long long>(v); }

    void print_checksums(const Summary& s) {
        bool header = false;
        for (std::size_t c = 0; c < s.checksums.size(); ++c) {
            for (std::size_t d = 0; d < s.checksums[c].size(); ++d) {
                const auto& n = s.checksums[c][d];
                std::uint64_t total = 0;
                for (const auto k : n) {
                    total += k;
                }
                if (total == 0) {
                    continue;
                }
                if (!header) {
                    out_ << "  checksums   depth        ok       bad   partial      zero  "
                            "unverified\n";
                    header = true;
                }
                out_ << fmt("    %-8s %6zu %9llu %9llu %9llu %9llu %11llu\n",
                            std::string(to_string(static_cast<verify::Check>(c))).c_str(), d,
                            ull(n[0]), ull(n[1]), ull(n[2]), ull(n[3]), ull(n[4]));
            }
        }
        if (!header) {
            out_ << "  checksums: none (no IPv4, TCP or UDP headers)\n";
        }
    }

    void print_anomalies(const Summary& s) {
        std::string parts;
        for (std::size_t a = 0; a < s.anomalies.size(); ++a) {
            if (s.anomalies[a] != 0) {
                parts += (parts.empty() ? "" : ", ") +
                         std::string(to_string(static_cast<decode::Anomaly>(a))) + " " +
                         std::to_string(s.anomalies[a]);
            }
        }
        if (!parts.empty()) {
            out_ << "  decode anomalies (" << s.packets_with_anomalies << " frames): " << parts
                 << "\n";
        }
    }

    void print_bad_rows(const Summary&) {
        if (rows_.empty()) {
            return;
        }
        out_ << "  bad checksums (" << bad_packets_ << (bad_packets_ == 1 ? " packet" : " packets")
             << "; check@depth, 0 = outermost):\n";
        std::size_t w_outer = 5;
        for (const BadRow& r : rows_) {
            w_outer = std::max(w_outer, r.outer.size());
        }
        out_ << fmt("    %7s  %-7s  %-6s  %-8s  ", "frame", "check", "stored", "expected")
             << pad("outer", w_outer) << "  inner\n";
        for (const BadRow& r : rows_) {
            out_ << fmt("    %7llu  %-7s  %-6s  %-8s  ", ull(r.frame), r.check.c_str(),
                        r.stored.c_str(), r.expected.c_str())
                 << pad(r.outer, w_outer) << "  " << r.inner << "\n";
        }
        if (bad_packets_ > rows_.size()) {
            out_ << "    ... " << (bad_packets_ - rows_.size())
                 << " more packets (see --json for all of them)\n";
        }
    }

    static std::string pad(const std::string& s, std::size_t w) {
        return s.size() >= w ? s : s + std::string(w - s.size(), ' ');
    }

    std::ostream& out_;
    TextOptions options_;
    std::vector<BadRow> rows_;
    struct ConnRow {
        bool finding = false;
        std::string client;
        std::string server;
        std::string outer;
        unsigned syns = 0;
        std::string delay;
        std::string verdicts;
    };
    std::vector<ConnRow> conn_rows_;
    std::vector<analyze::ConnectionReport> findings_;
    std::size_t clean_not_kept_ = 0;
    std::size_t finding_rows_ = 0;
    std::size_t findings_not_kept_ = 0;
    std::vector<std::string> points_;
    std::uint64_t bad_packets_ = 0;
};

}  // namespace

std::unique_ptr<Reporter> make_text_reporter(std::ostream& out, TextOptions options) {
    return std::make_unique<TextReporter>(out, options);
}

}  // namespace vxcheck::report

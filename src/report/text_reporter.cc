// Human report. It leads with the answer: a headline of the connections on the watched ports
// and their diagnoses, each with its remedy; then the per-connection table and each diagnosis's
// explanation once (text_findings.cc); the checksum tables come last (text_checksums.cc).
// Everything is printed at finish(), so per-file sections are kept until then (bounded by
// --max-rows rows each).

#include <ctime>
#include <vector>

#include "text_checksums.h"
#include "text_findings.h"
#include "text_layout.h"
#include "vxcheck/analyze/rpc_analyzer.h"
#include "vxcheck/report/explain.h"
#include "vxcheck/report/format.h"
#include "vxcheck/report/reporter.h"
#include "vxcheck/track/flow_key.h"

namespace vxcheck::report {
namespace {

class TextReporter final : public Reporter {
  public:
    TextReporter(std::ostream& out, TextOptions options)
        : out_(out), options_(options), findings_(options.max_rows), checksums_(options.max_rows) {}

    void begin_file(const std::string& file, const std::string& link_type) override {
        checksums_.begin_file(file, link_type);
    }

    void packet(const PacketView& p) override { checksums_.packet(p); }

    void end_file(const Summary& s) override { checksums_.end_file(s); }

    void connection(const analyze::ConnectionReport& c,
                    const std::vector<std::string>& points) override {
        findings_.add(c, points);
        checksums_.connection(c);
        if (rpc_unread_matters(c)) {
            ++rpc_unread_.connections;
            rpc_unread_.calls_not_judged += c.rpc->unread.calls_not_judged;
        }
    }

    // Live: one line as soon as a connection gains a verdict, with the wall-clock time (UTC).
    void event(const analyze::ConnectionReport& c, const std::vector<std::string>&) override {
        std::string detail;
        if (c.delay_s) {
            char buf[48];
            std::snprintf(buf, sizeof buf, ", connected after %.1f s", *c.delay_s);
            detail += buf;
        }
        if (!c.corrupted.empty()) {
            const auto& k = c.corrupted.front();
            if (k.pre_nat_sport) {
                detail +=
                    ", outer checksum valid for pre-NAT port " + std::to_string(*k.pre_nat_sport);
            } else {
                detail += ", outer checksum " + hex16(k.stored) + " (variant A" +
                          (k.pre_nat_src
                               ? ", source " + track::ip_to_string(*k.pre_nat_src) + " rewritten"
                               : std::string()) +
                          ")";
            }
            if (k.confidence == analyze::Confidence::Medium) {
                detail += " (medium confidence)";
            }
        }
        if (c.outcome == analyze::Outcome::Dropped) {
            detail += ", " + std::to_string(c.syns) + " SYNs unanswered";
        }
        out_ << text::utc_time(c.last_ts, 0) << "  " << track::to_string(c.client) << " -> "
             << track::to_string(c.server) << ": " << verdict_names(c) << detail << "\n";
        out_.flush();
    }

    void finish(const Summary& total, std::size_t files, const ConnectionTotals& ct) override {
        if (files == 0) {
            return;  // nothing could be read; the errors on stderr say why
        }
        findings_.headline(out_, ct, scope(total, files));
        out_ << bad_checksums_line(total) << "\n";
        print_bounds(ct.stats);
        print_unread();
        if (options_.brief) {
            out_.flush();
            return;
        }
        out_ << "\n";
        findings_.details(out_, ct);
        checksums_.print(out_, total);
        out_.flush();
    }

  private:
    // Bad packets counted once across capture points; when none were listed (--packets none),
    // the per-point counts, which cannot be joined.
    std::string bad_checksums_line(const Summary& total) const {
        const std::uint64_t bad = checksums_.unique_bad();
        if (bad != 0) {
            return text::count(bad, "packet", "packets") +
                   " with a bad checksum (table at the end).";
        }
        if (total.packets_with_bad_checksum != 0) {
            return text::count(total.packets_with_bad_checksum, "packet", "packets") +
                   " with a bad checksum, counted at each capture point (not listed: --packets "
                   "none).";
        }
        return "No bad checksums.";
    }

    static std::string verdict_names(const analyze::ConnectionReport& c) {
        std::string out;
        for (const auto v : c.verdicts) {
            out += (out.empty() ? "" : ", ") + std::string(to_string(v));
        }
        return out;
    }

    // "4 files, 120 frames, 2026-11-22T00:45:18.403Z to 2026-11-22T00:45:18.560Z" (after the
    // frames, "N filtered out" when a read filter rejected some).
    static std::string scope(const Summary& total, std::size_t files) {
        std::string s = (files > 1 ? text::count(files, "file", "files") + ", " : "") +
                        text::count(total.frames_read, "frame", "frames");
        if (total.frames_filtered != 0) {
            s += ", " + std::to_string(total.frames_filtered) + " filtered out";
        }
        if (total.frames_read != 0) {
            s += ", " + text::utc_time(total.first_ts) + " to " + text::utc_time(total.last_ts);
        }
        return s;
    }

    // What the bounds on time and memory cut short (analyze/options.h), one line each.
    void print_bounds(const analyze::ConnectionStats& s) {
        const auto line = [this](std::uint64_t n, const std::string& what) {
            if (n != 0) {
                out_ << text::wrap("(" + std::to_string(n) + " " + what + ")", "", "  ");
            }
        };
        line(s.points_not_followed,
             "capture points beyond the first " + std::to_string(analyze::kMaxPoints) +
                 " carried packets: analysed, but not followed across points; no hop names them");
        line(s.evicted, "connections decided early: table full");
        line(s.expired, "connections decided early: idle");
        line(s.alloc_failures, "packets not fully analysed: out of memory");
        line(s.vtep_pairs_evicted,
             "VTEP pairs' checksum modes forgotten for newer ones: --max-vtep-pairs");
        line(s.evidence_frames_dropped, "evidence frames not kept: --evidence-budget spent");
        line(s.detail_dropped, "SYN, checksum or sighting records not kept: --state-budget spent");
        line(s.rpc_connections_dropped,
             "connections not analysed for RPC, or not to their end: --state-budget spent");
        line(s.verdict_memory_evicted,
             "connections' counted verdicts forgotten: the status line may count some twice");
        line(s.udp_not_rpc, "UDP datagrams on an RPC port were not RPC: rpc.udp_not_rpc");
        line(s.rpc_calls_forgotten,
             "RPC calls or answers forgotten across connections for newer ones (the latest " +
                 std::to_string(analyze::kMaxCrossCalls) +
                 " are kept): a resend after a reconnect, or an answer on a later connection, "
                 "older than that is not matched");
    }

    // Connections whose RPC stream the capture missed part of (rpc_unread_matters()).
    void print_unread() {
        if (rpc_unread_.connections == 0) {
            return;
        }
        std::string s = "(" + text::count(rpc_unread_.connections, "connection", "connections") +
                        ": the capture missed part of the RPC stream (dropped packets, or the "
                        "snaplen)";
        if (rpc_unread_.calls_not_judged != 0) {
            s += "; " + text::count(rpc_unread_.calls_not_judged, "call", "calls") +
                 " without a reply in the capture not judged unanswered";
        }
        out_ << text::wrap(s + ": see each connection's rpc.unread in --json)", "", "  ");
    }

    std::ostream& out_;
    struct {
        std::uint64_t connections = 0;
        std::uint64_t calls_not_judged = 0;
    } rpc_unread_;
    TextOptions options_;
    text::Findings findings_;
    text::Checksums checksums_;
};

}  // namespace

std::unique_ptr<Reporter> make_text_reporter(std::ostream& out, TextOptions options) {
    return std::make_unique<TextReporter>(out, options);
}

}  // namespace vxcheck::report

// The text report leads with the answer (issue 20 item 1): a headline grouped by diagnosis with
// each remedy once, UTC times, delays in words, every golden report within 100 columns, and
// --brief for the headline alone.

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "report/text_findings.h"
#include "report/text_layout.h"
#include "source_dir.h"
#include "vxcheck/app/options.h"
#include "vxcheck/report/reporter.h"

namespace vxcheck::report {
namespace {

using analyze::ConnectionReport;
using analyze::Verdict;

ConnectionReport double_snat(std::uint16_t port, std::uint16_t pre_nat) {
    ConnectionReport r;
    r.client = track::ipv4_endpoint(0x0af40100, port);
    r.server = track::ipv4_endpoint(0x0af40205, 2049);
    r.verdicts = {Verdict::InnerSnat, Verdict::OuterSnat, Verdict::DoubleSnat,
                  Verdict::OuterChecksumCorrupted};
    r.outcome = analyze::Outcome::Established;
    r.syns = 1;
    r.delay_s = 0.0;
    r.tunnelled = true;
    r.outer_client = track::ipv4_endpoint(0xc0a8320b, 0);  // 192.168.50.11
    r.outer_server = track::ipv4_endpoint(0xc0a83215, 0);
    analyze::CorruptedOuter k;
    k.variant = analyze::CorruptionVariant::B;
    k.sport = 7103;
    k.pre_nat_sport = pre_nat;
    r.corrupted = {k};
    r.corrupted_total = 1;
    r.inner_snat = {.kind = analyze::InnerSnatReason::Kind::InferredFromOuterNat, .port = port};
    r.outer_snat = {
        .kind = analyze::OuterSnatReason::Kind::VariantB, .port = 7103, .pre_nat_port = pre_nat};
    r.first_ts = {.sec = 1591957867, .nsec = 123456789};
    return r;
}

std::string report(const std::vector<ConnectionReport>& connections, TextOptions options = {},
                   std::uint64_t bad_packets = 0) {
    std::ostringstream out;
    auto reporter = make_text_reporter(out, options);
    for (const auto& c : connections) {
        reporter->connection(c, {"node-a-eth0"});
    }
    ConnectionTotals ct;
    ct.ports = "2049";
    ct.connections = connections.size();
    ct.with_findings = connections.size();
    Summary total;
    total.frames_read = 1;
    total.packets_with_bad_checksum = bad_packets;
    reporter->finish(total, 1, ct);
    return out.str();
}

std::size_t occurrences(const std::string& text, const std::string& words) {
    std::size_t n = 0;
    for (auto at = text.find(words); at != std::string::npos; at = text.find(words, at + 1)) {
        ++n;
    }
    return n;
}

TEST(TextReport, HeadlineGroupsConnectionsByDiagnosisWithTheRemedyOnce) {
    std::vector<ConnectionReport> seven;
    for (std::uint16_t i = 0; i < 7; ++i) {
        seven.push_back(double_snat(static_cast<std::uint16_t>(40000 + i),
                                    static_cast<std::uint16_t>(50000 + i)));
    }
    const std::string text = report(seven);
    EXPECT_EQ(text.rfind("7 connections on port 2049, 7 with findings", 0), 0U) << text;
    // The diagnosis comes before the table.
    const auto diagnosis =
        text.find("\n[A] 7 of 7 NFS connections from node 192.168.50.11: double-SNATed;\n");
    EXPECT_LT(diagnosis, text.find("first SYN (UTC)")) << text;
    EXPECT_EQ(occurrences(text, "Stop the second masquerade"), 1U) << text;
    EXPECT_EQ(occurrences(text, "What happened"), 1U) << text;
    EXPECT_EQ(occurrences(text, "Source-NATed twice"), 1U) << text;
    // What differs (the pre-NAT port) is said per connection.
    EXPECT_EQ(occurrences(text, "10.244.2.5:2049: Outer SNAT: the outer UDP checksum"), 7U) << text;
    // The table has the first SYN's UTC time and the delay in words.
    EXPECT_NE(text.find("  A  2020-06-12T10:31:07.123Z   10.244.1.0:40000  10.244.2.5:2049     1"
                        "  at once  established"),
              std::string::npos)
        << text;
}

TEST(TextReport, BriefIsTheHeadlineAlone) {
    const std::string full = report({double_snat(40000, 50000)});
    const std::string brief = report({double_snat(40000, 50000)}, {.brief = true});
    EXPECT_EQ(full.rfind(brief, 0), 0U) << brief;  // the full report begins with it
    EXPECT_EQ(brief.find("What happened"), std::string::npos);
    EXPECT_EQ(brief.find("first SYN (UTC)"), std::string::npos);
    EXPECT_NE(brief.find("Stop the second masquerade"), std::string::npos);
}

TEST(TextReport, HeadlineKeepsTheRemedyWhenNoRowIsKept) {
    const std::string text = report({double_snat(40000, 50000)}, {.max_rows = 0});
    EXPECT_NE(text.find("Stop the second masquerade"), std::string::npos) << text;
    EXPECT_NE(text.find("... 1 more (1 of them need attention"), std::string::npos) << text;
}

TEST(TextReport, BadPacketsNotListedAreStillCounted) {
    // --packets none: the reporter sees no packet, the totals still count them (per point).
    const std::string text = report({}, {}, 3);
    EXPECT_NE(text.find("3 packets with a bad checksum, counted at each capture point"),
              std::string::npos)
        << text;
    EXPECT_EQ(text.find("No bad checksums."), std::string::npos) << text;
}

TEST(TextReport, BriefIsAnAnalyzeOption) {
    const auto command = app::parse_command_line({"analyze", "--brief", "x.pcap"}, false);
    const auto* cfg = std::get_if<app::AnalyzeConfig>(&command);
    ASSERT_NE(cfg, nullptr);
    EXPECT_TRUE(cfg->brief);
}

TEST(TextReport, DelayIsAtOnceNeverOrSeconds) {
    ConnectionReport c = double_snat(40000, 50000);
    EXPECT_EQ(text::delay_words(c), "at once");
    c.syns = 7;
    c.delay_s = 63.0;
    EXPECT_EQ(text::delay_words(c), "63.0 s");
    c.outcome = analyze::Outcome::Dropped;
    c.delay_s.reset();
    EXPECT_EQ(text::delay_words(c), "never");
    c.outcome = analyze::Outcome::NoSyn;
    EXPECT_EQ(text::delay_words(c), "-");
}

TEST(TextReport, TimesAreUtcInRfc3339Form) {
    EXPECT_EQ(text::utc_time({.sec = 1591957867, .nsec = 123456789}), "2020-06-12T10:31:07.123Z");
    EXPECT_EQ(text::utc_time({.sec = 1591957867, .nsec = 123456789}, 6),
              "2020-06-12T10:31:07.123456Z");
    EXPECT_EQ(text::utc_time({.sec = 0, .nsec = 0}, 0), "1970-01-01T00:00:00Z");
}

TEST(TextReport, WrapKeepsEveryLineWithinTheWidth) {
    const std::string long_text(40, 'x');
    std::string words;
    for (int i = 0; i < 20; ++i) {
        words += long_text.substr(0, static_cast<std::size_t>(7 + i % 11)) + " ";
    }
    std::istringstream lines(text::wrap(words, "  ", "    "));
    for (std::string l; std::getline(lines, l);) {
        EXPECT_LE(l.size(), text::kWidth) << l;
    }
}

TEST(TextReport, EveryGoldenTextReportFitsIn100Columns) {
    namespace fs = std::filesystem;
    std::size_t files = 0;
    for (const auto& entry :
         fs::directory_iterator(fs::path(vxcheck::test::source_dir()) / "tests/golden")) {
        const std::string name = entry.path().filename().string();
        if (entry.path().extension() != ".txt" || name == "cases.txt") {
            continue;  // cases.txt is the list of cases, not a report
        }
        ++files;
        std::ifstream in(entry.path());
        std::size_t n = 0;
        for (std::string l; std::getline(in, l);) {
            ++n;
            EXPECT_LE(l.size(), text::kWidth) << name << ":" << n << ": " << l;
        }
    }
    EXPECT_GT(files, 10U);
}

}  // namespace
}  // namespace vxcheck::report

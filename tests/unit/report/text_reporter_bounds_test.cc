// The text report keeps only the rows it can show (--max-rows): a finding's row is ~350 bytes,
// and a flood of findings must not grow the report's memory (issue 22 item 4). What it does not
// keep it counts, and says where the rest is (--json).

#include <gtest/gtest.h>
#include <malloc.h>

#include <sstream>
#include <string>
#include <vector>

#include "vxcheck/report/reporter.h"

namespace vxcheck::report {
namespace {

analyze::ConnectionReport finding(std::uint32_t n) {
    analyze::ConnectionReport c;
    c.client = track::ipv4_endpoint(0x0af40000U + n, static_cast<std::uint16_t>(1024 + n % 60000));
    c.server = track::ipv4_endpoint(0x0af40101U, 2049);
    c.verdicts = {analyze::Verdict::SynDropped};
    c.outcome = analyze::Outcome::Dropped;
    c.syns = 3;
    return c;
}

std::size_t heap_in_use() {
    return mallinfo2().uordblks;
}

TEST(TextReportBounds, FindingRowsBeyondMaxRowsAreCountedNotKept) {
    std::ostringstream out;
    auto reporter = make_text_reporter(out, {.max_rows = 3});
    const std::vector<std::string> points{"p"};
    constexpr std::uint32_t kFindings = 20000;
    std::vector<analyze::ConnectionReport> reports;
    for (std::uint32_t n = 0; n < kFindings; ++n) {
        reports.push_back(finding(n));
    }
    const std::size_t before = heap_in_use();
    for (const auto& c : reports) {
        reporter->connection(c, points);
    }
    // A row each would be several megabytes; three rows and three findings are a few kilobytes.
    EXPECT_LT(heap_in_use() - before, std::size_t{256} << 10);
    ConnectionTotals ct;
    ct.ports = "2049";
    ct.connections = kFindings;
    ct.with_findings = kFindings;
    Summary total;
    total.frames_read = 1;
    reporter->finish(total, 1, ct);
    const std::string text = out.str();
    EXPECT_NE(text.find("... 19997 more (19997 of them need attention"), std::string::npos) << text;
    EXPECT_NE(text.find("(19997 more connections with this diagnosis: see --json)"),
              std::string::npos)
        << text;
}

}  // namespace
}  // namespace vxcheck::report

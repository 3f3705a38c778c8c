// JSON schema v1 (report/json_records.h): the rules each record follows, pinned on records built
// from typed facts: times in RFC 3339 UTC with their epoch twins, addresses split, the Community
// ID of the connection, reasons as codes with numbers, cut lists with their totals, and a
// `type` and `schema_version` on every record the reporter writes.

#include "report/json_records.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "vxcheck/report/reporter.h"
#include "vxcheck/track/community_id.h"

namespace vxcheck::report {
namespace {

using Json = nlohmann::json;

analyze::ConnectionReport double_snat_connection() {
    analyze::ConnectionReport c;
    c.client = track::ipv4_endpoint(0x0af40100, 612);   // 10.244.1.0:612
    c.server = track::ipv4_endpoint(0x0af40205, 2049);  // 10.244.2.5:2049
    c.verdicts = {analyze::Verdict::InnerSnat, analyze::Verdict::OuterSnat,
                  analyze::Verdict::DoubleSnat};
    c.outcome = analyze::Outcome::Dropped;
    c.syns = 20;  // more than the list keeps
    c.syn_offsets_s = {0, 1, 3};
    c.inner_snat = {.kind = analyze::InnerSnatReason::Kind::MasqueradePrivilegedPort, .port = 612};
    c.outer_snat = {
        .kind = analyze::OuterSnatReason::Kind::VariantB, .port = 6648, .pre_nat_port = 42000};
    analyze::CorruptedOuter bad;
    bad.variant = analyze::CorruptionVariant::B;
    bad.sport = 6648;
    c.corrupted.push_back(bad);
    c.corrupted_total = 9;
    c.points = {"node-a-eth0"};
    c.first_ts = {.sec = 1700000000, .nsec = 20000};
    c.last_ts = {.sec = 1700000063, .nsec = 500000000};
    return c;
}

TEST(JsonRecords, TimesAreRfc3339UtcWithNanosecondsAndEpochSecondsBeside) {
    EXPECT_EQ(json::rfc3339({.sec = 1700000000, .nsec = 20000}), "2023-11-14T22:13:20.000020000Z");
    EXPECT_EQ(json::rfc3339({.sec = 0, .nsec = 0}), "1970-01-01T00:00:00.000000000Z");
    const auto j = json::connection_record(double_snat_connection(), {"node-a-eth0"});
    EXPECT_EQ(j["first_seen"], "2023-11-14T22:13:20.000020000Z");
    EXPECT_DOUBLE_EQ(j["first_seen_epoch_s"].get<double>(), 1700000000.00002);
    EXPECT_EQ(j["last_seen"], "2023-11-14T22:14:23.500000000Z");
    EXPECT_DOUBLE_EQ(j["duration_s"].get<double>(), 63.49998);
}

TEST(JsonRecords, ConnectionHasItsAddressesSplitAndTheCommunityIdOfItsTcpFlow) {
    const auto j = json::connection_record(double_snat_connection(), {"node-a-eth0"});
    EXPECT_EQ(j["client"], "10.244.1.0:612");
    EXPECT_EQ(j["client_ip"], "10.244.1.0");
    EXPECT_EQ(j["client_port"], 612);
    EXPECT_EQ(j["server_ip"], "10.244.2.5");
    EXPECT_EQ(j["server_port"], 2049);
    const auto c = double_snat_connection();
    EXPECT_EQ(j["community_id"], track::community_id(c.server, c.client, track::kProtoTcp));
    EXPECT_EQ(j["community_id"].get<std::string>().rfind("1:", 0), 0U);
}

TEST(JsonRecords, NatReasonsAreCodesWithTheirNumbersAndProseOnlyInExplanation) {
    const auto j = json::connection_record(double_snat_connection(), {"node-a-eth0"});
    EXPECT_EQ(j["inner_snat"]["code"], "masquerade_privileged_port");
    EXPECT_EQ(j["inner_snat"]["port"], 612);
    EXPECT_EQ(j["outer_snat"]["code"], "checksum_variant_b");
    EXPECT_EQ(j["outer_snat"]["port"], 6648);
    EXPECT_EQ(j["outer_snat"]["pre_nat_port"], 42000);
    EXPECT_TRUE(j["outer_snat"]["explanation"].is_string());
    EXPECT_FALSE(j["outer_snat"].contains("range_min"));  // only port_out_of_range has a range
}

TEST(JsonRecords, CutListsCarryTheirTotals) {
    const auto j = json::connection_record(double_snat_connection(), {"node-a-eth0"});
    EXPECT_EQ(j["syn_offsets_s"].size(), 3U);
    EXPECT_EQ(j["syn_offsets_s_total"], 20);
    EXPECT_EQ(j["corrupted_outer"].size(), 1U);
    EXPECT_EQ(j["corrupted_outer_total"], 9);
    EXPECT_EQ(j["corrupted_outer"][0]["point"], "node-a-eth0");
}

TEST(JsonRecords, EveryRecordHasItsTypeAndSchemaVersionAndTotalsListPortsAsNumbers) {
    std::ostringstream out;
    auto r = make_json_reporter(out);
    Summary s;
    s.file = "pcaps/node-a-eth0.pcap";
    s.point = "node-a-eth0";
    r->end_file(s);
    auto c = double_snat_connection();
    r->connection(c, {"node-a-eth0"});
    c.decided_at = {.sec = 1700000070, .nsec = 0};
    r->event(c, {"node-a-eth0"});
    ConnectionTotals t;
    t.port_list = {2049, 111};
    r->finish(s, 2, t);
    std::istringstream lines(out.str());
    std::vector<Json> records;
    for (std::string l; std::getline(lines, l);) {
        records.push_back(Json::parse(l));
    }
    ASSERT_EQ(records.size(), 5U);
    for (const auto& rec : records) {
        EXPECT_EQ(rec["schema_version"], json::kSchemaVersion) << rec["type"];
    }
    EXPECT_EQ(records[0]["type"], "summary");
    EXPECT_EQ(records[0]["point"], "node-a-eth0");
    EXPECT_EQ(records[2]["type"], "verdict");
    EXPECT_EQ(records[2]["decided_at"], "2023-11-14T22:14:30.000000000Z");
    EXPECT_EQ(records[3]["scope"], "total");
    EXPECT_EQ(records[4]["type"], "connections");
    EXPECT_EQ(records[4]["ports"], Json::array({2049, 111}));
    EXPECT_EQ(records[4]["all_ports"], false);
}

}  // namespace
}  // namespace vxcheck::report

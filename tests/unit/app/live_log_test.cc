// What `capture` writes to stderr (live_log.h): with --json the status and the log lines are JSON
// objects of their own type, so that stdout and stderr together are JSON Lines.

#include "app/live_log.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace vxcheck::app {
namespace {

StatusFacts facts() {
    StatusFacts s{.now = Timestamp{.sec = 1700000000, .nsec = 250000000},
                  .elapsed_s = 3,
                  .frames = 84,
                  .interfaces = {},
                  .tracked_connections = 5,
                  .verdicts = {}};
    s.interfaces.push_back({.name = "flannel.1", .frames = 42, .kernel_drops = 0, .up = true});
    s.interfaces.push_back({.name = "eth0", .frames = 42, .kernel_drops = 7, .up = false});
    s.verdicts[static_cast<std::size_t>(analyze::Verdict::SynDropped)] = 1;
    s.verdicts[static_cast<std::size_t>(analyze::Verdict::Clean)] = 4;
    return s;
}

TEST(LiveLog, TimestampsAreRfc3339Utc) {
    EXPECT_EQ(rfc3339_utc(Timestamp{.sec = 0, .nsec = 0}), "1970-01-01T00:00:00.000000Z");
    EXPECT_EQ(rfc3339_utc(Timestamp{.sec = 1700000000, .nsec = 123456789}),
              "2023-11-14T22:13:20.123456Z");
}

TEST(LiveLog, StatusWithJsonIsOneObjectOfTypeStatusOnOneLine) {
    const std::string line = status_json(facts());
    ASSERT_EQ(line.back(), '\n');
    EXPECT_EQ(line.find('\n'), line.size() - 1);
    const auto j = nlohmann::json::parse(line);
    EXPECT_EQ(j["type"], "status");
    EXPECT_EQ(j["timestamp"], "2023-11-14T22:13:20.250000Z");
    EXPECT_EQ(j["frames"], 84);
    EXPECT_EQ(j["kernel_drops"], 7);
    EXPECT_EQ(j["tracked_connections"], 5);
    ASSERT_EQ(j["interfaces"].size(), 2U);
    EXPECT_EQ(j["interfaces"][1]["interface"], "eth0");
    EXPECT_EQ(j["interfaces"][1]["up"], false);
    EXPECT_EQ(j["interfaces"][1]["kernel_drops"], 7);
    // Every verdict is a key (zeros too): the record has one shape.
    EXPECT_EQ(j["verdicts"]["syn_dropped"], 1);
    EXPECT_EQ(j["verdicts"]["clean"], 4);
    EXPECT_EQ(j["verdicts"]["double_snat"], 0);
    EXPECT_EQ(j["verdicts"].size(), analyze::kVerdictCount);
}

TEST(LiveLog, StatusForATerminalIsOneLineWithTheFindingsOnly) {
    EXPECT_EQ(status_text(facts()),
              "vxcheck: 3 s | 84 frames (flannel.1 42, eth0 42 (down)) | 7 kernel drops | 5 "
              "tracked connections | verdicts: syn_dropped 1\n");
}

TEST(LiveLog, LogLinesWithJsonAreObjectsOfTypeLogWithTheMessageEscaped) {
    const std::string line = log_json(Timestamp{.sec = 1700000000, .nsec = 0}, "warning",
                                      "capturing on eth0 (filter: tcp port 2049 or \"q\"\tx)\n");
    ASSERT_FALSE(line.empty());
    EXPECT_EQ(line.find('\n'), line.size() - 1) << line;
    const auto j = nlohmann::json::parse(line);
    EXPECT_EQ(j["type"], "log");
    EXPECT_EQ(j["timestamp"], "2023-11-14T22:13:20.000000Z");
    EXPECT_EQ(j["level"], "warning");
    EXPECT_EQ(j["message"], "capturing on eth0 (filter: tcp port 2049 or \"q\"\tx)\n");
}

TEST(LiveLog, BytesThatAreNotUtf8AreReplacedNotThrownOver) {
    const std::string line = log_json(Timestamp{}, "error",
                                      "eth\xff"
                                      "0: no such device");
    const auto j = nlohmann::json::parse(line);
    EXPECT_EQ(j["message"],
              "eth\xef\xbf\xbd"
              "0: no such device");
}

}  // namespace
}  // namespace vxcheck::app

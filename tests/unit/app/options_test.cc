// Options are validated where they are parsed: a number that is not one (nan, inf), a negative
// count (which Boost would wrap around to the largest unsigned value), a count out of its range,
// an interface given twice: each one line naming the option and its value (UsageError, exit 2).
// --buffer-size becomes bytes in 64 bits, at most what the kernel gives.

#include "vxcheck/app/options.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace vxcheck::app {
namespace {

Command parse(std::vector<std::string> args) {
    return parse_command_line(args, false);
}

CaptureConfig capture(std::vector<std::string> extra) {
    std::vector<std::string> args{"capture", "-i", "lo"};
    args.insert(args.end(), extra.begin(), extra.end());
    const Command command = parse(args);
    const auto* cfg = std::get_if<CaptureConfig>(&command);
    EXPECT_NE(cfg, nullptr);
    return cfg != nullptr ? *cfg : CaptureConfig{};
}

// The UsageError's message for `args`, or "" if they parse.
std::string refusal(std::vector<std::string> args) {
    try {
        (void)parse(std::move(args));
    } catch (const UsageError& e) {
        return e.what();
    }
    return "";
}

std::vector<std::string> analyze(std::vector<std::string> extra) {
    extra.insert(extra.begin(), "analyze");
    extra.emplace_back("x.pcap");
    return extra;
}

std::vector<std::string> capture_args(std::vector<std::string> extra) {
    extra.insert(extra.begin(), {"capture", "-i", "lo"});
    return extra;
}

TEST(OptionValidation, DurationThatIsNotAFiniteNonNegativeNumberIsRefused) {
    for (const char* bad : {"nan", "inf", "-inf", "-1", "1e400", "5s", ""}) {
        const std::string why = refusal(capture_args({"--duration", bad}));
        EXPECT_NE(why.find("--duration " + std::string(bad) + ": expected a number of seconds"),
                  std::string::npos)
            << bad << ": " << why;
    }
    EXPECT_DOUBLE_EQ(capture({"--duration", "2.5"}).duration_s, 2.5);
    EXPECT_DOUBLE_EQ(capture({"--duration", "0"}).duration_s, 0.0);
}

TEST(OptionValidation, StatusIntervalAndRpcTimeoutRefuseNanAndInf) {
    EXPECT_NE(refusal(capture_args({"--status-interval", "nan"})), "");
    EXPECT_NE(refusal(capture_args({"--status-interval=-3"})), "");
    EXPECT_NE(refusal(analyze({"--rpc-unanswered-after", "inf"})), "");
    EXPECT_NE(refusal(analyze({"--rpc-unanswered-after", "0"})), "");
}

TEST(OptionValidation, NegativeCountsAreRefusedNotWrappedAround) {
    EXPECT_NE(refusal(analyze({"--max-flows=-1"})).find("--max-flows -1: expected a whole number"),
              std::string::npos);
    EXPECT_NE(refusal(capture_args({"--count=-5"})).find("--count -5: expected a whole number"),
              std::string::npos);
    EXPECT_NE(refusal(analyze({"--threads", "0"})).find("--threads 0: expected a whole number"),
              std::string::npos);
    EXPECT_NE(refusal(analyze({"--threads=-1"})), "");
    EXPECT_NE(refusal(analyze({"--idle-timeout=-1"})), "");
    EXPECT_NE(refusal(analyze({"--max-rows=-1"})), "");
    EXPECT_NE(refusal(analyze({"--port=-1"})).find("--port -1: not a TCP port"), std::string::npos);
    EXPECT_NE(refusal({"bench", "--repeat=-1", "x.pcap"}), "");
    EXPECT_NE(refusal(capture_args({"--snaplen=-1"})), "");
}

TEST(OptionValidation, AbsurdCountsAreRefused) {
    EXPECT_NE(refusal(analyze({"--max-flows", "100000001"})), "");
    EXPECT_NE(refusal(analyze({"--max-flows", "0"})), "");
    EXPECT_NE(refusal(analyze({"--max-flows", "99999999999999999999999"})), "");
    EXPECT_NE(refusal(analyze({"--threads", "65"})), "");
    EXPECT_NE(refusal(analyze({"--idle-timeout", "0"})), "");
    EXPECT_EQ(refusal(analyze({"--max-flows", "100000000"})), "");
    EXPECT_EQ(capture({"--count", "7"}).count, 7U);
}

TEST(OptionValidation, InterfaceGivenTwiceIsRefused) {
    EXPECT_EQ(refusal({"capture", "-i", "lo", "-i", "lo"}), "-i lo: interface given twice");
    EXPECT_EQ(refusal({"capture", "-i", "lo", "--interface", "eth0", "-i", "lo"}),
              "-i lo: interface given twice");
    EXPECT_EQ(capture({"-i", "eth0"}).interfaces, (std::vector<std::string>{"lo", "eth0"}));
}

TEST(OptionValidation, BufferSizeIsBytesIn64BitsCappedAtTheKernelsLimit) {
    // 2048 MiB and up used to overflow (a 32-bit shift, then the int of SO_RCVBUF) into the
    // kernel's minimum buffer of 2,304 bytes.
    for (const char* bad : {"1024", "2048", "4096", "0", "-1"}) {
        EXPECT_NE(refusal(capture_args({"--buffer-size", bad})).find("--buffer-size"),
                  std::string::npos)
            << bad;
    }
    EXPECT_EQ(capture({"--buffer-size", "1023"}).buffer_bytes, 1023U << 20);
    EXPECT_EQ(capture({}).buffer_bytes, 32U << 20);
}

TEST(OptionValidation, FileModeIsOctalPermissionBits) {
    EXPECT_EQ(capture({}).file_mode, 0600U);
    EXPECT_EQ(capture({"--file-mode", "0640"}).file_mode, 0640U);
    EXPECT_EQ(capture({"--file-mode", "644"}).file_mode, 0644U);
    for (const char* bad : {"0800", "4755", "rw-r-----", "-1", ""}) {
        EXPECT_NE(refusal(analyze({"--file-mode", bad})).find("--file-mode"), std::string::npos)
            << bad;
    }
}

}  // namespace
}  // namespace vxcheck::app

// `bench` does the work `analyze` does: its full pass (frames held in memory, through the batch
// pipeline into the one FrameConsumer) gives the report `analyze` gives for the same file, the
// connections decided early (evicted, idle) drained at the same places among the packet lines.

#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include "app/bench.h"
#include "capture_files.h"
#include "source_dir.h"
#include "vxcheck/app/options.h"
#include "vxcheck/app/pipeline.h"
#include "vxcheck/capture/source.h"
#include "vxcheck/report/reporter.h"

namespace vxcheck::app {
namespace {

namespace fs = std::filesystem;

AnalyzeConfig analyze_config(std::vector<std::string> args) {
    args.insert(args.begin(), "analyze");
    const Command command = parse_command_line(args, false);
    const auto* cfg = std::get_if<AnalyzeConfig>(&command);
    EXPECT_NE(cfg, nullptr);
    return cfg != nullptr ? *cfg : AnalyzeConfig{};
}

// Every frame of a capture, in memory, as `bench` holds it.
struct InMemory {
    std::vector<std::uint8_t> bytes;
    std::vector<RawFrame> frames;
    std::string link_name;
};

InMemory load(const std::string& path) {
    InMemory m;
    auto source = capture::open_file(path);
    m.link_name = source->link_name();
    m.bytes.reserve(fs::file_size(path));  // no reallocation: the frames point into it
    RawFrame f;
    while (source->next(f) == capture::ReadStatus::Frame) {
        const std::size_t at = m.bytes.size();
        m.bytes.insert(m.bytes.end(), f.data.begin(), f.data.end());
        f.data = Bytes{m.bytes.data() + at, f.data.size()};
        m.frames.push_back(f);
    }
    return m;
}

// The first line of `report` whose type is `type`, 0-based; -1 if none.
long first_line_of_type(const std::string& report, const std::string& type) {
    std::istringstream in(report);
    long n = 0;
    for (std::string line; std::getline(in, line); ++n) {
        if (line.find("\"type\":\"" + type + "\"") != std::string::npos) {
            return n;
        }
    }
    return -1;
}

class BenchAndAnalyze : public ::testing::Test {
  protected:
    void SetUp() override {
        fs::current_path(vxcheck::test::source_dir());
        dir_ = fs::temp_directory_path() /
               ("vxcheck-consumer-test-" +
                std::to_string(::testing::UnitTest::GetInstance()->random_seed()) + "-" +
                std::to_string(reinterpret_cast<std::uintptr_t>(this)));
        fs::create_directories(dir_);
    }
    void TearDown() override { fs::remove_all(dir_); }

    fs::path dir_;
};

// More than 65,536 frames (the drain interval), a few connections that come back every round,
// and a table of two flows: connections are evicted and drained while the file is read.
TEST_F(BenchAndAnalyze, BenchDrainsDecidedConnectionsAndReportsAsAnalyzeDoes) {
    std::vector<test_captures::Frame> round =
        test_captures::frames_of("pcaps/scenario-rst-icmp-silent.pcap");
    const auto b = test_captures::frames_of("pcaps/scenario-variant-b.pcap");
    round.insert(round.end(), b.begin(), b.end());
    const int rounds = static_cast<int>(70000 / round.size()) + 1;
    const std::string file = (dir_ / "many.pcap").string();
    test_captures::write_pcap(file, test_captures::repeated(round, rounds));

    const AnalyzeConfig cfg = analyze_config({"--json", "--max-flows", "2", file});
    std::ostringstream analyzed;
    const ExitCode code = run_analyze(cfg, analyzed);
    EXPECT_NE(code, ExitCode::Error);
    // Connections were drained before the file's summary: the drain is part of the work.
    const long first_connection = first_line_of_type(analyzed.str(), "connection");
    const long summary = first_line_of_type(analyzed.str(), "summary");
    ASSERT_GE(first_connection, 0);
    EXPECT_LT(first_connection, summary);

    const InMemory capture = load(file);
    ASSERT_GT(capture.frames.size(), 65536U);
    for (const unsigned threads : {1U, 2U}) {
        SCOPED_TRACE(threads);
        std::ostringstream benched;
        auto reporter = report::make_json_reporter(benched);
        FrameConsumer consumer(cfg.connections, *reporter, cfg.packets);
        BatchPipeline pipeline(cfg.decode, threads);
        const report::ConnectionTotals totals =
            analyse_in_memory(capture.frames, file, capture.link_name, pipeline, consumer);
        EXPECT_GT(totals.connections, 2U);
        EXPECT_EQ(outcome(consumer.total(), totals), code);
        EXPECT_EQ(benched.str(), analyzed.str());
    }
}

}  // namespace
}  // namespace vxcheck::app

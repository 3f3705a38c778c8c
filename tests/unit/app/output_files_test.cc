// What a run writes is checked before it reads: an output that is an input (by name or by
// inode), another output, standard output or "-" is refused, an output that cannot be created
// ends the run before any report is written, and the report's stream keeps its write errors
// (a full disk, a reader gone) for the exit code.

#include "app/output_files.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <stdexcept>
#include <string>

#include "source_dir.h"
#include "vxcheck/app/config.h"
#include "vxcheck/app/options.h"
#include "vxcheck/app/pipeline.h"

namespace vxcheck::app {
namespace {

namespace fs = std::filesystem;

class OutputFiles : public ::testing::Test {
  protected:
    void SetUp() override {
        dir_ = fs::temp_directory_path() / ("vxcheck-outputs-" + std::to_string(::getpid()));
        fs::create_directories(dir_);
        input_ = at("in.pcap");
        fs::copy_file(
            fs::path(vxcheck::test::source_dir()) / "pcaps" / "scenario-63s-variant-a.pcap",
            input_);
    }
    void TearDown() override { fs::remove_all(dir_); }

    std::string at(const std::string& name) const { return (dir_ / name).string(); }

    static std::string content(const std::string& path) {
        std::ifstream in(path, std::ios::binary);
        return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    }

    // The message check_files() refuses `files` with, or "".
    static std::string refusal(const RunFiles& files, int report_fd = -1) {
        try {
            check_files(files, report_fd);
        } catch (const std::runtime_error& e) {
            return e.what();
        }
        return "";
    }

    RunFiles evidence_to(const std::string& path) const {
        return RunFiles{{input_}, {{"--evidence", path}}};
    }

    fs::path dir_;
    std::string input_;
};

TEST_F(OutputFiles, OutputThatIsAnInputIsRefused) {
    EXPECT_NE(refusal(evidence_to(input_)).find("--evidence " + input_ + ": is the input"),
              std::string::npos);
    // The same file by another name: another spelling, a hard link, a symlink.
    EXPECT_NE(refusal(evidence_to((dir_ / "." / "in.pcap").string())), "");
    fs::create_hard_link(input_, at("hard.pcap"));
    EXPECT_NE(refusal(evidence_to(at("hard.pcap"))), "");
    fs::create_symlink(input_, at("soft.pcap"));
    EXPECT_NE(refusal(evidence_to(at("soft.pcap"))), "");
    EXPECT_EQ(refusal(evidence_to(at("new.pcapng"))), "");
}

TEST_F(OutputFiles, OutputThatIsAnotherOutputIsRefused) {
    const RunFiles files{{}, {{"--write", at("x.pcapng")}, {"--evidence", at("./x.pcapng")}}};
    EXPECT_NE(refusal(files).find("is also the --write file"), std::string::npos);
}

TEST_F(OutputFiles, DashIsRefusedAsAnOutput) {
    EXPECT_NE(refusal(evidence_to("-")).find("standard output carries the report"),
              std::string::npos);
}

TEST_F(OutputFiles, ReportFileThatIsAnInputOrOutputIsRefused) {
    const int to_input = ::open(input_.c_str(), O_WRONLY | O_APPEND);
    ASSERT_GE(to_input, 0);
    EXPECT_NE(refusal(evidence_to(at("e.pcapng")), to_input).find("standard output is the input"),
              std::string::npos);
    ::close(to_input);
    const int to_output = ::open(at("e.pcapng").c_str(), O_WRONLY | O_CREAT, 0600);
    ASSERT_GE(to_output, 0);
    EXPECT_NE(refusal(evidence_to(at("e.pcapng")), to_output).find("is standard output"),
              std::string::npos);
    ::close(to_output);
}

AnalyzeConfig analyze_config(std::vector<std::string> args) {
    args.insert(args.begin(), "analyze");
    const Command command = parse_command_line(args, false);
    return std::get<AnalyzeConfig>(command);
}

TEST_F(OutputFiles, EvidenceOverTheInputLeavesTheInputWhole) {
    const std::string before = content(input_);
    const AnalyzeConfig cfg = analyze_config({"--evidence", input_, input_});
    std::ostringstream out;
    EXPECT_THROW(run_analyze(cfg, out), std::runtime_error);
    EXPECT_EQ(content(input_), before);
}

TEST_F(OutputFiles, EvidenceThatCannotBeCreatedEndsTheRunBeforeTheReport) {
    const AnalyzeConfig cfg = analyze_config({"--evidence", at("no/dir/e.pcapng"), input_});
    std::ostringstream out;
    EXPECT_THROW(run_analyze(cfg, out), std::runtime_error);
    EXPECT_EQ(out.str(), "");  // nothing read, nothing reported
}

TEST_F(OutputFiles, EvidenceIsCreatedWithTheFileMode) {
    const AnalyzeConfig cfg = analyze_config({"--evidence", at("e.pcapng"), input_});
    std::ostringstream out;
    EXPECT_EQ(run_analyze(cfg, out), ExitCode::Findings);
    EXPECT_EQ(fs::status(at("e.pcapng")).permissions(),
              fs::perms::owner_read | fs::perms::owner_write);
    EXPECT_GT(fs::file_size(at("e.pcapng")), 1000U);
}

TEST(ReportStream, FullDeviceIsAnError) {
    const int fd = ::open("/dev/full", O_WRONLY);
    if (fd < 0) {
        GTEST_SKIP() << "no /dev/full";
    }
    ReportStream report(fd);
    report.stream() << "a report\n";
    EXPECT_EQ(report.finish(), "No space left on device");
    ::close(fd);
}

TEST(ReportStream, ReaderGoneIsAnError) {
    int fds[2];
    ASSERT_EQ(::pipe(fds), 0);
    ::close(fds[0]);
    const auto old = std::signal(SIGPIPE, SIG_IGN);  // as main() does
    ReportStream report(fds[1]);
    report.stream() << "a report\n";
    EXPECT_EQ(report.finish(), "Broken pipe");
    std::signal(SIGPIPE, old);
    ::close(fds[1]);
}

TEST_F(OutputFiles, ReportStreamWritesEveryByte) {
    const int fd = ::open(at("report.txt").c_str(), O_WRONLY | O_CREAT | O_EXCL, 0600);
    ASSERT_GE(fd, 0);
    std::string expected;
    {
        ReportStream report(fd);
        for (int i = 0; i < 20000; ++i) {
            report.stream() << "row " << i << '\n';
            expected += "row " + std::to_string(i) + "\n";
        }
        EXPECT_EQ(report.finish(), "");
    }
    ::close(fd);
    EXPECT_EQ(content(at("report.txt")), expected);
}

}  // namespace
}  // namespace vxcheck::app

// `analyze` in batches (on 1, 2 or 3 threads) prints exactly what it prints one frame at a time
// (AnalyzeConfig::frame_at_a_time, the simplest loop), with the same exit code: on every
// shipped capture (text and JSON, all packets listed), on the golden cases (several files at once
// among them), on bad input, and on long captures that take many batches through the pipeline,
// read in blocks (classic pcap, straight into the batches) and copied (pcapng), with connections
// evicted early (--max-flows) so that the order of decisions matters.

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "capture_files.h"
#include "source_dir.h"
#include "vxcheck/app/options.h"
#include "vxcheck/app/pipeline.h"
#include "vxcheck/capture/source.h"

namespace vxcheck::app {
namespace {

namespace fs = std::filesystem;

struct Report {
    std::string out;
    int code = 0;
};

// Runs `vxcheck analyze ARGS --threads THREADS` through the real command-line parser; threads 0:
// one thread, one frame at a time.
Report analyze(std::vector<std::string> args, unsigned threads) {
    args.insert(args.begin(), "analyze");
    args.push_back("--threads");
    args.push_back(std::to_string(std::max(threads, 1U)));
    const Command command = parse_command_line(args, false);
    const auto* parsed = std::get_if<AnalyzeConfig>(&command);
    if (parsed == nullptr) {
        ADD_FAILURE() << "not an analyze command";
        return {};
    }
    AnalyzeConfig cfg = *parsed;
    cfg.frame_at_a_time = threads == 0;
    std::ostringstream out;
    const ExitCode code = run_analyze(cfg, out);
    return {out.str(), static_cast<int>(code)};
}

void expect_same_for_threads(const std::vector<std::string>& args) {
    const Report one = analyze(args, 0);
    for (const unsigned threads : {1U, 2U, 3U}) {
        const Report many = analyze(args, threads);
        EXPECT_EQ(many.code, one.code) << "--threads " << threads;
        if (many.out != one.out) {
            // Point at the first differing line rather than dumping both reports.
            std::istringstream a(one.out);
            std::istringstream b(many.out);
            std::string la;
            std::string lb;
            for (int line = 1; std::getline(a, la) || std::getline(b, lb); ++line) {
                std::getline(b, lb);
                if (la != lb) {
                    ADD_FAILURE() << "--threads " << threads << " differs at line " << line
                                  << "\n  frame at a time: " << la << "\n  " << threads
                                  << " threads: " << lb;
                    break;
                }
            }
        }
    }
}

class InRepo : public ::testing::Test {
  protected:
    void SetUp() override { fs::current_path(vxcheck::test::source_dir()); }
};

std::vector<std::string> shipped_captures() {
    std::vector<std::string> files;
    for (const char* dir : {"pcaps", "pcaps/bad", "pcaps/reassembly"}) {
        for (const auto& e : fs::directory_iterator(dir)) {
            if (e.is_regular_file()) {
                files.push_back(e.path().generic_string());
            }
        }
    }
    std::sort(files.begin(), files.end());
    return files;
}

TEST_F(InRepo, EveryShippedCaptureGivesTheSameReport) {
    const auto files = shipped_captures();
    ASSERT_GT(files.size(), 20U);
    for (const std::string& f : files) {
        SCOPED_TRACE(f);
        expect_same_for_threads({"--json", "--packets", "all", f});
        expect_same_for_threads({f});
        expect_same_for_threads({"--all-ports", "--packets", "bad", f});
    }
}

TEST_F(InRepo, EveryGoldenCaseGivesTheSameReport) {
    std::ifstream in("tests/golden/cases.txt");
    ASSERT_TRUE(in);
    int cases = 0;
    for (std::string line; std::getline(in, line);) {
        if (line.empty() || line[0] == '#') {
            continue;
        }
        std::istringstream words(line);
        std::string name;
        std::string command;
        words >> name >> command;
        ASSERT_EQ(command, "analyze") << line;
        std::vector<std::string> args;
        for (std::string w; words >> w;) {
            args.push_back(w);
        }
        SCOPED_TRACE(name);
        expect_same_for_threads(args);
        ++cases;
    }
    EXPECT_GT(cases, 20);
}

TEST_F(InRepo, SeveralFilesAndMissingOnesGiveTheSameReport) {
    expect_same_for_threads({"pcaps/vxlan-clean.pcap", "/nonexistent/x.pcap",
                             "pcaps/bad/truncated-record.pcap", "pcaps/scenario-variant-b.pcap"});
    expect_same_for_threads({"--json", "pcaps/scenario-63s-variant-a.pcap",
                             "pcaps/pcapng-two-blocks.pcapng",
                             "pcaps/scenario-63s-variant-a.pcap"});
}

// --- long captures ---------------------------------------------------------------------------

using test_captures::Frame;
using test_captures::frames_of;
using test_captures::repeated;
using test_captures::write_pcap;
using test_captures::write_pcapng;

class LongCapture : public InRepo {
  protected:
    void SetUp() override {
        InRepo::SetUp();
        dir_ = fs::temp_directory_path() /
               ("vxcheck-parallel-test-" + std::to_string(::getpid()) + "-" +
                std::to_string(::testing::UnitTest::GetInstance()->random_seed()) + "-" +
                std::to_string(reinterpret_cast<std::uintptr_t>(this)));
        fs::create_directories(dir_);
        std::vector<Frame> mix = frames_of("pcaps/scenario-63s-variant-a.pcap");
        for (const char* f :
             {"pcaps/vxlan-nat-variants.pcap", "pcaps/scenario-rst-icmp-silent.pcap",
              "pcaps/scenario-offload-noise.pcap", "pcaps/big-tcp.pcap"}) {
            const auto more = frames_of(f);
            mix.insert(mix.end(), more.begin(), more.end());
        }
        std::stable_sort(mix.begin(), mix.end(), [](const Frame& a, const Frame& b) {
            return a.ts.sec != b.ts.sec ? a.ts.sec < b.ts.sec : a.ts.nsec < b.ts.nsec;
        });
        frames_ = repeated(mix, 80);
        write_pcap((dir_ / "long.pcap").string(), frames_);
        write_pcapng((dir_ / "long.pcapng").string(), frames_);
    }
    void TearDown() override { fs::remove_all(dir_); }

    fs::path dir_;
    std::vector<Frame> frames_;
};

TEST_F(LongCapture, ManyBatchesInBlocksAndCopiedGiveTheSameReport) {
    ASSERT_GT(frames_.size(), 3000U);  // dozens of batches
    const std::string pcap = (dir_ / "long.pcap").string();
    const std::string pcapng = (dir_ / "long.pcapng").string();
    // The two files hold the same frames: the same report but for the file names.
    const Report a = analyze({"--json", "--packets", "bad", pcap}, 1);
    const Report b = analyze({"--json", "--packets", "bad", pcapng}, 1);
    EXPECT_GT(a.out.size(), 1000U);
    EXPECT_EQ(a.code, b.code);
    for (const auto& args : std::vector<std::vector<std::string>>{
             {"--json", "--packets", "all", pcap},
             {"--json", "--packets", "all", pcapng},
             {"--all-ports", pcap, pcapng},
             // Connections evicted early: the order of decisions shows in the report.
             {"--json", "--all-ports", "--max-flows", "3", pcap},
             {"--max-flows", "2", "--idle-timeout", "5", pcapng}}) {
        SCOPED_TRACE(args.back());
        expect_same_for_threads(args);
    }
}

// Several files are read as one timeline, merged by time: a capture split in two, its frames
// alternating between the files (frames of equal times in the same one: ties go by the order on
// the command line), gives the same report in either order, on 1 to 3 threads.
TEST_F(LongCapture, TwoFilesInEitherOrderGiveTheSameReport) {
    std::vector<Frame> sorted = frames_;
    std::stable_sort(sorted.begin(), sorted.end(),
                     [](const Frame& a, const Frame& b) { return a.ts < b.ts; });
    std::vector<Frame> halves[2];
    std::size_t half = 0;
    for (std::size_t i = 0; i < sorted.size(); ++i) {
        if (i != 0 && sorted[i].ts != sorted[i - 1].ts) {
            half ^= 1U;
        }
        halves[half].push_back(sorted[i]);
    }
    ASSERT_GT(halves[0].size(), 1000U);
    ASSERT_GT(halves[1].size(), 1000U);
    const std::string a = (dir_ / "half-a.pcap").string();
    const std::string b = (dir_ / "half-b.pcapng").string();
    write_pcap(a, halves[0]);
    write_pcapng(b, halves[1]);
    const Report ab = analyze({"--json", "--packets", "all", a, b}, 1);
    const Report ba = analyze({"--json", "--packets", "all", b, a}, 1);
    EXPECT_GT(ab.out.size(), 100000U);
    EXPECT_EQ(ab.code, ba.code);
    EXPECT_TRUE(ab.out == ba.out) << "the order of the files changes the report";
    expect_same_for_threads({"--json", "--all-ports", "--max-flows", "3", b, a});
}

// Extents are sized from the last one's records: large frames, then a long run of tiny ones
// (many more records per extent than a batch takes: carried on, batch after batch), then large
// ones again, then a file cut inside its last record. --packets all lists every frame, so a
// frame lost, doubled or out of order at an extent's edge shows.
TEST_F(LongCapture, RecordSizesThatChangeAbruptlyAndACutEndGiveTheSameReport) {
    std::vector<Frame> mixed;
    for (std::size_t i = 0; i < 600; ++i) {
        mixed.push_back(frames_[i % frames_.size()]);
    }
    for (std::size_t i = 0; i < 3000; ++i) {
        Frame f = frames_[i % frames_.size()];
        f.bytes.resize(std::min<std::size_t>(f.bytes.size(), 1 + i % 40));  // cut by a snaplen
        mixed.push_back(f);
    }
    for (std::size_t i = 0; i < 600; ++i) {
        mixed.push_back(frames_[(i * 7) % frames_.size()]);
    }
    for (std::size_t i = 0; i < mixed.size(); ++i) {  // in time order, as a capture is
        mixed[i].ts = Timestamp{.sec = 1700000000 + static_cast<std::int64_t>(i / 1000),
                                .nsec = static_cast<std::uint32_t>(i % 1000) * 1000U};
    }
    const std::string whole = (dir_ / "sizes.pcap").string();
    write_pcap(whole, mixed);
    const std::string cut = (dir_ / "sizes-cut.pcap").string();
    fs::copy_file(whole, cut);
    fs::resize_file(cut, fs::file_size(whole) - 5);
    const Report one = analyze({"--json", "--packets", "all", whole}, 1);
    EXPECT_GT(one.out.size(), 100000U);
    for (const std::string& f : {whole, cut}) {
        SCOPED_TRACE(f);
        expect_same_for_threads({"--json", "--packets", "all", f});
        expect_same_for_threads({"--all-ports", f});
    }
}

}  // namespace
}  // namespace vxcheck::app

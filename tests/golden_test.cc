// Golden tests: every case in tests/golden/cases.txt runs `vxcheck <args>` through the real
// command-line parser and pipeline, and its output must equal tests/golden/<name>.jsonl (cases
// with --json) or tests/golden/<name>.txt (the text report).
// Regenerate with tools/update_golden.sh and review the diff before committing.

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "source_dir.h"
#include "vxcheck/app/options.h"
#include "vxcheck/app/pipeline.h"

namespace {

namespace fs = std::filesystem;

struct GoldenCase {
    std::string name;
    std::vector<std::string> args;

    /// The golden file's name: JSON Lines for --json cases, the text report otherwise.
    [[nodiscard]] std::string golden_file() const {
        const bool json = std::find(args.begin(), args.end(), "--json") != args.end();
        return name + (json ? ".jsonl" : ".txt");
    }
};

fs::path source_dir() {
    return fs::path(vxcheck::test::source_dir());
}

std::vector<GoldenCase> load_cases() {
    std::vector<GoldenCase> cases;
    std::ifstream in(source_dir() / "tests/golden/cases.txt");
    std::string line;
    while (std::getline(in, line)) {
        if (line.empty() || line[0] == '#') {
            continue;
        }
        std::istringstream words(line);
        GoldenCase c;
        words >> c.name;
        if (!c.name.empty() && c.name.back() == ':') {
            c.name.pop_back();
        }
        for (std::string w; words >> w;) {
            c.args.push_back(w);
        }
        cases.push_back(c);
    }
    return cases;
}

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> lines;
    std::istringstream in(text);
    for (std::string l; std::getline(in, l);) {
        lines.push_back(l);
    }
    return lines;
}

class GoldenTest : public ::testing::TestWithParam<GoldenCase> {};

TEST_P(GoldenTest, OutputMatchesGoldenFile) {
    const GoldenCase& c = GetParam();
    fs::current_path(source_dir());  // file names in the output are relative to the repo root
    const auto command = vxcheck::app::parse_command_line(c.args, false);
    const auto* cfg = std::get_if<vxcheck::app::AnalyzeConfig>(&command);
    ASSERT_NE(cfg, nullptr) << "case " << c.name << " is not an analyze command";
    std::ostringstream out;
    vxcheck::app::run_analyze(*cfg, out);

    const fs::path golden = source_dir() / "tests/golden" / c.golden_file();
    std::ifstream in(golden);
    ASSERT_TRUE(in) << "missing " << golden << " (run tools/update_golden.sh)";
    std::stringstream expected;
    expected << in.rdbuf();

    const auto got = lines_of(out.str());
    const auto want = lines_of(expected.str());
    for (std::size_t i = 0; i < std::min(got.size(), want.size()); ++i) {
        ASSERT_EQ(got[i], want[i]) << c.name << ": first difference at line " << i + 1;
    }
    ASSERT_EQ(got.size(), want.size()) << c.name << ": number of lines differs";
}

std::string case_name(const ::testing::TestParamInfo<GoldenCase>& info) {
    std::string n = info.param.name;
    for (char& ch : n) {
        if (std::isalnum(static_cast<unsigned char>(ch)) == 0) {
            ch = '_';
        }
    }
    return n;
}

INSTANTIATE_TEST_SUITE_P(Pcaps, GoldenTest, ::testing::ValuesIn(load_cases()), case_name);

// Every shipped capture is pinned by some golden case, so none can drift unnoticed.
TEST(GoldenCoverage, EveryCaptureInPcapsHasACase) {
    std::set<std::string> covered;
    for (const auto& c : load_cases()) {
        for (const auto& a : c.args) {
            covered.insert(a);
        }
    }
    for (const auto& entry : fs::directory_iterator(source_dir() / "pcaps")) {
        const std::string name = entry.path().filename().string();
        if (!entry.is_regular_file() || name == "README.md") {
            continue;
        }
        EXPECT_TRUE(covered.count("pcaps/" + name) == 1)
            << "pcaps/" << name << " has no golden case";
    }
}

}  // namespace

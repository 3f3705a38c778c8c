// An output file is a new file: nothing that existed at its name is opened, truncated or written
// through (a planted symlink is refused and its target untouched, a device or directory is
// refused, a hard link keeps the old content), its mode is the one asked for (0600 by default,
// umask or not), and a directory that cannot take it fails at creation, not at the first write.

#include "vxcheck/report/output_file.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>

namespace vxcheck::report {
namespace {

namespace fs = std::filesystem;

class OutputFileTest : public ::testing::Test {
  protected:
    void SetUp() override {
        dir_ = fs::temp_directory_path() / ("vxcheck-outfile-" + std::to_string(::getpid()));
        fs::create_directories(dir_);
    }
    void TearDown() override { fs::remove_all(dir_); }

    std::string at(const std::string& name) const { return (dir_ / name).string(); }

    static void put(const std::string& path, const std::string& text) {
        std::ofstream(path, std::ios::binary) << text;
    }
    static std::string content(const std::string& path) {
        std::ifstream in(path, std::ios::binary);
        return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    }
    static unsigned mode_of(const std::string& path) {
        struct stat st {};
        EXPECT_EQ(::stat(path.c_str(), &st), 0);
        return st.st_mode & 07777;
    }
    // The message of the error creating `path`, or "".
    static std::string refusal(const std::string& path) {
        try {
            OutputFile file(path, 0600);
        } catch (const std::runtime_error& e) {
            return e.what();
        }
        return "";
    }

    fs::path dir_;
};

TEST_F(OutputFileTest, SymlinkAtTheFinalNameIsRefusedAndItsTargetUntouched) {
    put(at("target"), "precious");
    fs::create_symlink(at("target"), at("link.pcapng"));
    EXPECT_NE(refusal(at("link.pcapng")).find("is a symbolic link"), std::string::npos);
    EXPECT_EQ(content(at("target")), "precious");
    EXPECT_TRUE(fs::is_symlink(at("link.pcapng")));
    // A dangling one too: O_CREAT through it would create its target.
    fs::create_symlink(at("nowhere"), at("dangling.pcapng"));
    EXPECT_NE(refusal(at("dangling.pcapng")).find("is a symbolic link"), std::string::npos);
    EXPECT_FALSE(fs::exists(at("nowhere")));
}

TEST_F(OutputFileTest, ExistingFileIsReplacedNotWrittenInto) {
    put(at("old.pcapng"), "old content");
    fs::create_hard_link(at("old.pcapng"), at("other-name"));
    {
        OutputFile file(at("old.pcapng"), 0600);
        file.write("new", 3);
        file.close();
    }
    EXPECT_EQ(content(at("old.pcapng")), "new");
    EXPECT_EQ(content(at("other-name")), "old content");  // the old inode was never opened
}

TEST_F(OutputFileTest, NotARegularFileIsRefused) {
    fs::create_directory(at("sub"));
    EXPECT_NE(refusal(at("sub")).find("not a regular file"), std::string::npos);
    EXPECT_NE(refusal(at("sub/")).find("not a file name"), std::string::npos);
    if (fs::exists("/dev/null")) {
        EXPECT_NE(refusal("/dev/null").find("not a regular file"), std::string::npos);
    }
}

TEST_F(OutputFileTest, ModeIsTheOneAskedForWhateverTheUmask) {
    const mode_t old = ::umask(0);
    {
        OutputFile a(at("default.pcapng"), 0600);
        OutputFile b(at("shared.pcapng"), 0640);
    }
    ::umask(old);
    EXPECT_EQ(mode_of(at("default.pcapng")), 0600U);
    EXPECT_EQ(mode_of(at("shared.pcapng")), 0640U);
}

TEST_F(OutputFileTest, MissingDirectoryFailsAtCreation) {
    const std::string why = refusal(at("no/such/dir/x.pcapng"));
    EXPECT_NE(why.find("No such file or directory"), std::string::npos) << why;
    EXPECT_EQ(why.find(at("no/such/dir/x.pcapng") + ": directory"), 0U) << why;
}

TEST_F(OutputFileTest, NoTemporaryFileIsLeftBehind) {
    {
        OutputFile file(at("x.pcapng"), 0600);
        file.write("abc", 3);
    }  // closed by the destructor, the buffer written
    EXPECT_EQ(content(at("x.pcapng")), "abc");
    std::size_t entries = 0;
    for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir_)) {
        ++entries;
    }
    EXPECT_EQ(entries, 1U);
}

TEST_F(OutputFileTest, LargeWritesArriveWholeAndInOrder) {
    std::string big(3 * OutputFile::kBufferSize + 17, '\0');
    for (std::size_t i = 0; i < big.size(); ++i) {
        big[i] = static_cast<char>(i * 7);
    }
    OutputFile file(at("big"), 0600);
    file.write("head", 4);
    file.write(big.data(), big.size());
    file.write("tail", 4);
    file.close();
    EXPECT_EQ(content(at("big")), "head" + big + "tail");
    EXPECT_THROW(file.write("x", 1), std::runtime_error);  // closed
}

TEST(WriteFully, ReportsTheErrnoOfAFullDevice) {
    const int fd = ::open("/dev/full", O_WRONLY);
    if (fd < 0) {
        GTEST_SKIP() << "no /dev/full";
    }
    EXPECT_EQ(write_fully(fd, "x", 1), ENOSPC);
    ::close(fd);
}

}  // namespace
}  // namespace vxcheck::report

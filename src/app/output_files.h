#pragma once
// Private to src/app: what a run writes, checked before it reads anything (so that a run never
// fails only at its end and never writes over what it reads), and the report's stream on
// standard output with its write errors kept (so that a lost report is an error, exit 2).
// The files themselves are created by report::OutputFile (vxcheck/report/output_file.h).

#include <array>
#include <memory>
#include <ostream>
#include <streambuf>
#include <string>
#include <vector>

#include "vxcheck/app/config.h"
#include "vxcheck/report/output_file.h"

namespace vxcheck::app {

/// A file a run writes: the option that names it ("--evidence") and its path.
struct OutputPath {
    std::string option;
    std::string path;
};

/// What a run reads and writes.
struct RunFiles {
    std::vector<std::string> inputs;  // "-": standard input
    std::vector<OutputPath> outputs;
};

[[nodiscard]] RunFiles files_of(const AnalyzeConfig& config);
[[nodiscard]] RunFiles files_of(const CaptureConfig& config);

/// Refuses an output that is "-" (standard output carries the report; but `capture -w -` writes
/// the capture there, and the report goes to standard error), one of the inputs or
/// another output: the same file (st_dev and st_ino, when both exist) or the same normalized
/// path (symlinks of the directories resolved). With `report_fd` >= 0 (standard output), also
/// an input or an output that is the file the report goes to. Throws std::runtime_error, one
/// line naming the option, the path and the problem.
void check_files(const RunFiles& files, int report_fd);

/// check_files(files, -1), then creates the output named by `option`, or returns null if the run
/// has none. Throws std::runtime_error naming the file.
[[nodiscard]] std::unique_ptr<report::OutputFile> open_output(const RunFiles& files,
                                                              const std::string& option,
                                                              unsigned mode);

/// Opens /dev/null on each of descriptors 0, 1 and 2 that is closed, so that no file opened
/// later takes its number (a report written into an evidence file). Returns "" if standard
/// output was open for writing, else the problem (one line): the report has nowhere to go.
[[nodiscard]] std::string guard_standard_descriptors();

/// The report's stream on a file descriptor: buffered, every write checked, the first error
/// kept (later bytes are dropped, the run goes on: --evidence and the exit code still count).
class ReportStream {
  public:
    explicit ReportStream(int fd);
    ReportStream(const ReportStream&) = delete;
    ReportStream& operator=(const ReportStream&) = delete;

    [[nodiscard]] std::ostream& stream() noexcept { return stream_; }
    /// Writes what is buffered; "" if every byte of the report was written, else the problem
    /// (one line).
    [[nodiscard]] std::string finish();

  private:
    class Buffer : public std::streambuf {
      public:
        explicit Buffer(int fd);
        [[nodiscard]] int error() const noexcept { return error_; }

      protected:
        int_type overflow(int_type c) override;
        int sync() override;

      private:
        bool drain() noexcept;

        int fd_;
        int error_ = 0;  // errno of the first failed write
        std::array<char, report::OutputFile::kBufferSize> bytes_{};
    };

    Buffer buffer_;
    std::ostream stream_;
};

}  // namespace vxcheck::app

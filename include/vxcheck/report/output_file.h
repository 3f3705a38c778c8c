#pragma once
// The files vxcheck writes (--evidence, capture --write): created so that no existing file is
// ever opened, and written through a buffer of ours with every error checked.
//
// Creation: the file's directory is opened once; a new file with a random name is created in it
// with O_CREAT|O_EXCL|O_NOFOLLOW (mode 0600, then fchmod to the mode asked for: the umask does
// not apply), and at once renamed over the final name. Chosen over the two alternatives because:
//  - no existing file is ever opened at the final name, so none is truncated or written into:
//    a symlink planted there is replaced, not followed; a hard link loses only that name;
//  - a second run replaces the first run's output, as `tcpdump -w` does, where O_CREAT|O_EXCL
//    on the final name would refuse it (a restarted DaemonSet pod would not start again);
//  - everything that needs the directory's permissions happens at the start: the file is then
//    written through its descriptor, also after the process has dropped its privileges, where a
//    rename at the end would need write permission on the directory then, and could fail only
//    after the whole run.
// The file has its final name from the start, as tcpdump's has: a run that is killed leaves
// what was written so far there. A final name that is a symlink, or anything but a regular
// file, is refused (a device or directory is never replaced).

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace vxcheck::report {

/// Writes all `n` bytes to `fd` (again after EINTR or a partial write); 0, or the errno of the
/// failure.
[[nodiscard]] int write_fully(int fd, const void* data, std::size_t n) noexcept;

class OutputFile {
  public:
    static constexpr std::size_t kBufferSize = std::size_t{1} << 16;

    /// Creates `path` as above with permission bits `mode`. Throws std::runtime_error, one line
    /// naming the file and the problem.
    OutputFile(const std::string& path, unsigned mode);
    /// Standard output (a duplicate of its descriptor), for `capture -w -` as `tcpdump -w -`:
    /// nothing is created; errors name "standard output". Throws std::runtime_error.
    static OutputFile standard_output();
    OutputFile(OutputFile&& other) noexcept;
    OutputFile& operator=(OutputFile&&) = delete;
    OutputFile(const OutputFile&) = delete;
    OutputFile& operator=(const OutputFile&) = delete;
    /// Closes the file if close() was not called; what was not flushed is written, errors lost.
    ~OutputFile();

    /// Appends `n` bytes (buffered). Throws std::runtime_error naming the file when a write
    /// fails; once one has failed, every later call throws.
    void write(const void* data, std::size_t n);
    /// Writes what is buffered. Throws as write().
    void flush();
    /// Flushes and closes (close() errors count: on NFS they report lost writes). Throws as
    /// write().
    void close();

    [[nodiscard]] const std::string& path() const noexcept { return path_; }

  private:
    OutputFile(int fd, std::string label);
    [[noreturn]] void fail(int error);

    std::string path_;
    int fd_ = -1;
    std::unique_ptr<std::uint8_t[]> buffer_;
    std::size_t used_ = 0;
    int error_ = 0;  // errno of the first failure
};

}  // namespace vxcheck::report

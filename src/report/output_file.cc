// Output files (output_file.h): created under a random name in their directory, renamed over
// the final name at once, then written through a buffer with every error checked.

#include "vxcheck/report/output_file.h"

#include <fcntl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <utility>

namespace vxcheck::report {
namespace {

// Names tried for the new file before giving up (each is random: a clash means someone creates
// files under our names on purpose).
constexpr int kCreateAttempts = 16;

std::runtime_error error_about(const std::string& path, const std::string& what) {
    return std::runtime_error(path + ": " + what);
}

// A descriptor closed on every way out.
class Fd {
  public:
    explicit Fd(int fd) noexcept : fd_(fd) {}
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    ~Fd() {
        if (fd_ >= 0) {
            ::close(fd_);
        }
    }
    [[nodiscard]] int get() const noexcept { return fd_; }
    int release() noexcept { return std::exchange(fd_, -1); }

  private:
    int fd_;
};

std::string random_name() {
    std::uint64_t r = 0;
    if (::getrandom(&r, sizeof r, 0) != static_cast<ssize_t>(sizeof r)) {
        r = static_cast<std::uint64_t>(::getpid()) ^
            static_cast<std::uint64_t>(reinterpret_cast<std::uintptr_t>(&r));
    }
    char name[40];
    std::snprintf(name, sizeof name, ".vxcheck-%016llx.tmp", static_cast<unsigned long long>(r));
    return name;
}

// A new, empty file in `dir` under a random name: its descriptor, and the name in `name`.
int create_new(int dir, const std::string& path, unsigned mode, std::string& name) {
    for (int attempt = 0; attempt < kCreateAttempts; ++attempt) {
        name = random_name();
        const int fd =
            ::openat(dir, name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd >= 0) {
            if (::fchmod(fd, mode) != 0) {
                const int e = errno;
                ::unlinkat(dir, name.c_str(), 0);
                ::close(fd);
                throw error_about(path, std::string("cannot set its mode: ") + std::strerror(e));
            }
            return fd;
        }
        if (errno != EEXIST) {
            throw error_about(path, std::string("cannot create a file in its directory: ") +
                                        std::strerror(errno));
        }
    }
    throw error_about(path, "cannot create a file in its directory: every name tried exists");
}

// The file at `path`, new, with permission bits `mode` (see output_file.h).
int create_replacing(const std::string& path, unsigned mode) {
    const std::filesystem::path p(path);
    const std::string base = p.filename().string();
    if (base.empty() || base == "." || base == "..") {
        throw error_about(path, "not a file name");
    }
    const std::string dir_name = p.has_parent_path() ? p.parent_path().string() : ".";
    const Fd dir(::open(dir_name.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (dir.get() < 0) {
        throw error_about(path, "directory " + dir_name + ": " + std::strerror(errno));
    }
    struct stat st {};
    if (::fstatat(dir.get(), base.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0) {
        if (S_ISLNK(st.st_mode)) {
            throw error_about(path, "is a symbolic link (vxcheck does not write through one)");
        }
        if (!S_ISREG(st.st_mode)) {
            throw error_about(path, "exists and is not a regular file");
        }
    } else if (errno != ENOENT) {
        throw error_about(path, std::strerror(errno));
    }
    std::string name;
    Fd file(create_new(dir.get(), path, mode, name));
    if (::renameat(dir.get(), name.c_str(), dir.get(), base.c_str()) != 0) {
        const int e = errno;
        ::unlinkat(dir.get(), name.c_str(), 0);
        throw error_about(path, std::string("cannot create: ") + std::strerror(e));
    }
    return file.release();
}

}  // namespace

int write_fully(int fd, const void* data, std::size_t n) noexcept {
    const auto* p = static_cast<const std::uint8_t*>(data);
    while (n != 0) {
        const ssize_t w = ::write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR) {
                continue;
            }
            return errno;
        }
        if (w == 0) {
            return EIO;  // no progress: never loop on it
        }
        p += w;
        n -= static_cast<std::size_t>(w);
    }
    return 0;
}

OutputFile::OutputFile(const std::string& path, unsigned mode)
    : path_(path), buffer_(new std::uint8_t[kBufferSize]) {
    fd_ = create_replacing(path, mode);
}

OutputFile::OutputFile(int fd, std::string label)
    : path_(std::move(label)), fd_(fd), buffer_(new std::uint8_t[kBufferSize]) {}

OutputFile OutputFile::standard_output() {
    const int fd = ::fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 3);
    if (fd < 0) {
        throw error_about("standard output", std::strerror(errno));
    }
    return OutputFile(fd, "standard output");
}

OutputFile::OutputFile(OutputFile&& other) noexcept
    : path_(std::move(other.path_)),
      fd_(std::exchange(other.fd_, -1)),
      buffer_(std::move(other.buffer_)),
      used_(std::exchange(other.used_, 0)),
      error_(other.error_) {}

OutputFile::~OutputFile() {
    if (fd_ >= 0) {
        if (error_ == 0 && used_ != 0) {
            (void)write_fully(fd_, buffer_.get(), used_);
        }
        ::close(fd_);
    }
}

void OutputFile::fail(int error) {
    if (error_ == 0) {
        error_ = error;
    }
    throw error_about(path_, std::string("write failed: ") + std::strerror(error_));
}

void OutputFile::write(const void* data, std::size_t n) {
    if (error_ != 0 || fd_ < 0) {
        fail(error_ != 0 ? error_ : EBADF);
    }
    if (n <= kBufferSize - used_) {
        std::memcpy(buffer_.get() + used_, data, n);
        used_ += n;
        return;
    }
    flush();
    if (n >= kBufferSize) {
        if (const int e = write_fully(fd_, data, n); e != 0) {
            fail(e);
        }
        return;
    }
    std::memcpy(buffer_.get(), data, n);
    used_ = n;
}

void OutputFile::flush() {
    if (error_ != 0 || fd_ < 0) {
        fail(error_ != 0 ? error_ : EBADF);
    }
    const std::size_t n = std::exchange(used_, 0);
    if (const int e = write_fully(fd_, buffer_.get(), n); e != 0) {
        fail(e);
    }
}

void OutputFile::close() {
    flush();
    const int fd = std::exchange(fd_, -1);
    if (::close(fd) != 0 && errno != EINTR) {
        fail(errno);
    }
}

}  // namespace vxcheck::report

#include "output_files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <optional>
#include <stdexcept>

namespace vxcheck::app {
namespace {

// A file as the kernel knows it, if it exists.
struct FileId {
    dev_t dev = 0;
    ino_t ino = 0;
    bool operator==(const FileId&) const = default;
};

std::optional<FileId> id_of_fd(int fd) {
    struct stat st {};
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        return std::nullopt;  // a terminal, pipe or device is no file to protect
    }
    return FileId{st.st_dev, st.st_ino};
}

std::optional<FileId> id_of_path(const std::string& path) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
        return std::nullopt;
    }
    return FileId{st.st_dev, st.st_ino};
}

// The absolute path with "." and ".." gone and the symlinks of its existing part resolved.
std::string normalized(const std::string& path) {
    std::error_code ec;
    const std::filesystem::path absolute = std::filesystem::absolute(path, ec);
    if (ec) {
        return path;
    }
    const std::filesystem::path canonical = std::filesystem::weakly_canonical(absolute, ec);
    return (ec ? absolute.lexically_normal() : canonical).string();
}

// One file of the run: how it is named on the command line, its path and what it is.
struct Named {
    std::string label;  // "the input X", "the --write file"
    std::string path;   // normalized ("" for standard input)
    std::optional<FileId> id;
};

bool same(const Named& a, const Named& b) {
    return (a.id && b.id && *a.id == *b.id) || (!a.path.empty() && a.path == b.path);
}

std::vector<Named> named_inputs(const RunFiles& files) {
    std::vector<Named> inputs;
    for (const std::string& in : files.inputs) {
        if (in == "-") {
            inputs.push_back({"the input - (standard input)", "", id_of_fd(STDIN_FILENO)});
        } else {
            inputs.push_back({"the input " + in, normalized(in), id_of_path(in)});
        }
    }
    return inputs;
}

}  // namespace

RunFiles files_of(const AnalyzeConfig& config) {
    RunFiles files{config.files, {}};
    if (!config.evidence_path.empty()) {
        files.outputs.push_back({"--evidence", config.evidence_path});
    }
    return files;
}

RunFiles files_of(const CaptureConfig& config) {
    RunFiles files;
    if (!config.write_path.empty()) {
        files.outputs.push_back({"--write", config.write_path});
    }
    if (!config.evidence_path.empty()) {
        files.outputs.push_back({"--evidence", config.evidence_path});
    }
    return files;
}

void check_files(const RunFiles& files, int report_fd) {
    const std::vector<Named> inputs = named_inputs(files);
    const std::optional<FileId> report = report_fd >= 0 ? id_of_fd(report_fd) : std::nullopt;
    const Named report_file{"standard output", "", report};
    if (report) {
        for (const Named& in : inputs) {
            if (same(report_file, in)) {
                throw std::runtime_error("standard output is " + in.label +
                                         ": the report would be written over it");
            }
        }
    }
    std::vector<Named> earlier;  // the outputs checked so far
    for (const OutputPath& out : files.outputs) {
        const std::string name = out.option + " " + out.path;
        if (out.path == "-" && out.option == "--write") {
            continue;  // capture -w -: the capture goes to standard output, the report to stderr
        }
        if (out.path == "-") {
            throw std::runtime_error(name + ": standard output carries the report; give a file");
        }
        const Named file{"the " + out.option + " file", normalized(out.path), id_of_path(out.path)};
        for (const Named& in : inputs) {
            if (same(file, in)) {
                throw std::runtime_error(name + ": is " + in.label +
                                         " (vxcheck never writes over what it reads)");
            }
        }
        for (const Named& other : earlier) {
            if (same(file, other)) {
                throw std::runtime_error(name + ": is also " + other.label);
            }
        }
        if (report && same(file, report_file)) {
            throw std::runtime_error(name + ": is standard output, where the report goes");
        }
        earlier.push_back(file);
    }
}

std::unique_ptr<report::OutputFile> open_output(const RunFiles& files, const std::string& option,
                                                unsigned mode) {
    check_files(files, -1);
    for (const OutputPath& out : files.outputs) {
        if (out.option == option && out.path == "-") {
            return std::make_unique<report::OutputFile>(report::OutputFile::standard_output());
        }
        if (out.option == option) {
            try {
                return std::make_unique<report::OutputFile>(out.path, mode);
            } catch (const std::runtime_error& e) {
                throw std::runtime_error(option + " " + e.what());
            }
        }
    }
    return nullptr;
}

std::string guard_standard_descriptors() {
    std::string problem;
    for (int fd = STDIN_FILENO; fd <= STDERR_FILENO; ++fd) {
        const int flags = ::fcntl(fd, F_GETFL);
        if (flags < 0 && errno == EBADF) {
            // The lowest free number: this one, as the lower ones are open.
            const int null = ::open("/dev/null", O_RDWR);
            if (null >= 0 && null != fd) {
                ::close(null);
            }
            if (fd == STDOUT_FILENO) {
                problem = "standard output is closed: the report has nowhere to go";
            }
        } else if (fd == STDOUT_FILENO && (flags & O_ACCMODE) == O_RDONLY) {
            problem = "standard output is open for reading only: the report has nowhere to go";
        }
    }
    return problem;
}

ReportStream::ReportStream(int fd) : buffer_(fd), stream_(&buffer_) {}

std::string ReportStream::finish() {
    stream_.flush();
    if (buffer_.error() != 0) {
        return std::strerror(buffer_.error());
    }
    if (!stream_) {
        return "the stream failed";
    }
    return "";
}

ReportStream::Buffer::Buffer(int fd) : fd_(fd) {
    setp(bytes_.data(), bytes_.data() + bytes_.size());
}

bool ReportStream::Buffer::drain() noexcept {
    const auto n = static_cast<std::size_t>(pptr() - pbase());
    setp(bytes_.data(), bytes_.data() + bytes_.size());
    if (error_ == 0 && n != 0) {
        error_ = report::write_fully(fd_, bytes_.data(), n);
    }
    return error_ == 0;
}

ReportStream::Buffer::int_type ReportStream::Buffer::overflow(int_type c) {
    // The bytes are dropped after an error: the stream stays good, so that the reporters go on
    // (their other outputs and the exit code still count); finish() tells.
    drain();
    if (!traits_type::eq_int_type(c, traits_type::eof())) {
        *pptr() = traits_type::to_char_type(c);
        pbump(1);
    }
    return traits_type::not_eof(c);
}

int ReportStream::Buffer::sync() {
    drain();
    return 0;
}

}  // namespace vxcheck::app

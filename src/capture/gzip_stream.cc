// gzip-compressed captures (gzip_stream.h): zlib's inflate behind a stdio stream.

#include "gzip_stream.h"

#include <zlib.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <vector>

#include "vxcheck/capture/source.h"

namespace vxcheck::capture {

class GzipReader {
  public:
    GzipReader(std::FILE* raw, bool own_raw) : raw_(raw), own_raw_(own_raw), in_(kInputBytes) {}
    GzipReader(const GzipReader&) = delete;
    GzipReader& operator=(const GzipReader&) = delete;
    ~GzipReader() {
        if (initialised_) {
            inflateEnd(&zs_);
        }
        if (own_raw_) {
            std::fclose(raw_);
        }
    }

    // zlib: a gzip header (window bits + 16), not zlib's or raw deflate.
    bool init() noexcept {
        initialised_ = inflateInit2(&zs_, MAX_WBITS + 16) == Z_OK;
        return initialised_;
    }

    // At least one byte decompressed into [buf, buf + size), 0 at the end of the last member,
    // -1 (errno EIO, error_ set) on corrupt or cut-short data or a read error.
    ssize_t read(char* buf, std::size_t size) noexcept {
        if (!error_.empty()) {
            errno = EIO;
            return -1;
        }
        zs_.next_out = reinterpret_cast<Bytef*>(buf);
        zs_.avail_out = static_cast<uInt>(size);
        while (zs_.avail_out == size) {
            if (zs_.avail_in == 0) {
                const std::size_t n = std::fread(in_.data(), 1, in_.size(), raw_);
                if (n == 0) {
                    if (std::ferror(raw_) != 0) {
                        return fail(std::string("cannot read: ") + std::strerror(errno));
                    }
                    if (member_done_) {
                        return 0;
                    }
                    return fail("the gzip stream is cut short (no end of its last member)");
                }
                zs_.next_in = in_.data();
                zs_.avail_in = static_cast<uInt>(n);
            }
            if (member_done_) {
                inflateReset(&zs_);  // another member follows
                member_done_ = false;
            }
            const int rc = inflate(&zs_, Z_NO_FLUSH);
            if (rc == Z_STREAM_END) {
                member_done_ = true;
            } else if (rc != Z_OK && rc != Z_BUF_ERROR) {
                return fail(std::string("corrupt gzip data (") +
                            (zs_.msg != nullptr ? zs_.msg : "zlib error " + std::to_string(rc)) +
                            ")");
            }
        }
        return static_cast<ssize_t>(size - zs_.avail_out);
    }

    [[nodiscard]] const std::string& error() const noexcept { return error_; }

  private:
    static constexpr std::size_t kInputBytes = std::size_t{1} << 16;

    ssize_t fail(std::string what) noexcept {
        try {
            error_ = std::move(what);
        } catch (...) {
            error_ = "gzip";  // shorter than any message: no allocation
        }
        errno = EIO;
        return -1;
    }

    std::FILE* raw_;
    bool own_raw_;
    bool initialised_ = false;
    bool member_done_ = false;
    z_stream zs_{};
    std::vector<Bytef> in_;
    std::string error_;
};

namespace {

ssize_t cookie_read(void* cookie, char* buf, std::size_t size) {
    return static_cast<GzipReader*>(cookie)->read(buf, size);
}

int cookie_close(void* cookie) {
    delete static_cast<GzipReader*>(cookie);
    return 0;
}

}  // namespace

bool starts_gzip(std::FILE* raw) noexcept {
    const int c = std::fgetc(raw);
    if (c == EOF) {
        std::clearerr(raw);  // an empty input: libpcap says so
        return false;
    }
    std::ungetc(c, raw);
    return c == 0x1f;
}

GzipStream open_gzip(std::FILE* raw, bool own_raw, const std::string& path) {
    auto reader = std::make_unique<GzipReader>(raw, own_raw);
    if (!reader->init()) {
        throw OpenError(path + ": cannot set up zlib to decompress it");
    }
    const cookie_io_functions_t io{
        .read = cookie_read, .write = nullptr, .seek = nullptr, .close = cookie_close};
    std::FILE* f = ::fopencookie(reader.get(), "rb", io);
    if (f == nullptr) {
        throw OpenError(path + ": cannot open a stream to decompress it: " + std::strerror(errno));
    }
    const GzipReader* r = reader.release();  // closed (deleted) with f
    return GzipStream{.file = f, .reader = r};
}

const std::string& gzip_error(const GzipReader& reader) noexcept {
    return reader.error();
}

}  // namespace vxcheck::capture

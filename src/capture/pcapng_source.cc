// A pcapng file in the file source (pcap_file_source.h): read by PcapngReader, which gives the
// interface of every packet and takes interfaces of several link types in one file; libpcap
// only compiles the read filter, once per interface, for that interface's link type.

#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>

#include "gzip_stream.h"
#include "pcap_file_source.h"

namespace vxcheck::capture {
namespace {

// A stream that gives `head` (bytes already read from `under`) and then the rest of `under`:
// the bytes looked at to tell pcapng from classic pcap, put back for libpcap where `under`
// cannot seek (standard input, a gzip stream).
struct PrefixStream {
    std::FILE* under;
    bool own;
    std::array<unsigned char, 4> head;
    std::size_t size;
    std::size_t used = 0;
};

ssize_t prefix_read(void* cookie, char* buf, std::size_t n) {
    auto* s = static_cast<PrefixStream*>(cookie);
    std::size_t got = 0;
    while (got < n && s->used < s->size) {
        buf[got++] = static_cast<char>(s->head[s->used++]);
    }
    if (got < n) {
        got += std::fread(buf + got, 1, n - got, s->under);
        if (got == 0 && std::ferror(s->under) != 0) {
            return -1;
        }
    }
    return static_cast<ssize_t>(got);
}

int prefix_close(void* cookie) {
    auto* s = static_cast<PrefixStream*>(cookie);
    const int rc = s->own ? std::fclose(s->under) : 0;
    delete s;
    return rc;
}

std::FILE* with_prefix(std::FILE* under, const unsigned char* head, std::size_t size,
                       const std::string& name) {
    auto* s = new PrefixStream{under, under != stdin, {}, size};
    std::memcpy(s->head.data(), head, size);
    const cookie_io_functions_t io{
        .read = prefix_read, .write = nullptr, .seek = nullptr, .close = prefix_close};
    std::FILE* f = ::fopencookie(s, "rb", io);
    if (f == nullptr) {
        delete s;
        throw OpenError(name + ": cannot set up the stream to read it");
    }
    return f;
}

}  // namespace

void FileCloser::operator()(std::FILE* f) const noexcept {
    if (f != stdin) {
        std::fclose(f);
    }
}

bool PcapFileSource::open_pcapng(std::FILE*& in, const std::string& name,
                                 const std::string& filter) {
    // A regular file is looked at without moving its stream (the extents' walk and libpcap
    // share the stream's buffer and position); a stream that cannot seek, by reading.
    unsigned char head[4];
    const bool seekable = in == file_ && in != stdin;
    const std::size_t got = seekable ? static_cast<std::size_t>(std::max<ssize_t>(
                                           ::pread(::fileno(in), head, sizeof head, 0), 0))
                                     : std::fread(head, 1, sizeof head, in);
    std::uint32_t magic = 0;
    if (got == sizeof head) {
        std::memcpy(&magic, head, sizeof magic);
    }
    if (magic != pcapng::kSectionHeader) {
        if (!seekable) {
            std::clearerr(in);
            in = with_prefix(in, head, got, name);
        }
        return false;
    }
    input_.reset(in);
    pcapng_ =
        std::make_unique<PcapngReader>(in, std::span<const std::uint8_t>(head, seekable ? 0 : got));
    filter_expression_ = filter;
    if (!pcapng_->start()) {
        const std::string problem =
            gzip_ != nullptr && !gzip_error(*gzip_).empty() ? gzip_error(*gzip_) : pcapng_->error();
        throw OpenError(name + ": " + problem);
    }
    if (!take_new_interfaces()) {
        throw OpenError(name + ": " + error_);
    }
    std::vector<std::uint16_t> seen;
    for (const PcapngInterface& itf : pcapng_->interfaces()) {
        if (std::find(seen.begin(), seen.end(), itf.linktype) == seen.end()) {
            seen.push_back(itf.linktype);
            link_name_ +=
                (link_name_.empty() ? "" : ",") + link_type_name_of_linktype(itf.linktype);
        }
    }
    if (link_name_.empty()) {
        link_name_ = "none (no interface described)";
    }
    return true;
}

std::uint32_t PcapFileSource::interface_count() const {
    const std::lock_guard<std::mutex> lock(names_mutex_);
    return static_cast<std::uint32_t>(names_.size());
}

std::string PcapFileSource::interface_name(std::uint32_t interface) const {
    const std::lock_guard<std::mutex> lock(names_mutex_);
    return interface < names_.size() ? names_[interface] : std::string();
}

bool PcapFileSource::take_new_interfaces() noexcept {
    const std::vector<PcapngInterface>& all = pcapng_->interfaces();
    while (interface_filters_.size() < all.size()) {
        const PcapngInterface& itf = all[interface_filters_.size()];
        ProgramPtr program;
        if (!filter_expression_.empty()) {
            program = compile_filter(dlt_of_linktype(itf.linktype), filter_expression_);
            if (!program) {
                return false;
            }
        }
        interface_filters_.push_back(std::move(program));
        const std::lock_guard<std::mutex> lock(names_mutex_);
        names_.push_back(itf.name);
    }
    return true;
}

ReadStatus PcapFileSource::next_pcapng(RawFrame& frame) noexcept {
    for (;;) {
        if (limit_reached()) {
            return ReadStatus::End;  // --count: what follows is not read
        }
        const ReadStatus status = pcapng_->next(frame);
        if (status == ReadStatus::End) {
            return shrank() ? ReadStatus::Error : ReadStatus::End;
        }
        if (status != ReadStatus::Frame) {
            if (!shrank()) {  // what happened, rather than "cut short"
                error_ = gzip_ != nullptr && !gzip_error(*gzip_).empty() ? gzip_error(*gzip_)
                                                                         : pcapng_->error();
            }
            return ReadStatus::Error;
        }
        if (interface_filters_.size() < pcapng_->interfaces().size() && !take_new_interfaces()) {
            return ReadStatus::Error;
        }
        if (keep(frame, interface_filters_[frame.interface].get())) {
            return ReadStatus::Frame;
        }
    }
}

}  // namespace vxcheck::capture

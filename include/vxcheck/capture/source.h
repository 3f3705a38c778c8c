#pragma once
// Where frames come from. The pipeline sees only this interface; src/capture/pcap_source.cc is
// the one file that includes <pcap.h>.

#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>

#include "vxcheck/frame.h"

namespace vxcheck::capture {

enum class ReadStatus { Frame, End, Error, WouldBlock /* live: nothing ready now */ };

class BlockReader;  // block_reader.h

class Source {
  public:
    virtual ~Source() = default;
    /// Fills `frame` with the next frame; it stays valid until the next call.
    virtual ReadStatus next(RawFrame& frame) noexcept = 0;
    /// What went wrong after next() returned Error (e.g. a record cut short).
    [[nodiscard]] virtual const std::string& error() const noexcept = 0;
    /// The capture's link type as libpcap names it ("EN10MB", "LINUX_SLL2", ...).
    [[nodiscard]] virtual const std::string& link_name() const noexcept = 0;
    /// Bytes consumed so far and the total if known (0 for pipes), for progress reports.
    [[nodiscard]] virtual std::uint64_t position() const noexcept = 0;
    [[nodiscard]] virtual std::uint64_t size() const noexcept = 0;
    /// The source's frames read in extents straight into the caller's storage (block_reader.h),
    /// or null if it offers no such reading. The reader belongs to the source and lives as
    /// long as it; while BlockReader::walking(), frames come from its extents, and next()
    /// gives what remains after them.
    [[nodiscard]] virtual BlockReader* blocks() noexcept { return nullptr; }
    /// Frames the read filter rejected so far (FileOptions::filter): read, never given.
    [[nodiscard]] virtual std::uint64_t filtered() const noexcept { return 0; }
    /// How many interfaces the capture describes so far (pcapng IDBs; 0 for classic pcap).
    [[nodiscard]] virtual std::uint32_t interface_count() const { return 0; }
    /// The name of interface RawFrame::interface ("" if it has none or is not described yet).
    /// Safe on any thread while another reads frames: the interface of every frame given so
    /// far is described.
    [[nodiscard]] virtual std::string interface_name(std::uint32_t interface) const {
        (void)interface;
        return {};
    }
};

/// Thrown when a capture cannot be opened; what() is one line naming the file and the problem.
class OpenError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

/// How a file is read (analyze's tcpdump-style options).
struct FileOptions {
    /// Read filter (tcpdump syntax), compiled by libpcap for the file's link type and run on
    /// every frame (pcap_offline_filter); frames it rejects are counted (Source::filtered()),
    /// not given. "" = every frame.
    std::string filter;
    /// The source ends after giving this many frames (those the filter passes); 0 = no limit.
    std::uint64_t max_frames = 0;
};

/// Opens a pcap or pcapng file ("-" reads standard input), also gzip-compressed (recognised by
/// its magic bytes, 1f 8b, not by its name). Timestamps come in nanoseconds whatever the
/// file's resolution. Throws OpenError (also for a filter that does not compile).
std::unique_ptr<Source> open_file(const std::string& path, const FileOptions& options = {});

/// The problem libpcap finds compiling `expression` for an Ethernet capture, or "" if it
/// compiles (a check of the command line, before any file's own link type is known).
[[nodiscard]] std::string filter_problem(const std::string& expression);

/// libpcap's version string (pcap_lib_version()).
[[nodiscard]] std::string pcap_version();

struct LiveOptions {
    std::string filter;                        // BPF (tcpdump syntax); "" = everything
    std::uint32_t snaplen = 262144;            // full frames by default
    std::uint64_t buffer_bytes = 32ULL << 20;  // socket receive buffer (capped at kMaxSocketBuffer)
};

struct LiveStats {
    std::uint64_t received = 0;      // frames that passed the filter: queued or dropped
    std::uint64_t kernel_drops = 0;  // frames the kernel dropped: our buffer was full
    std::uint64_t taken = 0;  // frames taken from the socket (loopback's outgoing copies too)

    /// Frames the kernel queued that were never taken from the socket (at stop: never read).
    [[nodiscard]] std::uint64_t unread() const noexcept {
        const std::uint64_t done = kernel_drops + taken;
        return received > done ? received - done : 0;
    }
};

/// A live interface. next() never blocks: it returns WouldBlock when nothing is queued; wait on
/// fd() (poll) for more. Errors name the interface.
class LiveSource : public Source {
  public:
    [[nodiscard]] virtual int fd() const noexcept = 0;
    [[nodiscard]] virtual const std::string& interface() const noexcept = 0;
    [[nodiscard]] virtual LinkType link() const noexcept = 0;
    /// Cumulative counters from the kernel (PACKET_STATISTICS) over the socket's whole life,
    /// every rebind() included.
    virtual LiveStats stats() noexcept = 0;
    /// Binds the same socket again to the interface of that name (it went down, or was deleted
    /// and created again with a new index). Needs no privilege: only creating a packet socket
    /// needs CAP_NET_RAW, so capture goes on after every capability is dropped. The filter,
    /// the buffer and the counters stay. Throws OpenError: no such interface, interface down,
    /// link type changed.
    virtual void rebind() = 0;
    /// The receive buffer the kernel granted, as getsockopt(SO_RCVBUF) reads it back (the
    /// kernel doubles the size asked for, for its own bookkeeping).
    [[nodiscard]] virtual std::uint64_t buffer_bytes() const noexcept = 0;
};

/// The largest receive buffer the kernel grants (it caps SO_RCVBUF(FORCE) at INT_MAX / 2).
inline constexpr std::uint64_t kMaxSocketBuffer = 0x7fffffffULL / 2;

/// Opens `interface` for capture (AF_PACKET with PACKET_AUXDATA, so the kernel's
/// TP_STATUS_CSUMNOTREADY reaches RawFrame::csum_not_ready; libpcap does not pass it on).
/// Throws OpenError: no such interface, no permission (needs root or CAP_NET_RAW), bad filter.
std::unique_ptr<LiveSource> open_live(const std::string& interface, const LiveOptions& options);

}  // namespace vxcheck::capture

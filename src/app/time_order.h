#pragma once
// Private to src/app: the frames of several interfaces, put back in time order.
//
// Every later stage (the RPC matcher, the SYN schedule, the order of capture points) takes
// frames in the order they come, so frames of several interfaces are held for a short time and
// handed on in time order, as several files' frames are merged (merged_inputs.h). Two rules say
// when a held frame may go on; the holding itself is the same:
//
// Live (begin_round(), unfinished(), end_round()). Each interface has its own socket, and the
// capture loop reads them one after the other, so a frame can be read before an earlier frame
// of another interface: the reply of an NFS call read on eth0 before the call itself is read on
// flannel.1. A frame stamped before a read round began, by more than the hold time, was queued
// in its socket before the round, so the round read it; every frame read later is stamped
// later. A round that ended one socket's batch before the socket was empty moves that moment
// back to the last frame read from it. A frame held longer than the longest hold (a stamp far
// ahead of the clock) goes on anyway.
//
// A file (file_order.h): a pcapng file of several interfaces, written by a tool that read them
// as above (dumpcap), holds each interface's frames in time order but interleaves the
// interfaces in the order the tool read them. The caller says which frames may go (ready()).
//
// Frames go on earliest stamp first; equal stamps in the order they were held. One handed on
// after a later-stamped frame is counted late.
//
// Frames are copied into a ring of bytes per interface, allocated when the interface is added
// and not zeroed (its pages become resident as the ring reaches them): holding allocates
// nothing. A frame that finds its ring full first hands on the earliest frames of every ring
// until it fits; a frame larger than the ring goes on at once.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "vxcheck/frame.h"

namespace vxcheck::app {

class TimeOrder {
  public:
    struct Limits {
        std::size_t ring_bytes = std::size_t{8} << 20;  // per interface
        std::int64_t hold_ns = 20'000'000;              // the stamp-to-socket delay allowed
        std::int64_t max_hold_ns = 1'000'000'000;       // the longest a frame is held
    };

    TimeOrder(std::size_t points, Limits limits);

    /// Adds the ring of one more point (an interface a file describes later); throws
    /// std::bad_alloc when its ring cannot be allocated.
    void add_point();
    [[nodiscard]] std::size_t points() const noexcept { return rings_.size(); }

    /// Starts a read round at `now` (the wall clock before the sockets are read).
    void begin_round(Timestamp now) noexcept;
    /// The round ended `point`'s batch before its socket was empty: what is still queued there
    /// is stamped no earlier than the last frame read from it.
    void unfinished(std::size_t point) noexcept;

    /// Copies `frame` of `point`; `release(point, frame)` takes what must go on first.
    template <class Release>
    void hold(std::size_t point, const RawFrame& frame, Timestamp now, Release&& release) {
        while (!store(point, frame, now)) {
            if (rings_[point].count == 0) {
                note_released(frame.ts);
                release(point, frame);  // larger than the ring
                return;
            }
            release_one(release);
        }
    }

    /// Ends the round: hands on, in time order, every frame the rule above lets go.
    template <class Release>
    void end_round(Timestamp now, Release&& release) {
        const Timestamp stale = before(now, limits_.max_hold_ns);
        for (std::size_t p = eligible(stale); p != kNone; p = eligible(stale)) {
            pop(p, release);
        }
    }

    /// Hands on every frame held, in time order (the end of the capture).
    template <class Release>
    void flush(Release&& release) {
        while (!empty()) {
            release_one(release);
        }
    }

    // Taken one frame at a time (a file, file_order.h): store() copies a frame, ready() and
    // earliest() say which ring's first frame goes on next, take_front() hands it on, and
    // drop_front() lets it go once it has been used.

    /// Copies `frame` of `point`, held since `now`; false when its ring has no room for it.
    [[nodiscard]] bool store(std::size_t point, const RawFrame& frame, Timestamp now) noexcept;
    /// The ring with the earliest first frame stamped no later than `cutoff`; kNone if none.
    [[nodiscard]] std::size_t ready(Timestamp cutoff) const noexcept;
    /// The ring with the earliest first frame; kNone when every ring is empty.
    [[nodiscard]] std::size_t earliest() const noexcept;
    /// The first frame of `point`'s ring, handed on: it stays valid until drop_front(point).
    [[nodiscard]] RawFrame take_front(std::size_t point) noexcept;
    void drop_front(std::size_t point) noexcept;

    static constexpr std::size_t kNone = ~std::size_t{0};

    [[nodiscard]] bool empty() const noexcept { return held_ == 0; }
    [[nodiscard]] std::size_t held() const noexcept { return held_; }
    /// Frames handed on after a frame stamped later than them.
    [[nodiscard]] std::uint64_t late() const noexcept { return late_; }
    /// A frame stamped `ts` was handed on without being held (counted late if it is).
    void note_released(Timestamp ts) noexcept;

    /// `t` less `ns` nanoseconds.
    [[nodiscard]] static Timestamp before(Timestamp t, std::int64_t ns) noexcept;

  private:
    // The copy of a frame: this header, then its bytes, the whole rounded up to kAlign.
    struct Entry {
        Timestamp ts;
        Timestamp held_at;
        std::uint64_t number = 0;
        std::uint64_t stored = 0;  // the count of frames stored before it: breaks equal stamps
        std::uint32_t caplen = 0;
        std::uint32_t wirelen = 0;
        std::uint32_t interface = 0;
        std::uint32_t size = 0;  // of the whole entry
        LinkType link = LinkType::Ethernet;
        bool csum_not_ready = false;
    };
    static constexpr std::size_t kAlign = alignof(Entry);

    // A FIFO of entries in one buffer: [head, tail) while tail >= head, else [head, wrap) and
    // [0, tail).
    // Its buffer is not zeroed, so only the pages the ring has reached are resident: a ring that
    // empties every round stays at its start.
    struct Ring {
        std::unique_ptr<std::uint8_t[]> bytes;
        std::size_t size = 0;
        std::size_t head = 0;
        std::size_t tail = 0;
        std::size_t wrap = 0;
        std::size_t count = 0;
        Timestamp last_ts;  // of the last frame stored
    };

    [[nodiscard]] const Entry& front(std::size_t point) const noexcept;
    // Whether the first frame of ring a goes on before that of ring b.
    [[nodiscard]] bool before_front(std::size_t a, std::size_t b) const noexcept;
    // The ring whose first frame goes on next: the earliest first frame that is stamped no
    // later than the cutoff, or held since before `stale`. kNone when there is none.
    [[nodiscard]] std::size_t eligible(Timestamp stale) const noexcept;

    template <class Release>
    void release_one(Release& release) {
        pop(earliest(), release);
    }

    template <class Release>
    void pop(std::size_t point, Release& release) {
        release(point, take_front(point));
        drop_front(point);
    }

    Limits limits_;
    std::vector<Ring> rings_;
    Timestamp cutoff_;
    Timestamp last_released_;
    std::size_t held_ = 0;
    std::uint64_t late_ = 0;
    std::uint64_t stored_ = 0;
};

}  // namespace vxcheck::app

#pragma once
// Private to src/app: the frames of several live interfaces, put back in time order.
//
// Each interface has its own socket, and the capture loop reads them one after the other. A
// frame can therefore be read before an earlier frame of another interface: the reply of an NFS
// call read on eth0 before the call itself is read on flannel.1. Every later stage (the RPC
// matcher, the SYN schedule, the order of capture points) takes frames in the order they come,
// so a capture of several interfaces holds each frame for a short time and hands frames on in
// time order, as a file's frames are merged (merged_inputs.h).
//
// The rule: a frame stamped before a read round began, by more than the hold time, was queued
// in its socket before the round, so the round read it; every frame read later is stamped
// later. A round that ended one socket's batch before the socket was empty moves that moment
// back to the last frame read from it. A frame held longer than the longest hold (a stamp far
// ahead of the clock) goes on anyway; one handed on after a later-stamped frame is counted late.
//
// Frames are copied into a ring of bytes per interface, allocated at the start and not zeroed
// (its pages become resident as the ring reaches them): holding allocates nothing. A frame that
// finds its ring full first hands on the earliest frames of every ring until it fits; a frame
// larger than the ring goes on at once.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "vxcheck/frame.h"

namespace vxcheck::app {

class LiveOrder {
  public:
    struct Limits {
        std::size_t ring_bytes = std::size_t{8} << 20;  // per interface
        std::int64_t hold_ns = 20'000'000;              // the stamp-to-socket delay allowed
        std::int64_t max_hold_ns = 1'000'000'000;       // the longest a frame is held
    };

    LiveOrder(std::size_t points, Limits limits);

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

    [[nodiscard]] bool empty() const noexcept { return held_ == 0; }
    [[nodiscard]] std::size_t held() const noexcept { return held_; }
    /// Frames handed on after a frame stamped later than them.
    [[nodiscard]] std::uint64_t late() const noexcept { return late_; }

    /// `t` less `ns` nanoseconds.
    [[nodiscard]] static Timestamp before(Timestamp t, std::int64_t ns) noexcept;

  private:
    static constexpr std::size_t kNone = ~std::size_t{0};

    // The copy of a frame: this header, then its bytes, the whole rounded up to kAlign.
    struct Entry {
        Timestamp ts;
        Timestamp held_at;
        std::uint64_t number = 0;
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

    bool store(std::size_t point, const RawFrame& frame, Timestamp now) noexcept;
    [[nodiscard]] const Entry& front(std::size_t point) const noexcept;
    // The ring whose first frame goes on next: the earliest first frame that is stamped no
    // later than the cutoff, or held since before `stale`. kNone when there is none.
    [[nodiscard]] std::size_t eligible(Timestamp stale) const noexcept;
    // The ring with the earliest first frame (kNone when every ring is empty).
    [[nodiscard]] std::size_t earliest() const noexcept;
    void drop_front(std::size_t point) noexcept;
    void note_released(Timestamp ts) noexcept;

    template <class Release>
    void release_one(Release& release) {
        pop(earliest(), release);
    }

    template <class Release>
    void pop(std::size_t point, Release& release) {
        const Entry& e = front(point);
        RawFrame f;
        f.ts = e.ts;
        f.caplen = e.caplen;
        f.wirelen = e.wirelen;
        f.link = e.link;
        f.number = e.number;
        f.interface = e.interface;
        f.csum_not_ready = e.csum_not_ready;
        f.data = Bytes(reinterpret_cast<const std::uint8_t*>(&e) + sizeof(Entry), e.caplen);
        note_released(f.ts);
        release(point, f);
        drop_front(point);
    }

    Limits limits_;
    std::vector<Ring> rings_;
    Timestamp cutoff_;
    Timestamp last_released_;
    std::size_t held_ = 0;
    std::uint64_t late_ = 0;
};

}  // namespace vxcheck::app

#include "time_order.h"

#include <cstring>
#include <new>
#include <utility>

namespace vxcheck::app {
namespace {

constexpr std::int64_t kNsPerSec = 1'000'000'000;

}  // namespace

TimeOrder::TimeOrder(std::size_t points, Limits limits) : limits_(limits) {
    rings_.reserve(points);
    for (std::size_t p = 0; p < points; ++p) {
        add_point();
    }
}

void TimeOrder::add_point() {
    Ring r;
    r.size = limits_.ring_bytes / kAlign * kAlign;
    r.bytes.reset(new std::uint8_t[r.size]);  // default-initialised: not zeroed
    r.wrap = r.size;
    rings_.push_back(std::move(r));
}

Timestamp TimeOrder::before(Timestamp t, std::int64_t ns) noexcept {
    std::int64_t sec = t.sec - ns / kNsPerSec;
    std::int64_t nsec = static_cast<std::int64_t>(t.nsec) - ns % kNsPerSec;
    if (nsec < 0) {
        nsec += kNsPerSec;
        --sec;
    }
    return Timestamp{.sec = sec, .nsec = static_cast<std::uint32_t>(nsec)};
}

void TimeOrder::begin_round(Timestamp now) noexcept {
    cutoff_ = before(now, limits_.hold_ns);
}

void TimeOrder::unfinished(std::size_t point) noexcept {
    const Ring& r = rings_[point];
    if (r.count != 0 && r.last_ts < cutoff_) {
        cutoff_ = r.last_ts;
    }
}

bool TimeOrder::store(std::size_t point, const RawFrame& frame, Timestamp now) noexcept {
    Ring& r = rings_[point];
    const std::size_t size = (sizeof(Entry) + frame.caplen + kAlign - 1) / kAlign * kAlign;
    std::size_t at = 0;
    if (r.count == 0 || r.tail > r.head) {
        if (r.tail + size <= r.size) {
            at = r.tail;
        } else if (size < r.head) {
            r.wrap = r.tail;  // the rest of the buffer stays unused until head comes round
            at = 0;
        } else {
            return false;
        }
    } else if (r.tail + size < r.head) {
        at = r.tail;
    } else {
        return false;
    }
    auto* e = new (r.bytes.get() + at) Entry{.ts = frame.ts,
                                             .held_at = now,
                                             .number = frame.number,
                                             .stored = stored_++,
                                             .caplen = frame.caplen,
                                             .wirelen = frame.wirelen,
                                             .interface = frame.interface,
                                             .size = static_cast<std::uint32_t>(size),
                                             .link = frame.link,
                                             .csum_not_ready = frame.csum_not_ready};
    if (frame.caplen != 0) {
        std::memcpy(reinterpret_cast<std::uint8_t*>(e) + sizeof(Entry), frame.data.data(),
                    frame.caplen);
    }
    r.tail = at + size;
    r.last_ts = frame.ts;
    ++r.count;
    ++held_;
    return true;
}

const TimeOrder::Entry& TimeOrder::front(std::size_t point) const noexcept {
    const Ring& r = rings_[point];
    return *std::launder(reinterpret_cast<const Entry*>(r.bytes.get() + r.head));
}

void TimeOrder::drop_front(std::size_t point) noexcept {
    Ring& r = rings_[point];
    r.head += front(point).size;
    --r.count;
    --held_;
    if (r.count == 0) {
        r.head = r.tail = 0;
        r.wrap = r.size;
    } else if (r.head == r.wrap) {
        r.head = 0;
        r.wrap = r.size;
    }
}

bool TimeOrder::before_front(std::size_t a, std::size_t b) const noexcept {
    const Entry& x = front(a);
    const Entry& y = front(b);
    return x.ts < y.ts || (x.ts == y.ts && x.stored < y.stored);
}

std::size_t TimeOrder::earliest() const noexcept {
    std::size_t best = kNone;
    for (std::size_t p = 0; p < rings_.size(); ++p) {
        if (rings_[p].count != 0 && (best == kNone || before_front(p, best))) {
            best = p;
        }
    }
    return best;
}

std::size_t TimeOrder::eligible(Timestamp stale) const noexcept {
    std::size_t best = kNone;
    for (std::size_t p = 0; p < rings_.size(); ++p) {
        if (rings_[p].count == 0) {
            continue;
        }
        const Entry& e = front(p);
        if ((e.ts <= cutoff_ || e.held_at < stale) && (best == kNone || before_front(p, best))) {
            best = p;
        }
    }
    return best;
}

std::size_t TimeOrder::ready(Timestamp cutoff) const noexcept {
    const std::size_t p = earliest();
    return p != kNone && front(p).ts <= cutoff ? p : kNone;
}

RawFrame TimeOrder::take_front(std::size_t point) noexcept {
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
    return f;
}

void TimeOrder::note_released(Timestamp ts) noexcept {
    if (ts < last_released_) {
        ++late_;
    } else {
        last_released_ = ts;
    }
}

}  // namespace vxcheck::app

// The extents of a classic pcap file (block_reader.h): claimed in file order, read with
// preadv() into the caller's storage, their records walked in claim order. No libpcap here: it
// takes over (pcap_source.cc) wherever the walk does not do exactly what it would.

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <new>

#include "pcap_file_source.h"

namespace vxcheck::capture {

namespace {

template <bool Swapped>
std::uint32_t load32(const std::uint8_t* p) noexcept {
    std::uint32_t v;
    std::memcpy(&v, p, sizeof v);
    return Swapped ? __builtin_bswap32(v) : v;
}

// The frame of the record whose header is at `h` (the whole record is there), numbered
// `number`. As libpcap: both timestamp fields are signed 32-bit; microseconds scale to
// nanoseconds.
template <bool Swapped>
void describe_record(const std::uint8_t* h, std::uint32_t caplen, bool nano, LinkType link,
                     std::uint64_t number, RawFrame& frame) noexcept {
    std::int64_t fraction = static_cast<std::int32_t>(load32<Swapped>(h + 4));
    if (!nano) {
        fraction *= 1000;
    }
    frame.ts = Timestamp{.sec = static_cast<std::int32_t>(load32<Swapped>(h)),
                         .nsec = static_cast<std::uint32_t>(fraction)};
    frame.caplen = caplen;
    frame.wirelen = load32<Swapped>(h + 12);
    frame.link = link;
    frame.number = number;
    frame.interface = 0;
    frame.data = Bytes{h + kPcapRecordHeaderLen, caplen};
    frame.csum_not_ready = false;
}

// The records from `pos` to `end` into `frames` from `n` on, every one kept (no read filter,
// no --count), as describe() has them: the walk of nearly every extent. The counters are local
// (the frames' stores cannot alias them) and the byte order a constant. Stops at the first
// record that the extent cuts, that is longer than `max_caplen` (`too_long` set), or when the
// frames are full; returns the position reached and sets `n`, `count` to the frames so far.
template <bool Swapped>
std::size_t walk_all(const std::uint8_t* base, std::size_t pos, std::size_t end,
                     std::span<RawFrame> frames, std::size_t& n, std::uint64_t& count,
                     std::uint32_t max_caplen, bool nano, LinkType link, bool& too_long) noexcept {
    std::size_t i = n;
    std::uint64_t number = count;
    while (i < frames.size() && end - pos >= kPcapRecordHeaderLen) {
        const std::uint8_t* h = base + pos;
        const std::uint32_t caplen = load32<Swapped>(h + 8);
        if (caplen > max_caplen) {
            too_long = true;
            break;
        }
        const std::size_t record = kPcapRecordHeaderLen + caplen;
        if (end - pos < record) {
            break;
        }
        describe_record<Swapped>(h, caplen, nano, link, ++number, frames[i]);
        ++i;
        pos += record;
    }
    n = i;
    count = number;
    return pos;
}

}  // namespace

// A record's header at `h` (the whole record is there): its frame, numbered next.
void PcapFileSource::describe(const std::uint8_t* h, std::uint32_t caplen,
                              RawFrame& frame) noexcept {
    if (swapped_) {
        describe_record<true>(h, caplen, nano_, link_, ++count_, frame);
    } else {
        describe_record<false>(h, caplen, nano_, link_, ++count_, frame);
    }
}

bool PcapFileSource::claim(std::size_t frames, Extent& extent) noexcept {
    if (!walking()) {
        return false;
    }
    if (claimed_all_) {
        // Empty extents, for the records carried past the last one's frames.
        extent = Extent{.offset = next_claim_, .length = 0, .last = true};
        return true;
    }
    // About what `frames` can take at the last extent's average record, an eighth short,
    // less what is carried already: the records that do not fit in an extent's frames are
    // carried, copied, into the next one's. At least `frames` bare record headers' worth
    // (something new to walk, so that a large carried record gets whole), at most
    // kBlockBytes; and no more than the file had left at opening (the last extent: its storage
    // is then the size of what it holds, and a file written since is libpcap's to read on).
    const std::size_t avg = average_record_.load(std::memory_order_relaxed);
    const std::size_t carried = carried_bytes_.load(std::memory_order_relaxed);
    const std::size_t least = std::min(frames * kPcapRecordHeaderLen, kBlockBytes);
    const std::size_t fit = std::clamp(frames * avg / 8 * 7, least, kBlockBytes);
    const std::uint64_t left = size_ > next_claim_ ? size_ - next_claim_ : 0;
    const std::size_t want = static_cast<std::size_t>(
        std::min<std::uint64_t>(carried + least >= fit ? least : fit - carried, left));
    extent.offset = next_claim_;
    extent.length = want;
    extent.last = next_claim_ + want >= size_;
    next_claim_ += want;
    claimed_all_ = extent.last;
    return true;
}

void PcapFileSource::read(std::span<Read* const> reads) {
    // Runs of extents that follow one another, one preadv() each (on a short read, again
    // from where it stopped, until the run is read or the file ends or fails).
    std::array<iovec, kMaxReads> iov{};
    std::size_t i = 0;
    while (i < reads.size()) {
        std::size_t n = 0;
        std::uint64_t end = reads[i]->extent.offset;
        while (i + n < reads.size() && n < iov.size() && reads[i + n]->extent.offset == end) {
            Read& r = *reads[i + n];
            iov[n] = iovec{.iov_base = r.storage->place(r.extent.offset, r.extent.length),
                           .iov_len = r.extent.length};
            r.bytes = Bytes{static_cast<const std::uint8_t*>(iov[n].iov_base), 0};
            end += r.extent.length;
            ++n;
        }
        read_run(reads.subspan(i, n), {iov.data(), n});
        i += n;
    }
}

std::size_t PcapFileSource::walk(const Extent& extent, Bytes data, std::span<RawFrame> frames,
                                 std::vector<std::uint8_t>& copies) {
    copies.clear();
    if (!walking()) {
        return 0;
    }
    if (frames.empty()) {
        hand_over_to_libpcap();  // nowhere to put frames: libpcap reads on, losing none
        return 0;
    }
    if (extent.length != 0 && extent.offset != cursor_ + (carry_.size() - carry_head_)) {
        hand_over_to_libpcap();  // not the extent that follows: libpcap reads on, in order
        return 0;
    }
    Walk w{.data = data, .frames = frames};
    if (carry_head_ != carry_.size()) {
        walk_carried(w, copies);
    }
    if (w.go_on) {
        walk_data(w);
    }
    if (extent.last ? w.n < frames.size() : data.size() < extent.length) {
        // The end of the file as it was at opening, with every whole record before it taken
        // (with the frames full, empty extents follow for what is carried), or a short read
        // before it: libpcap reads what remains from the first record not taken, a record
        // cut short, one written since, or the error; a file that ends before its size at
        // opening is an error then (PcapFileSource::shrank).
        hand_over_to_libpcap();
    }
    return w.n;
}

// Reads extents that follow one another into `iov` (one entry each, `reads` beside them);
// sets each one's bytes to what arrived.
void PcapFileSource::read_run(std::span<Read* const> reads, std::span<iovec> iov) noexcept {
    std::uint64_t offset = reads.front()->extent.offset;
    std::size_t first = 0;  // the first entry not yet read whole
    while (first < iov.size()) {
        if (iov[first].iov_len == 0) {
            ++first;
            continue;
        }
        const ssize_t r = ::preadv(fd_, &iov[first], static_cast<int>(iov.size() - first),
                                   static_cast<off_t>(offset));
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r <= 0) {
            return;
        }
        offset += static_cast<std::uint64_t>(r);
        for (auto left = static_cast<std::size_t>(r); left != 0;) {
            const std::size_t take = std::min(left, iov[first].iov_len);
            Bytes& got = reads[first]->bytes;
            got = Bytes{got.data(), got.size() + take};
            iov[first].iov_base = static_cast<std::uint8_t*>(iov[first].iov_base) + take;
            iov[first].iov_len -= take;
            left -= take;
            if (iov[first].iov_len == 0) {
                ++first;
            }
        }
    }
}

// next()'s own extent. Growing a buffer is the only allocation; if that fails, libpcap reads
// the rest (it needs no more memory than a record).
std::size_t PcapFileSource::next_extent_noexcept() noexcept {
    try {
        if (frames_.empty()) {
            frames_.resize(kBlockFrames);  // at the first extent: a file read otherwise needs none
        }
        Extent e;
        if (!claim(frames_.size(), e)) {
            hand_over_to_libpcap();
            return 0;
        }
        return walk(e, read(e, block_), frames_, copies_);
    } catch (const std::bad_alloc&) {
        hand_over_to_libpcap();
        return 0;
    }
}

// The records that begin in what was carried (at cursor_), completed from the head of the
// extent and copied into `copies`. Clears w.go_on when what was carried is not all taken
// (the frames are full): the rest of the extent is then carried too.
void PcapFileSource::walk_carried(Walk& w, std::vector<std::uint8_t>& copies) {
    std::size_t off = carry_head_;
    std::size_t taken = 0;  // frames
    while (off < carry_.size() && taken < w.frames.size()) {
        if (!complete_carried(w, off, kPcapRecordHeaderLen)) {
            break;  // the extent ends inside the record header
        }
        const std::uint32_t caplen = field32(carry_.data() + off + 8);
        if (caplen > max_caplen_) {
            w.go_on = false;  // libpcap's to cut or reject (below), with its own words
            break;
        }
        if (!complete_carried(w, off, kPcapRecordHeaderLen + caplen)) {
            break;  // the extent ends inside the record
        }
        off += kPcapRecordHeaderLen + caplen;
        ++taken;
    }
    // Copy the records taken at once: `copies` does not move after the frames point into it.
    // Everything that may throw (allocate) comes before any frame is described, so that an
    // exception loses no frame: libpcap then reads on from cursor_.
    const bool rest_carried = w.go_on && off < carry_.size();
    if (carry_head_ == 0 && off == carry_.size()) {
        // Everything carried is taken (the usual case): the storage changes hands, no copy.
        copies.swap(carry_);
        carry_.clear();
        off = 0;
    } else {
        copies.assign(carry_.begin() + static_cast<std::ptrdiff_t>(carry_head_),
                      carry_.begin() + static_cast<std::ptrdiff_t>(off));
    }
    if (rest_carried) {
        // The frames are full, or the extent ends inside a record: carry the rest as well.
        carry_.insert(carry_.end(), w.data.begin() + static_cast<std::ptrdiff_t>(w.used),
                      w.data.end());
        w.used = w.data.size();
    }
    for (std::size_t at = 0; at < copies.size() && !limit_reached();) {
        const std::uint8_t* h = copies.data() + at;
        const std::uint32_t caplen = field32(h + 8);
        describe(h, caplen, w.frames[w.n]);
        if (keep(w.frames[w.n], filter_.get())) {
            ++w.n;
        }
        at += kPcapRecordHeaderLen + caplen;
        cursor_ += kPcapRecordHeaderLen + caplen;
    }
    if (limit_reached()) {
        w.go_on = false;
        stop_walking();  // the records after the last one given are never read
        return;
    }
    carry_head_ = off;
    if (!w.go_on) {
        hand_over_to_libpcap();
        return;
    }
    if (rest_carried) {
        w.go_on = false;
        if (carry_head_ > carry_.size() / 2) {
            carry_.erase(carry_.begin(), carry_.begin() + static_cast<std::ptrdiff_t>(carry_head_));
            carry_head_ = 0;
        }
    } else {
        carry_.clear();
        carry_head_ = 0;
    }
    carried_bytes_.store(carry_.size() - carry_head_, std::memory_order_relaxed);
}

// Makes the `need` carried bytes from `off` whole by appending the extent's next bytes;
// false if the extent has too few.
bool PcapFileSource::complete_carried(Walk& w, std::size_t off, std::size_t need) {
    const std::size_t have = carry_.size() - off;
    if (have >= need) {
        return true;
    }
    const std::size_t take = std::min(need - have, w.data.size() - w.used);
    carry_.insert(carry_.end(), w.data.begin() + static_cast<std::ptrdiff_t>(w.used),
                  w.data.begin() + static_cast<std::ptrdiff_t>(w.used + take));
    w.used += take;
    return take == need - have;
}

// The records in the rest of the extent; what does not fit in `frames`, or is cut by the
// extent's end, is carried to the next extent.
void PcapFileSource::walk_data(Walk& w) {
    // Room for the most that can be carried, before any frame is described (see above).
    carry_.reserve(w.data.size() - w.used);
    const std::uint8_t* base = w.data.data();
    std::size_t pos = w.used;
    const std::size_t end = w.data.size();
    if (filter_ == nullptr && max_frames_ == 0) {
        const std::size_t first = w.n;
        bool too_long = false;
        const std::size_t reached = swapped_
                                        ? walk_all<true>(base, pos, end, w.frames, w.n, count_,
                                                         max_caplen_, nano_, link_, too_long)
                                        : walk_all<false>(base, pos, end, w.frames, w.n, count_,
                                                          max_caplen_, nano_, link_, too_long);
        given_ += w.n - first;
        cursor_ += reached - pos;
        pos = reached;
        if (too_long) {
            hand_over_to_libpcap();  // libpcap's to cut or reject, with its own words
            return;
        }
    }
    while (w.n < w.frames.size() && !limit_reached() && end - pos >= kPcapRecordHeaderLen) {
        const std::uint8_t* h = base + pos;
        const std::uint32_t caplen = field32(h + 8);
        if (caplen > max_caplen_) {
            hand_over_to_libpcap();  // libpcap's to cut or reject, with its own words
            return;
        }
        const std::size_t record = kPcapRecordHeaderLen + caplen;
        if (end - pos < record) {
            break;
        }
        describe(h, caplen, w.frames[w.n]);
        if (keep(w.frames[w.n], filter_.get())) {
            ++w.n;
        }
        pos += record;
        cursor_ += record;
    }
    if (limit_reached()) {
        stop_walking();
        return;
    }
    carry_.assign(w.data.begin() + static_cast<std::ptrdiff_t>(pos), w.data.end());
    carry_head_ = 0;
    carried_bytes_.store(carry_.size(), std::memory_order_relaxed);
    w.used = end;
    if (w.n != 0 && pos > 0) {
        average_record_.store(std::max<std::size_t>(pos / w.n, 1), std::memory_order_relaxed);
    }
}

}  // namespace vxcheck::capture

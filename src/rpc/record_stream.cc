// TCP reassembly per direction and RPC record marking (RFC 5531 section 11):
//
//   +-+-------------------------------+----------------------+-+--------------- ...
//   |L|   fragment length (31 bits)   |  fragment body ...   |L| next mark
//   +-+-------------------------------+----------------------+-+--------------- ...
//
// Pieces of the byte stream arrive in sequence order (held ones released when the gap fills);
// consume() walks marks and bodies, keeps the record as a view when it lies inside one piece
// and as a bounded copy otherwise, and delivers it when its last fragment ends.

#include "vxcheck/rpc/record_stream.h"

#include <algorithm>
#include <cstring>
#include <new>

#include "vxcheck/prefetch.h"
#include "vxcheck/rpc/message.h"

namespace vxcheck::rpc {
namespace {

constexpr std::uint32_t kFragmentLenMask = 0x7fffffffU;
// Bytes plausible_message_start() needs: xid, msg_type, rpcvers or reply_stat.
constexpr std::size_t kStartCheckLen = 12;

/// Signed distance from b to a in sequence space (RFC 1982 serial arithmetic).
std::int32_t seq_diff(std::uint32_t a, std::uint32_t b) noexcept {
    return static_cast<std::int32_t>(a - b);
}

std::uint32_t u32_size(std::size_t n) noexcept {
    return static_cast<std::uint32_t>(n);
}

/// Bytes that read as a record mark followed by an RPC header: the last-fragment
/// bit set (Linux and most stacks send one fragment per record), a length in range, and
/// msg_type 0 or 1 (rpcvers 2 for a call).
bool plausible_mark(Bytes data) noexcept {
    if (data.size() < kRecordMarkLen + kStartCheckLen) {
        return false;
    }
    const std::uint32_t mark = be32(data, 0);
    const std::uint32_t len = mark & kFragmentLenMask;
    return (mark & kLastFragment) != 0 && len >= kMinPlausibleRecord && len < kMaxRecordLen &&
           plausible_message_start(data.subspan(kRecordMarkLen));
}

// A plausible mark's first byte: the last-fragment bit, and length bits 24-30 clear because
// kMaxRecordLen is 2^24. The hunt looks for this byte with memchr, not at every offset.
constexpr std::uint8_t kMarkFirstByte = 0x80;
static_assert(kMaxRecordLen == 1U << 24, "a plausible mark's first byte is exactly 0x80");

/// The first offset at or after `from` where a plausible mark starts; data.size() if none.
std::size_t hunt(Bytes data, std::size_t from) noexcept {
    constexpr std::size_t kNeed = kRecordMarkLen + kStartCheckLen;
    if (data.size() < kNeed) {
        return data.size();
    }
    const std::uint8_t* const base = data.data();
    const std::uint8_t* const last = base + (data.size() - kNeed);  // last offset to try
    const std::uint8_t* p = base + from;
    while (p <= last) {
        const void* hit = std::memchr(p, kMarkFirstByte, static_cast<std::size_t>(last - p) + 1);
        if (hit == nullptr) {
            break;
        }
        p = static_cast<const std::uint8_t*>(hit);
        if (plausible_mark(data.subspan(static_cast<std::size_t>(p - base)))) {
            return static_cast<std::size_t>(p - base);
        }
        ++p;
    }
    return data.size();
}

}  // namespace

RecordStream::RecordStream() noexcept = default;
RecordStream::~RecordStream() = default;
RecordStream::RecordStream(RecordStream&&) noexcept = default;
RecordStream& RecordStream::operator=(RecordStream&&) noexcept = default;

void RecordStream::start(std::uint32_t seq) noexcept {
    reset_record();
    held_count_ = 0;
    hold_used_ = 0;
    started_ = true;
    in_sync_ = true;
    forget_hunt();
    next_seq_ = seq;
}

void RecordStream::prefetch() const noexcept {
    const auto* p = reinterpret_cast<const char*>(this);
    prefetch_line(p);
    prefetch_line(p + 64);
}

std::size_t RecordStream::memory_bytes() const noexcept {
    return ((taken_ & kBufTaken) != 0 ? kKeptBytes : 0) +
           ((taken_ & kHoldTaken) != 0 ? kMaxHeldBytes : 0);
}

void RecordStream::push(const Segment& segment, RecordSink& sink) noexcept {
    if (segment.claimed_len == 0) {
        return;
    }
    if (inside_body(segment)) {
        // Most segments of a READ's reply or a WRITE's call: what consume() would do with them.
        ++counters_.segments;
        last_ts_ = segment.ts;
        last_frame_ = segment.frame;
        next_seq_ += segment.claimed_len;
        frag_left_ -= segment.claimed_len;
        return;
    }
    const Bytes data = clip(segment.payload, segment.claimed_len);
    ++counters_.segments;
    if (data.size() < segment.claimed_len) {
        ++counters_.holes;
    }
    if (!started_) {
        // No SYN seen: the stream starts at the first plausible mark (consume() hunts).
        started_ = true;
        in_sync_ = false;
        next_seq_ = segment.seq;
    }
    last_ts_ = segment.ts;
    last_frame_ = segment.frame;
    const Piece piece{.seq = segment.seq,
                      .data = data,
                      .hole = segment.claimed_len - u32_size(data.size()),
                      .ts = segment.ts,
                      .frame = segment.frame};
    if (held_count_ == 0 && segment.seq == next_seq_) {
        consume(piece, sink);  // in order with nothing held: what place() comes down to
        return;
    }
    place(piece, sink);
}

// A segment that continues the current fragment's body, in order with nothing held, captured
// whole, and ends before the fragment does, none of whose bytes are kept (past the head,
// before the tail): consume() only counts it.
bool RecordStream::inside_body(const Segment& segment) const noexcept {
    const std::uint32_t n = segment.claimed_len;
    if (!(in_record_ && in_sync_ && segment.seq == next_seq_ && held_count_ == 0 &&
          mark_have_ == 0 && view_ == nullptr && start_checked_ && !record_cut_ && n < frag_left_ &&
          segment.payload.size() >= n)) {
        return false;
    }
    const std::uint32_t at = record_len_ - frag_left_;  // message offset of its first byte
    const Kept k = kept_of(at, at + n);
    return !k.head && !k.tail;
}

RecordStream::Kept RecordStream::kept_of(std::uint32_t at, std::uint32_t end) const noexcept {
    Kept k;
    k.tail_start = std::max<std::uint32_t>(
        record_len_ - std::min<std::uint32_t>(record_len_, kKeptTail), kKeptHead);
    k.head = at < kKeptHead;
    k.tail = frag_last_ && end > k.tail_start;
    return k;
}

void RecordStream::finish(RecordSink& sink) noexcept {
    while (held_count_ > 0) {
        declare_gap(held_[0].seq, sink);
        drain(sink);
    }
    if (in_record_ || mark_have_ > 0) {
        ++counters_.unfinished_at_end;
    }
    reset_record();
    held_count_ = 0;
    hold_used_ = 0;
    started_ = false;
    in_sync_ = false;
    forget_hunt();
}

void RecordStream::acknowledged(std::uint32_t ack, RecordSink& sink) noexcept {
    while (held_count_ > 0 && seq_diff(held_[0].seq, next_seq_) > 0 &&
           seq_diff(ack, held_[0].seq) >= 0) {
        declare_gap(held_[0].seq, sink);
        drain(sink);
    }
}

void RecordStream::note_lost(Timestamp ts) noexcept {
    if (!lost_any_ || lost_ts_ < ts) {
        lost_ts_ = ts;
    }
    lost_any_ = true;
}

void RecordStream::place(const Piece& piece, RecordSink& sink) noexcept {
    const std::int32_t d = seq_diff(piece.seq, next_seq_);
    if (d < -static_cast<std::int64_t>(kMaxRetransmitDistance)) {
        restart_at(piece.seq);
    } else if (d > 0) {
        hold_or_gap(piece, sink);
        return;
    }
    in_order(piece, sink);
    drain(sink);
}

void RecordStream::hold_or_gap(const Piece& piece, RecordSink& sink) noexcept {
    while (seq_diff(piece.seq, next_seq_) > 0) {
        if (hold(piece)) {
            return;
        }
        // The window is full (or the piece alone is larger than it): give up waiting for the
        // earliest missing bytes.
        ++counters_.window_full;
        const std::uint32_t to =
            held_count_ > 0 && seq_diff(held_[0].seq, piece.seq) < 0 ? held_[0].seq : piece.seq;
        declare_gap(to, sink);
        drain(sink);
    }
    in_order(piece, sink);
    drain(sink);
}

bool RecordStream::hold(const Piece& piece) noexcept {
    const std::size_t n = piece.data.size();
    if (held_count_ == kMaxHeldSegments || n > kMaxHeldBytes - hold_used_) {
        return false;
    }
    std::size_t at = 0;
    while (at < held_count_ && seq_diff(held_[at].seq, piece.seq) < 0) {
        ++at;
    }
    if (at < held_count_ && held_[at].seq == piece.seq &&
        held_[at].len + held_[at].hole >= piece.data.size() + piece.hole) {
        // The same out-of-order segment again: a TCP-level retransmission.
        ++counters_.retransmitted_segments;
        counters_.retransmitted_bytes += piece.data.size() + piece.hole;
        return true;
    }
    if (!hold_) {
        hold_.reset(new (std::nothrow) std::uint8_t[kMaxHeldBytes]);
        if (!hold_) {
            return false;
        }
        taken_ |= kHoldTaken;
    }
    std::copy_backward(held_ + at, held_ + held_count_, held_ + held_count_ + 1);
    if (n > 0) {
        std::memcpy(hold_.get() + hold_used_, piece.data.data(), n);
    }
    held_[at] = {.seq = piece.seq,
                 .off = u32_size(hold_used_),
                 .len = u32_size(n),
                 .hole = piece.hole,
                 .ts = piece.ts,
                 .frame = piece.frame};
    hold_used_ += n;
    ++held_count_;
    ++counters_.held_segments;
    return true;
}

void RecordStream::declare_gap(std::uint32_t to_seq, RecordSink& sink) noexcept {
    const std::int32_t n = seq_diff(to_seq, next_seq_);
    if (n <= 0) {
        return;
    }
    ++counters_.gaps;
    counters_.gap_bytes += static_cast<std::uint32_t>(n);
    note_lost(last_ts_);
    // A gap is a hole without captured bytes: inside a record body the record survives (cut).
    const Piece gap{.seq = next_seq_,
                    .data = {},
                    .hole = static_cast<std::uint32_t>(n),
                    .ts = last_ts_,
                    .frame = last_frame_};
    consume(gap, sink);
}

void RecordStream::in_order(const Piece& piece, RecordSink& sink) noexcept {
    const std::int32_t d = seq_diff(piece.seq, next_seq_);
    const std::size_t total = piece.data.size() + piece.hole;
    const std::size_t old = d < 0 ? static_cast<std::size_t>(-static_cast<std::int64_t>(d)) : 0;
    if (old >= total) {
        ++counters_.retransmitted_segments;
        counters_.retransmitted_bytes += total;
        return;
    }
    if (old == 0) {
        consume(piece, sink);
        return;
    }
    counters_.retransmitted_bytes += old;
    Piece rest = piece;
    rest.seq = next_seq_;
    const std::size_t cut = std::min(old, piece.data.size());
    rest.data = piece.data.subspan(cut);
    rest.hole = u32_size(total - old - rest.data.size());
    consume(rest, sink);
}

void RecordStream::drain(RecordSink& sink) noexcept {
    while (held_count_ > 0 && seq_diff(held_[0].seq, next_seq_) <= 0) {
        const Held h = held_[0];
        std::copy(held_ + 1, held_ + held_count_, held_);
        --held_count_;
        in_order({.seq = h.seq,
                  .data = Bytes{hold_.get() + h.off, h.len},
                  .hole = h.hole,
                  .ts = h.ts,
                  .frame = h.frame},
                 sink);
    }
    if (held_count_ == 0) {
        hold_used_ = 0;
    }
}

// Walks marks and bodies over one in-order piece: a mark may be split over pieces, a body may
// end anywhere, and the piece's hole (bytes not captured) comes after its captured bytes. Out of
// sync, it hunts for the next plausible mark.
void RecordStream::consume(const Piece& piece, RecordSink& sink) noexcept {
    const Bytes data = piece.data;
    next_seq_ = piece.seq + u32_size(data.size()) + piece.hole;
    std::size_t p = 0;
    while (p < data.size()) {
        if (!in_sync_) {
            const std::size_t found = resync_at(data, p);
            if (found != p) {
                counters_.skipped_bytes += found - p;
                note_lost(piece.ts);
            }
            p = found;
            if (p == data.size()) {
                break;
            }
            in_sync_ = true;
            forget_hunt();
            ++counters_.resyncs;
        }
        if (frag_left_ == 0 && mark_have_ == 0 && !in_record_ && deliver_whole(piece, p, sink)) {
            continue;
        }
        if (frag_left_ == 0) {
            const std::size_t take =
                std::min<std::size_t>(kRecordMarkLen - mark_have_, data.size() - p);
            std::memcpy(mark_ + mark_have_, data.data() + p, take);
            mark_have_ = static_cast<std::uint8_t>(mark_have_ + take);
            p += take;
            if (mark_have_ < kRecordMarkLen) {
                break;
            }
            mark_have_ = 0;
            on_mark(piece.seq + u32_size(p - kRecordMarkLen), data.data() + p, piece);
        } else {
            const std::size_t take = std::min<std::size_t>(frag_left_, data.size() - p);
            if (view_ != nullptr) {
                view_len_ += u32_size(take);
            } else {
                append(data.data() + p, take, record_len_ - frag_left_);
            }
            p += take;
            frag_left_ -= u32_size(take);
            check_start();
        }
        if (in_sync_ && in_record_ && frag_left_ == 0 && frag_last_) {
            complete(piece, sink);
        }
    }
    if (!in_sync_) {
        if (piece.hole != 0) {
            counters_.skipped_bytes += piece.hole;
            note_lost(piece.ts);
        }
        return;
    }
    const bool ends_in_hole = frag_last_ && frag_left_ <= piece.hole;
    if (view_ != nullptr && in_record_ && !ends_in_hole) {
        spill();  // the record goes on past this piece: the view dies with it
    }
    if (piece.hole > 0) {
        consume_hole(piece.hole, piece, sink);
    }
}

// Between records, the common case: the next record is one fragment that lies wholly inside the
// piece. It is delivered as a view straight from the piece, exactly as the general walk below
// would deliver it (one fragment, whole, its start found plausible), without the walk's
// bookkeeping. Anything else (a longer record, more fragments, an implausible start, a record
// too short to be a message) is left to the general walk, which also counts and resynchronises.
bool RecordStream::deliver_whole(const Piece& piece, std::size_t& p, RecordSink& sink) noexcept {
    const Bytes data = piece.data;
    const std::size_t left = data.size() - p;
    if (left < kRecordMarkLen + kMinReplyLen) {
        return false;
    }
    const std::uint32_t mark = be32(data, p);
    const std::uint32_t len = mark & kFragmentLenMask;
    static_assert(kMinReplyLen >= kStartCheckLen, "a deliverable record's start is checked");
    if ((mark & kLastFragment) == 0 || len < kMinReplyLen || len > left - kRecordMarkLen) {
        return false;
    }
    const Bytes body = data.subspan(p + kRecordMarkLen, len);
    if (!plausible_message_start(body)) {
        return false;
    }
    Record r;
    r.bytes = body;
    r.length = len;
    r.whole = true;
    r.seq = piece.seq + u32_size(p);
    r.ts = piece.ts;
    r.first_frame = piece.frame;
    r.frame = piece.frame;
    r.fragments = 1;
    ++counters_.records;
    ++counters_.fragments;
    p += kRecordMarkLen + len;
    sink.on_record(r);
    return true;
}

// Out of sync, a hunting stream tries every offset of a piece; after kMaxHuntBytes or
// kMaxHuntSegments without a plausible mark the direction is not RPC, and only each piece's
// first byte is tried (senders start a record at a segment boundary), so a stream that carries
// no RPC costs one check per segment instead of one per payload byte.
std::size_t RecordStream::resync_at(Bytes data, std::size_t from) noexcept {
    if (not_rpc_) {
        ++counters_.not_rpc_segments;
        return from == 0 && plausible_mark(data) ? 0 : data.size();
    }
    const std::size_t found = hunt(data, from);
    if (found < data.size()) {
        return found;
    }
    hunted_bytes_ += data.size() - from;
    ++hunted_segments_;
    if (hunted_bytes_ >= kMaxHuntBytes || hunted_segments_ >= kMaxHuntSegments) {
        not_rpc_ = true;
        ++counters_.hunts_given_up;
    }
    return found;
}

void RecordStream::forget_hunt() noexcept {
    not_rpc_ = false;
    hunted_bytes_ = 0;
    hunted_segments_ = 0;
}

void RecordStream::consume_hole(std::uint32_t hole, const Piece& piece, RecordSink& sink) noexcept {
    if (frag_left_ == 0 || mark_have_ > 0) {
        // The next mark is among the missing bytes.
        counters_.skipped_bytes += hole;
        lose_sync(false);
        return;
    }
    const std::uint32_t body = std::min(hole, frag_left_);
    frag_left_ -= body;
    record_cut_ = true;
    if (frag_left_ == 0 && frag_last_) {
        complete(piece, sink);
    }
    if (hole > body) {
        counters_.skipped_bytes += hole - body;
        lose_sync(false);
    }
}

void RecordStream::on_mark(std::uint32_t mark_seq, const std::uint8_t* body,
                           const Piece& piece) noexcept {
    const std::uint32_t mark = be32(Bytes{mark_, kRecordMarkLen}, 0);
    const std::uint32_t len = mark & kFragmentLenMask;
    if (len > kMaxRecordLen - record_len_) {
        lose_sync(true);
        return;
    }
    if (!in_record_) {
        in_record_ = true;
        record_seq_ = mark_seq;
        record_first_frame_ = piece.frame;
        // The body starts inside this piece: keep it as a view until it leaves the piece.
        view_ = body;
        view_len_ = 0;
    } else if (view_ != nullptr) {
        spill();  // a second fragment: the bodies are not contiguous any more
    }
    record_len_ += len;
    frag_left_ = len;
    frag_last_ = (mark & kLastFragment) != 0;
    ++fragments_;
}

// Keeps what the record's parse can need of n body bytes at message offset `at` (bytes arrive
// in order): those below kKeptHead, and, once the last fragment's mark gave the message length,
// those in its last kKeptTail bytes (never below kKeptHead, so a record of at most kKeptBytes is
// kept whole and contiguous). Bytes between are only counted.
void RecordStream::append(const std::uint8_t* bytes, std::size_t n, std::uint32_t at) noexcept {
    if (record_cut_ || n == 0) {
        return;  // after a hole nothing more is kept: the bytes would not be contiguous
    }
    const std::uint32_t end = at + u32_size(n);
    const auto [head, tail, tail_start] = kept_of(at, end);
    if (!head && !tail) {
        return;
    }
    if (!buf_) {
        buf_.reset(new (std::nothrow) std::uint8_t[kKeptBytes]);
        if (!buf_) {
            record_cut_ = true;
            return;
        }
        taken_ |= kBufTaken;
    }
    if (head) {
        const std::uint32_t take = std::min<std::uint32_t>(end, kKeptHead) - at;
        std::memcpy(buf_.get() + at, bytes, take);
        kept_ = at + take;
    }
    if (tail) {
        const std::uint32_t from = std::max(at, tail_start);
        if (tail_kept_ == 0) {
            tail_from_ = from;
        }
        // In order and without holes, `from` continues the tail: tail_from_ + tail_kept_.
        std::memcpy(buf_.get() + kKeptHead + (from - tail_from_), bytes + (from - at), end - from);
        tail_kept_ = end - tail_from_;
    }
}

void RecordStream::spill() noexcept {
    const std::uint8_t* v = view_;
    view_ = nullptr;
    append(v, view_len_, 0);  // a view holds the first fragment's body from its start
    view_len_ = 0;
}

void RecordStream::check_start() noexcept {
    if (start_checked_) {
        return;
    }
    const std::uint8_t* first = view_ != nullptr ? view_ : buf_.get();
    const std::size_t have = view_ != nullptr ? view_len_ : kept_;
    if (have < kStartCheckLen || first == nullptr) {
        return;
    }
    start_checked_ = true;
    if (!plausible_message_start(Bytes{first, have})) {
        lose_sync(true);
    }
}

void RecordStream::complete(const Piece& piece, RecordSink& sink) noexcept {
    if (record_len_ < kMinReplyLen) {
        lose_sync(true);  // no RPC message is this short: the marks are not trustworthy
        return;
    }
    Record r;
    if (view_ != nullptr) {
        r.bytes = Bytes{view_, view_len_};
    } else if (buf_ && tail_kept_ > 0 && tail_from_ == kept_) {
        r.bytes = Bytes{buf_.get(), std::size_t{kept_} + tail_kept_};  // kept whole
    } else if (buf_) {
        r.bytes = Bytes{buf_.get(), kept_};
        if (tail_kept_ > 0) {
            r.tail = Bytes{buf_.get() + kKeptHead, tail_kept_};
            r.tail_at = tail_from_;
        }
    }
    r.length = record_len_;
    r.whole = !record_cut_ && r.bytes.size() == record_len_;
    r.seq = record_seq_;
    r.ts = piece.ts;
    r.first_frame = record_first_frame_;
    r.frame = piece.frame;
    r.fragments = fragments_;
    ++counters_.records;
    counters_.fragments += fragments_;
    if (record_cut_) {
        ++counters_.records_cut;
    } else if (r.bytes.size() + r.tail.size() < record_len_) {
        ++counters_.records_over_prefix;
    }
    reset_record();
    sink.on_record(r);
}

void RecordStream::lose_sync(bool garbled) noexcept {
    note_lost(last_ts_);
    if (garbled) {
        ++counters_.garbled_marks;
    } else if (in_record_ || mark_have_ > 0) {
        ++counters_.records_lost;
    }
    in_sync_ = false;
    reset_record();
}

void RecordStream::restart_at(std::uint32_t seq) noexcept {
    ++counters_.seq_jumps;
    lose_sync(false);
    held_count_ = 0;
    hold_used_ = 0;
    next_seq_ = seq;
}

void RecordStream::reset_record() noexcept {
    in_record_ = false;
    record_seq_ = 0;
    record_first_frame_ = 0;
    record_len_ = 0;
    frag_left_ = 0;
    frag_last_ = false;
    fragments_ = 0;
    mark_have_ = 0;
    record_cut_ = false;
    start_checked_ = false;
    view_ = nullptr;
    view_len_ = 0;
    kept_ = 0;
    tail_from_ = 0;
    tail_kept_ = 0;
}

Record udp_record(Bytes datagram, std::uint32_t claimed_len, Timestamp ts,
                  std::uint64_t frame) noexcept {
    Record r;
    r.bytes = clip(datagram, claimed_len);
    r.length = claimed_len;
    r.whole = r.bytes.size() == claimed_len;
    r.ts = ts;
    r.first_frame = frame;
    r.frame = frame;
    r.fragments = 0;
    return r;
}

}  // namespace vxcheck::rpc

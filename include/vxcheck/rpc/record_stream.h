#pragma once
// One direction of a TCP connection turned into ONC RPC messages: TCP reassembly (bounded) and
// record marking (RFC 5531 section 11). Also the UDP case: one datagram, one message.
//
// Rules:
// - A record is one or more fragments, each behind a 4-byte mark (bit 31: last fragment, bits
//   0-30: its length). The message length is the sum of the fragment lengths, without the marks
//   (RFC 8881 section 18.36.3 measures channel sizes the same way).
// - Bytes before the next expected sequence number were delivered already: a TCP-level
//   retransmission, counted, never a new record.
// - Segments ahead of the next expected byte are copied into a bounded window and used when the
//   gap fills. When the window is full, or at finish(), the gap is declared: the unknown bytes
//   are dropped and the stream resynchronises.
// - Bytes the capture did not keep (payload shorter than the headers claim) are a hole. A hole
//   inside a record body delivers the record with the bytes before the hole (whole = false); a
//   hole over a record mark loses sync.
// - Out of sync, the stream hunts for the next plausible record mark (at a segment start or
//   inside a segment): last-fragment bit set, length in [kMinPlausibleRecord, kMaxRecordLen),
//   followed by msg_type 0 or 1 (and rpcvers 2 for a call, reply_stat 0 or 1 for a reply).
//   Bytes before it are skipped and counted. After kMaxHuntBytes or kMaxHuntSegments of
//   hunting without a plausible mark, the direction is "not RPC": from then on only a mark at
//   each segment's start is checked (Linux starts a record at a segment boundary, and a
//   coalesced GRO super-segment starts where its first segment did), and a plausible mark there
//   brings the stream back in sync. start() and finish() forget the verdict.
// - A record inside one segment is delivered as a view into the segment (zero-copy). A record
//   over several segments is copied into a buffer the stream allocates the first time it needs
//   it (streams without RPC never allocate), at most its first kKeptHead bytes and the last
//   kKeptTail bytes of its last fragment: the headers and the ops before a READ's or WRITE's
//   data, and the ops after it (a WRITE compound's GETATTR), without copying the data between.
//   A record no longer than kKeptHead + kKeptTail is kept whole.
// Every bound is a named constant below and counted when hit.

#include <cstddef>
#include <cstdint>
#include <memory>

#include "vxcheck/bytes.h"
#include "vxcheck/frame.h"
#include "vxcheck/rpc/xdr.h"

namespace vxcheck::rpc {

// Bounds.
inline constexpr std::size_t kKeptHead = 2 * 1024;  // first bytes of a multi-segment record kept
inline constexpr std::size_t kKeptTail = 1024;      // last bytes of its last fragment kept
inline constexpr std::size_t kKeptBytes = kKeptHead + kKeptTail;  // the stream's record buffer
inline constexpr std::size_t kMaxHeldSegments = 8;  // out-of-order segments waiting for a gap
inline constexpr std::size_t kMaxHeldBytes = 64 * 1024;
inline constexpr std::uint32_t kMaxRecordLen = 16U * 1024 * 1024;  // message (all fragments)
inline constexpr std::uint32_t kMinPlausibleRecord = 24;           // a resync mark's first fragment
// A segment this far before the next expected byte is not a retransmission (TCP resends only
// unacknowledged data, within the window): the sequence space jumped, and the stream starts
// over there (hunting for a mark) instead of ignoring everything that follows.
inline constexpr std::uint32_t kMaxRetransmitDistance = 64U * 1024 * 1024;
// Hunting budget: bytes or segments scanned out of sync, without a plausible mark, before the
// stream checks only segment starts.
inline constexpr std::size_t kMaxHuntBytes = 64 * 1024;
inline constexpr std::uint32_t kMaxHuntSegments = 8;
inline constexpr std::uint32_t kLastFragment = 0x80000000U;
inline constexpr std::size_t kRecordMarkLen = 4;

/// One TCP segment's payload, in capture order.
struct Segment {
    std::uint32_t seq = 0;          // sequence number of the first payload byte
    Bytes payload;                  // the bytes captured (may be shorter than claimed_len)
    std::uint32_t claimed_len = 0;  // payload length the IP/TCP headers claim
    Timestamp ts;
    std::uint64_t frame = 0;  // frame number, for evidence
};

/// One RPC message out of the stream. Views are valid only during the sink call.
struct Record {
    Bytes bytes;                    // the message without marks, or its first bytes
    Bytes tail;                     // of a long message: its last bytes kept (else empty),
    std::uint32_t tail_at = 0;      // from this offset of the message (>= bytes.size())
    std::uint32_t length = 0;       // the whole message length (sum of fragment lengths)
    bool whole = false;             // bytes.size() == length (nothing cut, no hole)
    std::uint32_t seq = 0;          // stream position of the record's first mark
    Timestamp ts;                   // of the segment that completed the record
    std::uint64_t first_frame = 0;  // frame of the first mark
    std::uint64_t frame = 0;        // frame that completed the record
    std::uint32_t fragments = 0;

    /// The message as far as it was kept, for the XDR reader.
    [[nodiscard]] XdrBytes xdr() const noexcept { return {bytes, tail, tail_at}; }
};

/// Receives records. on_record runs inside RecordStream::push()/finish().
class RecordSink {
  public:
    virtual void on_record(const Record& record) noexcept = 0;

  protected:
    RecordSink() = default;
    RecordSink(const RecordSink&) = default;
    RecordSink& operator=(const RecordSink&) = default;
    virtual ~RecordSink() = default;
};

/// What the stream saw and where it hit a bound.
struct StreamCounters {
    // The first eight are counted per segment (or per record): one cache line.
    std::uint64_t segments = 0;          // segments with payload pushed
    std::uint64_t records = 0;           // records delivered
    std::uint64_t fragments = 0;         // fragments of delivered records
    std::uint64_t not_rpc_segments = 0;  // out of sync and not RPC: only the start was checked
    std::uint64_t skipped_bytes = 0;     // bytes skipped while out of sync
    std::uint64_t holes = 0;             // segments shorter than claimed (snaplen)
    std::uint64_t retransmitted_segments = 0;  // wholly before the next expected byte
    std::uint64_t retransmitted_bytes = 0;     // bytes before the next expected byte
    std::uint64_t held_segments = 0;           // out-of-order segments held in the window
    std::uint64_t window_full = 0;             // a segment did not fit the window (gap declared)
    std::uint64_t gaps = 0;                    // gaps declared (bytes never seen)
    std::uint64_t gap_bytes = 0;               // sequence space skipped over those gaps
    std::uint64_t records_cut = 0;             // delivered with whole == false (hole in the body)
    std::uint64_t records_over_prefix = 0;     // longer than kKeptBytes: only the ends kept
    std::uint64_t garbled_marks = 0;           // implausible record marks (length, msg_type ...)
    std::uint64_t resyncs = 0;                 // times the stream found sync again
    std::uint64_t records_lost = 0;            // begun, then sync lost (hole over a mark, gap ...)
    std::uint64_t seq_jumps = 0;               // segments far behind: the stream started over there
    std::uint64_t unfinished_at_end = 0;       // a record begun but not completed at finish()
    std::uint64_t hunts_given_up = 0;          // hunting budget spent: the direction is not RPC
};

/// One direction of one TCP connection. Not copyable (owns the lazily allocated buffers).
class alignas(64) RecordStream {
  public:
    RecordStream() noexcept;
    ~RecordStream();
    RecordStream(const RecordStream&) = delete;
    RecordStream& operator=(const RecordStream&) = delete;
    RecordStream(RecordStream&&) noexcept;
    RecordStream& operator=(RecordStream&&) noexcept;

    /// The first payload byte is at `seq` (ISN + 1, from the SYN): the stream starts in sync.
    /// Without start(), the stream begins at the first plausible record mark.
    void start(std::uint32_t seq) noexcept;
    /// Feeds one segment (zero-length payloads are ignored). Delivers every record it completes.
    void push(const Segment& segment, RecordSink& sink) noexcept;
    /// End of the stream (FIN, RST or end of capture): declares any gap, counts an unfinished
    /// record. The stream can be reused after start().
    void finish(RecordSink& sink) noexcept;
    /// The peer acknowledged the stream's bytes up to `ack` (exclusive): bytes the stream still
    /// waits for, before a segment it holds, reached the peer without being captured. Declares
    /// the gap up to the first held segment that starts before `ack`, and delivers what follows.
    void acknowledged(std::uint32_t ack, RecordSink& sink) noexcept;
    /// Whether segments are held, waiting for the bytes before them.
    [[nodiscard]] bool holding() const noexcept { return held_count_ != 0; }
    /// Whether bytes of the stream were lost to the reader (a gap declared, bytes skipped out of
    /// sync, a record mark not captured or implausible), and the time of the latest segment at
    /// which that happened: a message sent before then may be among the bytes lost.
    [[nodiscard]] bool lost_any() const noexcept { return lost_any_; }
    [[nodiscard]] Timestamp lost_until() const noexcept { return lost_ts_; }
    /// The sequence number after the last byte read (delivered, held back excluded), once a
    /// segment or start() gave the stream a position; finish() keeps it.
    [[nodiscard]] std::uint32_t read_to() const noexcept { return next_seq_; }

    [[nodiscard]] const StreamCounters& counters() const noexcept { return counters_; }
    /// True while the stream knows where the next record mark is.
    [[nodiscard]] bool in_sync() const noexcept { return in_sync_; }
    /// Whether a segment of `payload` bytes at the next expected byte may complete a record
    /// (false only when it surely lies inside the current fragment's body): a hint for what to
    /// load before push().
    [[nodiscard]] bool may_complete(std::size_t payload) const noexcept {
        return !(in_sync_ && in_record_ && mark_have_ == 0 && payload < frag_left_);
    }
    /// Heap bytes this stream holds (0 until a record spans segments or one is held).
    [[nodiscard]] std::size_t memory_bytes() const noexcept;
    /// A hint: starts loading the lines push() reads first for a segment in sync.
    void prefetch() const noexcept;

  private:
    // A piece of the byte stream: captured bytes, then `hole` bytes the capture did not keep.
    struct Piece {
        std::uint32_t seq = 0;
        Bytes data;
        std::uint32_t hole = 0;
        Timestamp ts;
        std::uint64_t frame = 0;
    };
    struct Held {
        std::uint32_t seq = 0;
        std::uint32_t off = 0;  // captured bytes at hold_[off, off + len)
        std::uint32_t len = 0;
        std::uint32_t hole = 0;
        Timestamp ts;
        std::uint64_t frame = 0;
    };

    // Which of the body bytes [at, end) of the record being assembled append() keeps: those
    // below kKeptHead, and, of the last fragment, those from tail_start (its last kKeptTail
    // bytes, never below kKeptHead).
    struct Kept {
        bool head = false;
        bool tail = false;
        std::uint32_t tail_start = 0;
    };
    [[nodiscard]] Kept kept_of(std::uint32_t at, std::uint32_t end) const noexcept;
    [[nodiscard]] bool inside_body(const Segment& segment) const noexcept;
    void place(const Piece& piece, RecordSink& sink) noexcept;
    void hold_or_gap(const Piece& piece, RecordSink& sink) noexcept;
    [[nodiscard]] bool hold(const Piece& piece) noexcept;
    void declare_gap(std::uint32_t to_seq, RecordSink& sink) noexcept;
    void in_order(const Piece& piece, RecordSink& sink) noexcept;
    void drain(RecordSink& sink) noexcept;
    void consume(const Piece& piece, RecordSink& sink) noexcept;
    [[nodiscard]] bool deliver_whole(const Piece& piece, std::size_t& p, RecordSink& sink) noexcept;
    void consume_hole(std::uint32_t hole, const Piece& piece, RecordSink& sink) noexcept;
    void on_mark(std::uint32_t mark_seq, const std::uint8_t* body, const Piece& piece) noexcept;
    void append(const std::uint8_t* bytes, std::size_t n, std::uint32_t at) noexcept;
    void spill() noexcept;
    [[nodiscard]] std::size_t resync_at(Bytes data, std::size_t from) noexcept;
    void forget_hunt() noexcept;
    void check_start() noexcept;
    void complete(const Piece& piece, RecordSink& sink) noexcept;
    void lose_sync(bool garbled) noexcept;
    void restart_at(std::uint32_t seq) noexcept;
    void reset_record() noexcept;
    void note_lost(Timestamp ts) noexcept;

    static constexpr std::uint16_t kBufTaken = 1;
    static constexpr std::uint16_t kHoldTaken = 2;

    // Laid out for the per-segment path: the state a segment in sync reads and writes is the
    // first cache line; what it records of itself (its time, its frame) and the counters it bumps
    // the second (prefetch() loads both); the window and its bookkeeping last.
    bool started_ = false;
    bool in_sync_ = false;
    bool not_rpc_ = false;          // hunting budget spent: only segment starts are checked
    bool in_record_ = false;        // a first mark was read, the record is not delivered yet
    bool frag_last_ = false;        // the current fragment is the last
    bool record_cut_ = false;       // bytes of the body are missing (hole or gap)
    bool start_checked_ = false;    // the message start was found plausible
    std::uint8_t mark_have_ = 0;    // bytes of a mark split over pieces
    std::uint32_t next_seq_ = 0;    // next expected byte
    std::uint32_t record_seq_ = 0;  // the record being assembled: stream position of its first mark
    std::uint32_t record_len_ = 0;  // sum of the fragment lengths read so far
    std::uint32_t frag_left_ = 0;   // body bytes left in the current fragment
    std::uint32_t fragments_ = 0;
    std::uint8_t mark_[kRecordMarkLen] = {};
    std::uint16_t hunted_segments_ = 0;  // at most kMaxHuntSegments
    // Which buffers are allocated (kBufTaken, kHoldTaken), so that memory_bytes() reads this
    // line and not the pointers at the end.
    std::uint16_t taken_ = 0;
    std::uint32_t held_count_ = 0;
    std::uint32_t view_len_ = 0;   // at most one segment's payload
    std::uint32_t kept_ = 0;       // bytes of the message from its start in buf_ (copy mode)
    std::uint32_t tail_from_ = 0;  // copy mode: message offset of buf_[kKeptHead], when tail_kept_
    std::uint32_t tail_kept_ = 0;  // bytes kept from tail_from_ on, in buf_ after kKeptHead
    const std::uint8_t* view_ = nullptr;  // zero-copy: the body inside the current piece
    std::uint64_t record_first_frame_ = 0;
    Timestamp last_ts_;
    std::uint64_t last_frame_ = 0;
    StreamCounters counters_;
    Timestamp lost_ts_;  // lost_until()
    bool lost_any_ = false;
    std::size_t hunted_bytes_ = 0;

    std::unique_ptr<std::uint8_t[]> buf_;   // kKeptBytes bytes, allocated on first need
    std::unique_ptr<std::uint8_t[]> hold_;  // kMaxHeldBytes bytes, allocated on first need
    std::size_t hold_used_ = 0;
    Held held_[kMaxHeldSegments];  // sorted by seq
};

/// UDP: one datagram is one message (no record mark). `claimed_len` is the UDP payload length
/// the headers claim; a shorter capture gives whole == false.
[[nodiscard]] Record udp_record(Bytes datagram, std::uint32_t claimed_len, Timestamp ts,
                                std::uint64_t frame) noexcept;

}  // namespace vxcheck::rpc

// RecordStream: TCP reassembly and RPC record marking (RFC 5531 section 11).

#include "vxcheck/rpc/record_stream.h"

#include <gtest/gtest.h>

#include <vector>

#include "vxcheck/rpc/message.h"
#include "vxcheck/rpc/nfs.h"
#include "xdr_builder.h"

namespace vxcheck::rpc {
namespace {

using test::ByteVec;
using test::concat;
using test::record;

constexpr std::uint32_t kIsn = 1000;

struct Got {
    ByteVec bytes;
    std::uint32_t length = 0;
    bool whole = false;
    std::uint32_t seq = 0;
    std::uint32_t fragments = 0;
    std::uint64_t first_frame = 0;
    std::uint64_t frame = 0;
    const std::uint8_t* data = nullptr;  // where the view pointed (zero-copy check)
    ByteVec tail;
    std::uint32_t tail_at = 0;
};

class Collect : public RecordSink {
  public:
    void on_record(const Record& r) noexcept override {
        got.push_back({ByteVec(r.bytes.begin(), r.bytes.end()), r.length, r.whole, r.seq,
                       r.fragments, r.first_frame, r.frame, r.bytes.data(),
                       ByteVec(r.tail.begin(), r.tail.end()), r.tail_at});
    }
    std::vector<Got> got;
};

/// Feeds the stream; keeps the payloads alive for the test's duration.
class Feeder {
  public:
    explicit Feeder(bool start = true) {
        if (start) {
            stream.start(kIsn + 1);
        }
    }
    /// Pushes bytes [off, off + n) of `data` as a segment at relative sequence `off`.
    void push(const ByteVec& data, std::size_t off, std::size_t n,
              std::size_t captured = SIZE_MAX) {
        const std::size_t cap = std::min(n, captured);
        keep.emplace_back(data.begin() + static_cast<std::ptrdiff_t>(off),
                          data.begin() + static_cast<std::ptrdiff_t>(off + cap));
        Segment s;
        s.seq = static_cast<std::uint32_t>(kIsn + 1 + off);
        s.payload = Bytes{keep.back()};
        s.claimed_len = static_cast<std::uint32_t>(n);
        s.frame = ++frame;
        s.ts = Timestamp{static_cast<std::int64_t>(frame), 0};
        last_payload = s.payload.data();
        stream.push(s, sink);
    }
    void push_all(const ByteVec& data, std::size_t seg) {
        for (std::size_t off = 0; off < data.size(); off += seg) {
            push(data, off, std::min(seg, data.size() - off));
        }
    }

    RecordStream stream;
    Collect sink;
    std::vector<ByteVec> keep;
    std::uint64_t frame = 0;
    const std::uint8_t* last_payload = nullptr;
};

ByteVec call(std::uint32_t xid, std::size_t arg_bytes = 0) {
    return test::rpc_call(xid, kProgNfs, 4, 1, ByteVec(arg_bytes, 0xab));
}

TEST(RecordStream, SeveralRecordsInOneSegmentAreEachDeliveredAsViews) {
    const ByteVec a = call(1);
    const ByteVec b = test::rpc_reply(2);
    const ByteVec c = call(3, 100);
    const ByteVec stream = concat({record(a), record(b), record(c)});
    Feeder f;
    f.push(stream, 0, stream.size());
    ASSERT_EQ(f.sink.got.size(), 3U);
    EXPECT_EQ(f.sink.got[0].bytes, a);
    EXPECT_EQ(f.sink.got[1].bytes, b);
    EXPECT_EQ(f.sink.got[2].bytes, c);
    EXPECT_EQ(f.sink.got[1].seq, kIsn + 1 + record(a).size());
    EXPECT_EQ(f.sink.got[0].data, f.last_payload + 4);  // zero-copy view into the segment
    EXPECT_TRUE(f.sink.got[2].whole);
    EXPECT_EQ(f.stream.memory_bytes(), 0U);  // nothing spanned segments: no allocation
}

// A record that lies wholly inside its segment takes a shorter path than one walked byte by byte;
// both must deliver the same records and count the same things, whatever lies around them.
TEST(RecordStream, WholeRecordsInASegmentAreDeliveredAsTheByteWalkDeliversThem) {
    ByteVec too_short = test::Xdr().u32(0x80000004U).u32(0).bytes();
    ByteVec implausible(40, 0x41);
    implausible[0] = 0x80;
    implausible[1] = 0;
    implausible[2] = 0;
    implausible[3] = 36;  // a plausible length, then a body that is no RPC header
    const ByteVec nine = call(9);
    const ByteVec two_fragments =
        concat({test::Xdr().u32(8).bytes(), ByteVec(nine.begin(), nine.begin() + 8),
                test::Xdr().u32(0x80000000U | static_cast<std::uint32_t>(nine.size() - 8)).bytes(),
                ByteVec(nine.begin() + 8, nine.end())});
    const ByteVec clean = concat({record(call(1)), record(test::rpc_reply(1)), two_fragments,
                                  record(call(2, 60)), record(call(3)), record(call(5, 9))});
    for (const std::size_t cut : {std::size_t{1}, std::size_t{7}, std::size_t{64}}) {
        SCOPED_TRACE(cut);
        Feeder whole;
        whole.push(clean, 0, clean.size());
        Feeder walked;
        walked.push_all(clean, cut);
        ASSERT_EQ(whole.sink.got.size(), 6U);
        ASSERT_EQ(walked.sink.got.size(), whole.sink.got.size());
        for (std::size_t i = 0; i < whole.sink.got.size(); ++i) {
            EXPECT_EQ(walked.sink.got[i].bytes, whole.sink.got[i].bytes);
            EXPECT_EQ(walked.sink.got[i].length, whole.sink.got[i].length);
            EXPECT_EQ(walked.sink.got[i].whole, whole.sink.got[i].whole);
            EXPECT_EQ(walked.sink.got[i].seq, whole.sink.got[i].seq);
            EXPECT_EQ(walked.sink.got[i].fragments, whole.sink.got[i].fragments);
        }
        EXPECT_EQ(walked.stream.counters().records, whole.stream.counters().records);
        EXPECT_EQ(walked.stream.counters().fragments, whole.stream.counters().fragments);
    }
    // Records that the short path must leave to the walk, inside one segment: too short to be a
    // message, and a plausible length before a body that is no RPC header. Each is a garbled
    // mark, and the walk hunts on to the next record in the same segment.
    const ByteVec stream =
        concat({record(call(1)), record(test::rpc_reply(1)), two_fragments, record(call(2, 60)),
                too_short, record(call(3)), implausible, record(call(4)), record(call(5, 9))});
    Feeder whole;
    whole.push(stream, 0, stream.size());
    // call 1, its reply, the two-fragment call 9, call 2; then the stream hunts past the short
    // record and finds call 3; then past the implausible one to call 4 and call 5.
    ASSERT_EQ(whole.sink.got.size(), 7U);
    EXPECT_EQ(whole.sink.got[2].fragments, 2U);
    EXPECT_EQ(whole.sink.got[2].bytes, call(9));
    EXPECT_EQ(whole.sink.got[4].bytes, call(3));
    EXPECT_EQ(whole.sink.got[5].bytes, call(4));
    EXPECT_EQ(whole.sink.got[6].bytes, call(5, 9));
    EXPECT_EQ(whole.stream.counters().garbled_marks, 2U);
    EXPECT_EQ(whole.stream.counters().resyncs, 2U);
}

TEST(RecordStream, OneRecordOverManySegmentsIsDeliveredOnceWhole) {
    const ByteVec a = call(7, 3000);
    const ByteVec stream = record(a);
    Feeder f;
    f.push_all(stream, 97);
    ASSERT_EQ(f.sink.got.size(), 1U);
    EXPECT_EQ(f.sink.got[0].bytes, a);
    EXPECT_TRUE(f.sink.got[0].whole);
    EXPECT_EQ(f.sink.got[0].length, a.size());
    EXPECT_EQ(f.sink.got[0].first_frame, 1U);
    EXPECT_EQ(f.sink.got[0].frame, f.frame);
}

TEST(RecordStream, OnlyASegmentInsideARecordBodySurelyCompletesNone) {
    const ByteVec a = call(7, 3000);
    const ByteVec stream = record(a);  // a 4-byte mark, then a.size() body bytes
    Feeder f;
    EXPECT_TRUE(f.stream.may_complete(100)) << "before the first mark";
    f.push(stream, 0, 1000);
    const std::size_t left = stream.size() - 1000;
    EXPECT_FALSE(f.stream.may_complete(left - 1)) << "ends inside the body";
    EXPECT_TRUE(f.stream.may_complete(left)) << "ends the record";
    f.push(stream, 1000, left - 1);
    EXPECT_TRUE(f.sink.got.empty());
    EXPECT_TRUE(f.stream.may_complete(1));
    f.push(stream, stream.size() - 1, 1);
    EXPECT_EQ(f.sink.got.size(), 1U);
    EXPECT_TRUE(f.stream.may_complete(1)) << "between records: the next may be short";
}

TEST(RecordStream, MarkSplitOverSegmentsIsJoined) {
    const ByteVec stream = concat({record(call(1)), record(call(2))});
    Feeder f;
    const std::size_t split = record(call(1)).size() + 2;  // inside the second mark
    f.push(stream, 0, split);
    f.push(stream, split, stream.size() - split);
    ASSERT_EQ(f.sink.got.size(), 2U);
    EXPECT_EQ(f.sink.got[1].bytes, call(2));
    EXPECT_EQ(f.sink.got[1].seq, kIsn + 1 + record(call(1)).size());
}

TEST(RecordStream, MultiFragmentRecordLengthIsSumOfFragmentsWithoutMarks) {
    const ByteVec a = call(9, 200);
    const ByteVec stream = test::fragmented_record(a, 64);
    Feeder f;
    f.push(stream, 0, stream.size());
    ASSERT_EQ(f.sink.got.size(), 1U);
    EXPECT_EQ(f.sink.got[0].bytes, a);
    EXPECT_EQ(f.sink.got[0].length, a.size());
    EXPECT_EQ(f.sink.got[0].fragments, (a.size() + 63) / 64);
    EXPECT_EQ(f.stream.counters().fragments, (a.size() + 63) / 64);
}

TEST(RecordStream, TcpLevelRetransmissionIsNeverANewRecord) {
    const ByteVec stream = concat({record(call(1)), record(call(2))});
    const std::size_t first = record(call(1)).size();
    Feeder f;
    f.push(stream, 0, first);
    f.push(stream, 0, first);                      // whole segment again
    f.push(stream, 0, stream.size());              // overlaps: only the new bytes count
    f.push(stream, first, stream.size() - first);  // the second again
    ASSERT_EQ(f.sink.got.size(), 2U);
    EXPECT_EQ(f.sink.got[1].bytes, call(2));
    EXPECT_EQ(f.stream.counters().retransmitted_segments, 2U);
    EXPECT_EQ(f.stream.counters().retransmitted_bytes, 2 * first + (stream.size() - first));
}

TEST(RecordStream, OutOfOrderSegmentIsHeldAndReleasedWhenTheGapFills) {
    const ByteVec stream = concat({record(call(1)), record(call(2)), record(call(3))});
    const std::size_t r = record(call(1)).size();
    Feeder f;
    f.push(stream, 2 * r, r);  // third record first
    f.push(stream, r, r);      // then the second
    EXPECT_TRUE(f.sink.got.empty());
    EXPECT_EQ(f.stream.memory_bytes(), kMaxHeldBytes);  // the window, taken on first need
    f.push(stream, 0, r);                               // the gap fills
    ASSERT_EQ(f.sink.got.size(), 3U);
    EXPECT_EQ(f.sink.got[0].bytes, call(1));
    EXPECT_EQ(f.sink.got[1].bytes, call(2));
    EXPECT_EQ(f.sink.got[2].bytes, call(3));
    EXPECT_EQ(f.stream.counters().held_segments, 2U);
    EXPECT_EQ(f.stream.counters().gaps, 0U);
}

TEST(RecordStream, WindowExceededDeclaresTheGapAndResynchronises) {
    ByteVec stream;
    std::vector<std::size_t> starts;
    for (std::uint32_t i = 0; i < kMaxHeldSegments + 3; ++i) {
        starts.push_back(stream.size());
        const ByteVec r = record(call(i + 1));
        stream.insert(stream.end(), r.begin(), r.end());
    }
    const std::size_t r = record(call(1)).size();
    Feeder f;
    // Record 0 is never seen; records 1.. arrive, more than the window holds.
    for (std::size_t i = 1; i < starts.size(); ++i) {
        f.push(stream, starts[i], r);
    }
    EXPECT_EQ(f.stream.counters().window_full, 1U);
    EXPECT_EQ(f.stream.counters().gaps, 1U);
    EXPECT_EQ(f.stream.counters().gap_bytes, r);
    ASSERT_EQ(f.sink.got.size(), starts.size() - 1);
    EXPECT_EQ(f.sink.got[0].bytes, call(2));
    EXPECT_EQ(f.sink.got.back().bytes, call(static_cast<std::uint32_t>(starts.size())));
    EXPECT_EQ(f.stream.counters().resyncs, 1U);
}

TEST(RecordStream, GapAtFinishIsDeclared) {
    const ByteVec stream = concat({record(call(1)), record(call(2))});
    const std::size_t r = record(call(1)).size();
    Feeder f;
    f.push(stream, r, r);
    f.stream.finish(f.sink);
    ASSERT_EQ(f.sink.got.size(), 1U);
    EXPECT_EQ(f.sink.got[0].bytes, call(2));
    EXPECT_EQ(f.stream.counters().gaps, 1U);
}

TEST(RecordStream, AnAcknowledgementOfTheMissingBytesDeclaresTheGapAtOnce) {
    // The capture lost record 1; records 2 and 3 are held. An acknowledgement short of record
    // 2's start leaves them waiting (the rest of the gap may still come); one that reaches it
    // says the peer has the missing bytes: the gap is declared and the held records delivered.
    const ByteVec stream = concat({record(call(1)), record(call(2)), record(call(3))});
    const std::size_t r = record(call(1)).size();
    Feeder f;
    f.push(stream, r, r);
    f.push(stream, 2 * r, r);
    EXPECT_TRUE(f.stream.holding());
    f.stream.acknowledged(static_cast<std::uint32_t>(kIsn + 1 + r - 1), f.sink);
    EXPECT_TRUE(f.sink.got.empty());
    EXPECT_FALSE(f.stream.lost_any());
    f.stream.acknowledged(static_cast<std::uint32_t>(kIsn + 1 + r), f.sink);
    ASSERT_EQ(f.sink.got.size(), 2U);
    EXPECT_EQ(f.sink.got[0].bytes, call(2));
    EXPECT_EQ(f.sink.got[1].bytes, call(3));
    EXPECT_FALSE(f.stream.holding());
    EXPECT_EQ(f.stream.counters().gaps, 1U);
    EXPECT_EQ(f.stream.counters().gap_bytes, r);
    // The loss is dated by the latest segment read when it was declared.
    EXPECT_TRUE(f.stream.lost_any());
    EXPECT_EQ(f.stream.lost_until(), (Timestamp{2, 0}));
}

TEST(RecordStream, AnAcknowledgementWithNothingHeldDeclaresNothing) {
    // A capture of two points can show an acknowledgement before the data it covers: without
    // data captured beyond the missing bytes, nothing says they are lost.
    const ByteVec stream = concat({record(call(1)), record(call(2))});
    const std::size_t r = record(call(1)).size();
    Feeder f;
    f.stream.acknowledged(static_cast<std::uint32_t>(kIsn + 1 + 2 * r), f.sink);
    f.push_all(stream, r);
    ASSERT_EQ(f.sink.got.size(), 2U);
    EXPECT_EQ(f.stream.counters().gaps, 0U);
    EXPECT_FALSE(f.stream.lost_any());
}

TEST(RecordStream, BytesSkippedOutOfSyncAreALossDatedByTheirSegment) {
    // Without a SYN the stream hunts for a mark: the bytes before it are lost to the reader.
    const ByteVec stream = concat({ByteVec(40, 0xab), record(call(1))});
    Feeder f(false);
    f.push(stream, 0, 40);
    f.push(stream, 40, stream.size() - 40);
    ASSERT_EQ(f.sink.got.size(), 1U);
    EXPECT_TRUE(f.stream.lost_any());
    EXPECT_EQ(f.stream.lost_until(), (Timestamp{1, 0}));
    Feeder clean;
    clean.push_all(record(call(1)), 1000);
    EXPECT_FALSE(clean.stream.lost_any());
}

TEST(RecordStream, SnaplenHoleInsideABodyDeliversTheRecordCut) {
    const ByteVec a = call(5, 400);
    const ByteVec stream = concat({record(a), record(call(6))});
    const std::size_t r = record(a).size();
    Feeder f;
    f.push(stream, 0, r, 100);  // only 100 of r bytes captured
    f.push(stream, r, stream.size() - r);
    ASSERT_EQ(f.sink.got.size(), 2U);
    EXPECT_FALSE(f.sink.got[0].whole);
    EXPECT_EQ(f.sink.got[0].length, a.size());
    EXPECT_EQ(f.sink.got[0].bytes, ByteVec(a.begin(), a.begin() + 96));
    EXPECT_TRUE(f.sink.got[1].whole);
    EXPECT_EQ(f.stream.counters().holes, 1U);
    EXPECT_EQ(f.stream.counters().records_cut, 1U);
    EXPECT_EQ(f.stream.counters().resyncs, 0U);
}

TEST(RecordStream, SnaplenHoleOverAMarkLosesSyncUntilAPlausibleSegmentStart) {
    const ByteVec stream = concat({record(call(1)), record(call(2)), record(call(3))});
    const std::size_t r = record(call(1)).size();
    Feeder f;
    f.push(stream, 0, 2 * r, r + 2);  // the second mark is cut
    f.push(stream, 2 * r, r);
    ASSERT_EQ(f.sink.got.size(), 2U);
    EXPECT_EQ(f.sink.got[0].bytes, call(1));
    EXPECT_EQ(f.sink.got[1].bytes, call(3));
    EXPECT_EQ(f.stream.counters().records_lost, 1U);
    EXPECT_EQ(f.stream.counters().resyncs, 1U);
}

TEST(RecordStream, GarbageIsAGarbledMarkAndTheStreamResyncsOnTheNextPlausibleSegment) {
    ByteVec garbage(64, 0x41);  // mark 0x41414141: not last fragment, body "AAAA..."
    garbage[0] = 0x80;          // last fragment, length 0x00414141: body not an RPC header
    const ByteVec good = record(call(8));
    const ByteVec stream = concat({garbage, good});
    Feeder f;
    f.push(stream, 0, garbage.size());
    f.push(stream, garbage.size(), good.size());
    ASSERT_EQ(f.sink.got.size(), 1U);
    EXPECT_EQ(f.sink.got[0].bytes, call(8));
    EXPECT_EQ(f.stream.counters().garbled_marks, 1U);
    EXPECT_EQ(f.stream.counters().resyncs, 1U);
}

TEST(RecordStream, TooShortRecordIsGarbled) {
    const ByteVec stream = concat({test::Xdr().u32(0x80000004U).u32(0).bytes(), record(call(2))});
    Feeder f;
    f.push(stream, 0, 8);
    f.push(stream, 8, stream.size() - 8);
    ASSERT_EQ(f.sink.got.size(), 1U);
    EXPECT_EQ(f.stream.counters().garbled_marks, 1U);
}

TEST(RecordStream, RecordOverTheMaximumLengthIsGarbled) {
    const ByteVec stream = concat({test::Xdr().u32(0x7fffffffU).u32(1).u32(0).u32(2).bytes()});
    Feeder f;
    f.push(stream, 0, stream.size());
    EXPECT_TRUE(f.sink.got.empty());
    EXPECT_EQ(f.stream.counters().garbled_marks, 1U);
    EXPECT_FALSE(f.stream.in_sync());
}

// A call whose arguments count through the byte values, so that any misplaced byte shows.
ByteVec counting_call(std::uint32_t xid, std::size_t arg_bytes) {
    ByteVec a = call(xid, arg_bytes);
    for (std::size_t i = a.size() - arg_bytes; i < a.size(); ++i) {
        a[i] = static_cast<std::uint8_t>(i % 251);
    }
    return a;
}

ByteVec slice(const ByteVec& v, std::size_t from, std::size_t to) {
    return {v.begin() + static_cast<std::ptrdiff_t>(from),
            v.begin() + static_cast<std::ptrdiff_t>(to)};
}

TEST(RecordStream, RecordLongerThanWhatIsKeptKeepsItsHeadAndTail) {
    const ByteVec a = counting_call(4, kKeptBytes * 3);
    const ByteVec stream = concat({record(a), record(call(5))});
    Feeder f;
    f.push_all(stream, 1448);
    ASSERT_EQ(f.sink.got.size(), 2U);
    const Got& g = f.sink.got[0];
    EXPECT_FALSE(g.whole);
    EXPECT_EQ(g.length, a.size());
    EXPECT_EQ(g.bytes, slice(a, 0, kKeptHead));
    EXPECT_EQ(g.tail, slice(a, a.size() - kKeptTail, a.size()));
    EXPECT_EQ(g.tail_at, a.size() - kKeptTail);
    EXPECT_EQ(f.sink.got[1].bytes, call(5));
    EXPECT_EQ(f.stream.counters().records_over_prefix, 1U);
    EXPECT_EQ(f.stream.memory_bytes(), kKeptBytes);
}

// Segments wholly inside the body between the head and the tail are only counted (a shorter
// path than the byte walk's); segments that end at the head's end, straddle the tail's start
// or end the record are walked. Whatever the segment sizes, the record kept and the counts are
// the same.
TEST(RecordStream, HeadAndTailAreTheSameWhateverTheSegmentSizes) {
    const ByteVec a = counting_call(4, kKeptBytes * 3 + 5);
    const ByteVec stream = concat({record(a), record(call(5))});
    for (const std::size_t seg : {1UL, 7UL, 100UL, 1024UL, 1448UL, 2052UL, 4000UL}) {
        Feeder f;
        f.push_all(stream, seg);
        ASSERT_EQ(f.sink.got.size(), 2U) << seg;
        const Got& g = f.sink.got[0];
        EXPECT_EQ(g.bytes, slice(a, 0, kKeptHead)) << seg;
        EXPECT_EQ(g.tail, slice(a, a.size() - kKeptTail, a.size())) << seg;
        EXPECT_EQ(g.tail_at, a.size() - kKeptTail) << seg;
        EXPECT_EQ(f.sink.got[1].bytes, call(5)) << seg;
        EXPECT_EQ(f.stream.counters().segments, (stream.size() + seg - 1) / seg) << seg;
        EXPECT_EQ(f.stream.counters().records_over_prefix, 1U) << seg;
    }
}

TEST(RecordStream, RecordOfAtMostTheKeptBytesIsKeptWhole) {
    for (const std::size_t len : {kKeptHead + 1, kKeptBytes - 64, kKeptBytes}) {
        const ByteVec a = counting_call(4, len - call(4).size());
        ASSERT_EQ(a.size(), len);
        Feeder f;
        f.push_all(record(a), 1000);
        ASSERT_EQ(f.sink.got.size(), 1U);
        EXPECT_TRUE(f.sink.got[0].whole) << len;
        EXPECT_EQ(f.sink.got[0].bytes, a) << len;
        EXPECT_TRUE(f.sink.got[0].tail.empty()) << len;
        EXPECT_EQ(f.stream.counters().records_over_prefix, 0U) << len;
    }
}

// The message length is known only at the last fragment's mark: the tail is kept from where
// the last fragment starts when that is later than the message's last kKeptTail bytes.
TEST(RecordStream, TailComesFromTheLastFragmentOnly) {
    const ByteVec a = counting_call(4, 6000);
    const std::size_t first = 5800;  // the last fragment holds the message's last bytes
    const ByteVec stream = concat(
        {test::Xdr().u32(static_cast<std::uint32_t>(first)).bytes(), slice(a, 0, first),
         test::Xdr().u32(kLastFragment | static_cast<std::uint32_t>(a.size() - first)).bytes(),
         slice(a, first, a.size())});
    Feeder f;
    f.push_all(stream, 1448);
    ASSERT_EQ(f.sink.got.size(), 1U);
    const Got& g = f.sink.got[0];
    EXPECT_EQ(g.fragments, 2U);
    EXPECT_EQ(g.bytes, slice(a, 0, kKeptHead));
    EXPECT_EQ(g.tail, slice(a, first, a.size()));
    EXPECT_EQ(g.tail_at, first);
}

// Linux's WRITE compound ends in a GETATTR after the data: the tail keeps it, so the walk over
// the record as kept names all four ops, as a dissector of the whole message does.
TEST(RecordStream, WriteCompoundOverManySegmentsIsWalkedToItsLastOp) {
    test::Xdr x;
    x.str("").u32(1).u32(4);
    x.u32(op::kSequence).fixed(ByteVec(16, 0x5a)).u32(7).u32(3).u32(9).boolean(false);
    x.u32(op::kPutfh).opaque(ByteVec(28, 9));
    x.u32(op::kWrite).fixed(16, 1).u64(0).u32(2).opaque(ByteVec(32 * 1024, 'w'));
    x.u32(op::kGetattr).u32(2).u32(0x10).u32(0x20);
    const ByteVec a = test::rpc_call(4, kProgNfs, 4, kNfs4ProcCompound, x.bytes());
    Feeder f;
    f.push_all(record(a), 1448);
    ASSERT_EQ(f.sink.got.size(), 1U);
    Record r;
    r.bytes = Bytes{f.sink.got[0].bytes};
    r.tail = Bytes{f.sink.got[0].tail};
    r.tail_at = f.sink.got[0].tail_at;
    Message m;
    ASSERT_EQ(parse_message(r.xdr(), m), ParseResult::Ok);
    CompoundCall c;
    ASSERT_TRUE(parse_compound_call(m.call.args, c));
    EXPECT_EQ(c.walk, WalkStatus::Complete);
    ASSERT_EQ(c.op_count, 4U);
    EXPECT_EQ(c.ops[2], op::kWrite);
    EXPECT_EQ(c.ops[3], op::kGetattr);
}

// A hole ends what is kept: the bytes after it would not be where the offsets say.
TEST(RecordStream, HoleBeforeTheTailKeepsNoTail) {
    const ByteVec a = counting_call(4, kKeptBytes * 3);
    const ByteVec stream = record(a);
    Feeder f;
    f.push(stream, 0, 4000);
    f.push(stream, 4000, 1000, 10);  // 990 bytes not captured
    f.push(stream, 5000, stream.size() - 5000);
    ASSERT_EQ(f.sink.got.size(), 1U);
    EXPECT_FALSE(f.sink.got[0].whole);
    EXPECT_EQ(f.sink.got[0].bytes, slice(a, 0, kKeptHead));
    EXPECT_TRUE(f.sink.got[0].tail.empty());
}

TEST(RecordStream, WithoutStartTheFirstSegmentMustShowAPlausibleMark) {
    const ByteVec a = call(1, 3000);
    const ByteVec stream = concat({record(a), record(call(2))});
    const std::size_t r = record(a).size();
    Feeder f{false};
    f.push(stream, 1000, r - 1000);  // the capture starts mid-record
    f.push(stream, r, stream.size() - r);
    ASSERT_EQ(f.sink.got.size(), 1U);
    EXPECT_EQ(f.sink.got[0].bytes, call(2));
    EXPECT_EQ(f.stream.counters().skipped_bytes, r - 1000);
}

TEST(RecordStream, FinishCountsAnUnfinishedRecord) {
    const ByteVec stream = record(call(1, 500));
    Feeder f;
    f.push(stream, 0, 100);
    f.stream.finish(f.sink);
    EXPECT_TRUE(f.sink.got.empty());
    EXPECT_EQ(f.stream.counters().unfinished_at_end, 1U);
}

TEST(RecordStream, StreamOfNonRpcBytesNeverAllocates) {
    const ByteVec junk(1400, 0x17);
    Feeder f{false};
    for (int i = 0; i < 20; ++i) {
        f.push(junk, 0, junk.size());
        f.keep.clear();
        f.stream.start(kIsn + 1);
    }
    EXPECT_TRUE(f.sink.got.empty());
    EXPECT_EQ(f.stream.memory_bytes(), 0U);
}

TEST(RecordStream, SegmentFarBehindIsASequenceJumpNotARetransmission) {
    const ByteVec a = record(call(1));
    Feeder f;
    f.push(a, 0, a.size());
    Segment s;
    s.seq = kIsn + 1 - 100U * 1024 * 1024;
    s.payload = Bytes{a};
    s.claimed_len = static_cast<std::uint32_t>(a.size());
    f.stream.push(s, f.sink);
    ASSERT_EQ(f.sink.got.size(), 2U);
    EXPECT_EQ(f.stream.counters().seq_jumps, 1U);
    EXPECT_EQ(f.stream.counters().retransmitted_segments, 0U);
    f.stream.push(s, f.sink);  // now an ordinary retransmission
    EXPECT_EQ(f.stream.counters().retransmitted_segments, 1U);
}

/// kMaxHuntSegments segments of bytes with no plausible mark, then `tail`.
ByteVec junk_then(const ByteVec& tail, std::size_t seg) {
    return concat({ByteVec(kMaxHuntSegments * seg, 0x17), tail});
}

TEST(RecordStream, MarkInsideASegmentIsFoundWhileTheHuntingBudgetLasts) {
    const ByteVec stream = concat({ByteVec(100, 0x17), record(call(1))});
    Feeder f{false};
    f.push(stream, 0, stream.size());
    ASSERT_EQ(f.sink.got.size(), 1U);
    EXPECT_EQ(f.sink.got[0].bytes, call(1));
    EXPECT_EQ(f.stream.counters().skipped_bytes, 100U);
    EXPECT_EQ(f.stream.counters().hunts_given_up, 0U);
}

TEST(RecordStream, AfterTheHuntingBudgetOnlySegmentStartsAreChecked) {
    constexpr std::size_t kSeg = 1000;
    // After the budget: a mark 100 bytes into a segment is not looked for.
    const ByteVec inside = concat({ByteVec(100, 0x17), record(call(1)), ByteVec(100, 0x17)});
    const ByteVec stream = junk_then(inside, kSeg);
    Feeder f{false};
    f.push_all(stream, kSeg);
    EXPECT_TRUE(f.sink.got.empty());
    EXPECT_FALSE(f.stream.in_sync());
    EXPECT_EQ(f.stream.counters().hunts_given_up, 1U);
    EXPECT_EQ(f.stream.counters().not_rpc_segments, 1U);
    EXPECT_EQ(f.stream.counters().skipped_bytes, stream.size());
}

TEST(RecordStream, NotRpcDirectionResyncsOnAPlausibleMarkAtASegmentStart) {
    constexpr std::size_t kSeg = 1000;
    const ByteVec tail = concat({record(call(1)), record(call(2))});
    const ByteVec stream = junk_then(tail, kSeg);
    Feeder f{false};
    f.push_all(stream, kSeg);
    ASSERT_EQ(f.sink.got.size(), 2U);
    EXPECT_EQ(f.sink.got[0].bytes, call(1));
    EXPECT_EQ(f.sink.got[1].bytes, call(2));
    EXPECT_EQ(f.stream.counters().hunts_given_up, 1U);
    EXPECT_EQ(f.stream.counters().resyncs, 1U);
    EXPECT_TRUE(f.stream.in_sync());
}

TEST(RecordStream, HuntingBudgetIsAlsoSpentByBytes) {
    const std::size_t seg = kMaxHuntBytes / 2;
    const ByteVec stream = ByteVec(2 * seg, 0x17);
    Feeder f{false};
    f.push_all(stream, seg);
    EXPECT_EQ(f.stream.counters().hunts_given_up, 1U);
}

TEST(RecordStream, UdpDatagramIsOneMessage) {
    const ByteVec a = call(3);
    const Record r = udp_record(Bytes{a}, static_cast<std::uint32_t>(a.size()), {}, 7);
    EXPECT_TRUE(r.whole);
    EXPECT_EQ(r.length, a.size());
    EXPECT_EQ(r.frame, 7U);
    const Record cut = udp_record(Bytes{a}.first(10), static_cast<std::uint32_t>(a.size()), {}, 8);
    EXPECT_FALSE(cut.whole);
    EXPECT_EQ(cut.bytes.size(), 10U);
}

}  // namespace
}  // namespace vxcheck::rpc

// libFuzzer target: arbitrary bytes as the TCP segments of one connection, in both directions,
// through rpc::RecordStream and the RpcAnalyzer (the ConnectionPlugin entry points: segments,
// close, decide, forget).
//
// Input: byte 0 holds ConnFlags (below); then segments, each a 3-byte header (byte 0:
// SegFlags, bytes 1-2: the payload length, big-endian) and up to that many payload bytes (the
// input's end cuts the last one). The fuzzer picks the split points by the lengths. Payloads are
// views into the input itself, so ASan catches any read past a segment's captured bytes.
//
// Every segment acknowledges all the other direction sent (its gaps included), so held segments
// go on as the other side acknowledges them, in the analyzer and in the stand-alone streams.
// Each segment goes into the analyzer and into a stand-alone RecordStream per direction. Rules
// checked (a violation aborts): a delivered record never claims fewer bytes than it carries nor
// more than rpc::kMaxRecordLen; a stream never holds more than its buffers' bounds; the
// analyzer counts at most one message per record the stream delivered and keeps its XID lists
// within RpcFacts::kMaxRpcXidList. Seeds: the payload segments of every TCP connection of
// pcaps/nfs (tools/ci/fuzz_corpus.py).

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "vxcheck/analyze/connection_report.h"
#include "vxcheck/analyze/rpc_analyzer.h"
#include "vxcheck/decode/packet.h"
#include "vxcheck/rpc/record_stream.h"

namespace vxcheck {
namespace {

// Byte 0 of an input.
namespace conn_flags {
constexpr std::uint8_t kSyn = 0x01;    // both directions open with a SYN (streams start in sync)
constexpr std::uint8_t kFin = 0x02;    // the client closes with a FIN before the decision
constexpr std::uint8_t kTwice = 0x04;  // the analyzer decides, forgets and sees the input again
}  // namespace conn_flags

// Byte 0 of a segment header.
namespace seg_flags {
constexpr std::uint8_t kFromServer = 0x01;
constexpr std::uint8_t kSnaplenHole = 0x02;  // the headers claim kHoleExtra more bytes
constexpr std::uint8_t kResent = 0x04;       // the segment is pushed twice (TCP retransmission)
constexpr std::uint8_t kGapBefore = 0x08;    // kGapBytes of sequence space never captured
constexpr std::uint8_t kLate = 0x10;         // sent kLateBytes before the next expected byte
}  // namespace seg_flags

constexpr std::uint32_t kHoleExtra = 100;
constexpr std::uint32_t kGapBytes = 1000;
constexpr std::uint32_t kLateBytes = 40;
constexpr std::size_t kSegHeader = 3;
constexpr std::uint32_t kStepNs = 10'000'000;
constexpr std::uint32_t kNsPerSec = 1'000'000'000;
constexpr std::uint32_t kIsn[2] = {0x10000000U, 0xfffff000U};  // the server's wraps 2^32

[[noreturn]] void fail(const char* what) {
    std::fprintf(stderr, "fuzz_rpc: %s\n", what);
    std::abort();
}

// Checks every record the stand-alone streams deliver.
class CheckedSink final : public rpc::RecordSink {
  public:
    void on_record(const rpc::Record& r) noexcept override {
        if (r.bytes.size() > r.length) {
            fail("a record carries more bytes than its length");
        }
        if (r.length >= rpc::kMaxRecordLen) {
            fail("a record at or over kMaxRecordLen was delivered");
        }
        if (r.whole != (r.bytes.size() == r.length)) {
            fail("whole disagrees with the record's bytes");
        }
        ++records;
    }
    std::uint64_t records = 0;
};

struct Connection {
    analyze::RpcAnalyzer analyzer;
    rpc::RecordStream streams[2];
    CheckedSink sink;
    std::uint32_t next[2] = {kIsn[0] + 1, kIsn[1] + 1};
    analyze::SegmentView view;

    Connection() {
        view.client.addr = {10, 244, 1, 5};
        view.client.port = 886;
        view.server.addr = {10, 244, 2, 5};
        view.server.port = 2049;
    }

    void segment(std::size_t dir, std::uint32_t seq, Bytes payload, std::uint32_t claimed,
                 std::uint8_t flags) {
        view.from_client = dir == 0;
        view.seq = seq;
        view.ack = next[1 - dir];  // all the other side sent, gaps included
        view.flags = flags;
        view.payload = payload;
        view.claimed_payload = claimed;
        ++view.frame;
        view.ts.nsec += kStepNs;  // 100 segments a second: calls can go unanswered
        if (view.ts.nsec >= kNsPerSec) {
            view.ts.nsec -= kNsPerSec;
            ++view.ts.sec;
        }
        if ((flags & decode::tcp_flag::kSyn) != 0) {  // as the connection analysis keeps them
            view.starts.on_syn(view.from_client, seq, view.point);
        }
        analyzer.on_segment(view);
        if ((flags & decode::tcp_flag::kAck) != 0) {  // as the analyzer, before the payload
            streams[1 - dir].acknowledged(view.ack, sink);
        }
        if ((flags & decode::tcp_flag::kSyn) != 0) {
            streams[dir].start(seq + 1);
        } else if (!payload.empty()) {  // as the analyzer: an empty payload carries nothing
            streams[dir].push({.seq = seq,
                               .payload = payload,
                               .claimed_len = claimed,
                               .ts = view.ts,
                               .frame = view.frame},
                              sink);
        }
        if (streams[dir].memory_bytes() > rpc::kKeptBytes + rpc::kMaxHeldBytes) {
            fail("a record stream holds more than its bounds");
        }
    }

    // Feeds the segments of the input after byte 0.
    void feed(const std::uint8_t* data, std::size_t size) {
        std::size_t off = 0;
        while (off + kSegHeader <= size) {
            const std::uint8_t f = data[off];
            const std::size_t want = (std::size_t{data[off + 1]} << 8) | data[off + 2];
            off += kSegHeader;
            const std::size_t n = want < size - off ? want : size - off;
            const Bytes payload{data + off, n};
            off += n;
            const std::size_t dir = (f & seg_flags::kFromServer) != 0 ? 1 : 0;
            if ((f & seg_flags::kGapBefore) != 0) {
                next[dir] += kGapBytes;
            }
            const std::uint32_t seq =
                (f & seg_flags::kLate) != 0 ? next[dir] - kLateBytes : next[dir];
            const std::uint32_t claimed =
                static_cast<std::uint32_t>(n) + ((f & seg_flags::kSnaplenHole) ? kHoleExtra : 0);
            const std::uint8_t ack = decode::tcp_flag::kAck | decode::tcp_flag::kPsh;
            segment(dir, seq, payload, claimed, ack);
            if ((f & seg_flags::kResent) != 0) {
                segment(dir, seq, payload, claimed, ack);
            }
            next[dir] = seq + claimed > next[dir] ? seq + claimed : next[dir];
        }
    }

    // Closes, decides and checks the facts against what the streams delivered.
    void decide(bool fin) {
        if (fin) {
            analyzer.on_close(view.flow, analyze::CloseEvent::Fin, true);
        }
        for (rpc::RecordStream& s : streams) {
            s.finish(sink);
        }
        analyze::ConnectionReport report;
        analyzer.ending(view.flow);  // the last decision, as the connection analysis makes it
        analyzer.decide(view.flow, report);
        if (!report.rpc) {
            fail("decide() left no rpc facts");
        }
        const analyze::RpcFacts& f = *report.rpc;
        if (f.calls + f.replies > sink.records) {
            fail("the analyzer counts more messages than the streams delivered records");
        }
        if (f.calls != f.calls_c2s + f.calls_s2c ||
            f.unique_call_xids != f.matched_call_xids + f.unmatched_call_xids) {
            fail("the call counts do not add up");
        }
        for (const auto* list :
             {&f.unmatched_xids, &f.retransmitted_xids, &f.resent_from_earlier_connection}) {
            if (list->size() > analyze::RpcFacts::kMaxRpcXidList) {
                fail("an XID list grew past kMaxRpcXidList");
            }
        }
        analyzer.forget(view.flow);
    }
};

void run(const std::uint8_t* data, std::size_t size) {
    if (size == 0) {
        return;
    }
    Connection c;
    const std::uint8_t flags = data[0];
    const int rounds = (flags & conn_flags::kTwice) != 0 ? 2 : 1;
    for (int round = 0; round < rounds; ++round) {
        c.sink.records = 0;
        for (rpc::RecordStream& s : c.streams) {
            s = rpc::RecordStream{};
        }
        c.next[0] = kIsn[0] + 1;
        c.next[1] = kIsn[1] + 1;
        if ((flags & conn_flags::kSyn) != 0) {
            c.segment(0, kIsn[0], {}, 0, decode::tcp_flag::kSyn);
            c.segment(1, kIsn[1], {}, 0, decode::tcp_flag::kSyn | decode::tcp_flag::kAck);
        }
        c.feed(data + 1, size - 1);
        c.decide((flags & conn_flags::kFin) != 0);
    }
}

}  // namespace
}  // namespace vxcheck

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    vxcheck::run(data, size);
    return 0;
}

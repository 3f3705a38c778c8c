// Random mutations of valid RPC/NFS records (fixed seed): the record stream and every parser
// stay inside their input (run under ASan: -DVXCHECK_SANITIZE=ON) and bounded in memory, and
// always terminate.

#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "rpc_mutate.h"
#include "vxcheck/rpc/message.h"
#include "vxcheck/rpc/mount.h"
#include "vxcheck/rpc/nfs.h"
#include "vxcheck/rpc/record_stream.h"
#include "xdr_builder.h"

namespace vxcheck::rpc {
namespace {

using test::ByteVec;
using test::Xdr;

constexpr std::uint32_t kSeed = 19;
constexpr int kMutations = 3000;

/// Parses whatever comes out, the way an analyzer would.
class ParseAll : public RecordSink {
  public:
    void on_record(const Record& r) noexcept override {
        ++records;
        EXPECT_LE(r.bytes.size(), r.length);
        Message m;
        if (parse_message(r.xdr(), m) != ParseResult::Ok) {
            return;
        }
        if (m.type == MsgType::Call) {
            CompoundCall c;
            CbCompoundCall cb;
            (void)parse_compound_call(m.call.args, c);
            (void)parse_cb_compound_call(m.call.args, cb);
            AuthSys sys;
            (void)parse_auth_sys(m.call.cred.body, sys);
            PmapMapping map;
            (void)parse_pmap_getport_call(m.call.args, map);
            (void)parse_mnt_call(m.call.args);
        } else {
            CompoundReply c;
            (void)parse_compound_reply(m.reply.results, c);
            (void)parse_cb_compound_reply(m.reply.results, c);
            (void)nfs3_reply_status(1, m.reply.results);
            MntReply mnt;
            (void)parse_mnt_reply(m.reply.results, mnt);
            (void)parse_pmap_getport_reply(m.reply.results);
        }
    }
    std::uint64_t records = 0;
};

std::vector<ByteVec> seeds() {
    const ByteVec session(16, 0x5a);
    const ByteVec verifier(8, 7);
    std::vector<ByteVec> out;
    Xdr seq;
    seq.str("").u32(1).u32(3).u32(53).fixed(session).u32(1).u32(0).u32(0).u32(1);
    seq.u32(22).opaque(ByteVec(28, 9)).u32(9).u32(2).u32(0x10).u32(0x20);
    out.push_back(test::rpc_call(1, kProgNfs, 4, 1, seq.bytes(), kAuthSys,
                                 Xdr().u32(1).str("node").u32(0).u32(0).u32(0).bytes()));
    Xdr eid;
    eid.str("").u32(2).u32(1).u32(42).fixed(verifier).str("Linux NFSv4.2 localhost").u32(1);
    eid.u32(0).u32(0);
    out.push_back(test::rpc_call(2, kProgNfs, 4, 1, eid.bytes()));
    Xdr cs;
    cs.u32(0).str("").u32(1).u32(43).u32(0).fixed(session).u32(1).u32(0);
    for (int i = 0; i < 2; ++i) {
        cs.u32(0).u32(1 << 20).u32(1 << 20).u32(2128).u32(8).u32(64).u32(0);
    }
    out.push_back(test::rpc_reply(3, cs.bytes()));
    Xdr sr;
    sr.u32(0).str("").u32(2).u32(53).u32(0).fixed(session).u32(1).u32(0).u32(0).u32(0).u32(0);
    sr.u32(9).u32(0).u32(1).u32(0xff).opaque(ByteVec(40, 1));
    out.push_back(test::rpc_reply(4, sr.bytes()));
    Xdr cb;
    cb.str("").u32(1).u32(0).u32(2).u32(11).fixed(session).u32(1).u32(0).u32(0).u32(0).u32(0);
    cb.u32(4).fixed(16, 3).u32(0).opaque(ByteVec(32, 4));
    out.push_back(test::rpc_call(5, kProgNfsCallbackLinux, 1, 1, cb.bytes()));
    out.push_back(Xdr().u32(6).u32(1).u32(1).u32(1).u32(5).bytes());
    return out;
}

TEST(RpcMutation, MutatedRecordsNeverReadOutsideTheirInputOrGrowWithoutBound) {
    std::mt19937 rng(kSeed);
    const std::vector<ByteVec> base = seeds();
    RecordStream stream;
    ParseAll sink;
    std::uint32_t seq = 0xffff0000U;  // wraps around 2^32 during the run
    stream.start(seq);
    for (int iter = 0; iter < kMutations; ++iter) {
        ByteVec bytes;
        for (int k = 0; k < 3; ++k) {
            ByteVec rec = test::record(base[rng() % base.size()]);
            if (rng() % 2 == 0) {
                test::mutate_record(rec, rng, false);
            }
            bytes.insert(bytes.end(), rec.begin(), rec.end());
        }
        // Cut into segments; some arrive late, twice, or with a snaplen hole.
        std::vector<Segment> segs;
        std::vector<ByteVec> keep;
        keep.reserve(bytes.size() + 1);
        for (std::size_t off = 0; off < bytes.size();) {
            const std::size_t n = std::min<std::size_t>(1 + rng() % 200, bytes.size() - off);
            std::size_t cap = n;
            if (rng() % 10 == 0) {
                cap = rng() % (n + 1);
            }
            // Exactly-sized copies: ASan catches any read past a segment's captured bytes.
            keep.emplace_back(bytes.begin() + static_cast<std::ptrdiff_t>(off),
                              bytes.begin() + static_cast<std::ptrdiff_t>(off + cap));
            Segment s;
            s.seq = seq + static_cast<std::uint32_t>(off);
            s.payload = Bytes{keep.back()};
            s.claimed_len = static_cast<std::uint32_t>(n);
            segs.push_back(s);
            off += n;
        }
        for (std::size_t i = 0; i + 1 < segs.size(); ++i) {
            if (rng() % 8 == 0) {
                std::swap(segs[i], segs[i + 1]);
            }
        }
        for (const Segment& s : segs) {
            stream.push(s, sink);
            if (rng() % 16 == 0) {
                stream.push(s, sink);
            }
            ASSERT_LE(stream.memory_bytes(), kKeptBytes + kMaxHeldBytes);
        }
        seq += static_cast<std::uint32_t>(bytes.size());
        // Parse each mutated record directly too (no record stream in between).
        if (bytes.size() > 4) {
            ParseAll direct;
            const Bytes message = Bytes{bytes}.subspan(4);
            direct.on_record(
                udp_record(message, static_cast<std::uint32_t>(message.size()), {}, 0));
        }
        if (iter % 20 == 19) {  // a new connection: a mutated length may swallow the rest
            stream.finish(sink);
            stream.start(seq);
        }
    }
    stream.finish(sink);
    EXPECT_GT(sink.records, static_cast<std::uint64_t>(kMutations));
    EXPECT_GT(stream.counters().garbled_marks + stream.counters().resyncs, 0U);
}

}  // namespace
}  // namespace vxcheck::rpc

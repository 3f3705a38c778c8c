// The status a COMPOUND reply fails with (issue 19, "NFS op status"): the failing op's nfsstat4,
// and the COMPOUND status when numres is 0. The op walk stops at the first result whose body
// layout it does not know, so the failing op may lie beyond it: then the COMPOUND status, which
// RFC 8881 section 15.2 makes the last evaluated op's status, names the failure. Errors and the
// size-limit rules count that status, never NFS4_OK.

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <string>

#include "rpc_feed.h"
#include "vxcheck/rpc/message.h"
#include "vxcheck/rpc/nfs.h"

namespace vxcheck::analyze {
namespace {

using test::ByteVec;
using test::Xdr;

constexpr std::uint32_t kOpSequence = 53;
constexpr std::uint32_t kOpPutfh = 22;
constexpr std::uint32_t kOpRead = 25;
constexpr std::uint32_t kOpWrite = 38;
constexpr std::uint32_t kOpSeek = 69;  // RFC 7862 section 15.11; its result body is not walked

const ByteVec kSession(16, 0x5e);

Xdr sequence_args() {
    return Xdr().u32(kOpSequence).fixed(kSession).u32(1).u32(0).u32(0).boolean(false);
}

ByteVec compound_call(std::uint32_t xid, std::uint32_t minor, const Xdr& ops, std::uint32_t n) {
    const ByteVec args = Xdr().str("").u32(minor).u32(n).append(ops).bytes();
    return test::rpc_call(xid, rpc::kProgNfs, 4, rpc::kNfs4ProcCompound, args);
}

ByteVec compound_reply(std::uint32_t xid, std::uint32_t status, const Xdr& results,
                       std::uint32_t numres) {
    return test::rpc_reply(xid, Xdr().u32(status).str("").u32(numres).append(results).bytes());
}

std::uint64_t error_count(const RpcFacts& f, const std::string& name) {
    const auto it = std::find_if(f.errors.begin(), f.errors.end(),
                                 [&](const auto& e) { return e.first == name; });
    return it == f.errors.end() ? 0 : it->second;
}

bool has_finding(const RpcFacts& f, Verdict v, std::uint32_t xid) {
    return std::any_of(f.findings.begin(), f.findings.end(),
                       [&](const RpcFinding& x) { return x.verdict == v && x.xid == xid; });
}

TEST(RpcCompoundStatus, AFailureBeyondAnUnwalkedResultCountsTheCompoundStatus) {
    // SEQUENCE PUTFH SEEK READ: SEEK succeeds (a body the walk does not know), READ fails.
    const Xdr ops = Xdr()
                        .append(sequence_args())
                        .u32(kOpPutfh)
                        .opaque(ByteVec(16, 1))
                        .u32(kOpSeek)
                        .fixed(16, 0)
                        .u64(0)
                        .u32(0)
                        .u32(kOpRead)
                        .fixed(16, 0)
                        .u64(0)
                        .u32(8192);
    const Xdr results = Xdr()
                            .u32(kOpSequence)
                            .u32(0)
                            .fixed(kSession)
                            .u32(1)
                            .u32(0)
                            .u32(0)
                            .u32(63)
                            .u32(0)
                            .u32(kOpPutfh)
                            .u32(0)
                            .u32(kOpSeek)
                            .u32(0)
                            .boolean(false)
                            .u64(0)
                            .u32(kOpRead)
                            .u32(rpc::nfs4err::kRepTooBig);
    const RpcFacts f = test::analyse_rpc(
        test::rpc_exchanges({{compound_call(0x51, 2, ops, 4),
                              compound_reply(0x51, rpc::nfs4err::kRepTooBig, results, 4)}}));
    EXPECT_EQ(error_count(f, "NFS4_OK"), 0U);
    EXPECT_EQ(error_count(f, "NFS4ERR_REP_TOO_BIG"), 1U);
    EXPECT_TRUE(has_finding(f, Verdict::NfsReplyTooBig, 0x51));
}

TEST(RpcCompoundStatus, NumresZeroUsesTheCompoundStatusForTheSizeRules) {
    const Xdr ops = Xdr()
                        .append(sequence_args())
                        .u32(kOpPutfh)
                        .opaque(ByteVec(16, 1))
                        .u32(kOpWrite)
                        .fixed(16, 0)
                        .u64(0)
                        .u32(2)
                        .opaque(ByteVec(64, 7));
    const RpcFacts f = test::analyse_rpc(test::rpc_exchanges(
        {{compound_call(0x61, 1, ops, 3), compound_reply(0x61, rpc::nfs4err::kReqTooBig, Xdr(), 0)},
         {compound_call(0x62, 1, ops, 3),
          compound_reply(0x62, rpc::nfs4err::kRepTooBig, Xdr(), 0)}}));
    EXPECT_EQ(error_count(f, "NFS4ERR_REQ_TOO_BIG"), 1U);
    EXPECT_EQ(error_count(f, "NFS4ERR_REP_TOO_BIG"), 1U);
    EXPECT_TRUE(has_finding(f, Verdict::NfsRequestTooBig, 0x61));
    EXPECT_TRUE(has_finding(f, Verdict::NfsReplyTooBig, 0x62));
}

}  // namespace
}  // namespace vxcheck::analyze

// NFS decoding: nfsstat3, COMPOUND calls and replies, CB_COMPOUND, names (RFCs 1813, 7530,
// 8881, 7862).

#include "vxcheck/rpc/nfs.h"

#include <gtest/gtest.h>

#include "vxcheck/rpc/message.h"
#include "xdr_builder.h"

namespace vxcheck::rpc {
namespace {

using test::ByteVec;
using test::Xdr;

const ByteVec kSession(16, 0x5a);
const ByteVec kVerifier = {1, 2, 3, 4, 5, 6, 7, 8};

Xdr compound_head(std::uint32_t minor, std::uint32_t numops, std::string_view tag = "") {
    Xdr x;
    x.str(tag).u32(minor).u32(numops);
    return x;
}

Xdr& sequence_args(Xdr& x, bool cachethis) {
    return x.u32(op::kSequence).fixed(kSession).u32(7).u32(3).u32(9).boolean(cachethis);
}

Xdr& channel_attrs(Xdr& x, std::uint32_t req, std::uint32_t resp, std::uint32_t cached) {
    return x.u32(0).u32(req).u32(resp).u32(cached).u32(8).u32(64).u32(0);
}

TEST(NfsCompoundCall, SequencePutfhGetattrAreWalkedAndSequenceDecoded) {
    Xdr x = compound_head(1, 3, "tag");
    sequence_args(x, true);
    x.u32(op::kPutfh).opaque(ByteVec(28, 9));
    x.u32(op::kGetattr).u32(2).u32(0x10).u32(0x20);
    CompoundCall c;
    ASSERT_TRUE(parse_compound_call(Bytes{x.bytes()}, c));
    EXPECT_EQ(c.minorversion, 1U);
    EXPECT_EQ(c.tag.size(), 3U);
    ASSERT_EQ(c.op_count, 3U);
    EXPECT_EQ(c.ops[0], op::kSequence);
    EXPECT_EQ(c.ops[2], op::kGetattr);
    EXPECT_EQ(c.walk, WalkStatus::Complete);
    ASSERT_TRUE(c.sequence);
    EXPECT_EQ(ByteVec(c.sequence->sessionid.begin(), c.sequence->sessionid.end()), kSession);
    EXPECT_EQ(c.sequence->sequenceid, 7U);
    EXPECT_EQ(c.sequence->slotid, 3U);
    EXPECT_EQ(c.sequence->highest_slotid, 9U);
    EXPECT_TRUE(c.sequence->cachethis);
}

TEST(NfsCompoundCall, ExchangeIdGivesOwnerAndVerifier) {
    Xdr x = compound_head(2, 1);
    x.u32(op::kExchangeId).fixed(kVerifier).str("Linux NFSv4.2 localhost").u32(0x101);
    x.u32(0);  // SP4_NONE
    x.u32(1).str("kernel.org").str("Linux 6.1").u64(1700000000).u32(0);
    CompoundCall c;
    ASSERT_TRUE(parse_compound_call(Bytes{x.bytes()}, c));
    EXPECT_EQ(c.walk, WalkStatus::Complete);
    ASSERT_TRUE(c.exchange_id);
    const std::string_view owner{reinterpret_cast<const char*>(c.exchange_id->owner.data()),
                                 c.exchange_id->owner.size()};
    EXPECT_EQ(owner, "Linux NFSv4.2 localhost");
    EXPECT_EQ(ByteVec(c.exchange_id->verifier.begin(), c.exchange_id->verifier.end()), kVerifier);
    EXPECT_EQ(c.exchange_id->flags, 0x101U);
}

TEST(NfsCompoundCall, SetclientidAndConfirmAreDecoded) {
    Xdr x = compound_head(0, 2);
    x.u32(op::kSetclientid).fixed(kVerifier).str("Linux NFSv4.0 node/10.0.0.1");
    x.u32(0x40000000).str("tcp").str("10.0.0.2.3.4").u32(1);
    x.u32(op::kSetclientidConfirm).u64(0x6758f134000008e2ULL).fixed(kVerifier);
    CompoundCall c;
    ASSERT_TRUE(parse_compound_call(Bytes{x.bytes()}, c));
    EXPECT_EQ(c.walk, WalkStatus::Complete);
    ASSERT_TRUE(c.setclientid);
    EXPECT_EQ(c.setclientid->id.size(), 27U);
    ASSERT_TRUE(c.setclientid_confirm);
    EXPECT_EQ(c.setclientid_confirm->clientid, 0x6758f134000008e2ULL);
}

TEST(NfsCompoundCall, CreateSessionAndDestroySessionAreDecoded) {
    Xdr x = compound_head(1, 2);
    x.u32(op::kCreateSession).u64(42).u32(1).u32(3);
    channel_attrs(x, 1049620, 1049480, 2128);
    channel_attrs(x, 4096, 4096, 0);
    x.u32(0x40000000).u32(1).u32(kAuthNone);
    x.u32(op::kDestroySession).fixed(kSession);
    CompoundCall c;
    ASSERT_TRUE(parse_compound_call(Bytes{x.bytes()}, c));
    EXPECT_EQ(c.walk, WalkStatus::Complete);
    ASSERT_TRUE(c.create_session);
    EXPECT_EQ(c.create_session->clientid, 42U);
    EXPECT_EQ(c.create_session->fore.maxrequestsize, 1049620U);
    EXPECT_EQ(c.create_session->fore.maxresponsesize_cached, 2128U);
    EXPECT_EQ(c.create_session->cb_program, 0x40000000U);
    ASSERT_TRUE(c.destroy_session);
}

TEST(NfsCompoundCall, TruncatedArgsStopTheWalkAsTruncated) {
    Xdr x = compound_head(1, 2);
    sequence_args(x, false);
    x.u32(op::kPutfh).opaque(ByteVec(28, 9));
    const ByteVec b = x.bytes();
    CompoundCall c;
    ASSERT_TRUE(parse_compound_call(Bytes{b}.first(b.size() - 10), c));
    EXPECT_EQ(c.walk, WalkStatus::Truncated);
    EXPECT_EQ(c.op_count, 2U);
    EXPECT_TRUE(c.sequence);
    EXPECT_FALSE(parse_compound_call(Bytes{b}.first(6), c));
}

TEST(NfsCompoundCall, UnknownOpStopsTheWalk) {
    Xdr x = compound_head(1, 3);
    sequence_args(x, false);
    x.u32(op::kLayoutget - 3).u32(1);  // GETDEVICEINFO: not walked
    x.u32(op::kGetattr).u32(0);
    CompoundCall c;
    ASSERT_TRUE(parse_compound_call(Bytes{x.bytes()}, c));
    EXPECT_EQ(c.walk, WalkStatus::UnknownArgs);
    EXPECT_EQ(c.op_count, 2U);
}

TEST(NfsCompoundCall, MoreThanMaxOpsRecordsTheFirstOnes) {
    Xdr x = compound_head(1, kMaxOps + 5);
    for (std::size_t i = 0; i < kMaxOps + 5; ++i) {
        x.u32(op::kGetfh);
    }
    CompoundCall c;
    ASSERT_TRUE(parse_compound_call(Bytes{x.bytes()}, c));
    EXPECT_EQ(c.walk, WalkStatus::TooManyOps);
    EXPECT_EQ(c.op_count, kMaxOps);
    EXPECT_EQ(c.numops, kMaxOps + 5);
}

TEST(NfsCompoundCall, OverlongOwnerIsMalformed) {
    Xdr x = compound_head(1, 1);
    x.u32(op::kExchangeId).fixed(kVerifier).opaque(ByteVec(kMaxOwner + 4, 'a'));
    CompoundCall c;
    ASSERT_TRUE(parse_compound_call(Bytes{x.bytes()}, c));
    EXPECT_EQ(c.walk, WalkStatus::Malformed);
    EXPECT_FALSE(c.exchange_id);
}

TEST(NfsCompoundReply, CreateSessionReplyGivesTheForeChannelLimits) {
    Xdr x;
    x.u32(0).str("").u32(1).u32(op::kCreateSession).u32(0);
    x.fixed(kSession).u32(1).u32(0);
    channel_attrs(x, 1049620, 1049480, 2128);
    channel_attrs(x, 4096, 4096, 0);
    CompoundReply r;
    ASSERT_TRUE(parse_compound_reply(Bytes{x.bytes()}, r));
    EXPECT_EQ(r.walk, WalkStatus::Complete);
    ASSERT_TRUE(r.create_session);
    EXPECT_EQ(r.create_session->fore.maxrequestsize, 1049620U);
    EXPECT_EQ(r.create_session->fore.maxresponsesize, 1049480U);
    EXPECT_EQ(r.create_session->fore.maxresponsesize_cached, 2128U);
    EXPECT_EQ(r.create_session->fore.maxoperations, 8U);
    EXPECT_EQ(r.create_session->back.maxrequestsize, 4096U);
}

TEST(NfsCompoundReply, SequenceResultThenFailingOpGivesTheFailedOp) {
    Xdr call = compound_head(1, 3);
    sequence_args(call, false);
    call.u32(op::kPutrootfh).u32(op::kLookup).str("missing");
    Xdr x;
    x.u32(nfs4err::kNoent).str("").u32(3);
    x.u32(op::kSequence).u32(0).fixed(kSession).u32(7).u32(3).u32(9).u32(9).u32(0);
    x.u32(op::kPutrootfh).u32(0);
    x.u32(op::kLookup).u32(nfs4err::kNoent);
    CompoundCall c;
    CompoundReply r;
    ASSERT_TRUE(parse_compound_call(Bytes{call.bytes()}, c));
    ASSERT_TRUE(parse_compound_reply(Bytes{x.bytes()}, r));
    EXPECT_EQ(r.result_count, 3U);
    ASSERT_TRUE(r.sequence);
    EXPECT_EQ(r.sequence->slotid, 3U);
    EXPECT_EQ(r.sequence->target_highest_slotid, 9U);
    const auto f = failed_op(c, r);
    ASSERT_TRUE(f);
    EXPECT_EQ(f->index, 2U);
    EXPECT_EQ(f->op, op::kLookup);
    EXPECT_EQ(f->status, nfs4err::kNoent);
}

TEST(NfsCompoundReply, SequenceFailingWithBadsessionIsTheOnlyResult) {
    Xdr x;
    x.u32(nfs4err::kBadsession).str("").u32(1).u32(op::kSequence).u32(nfs4err::kBadsession);
    CompoundReply r;
    ASSERT_TRUE(parse_compound_reply(Bytes{x.bytes()}, r));
    EXPECT_EQ(r.result_count, 1U);
    EXPECT_EQ(r.results[0].status, nfs4err::kBadsession);
    EXPECT_FALSE(r.sequence);
    const auto f = failed_op(CompoundCall{}, r);
    ASSERT_TRUE(f);
    EXPECT_EQ(f->op, op::kSequence);
}

TEST(NfsCompoundReply, NumresZeroWithNonOkStatusIsLegal) {
    Xdr x;
    x.u32(nfs4err::kMinorVersMismatch).str("").u32(0);
    CompoundReply r;
    ASSERT_TRUE(parse_compound_reply(Bytes{x.bytes()}, r));
    EXPECT_EQ(r.status, nfs4err::kMinorVersMismatch);
    EXPECT_EQ(r.numres, 0U);
    EXPECT_EQ(r.walk, WalkStatus::Complete);
    EXPECT_FALSE(failed_op(CompoundCall{}, r));
}

TEST(NfsCompoundReply, ExchangeIdAndSetclientidResultsAreDecoded) {
    Xdr x;
    x.u32(0).str("").u32(1).u32(op::kExchangeId).u32(0);
    x.u64(0x6758f134000008e2ULL).u32(1).u32(0x80000000U).u32(0);
    x.u64(0).str("ganesha").str("scope").u32(0);
    CompoundReply r;
    ASSERT_TRUE(parse_compound_reply(Bytes{x.bytes()}, r));
    EXPECT_EQ(r.walk, WalkStatus::Complete);
    ASSERT_TRUE(r.exchange_id);
    EXPECT_EQ(r.exchange_id->clientid, 0x6758f134000008e2ULL);
    EXPECT_EQ(r.exchange_id->flags, 0x80000000U);

    Xdr y;
    y.u32(0).str("").u32(1).u32(op::kSetclientid).u32(0).u64(77).fixed(kVerifier);
    ASSERT_TRUE(parse_compound_reply(Bytes{y.bytes()}, r));
    ASSERT_TRUE(r.setclientid);
    EXPECT_EQ(r.setclientid->clientid, 77U);
}

TEST(NfsCompoundReply, ReplyCutInsideAResultIsTruncated) {
    Xdr x;
    x.u32(0).str("").u32(2).u32(op::kPutfh).u32(0).u32(op::kGetattr).u32(0).u32(1).u32(0xff);
    x.opaque(ByteVec(40, 1));
    const ByteVec b = x.bytes();
    CompoundReply r;
    ASSERT_TRUE(parse_compound_reply(Bytes{b}.first(b.size() - 8), r));
    EXPECT_EQ(r.walk, WalkStatus::Truncated);
    EXPECT_EQ(r.result_count, 2U);
    EXPECT_FALSE(parse_compound_reply(Bytes{b}.first(6), r));
}

TEST(NfsCompoundCall, OpenWriteAndLockArgumentsAreSkippedByLayout) {
    Xdr x = compound_head(1, 6);
    sequence_args(x, false);
    x.u32(op::kPutfh).opaque(ByteVec(28, 9));
    // OPEN: seqid, share_access, share_deny, open_owner4, OPEN4_CREATE UNCHECKED4 fattr4,
    // CLAIM_NULL name.
    x.u32(op::kOpen).u32(0).u32(2).u32(0).u64(5).str("open id:1").u32(1).u32(0);
    x.u32(2).u32(0x10).u32(0).opaque(ByteVec(8, 0)).u32(0).str("file.txt");
    x.u32(op::kWrite).fixed(16, 1).u64(0).u32(2).opaque(ByteVec(5, 'w'));
    x.u32(12).u32(2).boolean(false).u64(0).u64(10).boolean(true);  // LOCK, new lock owner
    x.u32(1).fixed(16, 2).u32(0).u64(5).str("lock owner");
    x.u32(op::kGetfh);
    CompoundCall c;
    ASSERT_TRUE(parse_compound_call(Bytes{x.bytes()}, c));
    EXPECT_EQ(c.walk, WalkStatus::Complete);
    EXPECT_EQ(c.op_count, 6U);
    EXPECT_EQ(c.ops[5], op::kGetfh);
}

TEST(NfsCompoundReply, OpenReadReaddirResultsAreSkippedByLayout) {
    Xdr x;
    x.u32(0).str("").u32(5);
    x.u32(op::kSequence).u32(0).fixed(kSession).u32(1).u32(0).u32(0).u32(0).u32(0);
    // OPEN resok: stateid, change_info4, rflags, attrset, READ delegation with an nfsace4.
    x.u32(op::kOpen).u32(0).fixed(16, 3).boolean(true).u64(1).u64(2).u32(4).u32(0);
    x.u32(1).fixed(16, 4).boolean(false).u32(0).u32(0).u32(1).str("OWNER@");
    x.u32(op::kRead).u32(0).boolean(true).opaque(ByteVec(7, 'r'));
    // READDIR resok: cookieverf, two entries, eof.
    x.u32(op::kReaddir).u32(0).fixed(8, 0);
    for (int i = 0; i < 2; ++i) {
        x.boolean(true).u64(static_cast<std::uint64_t>(i + 1)).str("name").u32(1).u32(1);
        x.opaque(ByteVec(4, 0));
    }
    x.boolean(false).boolean(true);
    x.u32(op::kGetfh).u32(0).opaque(ByteVec(28, 9));
    CompoundReply r;
    ASSERT_TRUE(parse_compound_reply(Bytes{x.bytes()}, r));
    EXPECT_EQ(r.walk, WalkStatus::Complete);
    EXPECT_EQ(r.result_count, 5U);
    EXPECT_EQ(r.results[4].op, op::kGetfh);
}

TEST(NfsCbCompound, CbSequenceAndCbRecallAreWalked) {
    Xdr x;
    x.str("").u32(1).u32(0).u32(2);
    x.u32(cb_op::kCbSequence).fixed(kSession).u32(4).u32(0).u32(0).boolean(false);
    x.u32(1).fixed(kSession).u32(1).u32(5).u32(2);  // one referring call list
    x.u32(cb_op::kCbRecall).fixed(16, 3).boolean(false).opaque(ByteVec(32, 4));
    CbCompoundCall c;
    ASSERT_TRUE(parse_cb_compound_call(Bytes{x.bytes()}, c));
    EXPECT_EQ(c.walk, WalkStatus::Complete);
    ASSERT_EQ(c.op_count, 2U);
    EXPECT_EQ(c.ops[1], cb_op::kCbRecall);
    ASSERT_TRUE(c.sequence);
    EXPECT_EQ(c.sequence->sequenceid, 4U);

    Xdr y;
    y.u32(0)
        .str("")
        .u32(2)
        .u32(cb_op::kCbSequence)
        .u32(0)
        .fixed(kSession)
        .u32(4)
        .u32(0)
        .u32(0)
        .u32(0);
    y.u32(cb_op::kCbRecall).u32(0);
    CompoundReply r;
    ASSERT_TRUE(parse_cb_compound_reply(Bytes{y.bytes()}, r));
    EXPECT_EQ(r.walk, WalkStatus::Complete);
    EXPECT_EQ(r.result_count, 2U);
}

TEST(Nfs3, ReplyStatusIsTheFirstWordOfEveryProcedureButNull) {
    const ByteVec b = Xdr().u32(2).u32(0).bytes();
    EXPECT_EQ(nfs3_reply_status(3, Bytes{b}), 2U);
    EXPECT_FALSE(nfs3_reply_status(0, Bytes{b}));
    EXPECT_FALSE(nfs3_reply_status(3, Bytes{b}.first(3)));
    EXPECT_EQ(nfsstat3_name(2), "NFS3ERR_NOENT");
    EXPECT_EQ(nfsstat3_name(10008), "NFS3ERR_JUKEBOX");
    EXPECT_EQ(nfsstat3_name(3), "");
}

TEST(NfsNames, NamesComeFromTheRfcs) {
    EXPECT_EQ(nfs_op_name(3), "ACCESS");
    EXPECT_EQ(nfs_op_name(53), "SEQUENCE");
    EXPECT_EQ(nfs_op_name(58), "RECLAIM_COMPLETE");
    EXPECT_EQ(nfs_op_name(71), "CLONE");
    EXPECT_EQ(nfs_op_name(75), "REMOVEXATTR");
    EXPECT_EQ(nfs_op_name(76), "");
    EXPECT_EQ(nfs_op_name(2), "");
    EXPECT_EQ(nfs_op_name(10044), "ILLEGAL");
    EXPECT_EQ(nfs_cb_op_name(11), "CB_SEQUENCE");
    EXPECT_EQ(nfs_cb_op_name(15), "CB_OFFLOAD");
    EXPECT_EQ(nfs_cb_op_name(10044), "CB_ILLEGAL");
    EXPECT_EQ(nfsstat4_name(0), "NFS4_OK");
    EXPECT_EQ(nfsstat4_name(10022), "NFS4ERR_STALE_CLIENTID");
    EXPECT_EQ(nfsstat4_name(10052), "NFS4ERR_BADSESSION");
    EXPECT_EQ(nfsstat4_name(10057), "NFS4ERR_BACK_CHAN_BUSY");  // not Wireshark's name
    EXPECT_EQ(nfsstat4_name(10065), "NFS4ERR_REQ_TOO_BIG");
    EXPECT_EQ(nfsstat4_name(10067), "NFS4ERR_REP_TOO_BIG_TO_CACHE");
    EXPECT_EQ(nfsstat4_name(10073), "");
    EXPECT_EQ(nfsstat4_name(10078), "NFS4ERR_DEADSESSION");
    EXPECT_EQ(nfsstat4_name(10094), "NFS4ERR_OFFLOAD_NO_REQS");
    EXPECT_EQ(nfsstat4_name(10097), "");
    EXPECT_EQ(to_string(WalkStatus::UnknownArgs), "unknown_args");
}

}  // namespace
}  // namespace vxcheck::rpc

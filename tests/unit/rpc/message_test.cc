// parse_message(): RPC CALL/REPLY headers (RFC 5531 section 9) and the names.

#include "vxcheck/rpc/message.h"

#include <gtest/gtest.h>

#include <vector>

#include "xdr_builder.h"

namespace vxcheck::rpc {
namespace {

using test::ByteVec;
using test::Xdr;

ParseResult parse(const ByteVec& b, Message& m) {
    return parse_message(Bytes{b}, m);
}

TEST(RpcMessage, CallHeaderFieldsAndArgsView) {
    const ByteVec args = Xdr().u32(0xdeadbeef).bytes();
    const ByteVec b = test::rpc_call(0x11223344, kProgNfs, 3, 1, args);
    Message m;
    ASSERT_EQ(parse(b, m), ParseResult::Ok);
    EXPECT_EQ(m.xid, 0x11223344U);
    EXPECT_EQ(m.type, MsgType::Call);
    EXPECT_EQ(m.call.prog, kProgNfs);
    EXPECT_EQ(m.call.vers, 3U);
    EXPECT_EQ(m.call.proc, 1U);
    EXPECT_EQ(m.call.cred.flavor, kAuthNone);
    ASSERT_EQ(m.call.args.head.size(), 4U);
    EXPECT_EQ(be32(m.call.args.head, 0), 0xdeadbeefU);
}

TEST(RpcMessage, AuthSysCredentialGivesTheMachineName) {
    const ByteVec cred =
        Xdr().u32(12345).str("node-a").u32(0).u32(0).u32(2).u32(10).u32(11).bytes();
    const ByteVec b = test::rpc_call(1, kProgNfs, 4, 1, {}, kAuthSys, cred);
    Message m;
    ASSERT_EQ(parse(b, m), ParseResult::Ok);
    EXPECT_EQ(m.call.cred.flavor, kAuthSys);
    AuthSys sys;
    ASSERT_TRUE(parse_auth_sys(m.call.cred.body, sys));
    EXPECT_EQ(sys.machinename, "node-a");
    EXPECT_EQ(sys.gid_count, 2U);
    EXPECT_FALSE(parse_auth_sys(Bytes{cred}.first(cred.size() - 4), sys));
}

// parse_message() reads the common headers straight from the first kept bytes (XdrBytes::head)
// and leaves everything else to the XDR reader, which also reads bytes kept as a tail. Both must
// read every header the same way, cut anywhere, good or bad.
TEST(RpcMessage, HeadersReadTheSameFromTheHeadAsFromTheTail) {
    const auto same = [](const Message& a, const Message& b) {
        const auto bytes = [](Bytes x) { return ByteVec(x.begin(), x.end()); };
        EXPECT_EQ(a.xid, b.xid);
        EXPECT_EQ(a.type, b.type);
        EXPECT_EQ(a.call.rpcvers, b.call.rpcvers);
        EXPECT_EQ(a.call.prog, b.call.prog);
        EXPECT_EQ(a.call.vers, b.call.vers);
        EXPECT_EQ(a.call.proc, b.call.proc);
        EXPECT_EQ(a.call.cred.flavor, b.call.cred.flavor);
        EXPECT_EQ(bytes(a.call.cred.body), bytes(b.call.cred.body));
        EXPECT_EQ(a.call.verf.flavor, b.call.verf.flavor);
        EXPECT_EQ(bytes(a.call.verf.body), bytes(b.call.verf.body));
        EXPECT_EQ(a.call.args.end(), b.call.args.end());
        EXPECT_EQ(a.reply.stat, b.reply.stat);
        EXPECT_EQ(a.reply.verf.flavor, b.reply.verf.flavor);
        EXPECT_EQ(bytes(a.reply.verf.body), bytes(b.reply.verf.body));
        EXPECT_EQ(a.reply.accept, b.reply.accept);
        EXPECT_EQ(a.reply.results.end(), b.reply.results.end());
        EXPECT_EQ(a.reply.reject, b.reply.reject);
        EXPECT_EQ(a.reply.mismatch_low, b.reply.mismatch_low);
    };
    std::vector<ByteVec> messages;
    for (const std::size_t cred : {0U, 1U, 3U, 4U, 24U, 400U, 401U}) {
        ByteVec body(cred);
        for (std::size_t i = 0; i < cred; ++i) {
            body[i] = static_cast<std::uint8_t>(i + 1);
        }
        messages.push_back(test::rpc_call(7, kProgNfs, 4, 1, Xdr().u32(9).bytes(), kAuthSys, body));
    }
    messages.push_back(test::rpc_call(8, kProgNfs, 3, 6, {}, 6, ByteVec(16, 0xcc)));
    messages.push_back(
        Xdr().u32(9).u32(0).u32(3).u32(kProgNfs).u32(4).u32(0).bytes());  // rpcvers 3
    messages.push_back(test::rpc_reply(10, Xdr().u32(0).bytes()));
    messages.push_back(Xdr().u32(11).u32(1).u32(0).u32(6).u32(5).u32(1).u32(2).u32(0).bytes());
    messages.push_back(Xdr().u32(12).u32(1).u32(0).u32(0).u32(0).u32(2).u32(3).u32(4).bytes());
    messages.push_back(Xdr().u32(13).u32(1).u32(1).u32(1).u32(5).bytes());  // AUTH_TOOWEAK
    messages.push_back(Xdr().u32(14).u32(1).u32(0).u32(0).u32(500).bytes());
    messages.push_back(Xdr().u32(15).u32(2).u32(0).u32(0).u32(0).u32(0).bytes());  // msg_type 2
    for (const ByteVec& whole : messages) {
        for (std::size_t n = 0; n <= whole.size(); ++n) {
            SCOPED_TRACE(testing::Message() << "xid " << be32(whole, 0) << " cut " << n);
            const Bytes b = Bytes{whole}.first(n);
            Message kept_first;  // the bytes as the head: the header read straight from them
            const ParseResult r = parse_message(b, kept_first);
            Message in_tail;  // the same bytes as a kept tail: the reader reads them
            EXPECT_EQ(parse_message(XdrBytes{Bytes{}, b, 0}, in_tail), r);
            same(in_tail, kept_first);
        }
    }
    Message m;
    ASSERT_EQ(parse_message(Bytes{messages[2]}, m), ParseResult::Ok);  // a 3-byte credential
    EXPECT_EQ(m.call.cred.body.size(), 3U);
    EXPECT_EQ(m.call.args.end(), 4U);
    EXPECT_EQ(be32(m.call.args.head, 0), 9U);
}

TEST(RpcMessage, CredentialLongerThan400BytesIsCredTooLong) {
    const ByteVec b = test::rpc_call(1, kProgNfs, 4, 1, {}, kAuthSys, ByteVec(404, 0));
    Message m;
    EXPECT_EQ(parse(b, m), ParseResult::CredTooLong);
}

TEST(RpcMessage, CredentialLongerThanTheMessageIsCredTruncated) {
    ByteVec b = test::rpc_call(1, kProgNfs, 4, 1, {}, kAuthSys, ByteVec(100, 0));
    b.resize(60);
    Message m;
    EXPECT_EQ(parse(b, m), ParseResult::CredTruncated);
}

TEST(RpcMessage, VerifierLimitsAreChecked) {
    Xdr x;
    x.u32(1).u32(0).u32(2).u32(kProgNfs).u32(4).u32(0).u32(0).u32(0);
    Message m;
    EXPECT_EQ(parse(Xdr(x).u32(6).u32(401).bytes(), m), ParseResult::VerfTooLong);
    EXPECT_EQ(parse(Xdr(x).u32(6).u32(40).u32(0).bytes(), m), ParseResult::VerfTruncated);
}

TEST(RpcMessage, ShortMessagesAreTooShort) {
    Message m;
    EXPECT_EQ(parse(Xdr().u32(1).bytes(), m), ParseResult::TooShort);
    EXPECT_EQ(parse(Xdr().u32(1).u32(0).u32(2).u32(kProgNfs).bytes(), m), ParseResult::TooShort);
    EXPECT_EQ(parse(Xdr().u32(1).u32(1).bytes(), m), ParseResult::TooShort);
    EXPECT_EQ(parse(Xdr().u32(1).u32(1).u32(0).u32(0).u32(0).bytes(), m), ParseResult::TooShort);
}

TEST(RpcMessage, MsgTypeOtherThan0Or1IsBadMsgType) {
    Message m;
    EXPECT_EQ(parse(Xdr().u32(1).u32(2).u32(2).bytes(), m), ParseResult::BadMsgType);
}

TEST(RpcMessage, RpcVersOtherThan2IsBadRpcVersion) {
    Message m;
    EXPECT_EQ(parse(Xdr().u32(1).u32(0).u32(3).u32(0).u32(0).u32(0).bytes(), m),
              ParseResult::BadRpcVersion);
}

TEST(RpcMessage, ReplyStatAcceptAndRejectStatsOutOfRangeAreNamedFailures) {
    Message m;
    EXPECT_EQ(parse(Xdr().u32(1).u32(1).u32(2).bytes(), m), ParseResult::BadReplyStat);
    EXPECT_EQ(parse(Xdr().u32(1).u32(1).u32(0).u32(0).u32(0).u32(6).bytes(), m),
              ParseResult::BadAcceptStat);
    EXPECT_EQ(parse(Xdr().u32(1).u32(1).u32(1).u32(2).bytes(), m), ParseResult::BadRejectStat);
    EXPECT_EQ(parse(Xdr().u32(1).u32(1).u32(1).u32(1).u32(15).bytes(), m),
              ParseResult::BadAuthStat);
    EXPECT_EQ(parse(Xdr().u32(1).u32(1).u32(1).u32(0).u32(2).bytes(), m),
              ParseResult::MismatchTruncated);
    EXPECT_EQ(parse(Xdr().u32(1).u32(1).u32(0).u32(0).u32(0).u32(2).u32(3).bytes(), m),
              ParseResult::MismatchTruncated);
}

TEST(RpcMessage, AcceptedReplySuccessGivesResults) {
    const ByteVec b = test::rpc_reply(9, Xdr().u32(0).u32(7).bytes());
    Message m;
    ASSERT_EQ(parse(b, m), ParseResult::Ok);
    EXPECT_EQ(m.type, MsgType::Reply);
    EXPECT_EQ(m.reply.stat, ReplyStat::Accepted);
    EXPECT_EQ(m.reply.accept, AcceptStat::Success);
    EXPECT_EQ(m.reply.results.head.size(), 8U);
}

TEST(RpcMessage, AcceptedReplyVerifierIsSkippedByLength) {
    const ByteVec b =
        Xdr().u32(9).u32(1).u32(0).u32(kRpcsecGss).opaque(ByteVec(20, 1)).u32(0).u32(5).bytes();
    Message m;
    ASSERT_EQ(parse(b, m), ParseResult::Ok);
    EXPECT_EQ(m.reply.verf.body.size(), 20U);
    ASSERT_EQ(m.reply.results.head.size(), 4U);
    EXPECT_EQ(be32(m.reply.results.head, 0), 5U);
}

TEST(RpcMessage, ProgMismatchCarriesLowAndHigh) {
    const ByteVec b = Xdr().u32(9).u32(1).u32(0).u32(0).u32(0).u32(2).u32(2).u32(3).bytes();
    Message m;
    ASSERT_EQ(parse(b, m), ParseResult::Ok);
    EXPECT_EQ(m.reply.accept, AcceptStat::ProgMismatch);
    EXPECT_EQ(m.reply.mismatch_low, 2U);
    EXPECT_EQ(m.reply.mismatch_high, 3U);
    EXPECT_EQ(to_string(m.reply.accept), "PROG_MISMATCH");
}

TEST(RpcMessage, DeniedReplyRpcMismatchAndAuthError) {
    Message m;
    ASSERT_EQ(parse(Xdr().u32(9).u32(1).u32(1).u32(0).u32(2).u32(2).bytes(), m), ParseResult::Ok);
    EXPECT_EQ(m.reply.stat, ReplyStat::Denied);
    EXPECT_EQ(m.reply.reject, RejectStat::RpcMismatch);
    EXPECT_EQ(m.reply.mismatch_low, 2U);
    ASSERT_EQ(parse(Xdr().u32(9).u32(1).u32(1).u32(1).u32(5).bytes(), m), ParseResult::Ok);
    EXPECT_EQ(m.reply.reject, RejectStat::AuthError);
    EXPECT_EQ(m.reply.auth, AuthStat::TooWeak);
    EXPECT_EQ(to_string(m.reply.auth), "AUTH_TOOWEAK");
    EXPECT_EQ(to_string(m.reply.reject), "AUTH_ERROR");
    EXPECT_EQ(to_string(m.reply.stat), "MSG_DENIED");
}

TEST(RpcMessage, PlausibleStartNeedsMsgTypeAndRpcVersion) {
    EXPECT_TRUE(plausible_message_start(Bytes{test::rpc_call(1, kProgNfs, 4, 0)}));
    EXPECT_TRUE(plausible_message_start(Bytes{test::rpc_reply(1)}));
    EXPECT_FALSE(plausible_message_start(Bytes{Xdr().u32(1).u32(0).u32(3).bytes()}));
    EXPECT_FALSE(plausible_message_start(Bytes{Xdr().u32(1).u32(5).u32(0).bytes()}));
    EXPECT_FALSE(plausible_message_start(Bytes{Xdr().u32(1).u32(1).bytes()}));
}

TEST(RpcMessage, EveryParseResultHasAName) {
    for (int r = 0; r <= static_cast<int>(ParseResult::MismatchTruncated); ++r) {
        const std::string_view name = to_string(static_cast<ParseResult>(r));
        EXPECT_EQ(name.substr(0, 4), "rpc.");
        EXPECT_NE(name, "rpc.unknown");
    }
    EXPECT_EQ(to_string(ParseResult::CredTooLong), "rpc.cred_too_long");
}

TEST(RpcMessage, ProgramAndProcedureNamesFollowWireshark) {
    EXPECT_EQ(program_name(kProgNfs), "NFS");
    EXPECT_EQ(program_name(kProgMount), "MOUNT");
    EXPECT_EQ(program_name(kProgPortmap), "Portmap");
    EXPECT_EQ(program_name(kProgNlm), "NLM");
    EXPECT_EQ(program_name(kProgNfsCallbackLinux), "NFS_CB");
    EXPECT_EQ(program_name(424242), "");
    EXPECT_EQ(procedure_name(kProgNfs, 3, 1), "GETATTR");
    EXPECT_EQ(procedure_name(kProgNfs, 3, 17), "READDIRPLUS");
    EXPECT_EQ(procedure_name(kProgNfs, 3, 21), "COMMIT");
    EXPECT_EQ(procedure_name(kProgNfs, 3, 22), "");
    EXPECT_EQ(procedure_name(kProgNfs, 4, 1), "COMPOUND");
    EXPECT_EQ(procedure_name(kProgNfs, 4, 2), "");
    EXPECT_EQ(procedure_name(kProgMount, 3, 1), "MNT");
    EXPECT_EQ(procedure_name(kProgMount, 3, 5), "EXPORT");
    EXPECT_EQ(procedure_name(kProgMount, 3, 6), "");
    EXPECT_EQ(procedure_name(kProgPortmap, 2, 3), "GETPORT");
    EXPECT_EQ(procedure_name(kProgPortmap, 4, 3), "GETADDR");
    EXPECT_EQ(procedure_name(kProgNfsCallbackLinux, 1, 1), "CB_COMPOUND");
    EXPECT_EQ(auth_flavor_name(kRpcsecGss), "RPCSEC_GSS");
}

}  // namespace
}  // namespace vxcheck::rpc

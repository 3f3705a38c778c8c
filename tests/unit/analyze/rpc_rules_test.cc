// The RPC / NFS verdict rules of issue 19, pinned on typed facts: each fires on its story and
// stays silent on its controls.

#include "vxcheck/analyze/rpc_rules.h"

#include <gtest/gtest.h>

#include <vector>

namespace vxcheck::analyze::rpc_rules {
namespace {

track::Endpoint ip(std::uint8_t last) {
    track::Endpoint e;
    e.addr[0] = 10;
    e.addr[1] = 244;
    e.addr[3] = last;
    return e;
}

rpc::Verifier4 verifier(std::uint8_t v) {
    rpc::Verifier4 out{};
    out[7] = v;
    return out;
}

Timestamp at(double s) {
    return Timestamp{static_cast<std::int64_t>(s),
                     static_cast<std::uint32_t>((s - static_cast<std::int64_t>(s)) * 1e9)};
}

TEST(RpcUnanswered, FiresAfterTheThresholdOrAClose) {
    EXPECT_TRUE(unanswered(false, false, 5.0, false, 5.0));
    EXPECT_TRUE(unanswered(false, false, 0.1, true, 5.0));
}

TEST(RpcUnanswered, CallsInTheLastSecondsArePending) {
    EXPECT_FALSE(unanswered(false, false, 4.9, false, 5.0));
}

TEST(RpcUnanswered, AnAnswerHereOrOnALaterConnectionClearsIt) {
    EXPECT_FALSE(unanswered(true, false, 30, true, 5.0));
    EXPECT_FALSE(unanswered(false, true, 30, true, 5.0));
}

TEST(NfsReplyTooBig, RepTooBigAndRepTooBigToCache) {
    EXPECT_TRUE(reply_too_big(rpc::nfs4err::kRepTooBig));
    EXPECT_TRUE(reply_too_big(rpc::nfs4err::kRepTooBigToCache));
    EXPECT_FALSE(reply_too_big(rpc::nfs4err::kReqTooBig));
    EXPECT_TRUE(request_too_big(rpc::nfs4err::kReqTooBig));
}

TEST(NfsReplyExceedsSessionLimit, CachethisSelectsTheCachedLimit) {
    rpc::ChannelAttrs fore;
    fore.maxresponsesize = 4096;
    fore.maxresponsesize_cached = 512;
    EXPECT_EQ(reply_limit(fore, false), 4096U);
    EXPECT_EQ(reply_limit(fore, true), 512U);
}

TEST(NfsClientidCollision, FiresOnTwoIpsTwoVerifiersAlternating) {
    const std::vector<OwnerEvent> p = {
        {ip(5), verifier(1), at(0)}, {ip(6), verifier(2), at(1)}, {ip(5), verifier(1), at(2)}};
    const auto c = clientid_collision("Linux NFSv4.2 localhost", p, {}, RpcOptions{});
    ASSERT_TRUE(c);
    EXPECT_EQ(c->switches, 2U);
    EXPECT_EQ(c->clients.size(), 2U);
    EXPECT_EQ(c->verifiers.size(), 2U);
}

TEST(NfsClientidCollision, FiresOnAnErrorAfterTheOtherIpsEstablishment) {
    const std::vector<OwnerEvent> p = {{ip(5), verifier(1), at(0)}, {ip(6), verifier(2), at(1)}};
    const std::vector<SessionEvent> e = {
        {ip(5), at(0.5), true}, {ip(6), at(1.5), true}, {ip(5), at(2), false}};
    const auto c = clientid_collision("o", p, e, RpcOptions{});
    ASSERT_TRUE(c);
    EXPECT_TRUE(c->error_evidence);
    EXPECT_EQ(c->switches, 1U);
}

TEST(NfsClientidCollision, SilentWhenOneClientReboots) {
    const std::vector<OwnerEvent> p = {{ip(5), verifier(1), at(0)}, {ip(5), verifier(2), at(30)}};
    EXPECT_FALSE(clientid_collision("o", p, {}, RpcOptions{}));
}

TEST(NfsClientidCollision, SilentOnTrunking) {
    const std::vector<OwnerEvent> p = {
        {ip(5), verifier(1), at(0)}, {ip(6), verifier(1), at(1)}, {ip(5), verifier(1), at(2)}};
    EXPECT_FALSE(clientid_collision("o", p, {}, RpcOptions{}));
}

TEST(NfsSessionChurn, FiresOnThreeEstablishmentsInAMinute) {
    const std::vector<SessionEvent> e = {
        {ip(5), at(0), true}, {ip(5), at(20), true}, {ip(5), at(59), true}};
    const RpcChurn c = session_churn(e, RpcOptions{});
    EXPECT_EQ(c.max_in_window, 3U);
    EXPECT_TRUE(churn_fires(c, RpcOptions{}));
}

TEST(NfsSessionChurn, FiresOnTwoRecoveryCycles) {
    const std::vector<SessionEvent> e = {{ip(5), at(0), true},    {ip(5), at(100), false},
                                         {ip(5), at(101), false}, {ip(5), at(102), true},
                                         {ip(5), at(200), false}, {ip(5), at(201), true}};
    const RpcChurn c = session_churn(e, RpcOptions{});
    EXPECT_EQ(c.cycles, 2U);
    EXPECT_EQ(c.errors, 3U);
    EXPECT_TRUE(churn_fires(c, RpcOptions{}));
}

TEST(NfsSessionChurn, SilentOnOneMountAndOneServerReboot) {
    const std::vector<SessionEvent> e = {
        {ip(5), at(0), true}, {ip(5), at(100), false}, {ip(5), at(101), true}};
    EXPECT_FALSE(churn_fires(session_churn(e, RpcOptions{}), RpcOptions{}));
}

TEST(NfsSessionChurn, SilentOnTwoEstablishmentsAMinuteApart) {
    const std::vector<SessionEvent> e = {
        {ip(5), at(0), true}, {ip(5), at(30), true}, {ip(5), at(90), true}};
    EXPECT_FALSE(churn_fires(session_churn(e, RpcOptions{}), RpcOptions{}));
}

}  // namespace
}  // namespace vxcheck::analyze::rpc_rules

// The GRE checksum (RFC 2784 2.5): a verdict of its own, over the GRE header and payload with no
// pseudo-header; ok, bad, or unverified when not all of it was captured or it is a fragment.

#include <gtest/gtest.h>

#include "packet_builder.h"

namespace vxcheck::test {
namespace {

using verify::Check;
using verify::Reason;
using verify::Status;

PacketBuilder& inner_tcp(PacketBuilder& b) {
    return b.ipv4("10.244.1.5", "10.244.2.5").tcp(40000, 2049).payload(33);  // odd length
}

PacketBuilder outer_gre(bool checksum = true) {
    return PacketBuilder().ethernet().ipv4("192.168.0.10", "192.168.0.11").gre(checksum, 5);
}

PacketBuilder gre_tcp(bool checksum = true) {
    PacketBuilder b = outer_gre(checksum);
    return inner_tcp(b);
}

TEST(GreChecksum, CorrectChecksumIsOk) {
    const Dissection d(gre_tcp());
    EXPECT_EQ(d.verdict_names(), "ipv4@0=ok gre@0=ok ipv4@1=ok tcp@1=ok");
    const verify::Verdict* v = d.verdict(Check::Gre);
    ASSERT_NE(v, nullptr);
    EXPECT_EQ(v->stored, v->expected);
    EXPECT_EQ(v->stored, d.packet().be16_at(d.packet().layer(Kind::Gre).offset + 4));
}

TEST(GreChecksum, WrongChecksumIsBadWithTheExpectedValue) {
    const Dissection good(gre_tcp());
    PacketBuilder b = outer_gre().corrupt_checksum(0x0f00);  // the GRE layer's
    const Dissection bad(inner_tcp(b));
    EXPECT_EQ(bad.verdict_names(), "ipv4@0=ok gre@0=bad ipv4@1=ok tcp@1=ok");
    const verify::Verdict* v = bad.verdict(Check::Gre);
    ASSERT_NE(v, nullptr);
    EXPECT_EQ(v->status, Status::Bad);
    EXPECT_EQ(v->stored, good.verdict(Check::Gre)->stored ^ 0x0f00);
    EXPECT_EQ(v->expected, good.verdict(Check::Gre)->stored);
    EXPECT_EQ(check_invariants(bad.decoded(), bad.verdicts()), "");
}

// An inner byte changed after the GRE checksum was computed: the checksum covers the payload.
TEST(GreChecksum, CoversThePayload) {
    BuiltPacket p = gre_tcp().build();
    p.bytes.back() ^= 0x01;  // the last payload byte: inner TCP now bad, and GRE
    const Dissection changed(std::move(p));
    EXPECT_EQ(changed.verdict_names(), "ipv4@0=ok gre@0=bad ipv4@1=ok tcp@1=bad");
}

TEST(GreChecksum, NoChecksumBitNoVerdict) {
    const Dissection d(gre_tcp(false));
    EXPECT_EQ(d.verdict(Check::Gre), nullptr);
    EXPECT_EQ(d.verdict_names(), "ipv4@0=ok ipv4@1=ok tcp@1=ok");
}

TEST(GreChecksum, CutBySnaplenIsUnverified) {
    const Dissection d(gre_tcp().snaplen(14 + 20 + 12 + 20 + 20 + 4));
    const verify::Verdict* v = d.verdict(Check::Gre);
    ASSERT_NE(v, nullptr);
    EXPECT_EQ(v->status, Status::Unverified);
    EXPECT_EQ(v->reason, Reason::Snaplen);
    EXPECT_EQ(check_invariants(d.decoded(), d.verdicts()), "");
}

TEST(GreChecksum, FirstFragmentIsUnverified) {
    const Dissection d(PacketBuilder()
                           .ethernet()
                           .ipv4("192.168.0.10", "192.168.0.11")
                           .ipv4_fragment(0, true)
                           .gre(true)
                           .ipv4("10.0.0.1", "10.0.0.2")
                           .udp(1, 2)
                           .payload(16));
    const verify::Verdict* v = d.verdict(Check::Gre);
    ASSERT_NE(v, nullptr);
    EXPECT_EQ(v->status, Status::Unverified);
    EXPECT_EQ(v->reason, Reason::Fragment);
}

TEST(GreChecksum, Name) {
    EXPECT_EQ(verify::to_string(Check::Gre), "gre");
}

}  // namespace
}  // namespace vxcheck::test

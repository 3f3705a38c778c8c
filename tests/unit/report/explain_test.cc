// The words for the connection facts, built at report time (report/explain.h): the strings the
// JSON and text reports have always printed.

#include "vxcheck/report/explain.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace vxcheck::report {
namespace {

using analyze::EvidenceNote;

TEST(ExplainWords, EvidenceNoteOfASynNamesItsNumberIsnOffsetAndTunnel) {
    const EvidenceNote n{.kind = EvidenceNote::Kind::Syn,
                         .syn_number = 2,
                         .isn = 1000,
                         .offset_s = 1.0004,
                         .tunnelled = true,
                         .outer_known = true,
                         .outer_status = verify::Status::Bad,
                         .outer_sport = 7103,
                         .stored = 0xffff,
                         .expected = 0x46bd};
    EXPECT_EQ(evidence_note(n),
              "SYN #2 of ISN 1000 at +1.000 s, outer sport 7103, outer UDP checksum bad (stored "
              "0xffff, expected 0x46bd)");
}

TEST(ExplainWords, EvidenceNoteWithoutATunnelHasNoOuterPart) {
    EXPECT_EQ(evidence_note({.kind = EvidenceNote::Kind::SynAck}), "SYN-ACK: the server answered");
    EXPECT_EQ(evidence_note(
                  {.kind = EvidenceNote::Kind::IcmpUnreachable, .icmp_type = 3, .icmp_code = 3}),
              "ICMP destination unreachable (type 3 code 3) quoting the SYN");
}

TEST(ExplainWords, HopNamesTheLastPointAndTheMissingOnes) {
    const std::vector<std::string> points{"a-eth0", "b-eth0", "b-flannel1"};
    const analyze::Hop never{.kind = analyze::Hop::Kind::NeverReached,
                             .syn_number = 1,
                             .offset_s = 0,
                             .last_point = 1,
                             .missing = 0b100};
    EXPECT_EQ(hop_words(never, points),
              "SYN #1 (+0.000 s): last seen at b-eth0, never reached b-flannel1");
    const analyze::Hop moved{.kind = analyze::Hop::Kind::OuterPortRewritten,
                             .syn_number = 3,
                             .offset_s = 3,
                             .from_sport = 50000,
                             .from_point = 0,
                             .to_sport = 7103,
                             .to_point = 1};
    EXPECT_EQ(hop_words(moved, points),
              "SYN #3 (+3.000 s): outer source port 50000 at a-eth0 became 7103 at b-eth0");
}

TEST(ExplainWords, AnOrderUnknownHopSaysWhereTheSynWasSeenAndThatNothingShowsWhatFollows) {
    const std::vector<std::string> points{"a-eth0", "b-eth0", "b-flannel1", "b-cni0"};
    analyze::Hop h{.kind = analyze::Hop::Kind::OrderUnknown,
                   .syn_number = 2,
                   .offset_s = 1,
                   .last_point = 1,
                   .seen = 0b11,
                   .last_known = true};
    EXPECT_EQ(hop_words(h, points),
              "SYN #2 (+1.000 s): seen at a-eth0, b-eth0 (last at b-eth0); no packet seen at two "
              "capture points shows which point comes after them on the way to the server, so "
              "where it was lost is unknown");
    h.missing = 0b1000;
    h.last_known = false;
    EXPECT_EQ(hop_words(h, points),
              "SYN #2 (+1.000 s): seen at a-eth0, b-eth0; no packet seen at two capture points "
              "shows which point comes after them on the way to the server, so where it was lost "
              "is unknown (b-cni0 carried other traffic to the server's node, at an unknown place "
              "on the path)");
}

TEST(ExplainWords, OuterSnatVariantBNamesThePreNatPort) {
    using Kind = analyze::OuterSnatReason::Kind;
    EXPECT_EQ(outer_snat_words({.kind = Kind::VariantB, .port = 7103, .pre_nat_port = 50000}),
              "the outer UDP checksum is valid for source port 50000, not for the port on the "
              "wire (7103): NAT rewrote it");
    EXPECT_EQ(
        outer_snat_words(
            {.kind = Kind::PortOutOfRange, .port = 7103, .range_min = 32768, .range_max = 60998}),
        "outer VXLAN source port 7103 is outside the driver's range 32768-60998");
    EXPECT_EQ(outer_snat_words({}), "");
}

TEST(ExplainWords, InnerSnatNamesTheFlannelAddressAndThePort) {
    analyze::ConnectionReport r;
    r.client = track::ipv4_endpoint(0x0af40100, 612);
    r.inner_snat = {.kind = analyze::InnerSnatReason::Kind::MasqueradePrivilegedPort, .port = 612};
    EXPECT_EQ(inner_snat_words(r),
              "the client address 10.244.1.0 is flannel.1's (x.y.z.0) and its port 612 is in "
              "600-664, where MASQUERADE puts privileged ports; the Linux NFS client binds "
              "665-1023");
}

TEST(ExplainWords, ACleanConnectionHasOneSentenceAndNoRemedy) {
    analyze::ConnectionReport r;
    r.client = track::ipv4_endpoint(0x0af40105, 40000);
    r.server = track::ipv4_endpoint(0x0a60000a, 2049);
    r.verdicts = {analyze::Verdict::Clean};
    const Explanation e = explain(r, {});
    EXPECT_EQ(e.text, "Nothing wrong found for 10.244.1.5:40000 -> 10.96.0.10:2049.");
    EXPECT_TRUE(e.remedies.empty());
}

}  // namespace
}  // namespace vxcheck::report

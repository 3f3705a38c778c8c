// The words of the report match the evidence (issue 20 item 1): a SYN drop is put on the
// checksums only when the dropped SYNs carried corrupted ones; corrupted packets that the server
// answered are not said to be dropped; a point that cannot see an outer rewrite says so.

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "vxcheck/report/explain.h"

namespace vxcheck::report {
namespace {

using analyze::ConnectionReport;
using analyze::EvidenceFrame;
using analyze::EvidenceNote;
using analyze::Verdict;
using verify::Status;

// A SYN's note; `stored` is its outer checksum field (0x7363: variant B's, as corrupted).
EvidenceFrame syn(std::uint32_t number, Status outer, std::uint16_t stored = 0x7363) {
    EvidenceFrame f;
    f.frame = number;
    f.note = {.kind = EvidenceNote::Kind::Syn,
              .syn_number = number,
              .tunnelled = true,
              .outer_known = true,
              .outer_status = outer,
              .outer_sport = 7103,
              .stored = stored};
    return f;
}

// A host-network client's connection through a double SNAT (variant B), tunnelled.
ConnectionReport nated(std::vector<Verdict> verdicts) {
    ConnectionReport r;
    r.client = track::ipv4_endpoint(0x0af40100, 63107);  // 10.244.1.0
    r.server = track::ipv4_endpoint(0x0af40205, 2049);
    r.tunnelled = true;
    r.outer_client = track::ipv4_endpoint(0xc0a84d0a, 0);
    r.verdicts = std::move(verdicts);
    analyze::CorruptedOuter k;
    k.variant = analyze::CorruptionVariant::B;
    k.sport = 7103;
    k.pre_nat_sport = 50000;
    r.corrupted = {k};
    r.corrupted_total = 1;
    return r;
}

bool says(const std::string& text, const std::string& words) {
    return text.find(words) != std::string::npos;
}

TEST(TextWords, SynDropIsNotPutOnChecksumsWhenSomeDroppedSynsHadValidOnes) {
    ConnectionReport r = nated({Verdict::SynDropped, Verdict::OuterChecksumCorrupted});
    r.outcome = analyze::Outcome::Dropped;
    r.syns = 6;
    r.evidence = {syn(1, Status::Bad)};
    for (std::uint32_t n = 2; n <= 6; ++n) {
        r.evidence.push_back(syn(n, Status::Ok));
    }
    const Explanation e = explain(r, {"a-eth0"});
    EXPECT_FALSE(dropped_for_checksums(r));
    EXPECT_TRUE(says(e.text, "1 of the 6 SYNs carried a corrupted outer checksum")) << e.text;
    EXPECT_TRUE(says(e.text, "something else on the path dropped them")) << e.text;
    EXPECT_FALSE(says(e.text, "Every one of them carried")) << e.text;
    EXPECT_FALSE(says(e.text, "Given the corrupted outer checksums")) << e.text;
    bool find_the_hop = false;
    for (const std::string& fix : e.remedies) {
        find_the_hop = find_the_hop || says(fix, "Find the hop that drops the SYN");
    }
    EXPECT_TRUE(find_the_hop);
}

TEST(TextWords, SynDropIsPutOnChecksumsWhenEveryDroppedSynHadABadOne) {
    ConnectionReport r = nated({Verdict::SynDropped, Verdict::OuterChecksumCorrupted});
    r.outcome = analyze::Outcome::Dropped;
    r.syns = 3;
    r.evidence = {syn(1, Status::Bad), syn(2, Status::Bad), syn(3, Status::Bad)};
    EXPECT_TRUE(dropped_for_checksums(r));
    EXPECT_TRUE(says(explain(r, {"a-eth0"}).text, "Every one of them carried a corrupted"));
}

TEST(TextWords, SynDropIsNotPutOnZeroOuterChecksumsOverIpv6) {
    // A tunnel over IPv6 without outer checksums (RFC 6935): each verdict is bad (RFC 8200 8.1),
    // stored 0, but nothing was corrupted.
    ConnectionReport r;
    r.client = track::ipv4_endpoint(0x0af40105, 40700);  // 10.244.1.5
    r.server = track::ipv4_endpoint(0x0af40205, 2049);
    r.tunnelled = true;
    r.verdicts = {Verdict::SynDropped};
    r.outcome = analyze::Outcome::Dropped;
    r.syns = 3;
    r.evidence = {syn(1, Status::Bad, 0), syn(2, Status::Bad, 0), syn(3, Status::Bad, 0)};
    EXPECT_FALSE(dropped_for_checksums(r));
    const std::string text = explain(r, {"a-eth0"}).text;
    EXPECT_FALSE(says(text, "corrupted outer checksum")) << text;
}

TEST(TextWords, CorruptedPacketsOfAConnectionEstablishedAtOnceAreNotSaidToBeDropped) {
    ConnectionReport r = nated({Verdict::OuterChecksumCorrupted});
    r.outcome = analyze::Outcome::Established;
    r.syns = 1;
    r.evidence = {syn(1, Status::Bad)};
    const std::string text = explain(r, {"a-eth0"}).text;
    EXPECT_FALSE(says(text, "never reach")) << text;
    EXPECT_TRUE(says(text, "The server answered a SYN that carried such a checksum")) << text;
}

TEST(TextWords, CorruptionWithoutSynEvidenceIsUndeterminedWithWhatSettlesIt) {
    ConnectionReport r = nated({Verdict::OuterChecksumCorrupted});
    const std::string text = explain(r, {"a-eth0"}).text;
    EXPECT_FALSE(says(text, "never reach")) << text;
    EXPECT_TRUE(says(text, "cannot be told from these captures")) << text;
    EXPECT_TRUE(says(text, "settles it")) << text;
}

TEST(TextWords, ANewOuterPortIsClaimedOnlyWhenTheCaptureShowsOne) {
    ConnectionReport r = nated({Verdict::DelayedConnect, Verdict::OuterChecksumCorrupted});
    r.outcome = analyze::Outcome::Established;
    r.syns = 2;
    r.delay_s = 1.0;
    r.outer_sports = {7103};
    EXPECT_FALSE(says(explain(r, {}).text, "picked a new outer source port"));
    r.outer_sports = {7103, 45000};
    EXPECT_TRUE(says(explain(r, {}).text, "picked a new outer source port"));
}

TEST(TextWords, BadOuterChecksumEvidenceSaysItOnce) {
    const std::string note = evidence_note({.kind = EvidenceNote::Kind::BadOuterChecksum,
                                            .tunnelled = true,
                                            .outer_known = true,
                                            .outer_status = Status::Bad,
                                            .outer_sport = 6648,
                                            .stored = 0x0252,
                                            .expected = 0xf344});
    EXPECT_EQ(note, "outer UDP checksum bad (stored 0x0252, expected 0xf344), outer sport 6648");
}

TEST(TextWords, ConnectionsWithTheSameStoryShareTheirMechanismSentences) {
    ConnectionReport a = nated({Verdict::InnerSnat, Verdict::OuterSnat, Verdict::DoubleSnat,
                                Verdict::OuterChecksumCorrupted});
    a.inner_snat = {.kind = analyze::InnerSnatReason::Kind::InferredFromOuterNat, .port = 40001};
    ConnectionReport b = a;
    b.client.port = 40002;
    b.inner_snat.port = 40002;
    b.corrupted.front().pre_nat_sport = 50001;
    b.outer_snat = {
        .kind = analyze::OuterSnatReason::Kind::VariantB, .port = 7104, .pre_nat_port = 50001};
    a.outer_snat = {
        .kind = analyze::OuterSnatReason::Kind::VariantB, .port = 7103, .pre_nat_port = 50000};
    const Explanation ea = explain(a, {});
    const Explanation eb = explain(b, {});
    ASSERT_EQ(ea.sentences.size(), eb.sentences.size());
    // Same mechanism and same inner-SNAT reason; only the outer SNAT (the pre-NAT port) differs.
    std::size_t differ = 0;
    for (std::size_t i = 0; i < ea.sentences.size(); ++i) {
        differ += ea.sentences[i] != eb.sentences[i] ? 1U : 0U;
    }
    EXPECT_EQ(differ, 1U);
}

TEST(TextWords, DoubleSnatIsUndeterminedOnlyUnderPartialOrZeroOuterChecksums) {
    ConnectionReport r;
    r.client = track::ipv4_endpoint(0x0af40100, 40005);  // flannel.1's 10.244.1.0
    r.server = track::ipv4_endpoint(0x0af40205, 2049);
    r.verdicts = {Verdict::Clean};
    r.tunnelled = true;
    r.syns = 1;
    r.evidence = {syn(1, Status::Partial)};
    EXPECT_TRUE(double_snat_undetermined(r));
    r.evidence = {syn(1, Status::Zero)};
    EXPECT_TRUE(double_snat_undetermined(r));
    r.evidence = {syn(1, Status::Ok)};  // a full checksum shows a rewrite (variant B)
    EXPECT_FALSE(double_snat_undetermined(r));
    r.evidence = {syn(1, Status::Partial)};
    r.client = track::ipv4_endpoint(0x0af40105, 40005);  // a pod: never masqueraded to x.y.z.0
    EXPECT_FALSE(double_snat_undetermined(r));
}

}  // namespace
}  // namespace vxcheck::report

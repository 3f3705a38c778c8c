// Every structure of the connection analysis that grows with the traffic has a bound tied to an
// option, and counts what the bound dropped (issue 22 item 4): the VTEP-pair table
// (--max-vtep-pairs), the list of connections with a pending event (bounded by the flows
// tracked, whether or not poll() empties it), and the evidence frames held (--evidence-budget).

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "analyze/kept_frame.h"
#include "analyze/vtep_modes.h"
#include "feeder.h"
#include "packet_builder.h"
#include "vxcheck/analyze/connections.h"

namespace vxcheck::test {
namespace {

namespace tf = decode::tcp_flag;

// A digest that shows one IPv4 VTEP pair (n -> n + 1) sending zero outer checksums.
analyze::PacketDigest sighting(std::uint32_t n) {
    analyze::PacketDigest d;
    d.add_vtep((std::uint64_t{0x0a000000U + n} << 32) | (0x0b000000U + n), true);
    return d;
}

track::Endpoint src_of(std::uint32_t n) {
    return track::ipv4_endpoint(0x0a000000U + n, 0);
}
track::Endpoint dst_of(std::uint32_t n) {
    return track::ipv4_endpoint(0x0b000000U + n, 0);
}

struct VtepTable {
    explicit VtepTable(std::size_t max) : modes(max) {}
    void see(std::uint32_t n) { modes.learn(packet, verdicts, sighting(n)); }
    [[nodiscard]] bool knows(std::uint32_t n) const {
        return modes.mode_of(src_of(n), dst_of(n)) != analyze::VtepMode::Unknown;
    }
    analyze::VtepModes modes;
    decode::DecodedPacket packet;
    verify::Verdicts verdicts;
};

TEST(BoundedState, TheVtepPairTableHoldsAtMostItsLimitAndCountsWhatItForgets) {
    VtepTable t(64);
    for (std::uint32_t n = 0; n < 1000; ++n) {
        t.see(n);
    }
    EXPECT_EQ(t.modes.size(), 64U);
    EXPECT_EQ(t.modes.evicted(), 1000U - 64U);
    // New pairs streaming in replace the oldest: the last 64 are all found (the index stays
    // consistent through the removals), the others are forgotten.
    for (std::uint32_t n = 0; n < 1000; ++n) {
        EXPECT_EQ(t.knows(n), n >= 1000 - 64) << n;
    }
}

TEST(BoundedState, AVtepPairUsedSinceTheClockHandPassedIsNotTheOneForgotten) {
    VtepTable t(4);
    for (std::uint32_t n = 0; n < 5; ++n) {  // 0-3, then 4 replaces 0; the hand clears 1-3
        t.see(n);
    }
    t.see(2);  // used again
    t.see(5);  // replaces 1
    t.see(6);  // passes 2 (used), replaces 3
    EXPECT_TRUE(t.knows(2));
    EXPECT_FALSE(t.knows(1));
    EXPECT_FALSE(t.knows(3));
    EXPECT_TRUE(t.knows(4) && t.knows(5) && t.knows(6));
    EXPECT_EQ(t.modes.evicted(), 3U);
}

// A client SYN in VXLAN, outer pair 192.168.<pair>.10 -> 192.168.<pair>.20, client port `port`.
PacketBuilder tunnelled_syn(unsigned pair, std::uint16_t port, std::uint32_t isn = 1000) {
    PacketBuilder b;
    const std::string net = "192.168." + std::to_string(pair) + ".";
    b.ethernet().ipv4(net + "10", net + "20").udp(40000, 8472).zero_udp_checksum();
    b.vxlan(1).ethernet().ipv4("10.244.1.5", "10.244.2.7").tcp(port, 2049, tf::kSyn, isn);
    return b;
}

TEST(BoundedState, TheAnalyzerCountsTheVtepPairsItForgot) {
    analyze::ConnectionOptions o;
    o.max_vtep_pairs = 2;
    analyze::ConnectionAnalyzer a(o);
    a.add_point("p");
    Feeder feed(a);
    for (unsigned pair = 1; pair <= 5; ++pair) {
        feed.send(tunnelled_syn(pair, 45000));
    }
    EXPECT_EQ(a.stats().vtep_pairs_evicted, 3U);
}

// Without poll() (analyze), the list of connections with a pending event would keep a key for
// every connection ever marked; it stays bounded by the flows tracked.
TEST(BoundedState, ThePendingEventListDoesNotGrowWithoutPoll) {
    analyze::ConnectionOptions o;
    o.max_flows = 16;
    analyze::ConnectionAnalyzer a(o);
    a.add_point("p");
    Feeder feed(a);
    for (std::uint16_t port = 1000; port < 6000; ++port) {
        feed.send(tunnelled_syn(1, port));
        feed.send(tunnelled_syn(1, port));  // a retransmission: an event for poll()
    }
    EXPECT_GT(a.stats().evicted, 0U);
    EXPECT_LE(a.pending_dirty(), 1024U);
}

TEST(BoundedState, ThePendingEventListStillServesPollAfterCompaction) {
    analyze::ConnectionOptions o;
    o.max_flows = 4096;
    analyze::ConnectionAnalyzer a(o);
    a.add_point("p");
    Feeder feed(a);
    for (std::uint16_t port = 1000; port < 3100; ++port) {  // more than one compaction's worth
        feed.send_at(tunnelled_syn(1, port), 1.0);
        feed.send_at(tunnelled_syn(1, port), 2.0);
    }
    EXPECT_EQ(a.pending_dirty(), 2100U);  // once each, though each was marked twice
    const auto decided = a.poll(Timestamp{.sec = 1700000000 + 100, .nsec = 0}, 0.5);
    EXPECT_EQ(decided.size(), 2100U);  // each connection's dropped SYN, once
    EXPECT_EQ(a.pending_dirty(), 0U);
}

std::size_t frame_cost() {
    const BuiltPacket p = tunnelled_syn(1, 45000).build();
    return sizeof(analyze::EvidenceFrame) + p.frame(1).data.size();
}

// What a tracked connection holds of a frame (kept_frame.h): a short header and the bytes.
std::size_t kept_frame_cost() {
    const BuiltPacket p = tunnelled_syn(1, 45000).build();
    return sizeof(analyze::KeptFrame) + p.frame(1).data.size();
}

TEST(BoundedState, EvidenceFramesBeyondTheBudgetAreCountedNotKept) {
    analyze::ConnectionOptions o;
    o.evidence_budget_bytes = 3 * kept_frame_cost();
    analyze::ConnectionAnalyzer a(o);
    a.add_point("p");
    Feeder feed(a);
    for (std::uint16_t port = 1000; port < 1010; ++port) {
        feed.send(tunnelled_syn(1, port));  // each SYN is a frame of evidence
    }
    EXPECT_EQ(a.evidence_bytes(), 3 * kept_frame_cost());
    EXPECT_EQ(a.stats().evidence_frames_dropped, 7U);
    std::size_t frames = 0;
    for (const auto& r : a.finish()) {
        frames += r.evidence.size();
    }
    EXPECT_EQ(frames, 3U);
    EXPECT_EQ(a.evidence_bytes(), 0U);  // the reports took them out of the table
}

TEST(BoundedState, EvidenceKeptForTheFileStaysWithinTheBudget) {
    analyze::ConnectionOptions o;
    o.evidence_budget_bytes = 2 * sizeof(analyze::ConnectionReport) + 2 * frame_cost();
    analyze::ConnectionAnalyzer a(o);
    a.add_point("p");
    Feeder feed(a);
    for (std::uint16_t port = 1000; port < 1004; ++port) {
        feed.send(tunnelled_syn(1, port));
        feed.send(tunnelled_syn(1, port));  // a retransmission: two frames each
    }
    std::vector<analyze::ConnectionReport> kept;
    for (auto& r : a.finish()) {
        analyze::ConnectionReport k = a.keep_for_evidence_file(r);
        if (!k.evidence.empty()) {
            kept.push_back(std::move(k));
        }
    }
    ASSERT_EQ(kept.size(), 1U);
    ASSERT_EQ(kept[0].evidence.size(), 2U);
    for (const analyze::EvidenceFrame& e : kept[0].evidence) {
        EXPECT_EQ(sizeof(analyze::EvidenceFrame) + e.bytes.size(), frame_cost());  // whole
    }
    EXPECT_FALSE(kept[0].verdicts.empty());
    EXPECT_LE(a.evidence_bytes(), o.evidence_budget_bytes);
    EXPECT_EQ(a.stats().evidence_frames_dropped, 6U);
}

}  // namespace
}  // namespace vxcheck::test

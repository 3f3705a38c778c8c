// A connection's first SYN attempt and its first untunnelled sighting ride in its record
// (src/analyze/flow.h, "Kept in the record"): a connection of one SYN draws nothing from the
// state budget; its next SYN or sighting moves the entry into the list first, charged as the
// list would have charged it; readers see the same attempts either way.

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <vector>

#include "analyze/flow.h"
#include "feeder.h"
#include "packet_builder.h"
#include "vxcheck/analyze/connections.h"

namespace vxcheck::test {
namespace {

namespace tf = decode::tcp_flag;
using analyze::Outcome;

constexpr std::uint32_t kIsn = 1000;
constexpr std::size_t kAttempt = sizeof(analyze::Attempt);
constexpr std::size_t kTx = sizeof(analyze::SynTx);
constexpr std::size_t kSighting = sizeof(analyze::PlainSighting);

// A client SYN from 10.244.1.5:port, in VXLAN (no sighting is kept of it) or not.
PacketBuilder syn(bool tunnelled, std::uint16_t port = 40000, std::uint16_t ip_id = 1,
                  std::uint32_t isn = kIsn) {
    PacketBuilder b;
    if (tunnelled) {
        b.ethernet().ipv4("192.168.1.10", "192.168.1.20").udp(40000, 8472).zero_udp_checksum();
        b.vxlan(1);
    }
    b.ethernet().ipv4("10.244.1.5", "10.244.2.7").ipv4_id(ip_id);
    b.tcp(port, 2049, tf::kSyn, isn);
    return b;
}
// A segment from the server of the connection from port 40000.
PacketBuilder reply(bool tunnelled, std::uint8_t flags, std::uint32_t ack) {
    PacketBuilder b;
    if (tunnelled) {
        b.ethernet().ipv4("192.168.1.20", "192.168.1.10").udp(40001, 8472).zero_udp_checksum();
        b.vxlan(1);
    }
    b.ethernet().ipv4("10.244.2.7", "10.244.1.5").tcp(2049, 40000, flags, 77, ack);
    return b;
}
// An ACK from the client of the connection from port 40000, not tunnelled.
PacketBuilder client_ack(std::uint16_t ip_id) {
    return PacketBuilder()
        .ethernet()
        .ipv4("10.244.1.5", "10.244.2.7")
        .ipv4_id(ip_id)
        .tcp(40000, 2049, tf::kAck, kIsn + 1, 78);
}

analyze::ConnectionReport only(analyze::ConnectionAnalyzer& a) {
    auto r = a.finish();
    EXPECT_EQ(r.size(), 1U);
    return r.empty() ? analyze::ConnectionReport{} : r.front();
}

analyze::ConnectionOptions budget(std::size_t bytes) {
    analyze::ConnectionOptions o;
    o.state_budget_bytes = bytes;
    return o;
}

TEST(FirstSyn, AConnectionOfOneSynChargesNothing) {
    for (const bool tunnelled : {false, true}) {
        analyze::ConnectionAnalyzer a({});
        a.add_point("p");
        Feeder feed(a);
        feed.send(syn(tunnelled));
        EXPECT_EQ(a.state_bytes(), 0U) << tunnelled;
        const auto r = only(a);
        EXPECT_EQ(r.attempts, 1U);
        EXPECT_EQ(r.syns, 1U);
        EXPECT_EQ(r.outcome, Outcome::Unanswered);
        EXPECT_EQ(r.evidence.size(), 1U);  // its SYN frame
        EXPECT_EQ(r.tunnelled, tunnelled);
        EXPECT_FALSE(r.incomplete);
        EXPECT_EQ(a.stats().detail_dropped, 0U);
    }
}

// With no state budget at all a connection still keeps what its record holds; the next SYN,
// which needs the list, is counted as not kept.
TEST(FirstSyn, TheRecordsEntryNeedsNoBudgetTheListDoes) {
    analyze::ConnectionAnalyzer a(budget(0));
    a.add_point("p");
    Feeder feed(a);
    feed.send(syn(false, 40001));  // its attempt and its sighting in the record
    EXPECT_EQ(a.stats().detail_dropped, 0U);
    feed.send(syn(true, 40000, 1));  // another connection, in a tunnel (no sighting)
    EXPECT_EQ(a.stats().detail_dropped, 0U);
    feed.send(syn(true, 40000, 2));  // its retransmission
    EXPECT_EQ(a.stats().detail_dropped, 1U);
    const auto reports = a.finish();
    ASSERT_EQ(reports.size(), 2U);
    for (const auto& r : reports) {
        EXPECT_EQ(r.attempts, 1U);
        EXPECT_EQ(r.syns, 1U);  // the first, in the record
        EXPECT_EQ(r.outcome, Outcome::Unanswered);
        EXPECT_EQ(r.evidence.size(), 1U);
        EXPECT_EQ(r.incomplete, r.client.port == 40000);
    }
    EXPECT_EQ(a.state_bytes(), 0U);
}

// A retransmission moves the attempt into the list: an attempt with room for one transmission,
// grown for the second, as the list would hold them had the first gone there; the report is
// the one the list alone gives (SynTracking.SynDroppedWhenRetransmittedAndNeverAnswered).
TEST(FirstSyn, ARetransmissionMovesTheAttemptChargedAsTheListWould) {
    analyze::ConnectionAnalyzer a({});
    a.add_point("p");
    Feeder feed(a);
    feed.send(syn(true, 40000, 1));
    EXPECT_EQ(a.state_bytes(), 0U);
    feed.send(syn(true, 40000, 2));
    EXPECT_EQ(a.state_bytes(), kAttempt + 2 * kTx);
    feed.send(syn(true, 40000, 3));
    EXPECT_EQ(a.state_bytes(), kAttempt + 4 * kTx);
    const auto r = only(a);
    EXPECT_EQ(r.attempts, 1U);
    EXPECT_EQ(r.syns, 3U);
    EXPECT_EQ(r.syn_offsets_s, (std::vector<double>{0, 1, 2}));
    EXPECT_EQ(r.outcome, Outcome::Dropped);
    EXPECT_EQ(r.evidence.size(), 3U);
    EXPECT_EQ(a.state_bytes(), 0U);
}

// A new ISN moves the first attempt too; both are reported, the last one decides.
TEST(FirstSyn, ANewIsnMovesTheFirstAttempt) {
    analyze::ConnectionAnalyzer a({});
    a.add_point("p");
    Feeder feed(a);
    feed.send(syn(true, 40000, 1, kIsn));
    feed.send(syn(true, 40000, 2, kIsn + 500));
    EXPECT_EQ(a.state_bytes(), 2 * kAttempt + 2 * kTx);
    feed.send(reply(true, tf::kSyn | tf::kAck, kIsn + 501));
    const auto r = only(a);
    EXPECT_EQ(r.attempts, 2U);
    EXPECT_EQ(r.syns, 1U);
    EXPECT_EQ(r.outcome, Outcome::Established);
}

// What the record held of the attempt's answer moves with it: a SYN sent again after the
// answer leaves the attempt answered (not dropped), after its first transmission. A copy of the
// answered SYN (same IP ID, no TSval) delays nothing; a retransmission (another IP ID) says the
// answer never reached the client, so the connect waited for the second SYN (syn_tracking.cc,
// waited_for()): both read the answer's place in the moved attempt.
TEST(FirstSyn, AMovedAttemptKeepsItsAnswer) {
    for (const bool copy : {true, false}) {
        SCOPED_TRACE(copy ? "a copy" : "a retransmission");
        analyze::ConnectionAnalyzer a({});
        a.add_point("p");
        Feeder feed(a);
        feed.send_at(syn(true, 40000, 1), 0);
        feed.send_at(reply(true, tf::kSyn | tf::kAck, kIsn + 1), 0.001);
        feed.send_at(syn(true, 40000, copy ? 1 : 2), 1.0);
        EXPECT_EQ(a.state_bytes(), kAttempt + 2 * kTx);
        const auto r = only(a);
        EXPECT_EQ(r.syns, 2U);
        EXPECT_EQ(r.outcome, Outcome::Established);
        if (copy) {
            EXPECT_FALSE(r.delay_s);  // answered after one transmission
            EXPECT_EQ(r.verdicts, std::vector<analyze::Verdict>{analyze::Verdict::Clean});
        } else {
            ASSERT_TRUE(r.delay_s);
            EXPECT_DOUBLE_EQ(*r.delay_s, 1.0);
            EXPECT_EQ(r.verdicts, std::vector<analyze::Verdict>{analyze::Verdict::DelayedConnect});
        }
    }
}

// An answer, a RST or an ICMP error is a bit in the record: nothing moves.
TEST(FirstSyn, AnAnswerStaysInTheRecord) {
    analyze::ConnectionAnalyzer a({});
    a.add_point("p");
    Feeder feed(a);
    feed.send(syn(true));
    feed.send(reply(true, tf::kSyn | tf::kAck, kIsn + 7));  // not its answer
    feed.send(reply(true, tf::kSyn | tf::kAck, kIsn + 1));
    EXPECT_EQ(a.state_bytes(), 0U);
    const auto r = only(a);
    EXPECT_EQ(r.outcome, Outcome::Established);
    EXPECT_EQ(r.syns, 1U);
    EXPECT_FALSE(r.delay_s);
}

// A SYN that is not the connection's first packet goes to the list as before.
TEST(FirstSyn, ASynAfterTheFirstPacketGoesToTheList) {
    analyze::ConnectionAnalyzer a({});
    a.add_point("p");
    Feeder feed(a);
    feed.send(reply(true, tf::kAck, kIsn + 1));
    feed.send(syn(true));
    EXPECT_EQ(a.state_bytes(), kAttempt + kTx);
    const auto r = only(a);
    EXPECT_EQ(r.attempts, 1U);
    EXPECT_EQ(r.syns, 1U);
    EXPECT_EQ(a.state_bytes(), 0U);
}

// The same SYN at another point joins its transmission: the attempt moves to the list, and
// the connection then holds what it holds when its SYN went to the list at once (its first
// packet an ACK), the NAT-path state of its two hops included.
TEST(FirstSyn, TheSameSynAtAnotherPointMovesTheAttempt) {
    std::vector<std::size_t> held;
    for (const bool ack_first : {false, true}) {
        analyze::ConnectionAnalyzer a({});
        a.add_point("client-eth0");
        a.add_point("server-eth0");
        Feeder feed(a);
        if (ack_first) {
            feed.send(reply(true, tf::kAck, kIsn + 1));
        }
        feed.send(syn(true));
        feed.at_point(1);
        feed.send(syn(true));
        held.push_back(a.state_bytes());
        const auto r = only(a);
        EXPECT_EQ(r.syns, 1U);
        EXPECT_EQ(r.points.size(), 2U);
    }
    EXPECT_GE(held[0], kAttempt + kTx);
    EXPECT_EQ(held[0], held[1]);
}

// When the budget has no room for the move, the attempt stays in the record and the SYN that
// needed the move is counted as not kept.
TEST(FirstSyn, AMoveTheBudgetRefusesKeepsTheRecordsAttempt) {
    analyze::ConnectionAnalyzer a(budget(kAttempt + kTx - 1));
    a.add_point("p");
    Feeder feed(a);
    feed.send(syn(true, 40000, 1));
    feed.send(syn(true, 40000, 2));
    EXPECT_EQ(a.stats().detail_dropped, 1U);
    EXPECT_EQ(a.state_bytes(), 0U);
    const auto r = only(a);
    EXPECT_EQ(r.syns, 1U);
    EXPECT_EQ(r.outcome, Outcome::Unanswered);
    EXPECT_TRUE(r.incomplete);
}

// A second untunnelled sighting moves the first into the list with it, charged as the list
// would have charged both; from there the list grows as before.
TEST(FirstSyn, ASecondSightingMovesTheFirst) {
    analyze::ConnectionAnalyzer a({});
    a.add_point("p");
    Feeder feed(a);
    feed.send(syn(false));
    EXPECT_EQ(a.state_bytes(), 0U);
    feed.send(client_ack(2));
    EXPECT_EQ(a.state_bytes(), 2 * kSighting);
    feed.send(client_ack(3));
    EXPECT_EQ(a.state_bytes(), 4 * kSighting);
    const auto r = only(a);
    EXPECT_EQ(r.syns, 1U);
    EXPECT_FALSE(r.incomplete);
    EXPECT_EQ(a.state_bytes(), 0U);
}

// Sightings have half the budget: a move that does not fit in it leaves the first in the
// record and counts the second as not kept.
TEST(FirstSyn, ASightingMoveTheBudgetRefusesKeepsTheFirst) {
    analyze::ConnectionAnalyzer a(budget(4 * kSighting - 4));  // half: less than two sightings
    a.add_point("p");
    Feeder feed(a);
    feed.send(syn(false));
    feed.send(client_ack(2));
    EXPECT_EQ(a.stats().detail_dropped, 1U);
    EXPECT_EQ(a.state_bytes(), 0U);
    EXPECT_TRUE(only(a).incomplete);
}

// The view of the attempts shows the record's attempt with its transmission made whole.
TEST(FirstSyn, TheViewMakesTheRecordsTransmissionWhole) {
    analyze::Flow f;
    f.first_sec = 1700000000;
    f.first_nsec = 5;
    f.first_kept = analyze::kFirstSyn | analyze::kFirstTsval | analyze::kFirstTunnelled |
                   analyze::kFirstAnswered;
    f.first_seq = kIsn;
    f.first_ip_id = 42;
    f.first_point = 3;
    f.first_frame = 17;
    f.first_tsval = 99;
    f.first_outer_sport = 40123;
    f.first_outer_status = verify::Status::Bad;
    f.first_options.mss = 1460;
    f.first_options.present = analyze::SynOptions::kMss;
    const analyze::SynAttempts attempts(f);
    ASSERT_EQ(attempts.size(), 1U);
    const analyze::AttemptView v = attempts.back();
    EXPECT_EQ(v.isn, kIsn);
    EXPECT_TRUE(v.answered);
    EXPECT_EQ(v.answered_after, 1U);
    EXPECT_FALSE(v.rst);
    EXPECT_FALSE(v.icmp);
    ASSERT_EQ(v.tx.size(), 1U);
    const analyze::SynTx& tx = v.tx[0];
    EXPECT_EQ(tx.ts, f.first_ts());
    EXPECT_EQ(tx.last_ts, f.first_ts());
    EXPECT_EQ(tx.ip_id, 42U);
    EXPECT_EQ(tx.tsval, std::optional<std::uint32_t>(99));
    EXPECT_EQ(tx.points, analyze::PointMask{1} << 3U);
    EXPECT_EQ(tx.first_point, 3U);
    EXPECT_EQ(tx.last_point, 3U);
    EXPECT_EQ(tx.syn, f.first_options);
    EXPECT_EQ(tx.frame, 17U);
    EXPECT_FALSE(tx.unfollowed);
    EXPECT_TRUE(tx.has_outer);
    EXPECT_TRUE(tx.first_tunnelled);
    EXPECT_EQ(tx.outer_sport, 40123U);
    EXPECT_EQ(tx.outer_point, 3U);
    EXPECT_EQ(tx.outer_status, verify::Status::Bad);
    EXPECT_FALSE(tx.outer_changed);

    // At a point not followed, without TSval or tunnel.
    f.first_kept = analyze::kFirstSyn | analyze::kFirstIcmp;
    f.first_point = analyze::kMaxPoints + 2;
    f.first_icmp_type = 3;
    f.first_icmp_code = 1;
    const analyze::SynAttempts other(f);
    const analyze::AttemptView w = other.front();
    EXPECT_TRUE(w.icmp);
    EXPECT_EQ(w.icmp_type, 3U);
    EXPECT_EQ(w.icmp_code, 1U);
    EXPECT_FALSE(w.answered);
    EXPECT_EQ(w.answered_after, 0U);
    EXPECT_FALSE(w.tx[0].tsval);
    EXPECT_EQ(w.tx[0].points, 0U);
    EXPECT_TRUE(w.tx[0].unfollowed);
    EXPECT_EQ(w.tx[0].unfollowed_point, analyze::kMaxPoints + 2);
    EXPECT_FALSE(w.tx[0].has_outer);
    EXPECT_EQ(w.tx[0].outer_status, verify::Status::Ok);

    f.first_kept = 0;
    EXPECT_TRUE(analyze::SynAttempts(f).empty());
    EXPECT_FALSE(analyze::has_attempts(f));
}

// The sightings: the record's, or the list's in order, until one is the one looked for.
TEST(FirstSyn, SightingsAreTheRecordsOrTheLists) {
    analyze::Flow f;
    std::vector<std::uint16_t> ids;
    const auto collect = [&](const analyze::PlainSighting& p) {
        ids.push_back(p.ip_id);
        return p.ip_id == 8;
    };
    EXPECT_FALSE(analyze::any_sighting(f, collect));
    EXPECT_TRUE(ids.empty());
    f.first_kept = analyze::kFirstSighting;
    f.first_ip_id = 5;
    f.first_seq = 6;
    f.first_point = 2;
    f.first_sec = 9;
    analyze::any_sighting(f, [&](const analyze::PlainSighting& p) {
        EXPECT_EQ(p.ip_id, 5U);
        EXPECT_EQ(p.seq, 6U);
        EXPECT_EQ(p.point, 2U);
        EXPECT_EQ(p.ts, f.first_ts());
        return false;
    });
    f.first_kept = 0;
    analyze::FlowSide& side = analyze::make_side(f);
    for (const std::uint16_t id : {std::uint16_t{7}, std::uint16_t{8}, std::uint16_t{9}}) {
        analyze::PlainSighting p;
        p.ip_id = id;
        side.plain.push_back(p);
    }
    EXPECT_TRUE(analyze::any_sighting(f, collect));
    EXPECT_EQ(ids, (std::vector<std::uint16_t>{7, 8}));  // stops at the one found
}

// The 32-bit retransmission counters stop at their largest value instead of wrapping.
TEST(FirstSyn, RetransmissionCountersSaturate) {
    analyze::Flow f;
    analyze::Segment s;
    s.t.seq = 100;
    analyze::track_retransmission(f, s, 0, 0, 10);  // the direction's first segment
    f.retransmissions[0] = std::numeric_limits<std::uint32_t>::max() - 1;
    analyze::track_retransmission(f, s, 0, 0, 10);
    EXPECT_EQ(f.retransmissions[0], std::numeric_limits<std::uint32_t>::max());
    analyze::track_retransmission(f, s, 0, 0, 10);
    EXPECT_EQ(f.retransmissions[0], std::numeric_limits<std::uint32_t>::max());
}

}  // namespace
}  // namespace vxcheck::test

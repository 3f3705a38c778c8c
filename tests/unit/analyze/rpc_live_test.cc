// Live RPC verdicts (ConnectionPlugin::poll): a capture of pcaps/nfs replayed as `capture` sees
// it, with poll() every 100 ms of capture time in between the frames. A verdict certain at a
// packet shows in the first poll after that packet; rpc_unanswered once the call has waited the
// unanswered time after its last copy, without another packet to say so; each connection is
// listed once per new verdict.

#include <gtest/gtest.h>

#include <filesystem>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "source_dir.h"
#include "vxcheck/analyze/connections.h"
#include "vxcheck/analyze/rpc_analyzer.h"
#include "vxcheck/capture/source.h"
#include "vxcheck/decode/decode.h"
#include "vxcheck/verify/verify.h"

namespace vxcheck::test {
namespace {

using analyze::Verdict;

double at(Timestamp t, Timestamp origin) {
    return static_cast<double>(t.sec - origin.sec) +
           (static_cast<double>(t.nsec) - static_cast<double>(origin.nsec)) * 1e-9;
}

Timestamp plus(Timestamp t, double s) {
    const auto ns = static_cast<std::int64_t>(t.nsec) + static_cast<std::int64_t>(s * 1e9);
    return {.sec = t.sec + ns / 1000000000, .nsec = static_cast<std::uint32_t>(ns % 1000000000)};
}

// When (capture seconds) poll() first listed a connection with each verdict, and after which
// frame; a connection listed twice with the same verdicts is a failure.
struct Sighting {
    Verdict verdict;
    double t = 0;
    std::uint64_t after_frame = 0;
};

class LiveReplay {
  public:
    explicit LiveReplay(const std::string& file, bool keep_activity = false) {
        std::filesystem::current_path(vxcheck::test::source_dir());
        analyzer_.add_point("p");
        analyzer_.add_plugin(rpc_);
        if (keep_activity) {
            rpc_.keep_activity();
        }
        auto src = capture::open_file(file);
        RawFrame f;
        while (src->next(f) == capture::ReadStatus::Frame) {
            if (frames_ == 0) {
                origin_ = f.ts;
                clock_ = f.ts;
            }
            poll_until(f.ts);
            ++frames_;
            decode::decode(f, {}, packet_);
            verify::verify(packet_, verdicts_);
            analyzer_.on_packet({0, packet_, verdicts_, nullptr});
        }
    }

    // Polls every 100 ms up to `t` (the wall clock of a live capture runs on between frames).
    void poll_until(Timestamp t) {
        while (at(clock_, t) <= 0) {
            for (const analyze::ConnectionReport& r : analyzer_.poll(clock_)) {
                listed.push_back(r);
                for (const Verdict v : r.verdicts) {
                    if (!seen(v)) {
                        sightings.push_back({v, at(clock_, origin_), frames_});
                    }
                }
            }
            clock_ = plus(clock_, 0.1);
        }
    }
    void run_on(double seconds) { poll_until(plus(clock_, seconds)); }

    [[nodiscard]] bool seen(Verdict v) const {
        for (const Sighting& s : sightings) {
            if (s.verdict == v) {
                return true;
            }
        }
        return false;
    }
    [[nodiscard]] const Sighting* first(Verdict v) const {
        for (const Sighting& s : sightings) {
            if (s.verdict == v) {
                return &s;
            }
        }
        return nullptr;
    }

    std::vector<Sighting> sightings;
    std::vector<analyze::ConnectionReport> listed;

    analyze::RpcAnalyzer rpc_;
    analyze::ConnectionAnalyzer analyzer_{analyze::ConnectionOptions{}};

  private:
    decode::DecodedPacket packet_;
    verify::Verdicts verdicts_;
    Timestamp origin_;
    Timestamp clock_;
    std::uint64_t frames_ = 0;
};

TEST(RpcLive, UnansweredAfterTheUnansweredTimeAndRetransmissionAtTheResend) {
    // GETATTR (frame 15) and ACCESS from t = 2 s, never answered; resent at 8 s (frame 19),
    // 20 and 38 s.
    LiveReplay live("pcaps/nfs/nfs3-server-stops.pcap");
    const Sighting* unanswered = live.first(Verdict::RpcUnanswered);
    ASSERT_NE(unanswered, nullptr);
    EXPECT_GE(unanswered->t, 7.0) << "5 s after the call at 2 s, not before";
    EXPECT_LT(unanswered->t, 7.2) << "without waiting for another packet (the resend at 8 s)";
    EXPECT_EQ(unanswered->after_frame, 18U);
    const Sighting* resent = live.first(Verdict::RpcRetransmitted);
    ASSERT_NE(resent, nullptr);
    EXPECT_GE(resent->after_frame, 19U);
    EXPECT_LT(resent->t, 8.2) << "the first poll after the first resend (frame 19, t = 8 s)";
    EXPECT_EQ(live.listed.size(), 2U) << "once per new verdict, not once per resend";
}

TEST(RpcLive, ReplyTooBigIsListedAtTheReply) {
    // Frames 10-11: READ 8192 answered with NFS4ERR_REP_TOO_BIG.
    LiveReplay live("pcaps/nfs/nfs-reply-too-big.pcap");
    const Sighting* s = live.first(Verdict::NfsReplyTooBig);
    ASSERT_NE(s, nullptr);
    EXPECT_EQ(s->after_frame, 11U);
    EXPECT_FALSE(live.seen(Verdict::RpcUnanswered));
}

TEST(RpcLive, CollisionAndChurnAreListedWhenTheirRulesHoldNotAtTheEnd) {
    // Two pods present one owner; each CREATE_SESSION expires the other's clientid, A, B, A, B
    // over 9.5 s (frames 21-98 the recovery cycles).
    LiveReplay live("pcaps/nfs/nfs41-collision.pcap");
    const Sighting* collision = live.first(Verdict::NfsClientidCollision);
    const Sighting* churn = live.first(Verdict::NfsSessionChurn);
    ASSERT_NE(collision, nullptr);
    ASSERT_NE(churn, nullptr);
    EXPECT_LT(collision->after_frame, 98U) << "listed during the storm, not after the last frame";
    EXPECT_LT(churn->after_frame, 98U);
    std::set<std::uint16_t> ports;  // the pods' connections: :876 and :912
    for (const analyze::ConnectionReport& r : live.listed) {
        if (r.has(Verdict::NfsClientidCollision)) {
            ports.insert(r.client.port);
        }
    }
    EXPECT_EQ(ports, (std::set<std::uint16_t>{876, 912}));
    EXPECT_LE(live.listed.size(), 4U) << "each connection once per new verdict";
}

TEST(RpcLive, AnsweredCallsAreNeverUnanswered) {
    LiveReplay live("pcaps/nfs/nfs41-healthy.pcap");
    live.run_on(2.0);  // the GETATTR at 44 s is still pending 2 s later
    EXPECT_TRUE(live.sightings.empty());
    live.run_on(5.0);  // ... and unanswered once it has waited 5 s
    EXPECT_TRUE(live.seen(Verdict::RpcUnanswered));
}

// The activity for live metrics: the calls of each procedure (every copy), the error replies and
// the response times of the answered calls, each handed over once.
std::uint64_t calls_of(const analyze::RpcActivity& a, std::uint32_t proc) {
    std::uint64_t n = 0;
    for (const auto& c : a.calls) {
        n += c.prog == 100003 && c.vers == 3 && c.proc == proc ? c.n : 0;
    }
    return n;
}

std::uint64_t timed(const analyze::RpcActivity& a) {
    std::uint64_t n = 0;
    for (const auto& s : a.srt) {
        for (const std::uint64_t b : s.buckets) {
            n += b;
        }
    }
    return n;
}

TEST(RpcActivity, CallsAndResponseTimesAreHandedOverOnce) {
    LiveReplay live("pcaps/nfs/nfs3-server-stops.pcap", true);
    analyze::RpcActivity a;
    live.rpc_.take_activity(a);
    EXPECT_EQ(calls_of(a, 19), 1U);  // FSINFO
    EXPECT_EQ(calls_of(a, 1), 5U);   // GETATTR: answered once, then 4 copies never answered
    EXPECT_EQ(calls_of(a, 4), 5U);   // ACCESS
    EXPECT_EQ(timed(a), 3U) << "the three answered calls";
    analyze::RpcActivity again;
    live.rpc_.take_activity(again);
    EXPECT_TRUE(again.calls.empty() && again.srt.empty()) << "nothing new since the last take";
}

TEST(RpcActivity, ActivityOfAConnectionThatLeavesIsKept) {
    LiveReplay live("pcaps/nfs/nfs3-server-stops.pcap", true);
    (void)live.analyzer_.finish();  // the connection leaves the table before anyone took it
    analyze::RpcActivity a;
    live.rpc_.take_activity(a);
    EXPECT_EQ(calls_of(a, 1), 5U);
    EXPECT_EQ(timed(a), 3U);
}

TEST(RpcActivity, SrtBucketsAreTheFirstBoundAtOrAboveTheTime) {
    EXPECT_EQ(analyze::srt_bucket(0.00005), 0U);
    EXPECT_EQ(analyze::srt_bucket(0.0001), 0U);
    EXPECT_EQ(analyze::srt_bucket(0.0002), 1U);
    EXPECT_EQ(analyze::srt_bucket(10.0), analyze::kSrtBucketBounds.size() - 1);
    EXPECT_EQ(analyze::srt_bucket(11.0), analyze::kSrtBucketBounds.size()) << "+Inf";
}

}  // namespace
}  // namespace vxcheck::test

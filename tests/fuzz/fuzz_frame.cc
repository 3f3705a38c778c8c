// libFuzzer target: one frame through everything that reads a frame's bytes, and the fast path
// held to the general one.
//
// Input: byte 0 says how the frame was captured (FrameFlags below), the rest is the frame.
// Each input goes through decode::decode() + verify::verify() + analyze::digest() (the general
// path), through fastpath::take_frame() (the fast path), into a ConnectionAnalyzer (at two
// capture points, then finish()) and into the text and JSON reporters. Every frame the fast
// path takes must come out exactly as the general path leaves it: layers, anomalies, skip
// reason, depth, verdicts, the summary's tallies and the digest
// (tests/support/fast_path_equivalence.h; tests/unit/fastpath/fast_path_test.cc states the same
// rule over the shipped captures); a frame where they differ aborts, naming the first
// difference. Seeds: every frame of pcaps/
// (tools/ci/fuzz_corpus.py).

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <sstream>

#include "fast_path_equivalence.h"
#include "vxcheck/analyze/connections.h"
#include "vxcheck/decode/decode.h"
#include "vxcheck/frame.h"
#include "vxcheck/report/reporter.h"
#include "vxcheck/report/summary.h"
#include "vxcheck/verify/verify.h"

namespace vxcheck {
namespace {

// Byte 0 of an input.
namespace frame_flags {
constexpr std::uint8_t kLinkMask = 0x07;         // LinkType, in enum order (7: unsupported)
constexpr std::uint8_t kCsumNotReady = 0x08;     // live capture's kernel hint
constexpr std::uint8_t kSnaplenCut = 0x10;       // the wire length exceeds the captured bytes
constexpr std::uint8_t kTunnelDepthMask = 0x60;  // >> 5: max_tunnel_depth 4, 0, 1 or 2
constexpr std::uint8_t kNfsPortOnly = 0x80;      // watch port 2049 only (default: all ports)
}  // namespace frame_flags

constexpr std::uint32_t kSnaplenCutExtra = 100;

[[noreturn]] void disagree(const char* what) {
    std::fprintf(stderr, "fuzz_frame: the fast path and the general path differ: %s\n", what);
    std::abort();
}

// Aborts when the fast path takes `frame` and leaves anything other than the general path does.
void expect_fast_path_agrees(const RawFrame& frame, const decode::DecodeOptions& options) {
    const std::string difference = test::fast_path_difference(frame, options);
    if (!difference.empty()) {
        disagree(difference.c_str());
    }
}

// The frame into a connection analysis at two capture points, decided, and reported.
void analyse_and_report(const RawFrame& frame, const decode::DecodedPacket& pkt,
                        const verify::Verdicts& verdicts, const analyze::PacketDigest& digest,
                        bool nfs_only) {
    analyze::ConnectionOptions options;
    options.all_ports = !nfs_only;
    options.max_flows = 4;
    analyze::ConnectionAnalyzer connections(options);
    const std::uint16_t a = connections.add_point("a");
    const std::uint16_t b = connections.add_point("b");
    connections.on_packet({.point = a, .packet = pkt, .verdicts = verdicts, .digest = &digest});
    connections.on_packet({.point = b, .packet = pkt, .verdicts = verdicts, .digest = nullptr});
    auto decided = connections.take_decided();
    auto reports = connections.finish();
    decided.insert(decided.end(), std::make_move_iterator(reports.begin()),
                   std::make_move_iterator(reports.end()));

    report::Summary summary;
    summary.file = "fuzz";
    static_cast<void>(summary.add(pkt, verdicts));
    report::ConnectionTotals totals;
    totals.ports = nfs_only ? "2049" : "all";
    totals.stats = connections.stats();
    std::ostringstream out;
    const std::unique_ptr<report::Reporter> reporters[] = {report::make_text_reporter(out),
                                                           report::make_json_reporter(out)};
    for (const auto& reporter : reporters) {
        reporter->begin_file(summary.file, std::string(to_string(frame.link)));
        reporter->packet({.file = summary.file, .packet = pkt, .verdicts = verdicts});
        reporter->end_file(summary);
        for (const analyze::ConnectionReport& c : decided) {
            ++totals.connections;
            reporter->connection(c, connections.points());
            reporter->event(c, connections.points());
        }
        reporter->finish(summary, 1, totals);
    }
}

}  // namespace
}  // namespace vxcheck

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace vxcheck;
    if (size < 1) {
        return 0;
    }
    const std::uint8_t flags = data[0];
    RawFrame frame;
    frame.ts = {.sec = 1700000000, .nsec = 0};
    frame.data = Bytes(data + 1, size - 1);
    frame.caplen = static_cast<std::uint32_t>(frame.data.size());
    frame.wirelen = frame.caplen + ((flags & frame_flags::kSnaplenCut) != 0 ? kSnaplenCutExtra : 0);
    frame.link = static_cast<LinkType>(flags & frame_flags::kLinkMask);
    frame.number = 1;
    frame.csum_not_ready = (flags & frame_flags::kCsumNotReady) != 0;

    constexpr std::uint8_t kDepths[] = {4, 0, 1, 2};
    decode::DecodeOptions options;
    options.max_tunnel_depth = kDepths[(flags & frame_flags::kTunnelDepthMask) >> 5];

    // Large (layers of 32 slots): allocated once.
    static const auto general = std::make_unique<decode::DecodedPacket>();
    verify::Verdicts verdicts;
    analyze::PacketDigest digest;
    decode::decode(frame, options, *general);
    verify::verify(*general, verdicts);
    analyze::digest(*general, verdicts, digest);
    expect_fast_path_agrees(frame, options);
    analyse_and_report(frame, *general, verdicts, digest, (flags & frame_flags::kNfsPortOnly) != 0);
    return 0;
}

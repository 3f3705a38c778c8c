// libFuzzer target: one frame through everything that reads a frame's bytes, and the fast path
// held to the general one.
//
// Input: byte 0 says how the frame was captured (FrameFlags below), the rest is the frame.
// Each input goes through decode::decode() + verify::verify() + analyze::digest() (the general
// path), through app::take_common_frame() (the fast path), into a ConnectionAnalyzer (at two
// capture points, then finish()) and into the text and JSON reporters. Every frame the fast
// path takes must come out exactly as the general path leaves it: layers, anomalies, skip
// reason, depth, verdicts, the summary's tallies and the digest
// (tests/unit/app/common_frame_test.cc states the same rule over the shipped captures); a frame
// where they differ aborts, naming the first difference. Seeds: every frame of pcaps/
// (tools/ci/fuzz_corpus.py).

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <sstream>
#include <type_traits>
#include <variant>

#include "vxcheck/analyze/connections.h"
#include "vxcheck/app/fast_path.h"
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

[[noreturn]] void disagree(const char* what, std::size_t index = 0) {
    std::fprintf(stderr, "fuzz_frame: the fast path and the general path differ: %s (%zu)\n", what,
                 index);
    std::abort();
}

bool same_info(const decode::LayerInfo& a, const decode::LayerInfo& b) {
    if (a.index() != b.index()) {
        return false;
    }
    return std::visit(
        [&b](const auto& x) {
            using T = std::decay_t<decltype(x)>;
            if constexpr (std::is_same_v<T, decode::Ipv6Info> ||
                          std::is_same_v<T, std::monostate>) {
                return false;  // the fast path builds neither
            } else {
                return x == std::get<T>(b);
            }
        },
        a);
}

void expect_same_layers(const decode::DecodedPacket& g, const decode::DecodedPacket& f) {
    if (g.layers().size() != f.layers().size()) {
        disagree("layer count");
    }
    for (std::size_t i = 0; i < g.layers().size(); ++i) {
        const decode::Layer& a = g.layers()[i];
        const decode::Layer& b = f.layers()[i];
        if (a.proto != b.proto || a.depth != b.depth || a.header_len != b.header_len ||
            a.offset != b.offset || a.claimed_len != b.claimed_len ||
            a.bytes.data() != b.bytes.data() || a.bytes.size() != b.bytes.size()) {
            disagree("layer", i);
        }
        if (!same_info(a.info, b.info)) {
            disagree("layer info", i);
        }
    }
}

void expect_same_tallies(const RawFrame& frame, const decode::DecodedPacket& g,
                         const verify::Verdicts& gv, const verify::Verdicts& fv) {
    report::Summary general;
    report::Summary fast;
    if (general.add(g, gv)) {
        disagree("taken, but the general path calls the frame bad");
    }
    fast.add_common(frame, fv);
    if (general.frames_read != fast.frames_read || general.decoded != fast.decoded ||
        general.skipped != fast.skipped || general.bytes_captured != fast.bytes_captured ||
        general.anomalies != fast.anomalies ||
        general.packets_with_anomalies != fast.packets_with_anomalies ||
        general.packets_with_bad_checksum != fast.packets_with_bad_checksum ||
        !(general.checksums == fast.checksums) || !(general.first_ts == fast.first_ts) ||
        !(general.last_ts == fast.last_ts)) {
        disagree("summary tallies");
    }
}

// When the fast path takes `frame`, everything it writes equals what the general path wrote
// into `g`, `gv` and `gd`; `f` then holds the fast path's layers.
void expect_fast_path_agrees(const RawFrame& frame, const decode::DecodeOptions& options,
                             const decode::DecodedPacket& g, const verify::Verdicts& gv,
                             const analyze::PacketDigest& gd, decode::DecodedPacket& f) {
    verify::Verdicts fv;
    analyze::PacketDigest fd;
    const app::CommonFrame shape = app::take_common_frame(frame, options, f, fv, fd);
    if (shape == app::CommonFrame::None) {
        return;
    }
    if (!f.layers().empty() || !f.anomalies().empty()) {
        disagree("the fast path built layers or anomalies before being asked");
    }
    app::build_common_layers(frame, shape, options, f);
    if (g.skip_reason() != f.skip_reason()) {
        disagree("skip reason");
    }
    if (g.depth() != f.depth()) {
        disagree("tunnel depth");
    }
    if (!g.anomalies().empty()) {
        disagree("taken, but the general path notes an anomaly");
    }
    expect_same_layers(g, f);
    const auto a = gv.items();
    const auto b = fv.items();
    if (a.size() != b.size()) {
        disagree("verdict count");
    }
    for (std::size_t i = 0; i < a.size(); ++i) {
        if (!(a[i] == b[i])) {
            disagree("verdict", i);
        }
    }
    expect_same_tallies(frame, g, gv, fv);
    if (!(gd == fd) || !fd.has_segment) {
        disagree("digest");
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
    static const auto fast = std::make_unique<decode::DecodedPacket>();
    verify::Verdicts verdicts;
    analyze::PacketDigest digest;
    decode::decode(frame, options, *general);
    verify::verify(*general, verdicts);
    analyze::digest(*general, verdicts, digest);
    expect_fast_path_agrees(frame, options, *general, verdicts, digest, *fast);
    analyse_and_report(frame, *general, verdicts, digest, (flags & frame_flags::kNfsPortOnly) != 0);
    return 0;
}

#pragma once
// The fast path against the general path on one frame, field by field: for the unit tests
// (tests/unit/fastpath/fast_path_test.cc) and the fuzz targets, which assert on random frames
// that the two never disagree. Header-only, so that any target linking vxcheck_core can use it.
//
// When fastpath::take_frame() takes a frame, these must equal what decode(), verify(),
// Summary::add() and analyze::digest() give it: the layers build_layers() writes (proto, depth,
// header length, offset, claimed length, bytes, info), the anomalies (none), skip reason and
// tunnel depth, every verdict, the summary's tallies (Summary::add_fast_path against
// Summary::add, which must call the frame not bad) and the digest. A frame it declines is not
// compared (the general path handles it).

#include <algorithm>
#include <memory>
#include <sstream>
#include <string>
#include <type_traits>
#include <variant>

#include "vxcheck/analyze/connections.h"
#include "vxcheck/decode/decode.h"
#include "vxcheck/fastpath/fast_path.h"
#include "vxcheck/frame.h"
#include "vxcheck/report/summary.h"
#include "vxcheck/verify/verify.h"

namespace vxcheck::test {

namespace fast_path_detail {

inline bool same_info(const decode::LayerInfo& a, const decode::LayerInfo& b) {
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

// The first difference between two layers, or "".
inline std::string layer_difference(const decode::Layer& g, const decode::Layer& f) {
    std::ostringstream out;
    const auto field = [&out](const char* name, auto general, auto fast) {
        if (out.tellp() == 0 && !(general == fast)) {
            out << name << ": general " << general << ", fast " << fast;
        }
    };
    field("proto", to_string(g.proto), to_string(f.proto));
    field("depth", int{g.depth}, int{f.depth});
    field("header_len", g.header_len, f.header_len);
    field("offset", g.offset, f.offset);
    field("claimed_len", g.claimed_len, f.claimed_len);
    field("bytes.data", static_cast<const void*>(g.bytes.data()),
          static_cast<const void*>(f.bytes.data()));
    field("bytes.size", g.bytes.size(), f.bytes.size());
    if (out.tellp() == 0 && !same_info(g.info, f.info)) {
        out << "info differs";
    }
    return out.str();
}

inline std::string verdict_text(const verify::Verdict& v) {
    std::ostringstream out;
    out << "layer " << int{v.layer} << " depth " << int{v.depth} << ' ' << to_string(v.check) << '='
        << to_string(v.status) << '(' << to_string(v.reason) << ") stored " << v.stored
        << " expected " << v.expected << (v.expected_known ? "" : "?") << " residual "
        << v.residual;
    return out.str();
}

// The first difference between the two paths' tallies of the frame, or "".
inline std::string summary_difference(const report::Summary& g, const report::Summary& f) {
    const std::pair<const char*, bool> same[] = {
        {"frames_read", g.frames_read == f.frames_read},
        {"decoded", g.decoded == f.decoded},
        {"skipped", g.skipped == f.skipped},
        {"bytes_captured", g.bytes_captured == f.bytes_captured},
        {"anomalies", g.anomalies == f.anomalies},
        {"packets_with_anomalies", g.packets_with_anomalies == f.packets_with_anomalies},
        {"packets_with_bad_checksum", g.packets_with_bad_checksum == f.packets_with_bad_checksum},
        {"checksums", g.checksums == f.checksums},
        {"first_ts", g.first_ts == f.first_ts},
        {"last_ts", g.last_ts == f.last_ts},
    };
    for (const auto& [name, equal] : same) {
        if (!equal) {
            return std::string("summary ") + name + " differs";
        }
    }
    return "";
}

}  // namespace fast_path_detail

/// Both paths on `frame`: "" when they agree or the fast path declines the frame, else the
/// first difference found. `shape` (if given) receives what the fast path took the frame as.
inline std::string fast_path_difference(const RawFrame& frame, const decode::DecodeOptions& options,
                                        fastpath::Shape* shape = nullptr) {
    using namespace fast_path_detail;
    const auto general = std::make_unique<decode::DecodedPacket>();
    const auto fast = std::make_unique<decode::DecodedPacket>();
    verify::Verdicts general_verdicts;
    verify::Verdicts fast_verdicts;
    analyze::PacketDigest fast_digest;
    const fastpath::Shape taken =
        fastpath::take_frame(frame, options, *fast, fast_verdicts, fast_digest);
    if (shape != nullptr) {
        *shape = taken;
    }
    if (taken == fastpath::Shape::None) {
        return "";
    }
    if (!fast->layers().empty() || &fast->frame() != &frame) {
        return "take_frame() built layers or kept another frame";
    }
    decode::decode(frame, options, *general);
    verify::verify(*general, general_verdicts);
    fastpath::build_layers(frame, taken, options, *fast);
    const decode::DecodedPacket& g = *general;
    const decode::DecodedPacket& f = *fast;
    if (!g.anomalies().empty()) {
        return "taken, but the general path notes " + std::string(to_string(g.anomalies()[0]));
    }
    if (!f.anomalies().empty() || g.skip_reason() != f.skip_reason() || g.depth() != f.depth()) {
        return "anomalies, skip reason or depth differ";
    }
    if (g.layers().size() != f.layers().size()) {
        return "layer count: general " + std::to_string(g.layers().size()) + ", fast " +
               std::to_string(f.layers().size());
    }
    for (std::size_t i = 0; i < g.layers().size(); ++i) {
        const std::string d = layer_difference(g.layers()[i], f.layers()[i]);
        if (!d.empty()) {
            return "layer " + std::to_string(i) + ": " + d;
        }
    }
    const auto gv = general_verdicts.items();
    const auto fv = fast_verdicts.items();
    if (gv.size() != fv.size()) {
        return "verdict count: general " + std::to_string(gv.size()) + ", fast " +
               std::to_string(fv.size());
    }
    for (std::size_t i = 0; i < gv.size(); ++i) {
        if (!(gv[i] == fv[i])) {
            return "verdict " + std::to_string(i) + ": general " + verdict_text(gv[i]) + "; fast " +
                   verdict_text(fv[i]);
        }
    }
    report::Summary general_tally;
    report::Summary fast_tally;
    if (general_tally.add(g, general_verdicts)) {
        return "taken, but the general path calls the frame bad";
    }
    fast_tally.add_fast_path(frame, fast_verdicts);
    if (std::string d = summary_difference(general_tally, fast_tally); !d.empty()) {
        return d;
    }
    analyze::PacketDigest walked;
    analyze::digest(g, general_verdicts, walked);
    if (!(walked == fast_digest) || !fast_digest.has_segment) {
        return "digests differ";
    }
    return "";
}

/// Whether the fast path agrees with the general path on `frame` (or declines it): the
/// assertion a fuzz target makes on every input.
inline bool fast_path_agrees_with_general(const RawFrame& frame,
                                          const decode::DecodeOptions& options) {
    return fast_path_difference(frame, options).empty();
}

}  // namespace vxcheck::test

#pragma once
// Feeds built packets to a ConnectionAnalyzer as `analyze` does: decoded, verified, one second
// apart, with or without a precomputed digest (shared by the tests of tests/unit/analyze).

#include <cstdint>
#include <optional>

#include "packet_builder.h"
#include "vxcheck/analyze/connections.h"
#include "vxcheck/decode/decode.h"
#include "vxcheck/verify/verify.h"

namespace vxcheck::test {

class Feeder {
  public:
    explicit Feeder(analyze::ConnectionAnalyzer& a) : analyzer_(a) {}

    /// The capture point of the packets sent from now on.
    void at_point(std::uint16_t point) { point_ = point; }

    /// Decodes, verifies and digests b (without analysing it yet); at t_s seconds after the
    /// origin if given, else one second after the packet before.
    void prepare(const PacketBuilder& b, std::optional<double> t_s = std::nullopt) {
        built_ = b.build();
        frame_ = built_.frame(++number_);
        frame_.ts = Timestamp{.sec = 1700000000 + static_cast<std::int64_t>(number_), .nsec = 0};
        if (t_s) {
            const auto ns = static_cast<std::int64_t>(*t_s * 1e9);
            frame_.ts = Timestamp{.sec = 1700000000 + ns / 1000000000,
                                  .nsec = static_cast<std::uint32_t>(ns % 1000000000)};
        }
        decode::decode(frame_, options_, packet_);
        verify::verify(packet_, verdicts_);
        digest_ = analyze::digest(packet_, verdicts_);
    }
    /// Analyses the prepared packet; with_digest false: the analyzer computes it.
    void deliver(bool with_digest = true) {
        analyzer_.on_packet({point_, packet_, verdicts_, with_digest ? &digest_ : nullptr});
    }
    void send(const PacketBuilder& b, bool with_digest = true) {
        prepare(b);
        deliver(with_digest);
    }
    /// Sends b at t_s seconds after the origin.
    void send_at(const PacketBuilder& b, double t_s) {
        prepare(b, t_s);
        deliver();
    }

  private:
    analyze::ConnectionAnalyzer& analyzer_;
    decode::DecodeOptions options_;
    BuiltPacket built_;
    RawFrame frame_;
    decode::DecodedPacket packet_;
    verify::Verdicts verdicts_;
    analyze::PacketDigest digest_;
    std::uint64_t number_ = 0;
    std::uint16_t point_ = 0;
};

}  // namespace vxcheck::test

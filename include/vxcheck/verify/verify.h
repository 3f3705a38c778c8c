#pragma once
// verify(): a verdict on every IPv4 header, TCP, UDP and GRE checksum of a decoded packet, at every
// tunnel depth. Offload artefacts are recognised, never reported as errors (domain spec 0, 2, 3).

#include <array>
#include <cstdint>
#include <span>
#include <string_view>

#include "vxcheck/decode/packet.h"
#include "vxcheck/verify/checksum.h"

namespace vxcheck::verify {

enum class Status : std::uint8_t {
    Ok,       // the checksum verifies (possibly after local-checksum-offload substitution)
    Bad,      // it does not, and nothing explains why
    Partial,  // Linux CHECKSUM_PARTIAL form: pseudo-header sum left for the NIC (TX offload, GRO)
    Zero,     // UDP over IPv4 sent without a checksum
    Unverified,  // cannot be checked: snaplen cut, fragment, lengths that cannot be trusted
};
inline constexpr std::size_t kStatusCount = 5;

enum class Reason : std::uint8_t {
    None,
    Snaplen,               // the frame was cut by the capture's snaplen
    Fragment,              // part of a fragmented datagram
    LengthMismatch,        // a length field claims more than the frame holds
    SuperPacket,           // IP total length 0 (TSO / BIG TCP): the extent is only a guess
    LocalChecksumOffload,  // outer UDP verified after filling in the inner partial checksum(s)
    PartialZeroLength,     // partial form computed over L4 length 0 (igb-style TSO)
    ZeroOverIpv6,          // UDP checksum 0 is not allowed over IPv6 (RFC 8200 8.1)
    KernelNotReady,        // live: the kernel flagged the checksum as not filled in yet
};

/// Gre: the GRE checksum (RFC 2784 2.5), when the C bit says it is present: the Internet
/// checksum of the GRE header and its payload, with no pseudo-header.
enum class Check : std::uint8_t { Ipv4Header, Tcp, Udp, Gre };
inline constexpr std::size_t kCheckCount = 4;

struct Verdict {
    std::uint8_t layer = 0;  // index into DecodedPacket::layers()
    std::uint8_t depth = 0;
    Check check = Check::Ipv4Header;
    Status status = Status::Ok;
    Reason reason = Reason::None;
    bool expected_known = false;  // false when the covered bytes were not all captured
    std::uint16_t stored = 0;
    std::uint16_t expected = 0;  // the value that would verify (meaningful if expected_known)
    std::uint16_t residual = 0;  // sum over the covered bytes incl. the stored field (0xffff = ok)

    bool operator==(const Verdict&) const = default;
};

/// Records in `v` (check and stored set) that its covered bytes were all captured and sum, with
/// the pseudo-header, to `residual`: the residual and the value that would verify.
constexpr void set_residual(Verdict& v, std::uint16_t residual) noexcept {
    v.residual = residual;
    v.expected_known = true;
    v.expected = expected_from_residual(residual, v.stored);
    if (v.check == Check::Udp && v.expected == 0) {
        v.expected = 0xffff;  // a computed 0 is sent as all ones (RFC 768)
    }
}

class Verdicts {
  public:
    static constexpr std::size_t kMax = decode::DecodedPacket::kMaxLayers;
    [[nodiscard]] std::span<const Verdict> items() const noexcept {
        return {items_.data(), count_};
    }
    [[nodiscard]] bool any(Status s) const noexcept;
    [[nodiscard]] const Verdict* for_layer(std::size_t layer) const noexcept;
    void clear() noexcept { count_ = 0; }
    void add(const Verdict& v) noexcept;
    /// Holds n verdicts (at most kMax) from now on, returned for the caller to fill in any order.
    std::span<Verdict> reset(std::size_t n) noexcept;

  private:
    std::uint8_t count_ = 0;  // first: read with the first verdicts, in one cache line
    std::array<Verdict, kMax> items_{};
};

/// Verifies every checksum in `pkt` into `out` (cleared first). Reads only; never allocates.
void verify(const decode::DecodedPacket& pkt, Verdicts& out) noexcept;

[[nodiscard]] std::string_view to_string(Status s) noexcept;
[[nodiscard]] std::string_view to_string(Reason r) noexcept;
[[nodiscard]] std::string_view to_string(Check c) noexcept;

}  // namespace vxcheck::verify

#pragma once
// The connection rules as pure functions over facts: SYN schedules and outcomes (domain spec 4),
// the NAT fingerprints (2.3, 2.4) and masquerade signatures (5), and the verdict set. Each has a
// unit test named after it (tests/unit/analyze/rules_test.cc).

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "vxcheck/analyze/connection_report.h"
#include "vxcheck/analyze/options.h"
#include "vxcheck/track/flow_key.h"

namespace vxcheck::analyze {

// --- SYN tracking (domain spec 4) ---------------------------------------------------------------

/// The schedule that SYN send times (seconds after the first, offsets[0] == 0) follow: each
/// retransmission within max(0.25 s, 10%) of the classic or the linear schedule's time.
[[nodiscard]] Schedule classify_schedule(std::span<const double> offsets) noexcept;

/// What the matching of answers made of one SYN attempt (one ISN).
struct AttemptFacts {
    unsigned syns = 0;      // transmissions
    bool answered = false;  // SYN-ACK with ack = ISN+1
    bool rst = false;       // RST with ack = ISN+1
    bool icmp = false;      // ICMP destination unreachable quoting the SYN
};

/// Dropped: two or more SYNs with the same ISN, and no SYN-ACK, RST or ICMP for them.
[[nodiscard]] bool attempt_dropped(const AttemptFacts& a) noexcept;
/// Rejected: a RST with ack = ISN+1, or an ICMP error quoting the SYN.
[[nodiscard]] bool attempt_rejected(const AttemptFacts& a) noexcept;
/// The outcome of an attempt: an answer first, then RST, then ICMP; else dropped or unanswered.
[[nodiscard]] Outcome outcome_of(const AttemptFacts& a) noexcept;

// --- NAT inference (domain spec 2, 5) -----------------------------------------------------------

/// The VTEP pair's outer checksum mode (domain spec 2.4), by majority of what it sent.
enum class VtepMode : std::uint8_t { Unknown, Zero, Full };
[[nodiscard]] VtepMode vtep_mode(std::uint64_t zero, std::uint64_t full) noexcept;

/// flannel.1's address: an IPv4 x.y.z.0, the network address of a /prefix_len lease.
[[nodiscard]] bool is_flannel_address(const track::Endpoint& e, std::uint8_t prefix_len) noexcept;

/// A client port only MASQUERADE gives (nf_nat_l4proto_unique_tuple maps 512-1023 into 600-1023
/// and >= 1024 into 1024-65535; Linux RPC clients bind 665-1023, sockets the ephemeral range):
/// 600-664, or >= 1024 outside the ephemeral range. None otherwise.
[[nodiscard]] InnerSnatReason masqueraded_port(std::uint16_t port,
                                               const ConnectionOptions& o) noexcept;

/// A bad outer UDP checksum as NAT leaves it, if it is one.
struct Corruption {
    CorruptionVariant variant = CorruptionVariant::A;
    std::optional<std::uint16_t> pre_nat_sport;  // variant B
    Confidence confidence = Confidence::High;
    // Variant A with the source address rewritten too: the address before NAT.
    std::optional<track::Endpoint> pre_nat_src = std::nullopt;
};
/// Variant A: 0xffff stored, on a pair not known to send full checksums. Variant B: on a pair not
/// known to send zero ones, the residual R gives P_old = P_new + ~R (the checksum is valid for
/// the pre-NAT port), P_old != P_new and inside the VXLAN source-port range. The confidence is
/// Confidence's rule.
[[nodiscard]] std::optional<Corruption> classify_corruption(std::uint16_t stored,
                                                            std::uint16_t residual,
                                                            std::uint16_t sport, VtepMode mode,
                                                            const ConnectionOptions& o) noexcept;

/// The one's-complement sum of an address's 16-bit words (two for IPv4, eight for IPv6), its
/// zero written 0xffff (the form a sum of non-zero words takes).
[[nodiscard]] std::uint16_t address_word_sum(const track::Endpoint& e) noexcept;

/// The outer UDP checksum a kernel before 5.7 leaves when NAT rewrites the source address of a
/// tunnel packet sent with checksum 0 from old_src to new_src (domain spec 2.3): the address
/// delta onesum(~old, new) is added to 0, the port delta never, and a 0 is stored as 0xffff. So
/// 0xffff when the address stays, whatever the ports.
[[nodiscard]] std::uint16_t variant_a_field(const track::Endpoint& old_src,
                                            const track::Endpoint& new_src) noexcept;

/// Variant A with the source address rewritten too: `stored` (not 0, not 0xffff:
/// classify_corruption takes those) is variant_a_field(old, new_src) for a node address `old` that
/// sends zero checksums to the same receiver, the first of `zero_sources` (in their order) that
/// fits.
/// The address_word_sum() of every `old` for which variant_a_field(old, new_src) is `field`
/// (field not 0 or 0xffff): the key under which VtepModes finds the candidates.
[[nodiscard]] std::uint16_t rewritten_source_sum(std::uint16_t field,
                                                 const track::Endpoint& new_src) noexcept;

[[nodiscard]] std::optional<Corruption> classify_rewritten_source(
    std::uint16_t stored, const track::Endpoint& new_src,
    std::span<const track::Endpoint> zero_sources) noexcept;

/// Outer SNAT: the outer source port left the driver's range; else the first corrupted checksum's
/// fingerprint. None when neither.
[[nodiscard]] OuterSnatReason outer_snat(std::optional<std::uint16_t> out_of_range,
                                         std::span<const CorruptedOuter> corrupted,
                                         const ConnectionOptions& o) noexcept;

/// Inner SNAT: the client (when known) is flannel.1's address and its port is masqueraded; or,
/// with the outer packet NATed, inferred (only packets marked 0x4000 get their outer packet
/// masqueraded, and the same mark masquerades the inner one).
[[nodiscard]] InnerSnatReason inner_snat(std::optional<track::Endpoint> client,
                                         const OuterSnatReason& outer,
                                         const ConnectionOptions& o) noexcept;

// --- Refused reconnects (issue 19: nfs_endpoint_refused; domain spec 7, 7.1 items 10, 12) -----

inline constexpr std::uint16_t kNfsPort = 2049;
inline constexpr std::uint32_t kNfsProgram = 100003;  // ONC RPC program number of NFS
// efs-utils' local TLS proxy ports (port_range_lower_bound, port_range_upper_bound; newer
// efs-utils.conf files raise the upper bound from 20449 to 21049).
inline constexpr std::uint16_t kEfsProxyPortMin = 20049;
inline constexpr std::uint16_t kEfsProxyPortMax = 21049;
// A run needs this many refused attempts, each at least this long after the one before: the
// kernel's RPC client reconnects after 3, 6, 12 ... s (up to 300 s), a retrying application or a
// scanner faster; two refusals are one restart of the server.
inline constexpr unsigned kMinRefusedAttempts = 3;
inline constexpr double kMinRefusedGapS = 1.0;

/// 127.0.0.0/8 or ::1.
[[nodiscard]] bool is_loopback(const track::Endpoint& e) noexcept;
/// A loopback address with a port in efs-utils' proxy range.
[[nodiscard]] bool is_loopback_proxy(const track::Endpoint& e) noexcept;
/// Why `server` is an NFS endpoint for the refused rule: port 2049, a loopback proxy port, or
/// NFS (program 100003) seen going to it; none otherwise.
[[nodiscard]] std::optional<RefusedEndpoint::Why> nfs_endpoint(const track::Endpoint& server,
                                                               bool nfs_program_seen) noexcept;

/// One connection attempt from a client IP to a server ip:port: its first SYN's time, and
/// whether it was refused (RST, ack = ISN+1) or accepted (SYN-ACK).
struct ConnectAttempt {
    double t_s = 0;
    bool refused = false;
};
/// A run of refused attempts: attempts[first, first + count).
struct RefusedRun {
    std::size_t first = 0;
    std::size_t count = 0;
};
/// The run that the refused attempt attempts[i] belongs to (attempts in time order): refused
/// attempts one after another, each at least min_gap_s after the one before; an accepted attempt
/// ends a run, and an attempt sooner than min_gap_s after the one before starts a new one.
[[nodiscard]] RefusedRun refused_run(std::span<const ConnectAttempt> attempts, std::size_t i,
                                     double min_gap_s) noexcept;

// --- Verdicts -----------------------------------------------------------------------------------

struct VerdictFacts {
    bool dropped = false;   // some attempt was dropped
    bool rejected = false;  // some attempt was rejected
    bool delayed = false;   // the decisive attempt was answered after retransmissions
    bool inner_snat = false;
    bool outer_snat = false;
    bool corrupted = false;         // some outer checksum carries a NAT fingerprint
    bool endpoint_refused = false;  // the attempt is one of a run of refused NFS reconnects
};
/// The verdicts, in enum order; double_snat when inner and outer SNAT both hold; {Clean} when
/// nothing applies.
[[nodiscard]] std::vector<Verdict> verdicts_of(const VerdictFacts& f);

}  // namespace vxcheck::analyze

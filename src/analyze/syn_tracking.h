#pragma once
// SYN tracking (domain spec 4): attempts keyed by ISN, their transmissions joined across capture
// points, and their answers: SYN-ACK or RST with ack = ISN+1, or an ICMP error quoting the SYN.

#include <cstdint>
#include <optional>

#include "flow.h"

namespace vxcheck::analyze {

/// An attempt's ISN and its first transmission's time.
struct AttemptStart {
    std::uint32_t isn = 0;
    Timestamp first_ts;
};

/// A SYN (without ACK) from the client: a new attempt, a retransmission, or the same
/// transmission seen at another capture point (same IP ID and TSval). A connection whose first
/// packet it is keeps the attempt in its record (Flow, "Kept in the record").
void on_syn(Flow& f, const Segment& s, const Observation& o);
/// A SYN-ACK: answers the attempt whose ISN+1 it acknowledges (or, for a SYN with data, TCP
/// Fast Open, ISN+1 and up to that data); returns it when this answer is its first.
std::optional<AttemptStart> on_syn_ack(Flow& f, const Segment& s, const Observation& o);
/// A RST from the server: rejects the unanswered attempt whose ISN+1 (and SYN data, as for a
/// SYN-ACK) it acknowledges; returns it when this RST is its first.
std::optional<AttemptStart> on_rst(Flow& f, const Segment& s, const Observation& o);
/// The SYN of a new connection on a known 4-tuple: the connection was closed (FIN or RST seen)
/// and the SYN's ISN is none of its attempts' (a retransmission keeps its ISN).
[[nodiscard]] bool comes_back(const Flow& f, std::uint32_t isn) noexcept;
/// The ISN of the last attempt of f that a RST refused and nothing accepted, if any.
[[nodiscard]] std::optional<std::uint32_t> last_refused(const Flow& f) noexcept;
/// An ICMP destination unreachable quoting a SYN with sequence number `seq`.
void on_icmp_unreachable(Flow& f, std::uint32_t seq, std::uint8_t type, std::uint8_t code,
                         const Observation& o);

/// The answer to a joined connection's SYN may have been seen only before NAT: a pre-NAT point
/// that sees both directions (an NFLOG tap in raw OUTPUT and PREROUTING, a pod's veth) sees the
/// SYN-ACK under the tuple as sent, while the points after NAT may see only the client's side.
/// The ISN is the same on both sides of NAT, so the pre-NAT record's answer answers the post-NAT
/// attempt of that ISN that nothing answered, refused or rejected.
void credit_answers(const Flow& pre, Flow& post) noexcept;

struct SynFacts {
    bool dropped = false;   // some attempt: two or more SYNs, no answer
    bool rejected = false;  // some attempt: RST or ICMP
};
/// Fills r's SYN story (outcome, syns, offsets, delay, schedule, ICMP) from the decisive attempt
/// (the last ISN) and returns what all attempts show.
SynFacts decide_syns(const Flow& f, ConnectionReport& r);

}  // namespace vxcheck::analyze

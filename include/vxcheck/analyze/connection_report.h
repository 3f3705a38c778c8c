#pragma once
// What the connection analysis decides about one connection: typed facts (enums and numbers),
// never prose. The report module turns them into words (report/explain.h, report/format.h).

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "vxcheck/frame.h"
#include "vxcheck/track/flow_key.h"
#include "vxcheck/verify/verify.h"

namespace vxcheck::analyze {

enum class Verdict : std::uint8_t {
    SynDropped,
    SynRejected,
    DelayedConnect,
    InnerSnat,
    OuterSnat,
    DoubleSnat,
    OuterChecksumCorrupted,
    RpcUnanswered,                // "rpc_unanswered"
    RpcRetransmitted,             // "rpc_retransmitted"
    RpcAcceptError,               // "rpc_accept_error"
    RpcDenied,                    // "rpc_denied"
    NfsClientidCollision,         // "nfs_clientid_collision"
    NfsSessionChurn,              // "nfs_session_churn"
    NfsReplyTooBig,               // "nfs_reply_too_big"
    NfsRequestTooBig,             // "nfs_request_too_big"
    NfsReplyExceedsSessionLimit,  // "nfs_reply_exceeds_session_limit"
    NfsEndpointRefused,           // "nfs_endpoint_refused"
    Clean,
};
inline constexpr std::size_t kVerdictCount = static_cast<std::size_t>(Verdict::Clean) + 1;
[[nodiscard]] std::string_view to_string(Verdict v) noexcept;

/// How the decisive SYN attempt (the last ISN seen) ended (domain spec 4.3).
enum class Outcome : std::uint8_t {
    NoSyn,         // no SYN seen (the capture began mid-connection)
    Established,   // a SYN-ACK with ack = ISN+1
    RejectedRst,   // a RST with ack = ISN+1
    RejectedIcmp,  // an ICMP destination unreachable quoting the SYN
    Dropped,       // two or more SYNs, no answer
    Unanswered,    // one SYN, no answer
    // No SYN seen, and segments whose flags the snaplen cut off (a header-only capture): any of
    // them may have been the SYNs, so how the connection began is not decided.
    FlagsNotCaptured,
};
/// "no_syn", "established", "rejected_rst", "rejected_icmp", "dropped", "unanswered",
/// "flags_not_captured".
[[nodiscard]] std::string_view to_string(Outcome o) noexcept;

/// Which Linux SYN retransmission schedule the SYN send times follow (domain spec 4.1).
enum class Schedule : std::uint8_t {
    None,             // fewer than two SYNs: nothing to classify
    Classic,          // 0, 1, 3, 7, 15, 31, 63 s
    Linear,           // Linux >= 6.5: 0, 1, 2, 3, 4, 5, 7, 11, 19, 35, 67 s
    ClassicOrLinear,  // both (one retransmission at 1 s)
    Other,
};
/// "", "classic", "linear", "classic_or_linear", "other".
[[nodiscard]] std::string_view to_string(Schedule s) noexcept;

/// The NAT fingerprint of a corrupted outer UDP checksum (domain spec 2.3, 2.4).
enum class CorruptionVariant : std::uint8_t {
    A,  // 0xffff on a tunnel whose VTEP pair sends zero checksums (pre-5.7 kernels)
    B,  // the valid checksum for the pre-NAT source port (local checksum offload)
};
/// "A" or "B".
[[nodiscard]] std::string_view to_string(CorruptionVariant v) noexcept;

/// How surely a fingerprint is NAT's and not a checksum broken some other way (domain spec 2.4).
/// Variant A: High when the VTEP pair is known to send zero checksums, Medium when its mode is
/// not known yet. Variant B: High when the port on the wire is outside the VXLAN source-port
/// range (NAT certainly rewrote it), Medium when it is inside: a checksum broken at random
/// recovers a port inside the range as often as the range covers the port space.
enum class Confidence : std::uint8_t { High, Medium };
/// "high" or "medium".
[[nodiscard]] std::string_view to_string(Confidence c) noexcept;

/// Why the inner packet was masqueraded (domain spec 5.1, 5.3): the client is flannel.1's
/// x.y.z.0 address, and its port (or the outer NAT) shows the rewrite.
struct InnerSnatReason {
    enum class Kind : std::uint8_t {
        None,
        MasqueradePrivilegedPort,  // port in 600-664: MASQUERADE's range for ports 512-1023
        OutsideEphemeralRange,     // port >= 1024 outside [range_min, range_max]
        InferredFromOuterNat,      // the port looks ephemeral, but the outer packet was NATed
        Rewritten,                 // proven: a pre-NAT point saw the client as `before`
                                   // (ConnectionReport::as_sent)
    };
    Kind kind = Kind::None;
    std::uint16_t port = 0;       // the client's port
    track::Endpoint before{};     // Rewritten: the client as sent
    std::uint16_t range_min = 0;  // OutsideEphemeralRange: the ephemeral range
    std::uint16_t range_max = 0;

    [[nodiscard]] explicit operator bool() const noexcept { return kind != Kind::None; }
    bool operator==(const InnerSnatReason&) const = default;
};

/// Why the outer (VXLAN) packet was masqueraded (domain spec 5.3).
struct OuterSnatReason {
    enum class Kind : std::uint8_t {
        None,
        PortOutOfRange,  // outer source `port` outside the driver's [range_min, range_max]
        VariantA,        // 0xffff checksum on a zero-checksum tunnel
        VariantB,        // checksum valid for `pre_nat_port`, not for `port` on the wire
        Rewritten,       // proven: a point before POSTROUTING saw the outer packet with
                         // source port `pre_nat_port`, a later one with `port`
    };
    Kind kind = Kind::None;
    std::uint16_t port = 0;
    std::uint16_t pre_nat_port = 0;
    std::uint16_t range_min = 0;
    std::uint16_t range_max = 0;
    Confidence confidence = Confidence::High;  // VariantA, VariantB: the checksum's (Confidence)
    std::uint16_t stored = 0;                  // VariantA: the checksum on the wire
    // VariantA: the source address NAT rewrote, when it did (classify_rewritten_source()).
    std::optional<track::Endpoint> pre_nat_src = std::nullopt;

    [[nodiscard]] explicit operator bool() const noexcept { return kind != Kind::None; }
    bool operator==(const OuterSnatReason&) const = default;
};

/// One piece of RPC evidence behind a verdict, as facts (report::explain words it).
struct RpcFinding {
    Verdict verdict = Verdict::Clean;
    std::uint32_t xid = 0;
    Timestamp ts;         // of the call (or reply) the finding is about
    double seconds = 0;   // unanswered: capture after the last copy; retransmitted: interval
    bool closed = false;  // unanswered: the connection closed after the call
    bool same_connection = true;  // retransmitted: the earlier copy is on this connection
    bool answered = false;        // retransmitted: a reply came
    // accept_error: accept_stat; denied: reject_stat * 100 + auth_stat; nfs_*: nfsstat4 (0: none)
    std::uint32_t status = 0;
    std::uint32_t length = 0;       // request/reply too big, exceeds: the RPC message length
    std::uint32_t limit = 0;        // the session's granted limit (0: not compared)
    bool cached_limit = false;      // the limit is ca_maxresponsesize_cached (sa_cachethis)
    std::uint64_t call_frame = 0;   // the call's frame (its latest copy); 0: not known
    std::uint64_t reply_frame = 0;  // the reply's frame; 0: none (or not about a reply)
};

/// The RFC name of a finding's status: accept_stat ("PROG_UNAVAIL"), a denial
/// ("MSG_DENIED:AUTH_ERROR:AUTH_TOOWEAK"), or nfsstat4 ("NFS4ERR_REP_TOO_BIG"); "" without one.
[[nodiscard]] std::string status_name(const RpcFinding& f);

/// The label of an RPC program in reports and metrics: "NFS", "MOUNT", "PORTMAP", "NFS_ACL", "NSM"
/// (pcaps/README.md; the tshark comparison keys on them); empty for a program without a name.
[[nodiscard]] std::string_view program_label(std::uint32_t prog) noexcept;
/// "NFS v4 COMPOUND", "MOUNT v3 MNT", "NFS v3 proc99", "400100 v1 NULL".
[[nodiscard]] std::string procedure_label(std::uint32_t prog, std::uint32_t vers,
                                          std::uint32_t proc);

/// Why an evidence frame matters, as facts; report::evidence_note() words it.
struct EvidenceNote {
    enum class Kind : std::uint8_t {
        Syn,               // SYN #syn_number of `isn`, offset_s after the attempt's first
        SynSeenAgain,      // the same SYN transmission at another capture point
        SynAck,            // the server answered
        Rst,               // RST with ack = ISN+1
        BadOuterChecksum,  // a non-SYN segment with a bad outer UDP checksum
        IcmpUnreachable,   // ICMP destination unreachable quoting the SYN
        RpcCall,           // the call behind an RPC finding (`rpc`)
        RpcReply,          // the reply behind an RPC finding (`rpc`)
    };
    static constexpr std::size_t kMaxOps = 8;  // COMPOUND ops kept for the note
    Kind kind = Kind::Syn;
    std::uint32_t syn_number = 0;
    std::uint32_t isn = 0;
    double offset_s = 0;
    std::uint8_t icmp_type = 0;
    std::uint8_t icmp_code = 0;
    // The tunnel the segment came in, if any: outer source port and the outer checksum.
    bool tunnelled = false;
    bool outer_known = false;
    verify::Status outer_status = verify::Status::Ok;
    std::uint16_t outer_sport = 0;
    std::uint16_t stored = 0;
    std::uint16_t expected = 0;
    // RpcCall, RpcReply: the finding, the call's program, version and procedure, and its
    // COMPOUND ops (the first kMaxOps of op_count).
    RpcFinding rpc{};
    std::uint32_t prog = 0;
    std::uint32_t vers = 0;
    std::uint32_t proc = 0;
    std::uint32_t op_count = 0;
    std::array<std::uint32_t, kMaxOps> ops{};
};

/// A frame kept as evidence (copied: frames die at the next read), with why it matters.
struct EvidenceFrame {
    std::uint16_t point = 0;
    std::uint64_t frame = 0;
    Timestamp ts;
    LinkType link = LinkType::Ethernet;
    std::uint32_t wirelen = 0;
    std::vector<std::uint8_t> bytes;
    EvidenceNote note;
};

/// Capture points followed across points: point p is bit p of a PointMask, for the first
/// kMaxPoints points. A later point is analysed as a point of its own (its packets' verdicts,
/// SYN counts, retransmissions) but is in no mask: no hop, path order or last sighting names
/// it, and the run counts it (ConnectionStats::points_not_followed).
using PointMask = std::uint64_t;
inline constexpr std::uint16_t kMaxPoints = 64;

/// A cross-point observation of one SYN transmission of the decisive attempt, or of one data
/// transmission of a connection with verdicts (domain spec 5.3, issue 18 item 5).
struct Hop {
    enum class Kind : std::uint8_t {
        NeverReached,        // seen last at last_point; never at the points in `missing`
        OuterPortRewritten,  // outer sport from_sport at from_point, to_sport at to_point
        // A lost SYN seen at the points in `seen` (last at last_point when their order is
        // known); nothing captured says which point comes after them. `missing`: points that
        // carried other traffic to the server's node, whose place on the path is unknown.
        OrderUnknown,
        // A data segment (seq, length, from_client) seen at the points in `seen`, last at
        // last_point, and never at the points in `missing`: the first points after last_point
        // on its path that saw other data of its direction.
        DataNeverReached,
    };
    Kind kind = Kind::NeverReached;
    std::uint32_t syn_number = 0;
    double offset_s = 0;  // SYNs: from the attempt's first SYN; data: from the first packet
    std::uint16_t last_point = 0;
    PointMask missing = 0;  // bit p: capture point p
    // bit p: capture point p (OrderUnknown, NeverReached, DataNeverReached); `seen_order`: the
    // same points in path order, where the order is known (NeverReached, DataNeverReached).
    PointMask seen = 0;
    std::vector<std::uint16_t> seen_order{};
    bool last_known = false;  // OrderUnknown: last_point is the last in path order
    std::uint16_t from_sport = 0;
    std::uint16_t from_point = 0;
    std::uint16_t to_sport = 0;
    std::uint16_t to_point = 0;
    // DataNeverReached: the segment, and where it was first seen.
    bool from_client = false;
    std::uint32_t seq = 0;
    std::uint32_t length = 0;
    std::uint16_t first_point = 0;
    std::uint64_t frame = 0;
};

struct CorruptedOuter {
    CorruptionVariant variant = CorruptionVariant::A;
    std::uint16_t sport = 0;                     // as captured (after NAT)
    std::optional<std::uint16_t> pre_nat_sport;  // recovered from the checksum (variant B)
    // Variant A: the source address NAT rewrote, when it did (classify_rewritten_source()).
    std::optional<track::Endpoint> pre_nat_src = std::nullopt;
    Confidence confidence = Confidence::High;
    std::uint16_t stored = 0;
    std::uint16_t expected = 0;
    std::uint16_t point = 0;
    std::uint64_t frame = 0;
    // The same packet seen later, decapsulated, at another capture point: the receiver did not
    // verify the outer checksum (veth, or RX checksum offload off) and delivered it anyway.
    std::optional<std::uint16_t> delivered_at;
};

/// A capture point on a connection's path (issue 18 items 5, 6): the first SYN from the client
/// seen there, with the tuple at that point (before NAT at a pre-NAT point).
struct PathHop {
    std::uint16_t point = 0;
    track::Endpoint client;
    track::Endpoint server;
    bool tunnelled = false;
    std::uint16_t outer_sport = 0;
    verify::Status outer_status = verify::Status::Ok;
    std::uint64_t first_frame = 0;
    bool pre_nat = false;  // the tuple as sent, before the connection's NAT
};

/// The connection as its client sent it, seen at a point before NAT and joined with the
/// post-NAT record by what NAT does not change (the SYN's ISN, IP ID and TSval).
struct AsSent {
    track::Endpoint client;
    track::Endpoint server;
    std::uint16_t point = 0;
};

/// Why a record seen at several points was not joined across NAT (never a wrong join).
enum class NatJoinProblem : std::uint8_t {
    None,
    ClockSkew,   // the same SYN at two points further apart in time than the join window
    WrongOrder,  // the earlier sighting is tunnelled, the later one not: not a NAT on the way
    Unmatched,   // seen only at a pre-NAT point; no post-NAT record of it was captured
};
/// "", "clock_skew", "wrong_order", "unmatched".
[[nodiscard]] std::string_view to_string(NatJoinProblem p) noexcept;

/// nfs_endpoint_refused (issue 19; domain spec 7, 7.1 items 10 and 12): the run of refused
/// connection attempts (each a SYN with its own ISN answered by RST, ack = ISN+1, never by
/// SYN-ACK) from the client's IP to the server ip:port that this connection's attempt is one of.
struct RefusedEndpoint {
    /// Why the server ip:port is an NFS endpoint.
    enum class Why : std::uint8_t {
        NfsPort,            // port 2049
        LoopbackProxyPort,  // a loopback address with a port in 20049-21049 (efs-utils' proxy)
        NfsProgramSeen,     // ONC RPC program 100003 (NFS) went to it elsewhere in the capture
    };
    Why why = Why::NfsPort;
    unsigned attempts = 0;              // in the run
    unsigned number = 0;                // this connection's attempt in the run, from 1
    std::vector<double> gaps_s;         // between consecutive attempts' first SYNs
    std::vector<std::uint16_t> sports;  // the client's source port of each attempt, in order
};
/// "nfs_port", "loopback_proxy_port", "nfs_program_seen".
[[nodiscard]] std::string_view to_string(RefusedEndpoint::Why w) noexcept;

/// Service response times of one procedure or op (seconds), as `tshark -z rpc,srt` gives them;
/// median and p99 are exact up to kSrtExact calls, then read from a log histogram of all of
/// them (within 4.4%, rpc_analyzer.h).
struct RpcLatency {
    std::uint64_t count = 0;
    double min = 0;
    double median = 0;
    double p99 = 0;
    double max = 0;
};

/// One NFSv4 client owner presented from several client IPs (nfs_clientid_collision).
struct RpcCollision {
    std::string owner;                     // printable (non-printable bytes as \xNN)
    std::vector<track::Endpoint> clients;  // distinct client addresses (port 0)
    std::vector<std::string> verifiers;    // distinct verifiers, hex
    unsigned switches = 0;                 // times the presenting client IP changed
    bool error_evidence = false;           // another IP got a session error after an establishment
};

/// Session establishments of one client at one server (nfs_session_churn).
struct RpcChurn {
    unsigned establishments = 0;
    unsigned max_in_window = 0;  // most establishments within the churn window
    unsigned cycles = 0;         // error, then establishment
    unsigned errors = 0;         // replies with BADSESSION, DEADSESSION, STALE_CLIENTID, EXPIRED
};

/// What the ONC RPC analysis saw on a connection (issue 19 item 4): on every connection (zeros
/// when it carried no RPC) unless the analysis is off. XID lists hold at most kMaxRpcXidList
/// entries; the counts are complete.
/// What of a connection's ONC RPC the capture or the reader missed, per connection: gaps in a
/// stream (bytes never captured) and their bytes, bytes skipped while out of sync (a capture
/// begun inside a record, a record mark the snaplen cut), records cut by the snaplen (their
/// bytes after the cut unread), records whose header did not parse, and calls without a reply
/// in the capture not judged unanswered because bytes of the replies' direction were lost
/// after them.
struct RpcUnread {
    std::uint64_t gaps = 0;
    std::uint64_t gap_bytes = 0;
    std::uint64_t skipped_bytes = 0;
    std::uint64_t records_cut = 0;
    std::uint64_t records_unparsed = 0;
    std::uint64_t calls_not_judged = 0;
    /// Whether anything was missed that leaves part of the RPC unread or undecided: bytes
    /// skipped alone (a capture begun inside a record, payload that is not RPC) leave nothing so.
    [[nodiscard]] bool missed() const noexcept {
        return gaps + records_cut + records_unparsed + calls_not_judged != 0;
    }
};

struct RpcFacts {
    static constexpr std::size_t kMaxRpcXidList = 64;
    std::uint64_t calls = 0;
    std::uint64_t replies = 0;
    std::uint64_t calls_c2s = 0;
    std::uint64_t calls_s2c = 0;
    std::uint64_t unique_call_xids = 0;
    std::uint64_t matched_call_xids = 0;
    std::uint64_t unmatched_call_xids = 0;
    std::vector<std::uint32_t> unmatched_xids;
    std::vector<std::uint32_t> retransmitted_xids;
    std::vector<std::uint32_t> resent_from_earlier_connection;
    // The lengths of the two lists above before they were cut at kMaxRpcXidList (the length of
    // unmatched_xids before its cut is unmatched_call_xids).
    std::uint64_t retransmitted_xids_total = 0;
    std::uint64_t resent_from_earlier_connection_total = 0;
    std::vector<std::pair<std::string, std::uint64_t>> procedures;
    std::vector<std::pair<std::string, std::uint64_t>> nfs_ops;
    std::vector<std::pair<std::string, std::uint64_t>> cb_ops;
    std::vector<std::pair<std::string, std::uint64_t>> errors;
    std::vector<std::string> nfs_versions;
    std::vector<std::pair<std::string, RpcLatency>> srt;
    // Evidence of the RPC verdicts.
    std::vector<RpcFinding> findings;
    std::optional<RpcCollision> collision;
    std::optional<RpcChurn> churn;
    // Bounds hit (outstanding calls, cross-connection tables) and records that did not parse.
    std::uint64_t bounds_hit = 0;
    std::uint64_t garbled = 0;
    RpcUnread unread;
    // The connection's place among the connections the RPC analysis saw (later ones have
    // higher numbers): rpc_unanswered (b) is revised with it when the connection is decided
    // before the capture's end.
    std::uint64_t serial = 0;
};

/// The transport of a connection record: a TCP connection, or a UDP flow (client ip:port,
/// server ip:port) carrying ONC RPC, one datagram per message.
enum class Transport : std::uint8_t { Tcp, Udp };
/// "tcp", "udp".
[[nodiscard]] std::string_view to_string(Transport t) noexcept;

struct ConnectionReport {
    Transport transport = Transport::Tcp;
    track::Endpoint client;
    track::Endpoint server;
    std::vector<Verdict> verdicts;  // in enum order; {Clean} when nothing applies

    // The SYN story of the decisive attempt (the last ISN seen).
    Outcome outcome = Outcome::NoSyn;
    unsigned attempts = 0;              // distinct ISNs
    unsigned syns = 0;                  // SYN transmissions of the decisive attempt
    std::vector<double> syn_offsets_s;  // send times relative to the first SYN
    std::optional<double> delay_s;      // first SYN -> the SYN that was answered
    Schedule schedule = Schedule::None;
    std::optional<std::uint8_t> icmp_type;
    std::optional<std::uint8_t> icmp_code;

    // Tunnel context.
    bool tunnelled = false;        // outer_client and outer_server are set
    track::Endpoint outer_client;  // the client-side VTEP (port 0)
    track::Endpoint outer_server;
    std::vector<std::uint16_t> outer_sports;        // client->server outer source ports, in order
    std::vector<std::uint16_t> outer_sports_reply;  // server->client
    // Each list with what it was cut from: its ports, plus the changes to a port beyond its
    // first kMaxSports distinct ones (src/analyze/flow.h).
    std::array<std::uint32_t, 2> outer_sports_total{};  // [0] client->server, [1] reply
    std::uint32_t vni = 0;
    std::optional<std::uint16_t> outer_sport_out_of_range;
    std::vector<CorruptedOuter> corrupted;  // first few
    std::uint64_t corrupted_total = 0;
    InnerSnatReason inner_snat;
    OuterSnatReason outer_snat;
    std::optional<RefusedEndpoint> refused;  // set with Verdict::NfsEndpointRefused

    // Segments whose TCP flags the snaplen cut off (their frames' captured length at most
    // flags_snaplen): taken for neither a SYN, an answer, a close nor data.
    std::uint64_t flags_not_captured = 0;
    std::uint32_t flags_snaplen = 0;

    std::vector<std::string> points;  // capture points that saw the connection
    // It was seen at points beyond kMaxPoints too, which `points` does not list.
    bool points_beyond_cap = false;
    std::vector<Hop> hops;  // cross-point observations (drops, rewrites)
    // Data transmissions followed across capture points, and those that missed a point they
    // were expected at (connections with verdicts; the first ones are in `hops`), and those
    // still on their way when the capture ended or they left the followed window.
    std::uint64_t data_followed = 0;
    std::uint64_t data_lost = 0;
    std::uint64_t data_not_judged = 0;
    // The NAT path across capture points (issue 18): the connection as sent when a pre-NAT point
    // saw it, and the points in path order (set with as_sent, a join problem, or a point the
    // learned path expected and the SYN never reached).
    std::optional<AsSent> as_sent;
    std::vector<PathHop> path;
    NatJoinProblem nat_problem = NatJoinProblem::None;
    // Seen only from the client, and only at points that log before NAT (an NFLOG tap in the
    // raw or mangle table): the replies go elsewhere (after the reverse NAT, another hook), so
    // their absence there is no evidence; verdicts that need the other direction are not given.
    bool one_way_before_nat = false;
    double nat_skew_s = 0;                    // ClockSkew: how far apart the two sightings were
    std::string history;                      // Zeek-style: S h A D d F f R r (upper = client)
    std::uint64_t retransmissions = 0;        // data segments sent again, client->server
    std::uint64_t retransmissions_reply = 0;  // server->client
    std::uint64_t packets = 0;
    Timestamp first_ts;
    Timestamp last_ts;
    Timestamp decided_at;  // live: when poll() decided it (wall clock); 0 otherwise
    // Detail an allocation failure or the state budget cost this connection (SYN transmissions,
    // bad checksums, sightings or RPC state not stored): its counters are complete, its lists
    // may not be.
    bool incomplete = false;

    std::vector<EvidenceFrame> evidence;
    // Frames that were evidence: those kept, and those not kept (beyond the connection's
    // kMaxEvidence, or the evidence budget spent).
    std::uint64_t evidence_total = 0;

    std::optional<RpcFacts> rpc;  // the ONC RPC / NFS analysis (rpc_analyzer.h), unless off

    [[nodiscard]] bool has(Verdict v) const noexcept;
};

/// Puts a verdict list in enum order without duplicates, and without Clean when another verdict
/// applies ({Clean} when the list is empty).
void settle_verdicts(std::vector<Verdict>& verdicts);

struct ConnectionStats {
    std::uint64_t flows_created = 0;
    std::uint64_t evicted = 0;  // decided early because the table was full
    std::uint64_t expired = 0;  // decided early because idle
    std::uint64_t peak_flows = 0;
    std::uint64_t segments = 0;  // TCP segments on watched ports
    // Packets whose analysis an allocation failure cut short (the rule is in connections.h).
    std::uint64_t alloc_failures = 0;
    // A connection whose SYN came again with a new ISN after a FIN or RST: decided, and the
    // 4-tuple tracked afresh as a new connection.
    std::uint64_t reconnections = 0;
    // Refused attempts not recorded because the registry of refused attempts was full (its
    // bounds are in src/analyze/refused.h), and connections reported without waiting for the
    // rest of their run because the holding area was full.
    std::uint64_t refused_not_recorded = 0;
    std::uint64_t refused_not_held = 0;
    // ONC RPC over UDP (rpc_analyzer.h): datagrams of UDP RPC flows, flows tracked, flows decided
    // early because the UDP flow table was full, datagrams on an RPC port (111, 2049, a learned
    // one) that are neither a call nor a reply to one (the anomaly "rpc.udp_not_rpc"), and ports
    // handed out by portmap not learned because the set was full.
    std::uint64_t udp_datagrams = 0;
    std::uint64_t udp_flows = 0;
    std::uint64_t udp_evicted = 0;
    std::uint64_t udp_not_rpc = 0;
    std::uint64_t udp_ports_not_learned = 0;
    // What the bounds on memory dropped (ConnectionOptions): VTEP pairs whose mode was forgotten
    // for newer ones, evidence frames not kept because the evidence budget was spent, and (live
    // capture) connections whose verdicts already counted were forgotten, so that a later report
    // of one counts its verdicts again. The state budget: list entries of connections (SYN
    // attempts and transmissions, bad outer checksums, sightings) not kept, and connections (TCP
    // or UDP flows) whose ONC RPC analysis was not started or was stopped.
    std::uint64_t vtep_pairs_evicted = 0;
    std::uint64_t evidence_frames_dropped = 0;
    std::uint64_t verdict_memory_evicted = 0;
    std::uint64_t detail_dropped = 0;
    std::uint64_t rpc_connections_dropped = 0;
    // Capture points beyond the first kMaxPoints that carried packets: analysed, not followed
    // across points (PointMask).
    std::uint64_t points_not_followed = 0;
    // ONC RPC calls and answers the cross-connection tables forgot for newer ones (rpc_analyzer.h:
    // kMaxCrossCalls): rpc_retransmitted across connections and rpc_unanswered (b) see no older.
    std::uint64_t rpc_calls_forgotten = 0;
};

}  // namespace vxcheck::analyze

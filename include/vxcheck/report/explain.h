#pragma once
// Plain words for a connection's typed facts, built when the report is written (never on the
// packet path): what happened, what to do, and the one-line reasons and notes the JSON and text
// reports show.

#include <string>
#include <vector>

#include "vxcheck/analyze/connection_report.h"

namespace vxcheck::report {

struct Explanation {
    std::string text;                    // what happened, in plain words: the sentences joined
    std::vector<std::string> sentences;  // one fact or mechanism each
    std::vector<std::string> remedies;   // what to do
};

/// The explanation and remedies of r's verdicts; `points` names r's capture point indices.
[[nodiscard]] Explanation explain(const analyze::ConnectionReport& r,
                                  const std::vector<std::string>& points);

/// Whether r is syn_dropped and every SYN of it carried a corrupted outer checksum: only then is
/// the drop put on the checksums.
[[nodiscard]] bool dropped_for_checksums(const analyze::ConnectionReport& r);

/// A clean tunnelled connection from flannel.1's address (x.y.z.0 of a /24 lease) whose SYNs'
/// outer UDP checksums are partial or zero at this capture point: an outer rewrite inside the
/// driver's port range leaves no trace there, so whether it was NATed twice is undetermined.
[[nodiscard]] bool double_snat_undetermined(const analyze::ConnectionReport& r);
/// Why such connections are undetermined, and what settles it.
[[nodiscard]] std::string undetermined_words();

/// Whether the capture missed part of r's RPC stream in a way that leaves something unread or
/// undecided (a gap, records cut by the snaplen or not parsed, calls not judged): then the
/// explanation says so.
[[nodiscard]] bool rpc_unread_matters(const analyze::ConnectionReport& r);

/// Adds the words and remedies of r's RPC / NFS verdicts (rpc_explain.cc).
void explain_rpc(const analyze::ConnectionReport& r, std::string& text,
                 std::vector<std::string>& remedies);

/// Why the inner packet was masqueraded, in words ("" when it was not).
[[nodiscard]] std::string inner_snat_words(const analyze::ConnectionReport& r);
/// Why the outer packet was masqueraded, in words ("" when it was not).
[[nodiscard]] std::string outer_snat_words(const analyze::OuterSnatReason& o);
/// One line on why an evidence frame matters.
[[nodiscard]] std::string evidence_note(const analyze::EvidenceNote& n);
/// The note of an RPC evidence frame (RpcCall, RpcReply): "rpc_unanswered: CALL xid 0x1234abcd
/// NFS v4 COMPOUND (SEQUENCE PUTFH GETATTR), no reply ..." (rpc_explain.cc).
[[nodiscard]] std::string rpc_evidence_note(const analyze::EvidenceNote& n);
/// One cross-point observation ("SYN #2 (+1.000 s): last seen at a, never reached b").
[[nodiscard]] std::string hop_words(const analyze::Hop& h, const std::vector<std::string>& points);

}  // namespace vxcheck::report

#pragma once
// Parts of the explanation (explain.cc) that live in their own files.

#include <string>
#include <vector>

#include "vxcheck/analyze/connection_report.h"

namespace vxcheck::report {

/// "1.5 s" under ten seconds, "63 s" above.
[[nodiscard]] std::string seconds_words(double s);

/// inner_snat_words(r); with name_port false, a port that shows nothing is not named.
[[nodiscard]] std::string inner_snat_reason(const analyze::ConnectionReport& r, bool name_port);

/// The proven inner SNAT (InnerSnatReason::Kind::Rewritten) and outer SNAT
/// (OuterSnatReason::Kind::Rewritten) in words (explain_nat_path.cc).
[[nodiscard]] std::string rewritten_inner_words(const analyze::ConnectionReport& r);
[[nodiscard]] std::string rewritten_outer_words(const analyze::OuterSnatReason& o);
/// The connection as sent, DNAT, and why records were not joined across NAT, in sentences.
void explain_nat_path(const analyze::ConnectionReport& r, const std::vector<std::string>& points,
                      std::vector<std::string>& sentences);
/// One hop of r.path: "point: client -> server, outer sport N, outer checksum ok, frame F".
[[nodiscard]] std::string path_hop_line(const analyze::PathHop& h,
                                        const std::vector<std::string>& points);

/// nfs_endpoint_refused in sentences: the run of refused attempts, this one's place in it, and
/// what keeps reconnecting (explain_refused.cc). Precondition: r.refused is set.
void explain_refused(const analyze::ConnectionReport& r, std::vector<std::string>& sentences);
/// What to do about a refused NFS endpoint (nothing when r.refused is not set).
void refused_remedies(const analyze::ConnectionReport& r, std::vector<std::string>& fix);

}  // namespace vxcheck::report

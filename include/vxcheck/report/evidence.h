#pragma once
// --evidence: the packets behind connection verdicts, written as pcapng with a comment on each
// (shown by Wireshark and tshark as frame.comment).

#include <string>
#include <vector>

#include "vxcheck/analyze/connections.h"
#include "vxcheck/report/output_file.h"

namespace vxcheck::report {

/// Writes every evidence frame of `connections` into `file` and closes it; returns how many.
/// Throws std::runtime_error naming the file when it cannot be written.
std::size_t write_evidence_pcapng(OutputFile file,
                                  const std::vector<analyze::ConnectionReport>& connections,
                                  const std::vector<std::string>& points);

}  // namespace vxcheck::report

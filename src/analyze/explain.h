#pragma once
// Plain-words explanations and remedies for connection verdicts (private to src/analyze).

#include <string>
#include <vector>

#include "vxcheck/analyze/connections.h"

namespace vxcheck::analyze {

/// Fills r.explanation and r.remedies from r's verdicts and evidence.
void explain(ConnectionReport& r, const ConnectionOptions& options,
             const std::vector<std::string>& point_names);

}  // namespace vxcheck::analyze

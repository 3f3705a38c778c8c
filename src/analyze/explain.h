#pragma once
// Plain-words explanations and remedies for connection verdicts (private to src/analyze).

#include "vxcheck/analyze/connections.h"

namespace vxcheck::analyze {

/// Fills r.explanation and r.remedies from r's verdicts and evidence.
void explain(ConnectionReport& r, const ConnectionOptions& options);

}  // namespace vxcheck::analyze

#include "vxcheck/report/reporter.h"

namespace vxcheck::report {

bool is_finding(const analyze::ConnectionReport& c) noexcept {
    for (const analyze::Verdict v : c.verdicts) {
        if (v != analyze::Verdict::Clean && v != analyze::Verdict::InnerSnat) {
            return true;  // inner SNAT alone is how host-network clients reach ClusterIPs
        }
    }
    return false;
}

}  // namespace vxcheck::report

// The NAT path across capture points in words (issue 18 items 4-6): the connection as sent,
// the rewrites proven by a capture before NAT, why records were not joined, and one line per hop.

#include <cstdio>

#include "explain_parts.h"
#include "vxcheck/track/flow_key.h"

namespace vxcheck::report {

using analyze::ConnectionReport;
using analyze::NatJoinProblem;

namespace {

std::string name_of(const std::vector<std::string>& points, std::size_t p) {
    return p < points.size() ? points[p] : "?";
}

}  // namespace

std::string rewritten_inner_words(const ConnectionReport& r) {
    const analyze::InnerSnatReason& i = r.inner_snat;
    const bool port_kept = i.before.port == i.port;
    return "a capture point before NAT saw the client as " + track::to_string(i.before) +
           ", after NAT it is " + track::to_string(r.client) + " (proven: " +
           (port_kept ? "the address was rewritten, the port kept" : "address and port rewritten") +
           ")";
}

std::string rewritten_outer_words(const analyze::OuterSnatReason& o) {
    return "a capture point before POSTROUTING saw the outer source port " +
           std::to_string(o.pre_nat_port) + ", a later one " + std::to_string(o.port) +
           " (proven: NAT rewrote it)";
}

void explain_nat_path(const ConnectionReport& r, const std::vector<std::string>& points,
                      std::vector<std::string>& e) {
    if (r.as_sent) {
        const analyze::AsSent& a = *r.as_sent;
        std::string s = "Sent as " + track::to_string(a.client) + " -> " +
                        track::to_string(a.server) + " (seen at " + name_of(points, a.point) +
                        ", before NAT)";
        if (!(a.server == r.server)) {
            s += "; DNAT to " + track::to_string(r.server);
        }
        if (!r.inner_snat) {
            s += "; the client tuple was not rewritten (proven)";
        }
        e.push_back(s + ".");
    }
    switch (r.nat_problem) {
        case NatJoinProblem::ClockSkew: {
            char buf[32];
            std::snprintf(buf, sizeof buf, "%.3f", r.nat_skew_s);
            e.push_back(std::string("The same SYN was seen under another tuple at another capture "
                                    "point ") +
                        buf +
                        " s apart, more than the join window: the points' clocks disagree, so "
                        "the records were not joined across NAT.");
            break;
        }
        case NatJoinProblem::WrongOrder:
            e.push_back(
                "The same SYN was seen under another tuple, first inside the tunnel and only then "
                "without it: that is not the order of a NAT on the way out, so the records were "
                "not joined.");
            break;
        case NatJoinProblem::Unmatched:
            e.push_back(
                "Seen only at a capture point before NAT: no capture after NAT has the same SYN "
                "(ISN, IP ID, TSval), so nothing shows where it went.");
            break;
        case NatJoinProblem::None:
            break;
    }
}

std::string path_hop_line(const analyze::PathHop& h, const std::vector<std::string>& points) {
    std::string s = name_of(points, h.point) + ": " + track::to_string(h.client) + " -> " +
                    track::to_string(h.server);
    if (h.tunnelled) {
        s += ", outer sport " + std::to_string(h.outer_sport) + ", outer checksum " +
             std::string(verify::to_string(h.outer_status));
    }
    if (h.pre_nat) {
        s += " (before NAT)";
    }
    return s + ", frame " + std::to_string(h.first_frame);
}

}  // namespace vxcheck::report

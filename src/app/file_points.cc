// The capture points of one input file (file_points.h).

#include "file_points.h"

#include <algorithm>

#include "run_common.h"

namespace vxcheck::app {
namespace {

bool is_taken(const std::vector<std::string>& taken, const std::string& name) {
    return std::find(taken.begin(), taken.end(), name) != taken.end();
}

}  // namespace

FilePoints::FilePoints(analyze::ConnectionAnalyzer& connections, std::string file,
                       std::uint32_t interfaces, InterfaceName interface_name,
                       std::string given_name)
    : connections_(connections),
      file_(std::move(file)),
      stem_(given_name.empty() ? point_name(file_, {}) : given_name),
      given_(!given_name.empty()),
      interfaces_(interfaces),
      interface_name_(std::move(interface_name)) {}

std::string FilePoints::name_for(const FrameOrigin& origin) const {
    std::string name = interface_name_ ? interface_name_(origin.interface) : "";
    if (name == "any") {
        name.clear();  // a cooked capture of every interface: its frames say which
    }
    if (origin.sub == FrameOrigin::Sub::Ifindex && name.empty()) {
        return "ifindex " + std::to_string(origin.id);
    }
    if (origin.sub == FrameOrigin::Sub::NflogGroup && (name.empty() || name.starts_with("nflog"))) {
        return "nflog:" + std::to_string(origin.id);
    }
    if (name.empty()) {
        name = "interface " + std::to_string(origin.interface);
    }
    return name;
}

std::uint16_t FilePoints::lookup(const FrameOrigin& origin) {
    const auto it = std::find_if(known_.begin(), known_.end(),
                                 [&](const auto& k) { return k.first == origin; });
    std::uint16_t point = 0;
    if (it != known_.end()) {
        point = it->second;
    } else {
        const std::vector<std::string>& taken = connections_.points();
        const bool one_point =
            interfaces_ <= 1 && origin.interface == 0 && origin.sub == FrameOrigin::Sub::None;
        std::string name;
        if (one_point) {
            name = given_ ? stem_ : point_name(file_, taken);
        } else {
            name = name_for(origin);
            if (given_ || is_taken(taken, name)) {
                name = stem_ + ":" + name;
            }
        }
        const std::string base = name;
        for (int n = 2; is_taken(taken, name); ++n) {
            name = base + "#" + std::to_string(n);
        }
        point = connections_.add_point(name);
        known_.emplace_back(origin, point);
    }
    last_ = origin;
    last_point_ = point;
    has_last_ = true;
    return point;
}

std::string FilePoints::names() const {
    std::string out;
    for (const auto& [origin, point] : known_) {
        out += (out.empty() ? "" : ", ") + connections_.points()[point];
    }
    return out;
}

}  // namespace vxcheck::app

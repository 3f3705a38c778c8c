// The capture points of `capture -i any` (input_points.h).

#include "input_points.h"

#include <net/if.h>

#include <algorithm>
#include <string>

namespace vxcheck::app {
namespace {

// The SLL2 header's interface index (bytes 4-7, network byte order).
constexpr std::size_t kSll2IfindexOffset = 4;
constexpr std::size_t kSll2HeaderLen = 20;

}  // namespace

std::uint16_t AnyPoints::point_of(const RawFrame& frame) {
    if (frame.link != LinkType::LinuxSll2 || frame.data.size() < kSll2HeaderLen) {
        return fallback_;
    }
    std::uint32_t ifindex = 0;
    for (std::size_t i = 0; i < 4; ++i) {
        ifindex = (ifindex << 8) | frame.data[kSll2IfindexOffset + i];
    }
    for (const auto& [index, point] : known_) {
        if (index == ifindex) {
            return point;
        }
    }
    char name[IF_NAMESIZE] = {};
    std::string base = ::if_indextoname(ifindex, name) != nullptr
                           ? std::string(name)
                           : "ifindex" + std::to_string(ifindex);  // gone already
    // A name given with -i as well (-i any -i eth0) stays that socket's point.
    const std::vector<std::string>& taken = consumer_.connections().points();
    if (std::find(taken.begin(), taken.end(), base) != taken.end()) {
        base += "@any";
    }
    const std::uint16_t point = consumer_.add_point(base);
    known_.emplace_back(ifindex, point);
    return point;
}

}  // namespace vxcheck::app

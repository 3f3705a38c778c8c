#include "vxcheck/track/flow_key.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>

namespace vxcheck::track {
namespace {}  // namespace

std::string ip_to_string(const Endpoint& e) {
    char buf[INET6_ADDRSTRLEN];
    if (inet_ntop(e.v6 ? AF_INET6 : AF_INET, e.addr.data(), buf, sizeof buf) == nullptr) {
        return "?";
    }
    return buf;
}

std::string to_string(const Endpoint& e) {
    return e.v6 ? "[" + ip_to_string(e) + "]:" + std::to_string(e.port)
                : ip_to_string(e) + ":" + std::to_string(e.port);
}

}  // namespace vxcheck::track

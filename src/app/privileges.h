#pragma once
// Least privilege for `vxcheck capture`. Private to src/app.
//
// Capturing needs CAP_NET_RAW (and CAP_NET_ADMIN for a socket buffer above net.core.rmem_max)
// only to create the packet sockets; reading them, and binding them again to an interface that
// comes back (capture::LiveSource::rebind), needs nothing. So once the sockets and the metrics
// listener are open, the process keeps no capability at all: none effective, permitted,
// inheritable, ambient or in the bounding set, and no_new_privs is set so that nothing it could
// execute regains any. With -Z USER it also becomes that user, as tcpdump does.

#include <sys/types.h>

#include <optional>
#include <stdexcept>
#include <string>

namespace vxcheck::app {

struct RunAs {
    std::string name;
    uid_t uid = 0;
    gid_t gid = 0;
};

/// Thrown when privileges cannot be dropped as asked; what() says which step failed.
class PrivilegeError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

/// The user `name` (a name or a numeric uid) from the password database, looked up before
/// anything is opened. Throws PrivilegeError when there is no such user.
RunAs lookup_user(const std::string& name);

/// Sets no_new_privs, switches to `user` if given (setgroups, setgid, setuid, in that order),
/// then clears every capability set of the calling thread. Call it on the only thread: capability
/// sets are per thread, so threads started before keep theirs. Throws PrivilegeError.
void drop_privileges(const std::optional<RunAs>& user);

}  // namespace vxcheck::app

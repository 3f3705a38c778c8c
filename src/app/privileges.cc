#include "privileges.h"

#include <grp.h>
#include <pwd.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <vector>

namespace vxcheck::app {
namespace {

[[noreturn]] void fail(const std::string& what) {
    throw PrivilegeError("cannot drop privileges: " + what + ": " + std::strerror(errno));
}

using CapPtr = std::unique_ptr<std::remove_pointer_t<cap_t>, int (*)(void*)>;

CapPtr caps(cap_t c) {
    return {c, cap_free};
}

// Empties the bounding set. Each drop needs CAP_SETPCAP; a process that lacks it (not root,
// file capabilities only) keeps its bounding set, and no_new_privs stands in for it.
void drop_bounding_set() {
    for (cap_value_t c = 0; CAP_IS_SUPPORTED(c); ++c) {
        if (cap_get_bound(c) > 0 && cap_drop_bound(c) != 0 && errno != EPERM) {
            fail(std::string("bounding set: ") + cap_to_name(c));
        }
    }
}

void switch_user(const RunAs& user) {
    if (::setgroups(1, &user.gid) != 0) {
        fail("-Z " + user.name + ": setgroups");
    }
    if (::setgid(user.gid) != 0) {
        fail("-Z " + user.name + ": setgid");
    }
    if (::setuid(user.uid) != 0) {
        fail("-Z " + user.name + ": setuid");
    }
}

}  // namespace

RunAs lookup_user(const std::string& name) {
    passwd pw{};
    passwd* found = nullptr;
    std::vector<char> buf(16384);
    ::getpwnam_r(name.c_str(), &pw, buf.data(), buf.size(), &found);
    const bool numeric =
        !name.empty() && name.size() < 10 &&
        std::all_of(name.begin(), name.end(), [](char c) { return c >= '0' && c <= '9'; });
    if (found == nullptr && numeric) {
        ::getpwuid_r(static_cast<uid_t>(std::stoul(name)), &pw, buf.data(), buf.size(), &found);
    }
    if (found == nullptr) {
        throw PrivilegeError("-Z " + name + ": no such user");
    }
    return RunAs{.name = pw.pw_name, .uid = pw.pw_uid, .gid = pw.pw_gid};
}

void drop_privileges(const std::optional<RunAs>& user) {
    if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
        fail("no_new_privs");
    }
    drop_bounding_set();
    if (CAP_AMBIENT_SUPPORTED() && cap_reset_ambient() != 0) {
        fail("ambient capabilities");
    }
    if (user) {
        switch_user(*user);
    }
    const CapPtr none = caps(cap_init());
    if (!none || cap_set_proc(none.get()) != 0) {
        fail("capabilities");
    }
    const CapPtr now = caps(cap_get_proc());
    if (!now || cap_compare(now.get(), none.get()) != 0) {
        errno = EPERM;
        fail("capabilities still held after clearing them");
    }
}

}  // namespace vxcheck::app

// nfs_endpoint_refused in words (issue 19; domain spec 7): a hard NFS mount reconnecting to an
// endpoint where nothing listens.

#include "explain_parts.h"
#include "vxcheck/track/flow_key.h"

namespace vxcheck::report {

using analyze::ConnectionReport;
using Sentences = std::vector<std::string>;

// nfs_endpoint_refused (issue 19; domain spec 7): a hard NFS mount reconnecting to an endpoint
// where nothing listens, in words.
void explain_refused(const ConnectionReport& r, Sentences& e) {
    using Why = analyze::RefusedEndpoint::Why;
    const analyze::RefusedEndpoint& f = *r.refused;
    std::string gaps;
    for (const double g : f.gaps_s) {
        gaps += (gaps.empty() ? "" : ", ") + seconds_words(g);
    }
    bool same_port = true;
    for (const std::uint16_t p : f.sports) {
        same_port = same_port && p == f.sports.front();
    }
    e.push_back(track::ip_to_string(r.client) + " tried " + std::to_string(f.attempts) +
                " times to connect to " + track::to_string(r.server) +
                ", each attempt refused (a RST, never a SYN-ACK); they came " + gaps + " apart, " +
                (same_port ? "all from source port " + std::to_string(f.sports.front())
                           : std::string("each from a new source port (newer kernels pick one "
                                         "after a refused connect)")) +
                ".");
    e.push_back("This connection is attempt " + std::to_string(f.number) + " of " +
                std::to_string(f.attempts) + ".");
    if (f.why == Why::LoopbackProxyPort) {
        e.push_back(
            "This is a hard NFS mount through efs-utils' local TLS proxy (stunnel or efs-proxy on "
            "127.0.0.1, ports 20049-21049) whose proxy no longer listens: the kernel's NFS client "
            "keeps reconnecting, after 3, 6, 12 ... s and then every 300 s, each SYN is refused, "
            "and every process that touches the mount (kubelet's stat() of the volume, df, ls) "
            "blocks in the kernel, for as long as the mount exists.");
    } else {
        e.push_back(
            "This is how the kernel NFS client of a hard mount keeps reconnecting (after 3, 6, 12 "
            "... s, up to 300 s) to a server where no NFS service listens any more; every process "
            "that touches the mount blocks until it comes back.");
    }
}

void refused_remedies(const ConnectionReport& r, std::vector<std::string>& fix) {
    if (!r.refused) {
        return;
    }
    fix.push_back("Find the orphaned mount (mount | grep " + track::ip_to_string(r.server) +
                  ", or grep 'port=" + std::to_string(r.server.port) +
                  "' /proc/mounts) and unmount it: umount -f -l <mountpoint>; restart the pods "
                  "that used it.");
    if (r.refused->why == analyze::RefusedEndpoint::Why::LoopbackProxyPort) {
        fix.push_back(
            "Upgrade efs-utils: its watchdog cleaned up the dead proxy's state without "
            "unmounting (aws/efs-utils#346), which leaves a hard mount on a port nothing serves; "
            "a reused port can even stack a second mount on it.");
    } else {
        fix.push_back("If the mount is still wanted, bring the NFS server back on " +
                      track::to_string(r.server) +
                      " (the nfs-server service, or the NFS server pod).");
    }
}

}  // namespace vxcheck::report

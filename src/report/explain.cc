// What each verdict means for the person on call, and what fixes it. Versions and mechanisms
// are from domain spec 2 (k8s #88986/#90854, PR #92035; netfilter ea64d8d6c675; flannel #1279,
// #1679, PR #1681) and 4 (SYN schedules).

#include "vxcheck/report/explain.h"

#include <algorithm>
#include <cstdio>

#include "vxcheck/report/format.h"

namespace vxcheck::report {
namespace {

using analyze::ConnectionReport;
using analyze::CorruptedOuter;
using analyze::CorruptionVariant;
using analyze::Schedule;
using analyze::Verdict;

constexpr std::size_t kMaxPointBits = 32;  // capture points tracked in bit masks

std::string point_name(const std::vector<std::string>& points, std::size_t p) {
    return p < points.size() ? points[p] : "?";
}

std::string fixed3(double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.3f", v);
    return buf;
}

// The tunnel a segment came in: ", outer sport N, outer UDP checksum bad (stored .., ..)".
std::string outer_desc(const analyze::EvidenceNote& n) {
    if (!n.tunnelled) {
        return "";
    }
    std::string d = ", outer sport " + std::to_string(n.outer_sport);
    if (n.outer_known) {
        d += ", outer UDP checksum " + std::string(to_string(n.outer_status));
        if (n.outer_status == verify::Status::Bad) {
            d += " (stored " + hex16(n.stored) + ", expected " + hex16(n.expected) + ")";
        }
    }
    return d;
}

std::string seconds(double s) {
    char buf[32];
    std::snprintf(buf, sizeof buf, s < 10 ? "%.1f s" : "%.0f s", s);
    return buf;
}

std::string schedule_words(Schedule schedule) {
    if (schedule == Schedule::Classic) {
        return "the classic Linux SYN schedule (retries at 1, 3, 7, 15, 31, 63 s)";
    }
    if (schedule == Schedule::Linear) {
        return "the linear SYN schedule of Linux >= 6.5 (1, 2, 3, 4, 5, 7, 11, 19, 35, 67 s)";
    }
    if (schedule == Schedule::ClassicOrLinear) {
        return "the first SYN retry (1 s), as both the classic and the linear schedules do";
    }
    if (schedule == Schedule::Other) {
        return "retries that follow neither Linux SYN schedule (an application retrying, or "
               "tcp_syn_retries/TCP_SYNCNT changed)";
    }
    return "";
}

// The NAT story: double, outer only, or inner only.
void explain_snat(const ConnectionReport& r, std::string& e) {
    if (r.has(Verdict::DoubleSnat)) {
        e += "This connection was source-NATed twice. First its inner packets were masqueraded: " +
             inner_snat_words(r) +
             ". Then, because the masquerade mark 0x4000 survives VXLAN encapsulation, the outer "
             "UDP packet was masqueraded again: " +
             outer_snat_words(r.outer_snat) + ". ";
    } else if (r.has(Verdict::OuterSnat)) {
        e += "The outer VXLAN packets of this connection were source-NATed on their way out: " +
             outer_snat_words(r.outer_snat) + ". ";
    } else if (r.has(Verdict::InnerSnat)) {
        e += "The client side was masqueraded: " + inner_snat_words(r) +
             ". That is normal for a host-network client reaching a ClusterIP over flannel, and "
             "harmless unless the outer packet is NATed too. ";
    }
}

// The corrupted outer checksums: which variant, and whether another point saw them delivered.
void explain_corruption(const ConnectionReport& r, const std::vector<std::string>& point_names,
                        std::string& e) {
    const CorruptedOuter& c = r.corrupted.front();
    char buf[400];
    if (c.variant == CorruptionVariant::A) {
        std::snprintf(buf, sizeof buf,
                      "%llu outer packet(s) left with UDP checksum 0xffff on a tunnel that "
                      "otherwise sends none (variant A: the NAT checksum update of kernels "
                      "before 5.7 / 5.4.41 / 4.19.123 / 4.14.181); the correct value was "
                      "0x%04x. ",
                      static_cast<unsigned long long>(r.corrupted_total), c.expected);
    } else {
        std::snprintf(buf, sizeof buf,
                      "%llu outer packet(s) left with a UDP checksum that is valid for the "
                      "pre-NAT source port %u but not for port %u on the wire (variant B: "
                      "NAT updates a locally-offloaded checksum as if it were partial, on "
                      "current kernels too); stored 0x%04x, correct 0x%04x. ",
                      static_cast<unsigned long long>(r.corrupted_total),
                      unsigned{c.pre_nat_sport.value_or(0)}, unsigned{c.sport}, c.stored,
                      c.expected);
    }
    e += buf;
    std::size_t delivered = 0;
    std::string where;
    for (const CorruptedOuter& k : r.corrupted) {
        if (k.delivered_at) {
            ++delivered;
            where = point_names.size() > *k.delivered_at ? point_names[*k.delivered_at] : "";
        }
    }
    if (delivered == 0) {
        e += "A receiving node that verifies UDP checksums (any real NIC or the kernel) drops "
             "these packets silently ('UDP: bad checksum' in dmesg, Udp InCsumErrors in "
             "nstat); they never reach its flannel.1. ";
    } else {
        e += std::to_string(delivered) + " of them were nevertheless seen decapsulated at " +
             where +
             ": that receiver did not verify the outer checksum (veth, or RX checksum offload "
             "off), so here they got through; a node with a real NIC drops them. ";
    }
}

// Why the connect was delayed, and how NAT explains the delay (domain spec 4.2).
void explain_delay(const ConnectionReport& r, bool nat, std::string& e) {
    e += "The connection was established only after " + std::to_string(r.syns - 1) +
         " SYN retransmission(s), " + seconds(*r.delay_s) + " after the first SYN";
    const std::string sched = schedule_words(r.schedule);
    e += sched.empty() ? ". " : ", following " + sched + ". ";
    if (nat) {
        // Only a connection's first packet passes the nat table, so only it carries the
        // 0x4000 mark; retransmissions are NATed only while they reuse the outer flow.
        if (*r.delay_s >= 30) {
            e += "The retransmissions reused the same outer source port and so the same "
                 "NATed outer flow until its conntrack entry expired (30 s unreplied; the "
                 "gaps of 1, 2, 4, 8, 16 s keep it alive, the 32 s gap does not); the SYN "
                 "after that created a fresh, unmarked outer flow that was not masqueraded. "
                 "This is the classic 63-second NFS mount / 'nc -z' delay. ";
        } else {
            e += "After the SYN timeout the kernel picked a new outer source port (it "
                 "re-rolls the flow hash on a timeout), and the retransmitted SYN carries no "
                 "0x4000 mark (only a connection's first packet passes the nat table), so "
                 "it was not masqueraded and got through. ";
        }
    }
}

// Dropped and rejected SYNs (domain spec 4.3).
void explain_drop_or_reject(const ConnectionReport& r, bool nat, std::string& e) {
    if (r.has(Verdict::SynDropped)) {
        e += "SYNs were retransmitted with the same ISN and never answered: no SYN-ACK, RST or "
             "ICMP came back";
        const std::string sched = schedule_words(r.schedule);
        e += sched.empty() ? ". " : ", at the times of " + sched + ". ";
        e += nat ? "Given the corrupted outer checksums, the receiving node dropped them. "
                 : "Something on the path dropped them silently (a DROP rule, a NetworkPolicy, "
                   "a bad checksum on another hop, or a dead route). ";
    }
    if (r.has(Verdict::SynRejected)) {
        if (r.outcome == analyze::Outcome::RejectedIcmp || r.icmp_type) {
            e += "The SYN was rejected with ICMP destination unreachable (type " +
                 std::to_string(r.icmp_type.value_or(3)) + ", code " +
                 std::to_string(r.icmp_code.value_or(0)) + ")";
            e += r.icmp_code.value_or(0) == 3
                     ? ": port unreachable, which is what kube-proxy's REJECT rule sends for a "
                       "Service with no endpoints. "
                     : ". ";
        } else {
            e += "The SYN was answered with a RST (ack = ISN+1): the host is reachable but "
                 "nothing listens on port " +
                 std::to_string(r.server.port) + ". ";
        }
    }
}

// nfs_endpoint_refused (issue 19; domain spec 7): a hard NFS mount reconnecting to an endpoint
// where nothing listens, in words.
void explain_refused(const ConnectionReport& r, std::string& e) {
    using Why = analyze::RefusedEndpoint::Why;
    const analyze::RefusedEndpoint& f = *r.refused;
    std::string gaps;
    for (const double g : f.gaps_s) {
        gaps += (gaps.empty() ? "" : ", ") + seconds(g);
    }
    bool same_port = true;
    for (const std::uint16_t p : f.sports) {
        same_port = same_port && p == f.sports.front();
    }
    e += track::ip_to_string(r.client) + " tried " + std::to_string(f.attempts) +
         " times to connect to " + track::to_string(r.server) +
         ", and each attempt was refused like this one (a RST, never a SYN-ACK). This connection "
         "is attempt " +
         std::to_string(f.number) + " of " + std::to_string(f.attempts) + "; they came " + gaps +
         " apart, " +
         (same_port ? "all from source port " + std::to_string(f.sports.front())
                    : std::string("each from a new source port (newer kernels pick one after a "
                                  "refused connect)")) +
         ". ";
    if (f.why == Why::LoopbackProxyPort) {
        e += "This is a hard NFS mount through efs-utils' local TLS proxy (stunnel or efs-proxy "
             "on 127.0.0.1, ports 20049-21049) whose proxy no longer listens: the kernel's NFS "
             "client keeps reconnecting, after 3, 6, 12 ... s and then every 300 s, each SYN is "
             "refused, and every process that touches the mount (kubelet's stat() of the "
             "volume, df, ls) blocks in the kernel, for as long as the mount exists. ";
    } else {
        e += "This is how the kernel NFS client of a hard mount keeps reconnecting (after 3, 6, "
             "12 ... s, up to 300 s) to a server where no NFS service listens any more; every "
             "process that touches the mount blocks until it comes back. ";
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

// What to do about each verdict.
std::vector<std::string> remedies(const ConnectionReport& r, bool nat) {
    std::vector<std::string> fix;
    if (nat) {
        fix.push_back(
            "Stop the second masquerade: kube-proxy >= 1.16.13 / 1.17.9 / 1.18.6 clears mark "
            "0x4000 before MASQUERADE (kubernetes PR 92035), and Flannel >= 0.20.2 returns early "
            "for packets kube-proxy marked (flannel PR 1681) so the two rules no longer NAT the "
            "same traffic twice.");
        if (!r.corrupted.empty() && r.corrupted.front().variant == CorruptionVariant::A) {
            fix.push_back(
                "Upgrade the kernel to >= 4.14.181 / 4.19.123 / 5.4.41 / 5.7 (netfilter: nat: "
                "never update the UDP checksum when it's 0).");
        }
        fix.push_back(
            "Workaround now, on every node: ethtool -K flannel.1 tx-checksum-ip-generic off "
            "(again after every reboot or flannel restart, e.g. from a udev rule). Cost: inner "
            "checksums are computed in software and TSO/GSO on flannel.1 go off with it, so "
            "bulk throughput through the tunnel drops and CPU use rises.");
    }
    if (r.has(Verdict::SynDropped) && !nat) {
        fix.push_back(
            "Find the hop that drops the SYN: capture on the client node's eth0 and the server "
            "node's eth0 and flannel.1 at the same time and run 'vxcheck analyze' on all the "
            "files; check iptables/nftables DROP rules and NetworkPolicies on the way.");
    }
    if (r.has(Verdict::SynRejected) && !r.refused) {
        if (r.outcome == analyze::Outcome::RejectedIcmp || r.icmp_type) {
            fix.push_back(
                "Check the Service's endpoints (kubectl get endpointslices) and that the server "
                "pods are Ready.");
        } else {
            fix.push_back(
                "Check that the server listens on the port (ss -ltn). For a hard NFS mount to "
                "127.0.0.1 (efs-utils / stunnel) the local proxy is gone: unmount the orphaned "
                "mount (umount -f -l).");
        }
    }
    if (r.has(Verdict::DelayedConnect) && !nat && !r.has(Verdict::SynDropped)) {
        fix.push_back(
            "The first SYN(s) were lost on the way; if this repeats, capture on both nodes to "
            "see where (vxcheck analyze with both files).");
    }
    return fix;
}

}  // namespace

// The verdicts one after another, in the order the person on call reads them.
Explanation explain(const ConnectionReport& r, const std::vector<std::string>& point_names) {
    Explanation out;
    std::string& e = out.text;
    const bool nat = r.has(Verdict::OuterSnat) || r.has(Verdict::OuterChecksumCorrupted);
    explain_snat(r, e);
    if (r.has(Verdict::OuterChecksumCorrupted)) {
        explain_corruption(r, point_names, e);
    }
    if (r.has(Verdict::DelayedConnect) && r.delay_s) {
        explain_delay(r, nat, e);
    }
    explain_drop_or_reject(r, nat, e);
    if (r.refused) {
        explain_refused(r, e);
    }
    for (const analyze::Hop& h : r.hops) {
        e += hop_words(h, point_names) + ". ";
    }
    std::vector<std::string> rpc_remedies;
    explain_rpc(r, e, rpc_remedies);
    if (r.has(Verdict::Clean)) {
        e = "Nothing wrong found for " + track::to_string(r.client) + " -> " +
            track::to_string(r.server) + ".";
        return out;
    }
    if (!e.empty() && e.back() == ' ') {
        e.pop_back();
    }
    out.remedies = remedies(r, nat);
    refused_remedies(r, out.remedies);
    out.remedies.insert(out.remedies.end(), rpc_remedies.begin(), rpc_remedies.end());
    return out;
}

std::string inner_snat_words(const ConnectionReport& r) {
    using Kind = analyze::InnerSnatReason::Kind;
    const analyze::InnerSnatReason& i = r.inner_snat;
    const std::string who = "the client address " + track::ip_to_string(r.client) +
                            " is flannel.1's (x.y.z.0) and its ";
    const std::string port = std::to_string(i.port);
    switch (i.kind) {
        case Kind::None:
            return "";
        case Kind::MasqueradePrivilegedPort:
            return who + "port " + port +
                   " is in 600-664, where MASQUERADE puts privileged ports; the Linux NFS client "
                   "binds 665-1023";
        case Kind::OutsideEphemeralRange:
            return who + "port " + port + " is outside the ephemeral range " +
                   std::to_string(i.range_min) + "-" + std::to_string(i.range_max) +
                   " (MASQUERADE --random-fully)";
        case Kind::InferredFromOuterNat:
            return who +
                   "outer packet was masqueraded, which only happens to packets marked 0x4000 for "
                   "masquerading, so the inner packet was masqueraded too (port " +
                   port + " looks ephemeral: the port alone could not show it)";
    }
    return "";
}

std::string outer_snat_words(const analyze::OuterSnatReason& o) {
    using Kind = analyze::OuterSnatReason::Kind;
    switch (o.kind) {
        case Kind::None:
            return "";
        case Kind::PortOutOfRange:
            return "outer VXLAN source port " + std::to_string(o.port) +
                   " is outside the driver's range " + std::to_string(o.range_min) + "-" +
                   std::to_string(o.range_max);
        case Kind::VariantB:
            return "the outer UDP checksum is valid for source port " +
                   std::to_string(o.pre_nat_port) + ", not for the port on the wire (" +
                   std::to_string(o.port) + "): NAT rewrote it";
        case Kind::VariantA:
            return "the outer UDP checksum 0xffff on a tunnel that sends no checksums is what "
                   "NAT leaves when it rewrites the packet (pre-5.7 kernels)";
    }
    return "";
}

std::string evidence_note(const analyze::EvidenceNote& n) {
    using Kind = analyze::EvidenceNote::Kind;
    switch (n.kind) {
        case Kind::Syn: {
            char buf[96];
            std::snprintf(buf, sizeof buf, "SYN #%u of ISN %u at +%.3f s", n.syn_number, n.isn,
                          n.offset_s);
            return buf + outer_desc(n);
        }
        case Kind::SynSeenAgain:
            return "the same SYN seen again at this capture point" + outer_desc(n);
        case Kind::SynAck:
            return "SYN-ACK: the server answered" + outer_desc(n);
        case Kind::Rst:
            return "RST with ack = ISN+1: nothing listens, SYN rejected";
        case Kind::BadOuterChecksum:
            return "bad outer UDP checksum" + outer_desc(n);
        case Kind::IcmpUnreachable:
            return "ICMP destination unreachable (type " + std::to_string(n.icmp_type) + " code " +
                   std::to_string(n.icmp_code) + ") quoting the SYN";
        case Kind::RpcCall:
        case Kind::RpcReply:
            return rpc_evidence_note(n);
    }
    return "";
}

std::string hop_words(const analyze::Hop& h, const std::vector<std::string>& points) {
    const std::string which =
        "SYN #" + std::to_string(h.syn_number) + " (+" + fixed3(h.offset_s) + " s)";
    if (h.kind == analyze::Hop::Kind::OuterPortRewritten) {
        return which + ": outer source port " + std::to_string(h.from_sport) + " at " +
               point_name(points, h.from_point) + " became " + std::to_string(h.to_sport) + " at " +
               point_name(points, h.to_point);
    }
    std::string never;
    for (std::size_t p = 0; p < std::min(points.size(), kMaxPointBits); ++p) {
        if ((h.missing & (1U << p)) != 0) {
            never += (never.empty() ? "" : ", ") + points[p];
        }
    }
    return which + ": last seen at " + point_name(points, h.last_point) + ", never reached " +
           never;
}

}  // namespace vxcheck::report

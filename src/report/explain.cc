// What each verdict means for the person on call, and what fixes it. Versions and mechanisms
// are from domain spec 2 (k8s #88986/#90854, PR #92035; netfilter ea64d8d6c675; flannel #1279,
// #1679, PR #1681) and 4 (SYN schedules).

#include "vxcheck/report/explain.h"

#include <algorithm>
#include <bit>
#include <cstdio>
#include <optional>
#include <span>
#include <vector>

#include "explain_parts.h"
#include "text_layout.h"
#include "vxcheck/analyze/rules.h"
#include "vxcheck/report/format.h"

namespace vxcheck::report {
namespace {

using analyze::ConnectionReport;
using analyze::CorruptedOuter;
using analyze::CorruptionVariant;
using analyze::Schedule;
using analyze::Verdict;
using Sentences = std::vector<std::string>;

constexpr std::size_t kMaxPointBits = analyze::kMaxPoints;  // capture points in bit masks

std::string point_name(const std::vector<std::string>& points, std::size_t p) {
    return p < points.size() ? points[p] : "?";
}

// The names of the points in `mask`, in point order, comma-separated.
std::string names_in(analyze::PointMask mask, const std::vector<std::string>& points) {
    std::string out;
    for (std::size_t p = 0; p < std::min(points.size(), kMaxPointBits); ++p) {
        if (((mask >> p) & 1U) != 0) {
            out += (out.empty() ? "" : ", ") + points[p];
        }
    }
    return out;
}

// The names of `order`'s points, in that order.
std::string names_in(const std::vector<std::uint16_t>& order,
                     const std::vector<std::string>& points) {
    std::string out;
    for (const std::uint16_t p : order) {
        out += (out.empty() ? "" : ", ") + point_name(points, p);
    }
    return out;
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

// The NAT story: double, outer only, or inner only. The mechanism is one sentence, the
// evidence of each NAT another, so that connections with the same story share the first.
void explain_snat(const ConnectionReport& r, Sentences& e) {
    if (r.has(Verdict::DoubleSnat)) {
        e.push_back(
            "Source-NATed twice: the inner packets were masqueraded to flannel.1's address and, "
            "because the masquerade mark 0x4000 survives VXLAN "
            "encapsulation, the outer UDP packets were masqueraded again.");
        // Without the port where it is no evidence, so that connections alike share the sentence.
        e.push_back("Inner SNAT: " + inner_snat_reason(r, false) + ".");
        e.push_back("Outer SNAT: " + outer_snat_words(r.outer_snat) + ".");
    } else if (r.has(Verdict::OuterSnat)) {
        e.push_back("The outer VXLAN packets were source-NATed on their way out.");
        e.push_back("Outer SNAT: " + outer_snat_words(r.outer_snat) + ".");
    } else if (r.has(Verdict::InnerSnat)) {
        e.push_back("The client side was masqueraded: " + inner_snat_words(r) +
                    ". That is normal for a host-network client reaching a ClusterIP over "
                    "flannel, and harmless unless the outer packet is NATed too.");
    }
}

// What the decisive attempt's SYNs carried as outer checksum, from their evidence notes at the
// tunnelled capture point that saw most of them: there the n-th SYN note is SYN #n when that
// point saw every SYN (then `last` is known).
struct SynChecksums {
    unsigned known = 0;  // SYN transmissions whose outer checksum verdict is known
    unsigned bad = 0;
    std::optional<verify::Status> last;  // of the last SYN (the answered one, if any)
};

// A SYN's outer checksum as its tunnel sent it: a 0 is no checksum (a bad verdict over IPv6,
// RFC 8200 8.1, but no corruption: NAT never leaves a 0, and RFC 6935 tunnels send it).
verify::Status sent_outer_status(const analyze::EvidenceNote& n) {
    return n.outer_status == verify::Status::Bad && n.stored == 0 ? verify::Status::Zero
                                                                  : n.outer_status;
}

SynChecksums syn_checksums(const ConnectionReport& r) {
    std::vector<std::vector<verify::Status>> by_point;
    for (const analyze::EvidenceFrame& f : r.evidence) {
        const analyze::EvidenceNote& n = f.note;
        const bool syn = n.kind == analyze::EvidenceNote::Kind::Syn ||
                         n.kind == analyze::EvidenceNote::Kind::SynSeenAgain;
        if (!syn || !n.outer_known || f.point >= kMaxPointBits) {
            continue;
        }
        by_point.resize(std::max<std::size_t>(by_point.size(), f.point + 1U));
        by_point[f.point].push_back(sent_outer_status(n));
    }
    SynChecksums out;
    for (const auto& statuses : by_point) {
        if (statuses.size() <= out.known) {
            continue;
        }
        out = {.known = static_cast<unsigned>(statuses.size()),
               .bad = static_cast<unsigned>(
                   std::count(statuses.begin(), statuses.end(), verify::Status::Bad)),
               .last = std::nullopt};
        if (statuses.size() == r.syns) {
            out.last = statuses.back();
        }
    }
    return out;
}

constexpr const char* kDropSigns = "('UDP: bad checksum' in dmesg, Udp InCsumErrors in nstat)";

// Whether the corrupted packets got through, by what the captures show: seen decapsulated at
// another point, the SYN that carried one answered, or left unanswered; else undetermined.
void explain_delivery(const ConnectionReport& r, const std::vector<std::string>& point_names,
                      Sentences& e) {
    std::size_t delivered = 0;
    std::string where;
    for (const CorruptedOuter& k : r.corrupted) {
        if (k.delivered_at) {
            ++delivered;
            where = point_name(point_names, *k.delivered_at);
        }
    }
    const SynChecksums sc = syn_checksums(r);
    const bool answered_bad =
        r.outcome == analyze::Outcome::Established && sc.last == verify::Status::Bad;
    const bool lost = std::any_of(r.hops.begin(), r.hops.end(), [](const analyze::Hop& h) {
        return h.kind == analyze::Hop::Kind::NeverReached;
    });
    if (delivered != 0) {
        e.push_back(std::to_string(delivered) + " of them were nevertheless seen decapsulated at " +
                    where +
                    ": that receiver did not verify the outer checksum (veth, or RX "
                    "checksum offload off). A node with a real NIC drops them " +
                    kDropSigns + ".");
    } else if (answered_bad) {
        e.push_back(
            "The server answered a SYN that carried such a checksum, so here they got through: "
            "the receiving node did not verify the outer checksum (veth, or RX checksum offload "
            "off). A node with a real NIC drops them " +
            std::string(kDropSigns) + ".");
    } else if (lost) {
        e.push_back("The receiving node dropped such packets " + std::string(kDropSigns) +
                    ": a SYN that carried one was seen on its way but never after "
                    "decapsulation.");
    } else if (r.has(Verdict::DelayedConnect) && sc.bad != 0 && sc.last &&
               *sc.last != verify::Status::Bad) {
        e.push_back(
            "The SYNs that carried such a checksum went unanswered and the first SYN "
            "without one got through: the receiving node drops these packets " +
            std::string(kDropSigns) + ".");
    } else if (!r.has(Verdict::SynDropped)) {
        e.push_back("A receiving node that verifies UDP checksums drops such packets " +
                    std::string(kDropSigns) +
                    "; whether this one did cannot be told from these captures: a capture on the "
                    "receiving node's eth0 and flannel.1, or its Udp InCsumErrors, settles it.");
    }
}

// The corrupted outer checksums: which variant, how many, and whether they got through.
void explain_corruption(const ConnectionReport& r, const std::vector<std::string>& point_names,
                        Sentences& e) {
    const analyze::CorruptedOuter& first = r.corrupted.front();
    if (first.variant == CorruptionVariant::A && first.pre_nat_src) {
        e.push_back("Outer packets were left with UDP checksum " + hex16(first.stored) +
                    ": NAT rewrote their source address from " +
                    track::ip_to_string(*first.pre_nat_src) +
                    ", which sends this receiver no checksums, and added only the address "
                    "change to the checksum of 0 (variant A: the NAT checksum update of kernels "
                    "before 5.7 / 5.4.41 / 4.19.123 / 4.14.181).");
    } else if (first.variant == CorruptionVariant::A) {
        e.push_back(
            "Outer packets were left with UDP checksum 0xffff on a tunnel that otherwise sends "
            "none (variant A: the NAT checksum update of kernels before 5.7 / 5.4.41 / 4.19.123 "
            "/ 4.14.181).");
    } else {
        e.push_back(
            "Outer packets were left with a UDP checksum that is valid for the pre-NAT source "
            "port, not for the port on the wire (variant B: NAT updates a locally-offloaded "
            "checksum as if it were partial, on current kernels too).");
    }
    e.push_back(std::to_string(r.corrupted_total) +
                (r.corrupted_total == 1 ? " outer packet was" : " outer packets were") +
                " sent with such a corrupted checksum.");
    explain_delivery(r, point_names, e);
}

// Why the connect was delayed, and how NAT explains the delay (domain spec 4.2).
void explain_delay(const ConnectionReport& r, bool nat, Sentences& e) {
    std::string d = "The connection was established only after " + std::to_string(r.syns - 1) +
                    " SYN retransmission(s), " + seconds_words(*r.delay_s) + " after the first SYN";
    const std::string sched = schedule_words(r.schedule);
    e.push_back(d + (sched.empty() ? "." : ", following " + sched + "."));
    if (!nat) {
        return;
    }
    // Only a connection's first packet passes the nat table, so only it carries the 0x4000
    // mark; retransmissions are NATed only while they reuse the outer flow.
    if (*r.delay_s >= 30) {
        e.push_back(
            "The retransmissions reused the same outer source port and so the same NATed outer "
            "flow until its conntrack entry expired (30 s unreplied; the gaps of 1, 2, 4, 8, 16 "
            "s keep it alive, the 32 s gap does not); the SYN after that created a fresh, "
            "unmarked outer flow that was not masqueraded. This is the classic 63-second NFS "
            "mount / 'nc -z' delay.");
    } else if (r.outer_sports.size() > 1) {  // said only when the port did change
        e.push_back(
            "After the SYN timeout the kernel picked a new outer source port (it re-rolls the "
            "flow hash on a timeout), and the retransmitted SYN carries no 0x4000 mark (only a "
            "connection's first packet passes the nat table), so it was not masqueraded and got "
            "through.");
    }
}

// A drop is put on the checksums only when the dropped SYNs carried corrupted ones.
void explain_syn_drop(const ConnectionReport& r, Sentences& e) {
    std::string d =
        "SYNs were retransmitted with the same ISN and never answered: no SYN-ACK, RST or ICMP "
        "came back";
    const std::string sched = schedule_words(r.schedule);
    e.push_back(d + (sched.empty() ? "." : ", at the times of " + sched + "."));
    const SynChecksums sc = syn_checksums(r);
    if (sc.bad != 0 && sc.bad == sc.known && sc.known == r.syns) {
        e.push_back(
            "Every one of them carried a corrupted outer checksum, which a receiver that "
            "verifies UDP checksums drops " +
            std::string(kDropSigns) + ".");
    } else if (sc.bad != 0) {
        e.push_back(std::to_string(sc.bad) + " of the " + std::to_string(r.syns) +
                    " SYNs carried a corrupted outer checksum; the others had valid ones and "
                    "went unanswered too, so something else on the path dropped them (a DROP "
                    "rule, e.g. in FORWARD, a NetworkPolicy, or a dead route).");
    } else {
        e.push_back(
            "Something on the path dropped them silently (a DROP rule, a NetworkPolicy, a bad "
            "checksum on another hop, or a dead route).");
    }
}

// Dropped and rejected SYNs (domain spec 4.3).
void explain_reject(const ConnectionReport& r, Sentences& e) {
    if (r.outcome == analyze::Outcome::RejectedIcmp || r.icmp_type) {
        std::string d = "The SYN was rejected with ICMP destination unreachable (type " +
                        std::to_string(r.icmp_type.value_or(3)) + ", code " +
                        std::to_string(r.icmp_code.value_or(0)) + ")";
        e.push_back(d + (r.icmp_code.value_or(0) == 3
                             ? ": port unreachable, which is what kube-proxy's REJECT rule sends "
                               "for a Service with no endpoints."
                             : "."));
    } else {
        e.push_back(
            "The SYN was answered with a RST (ack = ISN+1): the host is reachable but nothing "
            "listens on port " +
            std::to_string(r.server.port) + ".");
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
    if (r.has(Verdict::SynDropped) && !dropped_for_checksums(r)) {
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
            "The first SYN(s), or the server's answers to them, were lost on the way; if this "
            "repeats, capture on both nodes to "
            "see where (vxcheck analyze with both files).");
    }
    return fix;
}

// What a header-only capture leaves undecided (issue 21 item 3).
std::string flags_not_captured_words(const ConnectionReport& r) {
    return "Not decided: the TCP flags of " + std::to_string(r.flags_not_captured) +
           " segment(s) were not captured (snaplen " + std::to_string(r.flags_snaplen) +
           "), so whether SYNs were retransmitted, answered or refused, and what needs the "
           "client's SYN, cannot be told; capture with a snaplen of at least 128.";
}

// What of the RPC stream the capture missed, and what that leaves undecided; "" when nothing
// that matters was missed (rpc_unread_matters()).
std::string rpc_unread_words(const ConnectionReport& r) {
    if (!rpc_unread_matters(r)) {
        return {};
    }
    const analyze::RpcUnread& u = r.rpc->unread;
    std::vector<std::string> parts;
    if (u.gaps != 0) {
        parts.push_back(text::count(u.gaps, "gap", "gaps") + " (" + std::to_string(u.gap_bytes) +
                        " bytes never captured: the capture dropped packets)");
    }
    if (u.records_cut != 0) {
        parts.push_back(text::count(u.records_cut, "record", "records") + " cut by the snaplen");
    }
    if (u.records_unparsed != 0) {
        parts.push_back(text::count(u.records_unparsed, "record", "records") +
                        " whose RPC header could not be read");
    }
    std::string s = "The capture missed part of the RPC stream";
    for (std::size_t i = 0; i < parts.size(); ++i) {
        s += (i == 0 ? ": " : i + 1 == parts.size() ? " and " : ", ") + parts[i];
    }
    if (u.calls_not_judged != 0) {
        s += "; " + text::count(u.calls_not_judged, "call", "calls") +
             " without a reply in the capture " + (u.calls_not_judged == 1 ? "is" : "are") +
             " not judged unanswered, as the reply may be in what was missed";
    }
    if (u.records_cut + u.records_unparsed != 0) {
        s += "; capture with -s 0 to read whole records";
    }
    return s + ".";
}

bool same_loss(const analyze::Hop& a, const analyze::Hop& b) noexcept {
    return b.kind == analyze::Hop::Kind::DataNeverReached && a.from_client == b.from_client &&
           a.seq == b.seq && a.length == b.length && a.seen == b.seen &&
           a.last_point == b.last_point && a.missing == b.missing;
}

// "Data to the server (seq S, L bytes), 5 transmissions at +2.000, +2.200 s (the first at P
// frame F): seen at A, B; last seen at B, never reached C".
std::string data_loss_words(std::span<const analyze::Hop> same,
                            const std::vector<std::string>& points) {
    if (same.size() == 1) {
        return hop_words(same.front(), points);
    }
    const analyze::Hop& h = same.front();
    std::string s = std::string(h.from_client ? "Data to the server" : "Data to the client") +
                    " (seq " + std::to_string(h.seq) + ", " + std::to_string(h.length) +
                    " bytes), " + std::to_string(same.size()) + " transmissions at ";
    for (std::size_t i = 0; i < same.size(); ++i) {
        s += (i == 0 ? "+" : ", +") + fixed3(same[i].offset_s);
    }
    return s + " s (the first at " + point_name(points, h.first_point) + " frame " +
           std::to_string(h.frame) + "), each seen at " + names_in(h.seen_order, points) +
           "; last seen at " + point_name(points, h.last_point) + ", never reached " +
           names_in(h.missing, points);
}

}  // namespace

bool rpc_unread_matters(const ConnectionReport& r) {
    return r.rpc && r.rpc->unread.missed();
}

std::string seconds_words(double s) {
    char buf[32];
    std::snprintf(buf, sizeof buf, s < 10 ? "%.1f s" : "%.0f s", s);
    return buf;
}

// The verdicts one after another, in the order the person on call reads them.
Explanation explain(const ConnectionReport& r, const std::vector<std::string>& point_names) {
    Explanation out;
    Sentences& e = out.sentences;
    const bool nat = r.has(Verdict::OuterSnat) || r.has(Verdict::OuterChecksumCorrupted);
    explain_snat(r, e);
    explain_nat_path(r, point_names, e);
    if (r.has(Verdict::OuterChecksumCorrupted) && !r.corrupted.empty()) {
        explain_corruption(r, point_names, e);
    }
    if (r.has(Verdict::DelayedConnect) && r.delay_s) {
        explain_delay(r, nat, e);
    }
    if (r.has(Verdict::SynDropped)) {
        explain_syn_drop(r, e);
    }
    if (r.has(Verdict::SynRejected)) {
        explain_reject(r, e);
    }
    if (r.refused) {
        explain_refused(r, e);
    }
    std::uint64_t data_listed = 0;
    for (std::size_t i = 0; i < r.hops.size(); ++i) {
        const analyze::Hop& h = r.hops[i];
        if (h.kind != analyze::Hop::Kind::DataNeverReached) {
            e.push_back(hop_words(h, point_names) + ".");
            continue;
        }
        // The transmissions of one segment lost the same way, in one sentence.
        std::size_t n = 1;
        while (i + n < r.hops.size() && same_loss(h, r.hops[i + n])) {
            ++n;
        }
        e.push_back(data_loss_words({r.hops.data() + i, n}, point_names) + ".");
        data_listed += n;
        i += n - 1;
    }
    if (r.data_lost > data_listed) {
        e.push_back(std::to_string(r.data_lost) +
                    " data packets in all missed a capture point they were expected at; the "
                    "first " +
                    std::to_string(data_listed) + " are listed.");
    }
    std::string rpc_text;
    std::vector<std::string> rpc_remedies;
    explain_rpc(r, rpc_text, rpc_remedies);
    if (!rpc_text.empty()) {
        if (rpc_text.back() == ' ') {
            rpc_text.pop_back();
        }
        e.push_back(rpc_text);
    }
    if (r.has(Verdict::Clean)) {
        e = {"Nothing wrong found for " + track::to_string(r.client) + " -> " +
             track::to_string(r.server) + "."};
    }
    if (r.flags_not_captured != 0) {
        e.push_back(flags_not_captured_words(r));
    }
    if (std::string unread = rpc_unread_words(r); !unread.empty()) {
        e.push_back(std::move(unread));
    }
    if (!r.has(Verdict::Clean)) {
        out.remedies = remedies(r, nat);
        refused_remedies(r, out.remedies);
        out.remedies.insert(out.remedies.end(), rpc_remedies.begin(), rpc_remedies.end());
    }
    for (const std::string& sentence : e) {
        out.text += (out.text.empty() ? "" : " ") + sentence;
    }
    return out;
}

bool double_snat_undetermined(const ConnectionReport& r) {
    constexpr std::uint8_t kLeasePrefix = 24;  // flannel's default per-node lease
    if (!r.has(Verdict::Clean) || !r.tunnelled ||
        !analyze::is_flannel_address(r.client, kLeasePrefix)) {
        return false;
    }
    bool blind = false;
    for (const analyze::EvidenceFrame& f : r.evidence) {
        const analyze::EvidenceNote& n = f.note;
        if (n.kind != analyze::EvidenceNote::Kind::Syn || !n.outer_known) {
            continue;
        }
        const verify::Status outer = sent_outer_status(n);
        if (outer != verify::Status::Partial && outer != verify::Status::Zero) {
            return false;  // a full outer checksum would show a rewrite (variant B)
        }
        blind = true;
    }
    return blind;
}

std::string undetermined_words() {
    return "Nothing wrong seen, but whether these connections were NATed twice cannot be told "
           "from here: the client is flannel.1's address (host-to-pod traffic, masqueraded or "
           "not), and their outer UDP checksums are partial or absent at this capture point, so "
           "an outer source-port rewrite inside the driver's range leaves no trace. What settles "
           "it: 'conntrack -L -p udp --dport 8472' on the client node (a reply port that differs "
           "from the original is the outer SNAT), or the packet counter of KUBE-POSTROUTING's "
           "MASQUERADE rule ('iptables -t nat -L KUBE-POSTROUTING -v -n').";
}

bool dropped_for_checksums(const ConnectionReport& r) {
    const SynChecksums sc = syn_checksums(r);
    return r.has(Verdict::SynDropped) && sc.bad != 0 && sc.bad == sc.known && sc.known == r.syns;
}

std::string inner_snat_words(const ConnectionReport& r) {
    return inner_snat_reason(r, true);
}

std::string inner_snat_reason(const ConnectionReport& r, bool name_port) {
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
                   "masquerading, so the inner packet was masqueraded too (" +
                   (name_port ? "port " + port : std::string("its port")) +
                   " looks ephemeral: the port alone could not show it)";
        case Kind::Rewritten:
            return rewritten_inner_words(r);
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
                   std::to_string(o.port) + "): NAT rewrote it" +
                   (o.confidence == analyze::Confidence::Medium
                        ? std::string(" (medium confidence: the port on the wire is inside the "
                                      "VXLAN range too, so only the checksum shows it)")
                        : std::string());
        case Kind::VariantA:
            if (o.pre_nat_src) {
                return "the outer UDP checksum " + hex16(o.stored) +
                       " is what NAT leaves when it rewrites the source address " +
                       track::ip_to_string(*o.pre_nat_src) +
                       " of a tunnel that sends no checksums (pre-5.7 kernels)";
            }
            return o.confidence == analyze::Confidence::Medium
                       ? "the outer UDP checksum 0xffff is what NAT leaves when it rewrites the "
                         "packet of a tunnel that sends no checksums (pre-5.7 kernels; medium "
                         "confidence: whether this tunnel sends checksums is not known yet)"
                       : "the outer UDP checksum 0xffff on a tunnel that sends no checksums is "
                         "what NAT leaves when it rewrites the packet (pre-5.7 kernels)";
        case Kind::Rewritten:
            return rewritten_outer_words(o);
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
            return "outer UDP checksum bad (stored " + hex16(n.stored) + ", expected " +
                   hex16(n.expected) + "), outer sport " + std::to_string(n.outer_sport);
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
    if (h.kind == analyze::Hop::Kind::DataNeverReached) {
        return std::string(h.from_client ? "Data to the server" : "Data to the client") + " (seq " +
               std::to_string(h.seq) + ", " + std::to_string(h.length) + " bytes, +" +
               fixed3(h.offset_s) + " s, " + point_name(points, h.first_point) + " frame " +
               std::to_string(h.frame) + "): seen at " + names_in(h.seen_order, points) +
               "; last seen at " + point_name(points, h.last_point) + ", never reached " +
               names_in(h.missing, points);
    }
    const std::string which =
        "SYN #" + std::to_string(h.syn_number) + " (+" + fixed3(h.offset_s) + " s)";
    if (h.kind == analyze::Hop::Kind::OuterPortRewritten) {
        return which + ": outer source port " + std::to_string(h.from_sport) + " at " +
               point_name(points, h.from_point) + " became " + std::to_string(h.to_sport) + " at " +
               point_name(points, h.to_point);
    }
    const auto names = [&](analyze::PointMask mask) { return names_in(mask, points); };
    if (h.kind == analyze::Hop::Kind::OrderUnknown) {
        std::string s = which + ": seen at " + names(h.seen);
        if (h.last_known && std::popcount(h.seen) > 1) {
            s += " (last at " + point_name(points, h.last_point) + ")";
        }
        s += "; no packet seen at two capture points shows which point comes after " +
             std::string(std::popcount(h.seen) > 1 ? "them" : "it") +
             " on the way to the server, so where it was lost is unknown";
        if (h.missing != 0) {
            s += " (" + names(h.missing) +
                 " carried other traffic to the server's node, at an unknown place on the path)";
        }
        return s;
    }
    return which + ": last seen at " + point_name(points, h.last_point) + ", never reached " +
           names(h.missing);
}

}  // namespace vxcheck::report

// The text report's answer: connections grouped by diagnosis (text_findings.h). A diagnosis's
// explanation is printed once: the sentences every kept member shares, then per connection the
// sentences only it has (explain.h builds both from the same typed facts).

#include "text_findings.h"

#include <algorithm>
#include <array>
#include <cstdio>

#include "explain_parts.h"
#include "text_layout.h"
#include "vxcheck/analyze/rules.h"
#include "vxcheck/report/explain.h"
#include "vxcheck/track/flow_key.h"

namespace vxcheck::report::text {
namespace {

using analyze::ConnectionReport;
using analyze::Outcome;
using analyze::Verdict;

constexpr std::size_t kMaxSources = 3;         // sources named per diagnosis
constexpr std::size_t kMaxGroups = 26;         // tags A-Z
constexpr std::size_t kMaxSourceCounts = 256;  // (source, service) pairs counted
constexpr std::size_t kMaxEvidenceLines = 8;   // evidence frames shown per diagnosis
constexpr char kUndeterminedTag = '?';

// The words of one verdict in a diagnosis ("" for those another verdict's words include).
std::string verdict_words(Verdict v, const DiagnosisKey& k) {
    const bool dbl =
        std::find(k.verdicts.begin(), k.verdicts.end(), Verdict::DoubleSnat) != k.verdicts.end();
    switch (v) {
        case Verdict::DoubleSnat:
            return "double-SNATed";
        case Verdict::OuterSnat:
            return dbl ? "" : "outer packets SNATed";
        case Verdict::InnerSnat:
            return dbl ? "" : "masqueraded";
        case Verdict::OuterChecksumCorrupted:
            return "outer checksum corrupted" +
                   (k.variant ? " (variant " + std::string(to_string(*k.variant)) + ")"
                              : std::string());
        case Verdict::DelayedConnect:
            return "connected only after SYN retransmissions";
        case Verdict::SynDropped:
            return "SYNs dropped silently";
        case Verdict::SynRejected:
            return k.icmp ? "SYN rejected by ICMP" : "SYN refused by RST (nothing listens)";
        case Verdict::NfsEndpointRefused:
            return "a hard mount reconnecting to a refusing NFS endpoint";
        case Verdict::RpcUnanswered:
            return "RPC calls unanswered";
        case Verdict::RpcRetransmitted:
            return "RPC calls sent again";
        case Verdict::RpcAcceptError:
            return "RPC calls failed (accept_stat)";
        case Verdict::RpcDenied:
            return "RPC calls denied";
        case Verdict::NfsClientidCollision:
            return "one NFSv4 client identity shared by several clients";
        case Verdict::NfsSessionChurn:
            return "NFSv4 sessions set up again and again";
        case Verdict::NfsReplyTooBig:
            return "NFS replies too big for the session";
        case Verdict::NfsRequestTooBig:
            return "NFS requests too big for the session";
        case Verdict::NfsReplyExceedsSessionLimit:
            return "NFS replies over the session's limit";
        case Verdict::Clean:
            return "";
    }
    return "";
}

std::string evidence_line(const analyze::EvidenceFrame& e, const std::vector<std::string>& points) {
    const std::string point = e.point < points.size() ? points[e.point] : std::to_string(e.point);
    return point + " frame " + std::to_string(e.frame) + ", " + utc_time(e.ts, 6) + ": " +
           evidence_note(e.note);
}

// A diagnosis line: broken after a "; " when it is too long, so no phrase is cut.
std::string title(const std::string& line) {
    if (line.size() <= kWidth) {
        return line + "\n";
    }
    const std::size_t cut = line.rfind("; ", kWidth - 1);
    if (cut == std::string::npos) {
        return wrap(line, "", "    ");
    }
    return line.substr(0, cut + 1) + "\n" + wrap(line.substr(cut + 2), "    ", "    ");
}

}  // namespace

DiagnosisKey diagnosis_of(const ConnectionReport& c) {
    DiagnosisKey k;
    if (double_snat_undetermined(c)) {
        k.undetermined = true;
        return k;
    }
    k.verdicts = c.verdicts;
    if (c.has(Verdict::OuterChecksumCorrupted) && !c.corrupted.empty()) {
        k.variant = c.corrupted.front().variant;
    }
    k.icmp = c.has(Verdict::SynRejected) &&
             (c.outcome == Outcome::RejectedIcmp || c.icmp_type.has_value());
    return k;
}

std::string diagnosis_words(const DiagnosisKey& k) {
    if (k.undetermined) {
        return "no finding, but double SNAT undetermined at this capture point";
    }
    // The NAT story first, then what it did to the connection, then the RPC and NFS findings.
    static constexpr std::array kOrder{Verdict::DoubleSnat,     Verdict::OuterSnat,
                                       Verdict::InnerSnat,      Verdict::OuterChecksumCorrupted,
                                       Verdict::SynDropped,     Verdict::SynRejected,
                                       Verdict::DelayedConnect, Verdict::NfsEndpointRefused};
    std::vector<Verdict> ordered;
    for (const Verdict v : kOrder) {
        if (std::find(k.verdicts.begin(), k.verdicts.end(), v) != k.verdicts.end()) {
            ordered.push_back(v);
        }
    }
    for (const Verdict v : k.verdicts) {
        if (std::find(kOrder.begin(), kOrder.end(), v) == kOrder.end()) {
            ordered.push_back(v);
        }
    }
    std::string out;
    for (const Verdict v : ordered) {
        const std::string w = verdict_words(v, k);
        if (!w.empty()) {
            out += (out.empty() ? "" : "; ") + w;
        }
    }
    return out.empty() ? "clean" : out;
}

std::string source_of(const ConnectionReport& c) {
    return c.tunnelled ? "node " + track::ip_to_string(c.outer_client)
                       : track::ip_to_string(c.client);
}

std::string service_of(const ConnectionReport& c) {
    const bool udp = c.transport == analyze::Transport::Udp;
    const std::uint16_t port = c.server.port;
    std::string s = port == 2049    ? "NFS"
                    : port == 111   ? "portmap"
                    : port == 20048 ? "mountd"
                                    : "port " + std::to_string(port);
    return udp ? s + "/udp" : s;
}

std::string delay_words(const ConnectionReport& c) {
    if (c.outcome == Outcome::NoSyn) {
        return "-";
    }
    if (c.outcome == Outcome::FlagsNotCaptured) {
        return "?";
    }
    if (c.outcome != Outcome::Established) {
        return "never";
    }
    if (!c.delay_s || *c.delay_s <= 0 || c.syns <= 1) {
        return "at once";
    }
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f s", *c.delay_s);
    return buf;
}

std::string outcome_words(const ConnectionReport& c) {
    if (c.transport == analyze::Transport::Udp) {
        return "UDP flow";
    }
    switch (c.outcome) {
        case Outcome::NoSyn:
            return "no SYN seen";
        case Outcome::Established:
            return "established";
        case Outcome::RejectedRst:
            return "refused (RST)";
        case Outcome::RejectedIcmp:
            return "refused (ICMP)";
        case Outcome::Dropped:
            return "dropped";
        case Outcome::Unanswered:
            return "no answer";
        case Outcome::FlagsNotCaptured:
            return "undecided";
    }
    return "";
}

Findings::Group& Findings::group_for(const ConnectionReport& c) {
    const DiagnosisKey key = diagnosis_of(c);
    for (Group& g : groups_) {
        if (g.key == key) {
            return g;
        }
    }
    Group& g = groups_.emplace_back();
    g.key = key;
    g.service = service_of(c);
    return g;
}

void Findings::add(const ConnectionReport& c, const std::vector<std::string>& points) {
    if (points_ != points) {
        points_ = points;  // the same list for every connection of a run: copied once
    }
    if (analyze::is_loopback_proxy(c.server)) {
        proxy_port_min_ =
            proxy_port_min_ == 0 ? c.server.port : std::min(proxy_port_min_, c.server.port);
        proxy_port_max_ = std::max(proxy_port_max_, c.server.port);
    }
    const bool finding = is_finding(c);
    const std::string source = source_of(c);
    const std::string service = service_of(c);
    const std::string pair = source + " " + service;
    if (const auto it = per_source_.find(pair); it != per_source_.end()) {
        ++it->second;
    } else if (per_source_.size() < kMaxSourceCounts) {
        per_source_.emplace(pair, 1);
    }
    const bool grouped = finding || double_snat_undetermined(c);
    char tag = '-';
    if (grouped && (groups_.size() < kMaxGroups ||
                    std::any_of(groups_.begin(), groups_.end(),
                                [&](const Group& g) { return g.key == diagnosis_of(c); }))) {
        Group& g = group_for(c);
        tag = tag_of(static_cast<std::size_t>(&g - groups_.data()));
        ++g.members;
        if (std::find(g.sources.begin(), g.sources.end(), source) == g.sources.end()) {
            if (g.sources.size() < kMaxSources) {
                g.sources.push_back(source);
            } else {
                ++g.more_sources;
            }
        }
        if (g.service != service) {
            g.service.clear();
        }
        // The remedies of the first member at least, so the headline has them at any --max-rows.
        if (kept_ < max_rows_ || g.members == 1) {
            for (std::string& r : explain(c, points).remedies) {
                if (std::find(g.remedies.begin(), g.remedies.end(), r) == g.remedies.end()) {
                    g.remedies.push_back(std::move(r));
                }
            }
        }
        if (kept_ < max_rows_) {
            ++kept_;
            g.kept.push_back(c);
        }
    } else if (grouped) {
        ++ungrouped_;
        tag = '+';
    }
    // Rows are kept only while they could still be shown: findings first, up to --max-rows, then
    // clean rows while there is room. Memory stays bounded whatever the number of connections.
    const std::size_t finding_rows = static_cast<std::size_t>(
        std::count_if(rows_.begin(), rows_.end(), [](const Row& r) { return r.tag != '-'; }));
    if (grouped ? finding_rows >= max_rows_ : rows_.size() >= max_rows_) {
        ++(finding ? findings_not_kept_ : rows_not_kept_);
        return;
    }
    rows_.push_back(Row{
        .tag = tag,
        .syn_time = c.outcome != Outcome::NoSyn && c.outcome != Outcome::FlagsNotCaptured,
        .start = utc_time(c.first_ts),
        .client = track::to_string(c.client),
        .server =
            track::to_string(c.server) + (c.transport == analyze::Transport::Udp ? "/udp" : ""),
        .syns = c.outcome == Outcome::FlagsNotCaptured ? std::string("?") : std::to_string(c.syns),
        .delay = delay_words(c),
        .outcome = outcome_words(c),
        .flags_snaplen = c.outcome == Outcome::FlagsNotCaptured ? c.flags_snaplen : 0});
}

// Diagnoses are lettered A, B, ... in the order they first appear; undetermined ones are '?'.
char Findings::tag_of(std::size_t index) const {
    if (groups_[index].key.undetermined) {
        return kUndeterminedTag;
    }
    const auto before = std::count_if(groups_.begin(), groups_.begin() + static_cast<long>(index),
                                      [](const Group& g) { return !g.key.undetermined; });
    return static_cast<char>('A' + before);
}

// "3 of 7 NFS connections from node 192.168.77.10".
std::string Findings::subject(const Group& g) const {
    std::uint64_t of = 0;
    bool known = !g.service.empty() && g.more_sources == 0;
    for (const std::string& s : g.sources) {
        const auto it = per_source_.find(s + " " + g.service);
        known = known && it != per_source_.end();
        of += it != per_source_.end() ? it->second : 0;
    }
    std::string what = g.service.empty()                  ? "connections"
                       : g.service.rfind("port ", 0) == 0 ? "connections to " + g.service
                                                          : g.service + " connections";
    if (g.members == 1 && (!known || of == 1) && what.back() == 's') {
        what.pop_back();
    }
    std::string out = std::to_string(g.members) + (known ? " of " + std::to_string(of) : "") + " " +
                      what + " from ";
    const bool nodes = g.sources.size() > 1 &&
                       std::all_of(g.sources.begin(), g.sources.end(),
                                   [](const std::string& s) { return s.rfind("node ", 0) == 0; });
    out += nodes ? "nodes " : "";
    for (std::size_t i = 0; i < g.sources.size(); ++i) {
        out += (i == 0 ? "" : ", ") + g.sources[i].substr(nodes ? 5 : 0);
    }
    if (g.more_sources != 0) {
        out += " and " + count(g.more_sources, "more", "more");
    }
    return out;
}

std::string Findings::watched(const ConnectionTotals& ct) const {
    if (ct.ports == "all") {
        return "all ports";
    }
    std::string w = "port " + ct.ports;
    // Given with --port, a proxy port is in the list (the default range is then not watched).
    const bool listed = std::any_of(ct.port_list.begin(), ct.port_list.end(), [&](auto p) {
        return p >= proxy_port_min_ && p <= proxy_port_max_;
    });
    if (proxy_port_min_ != 0 && !listed) {
        w += proxy_port_max_ == proxy_port_min_
                 ? " and loopback proxy port " + std::to_string(proxy_port_min_)
                 : " and loopback proxy ports " + std::to_string(proxy_port_min_) + "-" +
                       std::to_string(proxy_port_max_);
    }
    return w;
}

void Findings::headline(std::ostream& out, const ConnectionTotals& ct,
                        const std::string& scope) const {
    std::string first = count(ct.connections, "connection", "connections") + " on " + watched(ct) +
                        ", " + std::to_string(ct.with_findings) + " with findings";
    out << wrap(first + " (" + scope + ").", "", "  ");
    std::vector<std::pair<std::string, char>> said;  // remedies printed, and under which tag
    for (std::size_t i = 0; i < groups_.size(); ++i) {
        const Group& g = groups_[i];
        const char tag = tag_of(i);
        out << title(std::string("[") + tag + "] " + subject(g) + ": " + diagnosis_words(g.key));
        if (g.key.undetermined) {
            out << wrap(undetermined_words(), "    ", "    ");
        }
        for (const std::string& r : g.remedies) {
            const auto before =
                std::find_if(said.begin(), said.end(), [&](const auto& s) { return s.first == r; });
            if (before != said.end()) {
                // Said once already: its first clause, and where the rest is.
                out << wrap(
                    "- " + r.substr(0, r.find_first_of(":.")) + ": as for [" + before->second + "]",
                    "    ", "      ");
                continue;
            }
            said.emplace_back(r, tag);
            out << wrap("- " + r, "    ", "      ");
        }
    }
    if (ungrouped_ != 0) {
        out << "[+] " << count(ungrouped_, "connection", "connections")
            << " with other diagnoses: see --json\n";
    }
}

void Findings::details(std::ostream& out, const ConnectionTotals& ct) {
    print_table(out, ct);
    for (const Group& g : groups_) {
        if (!g.kept.empty() && !g.key.undetermined) {
            print_group(out, g);
        }
    }
}

void Findings::print_table(std::ostream& out, const ConnectionTotals& ct) {
    out << "connections (" << watched(ct) << "): " << ct.connections << " seen, "
        << ct.with_findings << " need attention\n";
    if (rows_.empty()) {
        print_more(out);
        return;
    }
    // Findings first (by diagnosis tag), then the rest, --max-rows in all.
    std::stable_sort(rows_.begin(), rows_.end(), [](const Row& a, const Row& b) {
        const auto rank = [](char t) {
            return t == '-' ? 3 : t == kUndeterminedTag ? 2 : t == '+' ? 1 : 0;
        };
        return rank(a.tag) != rank(b.tag) ? rank(a.tag) < rank(b.tag)
                                          : rank(a.tag) == 0 && a.tag < b.tag;
    });
    // Address columns as wide as the widest IPv4 row needs; a longer (IPv6) row puts its
    // server and the rest on a line of its own, so that no line passes kWidth.
    constexpr std::size_t kMaxAddress = 21;  // "255.255.255.255:65535"
    std::size_t wc = 6;
    std::size_t ws = 6;
    const auto fits = [&](const Row& r) {
        return r.client.size() <= kMaxAddress && r.server.size() <= kMaxAddress + 4;
    };
    for (const Row& r : rows_) {
        if (fits(r)) {
            wc = std::max(wc, r.client.size());
            ws = std::max(ws, r.server.size());
        }
    }
    out << "     " << pad("first SYN (UTC)", 25) << "  " << pad("client", wc) << "  "
        << pad("server", ws) << "  SYNs  delay    outcome\n";
    bool footnote = false;
    for (const Row& r : rows_) {
        footnote = footnote || !r.syn_time;
        const std::string head = "  " + std::string(1, r.tag) + "  " +
                                 pad(r.start + (r.syn_time ? " " : "*"), 25) + "  ";
        const std::string tail =
            "  " + rpad(r.syns, 4) + "  " + pad(r.delay, 7) + "  " + r.outcome + "\n";
        if (!fits(r)) {
            out << head << r.client << "\n" << pad("", head.size()) << "-> " << r.server << tail;
            continue;
        }
        out << head << pad(r.client, wc) << "  " << pad(r.server, ws) << tail;
    }
    print_more(out);
    if (footnote) {
        out << "  * no SYN in the capture: the time of the connection's first packet\n";
    }
    std::uint32_t snaplen = 0;
    for (const Row& r : rows_) {
        snaplen = std::max(snaplen, r.flags_snaplen);
    }
    if (snaplen != 0) {
        out << "  undecided: TCP flags not captured (snaplen " << snaplen
            << "): SYNs, answers and closes cannot be told\n";
    }
    const bool undetermined = std::any_of(rows_.begin(), rows_.end(),
                                          [](const Row& r) { return r.tag == kUndeterminedTag; });
    out << "  tags: the diagnoses in the headline; "
        << (undetermined ? "'?' undetermined (headline); " : "") << "'-' nothing found\n";
}

void Findings::print_more(std::ostream& out) const {
    const std::uint64_t more = rows_not_kept_ + findings_not_kept_;
    if (more != 0) {
        out << "  ... " << more << " more (" << findings_not_kept_
            << " of them need attention; --max-rows N shows more, --json all)\n";
    }
}

void Findings::print_group(std::ostream& out, const Group& g) const {
    out << "\n"
        << title(std::string("[") + tag_of(static_cast<std::size_t>(&g - groups_.data())) + "] " +
                 diagnosis_words(g.key) + ": " + count(g.members, "connection", "connections"));
    std::vector<Explanation> words;
    for (const ConnectionReport& c : g.kept) {
        words.push_back(explain(c, points_));
    }
    // The sentences every kept member has are the diagnosis; the rest are per connection.
    std::vector<std::string> common;
    for (const std::string& s : words.front().sentences) {
        if (std::all_of(words.begin(), words.end(), [&](const Explanation& w) {
                return std::find(w.sentences.begin(), w.sentences.end(), s) != w.sentences.end();
            })) {
            common.push_back(s);
        }
    }
    std::string happened;
    for (const std::string& s : common) {
        happened += (happened.empty() ? "" : " ") + s;
    }
    if (!happened.empty()) {
        out << wrap("What happened: " + happened, "  ", "    ");
    }
    for (std::size_t i = 0; i < g.kept.size(); ++i) {
        std::string own;
        for (const std::string& s : words[i].sentences) {
            if (std::find(common.begin(), common.end(), s) == common.end()) {
                own += (own.empty() ? "" : " ") + s;
            }
        }
        if (!own.empty()) {
            out << wrap(track::to_string(g.kept[i].client) + " -> " +
                            track::to_string(g.kept[i].server) + ": " + own,
                        "  ", "    ");
        }
    }
    for (const ConnectionReport& c : g.kept) {  // the NAT path, one line per hop
        if (c.path.empty()) {
            continue;
        }
        out << wrap("Path of " + track::to_string(c.client) + " -> " + track::to_string(c.server) +
                        ", in path order:",
                    "  ", "    ");
        for (const analyze::PathHop& h : c.path) {
            out << wrap(path_hop_line(h, points_), "    ", "      ");
        }
    }
    if (g.members > g.kept.size()) {
        out << "  (" << count(g.members - g.kept.size(), "more connection", "more connections")
            << " with this diagnosis: see --json)\n";
    }
    const ConnectionReport& first = g.kept.front();
    if (first.evidence.empty()) {
        return;
    }
    out << wrap("Evidence of " + track::to_string(first.client) + " -> " +
                    track::to_string(first.server) + " (" +
                    count(first.evidence.size(), "frame", "frames") +
                    "; --evidence FILE.pcapng keeps every connection's):",
                "  ", "    ");
    for (std::size_t n = 0; n < first.evidence.size(); ++n) {
        if (n == kMaxEvidenceLines) {
            out << "    ...\n";
            break;
        }
        out << wrap(evidence_line(first.evidence[n], points_), "    ", "      ");
    }
}

}  // namespace vxcheck::report::text

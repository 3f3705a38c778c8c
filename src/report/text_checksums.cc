// The checksum section of the text report (text_checksums.h for the rules).

#include "text_checksums.h"

#include <algorithm>
#include <cstdio>
#include <string_view>

#include "text_layout.h"
#include "vxcheck/report/format.h"
#include "vxcheck/track/flow_key.h"

namespace vxcheck::report::text {
namespace {

constexpr std::size_t kMaxIdentities = std::size_t{1} << 16;  // packets joined across points

// FNV-1a: a packet's identity (text_checksums.h) in 64 bits.
struct Fnv {
    std::uint64_t h = 0xcbf29ce484222325ULL;
    void add(std::uint64_t v) {
        for (int i = 0; i < 8; ++i) {
            h = (h ^ ((v >> (8 * i)) & 0xffU)) * 0x100000001b3ULL;
        }
    }
    void add(std::string_view s) {
        for (const char ch : s) {
            h = (h ^ static_cast<unsigned char>(ch)) * 0x100000001b3ULL;
        }
        add(s.size());
    }
};

std::string ull(std::uint64_t v) {
    return std::to_string(v);
}

}  // namespace

void Checksums::begin_file(const std::string& file, const std::string& link_type) {
    files_.push_back(File{.name = file, .link_type = link_type, .summary = {}});
}

void Checksums::packet(const PacketView& p) {
    if (!p.verdicts.any(verify::Status::Bad)) {
        return;  // the table lists bad checksums; anomalies are counted per file
    }
    const auto& pkt = p.packet;
    const auto layers = pkt.layers();
    int outer = -1;
    std::uint64_t ip_id = 0;
    std::uint64_t seq = 0;
    for (std::size_t i = 0; i < layers.size(); ++i) {
        if (layers[i].proto == decode::Proto::Ipv4 || layers[i].proto == decode::Proto::Ipv6) {
            outer = outer < 0 ? static_cast<int>(i) : outer;
            const auto* v4 = layers[i].as<decode::Ipv4Info>();
            ip_id = v4 != nullptr ? v4->id : 0;
        } else if (const auto* t = layers[i].as<decode::TcpInfo>()) {
            seq = t->seq;
        }
    }
    const std::string flow = endpoints(pkt, outer);
    Fnv id;
    id.add(flow);
    id.add(ip_id);
    id.add(seq);
    for (const verify::Verdict& v : p.verdicts.items()) {
        if (v.status == verify::Status::Bad) {
            id.add((std::uint64_t{v.stored} << 16) | (std::uint64_t{v.depth} << 8) |
                   static_cast<std::uint64_t>(v.check));
        }
    }
    // The capture point, by name: the files of a run may be read at once (merged by time), so
    // the file being read is not the point.
    Fnv at;
    at.add(p.point.empty() ? std::string_view(p.file) : p.point);
    const std::uint64_t point = at.h;
    if (const auto it = identities_.find(id.h); it != identities_.end()) {
        if (it->second != point) {
            ++seen_elsewhere_;
            return;  // the same packet at another capture point
        }
    } else if (identities_.size() < kMaxIdentities) {
        identities_.emplace(id.h, point);
    } else {
        join_full_ = true;
    }
    ++unique_bad_;
    const std::string source = flow.substr(0, flow.find(' '));
    for (const verify::Verdict& v : p.verdicts.items()) {
        if (v.status != verify::Status::Bad) {
            continue;
        }
        const std::string check = std::string(to_string(v.check)) + "@" + std::to_string(v.depth);
        const std::string expected = v.expected_known ? hex16(v.expected) : "?";
        const auto row = std::find_if(rows_.begin(), rows_.end(), [&](const Row& r) {
            return r.check == check && r.flow == flow && r.stored == v.stored &&
                   r.expected == expected;
        });
        if (row != rows_.end()) {
            ++row->packets;
        } else if (rows_.size() < max_rows_) {
            rows_.push_back(Row{.check = check,
                                .flow = flow,
                                .source = source,
                                .stored = v.stored,
                                .expected = expected,
                                .packets = 1});
        } else {
            ++rows_not_kept_;
        }
    }
}

void Checksums::end_file(const Summary& s) {
    if (!files_.empty()) {
        files_.back().summary = s;
    }
}

void Checksums::connection(const analyze::ConnectionReport& c) {
    for (const analyze::CorruptedOuter& k : c.corrupted) {
        pre_nat_.emplace(track::ip_to_string(c.outer_client) + ":" + std::to_string(k.sport),
                         k.pre_nat_sport ? std::to_string(*k.pre_nat_sport) : "none (A)");
    }
}

void Checksums::print(std::ostream& out, const Summary& total) const {
    out << "\nchecksums, per capture point:\n";
    for (const File& f : files_) {
        print_file(out, f);
    }
    print_rows(out);
    const auto partial = total.checksum_count(verify::Status::Partial);
    const auto unverified = total.checksum_count(verify::Status::Unverified);
    if (partial != 0) {
        out << wrap(ull(partial) +
                        " checksums are 'partial': the sender's NIC fills them in after the "
                        "capture point (TX checksum offload). Not an error.",
                    "", "  ");
    }
    if (unverified != 0) {
        out << wrap(ull(unverified) +
                        " checksums could not be verified (cut by snaplen, fragments, or "
                        "super-packets whose length is not on the wire).",
                    "", "  ");
    }
}

void Checksums::print_file(std::ostream& out, const File& f) const {
    const Summary& s = f.summary;
    out << f.name << "  (" << f.link_type << ")\n";
    std::string frames = "frames: " + ull(s.frames_read) + " read, " + ull(s.decoded) +
                         " decoded, " + ull(s.skipped_total()) + " skipped";
    if (s.skipped_total() != 0) {
        std::string parts;
        for (std::size_t r = 1; r < s.skipped.size(); ++r) {
            if (s.skipped[r] != 0) {
                parts += (parts.empty() ? "" : ", ") + ull(s.skipped[r]) + " " +
                         std::string(to_string(static_cast<decode::SkipReason>(r)));
            }
        }
        frames += " (" + parts + ")";
    }
    if (s.frames_filtered != 0) {
        frames += "; " + ull(s.frames_filtered) + " filtered out by the read filter";
    }
    if (s.frames_read != 0) {
        frames += ", " + utc_time(s.first_ts) + " to " + utc_time(s.last_ts);
    }
    out << wrap(frames, "  ", "    ");
    if (!s.read_error.empty()) {
        out << wrap("read error: " + s.read_error, "  ", "    ");
    }
    bool header = false;
    for (std::size_t c = 0; c < s.checksums.size(); ++c) {
        for (std::size_t d = 0; d < s.checksums[c].size(); ++d) {
            const auto& n = s.checksums[c][d];
            std::uint64_t sum = 0;
            for (const auto k : n) {
                sum += k;
            }
            if (sum == 0) {
                continue;
            }
            if (!header) {
                out << "  checksums   depth        ok       bad   partial      zero  unverified\n";
                header = true;
            }
            char buf[128];
            std::snprintf(buf, sizeof buf, "    %-8s %6zu %9s %9s %9s %9s %11s\n",
                          std::string(to_string(static_cast<verify::Check>(c))).c_str(), d,
                          ull(n[0]).c_str(), ull(n[1]).c_str(), ull(n[2]).c_str(),
                          ull(n[3]).c_str(), ull(n[4]).c_str());
            out << buf;
        }
    }
    if (!header) {
        out << "  checksums: none (no IPv4, TCP or UDP headers)\n";
    }
    std::string parts;
    for (std::size_t a = 0; a < s.anomalies.size(); ++a) {
        if (s.anomalies[a] != 0) {
            parts += (parts.empty() ? "" : ", ") +
                     std::string(to_string(static_cast<decode::Anomaly>(a))) + " " +
                     ull(s.anomalies[a]);
        }
    }
    if (!parts.empty()) {
        out << wrap("decode anomalies (" + ull(s.packets_with_anomalies) + " frames): " + parts,
                    "  ", "    ");
    }
    if (s.datagrams_reassembled != 0 || s.fragments_incomplete != 0) {
        out << "  IP fragments: " << ull(s.datagrams_reassembled)
            << " datagrams reassembled, fragments_incomplete " << ull(s.fragments_incomplete)
            << " (datagrams never completed)\n";
    }
}

void Checksums::print_rows(std::ostream& out) const {
    if (rows_.empty() && rows_not_kept_ == 0) {
        return;
    }
    std::string head = "bad checksums: " + std::to_string(unique_bad_) +
                       (unique_bad_ == 1 ? " packet" : " packets");
    if (seen_elsewhere_ != 0) {
        head += ", each counted once (" + std::to_string(seen_elsewhere_) +
                " seen again at another capture point: same outer flow, inner IP ID and TCP "
                "sequence number)";
    }
    if (join_full_) {
        head +=
            "; the join table filled up, so later packets seen at several points count "
            "once per point";
    }
    out << wrap(head + ". check@depth, 0 = outermost:", "", "  ");
    std::size_t wf = 10;
    for (const Row& r : rows_) {
        wf = std::max(wf, r.flow.size());
    }
    out << "  check  " << pad("outer flow", wf) << "  stored -> expected  pre-NAT port  packets\n";
    for (const Row& r : rows_) {
        const auto it = r.check == "udp@0" ? pre_nat_.find(r.source) : pre_nat_.end();
        out << "  " << pad(r.check, 5) << "  " << pad(r.flow, wf) << "  "
            << pad(hex16(r.stored) + " -> " + r.expected, 18) << "  "
            << rpad(it != pre_nat_.end() ? it->second : "-", 12) << "  "
            << rpad(std::to_string(r.packets), 7) << "\n";
    }
    if (rows_not_kept_ != 0) {
        out << "  ... " << rows_not_kept_
            << " more bad checksums (--max-rows N shows more, --json all)\n";
    }
}

}  // namespace vxcheck::report::text

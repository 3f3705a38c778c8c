// Tunnel context and NAT evidence: see nat_tracking.h; the rules are in rules.cc.

#include "nat_tracking.h"

#include <algorithm>
#include <array>
#include <tuple>
#include <vector>

#include "capture_join.h"

namespace vxcheck::analyze {
namespace {

// Each direction is encapsulated by its own VTEP, with its own source ports; the list is
// searched only when the port differs from the last one seen.
// A direction's first port is last_sport alone; the list in the cold part starts with a second
// one (make_cold() copies the first into it).
void note_sport(Flow& f, std::size_t dir, std::uint16_t sport) {
    if (f.sport_known[dir] && f.last_sport[dir] == sport) {
        return;
    }
    if (!f.sport_known[dir] && !has_cold(f)) {
        f.sport_known[dir] = true;
        f.last_sport[dir] = sport;
        return;
    }
    FlowCold& c = make_cold(f);  // before the port is known: a throw leaves it to the next one
    f.sport_known[dir] = true;
    f.last_sport[dir] = sport;
    auto& ports = c.sports[dir];
    auto& n = c.nsports[dir];
    if (std::find(ports.begin(), ports.begin() + n, sport) != ports.begin() + n) {
        return;
    }
    if (n < kMaxSports) {
        ports[n++] = sport;
    } else if (c.sports_cut[dir] != 0xFFFF) {
        ++c.sports_cut[dir];
    }
}

void note_bad_checksum(Flow& f, const Segment& s, const Observation& o,
                       const verify::Verdict& outer) {
    FlowCold& cold = make_cold(f);
    const bool seen =
        std::any_of(cold.candidates.begin(), cold.candidates.end(), [&](const Candidate& c) {
            return c.inner_ip_id == s.ip_id && c.inner_seq == s.t.seq && c.stored == outer.stored &&
                   c.point != o.ctx.point;
        });
    if (seen) {
        return;  // the same bad packet at another capture point (already evidence)
    }
    ++cold.candidates_total;
    mark_dirty(f, o, false);
    if (cold.candidates.size() < kMaxCandidates && room_in(f, cold.candidates, kMaxCandidates, o)) {
        cold.candidates.push_back(Candidate{.inner_ip_id = s.ip_id,
                                            .inner_seq = s.t.seq,
                                            .outer_src = s.outer_src,
                                            .outer_dst = s.outer_dst,
                                            .sport = s.outer_sport,
                                            .stored = outer.stored,
                                            .expected = outer.expected,
                                            .residual = outer.residual,
                                            .point = o.ctx.point,
                                            .frame = o.ctx.packet.frame().number,
                                            .ts = o.ts});
    }
    if ((s.t.flags & decode::tcp_flag::kSyn) == 0) {  // SYNs keep their own evidence note
        keep_evidence(f, o, note_for(EvidenceNote::Kind::BadOuterChecksum, s));
    }
}

}  // namespace

void on_outer(Flow& f, const Segment& s, const Observation& o, bool from_client,
              const ConnectionOptions& options) {
    const std::uint16_t sport = s.outer_sport;
    f.tunnelled = true;
    f.vni = s.vni;
    if (from_client) {
        // The VTEP pair: an IPv4 one is outer_pair itself (compared as IPv4 numbers: the outer
        // endpoints' other fields are all zero then), another one is kept in the cold part.
        const std::uint64_t pair =
            s.outer_src.v6 || s.outer_dst.v6
                ? 0
                : (std::uint64_t{s.outer_src.ipv4()} << 32) | s.outer_dst.ipv4();
        if (pair == 0) {  // not IPv4: kept in the cold part (outer_endpoints())
            FlowCold& c = make_cold(f);
            c.outer_client = s.outer_src;
            c.outer_server = s.outer_dst;
        }
        f.outer_pair = pair;
    }
    note_sport(f, from_client ? 0 : 1, sport);
    if ((sport < options.vxlan_sport_min || sport > options.vxlan_sport_max) &&
        !cold_of(f).out_of_range) {
        make_cold(f).out_of_range = sport;
        mark_dirty(f, o, false);
    }
    const verify::Verdict* outer = s.outer_checksum();
    if (outer != nullptr && outer->status == verify::Status::Bad && outer->expected_known) {
        note_bad_checksum(f, s, o, *outer);
    }
}

void decide_nat(const Flow& f, const VtepModes& modes, const ConnectionOptions& options,
                ConnectionReport& r) {
    const FlowCold& cold = cold_of(f);
    if (f.tunnelled) {
        r.tunnelled = true;
        std::tie(r.outer_client, r.outer_server) = outer_endpoints(f);
        r.vni = f.vni;
        std::array<std::vector<std::uint16_t>*, 2> lists{&r.outer_sports, &r.outer_sports_reply};
        for (std::size_t dir = 0; dir < 2; ++dir) {
            if (has_cold(f)) {
                lists[dir]->assign(cold.sports[dir].begin(),
                                   cold.sports[dir].begin() + cold.nsports[dir]);
                r.outer_sports_total[dir] = std::uint32_t{cold.nsports[dir]} + cold.sports_cut[dir];
            } else if (f.sport_known[dir]) {  // one port: note_sport()
                lists[dir]->assign(1, f.last_sport[dir]);
                r.outer_sports_total[dir] = 1;
            } else {
                lists[dir]->clear();
                r.outer_sports_total[dir] = 0;
            }
        }
    }
    r.outer_sport_out_of_range = cold.out_of_range;
    r.corrupted_total = 0;
    for (const Candidate& c : cold.candidates) {
        // A field that a zero-checksum sender's address explains exactly (one chance in 65,536
        // for a random one) is variant A before variant B's range test is tried (a random P_old
        // falls in the VXLAN range 43% of the time).
        const VtepMode mode = modes.mode_of(c.outer_src, c.outer_dst);
        std::optional<Corruption> k;
        if (mode != VtepMode::Full && c.stored != 0 && c.stored != 0xffff) {
            k = classify_rewritten_source(
                c.stored, c.outer_src,
                modes.zero_sources_to(c.outer_dst, rewritten_source_sum(c.stored, c.outer_src)));
        }
        if (!k) {
            k = classify_corruption(c.stored, c.residual, c.sport, mode, options);
        }
        if (!k) {
            continue;  // a bad checksum, but not the NAT fingerprint
        }
        ++r.corrupted_total;
        r.corrupted.push_back(CorruptedOuter{.variant = k->variant,
                                             .sport = c.sport,
                                             .pre_nat_sport = k->pre_nat_sport,
                                             .pre_nat_src = k->pre_nat_src,
                                             .confidence = k->confidence,
                                             .stored = c.stored,
                                             .expected = c.expected,
                                             .point = c.point,
                                             .frame = c.frame,
                                             .delivered_at = delivered_at(f, c)});
    }
    if (cold.candidates_total > cold.candidates.size() && !r.corrupted.empty()) {
        r.corrupted_total += cold.candidates_total - cold.candidates.size();
    }
    r.outer_snat = outer_snat(cold.out_of_range, r.corrupted, options);
    const std::optional<track::Endpoint> client =
        f.client_known ? std::optional(f.client()) : std::nullopt;
    r.inner_snat = inner_snat(client, r.outer_snat, options);
}

}  // namespace vxcheck::analyze

// The registry of refused connection attempts: see refused.h; the run rule is in rules.cc.

#include "refused.h"

#include <algorithm>

#include "flow.h"
#include "vxcheck/analyze/rules.h"

namespace vxcheck::analyze {

RefusedRegistry::Key RefusedRegistry::key_of(const track::Endpoint& client,
                                             const track::Endpoint& server) noexcept {
    Key k{.client_ip = client, .server = server};
    k.client_ip.port = 0;
    return k;
}

// Keeps the list in SYN time order (RSTs arrive in that order but for capture-point skew), at
// most kMaxRefusedPerGroup long.
void RefusedRegistry::insert(std::vector<Entry>& list, const Entry& e) {
    if (list.size() == kMaxRefusedPerGroup) {
        list.erase(list.begin());
    }
    const auto later = [](const Entry& a, const Entry& b) {
        return seconds_between(b.syn_ts, a.syn_ts) > 0;
    };
    list.insert(std::upper_bound(list.begin(), list.end(), e,
                                 [&](const Entry& a, const Entry& b) { return later(b, a); }),
                e);
}

bool RefusedRegistry::on_refused(const track::Endpoint& client, const track::Endpoint& server,
                                 std::uint32_t isn, Timestamp syn_ts, const track::FlowKey& key) {
    const Key k = key_of(client, server);
    auto it = groups_.find(k);
    if (it == groups_.end()) {
        if (groups_.size() >= kMaxRefusedGroups) {
            return false;
        }
        it = groups_.emplace(k, std::vector<Entry>{}).first;
    }
    insert(it->second,
           Entry{.isn = isn, .sport = client.port, .syn_ts = syn_ts, .refused = true, .key = key});
    return true;
}

void RefusedRegistry::on_accepted(const track::Endpoint& client, const track::Endpoint& server,
                                  std::uint32_t isn, Timestamp syn_ts) {
    if (groups_.empty()) {
        return;
    }
    const auto it = groups_.find(key_of(client, server));
    if (it != groups_.end()) {
        insert(
            it->second,
            Entry{.isn = isn, .sport = client.port, .syn_ts = syn_ts, .refused = false, .key = {}});
    }
}

void RefusedRegistry::note_program(const track::Endpoint& server, std::uint32_t program) {
    if (program != kNfsProgram || (last_noted_ && *last_noted_ == server)) {
        return;
    }
    if (nfs_servers_.size() < kMaxNfsServers) {
        nfs_servers_.insert(server);
    }
    last_noted_ = server;
}

bool RefusedRegistry::nfs_server(const track::Endpoint& server) const {
    return nfs_endpoint(server, nfs_servers_.contains(server)).has_value();
}

std::optional<RefusedEndpoint> RefusedRegistry::facts(const track::Endpoint& client,
                                                      const track::Endpoint& server,
                                                      std::uint32_t isn,
                                                      std::vector<track::FlowKey>* run_keys) const {
    const auto why = nfs_endpoint(server, nfs_servers_.contains(server));
    if (!why) {
        return std::nullopt;
    }
    const auto it = groups_.find(key_of(client, server));
    if (it == groups_.end()) {
        return std::nullopt;
    }
    const std::vector<Entry>& list = it->second;
    const auto self = std::find_if(list.begin(), list.end(), [&](const Entry& e) {
        return e.refused && e.isn == isn && e.sport == client.port;
    });
    if (self == list.end()) {
        return std::nullopt;
    }
    std::vector<ConnectAttempt> times;
    times.reserve(list.size());
    for (const Entry& e : list) {
        times.push_back(
            {.t_s = seconds_between(list.front().syn_ts, e.syn_ts), .refused = e.refused});
    }
    const auto i = static_cast<std::size_t>(self - list.begin());
    const RefusedRun run = refused_run(times, i, kMinRefusedGapS);
    if (run.count < kMinRefusedAttempts) {
        return std::nullopt;
    }
    RefusedEndpoint out{.why = *why,
                        .attempts = static_cast<unsigned>(run.count),
                        .number = static_cast<unsigned>(i - run.first + 1),
                        .gaps_s = {},
                        .sports = {}};
    for (std::size_t k = run.first; k < run.first + run.count; ++k) {
        out.sports.push_back(list[k].sport);
        if (run_keys != nullptr) {
            run_keys->push_back(list[k].key);
        }
        if (k > run.first) {
            out.gaps_s.push_back(times[k].t_s - times[k - 1].t_s);
        }
    }
    return out;
}

bool HeldReports::hold(std::uint64_t order, std::uint32_t isn, ConnectionReport&& r, bool refused) {
    if (held_.size() >= kMaxHeld) {
        return false;
    }
    held_.push_back(Held{.order = order, .isn = isn, .refused = refused, .report = std::move(r)});
    return true;
}

bool HeldReports::judge(const RefusedRegistry& registry, Held& h) {
    std::optional<RefusedEndpoint> facts = registry.facts(h.report.client, h.report.server, h.isn);
    if (!facts) {
        return false;
    }
    add_refused(h.report, std::move(*facts));
    return true;
}

std::vector<std::pair<std::uint64_t, ConnectionReport>> HeldReports::take_all(
    const RefusedRegistry& registry) {
    std::vector<std::pair<std::uint64_t, ConnectionReport>> out;
    out.reserve(held_.size());
    for (Held& h : held_) {
        if (h.refused) {
            judge(registry, h);
        }
        out.emplace_back(h.order, std::move(h.report));
    }
    held_.clear();
    return out;
}

void add_refused(ConnectionReport& r, RefusedEndpoint facts) {
    r.refused = std::move(facts);
    std::erase(r.verdicts, Verdict::Clean);
    const auto at =
        std::lower_bound(r.verdicts.begin(), r.verdicts.end(), Verdict::NfsEndpointRefused);
    if (at == r.verdicts.end() || *at != Verdict::NfsEndpointRefused) {
        r.verdicts.insert(at, Verdict::NfsEndpointRefused);
    }
}

}  // namespace vxcheck::analyze

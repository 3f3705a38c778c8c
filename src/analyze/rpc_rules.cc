#include "vxcheck/analyze/rpc_rules.h"

#include <algorithm>
#include <cstdio>

#include "flow.h"

namespace vxcheck::analyze::rpc_rules {

bool unanswered(bool answered_here, bool answered_later, double after_s, bool closed_after,
                double threshold_s) noexcept {
    if (answered_here || answered_later) {
        return false;
    }
    return closed_after || after_s >= threshold_s;
}

bool reply_too_big(std::uint32_t s) noexcept {
    return s == rpc::nfs4err::kRepTooBig || s == rpc::nfs4err::kRepTooBigToCache;
}

bool request_too_big(std::uint32_t s) noexcept {
    return s == rpc::nfs4err::kReqTooBig;
}

bool session_error(std::uint32_t s) noexcept {
    return s == rpc::nfs4err::kBadsession || s == rpc::nfs4err::kDeadsession ||
           s == rpc::nfs4err::kStaleClientid || s == rpc::nfs4err::kExpired;
}

std::uint32_t compound_failure(const rpc::CompoundReply& r) noexcept {
    if (r.result_count > 0 && r.results[r.result_count - 1].status != rpc::nfs4err::kOk) {
        return r.results[r.result_count - 1].status;
    }
    return r.status;
}

std::uint32_t reply_limit(const rpc::ChannelAttrs& fore, bool cachethis) noexcept {
    return cachethis ? fore.maxresponsesize_cached : fore.maxresponsesize;
}

namespace {

std::string hex(const rpc::Verifier4& v) {
    std::string out;
    char buf[3];
    for (const std::uint8_t b : v) {
        std::snprintf(buf, sizeof buf, "%02x", b);
        out += buf;
    }
    return out;
}

// Rule (b): after one IP's establishment, another IP that presented the owner earlier gets a
// session error. One pass over the events (time order): for an error to Y, the latest
// establishment by another presenting IP must come after Y's first presentation.
bool error_after_other_establishment(std::span<const OwnerEvent> presentations,
                                     std::span<const SessionEvent> events) {
    struct First {
        track::Endpoint client;
        Timestamp ts;
    };
    std::vector<First> first;  // each presenting IP's first presentation
    for (const OwnerEvent& p : presentations) {
        const auto it = std::find_if(first.begin(), first.end(),
                                     [&](const First& f) { return f.client == p.client; });
        if (it == first.end()) {
            first.push_back({p.client, p.ts});
        } else if (p.ts < it->ts) {
            it->ts = p.ts;
        }
    }
    const auto first_of = [&](const track::Endpoint& c) -> const First* {
        const auto it =
            std::find_if(first.begin(), first.end(), [&](const First& f) { return f.client == c; });
        return it == first.end() ? nullptr : &*it;
    };
    std::optional<SessionEvent> last;        // the latest establishment by a presenting IP
    std::optional<SessionEvent> last_other;  // the latest by an IP other than last's
    for (const SessionEvent& e : events) {
        if (first_of(e.client) == nullptr) {
            continue;
        }
        if (e.establishment) {
            if (last && !(last->client == e.client)) {
                last_other = last;
            }
            last = e;
            continue;
        }
        const std::optional<SessionEvent>& est =
            last && !(last->client == e.client) ? last : last_other;
        if (est && first_of(e.client)->ts < est->ts) {
            return true;
        }
    }
    return false;
}

}  // namespace

std::optional<RpcCollision> clientid_collision(std::string_view owner,
                                               std::span<const OwnerEvent> presentations,
                                               std::span<const SessionEvent> events,
                                               const RpcOptions& options) {
    RpcCollision c;
    std::vector<rpc::Verifier4> verifiers;
    const track::Endpoint* last = nullptr;
    for (const OwnerEvent& p : presentations) {
        if (std::find(c.clients.begin(), c.clients.end(), p.client) == c.clients.end()) {
            c.clients.push_back(p.client);
        }
        if (std::find(verifiers.begin(), verifiers.end(), p.verifier) == verifiers.end()) {
            verifiers.push_back(p.verifier);
        }
        if (last != nullptr && !(*last == p.client)) {
            ++c.switches;
        }
        last = &p.client;
    }
    if (c.clients.size() < 2 || verifiers.size() < 2) {
        return std::nullopt;
    }
    c.error_evidence = error_after_other_establishment(presentations, events);
    if (c.switches < options.collision_switches && !c.error_evidence) {
        return std::nullopt;
    }
    c.owner = printable(owner);
    for (const rpc::Verifier4& v : verifiers) {
        c.verifiers.push_back(hex(v));
    }
    return c;
}

RpcChurn session_churn(std::span<const SessionEvent> events, const RpcOptions& options) noexcept {
    RpcChurn c;
    bool error_pending = false;
    std::size_t window_start = 0;  // first event of the establishment window ending at i
    unsigned in_window = 0;        // establishments in events[window_start, i]
    for (std::size_t i = 0; i < events.size(); ++i) {
        const SessionEvent& e = events[i];
        if (!e.establishment) {
            ++c.errors;
            error_pending = true;
            continue;
        }
        ++c.establishments;
        if (error_pending) {
            ++c.cycles;
            error_pending = false;
        }
        ++in_window;
        while (seconds_between(events[window_start].ts, e.ts) >= options.churn_window_s) {
            in_window -= events[window_start].establishment ? 1U : 0U;
            ++window_start;
        }
        c.max_in_window = std::max(c.max_in_window, in_window);
    }
    return c;
}

bool churn_fires(const RpcChurn& c, const RpcOptions& options) noexcept {
    return c.max_in_window >= options.churn_establishments || c.cycles >= options.churn_cycles;
}

std::string printable(std::string_view bytes) {
    std::string out;
    char buf[5];
    for (const char ch : bytes) {
        const auto b = static_cast<unsigned char>(ch);
        if (b >= 0x20 && b < 0x7f && b != '\\') {
            out += ch;
        } else {
            std::snprintf(buf, sizeof buf, "\\x%02x", b);
            out += buf;
        }
    }
    return out;
}

}  // namespace vxcheck::analyze::rpc_rules

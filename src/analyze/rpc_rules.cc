#include "rpc_rules.h"

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

std::uint32_t reply_limit(const rpc::ChannelAttrs& fore, bool cachethis) noexcept {
    return cachethis ? fore.maxresponsesize_cached : fore.maxresponsesize;
}

namespace {

bool before(Timestamp a, Timestamp b) noexcept {
    return a.sec < b.sec || (a.sec == b.sec && a.nsec < b.nsec);
}

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
// session error.
bool error_after_other_establishment(std::span<const OwnerEvent> presentations,
                                     std::span<const SessionEvent> events) {
    for (const SessionEvent& est : events) {
        if (!est.establishment) {
            continue;
        }
        for (const SessionEvent& err : events) {
            if (err.establishment || err.client == est.client || before(err.ts, est.ts)) {
                continue;
            }
            const bool presented_before =
                std::any_of(presentations.begin(), presentations.end(), [&](const OwnerEvent& p) {
                    return p.client == err.client && before(p.ts, est.ts);
                });
            const bool est_presented =
                std::any_of(presentations.begin(), presentations.end(),
                            [&](const OwnerEvent& p) { return p.client == est.client; });
            if (presented_before && est_presented) {
                return true;
            }
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
        unsigned in_window = 0;
        for (std::size_t j = i; j < events.size(); ++j) {
            if (seconds_between(e.ts, events[j].ts) >= options.churn_window_s) {
                break;
            }
            in_window += events[j].establishment ? 1U : 0U;
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

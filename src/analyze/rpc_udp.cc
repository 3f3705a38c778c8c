// ONC RPC over UDP: the analyzer's DatagramPlugin side (the rules are in rpc_analyzer.h). One
// datagram is one message; a flow (client ip:port, server ip:port) is tracked from its first
// call of a known program, and decided as a TCP connection is (idle, evicted, at the end).

#include <algorithm>
#include <tuple>

#include "rpc_state.h"
#include "vxcheck/analyze/rules.h"
#include "vxcheck/rpc/mount.h"

namespace vxcheck::analyze {
namespace {

// The programs whose calls start a UDP flow (issue 19: portmap, NFS, MOUNT, NLM, NSM, NFS_ACL).
bool known_program(std::uint32_t prog) noexcept {
    switch (prog) {
        case rpc::kProgPortmap:
        case rpc::kProgNfs:
        case rpc::kProgMount:
        case rpc::kProgNlm:
        case rpc::kProgNsm:
        case rpc::kProgNfsAcl:
            return true;
        default:
            return false;
    }
}

// The programs whose UDP port a portmap reply teaches (the services an NFSv3 mount talks to).
bool learnable_program(std::uint32_t prog) noexcept {
    return prog == rpc::kProgMount || prog == rpc::kProgNfs || prog == rpc::kProgNlm ||
           prog == rpc::kProgNsm || prog == rpc::kProgNfsAcl;
}

std::uint32_t verdict_bits(const std::vector<Verdict>& verdicts) noexcept {
    std::uint32_t bits = 0;
    for (const Verdict v : verdicts) {
        if (v != Verdict::Clean) {
            bits |= 1U << static_cast<unsigned>(v);
        }
    }
    return bits;
}

void name_points(PointMask bits, const std::vector<std::string>& points, ConnectionReport& r) {
    for (std::uint16_t p = 0; p < std::min<std::size_t>(points.size(), kMaxPoints); ++p) {
        if ((bits & point_bit(p)) != 0) {
            r.points.push_back(points[p]);
        }
    }
}

}  // namespace

bool RpcAnalyzer::Impl::udp_rpc_port(std::uint16_t port) const noexcept {
    return port == kPortmapPort || port == kNfsPort ||
           ((learned_ports[port / 64] >> (port % 64)) & 1U) != 0;
}

bool RpcAnalyzer::Impl::on_datagram(const DatagramView& d) {
    const bool rpc_port = udp_rpc_port(d.src.port) || udp_rpc_port(d.dst.port);
    if (!rpc_port && !d.watched) {
        return false;
    }
    const track::FlowKey key = track::FlowKey::of(d.src, d.dst);
    auto it = udp_flows.find(key);
    bool created = false;
    if (it == udp_flows.end()) {
        rpc::Message m;
        if (rpc::parse_message(d.payload, m) != rpc::ParseResult::Ok) {
            udp.not_rpc += rpc_port ? 1 : 0;
            return false;
        }
        if (m.type != rpc::MsgType::Call || !known_program(m.call.prog)) {
            return false;  // a reply whose call is not in the capture, or another program
        }
        if (udp_flows.size() >= kMaxUdpFlows) {
            evict_udp();
        }
        if (!budget->take_within(sizeof(UdpFlow), kShareRpc)) {
            ++rpc_dropped;  // the state budget has no room for another flow
            return false;
        }
        try {
            it = udp_flows.try_emplace(key).first;
        } catch (...) {
            budget->give_back(sizeof(UdpFlow));
            throw;
        }
        UdpFlow& f = it->second;
        set_endpoints(f.conn, d.src, d.dst);
        f.conn.serial = d.order + 1;  // as a connection's (rpc_analyzer.cc)
        f.order = d.order;
        f.first = d.ts;
        ++udp.flows;
        created = true;
    }
    UdpFlow& f = it->second;
    ++udp.datagrams;
    rpc_state::later_of(capture_end, d.ts);
    ++f.packets;
    f.last = d.ts;
    f.points |= point_bit(d.point);
    const bool from_client = d.src == f.conn.client;
    if (d.tunnelled) {
        note_tunnel(f, d, from_client);
    }
    if (f.conn.shed || !rpc_state::feeds(f.conn.point[from_client ? 0 : 1], d.point)) {
        return created;  // shed, or a copy of a datagram read at the direction's first point
    }
    rpc::Record r = rpc::udp_record(d.payload, d.claimed_payload, d.ts, d.frame);
    r.seq = ++f.copies[from_client ? 0 : 1];
    on_record(f.conn, from_client, r);
    account(f.conn);
    return created;
}

// Decides and drops the least recently active eighth of the UDP flows, the oldest first (ties
// by first sight: nothing reported follows the map's order, which the flow hash's per-process
// key changes from run to run).
void RpcAnalyzer::Impl::evict_udp() {
    std::vector<std::tuple<Timestamp, std::uint64_t, track::FlowKey>> by_age;
    by_age.reserve(udp_flows.size());
    for (const auto& [key, f] : udp_flows) {
        by_age.emplace_back(f.last, f.order, key);
    }
    const std::size_t n = std::max<std::size_t>(1, by_age.size() / 8);
    const auto older = [](const auto& a, const auto& b) {
        return std::tie(std::get<0>(a), std::get<1>(a)) < std::tie(std::get<0>(b), std::get<1>(b));
    };
    const auto nth = by_age.begin() + static_cast<std::ptrdiff_t>(n - 1);
    std::nth_element(by_age.begin(), nth, by_age.end(), older);
    std::sort(by_age.begin(), nth + 1, older);
    for (std::size_t i = 0; i < n; ++i) {
        const auto it = udp_flows.find(std::get<2>(by_age[i]));
        udp_decided.emplace_back(it->second.points, decide_udp(it->second));
        release(it->second.conn, sizeof(UdpFlow));
        udp_flows.erase(it);
        ++udp.evicted;
    }
}

void RpcAnalyzer::Impl::note_tunnel(UdpFlow& f, const DatagramView& d, bool from_client) {
    if (!f.tunnelled) {
        f.tunnelled = true;
        f.outer_client = from_client ? d.outer_src : d.outer_dst;
        f.outer_server = from_client ? d.outer_dst : d.outer_src;
        f.vni = d.vni;
    }
    std::vector<std::uint16_t>& sports = f.outer_sports[from_client ? 0 : 1];
    if (sports.empty() || sports.back() != d.outer_sport) {
        if (sports.size() < kMaxSports) {
            sports.push_back(d.outer_sport);
        } else {
            ++f.sports_cut[from_client ? 0 : 1];
        }
    }
}

ConnectionReport RpcAnalyzer::Impl::decide_udp(UdpFlow& f) {
    ConnectionReport r;
    r.transport = Transport::Udp;
    r.client = f.conn.client;
    r.server = f.conn.server;
    r.packets = f.packets;
    r.first_ts = f.first;
    r.last_ts = f.last;
    r.tunnelled = f.tunnelled;
    r.outer_client = f.outer_client;
    r.outer_server = f.outer_server;
    r.vni = f.vni;
    r.outer_sports = f.outer_sports[0];
    r.outer_sports_reply = f.outer_sports[1];
    for (std::size_t dir = 0; dir < 2; ++dir) {
        r.outer_sports_total[dir] =
            static_cast<std::uint32_t>(f.outer_sports[dir].size()) + f.sports_cut[dir];
    }
    decide(f.conn, r);
    r.evidence_total = r.evidence.size();
    settle_verdicts(r.verdicts);
    return r;
}

// A portmap GETPORT (v2) or rpcbind GETADDR (v3, v4) call asking for a UDP service whose port
// is worth learning: its reply is awaited (the oldest query is dropped when the list is full).
void RpcAnalyzer::Impl::note_port_query(const Conn& c, const rpc::Message& m) {
    const rpc::CallHeader& h = m.call;
    bool wanted = false;
    if (h.vers == 2 && h.proc == rpc::kPmapProcGetport) {
        rpc::PmapMapping map;
        wanted = rpc::parse_pmap_getport_call(h.args, map) && map.prot == rpc::kIpprotoUdp &&
                 learnable_program(map.prog);
    } else if ((h.vers == 3 || h.vers == 4) && h.proc == rpc::kRpcbProcGetaddr) {
        rpc::RpcbArgs args;
        wanted = rpc::parse_rpcb_getaddr_call(h.args, args) &&
                 (args.netid == "udp" || args.netid == "udp6") && learnable_program(args.prog);
    }
    if (!wanted) {
        return;
    }
    if (port_queries.size() >= kMaxPortQueries) {
        port_queries.erase(port_queries.begin());
        ++bounds_hit;
    }
    port_queries.push_back({c.serial, m.xid});
}

// The reply to an awaited port query: its port joins the UDP ports looked at.
void RpcAnalyzer::Impl::learn_port(const Conn& c, const CallRec& call, const rpc::Message& m) {
    const auto q = std::find_if(port_queries.begin(), port_queries.end(), [&](const PortQuery& p) {
        return p.serial == c.serial && p.xid == m.xid;
    });
    if (q == port_queries.end()) {
        return;
    }
    port_queries.erase(q);
    std::optional<std::uint32_t> port;
    if (call.vers == 2) {
        port = rpc::parse_pmap_getport_reply(m.reply.results);
    } else if (const auto uaddr = rpc::parse_rpcb_getaddr_reply(m.reply.results)) {
        port = rpc::uaddr_port(*uaddr);
    }
    if (!port || *port == 0 || *port > 0xffff || udp_rpc_port(static_cast<std::uint16_t>(*port))) {
        return;
    }
    if (learned_count >= kMaxLearnedUdpPorts) {
        ++udp.ports_not_learned;
        return;
    }
    learned_ports[*port / 64] |= std::uint64_t{1} << (*port % 64);
    ++learned_count;
}

bool RpcAnalyzer::on_datagram(const DatagramView& d) noexcept {
    try {
        return impl_->on_datagram(d);
    } catch (...) {
        ++impl_->udp.alloc_failures;  // the datagram's flow or facts could not grow
        return false;
    }
}

void RpcAnalyzer::expire(Timestamp now, double idle_s) {
    Impl& im = *impl_;
    std::vector<std::pair<std::uint64_t, track::FlowKey>> idle;  // by first sight, not map order
    for (const auto& [key, f] : im.udp_flows) {
        if (seconds_between(f.last, now) > idle_s) {
            idle.emplace_back(f.order, key);
        }
    }
    std::sort(idle.begin(), idle.end(),
              [](const auto& a, const auto& b) { return a.first < b.first; });
    for (const auto& [order, key] : idle) {
        const auto it = im.udp_flows.find(key);
        im.udp_decided.emplace_back(it->second.points, im.decide_udp(it->second));
        im.release(it->second.conn, sizeof(Impl::UdpFlow));
        im.udp_flows.erase(it);
    }
}

void RpcAnalyzer::take_decided(const std::vector<std::string>& points,
                               std::vector<ConnectionReport>& out) {
    for (auto& [bits, r] : impl_->udp_decided) {
        name_points(bits, points, r);
        out.push_back(std::move(r));
    }
    impl_->udp_decided.clear();
}

void RpcAnalyzer::poll(Timestamp now, const std::vector<std::string>& points,
                       std::vector<ConnectionReport>& out) {
    std::vector<std::pair<std::uint64_t, ConnectionReport>> found;  // by first sight
    for (auto& [key, f] : impl_->udp_flows) {
        if (f.conn.findings.size() == f.findings_polled) {
            continue;
        }
        f.findings_polled = f.conn.findings.size();
        ConnectionReport r = impl_->decide_udp(f);
        const std::uint32_t bits = verdict_bits(r.verdicts);
        if ((bits & ~f.emitted) != 0) {
            f.emitted |= bits;
            r.decided_at = now;
            name_points(f.points, points, r);
            found.emplace_back(f.order, std::move(r));
        }
    }
    std::sort(found.begin(), found.end(),
              [](const auto& a, const auto& b) { return a.first < b.first; });
    for (auto& [order, r] : found) {
        out.push_back(std::move(r));
    }
}

void RpcAnalyzer::finish(const std::vector<std::string>& points,
                         std::vector<std::pair<std::uint64_t, ConnectionReport>>& out) {
    for (auto& [key, f] : impl_->udp_flows) {
        ConnectionReport r = impl_->decide_udp(f);
        name_points(f.points, points, r);
        out.emplace_back(f.order, std::move(r));
        impl_->release(f.conn, sizeof(Impl::UdpFlow));
    }
    impl_->udp_flows.clear();
}

void RpcAnalyzer::add_stats(ConnectionStats& s) const noexcept {
    const Impl::UdpCounters& u = impl_->udp;
    s.udp_datagrams += u.datagrams;
    s.udp_flows += u.flows;
    s.udp_evicted += u.evicted;
    s.udp_not_rpc += u.not_rpc;
    s.udp_ports_not_learned += u.ports_not_learned;
    s.alloc_failures += u.alloc_failures;
    s.rpc_connections_dropped += impl_->rpc_dropped;
    s.rpc_calls_forgotten +=
        impl_->bounds_hit + impl_->cross_calls.evicted() + impl_->answered.evicted();
}

}  // namespace vxcheck::analyze

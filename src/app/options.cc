#include "vxcheck/app/options.h"

#include <boost/program_options.hpp>
#include <sstream>

namespace vxcheck::app {
namespace po = boost::program_options;
namespace {

constexpr const char* kVersion = "vxcheck 0.1.0";

constexpr const char* kMainHelp =
    R"(vxcheck - verdicts on VXLAN/Flannel checksum, NAT and SYN problems from packet captures

Usage: vxcheck <command> [options] [args]

Commands:
  analyze FILE...   read tcpdump captures (pcap/pcapng), one or several capture points, and
                    say which connections were NATed twice, which SYNs died and why, and
                    which checksums are really wrong (and which only look wrong)

Run 'vxcheck <command> --help' for a command's options.

Exit status: 0 nothing wrong found, 1 findings (bad checksums or connections that need
attention), 2 usage or input error.
)";

constexpr const char* kAnalyzeUsage = R"(Usage: vxcheck analyze [options] FILE...

Reads pcap or pcapng captures ('-' reads standard input) taken on a Kubernetes node: on the
underlay (eth0), on flannel.1, or with 'tcpdump -i any'. Decodes Ethernet, Linux cooked (SLL,
SLL2), raw IP and BSD loopback; 802.1Q/802.1ad tags; IPv4 and IPv6 with extension headers;
VXLAN (UDP 8472 and 4789) and Geneve (UDP 6081), nested up to --max-tunnel-depth. Every IPv4
header, TCP and UDP checksum at every depth gets a verdict:
  ok          verifies (a VXLAN outer checksum computed by local checksum offload over an
              inner checksum the NIC fills in later also counts as ok)
  bad         does not verify; the expected value is reported
  partial     Linux CHECKSUM_PARTIAL: the sender's NIC fills it in after the capture point
  zero        UDP over IPv4 sent without a checksum (over IPv6 that is bad)
  unverified  cut by the snaplen, a fragment, or a super-packet whose length is not known

Then every TCP connection to the watched ports (default 2049, NFS) gets verdicts:
  syn_dropped, syn_rejected, delayed_connect, inner_snat, outer_snat, double_snat,
  outer_checksum_corrupted, or clean; each with its evidence and what to do. Several files are
  several capture points (e.g. node-a flannel.1, node-a eth0, node-b eth0): the same packets
  are joined across them to show where a dropped SYN was last seen.

Capture for it with a full snaplen, e.g.:
  tcpdump -i eth0 -s 0 -w node-a.pcap 'udp port 8472 or tcp port 2049'

Options)";

std::uint16_t to_port(unsigned value, const char* option) {
    if (value == 0 || value > 65535) {
        throw UsageError(std::string("--") + option + " " + std::to_string(value) +
                         ": not a UDP port (1-65535)");
    }
    return static_cast<std::uint16_t>(value);
}

std::pair<std::uint16_t, std::uint16_t> to_range(const std::string& text, const char* option) {
    unsigned lo = 0;
    unsigned hi = 0;
    char dash = 0;
    std::istringstream in(text);
    if (!(in >> lo >> dash >> hi) || dash != '-' || !in.eof() || lo == 0 || hi > 65535 || lo > hi) {
        throw UsageError(std::string("--") + option + " " + text +
                         ": expected MIN-MAX with 1 <= MIN <= MAX <= 65535");
    }
    return {static_cast<std::uint16_t>(lo), static_cast<std::uint16_t>(hi)};
}

Command parse_analyze(const std::vector<std::string>& args, bool stderr_is_tty) {
    po::options_description opts(kAnalyzeUsage);
    std::string packets = "bad";
    std::vector<unsigned> vxlan_ports;
    std::vector<unsigned> geneve_ports;
    unsigned depth = 4;
    std::size_t max_rows = 25;
    std::vector<unsigned> ports;
    std::size_t max_flows = 200000;
    unsigned idle_timeout = 900;
    std::string vxlan_range;
    std::string ephemeral_range;
    unsigned flannel_prefix = 24;
    std::string evidence;
    // clang-format off
    opts.add_options()
        ("help,h", "show this help")
        ("json", "write JSON Lines (one object per line, see README) instead of the text report")
        ("packets", po::value(&packets)->value_name("bad|all|none"),
            "which packets to list: 'bad' (bad checksum or decode anomaly; default), 'all', 'none'")
        ("vxlan-port", po::value(&vxlan_ports)->value_name("PORT")->composing(),
            "another UDP destination port carrying VXLAN (repeatable; 8472 and 4789 always are)")
        ("geneve-port", po::value(&geneve_ports)->value_name("PORT")->composing(),
            "another UDP destination port carrying Geneve (repeatable; 6081 always is)")
        ("max-tunnel-depth", po::value(&depth)->value_name("N"),
            "VXLAN/Geneve nesting decoded at most (1-6, default 4)")
        ("max-rows", po::value(&max_rows)->value_name("N"),
            "rows of the bad-checksum table per file in the text report (default 25)")
        ("port", po::value(&ports)->value_name("PORT")->composing(),
            "TCP server port whose connections get verdicts (repeatable; default 2049, NFS)")
        ("all-ports", "give verdicts on every TCP connection")
        ("max-flows", po::value(&max_flows)->value_name("N"),
            "connections tracked at once; the least recently active are decided early beyond "
            "that (default 200000)")
        ("idle-timeout", po::value(&idle_timeout)->value_name("SECONDS"),
            "a connection idle this long is decided and forgotten (default 900)")
        ("vxlan-sport-range", po::value(&vxlan_range)->value_name("MIN-MAX"),
            "outer source ports the VXLAN driver uses (default 32768-60998: "
            "ip_local_port_range, max exclusive); a port outside was NATed")
        ("ephemeral-range", po::value(&ephemeral_range)->value_name("MIN-MAX"),
            "clients' ip_local_port_range (default 32768-60999)")
        ("flannel-prefix", po::value(&flannel_prefix)->value_name("BITS"),
            "prefix length of a node's flannel lease (default 24): x.y.z.0 is flannel.1's "
            "address")
        ("evidence", po::value(&evidence)->value_name("FILE.pcapng"),
            "write the packets behind connection verdicts, each with a comment saying why")
        ("progress", "show progress on stderr (default when stderr is a terminal)")
        ("no-progress", "never show progress");
    // clang-format on
    po::options_description hidden;
    hidden.add_options()("file", po::value<std::vector<std::string>>(), "capture file");
    po::options_description all;
    all.add(opts).add(hidden);
    po::positional_options_description pos;
    pos.add("file", -1);

    po::variables_map vm;
    po::store(po::command_line_parser(args).options(all).positional(pos).run(), vm);
    po::notify(vm);
    if (vm.count("help") != 0) {
        std::ostringstream os;
        os << opts
           << "\nExit status: 0 nothing found, 1 bad checksums or connections that need "
              "attention, 2 usage or input error (the report still covers what could be "
              "read).\n";
        return ShowText{os.str()};
    }
    AnalyzeConfig cfg;
    if (vm.count("file") == 0) {
        throw UsageError("analyze: no capture file given (see 'vxcheck analyze --help')");
    }
    cfg.files = vm["file"].as<std::vector<std::string>>();
    cfg.json = vm.count("json") != 0;
    if (packets == "bad") {
        cfg.packets = PacketSelection::Bad;
    } else if (packets == "all") {
        cfg.packets = PacketSelection::All;
    } else if (packets == "none") {
        cfg.packets = PacketSelection::None;
    } else {
        throw UsageError("--packets " + packets + ": expected bad, all or none");
    }
    for (const unsigned p : vxlan_ports) {
        cfg.decode.vxlan_ports.push_back(to_port(p, "vxlan-port"));
    }
    for (const unsigned p : geneve_ports) {
        cfg.decode.geneve_ports.push_back(to_port(p, "geneve-port"));
    }
    if (depth < 1 || depth > 6) {
        throw UsageError("--max-tunnel-depth " + std::to_string(depth) + ": expected 1 to 6");
    }
    cfg.decode.max_tunnel_depth = static_cast<std::uint8_t>(depth);
    cfg.max_rows = max_rows;
    if (!ports.empty()) {
        cfg.connections.ports.clear();
        for (const unsigned p : ports) {
            cfg.connections.ports.push_back(to_port(p, "port"));
        }
    }
    cfg.connections.all_ports = vm.count("all-ports") != 0;
    if (max_flows == 0) {
        throw UsageError("--max-flows 0: must be at least 1");
    }
    cfg.connections.max_flows = max_flows;
    cfg.connections.idle_timeout_s = idle_timeout;
    if (!vxlan_range.empty()) {
        std::tie(cfg.connections.vxlan_sport_min, cfg.connections.vxlan_sport_max) =
            to_range(vxlan_range, "vxlan-sport-range");
    }
    if (!ephemeral_range.empty()) {
        std::tie(cfg.connections.ephemeral_min, cfg.connections.ephemeral_max) =
            to_range(ephemeral_range, "ephemeral-range");
    }
    if (flannel_prefix < 8 || flannel_prefix > 30) {
        throw UsageError("--flannel-prefix " + std::to_string(flannel_prefix) +
                         ": expected 8 to 30");
    }
    cfg.connections.flannel_prefix_len = static_cast<std::uint8_t>(flannel_prefix);
    cfg.evidence_path = evidence;
    cfg.progress = vm.count("no-progress") == 0 && (vm.count("progress") != 0 || stderr_is_tty);
    return cfg;
}

}  // namespace

Command parse_command_line(const std::vector<std::string>& args, bool stderr_is_tty) {
    if (args.empty()) {
        throw UsageError("no command given (try 'vxcheck --help')");
    }
    const std::string& cmd = args.front();
    if (cmd == "-h" || cmd == "--help" || cmd == "help") {
        return ShowText{kMainHelp};
    }
    if (cmd == "--version" || cmd == "-V") {
        return ShowText{std::string(kVersion) + "\n"};
    }
    const std::vector<std::string> rest(args.begin() + 1, args.end());
    try {
        if (cmd == "analyze") {
            return parse_analyze(rest, stderr_is_tty);
        }
    } catch (const po::error& e) {
        throw UsageError(cmd + ": " + e.what() + " (see 'vxcheck " + cmd + " --help')");
    }
    throw UsageError("unknown command '" + cmd + "' (commands: analyze; see 'vxcheck --help')");
}

}  // namespace vxcheck::app

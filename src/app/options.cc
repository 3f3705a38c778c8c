#include "vxcheck/app/options.h"

#include <algorithm>
#include <boost/program_options.hpp>
#include <optional>
#include <sstream>

#include "input_options.h"
#include "option_values.h"
#include "vxcheck/app/pipeline.h"

namespace vxcheck::app {
namespace po = boost::program_options;
namespace {

constexpr const char* kVersionHelp = "print the version (vxcheck, git describe, libpcap) and exit";

constexpr const char* kMainHelp =
    R"(vxcheck - verdicts on VXLAN/Flannel checksum, NAT and SYN problems from packet captures

Usage: vxcheck <command> [options] [args]

Commands:
  analyze FILE...   read tcpdump captures (pcap/pcapng), one or several capture points, and
                    say which connections were NATed twice, which SYNs died and why, and
                    which checksums are really wrong (and which only look wrong)

  capture -i IFACE  the same live, on one or more interfaces, with Prometheus metrics
  bench FILE        throughput of the whole analyze pipeline on a capture loaded in memory

Run 'vxcheck <command> --help' for a command's options, 'vxcheck --version' for the version
(vxcheck's, the git commit it was built from, libpcap's).

Exit status: 0 nothing wrong found, 1 findings (bad checksums or connections that need
attention), 2 usage or input error.
)";

constexpr const char* kAnalyzeUsage =
    R"(Usage: vxcheck analyze [options] [-r [NAME=]FILE]... [[NAME=]FILE...] [FILTER EXPRESSION]

Reads pcap or pcapng captures, also gzip-compressed ('-' reads standard input; a trailing
expression, or -f, is a tcpdump read filter) taken on a Kubernetes node: on the
underlay (eth0), on flannel.1, with 'tcpdump -i any' or 'tcpdump -i nflog:N'. Decodes
Ethernet, Linux cooked (SLL, SLL2), raw IP, BSD loopback and NFLOG; 802.1Q/802.1ad tags; IPv4
and IPv6 with extension headers; VXLAN (UDP 8472 and 4789), Geneve (UDP 6081), GRE (with
ERSPAN and PPTP), MPLS and IP-in-IP, nested up to --max-tunnel-depth. IPv4 and IPv6 fragments are reassembled (within --reassembly-memory): a
datagram's checksum is verified over all of it and reported on the frame that completed it.
Every IPv4 header, TCP and UDP checksum at every depth gets a verdict:
  ok          verifies (a VXLAN outer checksum computed by local checksum offload over an
              inner checksum the NIC fills in later also counts as ok)
  bad         does not verify; the expected value is reported
  partial     Linux CHECKSUM_PARTIAL: the sender's NIC fills it in after the capture point
  zero        UDP over IPv4 sent without a checksum (over IPv6 that is bad)
  unverified  cut by the snaplen, a fragment not reassembled, or a super-packet whose length
              is not known

Then every TCP connection to the watched ports (default 2049, NFS) gets verdicts:
  syn_dropped, syn_rejected, delayed_connect, inner_snat, outer_snat, double_snat,
  outer_checksum_corrupted; from the ONC RPC / NFS inside them rpc_unanswered,
  rpc_retransmitted, rpc_accept_error, rpc_denied, nfs_clientid_collision, nfs_session_churn,
  nfs_reply_too_big, nfs_request_too_big, nfs_reply_exceeds_session_limit,
  nfs_endpoint_refused; or clean; each with its evidence and what to do. Several files are
  several capture points (e.g. node-a flannel.1, node-a eth0, node-b eth0): the same packets
  are joined across them to show where a dropped SYN or a lost data packet was last seen, and
  with a point before NAT (an NFLOG tap) the connection as the client sent it and each NAT
  rewrite, proven. One file holds several points where it says where its frames were seen:
  each interface of a pcapng file that describes several (named by if_name), each interface
  index of a 'tcpdump -i any' capture ("ifindex N"), each NFLOG group of a
  'tcpdump -i nflog:N' capture ("nflog:N"). NAME=FILE names a file's point NAME (several
  points: NAME prefixes theirs); a word with '=' that is an existing file is that file.
  Frames are analysed in time order: several files are merged by time, and the frames of a
  pcapng file of several interfaces (dumpcap -i A -i B writes them as it reads each
  interface) are held up to one second of capture time to be put back in time order.

Capture for it with a full snaplen, e.g.:
  tcpdump -i eth0 -s 0 -w node-a.pcap 'udp port 8472 or tcp port 2049 or icmp'
Examples:
  vxcheck analyze node-a.pcap node-b.pcap.gz
  vxcheck analyze a-eth0=node-a/eth0.pcap b-eth0=node-b/eth0.pcap
  vxcheck analyze -r node-a.pcap 'tcp port 2049 or icmp'
  tcpdump -r big.pcap -w - 'host 10.244.1.5' | vxcheck analyze -

Options)";

// The most connections --max-flows tracks: more is a typo, not a plan (no node has the memory).
constexpr std::uint64_t kMaxFlowsLimit = 100'000'000;

// The most rows --max-rows shows: the text report keeps its rows until the end.
constexpr std::uint64_t kMaxRowsLimit = 1'000'000;

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

// What to look for, shared by analyze, capture and bench: decoding and connection options.
class AnalysisOptions {
  public:
    void add_to(po::options_description& opts) {
        // clang-format off
        opts.add_options()
            ("vxlan-port", po::value(&vxlan_ports_)->value_name("PORT")->composing(),
                "another UDP destination port carrying VXLAN (repeatable; 8472 and 4789 always are)")
            ("geneve-port", po::value(&geneve_ports_)->value_name("PORT")->composing(),
                "another UDP destination port carrying Geneve (repeatable; 6081 always is)")
            ("max-tunnel-depth", po::value(&depth_)->value_name("N"),
                "tunnels (VXLAN, Geneve, GRE, IP-in-IP) nested at most (1-6, default 4)")
            ("reassembly-memory", po::value(&reassembly_memory_)->value_name("BYTES"),
                "memory for IP fragments waiting for the rest of their datagram (K, M, G "
                "suffixes, up to 1G; default 4M; 0: no reassembly, fragments stay unverified); "
                "beyond it the oldest datagram is dropped, counted in fragments_incomplete")
            ("reassembly-timeout", po::value(&reassembly_timeout_)->value_name("SECONDS"),
                "a datagram not complete this long (capture time) after its first fragment is "
                "dropped, counted in fragments_incomplete (default 30, as Linux's ipfrag_time)")
            ("no-fast-path", po::bool_switch(&no_fast_path_),
                "decode every frame with the general decoder, including the plain TCP and "
                "TCP-in-VXLAN frames the fast path takes (same results, slower: for comparison)")
            ("port", po::value(&ports_)->value_name("PORT")->composing(),
                "TCP server port whose connections get verdicts (repeatable; default 2049, NFS, "
                "and 20049-21049 on loopback addresses, where efs-utils' local TLS proxy "
                "serves NFS mounts; giving --port replaces both)")
            ("all-ports", po::bool_switch(&all_ports_), "give verdicts on every TCP connection")
            ("max-flows", po::value(&max_flows_)->value_name("N"),
                "connections tracked at once; the least recently active are decided early beyond "
                "that (default 200000)")
            ("max-vtep-pairs", po::value(&max_vtep_pairs_)->value_name("N"),
                "VTEP pairs whose checksum mode is remembered; the least recently used is "
                "forgotten beyond that (default 65536)")
            ("evidence-budget", po::value(&evidence_budget_)->value_name("BYTES"),
                "memory for evidence frames, those of tracked connections and those kept for "
                "--evidence together (K, M, G suffixes; default 64M); frames beyond it are "
                "counted, not kept")
            ("state-budget", po::value(&state_budget_)->value_name("BYTES"),
                "memory for what connections hold beyond their fixed record: SYN history, bad "
                "checksums and sightings, and the ONC RPC analysis's state (K, M, G suffixes; "
                "default 128M); beyond it list entries are counted, not kept, and connections "
                "are not (or no longer) analysed for RPC, counted")
            ("idle-timeout", po::value(&idle_timeout_)->value_name("SECONDS"),
                "a connection idle this long is decided and forgotten (default 900)")
            ("vxlan-sport-range", po::value(&vxlan_range_)->value_name("MIN-MAX"),
                "outer source ports the VXLAN driver uses (default 32768-60998: "
                "ip_local_port_range, max exclusive); a port outside was NATed")
            ("ephemeral-range", po::value(&ephemeral_range_)->value_name("MIN-MAX"),
                "clients' ip_local_port_range (default 32768-60999)")
            ("flannel-prefix", po::value(&flannel_prefix_)->value_name("BITS"),
                "prefix length of a node's flannel lease (default 24): x.y.z.0 is flannel.1's "
                "address")
            ("no-rpc", po::bool_switch(&no_rpc_),
                "no ONC RPC / NFS analysis (no rpc facts, no rpc_* and nfs_* verdicts)")
            ("rpc-unanswered-after", po::value(&rpc_unanswered_after_)->value_name("SECONDS"),
                "a call with no reply is rpc_unanswered when the capture runs this long after it "
                "(default 5)");
        // clang-format on
    }

    void apply(decode::DecodeOptions& decode, analyze::ConnectionOptions& conn) const {
        for (const std::string& p : vxlan_ports_) {
            decode.vxlan_ports.push_back(to_port(p, "vxlan-port", "UDP"));
        }
        for (const std::string& p : geneve_ports_) {
            decode.geneve_ports.push_back(to_port(p, "geneve-port", "UDP"));
        }
        decode.max_tunnel_depth =
            static_cast<std::uint8_t>(to_count(depth_, "max-tunnel-depth", 1, 6));
        decode.fast_path = !no_fast_path_;
        decode.reassembly.memory_bytes = to_bytes(reassembly_memory_, "reassembly-memory");
        if (decode.reassembly.memory_bytes > std::size_t{1} << 30) {
            throw UsageError("--reassembly-memory " + reassembly_memory_ + ": at most 1G");
        }
        decode.reassemble = decode.reassembly.memory_bytes != 0;
        decode.reassembly.timeout_s = static_cast<std::uint32_t>(to_count(
            reassembly_timeout_, "reassembly-timeout", 1, static_cast<std::uint64_t>(kMaxSeconds)));
        if (!ports_.empty()) {
            conn.ports.clear();
            conn.loopback_proxy_ports = false;
            for (const std::string& p : ports_) {
                conn.ports.push_back(to_port(p, "port", "TCP"));
            }
        }
        conn.all_ports = all_ports_;
        conn.max_flows = to_count(max_flows_, "max-flows", 1, kMaxFlowsLimit);
        conn.idle_timeout_s = static_cast<std::uint32_t>(
            to_count(idle_timeout_, "idle-timeout", 1, static_cast<std::uint64_t>(kMaxSeconds)));
        conn.max_vtep_pairs = to_count(max_vtep_pairs_, "max-vtep-pairs", 1, kMaxFlowsLimit);
        conn.evidence_budget_bytes = to_bytes(evidence_budget_, "evidence-budget");
        conn.state_budget_bytes = to_bytes(state_budget_, "state-budget");
        if (!vxlan_range_.empty()) {
            std::tie(conn.vxlan_sport_min, conn.vxlan_sport_max) =
                to_range(vxlan_range_, "vxlan-sport-range");
        }
        if (!ephemeral_range_.empty()) {
            std::tie(conn.ephemeral_min, conn.ephemeral_max) =
                to_range(ephemeral_range_, "ephemeral-range");
        }
        conn.flannel_prefix_len =
            static_cast<std::uint8_t>(to_count(flannel_prefix_, "flannel-prefix", 8, 30));
        conn.rpc = !no_rpc_;
        conn.rpc_unanswered_after_s =
            to_seconds(rpc_unanswered_after_, "rpc-unanswered-after", false);
    }

  private:
    std::vector<std::string> vxlan_ports_;
    std::vector<std::string> geneve_ports_;
    std::string depth_ = "4";
    bool no_fast_path_ = false;
    std::string reassembly_memory_ = "4M";
    std::string reassembly_timeout_ = "30";
    bool no_rpc_ = false;
    std::string rpc_unanswered_after_ = "5";
    std::vector<std::string> ports_;
    bool all_ports_ = false;
    std::string max_flows_ = "200000";
    std::string idle_timeout_ = "900";
    std::string max_vtep_pairs_ = "65536";
    std::string evidence_budget_ = "64M";
    std::string state_budget_ = "128M";
    std::string vxlan_range_;
    std::string ephemeral_range_;
    std::string flannel_prefix_ = "24";
};

PacketSelection to_selection(const std::string& packets) {
    if (packets == "bad") {
        return PacketSelection::Bad;
    }
    if (packets == "all") {
        return PacketSelection::All;
    }
    if (packets == "none") {
        return PacketSelection::None;
    }
    throw UsageError("--packets " + packets + ": expected bad, all or none");
}

unsigned to_threads(const std::string& threads) {
    return static_cast<unsigned>(to_count(threads, "threads", 1, 64));
}

constexpr const char* kFileModeHelp =
    "permission bits of the files written (default 0600: the owner only; umask not applied). "
    "A file is always created new: one of the same name is replaced, never written into; a "
    "symlink there, an input or standard output's file is refused";

po::variables_map parse(const std::vector<std::string>& args, const po::options_description& opts,
                        const char* positional) {
    po::options_description all;
    all.add(opts);
    po::options_description hidden;
    po::positional_options_description pos;
    if (positional != nullptr) {
        hidden.add_options()(positional, po::value<std::vector<std::string>>(), "");
        all.add(hidden);
        pos.add(positional, -1);
    }
    po::variables_map vm;
    po::store(po::command_line_parser(args).options(all).positional(pos).run(), vm);
    po::notify(vm);
    return vm;
}

ShowText help_text(const po::options_description& opts, const char* epilogue) {
    std::ostringstream os;
    os << opts << "\n" << epilogue;
    return ShowText{os.str()};
}

constexpr const char* kExitStatus =
    "Exit status: 0 nothing found, 1 bad checksums or connections that need attention, 2 usage "
    "or input error (the report still covers what could be read).\n";

Command parse_analyze(const std::vector<std::string>& args, bool stderr_is_tty) {
    po::options_description opts(kAnalyzeUsage);
    AnalysisOptions analysis;
    std::string packets = "bad";
    std::string max_rows = "25";
    std::string evidence;
    std::string file_mode = "0600";
    std::string threads = "1";
    std::string filter;
    std::string count = "0";
    // clang-format off
    opts.add_options()
        ("help,h", "show this help")
        ("version,V", kVersionHelp)
        ("read,r", po::value<std::vector<std::string>>()->value_name("FILE")->composing(),
            "capture file to read, as tcpdump -r (repeatable; beside the files after the "
            "options; '-' reads standard input)")
        ("filter,f", po::value(&filter)->value_name("EXPR"),
            "read filter (tcpdump syntax, compiled by libpcap for each file's link type): frames "
            "it rejects are counted as filtered out, not analysed; an expression after the files "
            "does the same")
        ("count,c", po::value(&count)->value_name("N"),
            "stop after N frames, over all files (those the filter passes; default 0: no limit)")
        ("json", "write JSON Lines (one object per line, see README) instead of the text report")
        ("brief", "text report: the headline alone (connections, diagnoses, what to do)")
        ("packets", po::value(&packets)->value_name("bad|all|none"),
            "which packets to list: 'bad' (bad checksum or decode anomaly; default), 'all', 'none'")
        ("max-rows", po::value(&max_rows)->value_name("N"),
            "rows of the bad-checksum and connection tables in the text report (default 25)")
        ("evidence", po::value(&evidence)->value_name("FILE.pcapng"),
            "write the packets behind connection verdicts, each with a comment saying why")
        ("file-mode", po::value(&file_mode)->value_name("OCTAL"), kFileModeHelp)
        ("threads", po::value(&threads)->value_name("N"),
            "threads: all decode and verify frames in batches, one analyses connections in "
            "capture order (default 1; the output is the same)")
        ("progress", "show progress on stderr (default when stderr is a terminal)")
        ("no-progress", "never show progress");
    // clang-format on
    analysis.add_to(opts);
    const po::variables_map vm = parse(args, opts, "file");
    if (vm.count("help") != 0) {
        return help_text(opts, kExitStatus);
    }
    if (vm.count("version") != 0) {
        return ShowText{version_text()};
    }
    AnalyzeConfig cfg;
    set_inputs(
        InputWords{
            .read = vm.count("read") != 0 ? vm["read"].as<std::vector<std::string>>()
                                          : std::vector<std::string>{},
            .positional = vm.count("file") != 0 ? vm["file"].as<std::vector<std::string>>()
                                                : std::vector<std::string>{},
            .filter = vm.count("filter") != 0 ? std::optional<std::string>(filter) : std::nullopt,
            .count = count},
        cfg);
    if (cfg.files.empty()) {
        throw UsageError("analyze: no capture file given (see 'vxcheck analyze --help')");
    }
    cfg.json = vm.count("json") != 0;
    cfg.brief = vm.count("brief") != 0;
    cfg.packets = to_selection(packets);
    analysis.apply(cfg.decode, cfg.connections);
    cfg.connections.several_points = cfg.files.size() > 1;
    cfg.max_rows = to_count(max_rows, "max-rows", 0, kMaxRowsLimit);
    cfg.evidence_path = evidence;
    cfg.file_mode = to_file_mode(file_mode);
    cfg.threads = to_threads(threads);
    cfg.progress = vm.count("no-progress") == 0 && (vm.count("progress") != 0 || stderr_is_tty);
    return cfg;
}

constexpr const char* kCaptureUsage = R"(Usage: vxcheck capture -i IFACE [-i IFACE...] [options]

Captures live (e.g. on flannel.1 and eth0 of a node) and prints each connection's verdict the
moment it is decided: a SYN-ACK after retransmissions, a RST or ICMP rejection, a NAT-corrupted
outer checksum, or retransmitted SYNs left unanswered. A status line goes to stderr every few
seconds. Ctrl-C (SIGINT) or SIGTERM stops it and prints the full report, as 'analyze' would.
Needs root or CAP_NET_RAW. The kernel's own "checksum not filled in yet" flag
(TP_STATUS_CSUMNOTREADY) is used where a heuristic would otherwise be needed.
SIGHUP and SIGPIPE end it as SIGTERM does; frames still queued then are read for a moment, and
those left are counted in the report.

Privileges: once the packet sockets and the metrics listener are open, vxcheck drops every
capability (CAP_NET_RAW included: an interface that goes down is bound again on the socket
already open, which needs none) and sets no_new_privs; with -Z USER it also becomes USER.
--evidence is written at the end, with what is left: a directory USER can write.

Examples:
  vxcheck capture -i flannel.1 -i eth0
  vxcheck capture -i eth0 --json --metrics-listen 0.0.0.0:9474 --write /tmp/node.pcapng

Options)";

Command parse_capture(const std::vector<std::string>& args) {
    po::options_description opts(kCaptureUsage);
    AnalysisOptions analysis;
    std::vector<std::string> interfaces;
    std::string filter;
    std::string duration = "0";
    std::string count = "0";
    std::string write;
    std::string metrics;
    std::string evidence;
    std::string file_mode = "0600";
    std::string buffer_mb = "32";
    std::string snaplen = "262144";
    std::string status = "5";
    std::string packets = "none";
    std::string max_rows = "25";
    std::string run_as;
    std::string give_up = "0";
    // clang-format off
    opts.add_options()
        ("help,h", "show this help")
        ("version,V", kVersionHelp)
        ("interface,i", po::value(&interfaces)->value_name("IFACE")->composing(),
            "interface to capture on (repeatable); 'any': every interface at once, as "
            "tcpdump -i any (Linux cooked v2 headers: SLL2); 'default-route': the interface "
            "of the default route, the node's underlay. Frames of several interfaces are "
            "held up to 20 ms and analysed in time order")
        ("filter,f", po::value(&filter)->value_name("BPF"),
            "capture filter (tcpdump syntax; default: the watched TCP ports, the VXLAN/Geneve "
            "ports and ICMP)")
        ("duration", po::value(&duration)->value_name("SECONDS"),
            "stop after this long (default 0: until SIGINT or SIGTERM)")
        ("count,c", po::value(&count)->value_name("N"), "stop after N frames (default 0: no limit)")
        ("write,w", po::value(&write)->value_name("FILE.pcapng"),
            "also keep the raw capture (one pcapng interface per -i); '-' writes it to standard "
            "output, and the report then goes to standard error, as tcpdump -w - does")
        ("metrics-listen", po::value(&metrics)->value_name("ADDR:PORT"),
            "serve Prometheus metrics on http://ADDR:PORT/metrics")
        ("evidence", po::value(&evidence)->value_name("FILE.pcapng"),
            "at the end, write the packets behind connection verdicts with comments")
        ("file-mode", po::value(&file_mode)->value_name("OCTAL"), kFileModeHelp)
        ("json", "JSON Lines: 'verdict' lines live, then the report as 'analyze --json'; the "
            "status and log lines on stderr are JSON objects too ('status', 'log')")
        ("packets", po::value(&packets)->value_name("bad|all|none"),
            "with --json, also list packets: 'bad', 'all' or 'none' (default)")
        ("buffer-size", po::value(&buffer_mb)->value_name("MiB"),
            "kernel buffer (default 32; at most 1023, the kernel's limit)")
        ("snaplen", po::value(&snaplen)->value_name("BYTES"), "bytes kept per frame (default 262144)")
        ("status-interval", po::value(&status)->value_name("SECONDS"),
            "status on stderr every SECONDS (default 5; 0 = never)")
        ("max-rows", po::value(&max_rows)->value_name("N"), "rows of the final text tables")
        ("relinquish-privileges,Z", po::value(&run_as)->value_name("USER"),
            "become USER once the sockets are open (as tcpdump -Z; e.g. nobody); refused if "
            "there is no such user")
        ("give-up-after", po::value(&give_up)->value_name("SECONDS"),
            "end the capture (exit 2, with the report) when an interface stays down this long "
            "(default 0: wait for it forever)");
    // clang-format on
    analysis.add_to(opts);
    const po::variables_map vm = parse(args, opts, nullptr);
    if (vm.count("help") != 0) {
        return help_text(opts,
                         "Exit status: 0 nothing found, 1 findings, 2 usage error or a capture "
                         "that could not start.\n");
    }
    if (vm.count("version") != 0) {
        return ShowText{version_text()};
    }
    if (interfaces.empty()) {
        throw UsageError("capture: no interface given (-i IFACE; see 'vxcheck capture --help')");
    }
    CaptureConfig cfg;
    for (const std::string& name : interfaces) {
        if (std::find(cfg.interfaces.begin(), cfg.interfaces.end(), name) != cfg.interfaces.end()) {
            throw UsageError(option_text("i", name) + ": interface given twice");
        }
        cfg.interfaces.push_back(name);
    }
    analysis.apply(cfg.decode, cfg.connections);
    cfg.filter = vm.count("filter") != 0 ? filter : default_capture_filter(cfg);
    cfg.duration_s = to_seconds(duration, "duration", true);
    cfg.count = to_count(count, "count", 0, UINT64_MAX);
    cfg.write_path = write;
    cfg.metrics_listen = metrics;
    cfg.evidence_path = evidence;
    cfg.file_mode = to_file_mode(file_mode);
    cfg.buffer_bytes = to_buffer_bytes(buffer_mb);
    cfg.snaplen = static_cast<std::uint32_t>(to_count(snaplen, "snaplen", 64, 262144));
    cfg.status_interval_s = to_seconds(status, "status-interval", true);
    cfg.json = vm.count("json") != 0;
    cfg.packets = to_selection(packets);
    cfg.max_rows = to_count(max_rows, "max-rows", 0, kMaxRowsLimit);
    cfg.run_as = run_as;
    cfg.give_up_after_s = to_seconds(give_up, "give-up-after", true);
    return cfg;
}

constexpr const char* kBenchUsage = R"(Usage: vxcheck bench [options] FILE

Loads the capture into memory and runs the whole analyze pipeline on it (decode, checksums at
every layer, connection tracking and verdicts) --repeat times, then prints packets/s, Gbit/s of
captured bytes, ns per packet, the cost of each stage and the peak RSS.

Options)";

Command parse_bench(const std::vector<std::string>& args) {
    po::options_description opts(kBenchUsage);
    AnalysisOptions analysis;
    std::string repeat = "3";
    std::string threads = "1";
    // clang-format off
    opts.add_options()
        ("help,h", "show this help")
        ("version,V", kVersionHelp)
        ("json", "print the result as one JSON object")
        ("repeat", po::value(&repeat)->value_name("N"), "runs over the loaded capture (default 3)")
        ("threads", po::value(&threads)->value_name("N"),
            "threads, as for analyze --threads (default 1)");
    // clang-format on
    analysis.add_to(opts);
    const po::variables_map vm = parse(args, opts, "file");
    if (vm.count("help") != 0) {
        return help_text(opts, "Exit status: 0 done, 2 usage or input error.\n");
    }
    if (vm.count("version") != 0) {
        return ShowText{version_text()};
    }
    const auto files = vm.count("file") != 0 ? vm["file"].as<std::vector<std::string>>()
                                             : std::vector<std::string>{};
    if (files.size() != 1) {
        throw UsageError("bench: expected exactly one capture file (see 'vxcheck bench --help')");
    }
    BenchConfig cfg;
    cfg.file = files.front();
    cfg.repeat = static_cast<unsigned>(to_count(repeat, "repeat", 1, 1000));
    cfg.threads = to_threads(threads);
    cfg.json = vm.count("json") != 0;
    analysis.apply(cfg.decode, cfg.connections);
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
        return ShowText{version_text()};
    }
    const std::vector<std::string> rest(args.begin() + 1, args.end());
    try {
        if (cmd == "analyze") {
            return parse_analyze(rest, stderr_is_tty);
        }
        if (cmd == "capture") {
            return parse_capture(rest);
        }
        if (cmd == "bench") {
            return parse_bench(rest);
        }
    } catch (const po::error& e) {
        throw UsageError(cmd + ": " + e.what() + " (see 'vxcheck " + cmd + " --help')");
    }
    throw UsageError("unknown command '" + cmd +
                     "' (commands: analyze, capture, bench; see 'vxcheck --help')");
}

}  // namespace vxcheck::app

// The NFS captures of the shared corpus (tcpdump's test files, some of them crafted to break
// dissectors) go through the record stream and every parser without a crash or a read outside
// the input (under ASan). Skipped when the corpus is not there.

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <map>
#include <string>
#include <tuple>

#include "source_dir.h"
#include "vxcheck/capture/source.h"
#include "vxcheck/decode/decode.h"
#include "vxcheck/rpc/message.h"
#include "vxcheck/rpc/nfs.h"
#include "vxcheck/rpc/record_stream.h"

namespace vxcheck::rpc {
namespace {

using namespace vxcheck::decode;

class ParseAll : public RecordSink {
  public:
    void on_record(const Record& r) noexcept override {
        ++records;
        Message m;
        if (parse_message(r.xdr(), m) != ParseResult::Ok) {
            ++failed;
            return;
        }
        ++parsed;
        if (m.type == MsgType::Call && m.call.prog == kProgNfs && m.call.vers == 4) {
            CompoundCall c;
            (void)parse_compound_call(m.call.args, c);
        } else if (m.type == MsgType::Reply) {
            CompoundReply c;
            (void)parse_compound_reply(m.reply.results, c);
            (void)nfs3_reply_status(1, m.reply.results);
        }
    }
    int records = 0;
    int parsed = 0;
    int failed = 0;
};

// One direction of a TCP connection: addresses as bytes of the IP layer, ports.
using Key = std::tuple<std::string, std::uint16_t, std::uint16_t>;

std::string addresses(const Layer& ip) {
    if (const auto* v4 = ip.as<Ipv4Info>()) {
        return std::to_string(v4->src) + ">" + std::to_string(v4->dst);
    }
    if (const auto* v6 = ip.as<Ipv6Info>()) {
        return std::string(v6->src.begin(), v6->src.end()) + ">" +
               std::string(v6->dst.begin(), v6->dst.end());
    }
    return {};
}

void feed_file(const std::filesystem::path& path, ParseAll& sink) {
    auto src = capture::open_file(path.string());
    std::map<Key, RecordStream> streams;
    RawFrame frame;
    DecodedPacket pkt;
    while (src->next(frame) == capture::ReadStatus::Frame) {
        decode::decode(frame, DecodeOptions{}, pkt);
        for (const Layer& l : pkt.layers()) {
            const Bytes payload = l.payload();
            const std::uint32_t claimed =
                l.claimed_len > l.header_len ? l.claimed_len - l.header_len : 0;
            if (const auto* udp = l.as<UdpInfo>()) {
                if (udp->sport == 2049 || udp->dport == 2049 || udp->sport == 111 ||
                    udp->dport == 111 || udp->sport > 600) {
                    sink.on_record(udp_record(payload, claimed, frame.ts, frame.number));
                }
            } else if (const auto* tcp = l.as<TcpInfo>()) {
                const int ip = pkt.enclosing_ip(static_cast<std::size_t>(&l - pkt.layers().data()));
                RecordStream& s = streams[Key{
                    ip >= 0 ? addresses(pkt.layers()[static_cast<std::size_t>(ip)]) : std::string{},
                    tcp->sport, tcp->dport}];
                if ((tcp->flags & tcp_flag::kSyn) != 0) {
                    s.start(tcp->seq + 1);
                }
                s.push({.seq = tcp->seq,
                        .payload = payload,
                        .claimed_len = claimed,
                        .ts = frame.ts,
                        .frame = frame.number},
                       sink);
            }
        }
    }
    for (auto& [key, s] : streams) {
        s.finish(sink);
        EXPECT_LE(s.memory_bytes(), kKeptBytes + kMaxHeldBytes);
    }
}

TEST(RpcCorpus, NfsCapturesParseWithoutCrashing) {
    const std::filesystem::path corpus =
        std::filesystem::path(vxcheck::test::source_dir()) / ".." / "shared" / "corpus";
    if (!std::filesystem::is_directory(corpus)) {
        GTEST_SKIP() << "no corpus at " << corpus;
    }
    ParseAll sink;
    int files = 0;
    for (const auto& entry : std::filesystem::directory_iterator(corpus)) {
        const std::string name = entry.path().filename().string();
        if (name.rfind("td-nfs-", 0) == 0 || name == "td-unaligned-nfs-1.pcap") {
            feed_file(entry.path(), sink);
            ++files;
        }
    }
    if (files == 0) {
        GTEST_SKIP() << "no NFS captures in " << corpus;
    }
    EXPECT_GT(sink.parsed, 0);
    std::fprintf(stderr, "records %d parsed %d failed %d\n", sink.records, sink.parsed,
                 sink.failed);
}

}  // namespace
}  // namespace vxcheck::rpc

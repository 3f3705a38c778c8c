// vxcheck_synflood_send: sends a SYN flood of distinct connections out of one interface at a
// paced rate, for tools/bench/syn_flood.sh (run inside the network namespace it creates).
//
// Ethernet/IPv4/TCP SYNs to 10.96.0.10:2049 with correct checksums, connection i from
// 10.(128 + i / 2^22).(i / 256 % 256).(i % 256), source port 1031 + 1000 * (i / 65536 % 64):
// every frame a new 4-tuple (up to 2^28 of them). A packet socket (AF_PACKET, SOCK_RAW) with
// PACKET_QDISC_BYPASS, frames handed over 64 at a time with sendmmsg(); the rate is kept by
// sleeping until each batch's due time (CLOCK_MONOTONIC), so a batch never leaves early.
//
// Usage: vxcheck_synflood_send IFACE FLOWS RATE_PPS
// Prints: sent FRAMES in SECONDS s (RATE pps), FAILED failed sends

#include <arpa/inet.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

namespace {

constexpr std::size_t kFrame = 54;  // Ethernet 14 + IPv4 20 + TCP 20
constexpr std::size_t kBatch = 64;

std::uint16_t fold(std::uint32_t s) {
    while ((s >> 16) != 0) {
        s = (s & 0xffffU) + (s >> 16);
    }
    return static_cast<std::uint16_t>(~s & 0xffffU);
}

std::uint32_t sum16(const std::uint8_t* p, std::size_t n) {
    std::uint32_t s = 0;
    for (std::size_t i = 0; i + 1 < n; i += 2) {
        s += (std::uint32_t{p[i]} << 8) | p[i + 1];
    }
    return s;
}

void put16(std::uint8_t* p, std::uint16_t v) {
    p[0] = static_cast<std::uint8_t>(v >> 8);
    p[1] = static_cast<std::uint8_t>(v);
}

// The SYN of connection i.
void build(std::uint8_t* f, std::uint64_t i) {
    static constexpr std::array<std::uint8_t, 14> kEth{0x0a, 0x58, 0x0a, 0xf4, 0x00, 0x01, 0x0a,
                                                       0x58, 0x0a, 0xf4, 0x01, 0x02, 0x08, 0x00};
    std::memcpy(f, kEth.data(), kEth.size());
    std::uint8_t* ip = f + 14;
    std::memset(ip, 0, 40);
    ip[0] = 0x45;
    put16(ip + 2, 40);
    put16(ip + 4, static_cast<std::uint16_t>(i));
    ip[6] = 0x40;  // DF
    ip[8] = 64;
    ip[9] = 6;
    const std::uint8_t src[4] = {10, static_cast<std::uint8_t>(128 + (i >> 22)),
                                 static_cast<std::uint8_t>(i >> 8), static_cast<std::uint8_t>(i)};
    const std::uint8_t dst[4] = {10, 96, 0, 10};
    std::memcpy(ip + 12, src, 4);
    std::memcpy(ip + 16, dst, 4);
    put16(ip + 10, fold(sum16(ip, 20)));
    std::uint8_t* tcp = ip + 20;
    put16(tcp, static_cast<std::uint16_t>(1024 + ((i >> 16) & 63) * 1000 + 7));
    put16(tcp + 2, 2049);
    const auto seq = static_cast<std::uint32_t>(i * 2654435761U);
    tcp[4] = static_cast<std::uint8_t>(seq >> 24);
    tcp[5] = static_cast<std::uint8_t>(seq >> 16);
    tcp[6] = static_cast<std::uint8_t>(seq >> 8);
    tcp[7] = static_cast<std::uint8_t>(seq);
    tcp[12] = 5 << 4;
    tcp[13] = 0x02;  // SYN
    put16(tcp + 14, 64240);
    std::uint32_t s = sum16(src, 4) + sum16(dst, 4) + 6 + 20 + sum16(tcp, 20);
    put16(tcp + 16, fold(s));
}

double now_s() {
    timespec t{};
    clock_gettime(CLOCK_MONOTONIC, &t);
    return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) * 1e-9;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 4) {
        std::fprintf(stderr, "usage: %s IFACE FLOWS RATE_PPS\n", argv[0]);
        return 2;
    }
    const unsigned ifindex = if_nametoindex(argv[1]);
    const std::uint64_t flows = std::strtoull(argv[2], nullptr, 10);
    const double rate = std::strtod(argv[3], nullptr);
    if (ifindex == 0 || flows == 0 || flows > (std::uint64_t{1} << 28) || !(rate > 0)) {
        std::fprintf(stderr, "synflood_send: bad interface, flow count or rate\n");
        return 2;
    }
    const int fd = socket(AF_PACKET, SOCK_RAW, 0);
    if (fd < 0) {
        std::perror("socket(AF_PACKET)");
        return 2;
    }
    const int one = 1;
    setsockopt(fd, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof one);  // a hint
    sockaddr_ll to{};
    to.sll_family = AF_PACKET;
    to.sll_ifindex = static_cast<int>(ifindex);
    to.sll_halen = ETH_ALEN;
    std::array<std::array<std::uint8_t, kFrame>, kBatch> frames{};
    std::array<iovec, kBatch> iov{};
    std::array<mmsghdr, kBatch> msgs{};
    for (std::size_t b = 0; b < kBatch; ++b) {
        iov[b] = {frames[b].data(), kFrame};
        msgs[b].msg_hdr.msg_iov = &iov[b];
        msgs[b].msg_hdr.msg_iovlen = 1;
        msgs[b].msg_hdr.msg_name = &to;
        msgs[b].msg_hdr.msg_namelen = sizeof to;
    }
    std::uint64_t sent = 0;
    std::uint64_t failed = 0;
    const double start = now_s();
    while (sent + failed < flows) {
        const std::size_t n =
            static_cast<std::size_t>(std::min<std::uint64_t>(kBatch, flows - sent - failed));
        const double due = start + static_cast<double>(sent + failed) / rate;
        for (double t = now_s(); t < due; t = now_s()) {
            const double wait = due - t;
            const timespec ts{0, static_cast<long>(wait * 1e9)};
            nanosleep(&ts, nullptr);
        }
        for (std::size_t b = 0; b < n; ++b) {
            build(frames[b].data(), sent + failed + b);
        }
        std::size_t done = 0;
        while (done < n) {
            const int r = sendmmsg(fd, msgs.data() + done, static_cast<unsigned>(n - done), 0);
            if (r < 0) {
                if (errno == EINTR) {
                    continue;
                }
                if (errno == ENOBUFS || errno == EAGAIN) {  // the device queue is full
                    ++failed;
                    ++done;
                    continue;
                }
                std::perror("sendmmsg");
                return 2;
            }
            done += static_cast<std::size_t>(r);
            sent += static_cast<std::size_t>(r);
        }
    }
    const double took = now_s() - start;
    std::printf("sent %llu in %.3f s (%.0f pps), %llu failed sends\n",
                static_cast<unsigned long long>(sent), took, static_cast<double>(sent) / took,
                static_cast<unsigned long long>(failed));
    close(fd);
    return 0;
}

// pcapng writer (draft-ietf-opsawg-pcapng): SHB, one IDB per (capture point, link type), EPBs
// with an opt_comment each. Written by hand because libpcap cannot write comments.

#include "vxcheck/report/evidence.h"

#include <cstring>
#include <fstream>
#include <map>
#include <stdexcept>

namespace vxcheck::report {
namespace {

constexpr std::uint32_t kShb = 0x0a0d0d0a;
constexpr std::uint32_t kIdb = 0x00000001;
constexpr std::uint32_t kEpb = 0x00000006;
constexpr std::uint32_t kByteOrderMagic = 0x1a2b3c4d;
constexpr std::uint16_t kOptEnd = 0;
constexpr std::uint16_t kOptComment = 1;
constexpr std::uint16_t kIfName = 2;
constexpr std::uint16_t kIfTsresol = 9;
constexpr std::uint8_t kNanoseconds = 9;

std::uint16_t linktype_of(LinkType l) {
    switch (l) {
        case LinkType::Ethernet:
            return 1;
        case LinkType::LinuxSll:
            return 113;
        case LinkType::LinuxSll2:
            return 276;
        case LinkType::RawIp:
            return 101;
        case LinkType::RawIpv4:
            return 228;
        case LinkType::RawIpv6:
            return 229;
        case LinkType::Null:
        case LinkType::Unsupported:
            break;
    }
    return 0;
}

class Block {
  public:
    void u16(std::uint16_t v) { raw(&v, 2); }
    void u32(std::uint32_t v) { raw(&v, 4); }
    void raw(const void* p, std::size_t n) {
        const auto* b = static_cast<const char*>(p);
        body_.append(b, n);
    }
    void pad() { body_.append((4 - body_.size() % 4) % 4, '\0'); }
    void option(std::uint16_t code, const std::string& value) {
        u16(code);
        u16(static_cast<std::uint16_t>(value.size()));
        raw(value.data(), value.size());
        pad();
    }
    void write(std::ostream& out, std::uint32_t type) {
        const std::uint32_t len = static_cast<std::uint32_t>(body_.size() + 12);
        out.write(reinterpret_cast<const char*>(&type), 4);
        out.write(reinterpret_cast<const char*>(&len), 4);
        out.write(body_.data(), static_cast<std::streamsize>(body_.size()));
        out.write(reinterpret_cast<const char*>(&len), 4);
    }

  private:
    std::string body_;
};

}  // namespace

std::size_t write_evidence_pcapng(const std::string& path,
                                  const std::vector<analyze::ConnectionReport>& connections,
                                  const std::vector<std::string>& points) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    if (!out) {
        throw std::runtime_error(path + ": cannot write evidence file: " + std::strerror(errno));
    }
    Block shb;
    shb.u32(kByteOrderMagic);
    shb.u16(1);
    shb.u16(0);
    shb.u32(0xffffffff);  // section length unknown
    shb.u32(0xffffffff);
    shb.option(kOptComment, "vxcheck evidence: packets behind connection verdicts");
    shb.u16(kOptEnd);
    shb.u16(0);
    shb.write(out, kShb);

    std::map<std::pair<std::uint16_t, LinkType>, std::uint32_t> interfaces;
    std::size_t written = 0;
    for (const auto& c : connections) {
        if (c.has(analyze::Verdict::Clean)) {
            continue;  // evidence is for verdicts that need explaining
        }
        std::string tag;
        for (const auto v : c.verdicts) {
            tag += (tag.empty() ? "" : ",") + std::string(analyze::to_string(v));
        }
        const std::string prefix = "vxcheck [" + tag + "] " + track::to_string(c.client) + " > " +
                                   track::to_string(c.server) + ": ";
        for (const auto& e : c.evidence) {
            const auto key = std::make_pair(e.point, e.link);
            auto it = interfaces.find(key);
            if (it == interfaces.end()) {
                Block idb;
                idb.u16(linktype_of(e.link));
                idb.u16(0);
                idb.u32(0);  // snaplen: unlimited
                idb.option(kIfName, e.point < points.size() ? points[e.point] : "?");
                idb.u16(kIfTsresol);
                idb.u16(1);
                idb.raw(&kNanoseconds, 1);
                idb.pad();
                idb.u16(kOptEnd);
                idb.u16(0);
                idb.write(out, kIdb);
                it = interfaces.emplace(key, static_cast<std::uint32_t>(interfaces.size())).first;
            }
            Block epb;
            const std::uint64_t ns =
                static_cast<std::uint64_t>(e.ts.sec) * 1000000000ULL + e.ts.nsec;
            epb.u32(it->second);
            epb.u32(static_cast<std::uint32_t>(ns >> 32));
            epb.u32(static_cast<std::uint32_t>(ns));
            epb.u32(static_cast<std::uint32_t>(e.bytes.size()));
            epb.u32(e.wirelen);
            epb.raw(e.bytes.data(), e.bytes.size());
            epb.pad();
            epb.option(kOptComment, prefix + e.note + " (frame " + std::to_string(e.frame) +
                                        " of " + (e.point < points.size() ? points[e.point] : "?") +
                                        ")");
            epb.u16(kOptEnd);
            epb.u16(0);
            epb.write(out, kEpb);
            ++written;
        }
    }
    out.flush();
    if (!out) {
        throw std::runtime_error(path + ": write failed: " + std::strerror(errno));
    }
    return written;
}

}  // namespace vxcheck::report

// IPv4 and IPv6 reassembly: the rules are stated in include/vxcheck/decode/reassembly.h.
//
// Datagrams are found by a scan of the bounded record table (which also expires the old ones:
// one pass per fragment, over at most memory_bytes / 8 KiB records). A datagram's bytes live
// in pool blocks, one per kBlockSize of its offsets, taken when a fragment first touches them.

#include "vxcheck/decode/reassembly.h"

#include <algorithm>
#include <cstring>

#include "vxcheck/wire.h"

namespace vxcheck::decode {

namespace {

constexpr std::uint32_t kNoBlock = 0xffffffffU;
constexpr std::uint8_t kIpv6Fragment = 44;
constexpr std::size_t kIpv6FragmentHeaderLen = 8;
constexpr int kMaxIpv6ExtHeaders = 8;
constexpr std::size_t kEntriesPerBlock = 4;  // a datagram record for every 4 blocks (8 KiB)
constexpr std::size_t kMinEntries = 8;

void put_be16(std::uint8_t* p, std::size_t value) noexcept {
    p[0] = static_cast<std::uint8_t>((value >> 8) & 0xffU);
    p[1] = static_cast<std::uint8_t>(value & 0xffU);
}

bool is_ipv6_option_header(std::uint8_t nh) noexcept {
    return nh == 0 || nh == 43 || nh == 60;  // hop-by-hop, routing, destination options
}

}  // namespace

struct Reassembler::Parsed {
    std::uint8_t version = 0;
    std::uint8_t proto = 0;
    std::uint16_t point = 0;
    std::uint32_t id = 0;
    std::array<std::uint8_t, 16> src{};
    std::array<std::uint8_t, 16> dst{};
    std::uint32_t offset = 0;
    std::uint32_t end = 0;
    bool more = false;
    Bytes header;  // IPv4 header; IPv6 headers before the Fragment header
    std::size_t nh_pos =
        0;  // IPv6: the Next Header byte in `header` that names the Fragment header
    Bytes data;
};

struct Reassembler::Entry {
    bool used = false;
    bool last_seen = false;
    bool have_first = false;
    std::uint8_t version = 0;
    std::uint8_t proto = 0;
    std::uint8_t count = 0;
    std::uint16_t point = 0;
    std::uint32_t id = 0;
    std::array<std::uint8_t, 16> src{};
    std::array<std::uint8_t, 16> dst{};
    Timestamp first;
    std::uint64_t arrival = 0;
    std::uint32_t max_end = 0;
    std::uint32_t held = 0;  // bytes held: the fragments never overlap, so their lengths add up
    std::uint16_t header_len = 0;
    std::uint16_t nh_pos = 0;
    std::array<std::uint8_t, kMaxHeaderLen> header{};
    std::array<std::uint32_t, kMaxFragments> starts{};
    std::array<std::uint32_t, kMaxFragments> ends{};
    std::array<std::uint64_t, kMaxFragments> frames{};
    std::array<std::uint32_t, kBlocksPerDatagram> blocks{};

    [[nodiscard]] bool same(const Parsed& p) const noexcept {
        return used && id == p.id && proto == p.proto && version == p.version && point == p.point &&
               src == p.src && dst == p.dst;
    }
};

namespace {

using Parsed = Reassembler::Parsed;

bool parse_ipv4(Bytes ip, Parsed& p) noexcept {
    if (ip.size() < wire::kIpv4MinHeaderLen) {
        return false;
    }
    const std::size_t hl = std::size_t{ip[0] & 0x0fU} * 4;
    const std::uint16_t frag = be16(ip, 6);
    if ((frag & wire::kIpv4FragmentBits) == 0 || hl < 20 || hl > ip.size() ||
        be16(ip, 2) != ip.size()) {
        return false;  // whole, or not all of it captured
    }
    p.version = 4;
    p.proto = ip[wire::kIpv4ProtocolOffset];
    p.id = be16(ip, 4);
    std::copy_n(ip.begin() + 12, 4, p.src.begin());
    std::copy_n(ip.begin() + 16, 4, p.dst.begin());
    p.offset = (frag & wire::kIpv4FragOffsetMask) * 8U;
    p.more = (frag & wire::kIpv4FlagMf) != 0;
    p.header = ip.first(hl);
    p.data = ip.subspan(hl);
    return true;
}

bool parse_ipv6(Bytes ip, Parsed& p) noexcept {
    if (ip.size() < wire::kIpv6HeaderLen ||
        std::size_t{be16(ip, 4)} + wire::kIpv6HeaderLen != ip.size()) {
        return false;  // not all of it captured (or a jumbogram)
    }
    std::uint8_t nh = ip[6];
    std::size_t nh_pos = 6;
    std::size_t off = wire::kIpv6HeaderLen;
    for (int n = 0; n < kMaxIpv6ExtHeaders && off + kIpv6FragmentHeaderLen <= ip.size(); ++n) {
        if (nh == kIpv6Fragment) {
            const std::uint16_t fo = be16(ip, off + 2);
            p.offset = fo & 0xfff8U;
            p.more = (fo & 1U) != 0;
            if (p.offset == 0 && !p.more) {
                return false;  // an atomic fragment (RFC 6946): the datagram is whole
            }
            p.version = 6;
            p.proto = ip[off];
            p.id = be32(ip, off + 4);
            std::copy_n(ip.begin() + 8, 16, p.src.begin());
            std::copy_n(ip.begin() + 24, 16, p.dst.begin());
            p.header = ip.first(off);
            p.nh_pos = nh_pos;
            p.data = ip.subspan(off + kIpv6FragmentHeaderLen);
            return true;
        }
        if (!is_ipv6_option_header(nh)) {
            return false;
        }
        nh_pos = off;
        nh = ip[off];
        off += (std::size_t{ip[off + 1]} + 1) * 8;
    }
    return false;
}

FragmentResult dropped(FragmentResult& r, Anomaly a) noexcept {
    r.outcome = FragmentOutcome::Dropped;
    r.has_anomaly = true;
    r.anomaly = a;
    return r;
}

}  // namespace

Reassembler::Reassembler(const ReassemblyOptions& options)
    : options_(options),
      block_count_(std::max<std::size_t>(options.memory_bytes / kBlockSize, 1)),
      // Not cleared: a block is written before it is read (store(), assemble()), so the pool's
      // pages are mapped as fragments first use them, not at start-up.
      pool_(std::make_unique_for_overwrite<std::uint8_t[]>(block_count_ * kBlockSize)),
      free_blocks_(std::make_unique<std::uint32_t[]>(block_count_)),
      entry_count_(std::max(block_count_ / kEntriesPerBlock, kMinEntries)),
      entries_(std::make_unique<Entry[]>(entry_count_)),
      out_(std::make_unique_for_overwrite<std::uint8_t[]>(kMaxHeaderLen + kMaxDatagram)) {
    for (std::size_t i = 0; i < block_count_; ++i) {
        free_blocks_[i] = static_cast<std::uint32_t>(block_count_ - 1 - i);
    }
}

Reassembler::~Reassembler() = default;

std::size_t Reassembler::pending() const noexcept {
    return static_cast<std::size_t>(std::count_if(entries_.get(), entries_.get() + entry_count_,
                                                  [](const Entry& e) { return e.used; }));
}

std::uint32_t Reassembler::flush() noexcept {
    std::uint32_t n = 0;
    for (std::size_t i = 0; i < entry_count_; ++i) {
        if (entries_[i].used) {
            release(entries_[i]);
            ++n;
        }
    }
    return n;
}

void Reassembler::release(Entry& e) noexcept {
    for (std::uint32_t& b : e.blocks) {
        if (b != kNoBlock) {
            free_blocks_[block_count_ - blocks_used_] = b;
            --blocks_used_;
            b = kNoBlock;
        }
    }
    e.used = false;
}

Reassembler::Entry* Reassembler::evict_oldest(const Entry* keep) noexcept {
    Entry* oldest = nullptr;
    for (std::size_t i = 0; i < entry_count_; ++i) {
        Entry& e = entries_[i];
        if (e.used && &e != keep && (oldest == nullptr || e.arrival < oldest->arrival)) {
            oldest = &e;
        }
    }
    if (oldest != nullptr) {
        release(*oldest);
    }
    return oldest;
}

// The datagram `p` belongs to, expiring the timed-out ones on the way; a new record if none,
// evicting the oldest when the table is full. Null only if no record can be had.
Reassembler::Entry* Reassembler::find_or_start(const Parsed& p, Timestamp ts,
                                               FragmentResult& r) noexcept {
    Entry* found = nullptr;
    Entry* free = nullptr;
    for (std::size_t i = 0; i < entry_count_; ++i) {
        Entry& e = entries_[i];
        if (e.used && ts.sec - e.first.sec > static_cast<std::int64_t>(options_.timeout_s)) {
            release(e);
            ++r.incomplete;
        }
        if (e.same(p)) {
            found = &e;
        } else if (!e.used && free == nullptr) {
            free = &e;
        }
    }
    if (found != nullptr) {
        return found;
    }
    if (free == nullptr) {
        free = evict_oldest(nullptr);
        if (free == nullptr) {
            return nullptr;
        }
        ++r.incomplete;
        r.has_anomaly = true;
        r.anomaly = Anomaly::FragmentMemoryCap;
    }
    Entry& e = *free;
    e = Entry{};
    e.blocks.fill(kNoBlock);
    e.used = true;
    e.version = p.version;
    e.proto = p.proto;
    e.point = p.point;
    e.id = p.id;
    e.src = p.src;
    e.dst = p.dst;
    e.first = ts;
    e.arrival = arrivals_++;
    return &e;
}

// Copies the fragment's bytes into the datagram's blocks, taking blocks as needed (evicting
// older datagrams when the pool is empty). False if the pool cannot hold them: the datagram is
// then discarded.
bool Reassembler::store(Entry& e, const Parsed& p, FragmentResult& r) noexcept {
    std::size_t pos = p.offset;
    std::size_t done = 0;
    while (done < p.data.size()) {
        const std::size_t index = pos / kBlockSize;
        const std::size_t within = pos % kBlockSize;
        const std::size_t n = std::min(kBlockSize - within, p.data.size() - done);
        if (e.blocks[index] == kNoBlock) {
            if (blocks_used_ == block_count_) {
                if (evict_oldest(&e) == nullptr) {
                    release(e);
                    dropped(r, Anomaly::FragmentMemoryCap);
                    return false;
                }
                ++r.incomplete;
                r.has_anomaly = true;
                r.anomaly = Anomaly::FragmentMemoryCap;
            }
            ++blocks_used_;
            e.blocks[index] = free_blocks_[block_count_ - blocks_used_];
        }
        std::memcpy(&pool_[std::size_t{e.blocks[index]} * kBlockSize + within], &p.data[done], n);
        pos += n;
        done += n;
    }
    return true;
}

FragmentResult Reassembler::add(Bytes ip, std::uint16_t point, std::uint64_t frame,
                                Timestamp ts) noexcept {
    Parsed p;
    const bool parsed = !ip.empty() && ((ip[0] >> 4) == 4 ? parse_ipv4(ip, p) : parse_ipv6(ip, p));
    if (!parsed) {
        return {};
    }
    p.point = point;
    p.end = p.offset + static_cast<std::uint32_t>(p.data.size());
    FragmentResult r{.outcome = FragmentOutcome::Held};
    const std::size_t unfragmentable =
        p.version == 4 ? p.header.size() : p.header.size() - wire::kIpv6HeaderLen;
    if (p.data.empty() || (p.more && p.data.size() % 8 != 0) || p.header.size() > kMaxHeaderLen) {
        return dropped(r, Anomaly::FragmentBadLength);
    }
    Entry* e = find_or_start(p, ts, r);
    if (e == nullptr) {
        return dropped(r, Anomaly::FragmentMemoryCap);
    }
    if (unfragmentable + p.end > kMaxDatagram) {
        release(*e);
        return dropped(r, Anomaly::FragmentOversized);
    }
    insert(*e, p, frame, r);
    return r;
}

// Linux's order (ip_frag_queue, then inet_frag_queue_insert): the end against the last
// fragment's, then overlap or duplicate, then the fragment count.
void Reassembler::insert(Entry& e, const Parsed& p, std::uint64_t frame,
                         FragmentResult& r) noexcept {
    const bool bad_end = p.more ? (e.last_seen && p.end > e.max_end)
                                : (p.end < e.max_end || (e.last_seen && p.end != e.max_end));
    std::uint32_t covered = 0;
    for (std::size_t i = 0; i < e.count; ++i) {
        const std::uint32_t lo = std::max(p.offset, e.starts[i]);
        const std::uint32_t hi = std::min(p.end, e.ends[i]);
        covered += hi > lo ? hi - lo : 0;
    }
    if (!bad_end && covered == p.end - p.offset) {
        dropped(r, Anomaly::FragmentDuplicate);
        return;
    }
    if (bad_end || covered != 0 || e.count == kMaxFragments) {
        dropped(r, bad_end || covered != 0 ? Anomaly::FragmentOverlap : Anomaly::FragmentTooMany);
        release(e);
        return;
    }
    if (!store(e, p, r)) {
        return;
    }
    e.starts[e.count] = p.offset;
    e.ends[e.count] = p.end;
    e.frames[e.count] = frame;
    ++e.count;
    e.held += p.end - p.offset;
    e.max_end = std::max(e.max_end, p.end);
    e.last_seen = e.last_seen || !p.more;
    if (p.offset == 0) {
        e.have_first = true;
        e.header_len = static_cast<std::uint16_t>(p.header.size());
        e.nh_pos = static_cast<std::uint16_t>(p.nh_pos);
        std::copy(p.header.begin(), p.header.end(), e.header.begin());
    }
    if (e.last_seen && e.have_first && e.held == e.max_end) {
        assemble(e);
        release(e);
        r.outcome = FragmentOutcome::Completed;
    }
}

void Reassembler::assemble(Entry& e) noexcept {
    std::uint8_t* out = out_.get();
    std::copy_n(e.header.begin(), e.header_len, out);
    const std::size_t total = e.header_len + std::size_t{e.max_end};
    if (e.version == 4) {
        put_be16(out + 2, total);
        const auto df = static_cast<std::size_t>(be16({out, e.header_len}, 6) & wire::kIpv4FlagDf);
        put_be16(out + 6, df);
    } else {
        out[e.nh_pos] = e.proto;
        put_be16(out + 4, total - wire::kIpv6HeaderLen);
    }
    for (std::size_t pos = 0; pos < e.max_end; pos += kBlockSize) {
        const std::size_t n = std::min<std::size_t>(kBlockSize, e.max_end - pos);
        std::memcpy(out + e.header_len + pos,
                    &pool_[std::size_t{e.blocks[pos / kBlockSize]} * kBlockSize], n);
    }
    out_len_ = total;
    // The frames in offset order, as Wireshark lists them.
    std::array<std::uint8_t, kMaxFragments> order{};
    for (std::size_t i = 0; i < e.count; ++i) {
        order[i] = static_cast<std::uint8_t>(i);
    }
    std::sort(order.begin(), order.begin() + e.count,
              [&e](std::uint8_t a, std::uint8_t b) { return e.starts[a] < e.starts[b]; });
    out_frame_count_ = e.count;
    for (std::size_t i = 0; i < e.count; ++i) {
        out_frames_[i] = e.frames[order[i]];
    }
}

}  // namespace vxcheck::decode

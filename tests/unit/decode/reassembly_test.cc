// IP reassembly (decode/reassembly.h): completion in any order, Linux's overlap and duplicate
// rules for both families, the 65,535-byte limit, the timeout, the fragment and memory caps.
// Fragments are cut here from whole datagrams built by the PacketBuilder, by this file's own
// splitter, so the tests do not check the reassembler against itself.

#include "vxcheck/decode/reassembly.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

#include "packet_builder.h"

namespace vxcheck::test {
namespace {

using decode::Anomaly;
using decode::FragmentOutcome;
using decode::Reassembler;
using decode::ReassemblyOptions;

// The IP datagram (header onwards) of a raw-IP built packet.
ByteVec datagram(const PacketBuilder& b) {
    return b.build().bytes;
}

ByteVec ipv4_udp(std::size_t payload, std::uint16_t id = 7) {
    return datagram(PacketBuilder()
                        .link_type(LinkType::RawIp)
                        .ipv4("10.0.0.1", "10.0.0.2")
                        .ipv4_id(id)
                        .udp(800, 2049)
                        .payload(payload));
}

ByteVec ipv6_udp(std::size_t payload) {
    return datagram(PacketBuilder()
                        .link_type(LinkType::RawIp)
                        .ipv6("fd00::1", "fd00::2")
                        .udp(800, 2049)
                        .payload(payload));
}

// IPv4 fragment of `whole` carrying its data bytes [offset, offset + len).
ByteVec v4_fragment(const ByteVec& whole, std::size_t offset, std::size_t len, bool more) {
    const std::size_t hl = std::size_t{whole[0] & 0x0fU} * 4;
    ByteVec f(whole.begin(), whole.begin() + static_cast<std::ptrdiff_t>(hl));
    f.insert(f.end(), whole.begin() + static_cast<std::ptrdiff_t>(hl + offset),
             whole.begin() + static_cast<std::ptrdiff_t>(hl + offset + len));
    const std::size_t total = f.size();
    f[2] = static_cast<std::uint8_t>(total >> 8);
    f[3] = static_cast<std::uint8_t>(total);
    const std::size_t field = (offset / 8) | (more ? 0x2000U : 0U);
    f[6] = static_cast<std::uint8_t>(field >> 8);
    f[7] = static_cast<std::uint8_t>(field);
    return f;
}

// IPv6 fragment of `whole` (no extension headers): a Fragment header with identification 99.
ByteVec v6_fragment(const ByteVec& whole, std::size_t offset, std::size_t len, bool more) {
    ByteVec f(whole.begin(), whole.begin() + 40);
    const std::uint8_t next = f[6];
    f[6] = 44;
    const std::size_t field = offset | (more ? 1U : 0U);
    const ByteVec frag{
        next, 0, static_cast<std::uint8_t>(field >> 8), static_cast<std::uint8_t>(field), 0, 0,
        0,    99};
    f.insert(f.end(), frag.begin(), frag.end());
    f.insert(f.end(), whole.begin() + static_cast<std::ptrdiff_t>(40 + offset),
             whole.begin() + static_cast<std::ptrdiff_t>(40 + offset + len));
    const std::size_t plen = f.size() - 40;
    f[4] = static_cast<std::uint8_t>(plen >> 8);
    f[5] = static_cast<std::uint8_t>(plen);
    return f;
}

Timestamp at(std::int64_t sec) {
    return Timestamp{.sec = sec, .nsec = 0};
}

decode::FragmentResult add(Reassembler& r, const ByteVec& f, std::uint64_t frame,
                           std::int64_t sec = 0) {
    return r.add(Bytes(f.data(), f.size()), 0, frame, at(sec));
}

ByteVec bytes_of(Bytes b) {
    return {b.begin(), b.end()};
}

TEST(Reassembly, InOrderFragmentsGiveTheWholeDatagramOnTheLast) {
    const ByteVec whole = ipv4_udp(3000);  // 8 + 3000 bytes of UDP
    Reassembler r(ReassemblyOptions{});
    EXPECT_EQ(add(r, v4_fragment(whole, 0, 1480, true), 1).outcome, FragmentOutcome::Held);
    EXPECT_EQ(add(r, v4_fragment(whole, 1480, 1480, true), 2).outcome, FragmentOutcome::Held);
    const auto last = add(r, v4_fragment(whole, 2960, 48, false), 3);
    ASSERT_EQ(last.outcome, FragmentOutcome::Completed);
    EXPECT_FALSE(last.has_anomaly);
    EXPECT_EQ(bytes_of(r.datagram()), whole);
    EXPECT_EQ(std::vector<std::uint64_t>(r.frames().begin(), r.frames().end()),
              (std::vector<std::uint64_t>{1, 2, 3}));
    EXPECT_EQ(r.pending(), 0U);
    EXPECT_EQ(r.blocks_in_use(), 0U);
}

TEST(Reassembly, OutOfOrderFragmentsCompleteOnTheMissingOneAndListFramesByOffset) {
    const ByteVec whole = ipv4_udp(3000);
    Reassembler r(ReassemblyOptions{});
    EXPECT_EQ(add(r, v4_fragment(whole, 2960, 48, false), 1).outcome, FragmentOutcome::Held);
    EXPECT_EQ(add(r, v4_fragment(whole, 0, 1480, true), 2).outcome, FragmentOutcome::Held);
    ASSERT_EQ(add(r, v4_fragment(whole, 1480, 1480, true), 3).outcome, FragmentOutcome::Completed);
    EXPECT_EQ(bytes_of(r.datagram()), whole);
    EXPECT_EQ(std::vector<std::uint64_t>(r.frames().begin(), r.frames().end()),
              (std::vector<std::uint64_t>{2, 3, 1}));
}

TEST(Reassembly, Ipv6FragmentHeaderIsRemovedFromTheWholeDatagram) {
    const ByteVec whole = ipv6_udp(2000);
    Reassembler r(ReassemblyOptions{});
    EXPECT_EQ(add(r, v6_fragment(whole, 0, 1232, true), 1).outcome, FragmentOutcome::Held);
    ASSERT_EQ(add(r, v6_fragment(whole, 1232, 776, false), 2).outcome, FragmentOutcome::Completed);
    EXPECT_EQ(bytes_of(r.datagram()), whole);
}

TEST(Reassembly, DuplicateFragmentIsIgnoredAndTheDatagramStillCompletes) {
    const ByteVec whole = ipv4_udp(3000);
    Reassembler r(ReassemblyOptions{});
    add(r, v4_fragment(whole, 0, 1480, true), 1);
    const auto dup = add(r, v4_fragment(whole, 0, 1480, true), 2);
    EXPECT_EQ(dup.outcome, FragmentOutcome::Dropped);
    ASSERT_TRUE(dup.has_anomaly);
    EXPECT_EQ(dup.anomaly, Anomaly::FragmentDuplicate);
    add(r, v4_fragment(whole, 1480, 1480, true), 3);
    EXPECT_EQ(add(r, v4_fragment(whole, 2960, 48, false), 4).outcome, FragmentOutcome::Completed);
    EXPECT_EQ(std::vector<std::uint64_t>(r.frames().begin(), r.frames().end()),
              (std::vector<std::uint64_t>{1, 3, 4}));
}

TEST(Reassembly, PartialOverlapDiscardsTheIpv4DatagramAsLinuxDoes) {
    const ByteVec whole = ipv4_udp(3000);
    Reassembler r(ReassemblyOptions{});
    add(r, v4_fragment(whole, 0, 1480, true), 1);
    const auto overlap = add(r, v4_fragment(whole, 1472, 1488, true), 2);
    EXPECT_EQ(overlap.outcome, FragmentOutcome::Dropped);
    EXPECT_EQ(overlap.anomaly, Anomaly::FragmentOverlap);
    EXPECT_EQ(r.pending(), 0U);
    // What follows starts a new datagram that cannot complete without its first fragment.
    EXPECT_EQ(add(r, v4_fragment(whole, 2960, 48, false), 3).outcome, FragmentOutcome::Held);
    EXPECT_EQ(r.flush(), 1U);
}

TEST(Reassembly, OverlapDiscardsTheIpv6DatagramRfc5722) {
    const ByteVec whole = ipv6_udp(2000);
    Reassembler r(ReassemblyOptions{});
    add(r, v6_fragment(whole, 0, 1232, true), 1);
    const auto overlap = add(r, v6_fragment(whole, 1224, 784, false), 2);
    EXPECT_EQ(overlap.outcome, FragmentOutcome::Dropped);
    EXPECT_EQ(overlap.anomaly, Anomaly::FragmentOverlap);
    EXPECT_EQ(r.pending(), 0U);
}

TEST(Reassembly, LastFragmentsDisagreeingOnTheEndDiscardTheDatagram) {
    const ByteVec whole = ipv4_udp(3000);
    Reassembler r(ReassemblyOptions{});
    add(r, v4_fragment(whole, 2960, 48, false), 1);
    const auto other_end = add(r, v4_fragment(whole, 1480, 1480, false), 2);
    EXPECT_EQ(other_end.anomaly, Anomaly::FragmentOverlap);
    EXPECT_EQ(r.pending(), 0U);
}

TEST(Reassembly, FragmentEndingPast65535IsOversized) {
    const ByteVec whole = ipv4_udp(100);
    ByteVec f = v4_fragment(whole, 0, 96, false);
    const std::size_t field = 65'520 / 8;  // 20 + 65,520 + 88 > 65,535
    f[6] = static_cast<std::uint8_t>(field >> 8);
    f[7] = static_cast<std::uint8_t>(field);
    Reassembler r(ReassemblyOptions{});
    const auto res = add(r, f, 1);
    EXPECT_EQ(res.outcome, FragmentOutcome::Dropped);
    EXPECT_EQ(res.anomaly, Anomaly::FragmentOversized);
    EXPECT_EQ(r.pending(), 0U);
}

TEST(Reassembly, NonLastFragmentNotInEightByteUnitsIsIgnored) {
    const ByteVec whole = ipv4_udp(3000);
    Reassembler r(ReassemblyOptions{});
    const auto res = add(r, v4_fragment(whole, 0, 1001, true), 1);
    EXPECT_EQ(res.anomaly, Anomaly::FragmentBadLength);
    EXPECT_EQ(r.pending(), 0U);
}

TEST(Reassembly, DatagramOlderThanTheTimeoutIsCountedIncompleteWhenTheNextFragmentArrives) {
    const ByteVec a = ipv4_udp(3000, 1);
    const ByteVec b = ipv4_udp(3000, 2);
    Reassembler r(ReassemblyOptions{.memory_bytes = std::size_t{1} << 20, .timeout_s = 30});
    add(r, v4_fragment(a, 0, 1480, true), 1, 100);
    EXPECT_EQ(add(r, v4_fragment(b, 0, 1480, true), 2, 130).incomplete, 0U);  // 30 s: in time
    const auto late = add(r, v4_fragment(a, 1480, 1480, true), 3, 131);
    EXPECT_EQ(late.incomplete, 1U);  // a's first fragment timed out: a starts over
    EXPECT_EQ(late.outcome, FragmentOutcome::Held);
    EXPECT_EQ(r.pending(), 2U);
}

TEST(Reassembly, MoreThanTheFragmentCapDiscardsTheDatagram) {
    const ByteVec whole = ipv4_udp(8 * (Reassembler::kMaxFragments + 2));
    Reassembler r(ReassemblyOptions{});
    decode::FragmentResult last;
    for (std::size_t i = 0; i <= Reassembler::kMaxFragments; ++i) {
        last = add(r, v4_fragment(whole, 8 * i, 8, true), i + 1);
    }
    EXPECT_EQ(last.outcome, FragmentOutcome::Dropped);
    EXPECT_EQ(last.anomaly, Anomaly::FragmentTooMany);
    EXPECT_EQ(r.pending(), 0U);
}

// A flood of first fragments that never complete: memory stays at the cap, the oldest datagrams
// are evicted and counted, and a datagram arriving after the flood still completes.
TEST(Reassembly, FragmentFloodStaysWithinTheMemoryCap) {
    const std::size_t cap = 64 * 1024;
    Reassembler r(ReassemblyOptions{.memory_bytes = cap, .timeout_s = 30});
    std::uint64_t incomplete = 0;
    std::uint64_t capped = 0;
    for (std::uint16_t id = 0; id < 2000; ++id) {
        const ByteVec whole = ipv4_udp(3000, id);
        const auto res = add(r, v4_fragment(whole, 0, 1480, true), id + 1U);
        incomplete += res.incomplete;
        capped += res.has_anomaly && res.anomaly == Anomaly::FragmentMemoryCap ? 1U : 0U;
        ASSERT_LE(r.blocks_in_use() * Reassembler::kBlockSize, cap);
    }
    EXPECT_EQ(r.memory_cap(), cap);
    EXPECT_GT(incomplete, 1900U);
    EXPECT_EQ(capped, incomplete);
    EXPECT_EQ(incomplete + r.pending(), 2000U);
    const ByteVec whole = ipv4_udp(3000, 60000);
    add(r, v4_fragment(whole, 0, 1480, true), 5000);
    add(r, v4_fragment(whole, 1480, 1480, true), 5001);
    EXPECT_EQ(add(r, v4_fragment(whole, 2960, 48, false), 5002).outcome,
              FragmentOutcome::Completed);
    EXPECT_EQ(bytes_of(r.datagram()), whole);
}

TEST(Reassembly, DatagramLargerThanTheWholePoolIsDroppedAtTheCap) {
    const ByteVec whole = ipv4_udp(6000);
    Reassembler r(ReassemblyOptions{.memory_bytes = 2 * Reassembler::kBlockSize, .timeout_s = 30});
    add(r, v4_fragment(whole, 0, 1480, true), 1);
    add(r, v4_fragment(whole, 1480, 1480, true), 2);
    const auto res = add(r, v4_fragment(whole, 4440, 1480, true), 3);
    EXPECT_EQ(res.outcome, FragmentOutcome::Dropped);
    EXPECT_EQ(res.anomaly, Anomaly::FragmentMemoryCap);
    EXPECT_EQ(r.blocks_in_use(), 0U);
}

TEST(Reassembly, FragmentsOfTwoCapturePointsAreNotJoined) {
    const ByteVec whole = ipv4_udp(3000);
    Reassembler r(ReassemblyOptions{});
    const ByteVec a = v4_fragment(whole, 0, 1480, true);
    const ByteVec b = v4_fragment(whole, 1480, 1528, false);
    r.add(Bytes(a.data(), a.size()), 0, 1, at(0));
    EXPECT_EQ(r.add(Bytes(b.data(), b.size()), 1, 2, at(0)).outcome, FragmentOutcome::Held);
    EXPECT_EQ(r.flush(), 2U);  // incomplete at the end: counted
}

TEST(Reassembly, WholeAndCutDatagramsAreNotFragments) {
    Reassembler r(ReassemblyOptions{});
    const ByteVec whole = ipv4_udp(100);
    EXPECT_EQ(add(r, whole, 1).outcome, FragmentOutcome::NotFragment);
    ByteVec cut = v4_fragment(ipv4_udp(3000), 0, 1480, true);
    cut.resize(200);  // a snaplen cut: not all of its bytes are known
    EXPECT_EQ(add(r, cut, 2).outcome, FragmentOutcome::NotFragment);
    EXPECT_EQ(r.pending(), 0U);
}

}  // namespace
}  // namespace vxcheck::test

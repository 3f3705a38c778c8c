// Nothing dropped silently: an allocation failure inside the connection analysis is counted,
// and the connection degrades by the stated rule (keeps its counters, marked incomplete).
//
// The test binary's operator new fails on demand: armed, the next allocation on this thread
// throws std::bad_alloc. new and delete go to malloc and free, a consistent pair (also under
// AddressSanitizer).

#include <gtest/gtest.h>

#include <cstdlib>
#include <new>

#include "feeder.h"
#include "packet_builder.h"
#include "vxcheck/analyze/connections.h"
#include "vxcheck/decode/decode.h"
#include "vxcheck/verify/verify.h"

namespace {
thread_local bool fail_next_allocation = false;
}  // namespace

namespace {
void* allocate(std::size_t n) {
    if (fail_next_allocation) {
        fail_next_allocation = false;
        throw std::bad_alloc();
    }
    if (void* p = std::malloc(n == 0 ? 1 : n)) {
        return p;
    }
    throw std::bad_alloc();
}
}  // namespace

// Every unaligned form, so that each new meets its delete (std::malloc, std::free).
void* operator new(std::size_t n) {
    return allocate(n);
}
void* operator new[](std::size_t n) {
    return allocate(n);
}
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
    try {
        return allocate(n);
    } catch (...) {
        return nullptr;
    }
}
void* operator new[](std::size_t n, const std::nothrow_t&) noexcept {
    try {
        return allocate(n);
    } catch (...) {
        return nullptr;
    }
}
void operator delete(void* p) noexcept {
    std::free(p);
}
void operator delete[](void* p) noexcept {
    std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
    std::free(p);
}
void operator delete[](void* p, std::size_t) noexcept {
    std::free(p);
}
void operator delete(void* p, const std::nothrow_t&) noexcept {
    std::free(p);
}
void operator delete[](void* p, const std::nothrow_t&) noexcept {
    std::free(p);
}

namespace vxcheck::test {
namespace {

namespace tf = decode::tcp_flag;

PacketBuilder syn(std::uint16_t sport) {
    return PacketBuilder()
        .ethernet()
        .ipv4("10.244.1.5", "10.96.0.10")
        .tcp(sport, 2049, tf::kSyn, 4242);
}

// Analyses b with its first allocation failing.
void send_failing(Feeder& feed, const PacketBuilder& b) {
    feed.prepare(b);
    fail_next_allocation = true;
    feed.deliver();
    fail_next_allocation = false;
}

TEST(ConnectionAllocFailure, ANewConnectionThatCannotBeStoredIsCountedAndIgnored) {
    analyze::ConnectionAnalyzer a({});
    a.add_point("p");
    Feeder feed(a);
    send_failing(feed, syn(40000));
    EXPECT_EQ(a.stats().alloc_failures, 1U);
    EXPECT_EQ(a.open_connections(), 0U);
    feed.send(syn(40001));  // the analysis goes on
    EXPECT_EQ(a.open_connections(), 1U);
    EXPECT_EQ(a.stats().alloc_failures, 1U);
}

TEST(ConnectionAllocFailure, AConnectionKeepsItsCountersAndIsMarkedIncomplete) {
    analyze::ConnectionAnalyzer a({});
    a.add_point("p");
    Feeder feed(a);
    feed.send(syn(40000));
    send_failing(feed, syn(40000));  // the retransmission's detail cannot be stored
    EXPECT_EQ(a.stats().alloc_failures, 1U);
    feed.send(syn(40000));
    const auto reports = a.finish();
    ASSERT_EQ(reports.size(), 1U);
    EXPECT_TRUE(reports[0].incomplete);
    EXPECT_EQ(reports[0].packets, 3U) << "counters are complete";
    EXPECT_EQ(a.stats().segments, 3U);
}

TEST(ConnectionAllocFailure, NoFailureNoMark) {
    analyze::ConnectionAnalyzer a({});
    a.add_point("p");
    Feeder feed(a);
    feed.send(syn(40000));
    feed.send(syn(40000));
    const auto reports = a.finish();
    ASSERT_EQ(reports.size(), 1U);
    EXPECT_FALSE(reports[0].incomplete);
    EXPECT_EQ(a.stats().alloc_failures, 0U);
    EXPECT_EQ(reports[0].syns, 2U);
}

}  // namespace
}  // namespace vxcheck::test

// The XID index of a connection's call records: a lookup finds the latest record with the XID
// that matches, whatever the table's growth and however many XIDs share a probe chain.

#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <vector>

#include "analyze/rpc_state.h"

namespace vxcheck::analyze {
namespace {

using rpc_state::CallRec;
using rpc_state::XidIndex;

void append(std::vector<CallRec>& calls, XidIndex& index, std::uint32_t xid, bool from_client) {
    CallRec& r = calls.emplace_back();
    r.xid = xid;
    r.from_client = from_client;
    index.add(calls);
}

TEST(RpcXidIndex, LookupFindsTheLatestMatchingRecord) {
    std::vector<CallRec> calls;
    XidIndex index;
    const auto any = [](const CallRec&) { return true; };
    EXPECT_EQ(index.latest(calls, 7, any), nullptr);
    for (std::uint32_t i = 0; i < kMaxCallsPerConnection / 2; ++i) {
        append(calls, index, i, true);
        append(calls, index, i, false);
    }
    for (std::uint32_t i = 0; i < kMaxCallsPerConnection / 2; ++i) {
        const CallRec* c = index.latest(calls, i, [](const CallRec& r) { return r.from_client; });
        ASSERT_NE(c, nullptr);
        EXPECT_EQ(c - calls.data(), static_cast<std::ptrdiff_t>(2 * i));
        const CallRec* s = index.latest(calls, i, any);
        EXPECT_EQ(s - calls.data(), static_cast<std::ptrdiff_t>(2 * i + 1));
    }
    EXPECT_EQ(index.latest(calls, 0xFFFFFFFFU, any), nullptr);
}

TEST(RpcXidIndex, RepeatedXidsReturnTheLastOneAdded) {
    std::vector<CallRec> calls;
    XidIndex index;
    for (std::uint32_t i = 0; i < kMaxCallsPerConnection; ++i) {
        append(calls, index, i % 3, true);  // long probe chains of equal XIDs
    }
    const auto any = [](const CallRec&) { return true; };
    EXPECT_EQ(index.latest(calls, 0, any) - calls.data(),
              static_cast<std::ptrdiff_t>(kMaxCallsPerConnection - 1 - 0));
    EXPECT_EQ(index.latest(calls, 1, any) - calls.data(),
              static_cast<std::ptrdiff_t>(kMaxCallsPerConnection - 1 - 2));
    EXPECT_EQ(index.latest(calls, 2, any) - calls.data(),
              static_cast<std::ptrdiff_t>(kMaxCallsPerConnection - 1 - 1));
}

}  // namespace
}  // namespace vxcheck::analyze

// XdrReader (RFC 4506): big-endian units, padded opaques, a sticky failure flag.

#include "vxcheck/rpc/xdr.h"

#include <gtest/gtest.h>

#include "xdr_builder.h"

namespace vxcheck::rpc {
namespace {

using test::ByteVec;
using test::Xdr;

TEST(XdrReader, ReadsUnitsAndPaddedOpaques) {
    const ByteVec b =
        Xdr().u32(7).u64(0x0102030405060708ULL).boolean(true).str("abcde").fixed(3, 9).bytes();
    XdrReader in{Bytes{b}};
    EXPECT_EQ(in.u32(), 7U);
    EXPECT_EQ(in.u64(), 0x0102030405060708ULL);
    EXPECT_TRUE(in.boolean());
    EXPECT_EQ(in.string(16), "abcde");
    EXPECT_EQ(in.position(), 4U + 8 + 4 + 4 + 8);  // "abcde" padded to 8
    EXPECT_EQ(in.fixed(3).size(), 3U);
    EXPECT_TRUE(in.ok());
    EXPECT_EQ(in.remaining(), 0U);
}

TEST(XdrReader, ReadPastTheEndFailsStickyAndExhausted) {
    const ByteVec b = Xdr().u32(1).bytes();
    XdrReader in{Bytes{b}};
    EXPECT_EQ(in.u32(), 1U);
    EXPECT_EQ(in.u32(), 0U);
    EXPECT_FALSE(in.ok());
    EXPECT_TRUE(in.exhausted());
    EXPECT_EQ(in.u32(), 0U);
    EXPECT_TRUE(in.rest().empty());
}

TEST(XdrReader, OpaqueOverItsMaximumFailsWithoutBeingExhausted) {
    const ByteVec b = Xdr().opaque(ByteVec(12, 1)).bytes();
    XdrReader in{Bytes{b}};
    EXPECT_TRUE(in.opaque(8).empty());
    EXPECT_FALSE(in.ok());
    EXPECT_FALSE(in.exhausted());
}

TEST(XdrReader, OpaqueWhosePaddingIsMissingFails) {
    const ByteVec b = Xdr().u32(3).raw({1, 2, 3}).bytes();  // no pad byte
    XdrReader in{Bytes{b}};
    EXPECT_TRUE(in.opaque(8).empty());
    EXPECT_TRUE(in.exhausted());
}

TEST(XdrReader, BooleanOtherThan0Or1Fails) {
    const ByteVec b = Xdr().u32(2).bytes();
    XdrReader in{Bytes{b}};
    EXPECT_FALSE(in.boolean());
    EXPECT_FALSE(in.ok());
}

TEST(XdrReader, HugeLengthNeverWrapsAround) {
    const ByteVec b = Xdr().u32(0xfffffffdU).u32(0).bytes();
    XdrReader in{Bytes{b}};
    EXPECT_TRUE(in.opaque(SIZE_MAX).empty());
    EXPECT_FALSE(in.ok());
    XdrReader arr{Bytes{b}};
    arr.skip_u32_array(SIZE_MAX);
    EXPECT_FALSE(arr.ok());
}

}  // namespace
}  // namespace vxcheck::rpc

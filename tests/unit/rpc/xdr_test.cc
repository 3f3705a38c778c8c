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

// A long message kept at its ends: bytes in the gap can be skipped, never read.
TEST(XdrReader, GapBetweenHeadAndTailIsSkippedNeverRead) {
    const ByteVec head = Xdr().u32(7).u32(100).bytes();  // a value, then a 100-byte opaque
    const ByteVec tail = Xdr().u32(0xabcdU).u32(9).bytes();
    // The opaque's bytes run from offset 8 to 108; the tail starts 4 bytes before its end.
    const XdrBytes bytes{Bytes{head}, Bytes{tail}, 104};
    {
        XdrReader in{bytes};
        EXPECT_EQ(in.u32(), 7U);
        in.skip_opaque(1000);
        ASSERT_TRUE(in.ok());
        EXPECT_EQ(in.position(), 108U);
        EXPECT_EQ(in.u32(), 9U);
        EXPECT_EQ(in.remaining(), 0U);
    }
    {
        XdrReader in{bytes};
        EXPECT_EQ(in.u32(), 7U);
        EXPECT_TRUE(in.opaque(1000).empty());  // a view of bytes not kept
        EXPECT_FALSE(in.ok());
        EXPECT_TRUE(in.exhausted());
    }
    {
        XdrReader in{bytes};
        in.skip(12);  // into the gap
        EXPECT_TRUE(in.ok());
        EXPECT_EQ(in.rest().tail_at, 104U - 12U);
        EXPECT_EQ(in.u32(), 0U);
        EXPECT_TRUE(in.exhausted());
    }
    {
        XdrReader in{bytes};
        in.skip(4);
        XdrReader rest{in.rest()};  // a view from offset 4 keeps the tail at its place
        rest.skip_opaque(1000);
        EXPECT_EQ(rest.u32(), 9U);
        EXPECT_TRUE(rest.ok());
    }
}

TEST(XdrReader, TailRightAfterAnEmptyHeadIsRead) {
    const ByteVec head = Xdr().u32(1).bytes();
    const ByteVec tail = Xdr().u32(2).u32(3).bytes();
    XdrReader in{XdrBytes{Bytes{head}, Bytes{tail}, 4}.from(4)};
    EXPECT_EQ(in.u32(), 2U);
    EXPECT_EQ(in.u32(), 3U);
    EXPECT_TRUE(in.ok());
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

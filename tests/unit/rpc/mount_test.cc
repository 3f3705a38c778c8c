// portmap GETPORT and MOUNT v3 MNT: the calls before an NFSv3 mount.

#include "vxcheck/rpc/mount.h"

#include <gtest/gtest.h>

#include "vxcheck/rpc/message.h"
#include "xdr_builder.h"

namespace vxcheck::rpc {
namespace {

using test::ByteVec;
using test::Xdr;

TEST(Portmap, GetportCallNamesTheProgramAndTheReplyItsPort) {
    const ByteVec args = Xdr().u32(kProgNfs).u32(3).u32(kIpprotoTcp).u32(0).bytes();
    PmapMapping m;
    ASSERT_TRUE(parse_pmap_getport_call(Bytes{args}, m));
    EXPECT_EQ(m.prog, kProgNfs);
    EXPECT_EQ(m.vers, 3U);
    EXPECT_EQ(m.prot, kIpprotoTcp);
    EXPECT_FALSE(parse_pmap_getport_call(Bytes{args}.first(12), m));
    const ByteVec res = Xdr().u32(2049).bytes();
    EXPECT_EQ(parse_pmap_getport_reply(Bytes{res}), 2049U);
    EXPECT_FALSE(parse_pmap_getport_reply(Bytes{res}.first(2)));
}

TEST(Rpcbind, GetaddrCallNamesTheProgramAndNetidAndTheReplyItsUniversalAddress) {
    const ByteVec args = Xdr().u32(kProgMount).u32(3).str("udp").str("").str("superuser").bytes();
    RpcbArgs a;
    ASSERT_TRUE(parse_rpcb_getaddr_call(Bytes{args}, a));
    EXPECT_EQ(a.prog, kProgMount);
    EXPECT_EQ(a.vers, 3U);
    EXPECT_EQ(a.netid, "udp");
    EXPECT_FALSE(parse_rpcb_getaddr_call(Bytes{args}.first(10), a));
    const ByteVec res = Xdr().str("10.244.2.5.78.80").bytes();
    EXPECT_EQ(parse_rpcb_getaddr_reply(Bytes{res}), "10.244.2.5.78.80");
    EXPECT_FALSE(parse_rpcb_getaddr_reply(Bytes{res}.first(6)));
}

TEST(Rpcbind, UniversalAddressPortIsTheLastTwoOctetsHighFirst) {
    EXPECT_EQ(uaddr_port("10.244.2.5.78.80"), 20048U);  // 78 * 256 + 80
    EXPECT_EQ(uaddr_port("10.244.2.5.0.111"), 111U);
    EXPECT_EQ(uaddr_port("fd00::5.8.1"), 2049U);   // IPv6: the same ".p1.p2" suffix
    EXPECT_FALSE(uaddr_port(""));                  // not registered
    EXPECT_FALSE(uaddr_port("10.244.2.5.256.1"));  // an octet above 255
    EXPECT_FALSE(uaddr_port("10.244.2.5.x.1"));
    EXPECT_FALSE(uaddr_port("8.1"));  // no address before the port
}

TEST(Mount, MntCallGivesThePathAndTheReplyTheRootHandle) {
    const ByteVec args = Xdr().str("/export/data").bytes();
    EXPECT_EQ(parse_mnt_call(Bytes{args}), "/export/data");
    EXPECT_FALSE(parse_mnt_call(Bytes{Xdr().opaque(ByteVec(kMaxMountPath + 4, 'a')).bytes()}));

    const ByteVec ok = Xdr().u32(0).opaque(ByteVec(32, 7)).u32(1).u32(kAuthSys).bytes();
    MntReply r;
    ASSERT_TRUE(parse_mnt_reply(Bytes{ok}, r));
    EXPECT_EQ(r.status, 0U);
    EXPECT_EQ(r.fhandle.size(), 32U);
    EXPECT_EQ(r.flavor_count, 1U);

    const ByteVec denied = Xdr().u32(13).bytes();
    ASSERT_TRUE(parse_mnt_reply(Bytes{denied}, r));
    EXPECT_EQ(mountstat3_name(r.status), "MNT3ERR_ACCES");
    EXPECT_FALSE(parse_mnt_reply(Bytes{ok}.first(10), r));
    EXPECT_EQ(mountstat3_name(3), "");
}

}  // namespace
}  // namespace vxcheck::rpc

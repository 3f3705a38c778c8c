// The `procedures` keys of the rpc object name program, version and procedure as the documented
// output does (pcaps/README.md, tools/rpc_tshark_compare.py): "PORTMAP v2 GETPORT" for the
// portmapper call a v3 mount starts with, "NFS_ACL v3 NULL", "MOUNT v3 MNT".

#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "rpc_feed.h"
#include "vxcheck/rpc/message.h"

namespace vxcheck::analyze {
namespace {

using test::ByteVec;
using test::Xdr;

bool has_procedure(const RpcFacts& f, const std::string& label) {
    return std::any_of(f.procedures.begin(), f.procedures.end(),
                       [&](const auto& p) { return p.first == label && p.second == 1; });
}

TEST(RpcLabels, PortmapperCallsAreLabelledPortmap) {
    // GETPORT(prog MOUNT, vers 3, TCP, port 0): RFC 1833 section 3.
    const ByteVec args = Xdr().u32(rpc::kProgMount).u32(3).u32(6).u32(0).bytes();
    const RpcFacts f = test::analyse_rpc(
        test::rpc_exchanges({{test::rpc_call(1, rpc::kProgPortmap, 2, 0), test::rpc_reply(1)},
                             {test::rpc_call(2, rpc::kProgPortmap, 2, 3, args),
                              test::rpc_reply(2, Xdr().u32(20048).bytes())}}),
        111);
    EXPECT_TRUE(has_procedure(f, "PORTMAP v2 NULL"));
    EXPECT_TRUE(has_procedure(f, "PORTMAP v2 GETPORT"));
}

TEST(RpcLabels, MountAndNfsAclKeepTheirLabels) {
    const RpcFacts f = test::analyse_rpc(test::rpc_exchanges(
        {{test::rpc_call(1, rpc::kProgMount, 3, 1, Xdr().str("/export").bytes()),
          test::rpc_reply(1, Xdr().u32(0).opaque(ByteVec(28, 3)).u32(1).u32(1).bytes())},
         {test::rpc_call(2, rpc::kProgNfsAcl, 3, 0), test::rpc_reply(2)}}));
    EXPECT_TRUE(has_procedure(f, "MOUNT v3 MNT"));
    EXPECT_TRUE(has_procedure(f, "NFS_ACL v3 NULL"));
}

}  // namespace
}  // namespace vxcheck::analyze

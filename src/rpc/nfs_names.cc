// NFS name tables, from the RFCs (not from Wireshark's: RFC 8881 names 10057
// NFS4ERR_BACK_CHAN_BUSY): nfs_opnum4 and nfs_cb_opnum4 (RFC 8881 sections 16.2 and 20, RFC 7862
// section 11.2, RFC 8276 section 8.4), nfsstat4 (RFC 8881 section 15.1, RFC 7862 section 11.1,
// RFC 8276 section 8.3), nfsstat3 (RFC 1813 section 2.6).

#include <array>
#include <cstdint>
#include <string_view>

#include "vxcheck/rpc/nfs.h"

namespace vxcheck::rpc {
namespace {

constexpr std::uint32_t kFirstOp = 3;
constexpr std::uint32_t kIllegalOp = 10044;

// nfs_opnum4 3..75.
constexpr std::array<std::string_view, 73> kOps = {
    "ACCESS", "CLOSE", "COMMIT", "CREATE", "DELEGPURGE", "DELEGRETURN", "GETATTR", "GETFH", "LINK",
    "LOCK", "LOCKT", "LOCKU", "LOOKUP", "LOOKUPP", "NVERIFY", "OPEN", "OPENATTR", "OPEN_CONFIRM",
    "OPEN_DOWNGRADE", "PUTFH", "PUTPUBFH", "PUTROOTFH", "READ", "READDIR", "READLINK", "REMOVE",
    "RENAME", "RENEW", "RESTOREFH", "SAVEFH", "SECINFO", "SETATTR", "SETCLIENTID",
    "SETCLIENTID_CONFIRM", "VERIFY", "WRITE", "RELEASE_LOCKOWNER",
    // NFSv4.1
    "BACKCHANNEL_CTL", "BIND_CONN_TO_SESSION", "EXCHANGE_ID", "CREATE_SESSION", "DESTROY_SESSION",
    "FREE_STATEID", "GET_DIR_DELEGATION", "GETDEVICEINFO", "GETDEVICELIST", "LAYOUTCOMMIT",
    "LAYOUTGET", "LAYOUTRETURN", "SECINFO_NO_NAME", "SEQUENCE", "SET_SSV", "TEST_STATEID",
    "WANT_DELEGATION", "DESTROY_CLIENTID", "RECLAIM_COMPLETE",
    // NFSv4.2
    "ALLOCATE", "COPY", "COPY_NOTIFY", "DEALLOCATE", "IO_ADVISE", "LAYOUTERROR", "LAYOUTSTATS",
    "OFFLOAD_CANCEL", "OFFLOAD_STATUS", "READ_PLUS", "SEEK", "WRITE_SAME", "CLONE",
    // RFC 8276 extended attributes
    "GETXATTR", "SETXATTR", "LISTXATTRS", "REMOVEXATTR"};

// nfs_cb_opnum4 3..15.
constexpr std::array<std::string_view, 13> kCbOps = {
    "CB_GETATTR",    "CB_RECALL",          "CB_LAYOUTRECALL",         "CB_NOTIFY",
    "CB_PUSH_DELEG", "CB_RECALL_ANY",      "CB_RECALLABLE_OBJ_AVAIL", "CB_RECALL_SLOT",
    "CB_SEQUENCE",   "CB_WANTS_CANCELLED", "CB_NOTIFY_LOCK",          "CB_NOTIFY_DEVICEID",
    "CB_OFFLOAD"};

struct Named {
    std::uint32_t value;
    std::string_view name;
};

// nfsstat4 values below 10000 (the POSIX-like ones).
constexpr std::array<Named, 22> kNfs4Low = {{
    {0, "NFS4_OK"},
    {1, "NFS4ERR_PERM"},
    {2, "NFS4ERR_NOENT"},
    {5, "NFS4ERR_IO"},
    {6, "NFS4ERR_NXIO"},
    {13, "NFS4ERR_ACCESS"},
    {17, "NFS4ERR_EXIST"},
    {18, "NFS4ERR_XDEV"},
    {20, "NFS4ERR_NOTDIR"},
    {21, "NFS4ERR_ISDIR"},
    {22, "NFS4ERR_INVAL"},
    {27, "NFS4ERR_FBIG"},
    {28, "NFS4ERR_NOSPC"},
    {30, "NFS4ERR_ROFS"},
    {31, "NFS4ERR_MLINK"},
    {63, "NFS4ERR_NAMETOOLONG"},
    {66, "NFS4ERR_NOTEMPTY"},
    {69, "NFS4ERR_DQUOT"},
    {70, "NFS4ERR_STALE"},
    {10001, "NFS4ERR_BADHANDLE"},
    {10003, "NFS4ERR_BAD_COOKIE"},
    {10004, "NFS4ERR_NOTSUPP"},
}};

// nfsstat4 10005..10096 (index value - 10005; "" where unassigned: 10073).
constexpr std::uint32_t kNfs4HighFirst = 10005;
constexpr std::array<std::string_view, 92> kNfs4High = {
    "NFS4ERR_TOOSMALL", "NFS4ERR_SERVERFAULT", "NFS4ERR_BADTYPE", "NFS4ERR_DELAY", "NFS4ERR_SAME",
    "NFS4ERR_DENIED", "NFS4ERR_EXPIRED", "NFS4ERR_LOCKED", "NFS4ERR_GRACE", "NFS4ERR_FHEXPIRED",
    "NFS4ERR_SHARE_DENIED", "NFS4ERR_WRONGSEC", "NFS4ERR_CLID_INUSE", "NFS4ERR_RESOURCE",
    "NFS4ERR_MOVED", "NFS4ERR_NOFILEHANDLE", "NFS4ERR_MINOR_VERS_MISMATCH",
    "NFS4ERR_STALE_CLIENTID", "NFS4ERR_STALE_STATEID", "NFS4ERR_OLD_STATEID", "NFS4ERR_BAD_STATEID",
    "NFS4ERR_BAD_SEQID", "NFS4ERR_NOT_SAME", "NFS4ERR_LOCK_RANGE", "NFS4ERR_SYMLINK",
    "NFS4ERR_RESTOREFH", "NFS4ERR_LEASE_MOVED", "NFS4ERR_ATTRNOTSUPP", "NFS4ERR_NO_GRACE",
    "NFS4ERR_RECLAIM_BAD", "NFS4ERR_RECLAIM_CONFLICT", "NFS4ERR_BADXDR", "NFS4ERR_LOCKS_HELD",
    "NFS4ERR_OPENMODE", "NFS4ERR_BADOWNER", "NFS4ERR_BADCHAR", "NFS4ERR_BADNAME",
    "NFS4ERR_BAD_RANGE", "NFS4ERR_LOCK_NOTSUPP", "NFS4ERR_OP_ILLEGAL", "NFS4ERR_DEADLOCK",
    "NFS4ERR_FILE_OPEN", "NFS4ERR_ADMIN_REVOKED", "NFS4ERR_CB_PATH_DOWN",
    // NFSv4.1
    "NFS4ERR_BADIOMODE", "NFS4ERR_BADLAYOUT", "NFS4ERR_BAD_SESSION_DIGEST", "NFS4ERR_BADSESSION",
    "NFS4ERR_BADSLOT", "NFS4ERR_COMPLETE_ALREADY", "NFS4ERR_CONN_NOT_BOUND_TO_SESSION",
    "NFS4ERR_DELEG_ALREADY_WANTED", "NFS4ERR_BACK_CHAN_BUSY", "NFS4ERR_LAYOUTTRYLATER",
    "NFS4ERR_LAYOUTUNAVAILABLE", "NFS4ERR_NOMATCHING_LAYOUT", "NFS4ERR_RECALLCONFLICT",
    "NFS4ERR_UNKNOWN_LAYOUTTYPE", "NFS4ERR_SEQ_MISORDERED", "NFS4ERR_SEQUENCE_POS",
    "NFS4ERR_REQ_TOO_BIG", "NFS4ERR_REP_TOO_BIG", "NFS4ERR_REP_TOO_BIG_TO_CACHE",
    "NFS4ERR_RETRY_UNCACHED_REP", "NFS4ERR_UNSAFE_COMPOUND", "NFS4ERR_TOO_MANY_OPS",
    "NFS4ERR_OP_NOT_IN_SESSION", "NFS4ERR_HASH_ALG_UNSUPP", "", "NFS4ERR_CLIENTID_BUSY",
    "NFS4ERR_PNFS_IO_HOLE", "NFS4ERR_SEQ_FALSE_RETRY", "NFS4ERR_BAD_HIGH_SLOT",
    "NFS4ERR_DEADSESSION", "NFS4ERR_ENCR_ALG_UNSUPP", "NFS4ERR_PNFS_NO_LAYOUT",
    "NFS4ERR_NOT_ONLY_OP", "NFS4ERR_WRONG_CRED", "NFS4ERR_WRONG_TYPE", "NFS4ERR_DIRDELEG_UNAVAIL",
    "NFS4ERR_REJECT_DELEG", "NFS4ERR_RETURNCONFLICT", "NFS4ERR_DELEG_REVOKED",
    // NFSv4.2 (RFC 7862)
    "NFS4ERR_PARTNER_NOTSUPP", "NFS4ERR_PARTNER_NO_AUTH", "NFS4ERR_UNION_NOTSUPP",
    "NFS4ERR_OFFLOAD_DENIED", "NFS4ERR_WRONG_LFS", "NFS4ERR_BADLABEL", "NFS4ERR_OFFLOAD_NO_REQS",
    // RFC 8276
    "NFS4ERR_NOXATTR", "NFS4ERR_XATTR2BIG"};

constexpr std::array<Named, 29> kNfs3 = {{
    {0, "NFS3_OK"},
    {1, "NFS3ERR_PERM"},
    {2, "NFS3ERR_NOENT"},
    {5, "NFS3ERR_IO"},
    {6, "NFS3ERR_NXIO"},
    {13, "NFS3ERR_ACCES"},
    {17, "NFS3ERR_EXIST"},
    {18, "NFS3ERR_XDEV"},
    {19, "NFS3ERR_NODEV"},
    {20, "NFS3ERR_NOTDIR"},
    {21, "NFS3ERR_ISDIR"},
    {22, "NFS3ERR_INVAL"},
    {27, "NFS3ERR_FBIG"},
    {28, "NFS3ERR_NOSPC"},
    {30, "NFS3ERR_ROFS"},
    {31, "NFS3ERR_MLINK"},
    {63, "NFS3ERR_NAMETOOLONG"},
    {66, "NFS3ERR_NOTEMPTY"},
    {69, "NFS3ERR_DQUOT"},
    {70, "NFS3ERR_STALE"},
    {71, "NFS3ERR_REMOTE"},
    {10001, "NFS3ERR_BADHANDLE"},
    {10002, "NFS3ERR_NOT_SYNC"},
    {10003, "NFS3ERR_BAD_COOKIE"},
    {10004, "NFS3ERR_NOTSUPP"},
    {10005, "NFS3ERR_TOOSMALL"},
    {10006, "NFS3ERR_SERVERFAULT"},
    {10007, "NFS3ERR_BADTYPE"},
    {10008, "NFS3ERR_JUKEBOX"},
}};

template <std::size_t N>
std::string_view find(const std::array<Named, N>& table, std::uint32_t value) noexcept {
    for (const Named& n : table) {
        if (n.value == value) {
            return n.name;
        }
    }
    return {};
}

}  // namespace

std::string_view nfs_op_name(std::uint32_t opnum) noexcept {
    if (opnum == kIllegalOp) {
        return "ILLEGAL";
    }
    return opnum >= kFirstOp && opnum - kFirstOp < kOps.size() ? kOps[opnum - kFirstOp]
                                                               : std::string_view{};
}

std::string_view nfs_cb_op_name(std::uint32_t opnum) noexcept {
    if (opnum == kIllegalOp) {
        return "CB_ILLEGAL";
    }
    return opnum >= kFirstOp && opnum - kFirstOp < kCbOps.size() ? kCbOps[opnum - kFirstOp]
                                                                 : std::string_view{};
}

std::string_view nfsstat4_name(std::uint32_t status) noexcept {
    if (status >= kNfs4HighFirst && status - kNfs4HighFirst < kNfs4High.size()) {
        return kNfs4High[status - kNfs4HighFirst];
    }
    return find(kNfs4Low, status);
}

std::string_view nfsstat3_name(std::uint32_t status) noexcept {
    return find(kNfs3, status);
}

}  // namespace vxcheck::rpc

// ONC RPC message headers (RFC 5531 section 9):
//
//   CALL:  xid | msg_type=0 | rpcvers=2 | prog | vers | proc | cred | verf | args...
//   REPLY: xid | msg_type=1 | reply_stat |
//          MSG_ACCEPTED: verf | accept_stat | SUCCESS: results... | PROG_MISMATCH: low high
//          MSG_DENIED:   reject_stat | RPC_MISMATCH: low high | AUTH_ERROR: auth_stat
//   opaque_auth: flavor | length (<= 400) | body, padded to 4

#include "vxcheck/rpc/message.h"

#include <array>

#include "vxcheck/rpc/xdr.h"

namespace vxcheck::rpc {
namespace {

constexpr std::uint32_t kMaxMachineName = 255;  // authsys_parms machinename<255>
constexpr std::uint32_t kMaxAuthSysGids = 16;   // authsys_parms gids<16>

/// Reads an opaque_auth; `too_long` and `truncated` name the failure for the field read.
ParseResult read_auth(XdrReader& in, OpaqueAuth& out, ParseResult too_long,
                      ParseResult truncated) noexcept {
    out.flavor = in.u32();
    const std::uint32_t len = in.u32();
    if (!in.ok()) {
        return truncated;
    }
    if (len > kMaxAuthBody) {
        return too_long;
    }
    out.body = in.fixed(len);
    return in.ok() ? ParseResult::Ok : truncated;
}

/// Reads a discriminant with values 0..max into `out`: TooShort when it is missing, `bad` when
/// it is out of range.
template <typename Enum>
ParseResult read_stat(XdrReader& in, Enum max, Enum& out, ParseResult bad) noexcept {
    const std::uint32_t v = in.u32();
    if (!in.ok()) {
        return ParseResult::TooShort;
    }
    if (v > static_cast<std::uint32_t>(max)) {
        return bad;
    }
    out = static_cast<Enum>(v);
    return ParseResult::Ok;
}

/// The supported-version range of RPC_MISMATCH and PROG_MISMATCH.
ParseResult read_mismatch(XdrReader& in, ReplyHeader& reply) noexcept {
    reply.mismatch_low = in.u32();
    reply.mismatch_high = in.u32();
    return in.ok() ? ParseResult::Ok : ParseResult::MismatchTruncated;
}

ParseResult parse_call(XdrReader& in, CallHeader& call) noexcept {
    call.rpcvers = in.u32();
    if (!in.ok()) {
        return ParseResult::TooShort;
    }
    if (call.rpcvers != kRpcVersion) {
        return ParseResult::BadRpcVersion;
    }
    call.prog = in.u32();
    call.vers = in.u32();
    call.proc = in.u32();
    if (!in.ok()) {
        return ParseResult::TooShort;
    }
    ParseResult r = read_auth(in, call.cred, ParseResult::CredTooLong, ParseResult::CredTruncated);
    if (r == ParseResult::Ok) {
        r = read_auth(in, call.verf, ParseResult::VerfTooLong, ParseResult::VerfTruncated);
    }
    if (r == ParseResult::Ok) {
        call.args = in.rest();
    }
    return r;
}

ParseResult parse_accepted(XdrReader& in, ReplyHeader& reply) noexcept {
    ParseResult r = read_auth(in, reply.verf, ParseResult::VerfTooLong, ParseResult::VerfTruncated);
    if (r == ParseResult::Ok) {
        r = read_stat(in, AcceptStat::SystemErr, reply.accept, ParseResult::BadAcceptStat);
    }
    if (r != ParseResult::Ok) {
        return r;
    }
    if (reply.accept == AcceptStat::ProgMismatch) {
        return read_mismatch(in, reply);
    }
    if (reply.accept == AcceptStat::Success) {
        reply.results = in.rest();
    }
    return ParseResult::Ok;
}

ParseResult parse_denied(XdrReader& in, ReplyHeader& reply) noexcept {
    const ParseResult r =
        read_stat(in, RejectStat::AuthError, reply.reject, ParseResult::BadRejectStat);
    if (r != ParseResult::Ok) {
        return r;
    }
    if (reply.reject == RejectStat::RpcMismatch) {
        return read_mismatch(in, reply);
    }
    return read_stat(in, AuthStat::RpcsecGssCtxProblem, reply.auth, ParseResult::BadAuthStat);
}

ParseResult parse_reply(XdrReader& in, ReplyHeader& reply) noexcept {
    const ParseResult r = read_stat(in, ReplyStat::Denied, reply.stat, ParseResult::BadReplyStat);
    if (r != ParseResult::Ok) {
        return r;
    }
    return reply.stat == ReplyStat::Accepted ? parse_accepted(in, reply) : parse_denied(in, reply);
}

template <std::size_t N>
std::string_view lookup(const std::array<std::string_view, N>& names, std::uint32_t i) noexcept {
    return i < N ? names[i] : std::string_view{};
}

constexpr std::array<std::string_view, 22> kNfs3Procs = {
    "NULL",    "GETATTR",     "SETATTR", "LOOKUP", "ACCESS",   "READLINK", "READ",   "WRITE",
    "CREATE",  "MKDIR",       "SYMLINK", "MKNOD",  "REMOVE",   "RMDIR",    "RENAME", "LINK",
    "READDIR", "READDIRPLUS", "FSSTAT",  "FSINFO", "PATHCONF", "COMMIT"};
// NFSv2 (RFC 1094 section 2.2).
constexpr std::array<std::string_view, 18> kNfs2Procs = {
    "NULL",   "GETATTR", "SETATTR", "ROOT", "LOOKUP",  "READLINK", "READ",  "WRITECACHE", "WRITE",
    "CREATE", "REMOVE",  "RENAME",  "LINK", "SYMLINK", "MKDIR",    "RMDIR", "READDIR",    "STATFS"};
constexpr std::array<std::string_view, 2> kNfs4Procs = {"NULL", "COMPOUND"};
constexpr std::array<std::string_view, 2> kCbProcs = {"CB_NULL", "CB_COMPOUND"};
// MOUNT v1 and v3 (RFC 1813 section 5.2, procedures 0-5); v2 adds EXPORTALL and PATHCONF.
constexpr std::array<std::string_view, 8> kMountProcs = {
    "NULL", "MNT", "DUMP", "UMNT", "UMNTALL", "EXPORT", "EXPORTALL", "PATHCONF"};
constexpr std::array<std::string_view, 6> kPortmapV2Procs = {"NULL",    "SET",  "UNSET",
                                                             "GETPORT", "DUMP", "CALLIT"};
// rpcbind v3/v4 (RFC 1833 section 2.2).
constexpr std::array<std::string_view, 13> kRpcbindProcs = {
    "NULL",        "SET",         "UNSET",       "GETADDR",  "DUMP",        "CALLIT", "GETTIME",
    "UADDR2TADDR", "TADDR2UADDR", "GETVERSADDR", "INDIRECT", "GETADDRLIST", "GETSTAT"};

std::string_view mount_proc(std::uint32_t vers, std::uint32_t proc) noexcept {
    if (vers == 1 || vers == 3) {
        return lookup(kMountProcs, proc <= 5 ? proc : 99);
    }
    if (vers == 2) {
        return lookup(kMountProcs, proc);
    }
    return {};
}

std::string_view portmap_proc(std::uint32_t vers, std::uint32_t proc) noexcept {
    if (vers == 2) {
        return lookup(kPortmapV2Procs, proc);
    }
    if (vers == 3) {
        return lookup(kRpcbindProcs, proc <= 8 ? proc : 99);
    }
    if (vers == 4) {
        return lookup(kRpcbindProcs, proc);
    }
    return {};
}

/// An opaque_auth at `off` of `b` that lies wholly in `b` (its padding included) and is no
/// longer than RFC 5531 allows: its fields, and the offset after it. False for anything else,
/// which the reader-based parse below then names.
bool auth_in(Bytes b, std::size_t off, OpaqueAuth& out, std::size_t& next) noexcept {
    if (b.size() < 8 || off > b.size() - 8) {
        return false;
    }
    const std::uint32_t len = be32(b, off + 4);
    if (len > kMaxAuthBody || len + xdr_pad(len) > b.size() - off - 8) {
        return false;
    }
    out.flavor = be32(b, off);
    out.body = b.subspan(off + 8, len);
    next = off + 8 + len + xdr_pad(len);
    return true;
}

/// The headers nearly every message has, read from the first kept bytes without the reader:
/// a CALL of RPC version 2, or an accepted REPLY with accept_stat SUCCESS, whose fields and
/// opaque_auths all lie in `message.head`. False (out untouched) for anything else: the
/// reader-based parse handles it and names what is wrong. Both give the same result for what
/// this one accepts.
bool parse_common(const XdrBytes& message, Message& out) noexcept {
    const Bytes b = message.head;
    if (b.size() < 24) {
        return false;
    }
    const std::uint32_t type = be32(b, 4);
    std::size_t next = 0;
    if (type == static_cast<std::uint32_t>(MsgType::Call)) {
        if (b.size() < 40 || be32(b, 8) != kRpcVersion || !auth_in(b, 24, out.call.cred, next) ||
            !auth_in(b, next, out.call.verf, next)) {
            return false;
        }
        out.call.prog = be32(b, 12);
        out.call.vers = be32(b, 16);
        out.call.proc = be32(b, 20);
        out.call.args = message.from(next);
    } else if (type == static_cast<std::uint32_t>(MsgType::Reply)) {
        if (be32(b, 8) != static_cast<std::uint32_t>(ReplyStat::Accepted) ||
            !auth_in(b, 12, out.reply.verf, next) || next > b.size() - 4 ||
            be32(b, next) != static_cast<std::uint32_t>(AcceptStat::Success)) {
            return false;
        }
        out.reply.results = message.from(next + 4);
    } else {
        return false;
    }
    out.xid = be32(b, 0);
    out.type = static_cast<MsgType>(type);
    return true;
}

}  // namespace

ParseResult parse_message(XdrBytes message, Message& out) noexcept {
    out = Message{};
    if (parse_common(message, out)) {
        return ParseResult::Ok;
    }
    out = Message{};  // parse_common() may have filled some fields before it gave up
    XdrReader in{message};
    out.xid = in.u32();
    const std::uint32_t type = in.u32();
    if (!in.ok()) {
        return ParseResult::TooShort;
    }
    if (type > static_cast<std::uint32_t>(MsgType::Reply)) {
        return ParseResult::BadMsgType;
    }
    out.type = static_cast<MsgType>(type);
    return out.type == MsgType::Call ? parse_call(in, out.call) : parse_reply(in, out.reply);
}

bool plausible_message_start(Bytes message) noexcept {
    if (message.size() < 12) {
        return false;
    }
    const std::uint32_t type = be32(message, 4);
    if (type == static_cast<std::uint32_t>(MsgType::Call)) {
        return be32(message, 8) == kRpcVersion;
    }
    return type == static_cast<std::uint32_t>(MsgType::Reply) &&
           be32(message, 8) <= static_cast<std::uint32_t>(ReplyStat::Denied);
}

bool parse_auth_sys(Bytes body, AuthSys& out) noexcept {
    XdrReader in{body};
    out.stamp = in.u32();
    out.machinename = in.string(kMaxMachineName);
    out.uid = in.u32();
    out.gid = in.u32();
    out.gid_count = in.u32();
    if (!in.ok() || out.gid_count > kMaxAuthSysGids) {
        return false;
    }
    in.skip(std::size_t{out.gid_count} * 4);
    return in.ok();
}

std::string_view to_string(ParseResult r) noexcept {
    switch (r) {
        case ParseResult::Ok:
            return "rpc.ok";
        case ParseResult::TooShort:
            return "rpc.too_short";
        case ParseResult::BadMsgType:
            return "rpc.bad_msg_type";
        case ParseResult::BadRpcVersion:
            return "rpc.bad_rpc_version";
        case ParseResult::CredTooLong:
            return "rpc.cred_too_long";
        case ParseResult::CredTruncated:
            return "rpc.cred_truncated";
        case ParseResult::VerfTooLong:
            return "rpc.verf_too_long";
        case ParseResult::VerfTruncated:
            return "rpc.verf_truncated";
        case ParseResult::BadReplyStat:
            return "rpc.bad_reply_stat";
        case ParseResult::BadAcceptStat:
            return "rpc.bad_accept_stat";
        case ParseResult::BadRejectStat:
            return "rpc.bad_reject_stat";
        case ParseResult::BadAuthStat:
            return "rpc.bad_auth_stat";
        case ParseResult::MismatchTruncated:
            return "rpc.mismatch_truncated";
    }
    return "rpc.unknown";
}

std::string_view to_string(MsgType t) noexcept {
    return t == MsgType::Call ? "CALL" : "REPLY";
}

std::string_view to_string(ReplyStat s) noexcept {
    return s == ReplyStat::Accepted ? "MSG_ACCEPTED" : "MSG_DENIED";
}

std::string_view to_string(AcceptStat s) noexcept {
    static constexpr std::array<std::string_view, 6> kNames = {
        "SUCCESS", "PROG_UNAVAIL", "PROG_MISMATCH", "PROC_UNAVAIL", "GARBAGE_ARGS", "SYSTEM_ERR"};
    return lookup(kNames, static_cast<std::uint32_t>(s));
}

std::string_view to_string(RejectStat s) noexcept {
    return s == RejectStat::RpcMismatch ? "RPC_MISMATCH" : "AUTH_ERROR";
}

std::string_view to_string(AuthStat s) noexcept {
    static constexpr std::array<std::string_view, 15> kNames = {
        "AUTH_OK",           "AUTH_BADCRED",           "AUTH_REJECTEDCRED",    "AUTH_BADVERF",
        "AUTH_REJECTEDVERF", "AUTH_TOOWEAK",           "AUTH_INVALIDRESP",     "AUTH_FAILED",
        "AUTH_KERB_GENERIC", "AUTH_TIMEEXPIRE",        "AUTH_TKTFILE",         "AUTH_DECODE",
        "AUTH_NET_ADDR",     "RPCSEC_GSS_CREDPROBLEM", "RPCSEC_GSS_CTXPROBLEM"};
    return lookup(kNames, static_cast<std::uint32_t>(s));
}

std::string_view auth_flavor_name(std::uint32_t flavor) noexcept {
    static constexpr std::array<std::string_view, 7> kNames = {
        "AUTH_NONE", "AUTH_SYS", "AUTH_SHORT", "AUTH_DH", "AUTH_KERB", "AUTH_RSA", "RPCSEC_GSS"};
    return lookup(kNames, flavor);
}

std::string_view program_name(std::uint32_t prog) noexcept {
    switch (prog) {
        case kProgPortmap:
            return "Portmap";
        case kProgNfs:
            return "NFS";
        case kProgMount:
            return "MOUNT";
        case kProgNlm:
            return "NLM";
        case kProgNsm:
            return "STAT";
        case kProgNfsAcl:
            return "NFSACL";
        case kProgNfsCallbackLinux:
            return "NFS_CB";
        default:
            return {};
    }
}

std::string_view procedure_name(std::uint32_t prog, std::uint32_t vers,
                                std::uint32_t proc) noexcept {
    switch (prog) {
        case kProgNfs:
            if (vers == 2) {
                return lookup(kNfs2Procs, proc);
            }
            if (vers == 3) {
                return lookup(kNfs3Procs, proc);
            }
            return vers == 4 ? lookup(kNfs4Procs, proc) : std::string_view{};
        case kProgNfsCallbackLinux:
            return lookup(kCbProcs, proc);
        case kProgMount:
            return mount_proc(vers, proc);
        case kProgPortmap:
            return portmap_proc(vers, proc);
        default:
            return {};
    }
}

}  // namespace vxcheck::rpc

#pragma once
// ONC RPC message headers (RFC 5531 section 9) and the names of the programs and procedures
// vxcheck knows. Parsing is bounds-checked and never allocates: every view points into the
// message given to parse_message().

#include <cstdint>
#include <string_view>

#include "vxcheck/bytes.h"
#include "vxcheck/rpc/xdr.h"

namespace vxcheck::rpc {

// Program numbers (RFC 5531 appendix / IANA "ONC RPC program numbers").
inline constexpr std::uint32_t kProgPortmap = 100000;  // portmap v2 (RFC 1833), rpcbind v3/v4
inline constexpr std::uint32_t kProgNfs = 100003;
inline constexpr std::uint32_t kProgMount = 100005;
inline constexpr std::uint32_t kProgNlm = 100021;
inline constexpr std::uint32_t kProgNsm = 100024;
inline constexpr std::uint32_t kProgNfsAcl = 100227;
// The NFSv4 callback program is chosen by the client (SETCLIENTID cb_program, CREATE_SESSION
// csa_cb_program); Linux uses this number.
inline constexpr std::uint32_t kProgNfsCallbackLinux = 0x40000000;

inline constexpr std::uint32_t kRpcVersion = 2;
// RFC 5531 section 8.2: opaque_auth bodies are at most 400 bytes.
inline constexpr std::uint32_t kMaxAuthBody = 400;
// Smallest CALL (xid, msg_type, rpcvers, prog, vers, proc, two empty opaque_auth) and REPLY
// (xid, msg_type, reply_stat, empty verifier, accept_stat; or a denial with one word).
inline constexpr std::size_t kMinCallLen = 40;
inline constexpr std::size_t kMinReplyLen = 20;

enum class MsgType : std::uint32_t { Call = 0, Reply = 1 };
enum class ReplyStat : std::uint32_t { Accepted = 0, Denied = 1 };
enum class AcceptStat : std::uint32_t {
    Success = 0,
    ProgUnavail = 1,
    ProgMismatch = 2,
    ProcUnavail = 3,
    GarbageArgs = 4,
    SystemErr = 5,
};
enum class RejectStat : std::uint32_t { RpcMismatch = 0, AuthError = 1 };
/// auth_stat (RFC 5531 section 9; 13-14 RFC 2203 RPCSEC_GSS).
enum class AuthStat : std::uint32_t {
    Ok = 0,
    BadCred = 1,
    RejectedCred = 2,
    BadVerf = 3,
    RejectedVerf = 4,
    TooWeak = 5,
    InvalidResp = 6,
    Failed = 7,
    KerbGeneric = 8,
    TimeExpire = 9,
    TktFile = 10,
    Decode = 11,
    NetAddr = 12,
    RpcsecGssCredProblem = 13,
    RpcsecGssCtxProblem = 14,
};

// Authentication flavors (RFC 5531 section 8.2, RFC 2203). Other values are legal and skipped.
inline constexpr std::uint32_t kAuthNone = 0;
inline constexpr std::uint32_t kAuthSys = 1;
inline constexpr std::uint32_t kAuthShort = 2;
inline constexpr std::uint32_t kAuthDh = 3;
inline constexpr std::uint32_t kRpcsecGss = 6;

/// Why a message is not a well-formed RPC header. Every value has a name (to_string).
enum class ParseResult : std::uint8_t {
    Ok,
    TooShort,           // fewer bytes than the fixed header
    BadMsgType,         // msg_type not 0 or 1
    BadRpcVersion,      // CALL with rpcvers != 2
    CredTooLong,        // credential body longer than 400 bytes
    CredTruncated,      // credential body runs past the message
    VerfTooLong,        // verifier body longer than 400 bytes
    VerfTruncated,      // verifier body runs past the message
    BadReplyStat,       // reply_stat not 0 or 1
    BadAcceptStat,      // accept_stat above SYSTEM_ERR
    BadRejectStat,      // reject_stat not 0 or 1
    BadAuthStat,        // auth_stat above RPCSEC_GSS_CTXPROBLEM
    MismatchTruncated,  // RPC_MISMATCH / PROG_MISMATCH without both low and high
};

/// "rpc.too_short", "rpc.bad_msg_type", ...: anomaly names as decode's are spelled.
[[nodiscard]] std::string_view to_string(ParseResult r) noexcept;

struct OpaqueAuth {
    std::uint32_t flavor = kAuthNone;
    Bytes body;  // at most kMaxAuthBody bytes
};

struct CallHeader {
    std::uint32_t rpcvers = kRpcVersion;
    std::uint32_t prog = 0;
    std::uint32_t vers = 0;
    std::uint32_t proc = 0;
    OpaqueAuth cred;
    OpaqueAuth verf;
    XdrBytes args;  // the procedure's arguments: the rest of the message, as far as it was kept
};

struct ReplyHeader {
    ReplyStat stat = ReplyStat::Accepted;
    // MSG_ACCEPTED
    OpaqueAuth verf;
    AcceptStat accept = AcceptStat::Success;
    XdrBytes results;  // SUCCESS: the procedure's results (the rest of the message, as kept)
    // MSG_DENIED
    RejectStat reject = RejectStat::RpcMismatch;
    AuthStat auth = AuthStat::Ok;  // AUTH_ERROR
    // PROG_MISMATCH (accepted) or RPC_MISMATCH (denied): supported versions
    std::uint32_t mismatch_low = 0;
    std::uint32_t mismatch_high = 0;
};

struct Message {
    std::uint32_t xid = 0;
    MsgType type = MsgType::Call;
    CallHeader call;    // valid when type == Call
    ReplyHeader reply;  // valid when type == Reply
};

/// Parses the RPC header of one message (record marks already removed). `message` may be a
/// prefix of the message: the header must be whole, the args/results view is what is there.
/// On failure `out` holds what was read before the failure (at least xid when Ok or not
/// TooShort).
[[nodiscard]] ParseResult parse_message(XdrBytes message, Message& out) noexcept;

/// True when the first bytes look like the start of an RPC message: msg_type 0 or 1, and for a
/// call rpcvers 2. Used to resynchronise a record stream. Needs at least 12 bytes.
[[nodiscard]] bool plausible_message_start(Bytes message) noexcept;

/// AUTH_SYS credential body (RFC 5531 appendix A: authsys_parms).
struct AuthSys {
    std::uint32_t stamp = 0;
    std::string_view machinename;  // <= 255 bytes, as sent
    std::uint32_t uid = 0;
    std::uint32_t gid = 0;
    std::uint32_t gid_count = 0;  // <= 16
};
/// Parses an AUTH_SYS credential body; false when it is malformed or truncated.
[[nodiscard]] bool parse_auth_sys(Bytes body, AuthSys& out) noexcept;

// Names as RFC 5531 spells them: "SUCCESS", "PROG_UNAVAIL", "MSG_DENIED" ...
[[nodiscard]] std::string_view to_string(MsgType t) noexcept;
[[nodiscard]] std::string_view to_string(ReplyStat s) noexcept;
[[nodiscard]] std::string_view to_string(AcceptStat s) noexcept;
[[nodiscard]] std::string_view to_string(RejectStat s) noexcept;
[[nodiscard]] std::string_view to_string(AuthStat s) noexcept;  // "AUTH_TOOWEAK"
/// Flavor name ("AUTH_NONE", "AUTH_SYS", "RPCSEC_GSS" ...) or "" when unknown.
[[nodiscard]] std::string_view auth_flavor_name(std::uint32_t flavor) noexcept;

/// Program name as Wireshark's short protocol names give it ("NFS", "MOUNT", "Portmap", "NLM",
/// "STAT", "NFSACL"), or "" when unknown (the caller prints the number). The callback program
/// is "NFS_CB", the spelling of vxcheck's JSON keys; Wireshark's short name is "NFS CB", so a
/// comparison with tshark maps one to the other.
[[nodiscard]] std::string_view program_name(std::uint32_t prog) noexcept;
/// Procedure name: NFSv3 (RFC 1813), NFSv4 (NULL, COMPOUND), MOUNT v1-v3, portmap v2 and
/// rpcbind v3/v4, the NFSv4 callback program (CB_NULL, CB_COMPOUND); "" when unknown (the
/// caller prints procN).
[[nodiscard]] std::string_view procedure_name(std::uint32_t prog, std::uint32_t vers,
                                              std::uint32_t proc) noexcept;

}  // namespace vxcheck::rpc

#pragma once
// NFS decoding for the RPC verdicts: NFSv3 reply status (RFC 1813), NFSv4 COMPOUND calls and
// replies (RFC 7530 v4.0, RFC 8881 v4.1, RFC 7862 v4.2) with the arguments and results the rules
// need, and the v4.1 backchannel CB_COMPOUND. Names come from the RFCs (not from Wireshark's
// tables: 10057 is NFS4ERR_BACK_CHAN_BUSY). Bounds-checked, no allocation: views point into the
// bytes given.

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include "vxcheck/bytes.h"
#include "vxcheck/rpc/xdr.h"

namespace vxcheck::rpc {

// Procedures.
inline constexpr std::uint32_t kNfsProcNull = 0;
inline constexpr std::uint32_t kNfs4ProcCompound = 1;  // NFSv4 and the callback program
inline constexpr std::uint32_t kCbProcCompound = 1;

// nfs_opnum4 values the decoder acts on (the full table is behind nfs_op_name()).
namespace op {
inline constexpr std::uint32_t kAccess = 3;
inline constexpr std::uint32_t kClose = 4;
inline constexpr std::uint32_t kCommit = 5;
inline constexpr std::uint32_t kCreate = 6;
inline constexpr std::uint32_t kDelegReturn = 8;
inline constexpr std::uint32_t kGetattr = 9;
inline constexpr std::uint32_t kGetfh = 10;
inline constexpr std::uint32_t kLookup = 15;
inline constexpr std::uint32_t kLookupp = 16;
inline constexpr std::uint32_t kOpen = 18;
inline constexpr std::uint32_t kPutfh = 22;
inline constexpr std::uint32_t kPutpubfh = 23;
inline constexpr std::uint32_t kPutrootfh = 24;
inline constexpr std::uint32_t kRead = 25;
inline constexpr std::uint32_t kReaddir = 26;
inline constexpr std::uint32_t kReadlink = 27;
inline constexpr std::uint32_t kRemove = 28;
inline constexpr std::uint32_t kRename = 29;
inline constexpr std::uint32_t kRenew = 30;
inline constexpr std::uint32_t kRestorefh = 31;
inline constexpr std::uint32_t kSavefh = 32;
inline constexpr std::uint32_t kSecinfo = 33;
inline constexpr std::uint32_t kSetattr = 34;
inline constexpr std::uint32_t kSetclientid = 35;
inline constexpr std::uint32_t kSetclientidConfirm = 36;
inline constexpr std::uint32_t kWrite = 38;
inline constexpr std::uint32_t kBindConnToSession = 41;
inline constexpr std::uint32_t kExchangeId = 42;
inline constexpr std::uint32_t kCreateSession = 43;
inline constexpr std::uint32_t kDestroySession = 44;
inline constexpr std::uint32_t kFreeStateid = 45;
inline constexpr std::uint32_t kLayoutget = 50;
inline constexpr std::uint32_t kSecinfoNoName = 52;
inline constexpr std::uint32_t kSequence = 53;
inline constexpr std::uint32_t kTestStateid = 55;
inline constexpr std::uint32_t kDestroyClientid = 57;
inline constexpr std::uint32_t kReclaimComplete = 58;
inline constexpr std::uint32_t kIllegal = 10044;
}  // namespace op

// nfs_cb_opnum4 values (RFC 8881 section 20).
namespace cb_op {
inline constexpr std::uint32_t kCbGetattr = 3;
inline constexpr std::uint32_t kCbRecall = 4;
inline constexpr std::uint32_t kCbLayoutrecall = 5;
inline constexpr std::uint32_t kCbSequence = 11;
inline constexpr std::uint32_t kCbIllegal = 10044;
}  // namespace cb_op

// nfsstat4 values the rules use (the full table is behind nfsstat4_name()).
namespace nfs4err {
inline constexpr std::uint32_t kOk = 0;
inline constexpr std::uint32_t kNoent = 2;
inline constexpr std::uint32_t kDelay = 10008;
inline constexpr std::uint32_t kExpired = 10011;
inline constexpr std::uint32_t kGrace = 10013;
inline constexpr std::uint32_t kClidInuse = 10017;
inline constexpr std::uint32_t kMinorVersMismatch = 10021;
inline constexpr std::uint32_t kStaleClientid = 10022;
inline constexpr std::uint32_t kBadxdr = 10036;
inline constexpr std::uint32_t kBadsession = 10052;
inline constexpr std::uint32_t kBadslot = 10053;
inline constexpr std::uint32_t kBackChanBusy = 10057;
inline constexpr std::uint32_t kSeqMisordered = 10063;
inline constexpr std::uint32_t kReqTooBig = 10065;
inline constexpr std::uint32_t kRepTooBig = 10066;
inline constexpr std::uint32_t kRepTooBigToCache = 10067;
inline constexpr std::uint32_t kOpNotInSession = 10071;
inline constexpr std::uint32_t kDeadsession = 10078;
}  // namespace nfs4err

/// "ACCESS" ... "RECLAIM_COMPLETE", the v4.2 ops up to "REMOVEXATTR" (75), "ILLEGAL"; "" unknown.
[[nodiscard]] std::string_view nfs_op_name(std::uint32_t opnum) noexcept;
/// "CB_GETATTR" ... "CB_OFFLOAD", "CB_ILLEGAL"; "" unknown.
[[nodiscard]] std::string_view nfs_cb_op_name(std::uint32_t opnum) noexcept;
/// "NFS4_OK", "NFS4ERR_NOENT" ... (RFC 8881 section 15.1, RFC 7862, RFC 8276); "" unknown.
[[nodiscard]] std::string_view nfsstat4_name(std::uint32_t status) noexcept;
/// "NFS3_OK", "NFS3ERR_NOENT" ... (RFC 1813 section 2.6); "" unknown.
[[nodiscard]] std::string_view nfsstat3_name(std::uint32_t status) noexcept;

// ---- NFSv3 -------------------------------------------------------------------------------

/// The nfsstat3 of an NFSv3 reply: the first word of the results of every procedure but NULL.
/// nullopt for NULL or when the results are shorter than 4 bytes.
[[nodiscard]] std::optional<std::uint32_t> nfs3_reply_status(std::uint32_t proc,
                                                             XdrBytes results) noexcept;

// ---- NFSv4 COMPOUND ----------------------------------------------------------------------

inline constexpr std::size_t kMaxOps = 32;        // ops recorded per COMPOUND
inline constexpr std::size_t kMaxTag = 1024;      // utf8str_cs tag accepted
inline constexpr std::size_t kMaxOwner = 1024;    // NFS4_OPAQUE_LIMIT
inline constexpr std::size_t kSessionIdLen = 16;  // NFS4_SESSIONID_SIZE
inline constexpr std::size_t kVerifierLen = 8;    // NFS4_VERIFIER_SIZE

using SessionId = std::array<std::uint8_t, kSessionIdLen>;
using Verifier4 = std::array<std::uint8_t, kVerifierLen>;

/// channel_attrs4 (RFC 8881 section 18.36).
struct ChannelAttrs {
    std::uint32_t headerpadsize = 0;
    std::uint32_t maxrequestsize = 0;
    std::uint32_t maxresponsesize = 0;
    std::uint32_t maxresponsesize_cached = 0;
    std::uint32_t maxoperations = 0;
    std::uint32_t maxrequests = 0;
    std::optional<std::uint32_t> rdma_ird;
};

struct ExchangeIdArgs {
    Verifier4 verifier{};  // co_verifier
    Bytes owner;           // co_ownerid (<= 1024 bytes)
    std::uint32_t flags = 0;
};
struct SetClientIdArgs {
    Verifier4 verifier{};  // nfs_client_id4.verifier
    Bytes id;              // nfs_client_id4.id (<= 1024 bytes)
};
struct SetClientIdConfirmArgs {
    std::uint64_t clientid = 0;
    Verifier4 confirm{};
};
struct CreateSessionArgs {
    std::uint64_t clientid = 0;
    std::uint32_t sequence = 0;
    std::uint32_t flags = 0;
    ChannelAttrs fore;
    ChannelAttrs back;
    std::uint32_t cb_program = 0;
};
struct SequenceArgs {
    SessionId sessionid{};
    std::uint32_t sequenceid = 0;
    std::uint32_t slotid = 0;
    std::uint32_t highest_slotid = 0;
    bool cachethis = false;
};
struct DestroySessionArgs {
    SessionId sessionid{};
};

/// How far an op walk got.
enum class WalkStatus : std::uint8_t {
    Complete,     // every op read
    Truncated,    // the bytes ended inside an op (a kept prefix, a snaplen hole)
    TooManyOps,   // more than kMaxOps ops: the first kMaxOps are recorded
    UnknownArgs,  // an op whose arguments the walker cannot skip: ops after it unknown
    Malformed,    // a length over its limit or a value outside its type
};
[[nodiscard]] std::string_view to_string(WalkStatus s) noexcept;

/// COMPOUND4args with the ops in order and the arguments the rules need (the first occurrence
/// of each).
struct CompoundCall {
    Bytes tag;
    std::uint32_t minorversion = 0;
    std::uint32_t numops = 0;  // as sent
    std::array<std::uint32_t, kMaxOps> ops{};
    std::size_t op_count = 0;  // ops recorded (<= kMaxOps, <= numops)
    WalkStatus walk = WalkStatus::Complete;
    std::optional<ExchangeIdArgs> exchange_id;
    std::optional<SetClientIdArgs> setclientid;
    std::optional<SetClientIdConfirmArgs> setclientid_confirm;
    std::optional<CreateSessionArgs> create_session;
    std::optional<SequenceArgs> sequence;
    std::optional<DestroySessionArgs> destroy_session;
};

/// Parses COMPOUND4args from a call's args view. False only when even the header (tag,
/// minorversion, numops) cannot be read; otherwise `walk` says how far the ops go.
[[nodiscard]] bool parse_compound_call(XdrBytes args, CompoundCall& out) noexcept;

struct SequenceRes {
    SessionId sessionid{};
    std::uint32_t sequenceid = 0;
    std::uint32_t slotid = 0;
    std::uint32_t highest_slotid = 0;
    std::uint32_t target_highest_slotid = 0;
    std::uint32_t status_flags = 0;
};
struct ExchangeIdRes {
    std::uint64_t clientid = 0;
    std::uint32_t sequenceid = 0;
    std::uint32_t flags = 0;
};
struct CreateSessionRes {
    SessionId sessionid{};
    std::uint32_t sequence = 0;
    std::uint32_t flags = 0;
    ChannelAttrs fore;
    ChannelAttrs back;
};
struct SetClientIdRes {
    std::uint64_t clientid = 0;
    Verifier4 confirm{};
};

/// One op result: its opcode and nfsstat4.
struct OpResult {
    std::uint32_t op = 0;
    std::uint32_t status = 0;
};

/// COMPOUND4res. Processing stops at the first failing op (RFC 8881 section 15.2), so results
/// before the last are NFS4_OK and the last one's status is the compound status; numres 0 with a
/// non-OK status is legal (NFS4ERR_MINOR_VERS_MISMATCH, some decode failures). Results are read
/// while the walker can skip their bodies; the decoded results of SEQUENCE, EXCHANGE_ID,
/// CREATE_SESSION and SETCLIENTID are kept when they come before the first result it cannot
/// skip (in practice they are first or follow SEQUENCE).
struct CompoundReply {
    std::uint32_t status = 0;
    Bytes tag;
    std::uint32_t numres = 0;
    std::array<OpResult, kMaxOps> results{};
    std::size_t result_count = 0;  // results read (<= kMaxOps, <= numres)
    WalkStatus walk = WalkStatus::Complete;
    std::optional<SequenceRes> sequence;
    std::optional<ExchangeIdRes> exchange_id;
    std::optional<CreateSessionRes> create_session;
    std::optional<SetClientIdRes> setclientid;
};

/// Parses COMPOUND4res from a reply's results view. False only when status, tag and numres
/// cannot be read.
[[nodiscard]] bool parse_compound_reply(XdrBytes results, CompoundReply& out) noexcept;

/// The op that failed a COMPOUND: its index in the call and its opcode. nullopt when the
/// compound succeeded or failed before any op ran (numres 0). The opcode comes from the reply's
/// last result when read, else from the call's op list, else it is 0 (unknown: no op has 0).
struct FailedOp {
    std::size_t index = 0;
    std::uint32_t op = 0;
    std::uint32_t status = 0;
};
[[nodiscard]] std::optional<FailedOp> failed_op(const CompoundCall& call,
                                                const CompoundReply& reply) noexcept;

// ---- NFSv4.1 backchannel -----------------------------------------------------------------

struct CbSequenceArgs {
    SessionId sessionid{};
    std::uint32_t sequenceid = 0;
    std::uint32_t slotid = 0;
    std::uint32_t highest_slotid = 0;
    bool cachethis = false;
};

/// CB_COMPOUND4args.
struct CbCompoundCall {
    Bytes tag;
    std::uint32_t minorversion = 0;
    std::uint32_t callback_ident = 0;
    std::uint32_t numops = 0;
    std::array<std::uint32_t, kMaxOps> ops{};
    std::size_t op_count = 0;
    WalkStatus walk = WalkStatus::Complete;
    std::optional<CbSequenceArgs> sequence;
};

/// Parses CB_COMPOUND4args. False only when the header cannot be read.
[[nodiscard]] bool parse_cb_compound_call(XdrBytes args, CbCompoundCall& out) noexcept;

/// Parses CB_COMPOUND4res: results carry nfs_cb_opnum4 opcodes (CB_SEQUENCE's result body is
/// skipped; the optional decoded members of `out` stay empty). False only when status, tag and
/// numres cannot be read.
[[nodiscard]] bool parse_cb_compound_reply(XdrBytes results, CompoundReply& out) noexcept;

}  // namespace vxcheck::rpc

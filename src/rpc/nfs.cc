// NFSv3 reply status and the NFSv4 COMPOUND walkers (RFC 7530 section 16, RFC 8881 section 18,
// RFC 7862 section 15):
//
//   COMPOUND4args: tag<> | minorversion | numops | { opcode | args } ...
//   COMPOUND4res:  status | tag<> | numres | { opcode | status | body if NFS4_OK } ...
//
// An op's arguments are skipped by their XDR layout; the walk stops (UnknownArgs) at the first
// op whose layout it does not know, since nothing after it can be located.

#include "vxcheck/rpc/nfs.h"

#include "nfs_xdr.h"
#include "vxcheck/rpc/message.h"

namespace vxcheck::rpc {
namespace {

using namespace detail;

enum class Skip : std::uint8_t { Known, Unknown };

// createhow4 (RFC 8881 section 18.16): UNCHECKED4 0, GUARDED4 1, EXCLUSIVE4 2, EXCLUSIVE4_1 3.
void skip_open_args(XdrReader& in) noexcept {
    in.skip(12);          // seqid, share_access, share_deny
    skip_lock_owner(in);  // open_owner4 has the lock_owner4 layout
    if (in.u32() == 1) {  // OPEN4_CREATE
        switch (in.u32()) {
            case 0:
            case 1:
                skip_fattr(in);
                break;
            case 2:
                in.skip(kVerifierLen);
                break;
            case 3:
                in.skip(kVerifierLen);
                skip_fattr(in);
                break;
            default:
                in.fail();
        }
    }
    switch (in.u32()) {  // open_claim4
        case 0:          // CLAIM_NULL
        case 3:          // CLAIM_DELEGATE_PREV
            skip_component(in);
            break;
        case 1:  // CLAIM_PREVIOUS
            in.skip(4);
            break;
        case 2:  // CLAIM_DELEGATE_CUR
            skip_stateid(in);
            skip_component(in);
            break;
        case 4:  // CLAIM_FH
        case 6:  // CLAIM_DELEG_PREV_FH
            break;
        case 5:  // CLAIM_DELEG_CUR_FH
            skip_stateid(in);
            break;
        default:
            in.fail();
    }
}

void skip_create_args(XdrReader& in) noexcept {
    switch (in.u32()) {  // nfs_ftype4
        case 5:          // NF4LNK: linktext4
            skip_component(in);
            break;
        case 3:  // NF4BLK
        case 4:  // NF4CHR: specdata4
            in.skip(8);
            break;
        default:
            break;
    }
    skip_component(in);
    skip_fattr(in);
}

void skip_lock_args(XdrReader& in) noexcept {
    in.skip(4);  // locktype
    (void)in.boolean();
    in.skip(16);         // offset, length
    if (in.boolean()) {  // open_to_lock_owner4
        in.skip(4);
        skip_stateid(in);
        in.skip(4);
        skip_lock_owner(in);
    } else {  // exist_lock_owner4
        skip_stateid(in);
        in.skip(4);
    }
}

// NFSv4.0 ops (3-39). Returns Unknown for ops whose layout is not walked. One flat case per op
// (longer than 80 lines): each case is the op's argument layout, read like the RFC's table.
Skip skip_v40_args(XdrReader& in, std::uint32_t opnum, CompoundCall& out) noexcept {
    switch (opnum) {
        case op::kAccess:
            in.skip(4);
            return Skip::Known;
        case op::kRenew:
            in.skip(8);  // clientid
            return Skip::Known;
        case op::kClose:
            in.skip(4);
            skip_stateid(in);
            return Skip::Known;
        case op::kCommit:
            in.skip(12);
            return Skip::Known;
        case op::kCreate:
            skip_create_args(in);
            return Skip::Known;
        case 7:  // DELEGPURGE: clientid
            in.skip(8);
            return Skip::Known;
        case op::kDelegReturn:
            skip_stateid(in);
            return Skip::Known;
        case op::kGetattr:
            skip_bitmap(in);
            return Skip::Known;
        case op::kGetfh:
        case op::kLookupp:
        case op::kPutpubfh:
        case op::kPutrootfh:
        case op::kReadlink:
        case op::kRestorefh:
        case op::kSavefh:
            return Skip::Known;
        case 11:  // LINK
        case op::kLookup:
        case op::kRemove:
        case op::kSecinfo:
            skip_component(in);
            return Skip::Known;
        case 12:  // LOCK
            skip_lock_args(in);
            return Skip::Known;
        case 13:  // LOCKT
            in.skip(20);
            skip_lock_owner(in);
            return Skip::Known;
        case 14:  // LOCKU
            in.skip(8);
            skip_stateid(in);
            in.skip(16);
            return Skip::Known;
        case 17:  // NVERIFY
        case 37:  // VERIFY
            skip_fattr(in);
            return Skip::Known;
        case op::kOpen:
            skip_open_args(in);
            return Skip::Known;
        case 19:  // OPENATTR
            (void)in.boolean();
            return Skip::Known;
        case 20:  // OPEN_CONFIRM
            skip_stateid(in);
            in.skip(4);
            return Skip::Known;
        case 21:  // OPEN_DOWNGRADE
            skip_stateid(in);
            in.skip(12);
            return Skip::Known;
        case op::kPutfh:
            skip_fh(in);
            return Skip::Known;
        case op::kRead:
            skip_stateid(in);
            in.skip(12);
            return Skip::Known;
        case op::kReaddir:
            in.skip(8 + kVerifierLen + 8);  // cookie, cookieverf, dircount, maxcount
            skip_bitmap(in);
            return Skip::Known;
        case op::kRename:
            skip_component(in);
            skip_component(in);
            return Skip::Known;
        case op::kSetattr:
            skip_stateid(in);
            skip_fattr(in);
            return Skip::Known;
        case op::kSetclientid: {
            SetClientIdArgs a;
            read_array(in, a.verifier);
            a.id = in.opaque(kMaxOwner);
            in.skip(4);                     // cb_program
            in.skip_opaque(kMaxComponent);  // r_netid
            in.skip_opaque(kMaxComponent);  // r_addr
            in.skip(4);                     // callback_ident
            if (in.ok() && !out.setclientid) {
                out.setclientid = a;
            }
            return Skip::Known;
        }
        case op::kSetclientidConfirm: {
            SetClientIdConfirmArgs a;
            a.clientid = in.u64();
            read_array(in, a.confirm);
            if (in.ok() && !out.setclientid_confirm) {
                out.setclientid_confirm = a;
            }
            return Skip::Known;
        }
        case op::kWrite:
            skip_stateid(in);
            in.skip(12);  // offset, stable
            in.skip_opaque(kMaxData);
            return Skip::Known;
        case 39:  // RELEASE_LOCKOWNER
            skip_lock_owner(in);
            return Skip::Known;
        default:
            return Skip::Unknown;
    }
}

void skip_state_protect_ops(XdrReader& in) noexcept {
    skip_bitmap(in);  // spo_must_enforce
    skip_bitmap(in);  // spo_must_allow
}

void read_exchange_id(XdrReader& in, CompoundCall& out) noexcept {
    ExchangeIdArgs a;
    read_array(in, a.verifier);
    a.owner = in.opaque(kMaxOwner);
    a.flags = in.u32();
    switch (in.u32()) {  // state_protect4_a
        case 0:          // SP4_NONE
            break;
        case 1:  // SP4_MACH_CRED
            skip_state_protect_ops(in);
            break;
        case 2: {  // SP4_SSV: ops, hash and encryption algorithm oids, window, handle count
            skip_state_protect_ops(in);
            for (int list = 0; list < 2; ++list) {
                const std::uint32_t n = in.u32();
                for (std::uint32_t i = 0; i < n && in.ok(); ++i) {
                    in.skip_opaque(kMaxComponent);
                }
            }
            in.skip(8);
            break;
        }
        default:
            in.fail();
    }
    const std::uint32_t impl = in.u32();  // eia_client_impl_id<1>
    if (impl > 1) {
        in.fail();
    } else if (impl == 1) {
        skip_component(in);  // nii_domain
        skip_component(in);  // nii_name
        in.skip(12);         // nii_date
    }
    if (in.ok() && !out.exchange_id) {
        out.exchange_id = a;
    }
}

void read_create_session(XdrReader& in, CompoundCall& out) noexcept {
    CreateSessionArgs a;
    a.clientid = in.u64();
    a.sequence = in.u32();
    a.flags = in.u32();
    read_channel_attrs(in, a.fore);
    read_channel_attrs(in, a.back);
    a.cb_program = in.u32();
    const std::uint32_t n = in.u32();  // csa_sec_parms<>
    for (std::uint32_t i = 0; i < n && in.ok(); ++i) {
        switch (in.u32()) {
            case kAuthNone:
                break;
            case kAuthSys:  // authsys_parms
                in.skip(4);
                in.skip_opaque(255);
                in.skip(8);
                in.skip_u32_array(16);
                break;
            case kRpcsecGss:  // gss_cb_handles4
                in.skip(4);
                in.skip_opaque(kMaxComponent);
                in.skip_opaque(kMaxComponent);
                break;
            default:
                in.fail();
        }
    }
    if (in.ok() && !out.create_session) {
        out.create_session = a;
    }
}

void read_sequence(XdrReader& in, CompoundCall& out) noexcept {
    SequenceArgs a;
    read_slot_head(in, a);
    a.cachethis = in.boolean();
    if (in.ok() && !out.sequence) {
        out.sequence = a;
    }
}

// NFSv4.1 and 4.2 ops (40-75); a flat case per op, as above.
Skip skip_v41_args(XdrReader& in, std::uint32_t opnum, CompoundCall& out) noexcept {
    switch (opnum) {
        case op::kBindConnToSession:
            in.skip(kSessionIdLen + 4);
            (void)in.boolean();
            return Skip::Known;
        case op::kExchangeId:
            read_exchange_id(in, out);
            return Skip::Known;
        case op::kCreateSession:
            read_create_session(in, out);
            return Skip::Known;
        case op::kDestroySession: {
            DestroySessionArgs a;
            read_array(in, a.sessionid);
            if (in.ok() && !out.destroy_session) {
                out.destroy_session = a;
            }
            return Skip::Known;
        }
        case op::kFreeStateid:
        case 66:  // OFFLOAD_CANCEL
        case 67:  // OFFLOAD_STATUS
            skip_stateid(in);
            return Skip::Known;
        case op::kLayoutget:
            (void)in.boolean();
            in.skip(8 + 24);  // layout_type, iomode, offset, length, minlength
            skip_stateid(in);
            in.skip(4);
            return Skip::Known;
        case op::kSecinfoNoName:
            in.skip(4);
            return Skip::Known;
        case op::kSequence:
            read_sequence(in, out);
            return Skip::Known;
        case op::kTestStateid: {
            const std::uint32_t n = in.u32();
            if (n > kMaxArray) {
                in.fail();
            }
            in.skip(std::size_t{n} * kStateidLen);
            return Skip::Known;
        }
        case op::kDestroyClientid:
            in.skip(8);
            return Skip::Known;
        case op::kReclaimComplete:
            (void)in.boolean();
            return Skip::Known;
        case 59:  // ALLOCATE
        case 62:  // DEALLOCATE
            skip_stateid(in);
            in.skip(16);
            return Skip::Known;
        case 68:  // READ_PLUS
        case 69:  // SEEK
            skip_stateid(in);
            in.skip(12);
            return Skip::Known;
        case 71:  // CLONE
            skip_stateid(in);
            skip_stateid(in);
            in.skip(24);
            return Skip::Known;
        case 72:  // GETXATTR
        case 75:  // REMOVEXATTR
            skip_component(in);
            return Skip::Known;
        case 73:  // SETXATTR
            in.skip(4);
            skip_component(in);
            in.skip_opaque(kMaxData);
            return Skip::Known;
        case 74:  // LISTXATTRS
            in.skip(12);
            return Skip::Known;
        default:
            return Skip::Unknown;
    }
}

Skip skip_op_args(XdrReader& in, std::uint32_t opnum, CompoundCall& out) noexcept {
    if (opnum == op::kIllegal) {
        return Skip::Known;  // ILLEGAL has no arguments
    }
    return opnum < op::kBindConnToSession - 1 ? skip_v40_args(in, opnum, out)
                                              : skip_v41_args(in, opnum, out);
}

}  // namespace

std::optional<std::uint32_t> nfs3_reply_status(std::uint32_t proc, XdrBytes results) noexcept {
    XdrReader in{results};
    const std::uint32_t status = in.u32();
    if (proc == kNfsProcNull || !in.ok()) {
        return std::nullopt;
    }
    return status;
}

std::string_view to_string(WalkStatus s) noexcept {
    switch (s) {
        case WalkStatus::Complete:
            return "complete";
        case WalkStatus::Truncated:
            return "truncated";
        case WalkStatus::TooManyOps:
            return "too_many_ops";
        case WalkStatus::UnknownArgs:
            return "unknown_args";
        case WalkStatus::Malformed:
            return "malformed";
    }
    return "unknown";
}

bool parse_compound_call(XdrBytes args, CompoundCall& out) noexcept {
    out = CompoundCall{};
    XdrReader in{args};
    out.tag = in.opaque(kMaxTag);
    out.minorversion = in.u32();
    out.numops = in.u32();
    if (!in.ok()) {
        return false;
    }
    walk_call_ops(in, out, [](XdrReader& r, std::uint32_t opnum, CompoundCall& c) noexcept {
        return skip_op_args(r, opnum, c) == Skip::Known;
    });
    return true;
}

std::optional<FailedOp> failed_op(const CompoundCall& call, const CompoundReply& reply) noexcept {
    if (reply.status == kNfs4Ok || reply.numres == 0) {
        return std::nullopt;
    }
    FailedOp f{.index = reply.numres - 1, .op = 0, .status = reply.status};
    if (reply.result_count == reply.numres) {
        f.op = reply.results[f.index].op;
        f.status = reply.results[f.index].status;
    } else if (f.index < call.op_count) {
        f.op = call.ops[f.index];
    }
    return f;
}

}  // namespace vxcheck::rpc

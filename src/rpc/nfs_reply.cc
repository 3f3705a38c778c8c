// COMPOUND4res walker (RFC 8881 sections 15.2 and 18): status | tag<> | numres |
// { opcode | status | body if NFS4_OK } ... Processing stops at the first failing op, so a
// non-OK result is the last one and its body is never needed. OK bodies are skipped by their
// layout; the walk stops (UnknownArgs) at the first result whose body it does not know.

#include "nfs_xdr.h"
#include "vxcheck/rpc/message.h"
#include "vxcheck/rpc/nfs.h"

namespace vxcheck::rpc {
namespace {

using namespace detail;

enum class Skip : std::uint8_t { Known, Unknown };

void skip_nfsace(XdrReader& in) noexcept {
    in.skip(12);  // type, flag, access_mask
    skip_component(in);
}

// OPEN4resok (RFC 8881 section 18.16.3).
void skip_open_res(XdrReader& in) noexcept {
    skip_stateid(in);
    skip_change_info(in);
    in.skip(4);  // rflags
    skip_bitmap(in);
    switch (in.u32()) {  // open_delegation_type4
        case 0:          // OPEN_DELEGATE_NONE
            break;
        case 1:  // OPEN_DELEGATE_READ
            skip_stateid(in);
            (void)in.boolean();
            skip_nfsace(in);
            break;
        case 2:  // OPEN_DELEGATE_WRITE: stateid, recall, nfs_space_limit4, nfsace4
            skip_stateid(in);
            (void)in.boolean();
            if (const std::uint32_t limitby = in.u32(); limitby == 1 || limitby == 2) {
                in.skip(8);  // filesize u64, or {num_blocks, bytes_per_block}
            } else {
                in.fail();
            }
            skip_nfsace(in);
            break;
        case 3:  // OPEN_DELEGATE_NONE_EXT: why, then a bool for CONTENTION and RESOURCE
            if (const std::uint32_t why = in.u32(); why == 1 || why == 2) {
                (void)in.boolean();
            }
            break;
        default:
            in.fail();
    }
}

// READDIR4resok: cookieverf, then a linked list of entry4, then eof.
void skip_readdir_res(XdrReader& in) noexcept {
    in.skip(kVerifierLen);
    while (in.ok() && in.boolean()) {
        in.skip(8);  // cookie
        skip_component(in);
        skip_fattr(in);
    }
    (void)in.boolean();  // eof
}

void skip_secinfo_res(XdrReader& in) noexcept {
    const std::uint32_t n = in.u32();
    if (n > kMaxArray) {
        in.fail();
    }
    for (std::uint32_t i = 0; i < n && in.ok(); ++i) {
        if (in.u32() == kRpcsecGss) {
            in.skip_opaque(kMaxComponent);  // oid
            in.skip(8);                     // qop, service
        }
    }
}

void read_exchange_id_res(XdrReader& in, CompoundReply& out) noexcept {
    ExchangeIdRes r;
    r.clientid = in.u64();
    r.sequenceid = in.u32();
    r.flags = in.u32();
    switch (in.u32()) {  // state_protect4_r
        case 0:
            break;
        case 1:  // SP4_MACH_CRED
            skip_bitmap(in);
            skip_bitmap(in);
            break;
        case 2: {  // ssv_prot_info4: ops, hash_alg, encr_alg, ssv_len, window, handles<>
            skip_bitmap(in);
            skip_bitmap(in);
            in.skip(16);
            const std::uint32_t n = in.u32();
            for (std::uint32_t i = 0; i < n && in.ok(); ++i) {
                in.skip_opaque(kMaxComponent);
            }
            break;
        }
        default:
            in.fail();
    }
    in.skip(8);                 // so_minor_id
    in.skip_opaque(kMaxOwner);  // so_major_id
    in.skip_opaque(kMaxOwner);  // server_scope
    const std::uint32_t impl = in.u32();
    if (impl > 1) {
        in.fail();
    } else if (impl == 1) {
        skip_component(in);
        skip_component(in);
        in.skip(12);
    }
    if (in.ok() && !out.exchange_id) {
        out.exchange_id = r;
    }
}

void read_create_session_res(XdrReader& in, CompoundReply& out) noexcept {
    CreateSessionRes r;
    read_array(in, r.sessionid);
    r.sequence = in.u32();
    r.flags = in.u32();
    read_channel_attrs(in, r.fore);
    read_channel_attrs(in, r.back);
    if (in.ok() && !out.create_session) {
        out.create_session = r;
    }
}

void read_sequence_res(XdrReader& in, CompoundReply& out) noexcept {
    SequenceRes r;
    read_slot_head(in, r);
    r.target_highest_slotid = in.u32();
    r.status_flags = in.u32();
    if (in.ok() && !out.sequence) {
        out.sequence = r;
    }
}

void read_setclientid_res(XdrReader& in, CompoundReply& out) noexcept {
    SetClientIdRes r;
    r.clientid = in.u64();
    read_array(in, r.confirm);
    if (in.ok() && !out.setclientid) {
        out.setclientid = r;
    }
}

// The body of an NFS4_OK result. Ops without a result body return Known without reading. One
// flat case per op (longer than 80 lines), each the op's resok layout.
Skip skip_ok_body(XdrReader& in, std::uint32_t opnum, CompoundReply& out) noexcept {
    switch (opnum) {
        case op::kAccess:
            in.skip(8);
            return Skip::Known;
        case op::kClose:
        case 12:  // LOCK
        case 14:  // LOCKU
        case 20:  // OPEN_CONFIRM
        case 21:  // OPEN_DOWNGRADE
            skip_stateid(in);
            return Skip::Known;
        case op::kCommit:
            in.skip(kVerifierLen);
            return Skip::Known;
        case op::kCreate:
            skip_change_info(in);
            skip_bitmap(in);
            return Skip::Known;
        case op::kGetattr:
            skip_fattr(in);
            return Skip::Known;
        case op::kGetfh:
            skip_fh(in);
            return Skip::Known;
        case 11:  // LINK
        case op::kRemove:
            skip_change_info(in);
            return Skip::Known;
        case op::kRename:
            skip_change_info(in);
            skip_change_info(in);
            return Skip::Known;
        case op::kOpen:
            skip_open_res(in);
            return Skip::Known;
        case op::kRead:
            (void)in.boolean();
            in.skip_opaque(kMaxData);
            return Skip::Known;
        case op::kReaddir:
            skip_readdir_res(in);
            return Skip::Known;
        case op::kReadlink:
            skip_component(in);
            return Skip::Known;
        case op::kSecinfo:
        case op::kSecinfoNoName:
            skip_secinfo_res(in);
            return Skip::Known;
        case op::kSetattr:
            skip_bitmap(in);
            return Skip::Known;
        case op::kSetclientid:
            read_setclientid_res(in, out);
            return Skip::Known;
        case op::kWrite:
            in.skip(8 + kVerifierLen);  // count, committed, writeverf
            return Skip::Known;
        case op::kBindConnToSession:
            in.skip(kSessionIdLen + 4);
            (void)in.boolean();
            return Skip::Known;
        case op::kExchangeId:
            read_exchange_id_res(in, out);
            return Skip::Known;
        case op::kCreateSession:
            read_create_session_res(in, out);
            return Skip::Known;
        case op::kSequence:
            read_sequence_res(in, out);
            return Skip::Known;
        case op::kTestStateid:
            in.skip_u32_array(kMaxArray);
            return Skip::Known;
        case 7:  // DELEGPURGE
        case op::kDelegReturn:
        case 13:  // LOCKT
        case op::kLookup:
        case op::kLookupp:
        case 17:  // NVERIFY
        case 19:  // OPENATTR
        case op::kPutfh:
        case op::kPutpubfh:
        case op::kPutrootfh:
        case op::kRenew:
        case op::kRestorefh:
        case op::kSavefh:
        case op::kSetclientidConfirm:
        case 37:  // VERIFY
        case 39:  // RELEASE_LOCKOWNER
        case op::kDestroySession:
        case op::kFreeStateid:
        case op::kDestroyClientid:
        case op::kReclaimComplete:
        case 62:  // DEALLOCATE
        case 59:  // ALLOCATE
        case 66:  // OFFLOAD_CANCEL
        case 71:  // CLONE
            return Skip::Known;
        case 75:  // REMOVEXATTR
            skip_change_info(in);
            return Skip::Known;
        default:
            return Skip::Unknown;
    }
}

}  // namespace

namespace detail {

/// Reads status, tag, numres and then the results while their bodies can be skipped.
/// `skip_body` is the per-program body walker (NFS or callback).
template <typename SkipBody>
bool walk_reply(XdrBytes results, CompoundReply& out, SkipBody skip_body) noexcept {
    out = CompoundReply{};
    XdrReader in{results};
    out.status = in.u32();
    out.tag = in.opaque(kMaxTag);
    out.numres = in.u32();
    if (!in.ok()) {
        return false;
    }
    out.walk = walk_items(in, out.numres, out.result_count, [&](XdrReader& r) noexcept {
        OpResult res;
        res.op = r.u32();
        res.status = r.u32();
        if (!r.ok()) {
            return Step::Next;
        }
        out.results[out.result_count++] = res;
        if (res.status != kNfs4Ok) {
            return Step::Last;  // processing stopped at this op
        }
        return skip_body(r, res.op, out) ? Step::Next : Step::Unknown;
    });
    return true;
}

}  // namespace detail

bool parse_compound_reply(XdrBytes results, CompoundReply& out) noexcept {
    return walk_reply(results, out, [](XdrReader& in, std::uint32_t opnum, CompoundReply& o) {
        return skip_ok_body(in, opnum, o) == Skip::Known;
    });
}

bool parse_cb_compound_reply(XdrBytes results, CompoundReply& out) noexcept {
    return walk_reply(results, out, skip_cb_ok_body);
}

}  // namespace vxcheck::rpc

// The NFSv4.1 backchannel (RFC 8881 section 20): CB_COMPOUND4args is tag<> | minorversion |
// callback_ident | numops | { opcode | args } ...; the server sends it on the client's
// connection. Ops are nfs_cb_opnum4, so op numbers mean something else than in COMPOUND.

#include "nfs_xdr.h"
#include "vxcheck/rpc/nfs.h"

namespace vxcheck::rpc {
namespace {

using namespace detail;

void read_cb_sequence(XdrReader& in, CbCompoundCall& out) noexcept {
    CbSequenceArgs a;
    read_slot_head(in, a);
    a.cachethis = in.boolean();
    // csa_referring_call_lists<>: { sessionid, referring_call4<> { sequenceid, slotid } }
    const std::uint32_t lists = in.u32();
    for (std::uint32_t i = 0; i < lists && in.ok(); ++i) {
        in.skip(kSessionIdLen);
        const std::uint32_t calls = in.u32();
        if (calls > kMaxArray) {
            in.fail();
        }
        in.skip(std::size_t{calls} * 8);
    }
    if (in.ok() && !out.sequence) {
        out.sequence = a;
    }
}

void skip_notify_list(XdrReader& in) noexcept {
    const std::uint32_t n = in.u32();  // notify4<>: { bitmap4, opaque<> }
    for (std::uint32_t i = 0; i < n && in.ok(); ++i) {
        skip_fattr(in);
    }
}

bool skip_cb_args(XdrReader& in, std::uint32_t opnum, CbCompoundCall& out) noexcept {
    switch (opnum) {
        case cb_op::kCbGetattr:
            skip_fh(in);
            skip_bitmap(in);
            return true;
        case cb_op::kCbRecall:
            skip_stateid(in);
            (void)in.boolean();
            skip_fh(in);
            return true;
        case cb_op::kCbLayoutrecall:
            in.skip(8);  // layout type, iomode
            (void)in.boolean();
            switch (in.u32()) {
                case 1:  // LAYOUTRECALL4_FILE: fh, offset, length, stateid
                    skip_fh(in);
                    in.skip(16 + kStateidLen);
                    break;
                case 2:  // LAYOUTRECALL4_FSID
                    in.skip(16);
                    break;
                case 3:  // LAYOUTRECALL4_ALL
                    break;
                default:
                    in.fail();
            }
            return true;
        case 6:  // CB_NOTIFY: stateid, fh, notify4<>
            skip_stateid(in);
            skip_fh(in);
            skip_notify_list(in);
            return true;
        case 8:  // CB_RECALL_ANY
        case 9:  // CB_RECALLABLE_OBJ_AVAIL
            in.skip(4);
            skip_bitmap(in);
            return true;
        case 10:  // CB_RECALL_SLOT
            in.skip(4);
            return true;
        case cb_op::kCbSequence:
            read_cb_sequence(in, out);
            return true;
        case 12:  // CB_WANTS_CANCELLED
            (void)in.boolean();
            (void)in.boolean();
            return true;
        case 13:  // CB_NOTIFY_LOCK
            skip_fh(in);
            skip_lock_owner(in);
            return true;
        case 14:  // CB_NOTIFY_DEVICEID
            skip_notify_list(in);
            return true;
        case cb_op::kCbIllegal:
            return true;
        default:
            return false;
    }
}

}  // namespace

namespace detail {

bool skip_cb_ok_body(XdrReader& in, std::uint32_t opnum, CompoundReply&) noexcept {
    switch (opnum) {
        case cb_op::kCbGetattr:
            skip_fattr(in);
            return true;
        case cb_op::kCbSequence:  // sessionid, sequenceid, slotid, highest, target highest
            in.skip(kSessionIdLen + 16);
            return true;
        case cb_op::kCbRecall:
        case cb_op::kCbLayoutrecall:
        case 6:   // CB_NOTIFY
        case 7:   // CB_PUSH_DELEG
        case 8:   // CB_RECALL_ANY
        case 9:   // CB_RECALLABLE_OBJ_AVAIL
        case 10:  // CB_RECALL_SLOT
        case 12:  // CB_WANTS_CANCELLED
        case 13:  // CB_NOTIFY_LOCK
        case 14:  // CB_NOTIFY_DEVICEID
        case 15:  // CB_OFFLOAD
            return true;
        default:
            return false;
    }
}

}  // namespace detail

bool parse_cb_compound_call(XdrBytes args, CbCompoundCall& out) noexcept {
    out = CbCompoundCall{};
    XdrReader in{args};
    out.tag = in.opaque(kMaxTag);
    out.minorversion = in.u32();
    out.callback_ident = in.u32();
    out.numops = in.u32();
    if (!in.ok()) {
        return false;
    }
    walk_call_ops(in, out, skip_cb_args);
    return true;
}

}  // namespace vxcheck::rpc

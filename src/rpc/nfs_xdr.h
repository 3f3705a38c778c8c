#pragma once
// Private to src/rpc: XDR pieces shared by the NFSv4 COMPOUND and CB_COMPOUND walkers
// (RFC 8881 section 3 basic data types).

#include <algorithm>
#include <cstdint>

#include "vxcheck/rpc/nfs.h"
#include "vxcheck/rpc/xdr.h"

namespace vxcheck::rpc::detail {

inline constexpr std::size_t kMaxFh = 128;          // NFS4_FHSIZE
inline constexpr std::size_t kStateidLen = 16;      // seqid + other[12]
inline constexpr std::size_t kMaxBitmapWords = 16;  // bitmap4 words accepted
inline constexpr std::size_t kMaxComponent = 4096;  // component4 / utf8str accepted
inline constexpr std::size_t kMaxData = 16U << 20;  // READ/WRITE data, attr values
inline constexpr std::size_t kMaxArray = 1024;      // other arrays (secinfo, stateids)
inline constexpr std::uint32_t kNfs4Ok = 0;

inline void skip_fh(XdrReader& in) noexcept {
    in.skip_opaque(kMaxFh);
}
inline void skip_stateid(XdrReader& in) noexcept {
    in.skip(kStateidLen);
}
inline void skip_bitmap(XdrReader& in) noexcept {
    in.skip_u32_array(kMaxBitmapWords);
}
inline void skip_component(XdrReader& in) noexcept {
    in.skip_opaque(kMaxComponent);
}
inline void skip_fattr(XdrReader& in) noexcept {
    skip_bitmap(in);
    in.skip_opaque(kMaxData);
}
inline void skip_lock_owner(XdrReader& in) noexcept {
    in.skip(8);  // clientid
    in.skip_opaque(kMaxOwner);
}
inline void skip_change_info(XdrReader& in) noexcept {
    (void)in.boolean();
    in.skip(16);  // before, after
}

template <std::size_t N>
void read_array(XdrReader& in, std::array<std::uint8_t, N>& out) noexcept {
    const Bytes b = in.fixed(N);
    if (in.ok()) {
        std::copy(b.begin(), b.end(), out.begin());
    }
}

inline void read_channel_attrs(XdrReader& in, ChannelAttrs& out) noexcept {
    out.headerpadsize = in.u32();
    out.maxrequestsize = in.u32();
    out.maxresponsesize = in.u32();
    out.maxresponsesize_cached = in.u32();
    out.maxoperations = in.u32();
    out.maxrequests = in.u32();
    const std::uint32_t n = in.u32();  // rdma_ird<1>
    if (n > 1) {
        in.fail();
    } else if (n == 1) {
        out.rdma_ird = in.u32();
    }
}

/// How an op walk ended, from the reader's state.
inline WalkStatus failed_walk(const XdrReader& in) noexcept {
    return in.exhausted() ? WalkStatus::Truncated : WalkStatus::Malformed;
}

/// What one step of an op walk found.
enum class Step : std::uint8_t {
    Next,     // the item was read; go on
    Last,     // the item was read and nothing follows it (a failed op's result)
    Unknown,  // the item's layout is not known: nothing after it can be located
};

/// Reads up to `count` items (ops or results) with `step`, recording at most kMaxOps of them
/// (`recorded` counts them; `step` stores each). Returns how the walk ended.
template <typename StepFn>
WalkStatus walk_items(XdrReader& in, std::uint32_t count, const std::size_t& recorded,
                      StepFn step) noexcept {
    for (std::uint32_t i = 0; i < count; ++i) {
        if (recorded == kMaxOps) {
            return WalkStatus::TooManyOps;
        }
        const Step s = step(in);
        if (!in.ok()) {
            return failed_walk(in);
        }
        if (s == Step::Unknown) {
            return WalkStatus::UnknownArgs;
        }
        if (s == Step::Last) {
            break;
        }
    }
    return WalkStatus::Complete;
}

/// Walks the op list of a COMPOUND or CB_COMPOUND call: records each opcode in out.ops, then
/// `skip(in, opnum, out)` reads its arguments (false: layout unknown).
template <typename Call, typename SkipFn>
void walk_call_ops(XdrReader& in, Call& out, SkipFn skip) noexcept {
    out.walk = walk_items(in, out.numops, out.op_count, [&out, &skip](XdrReader& r) noexcept {
        const std::uint32_t opnum = r.u32();
        if (!r.ok()) {
            return Step::Next;
        }
        out.ops[out.op_count++] = opnum;
        return skip(r, opnum, out) ? Step::Next : Step::Unknown;
    });
}

/// sessionid, sequenceid, slotid, highest_slotid: the head SEQUENCE and CB_SEQUENCE arguments
/// and results share.
template <typename T>
void read_slot_head(XdrReader& in, T& out) noexcept {
    read_array(in, out.sessionid);
    out.sequenceid = in.u32();
    out.slotid = in.u32();
    out.highest_slotid = in.u32();
}

/// The body of an NFS4_OK CB_COMPOUND result (nfs_cb.cc); false when its layout is unknown.
bool skip_cb_ok_body(XdrReader& in, std::uint32_t opnum, CompoundReply& out) noexcept;

}  // namespace vxcheck::rpc::detail

#include "vxcheck/rpc/nfs.h"

namespace vxcheck::rpc {

std::string_view nfs_op_name(std::uint32_t) noexcept {
    return "";
}
std::string_view nfs_cb_op_name(std::uint32_t) noexcept {
    return "";
}
std::string_view nfsstat4_name(std::uint32_t) noexcept {
    return "";
}
std::string_view nfsstat3_name(std::uint32_t) noexcept {
    return "";
}
std::optional<std::uint32_t> nfs3_reply_status(std::uint32_t, Bytes) noexcept {
    return {};
}
std::string_view to_string(WalkStatus) noexcept {
    return "";
}
bool parse_compound_call(Bytes, CompoundCall&) noexcept {
    return false;
}
bool parse_compound_reply(Bytes, CompoundReply&) noexcept {
    return false;
}
std::optional<FailedOp> failed_op(const CompoundCall&, const CompoundReply&) noexcept {
    return {};
}
bool parse_cb_compound_call(Bytes, CbCompoundCall&) noexcept {
    return false;
}
bool parse_cb_compound_reply(Bytes, CompoundReply&) noexcept {
    return false;
}

}  // namespace vxcheck::rpc

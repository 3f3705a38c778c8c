#include "vxcheck/rpc/message.h"

namespace vxcheck::rpc {

std::string_view to_string(ParseResult) noexcept {
    return "";
}
ParseResult parse_message(Bytes, Message&) noexcept {
    return ParseResult::TooShort;
}
bool plausible_message_start(Bytes) noexcept {
    return false;
}
bool parse_auth_sys(Bytes, AuthSys&) noexcept {
    return false;
}
std::string_view to_string(MsgType) noexcept {
    return "";
}
std::string_view to_string(ReplyStat) noexcept {
    return "";
}
std::string_view to_string(AcceptStat) noexcept {
    return "";
}
std::string_view to_string(RejectStat) noexcept {
    return "";
}
std::string_view to_string(AuthStat) noexcept {
    return "";
}
std::string_view auth_flavor_name(std::uint32_t) noexcept {
    return "";
}
std::string_view program_name(std::uint32_t) noexcept {
    return "";
}
std::string_view procedure_name(std::uint32_t, std::uint32_t, std::uint32_t) noexcept {
    return "";
}

}  // namespace vxcheck::rpc

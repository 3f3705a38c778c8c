#pragma once
// The calls that precede an NFSv3 mount: portmap GETPORT (RFC 1833 section 3, which says on
// which port a program listens) and MOUNT v3 MNT (RFC 1813 section 5.2.1, which hands out the
// export's root file handle). Bounds-checked, no allocation: views point into the bytes given.

#include <cstdint>
#include <optional>
#include <string_view>

#include "vxcheck/bytes.h"
#include "vxcheck/rpc/xdr.h"

namespace vxcheck::rpc {

inline constexpr std::uint32_t kPmapProcGetport = 3;
inline constexpr std::uint32_t kMountProcMnt = 1;
inline constexpr std::uint32_t kIpprotoTcp = 6;  // portmap `prot` values
inline constexpr std::uint32_t kIpprotoUdp = 17;

/// portmap v2 `mapping` (the GETPORT argument; its port is ignored).
struct PmapMapping {
    std::uint32_t prog = 0;
    std::uint32_t vers = 0;
    std::uint32_t prot = 0;
    std::uint32_t port = 0;
};
/// GETPORT call arguments; false when shorter than a mapping.
[[nodiscard]] bool parse_pmap_getport_call(XdrBytes args, PmapMapping& out) noexcept;
/// GETPORT reply: the port (0: the program is not registered); nullopt when missing.
[[nodiscard]] std::optional<std::uint32_t> parse_pmap_getport_reply(XdrBytes results) noexcept;

/// rpcbind v3/v4 GETADDR (RFC 1833 section 2.2): which universal address a program listens on.
inline constexpr std::uint32_t kRpcbProcGetaddr = 3;
inline constexpr std::size_t kMaxRpcbString = 256;  // netid, uaddr and owner strings read

/// rpcbind `rpcb` (the GETADDR argument; r_addr and r_owner are not needed).
struct RpcbArgs {
    std::uint32_t prog = 0;
    std::uint32_t vers = 0;
    std::string_view netid;  // "udp", "tcp", "udp6" ...
};
/// GETADDR call arguments; false when malformed or truncated.
[[nodiscard]] bool parse_rpcb_getaddr_call(XdrBytes args, RpcbArgs& out) noexcept;
/// GETADDR reply: the universal address ("" when the program is not registered); nullopt when
/// malformed.
[[nodiscard]] std::optional<std::string_view> parse_rpcb_getaddr_reply(XdrBytes results) noexcept;
/// The port of a universal address (RFC 5665 section 5.2.3: the address, then ".p1.p2" with
/// port = p1 * 256 + p2); nullopt when it does not end so.
[[nodiscard]] std::optional<std::uint16_t> uaddr_port(std::string_view uaddr) noexcept;

inline constexpr std::size_t kMaxMountPath = 1024;  // MNTPATHLEN
inline constexpr std::size_t kMaxFh3 = 64;          // NFS3_FHSIZE

/// MNT call: the directory path (dirpath<MNTPATHLEN>); nullopt when malformed.
[[nodiscard]] std::optional<std::string_view> parse_mnt_call(XdrBytes args) noexcept;

/// MNT reply (mountres3): status, and for MNT3_OK the root file handle and auth flavors.
struct MntReply {
    std::uint32_t status = 0;  // mountstat3
    Bytes fhandle;             // fhandle3 (<= 64 bytes), MNT3_OK only
    std::uint32_t flavor_count = 0;
};
/// False when the status (or, for MNT3_OK, the handle) cannot be read.
[[nodiscard]] bool parse_mnt_reply(XdrBytes results, MntReply& out) noexcept;

/// "MNT3_OK", "MNT3ERR_NOENT" ... (RFC 1813 section 5.1.5); "" unknown.
[[nodiscard]] std::string_view mountstat3_name(std::uint32_t status) noexcept;

}  // namespace vxcheck::rpc

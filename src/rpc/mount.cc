// portmap GETPORT (RFC 1833 section 3), rpcbind GETADDR (RFC 1833 section 2.2) and MOUNT v3
// MNT (RFC 1813 section 5.2.1):
//
//   GETPORT call:  prog | vers | prot | port          reply: port
//   GETADDR call:  prog | vers | netid | addr | owner reply: uaddr ("h1.h2.h3.h4.p1.p2")
//   MNT call:      dirpath<1024>                      reply: mountstat3 | MNT3_OK: fhandle3<64>,
//                                                            auth_flavors<>

#include "vxcheck/rpc/mount.h"

#include "vxcheck/rpc/xdr.h"

namespace vxcheck::rpc {

bool parse_pmap_getport_call(XdrBytes args, PmapMapping& out) noexcept {
    XdrReader in{args};
    out.prog = in.u32();
    out.vers = in.u32();
    out.prot = in.u32();
    out.port = in.u32();
    return in.ok();
}

std::optional<std::uint32_t> parse_pmap_getport_reply(XdrBytes results) noexcept {
    XdrReader in{results};
    const std::uint32_t port = in.u32();
    return in.ok() ? std::optional<std::uint32_t>{port} : std::nullopt;
}

bool parse_rpcb_getaddr_call(XdrBytes args, RpcbArgs& out) noexcept {
    XdrReader in{args};
    out.prog = in.u32();
    out.vers = in.u32();
    out.netid = in.string(kMaxRpcbString);
    return in.ok();
}

std::optional<std::string_view> parse_rpcb_getaddr_reply(XdrBytes results) noexcept {
    XdrReader in{results};
    const std::string_view uaddr = in.string(kMaxRpcbString);
    return in.ok() ? std::optional<std::string_view>{uaddr} : std::nullopt;
}

std::optional<std::uint16_t> uaddr_port(std::string_view uaddr) noexcept {
    // The last two dot-separated decimal numbers, each 0-255.
    std::uint32_t part[2] = {0, 0};
    for (int i = 1; i >= 0; --i) {
        const std::size_t dot = uaddr.rfind('.');
        const std::string_view digits =
            dot == std::string_view::npos ? uaddr : uaddr.substr(dot + 1);
        if (dot == std::string_view::npos || digits.empty() || digits.size() > 3) {
            return std::nullopt;
        }
        for (const char ch : digits) {
            if (ch < '0' || ch > '9') {
                return std::nullopt;
            }
            part[i] = part[i] * 10 + static_cast<std::uint32_t>(ch - '0');
        }
        if (part[i] > 255) {
            return std::nullopt;
        }
        uaddr = uaddr.substr(0, dot);
    }
    return static_cast<std::uint16_t>(part[0] * 256 + part[1]);
}

std::optional<std::string_view> parse_mnt_call(XdrBytes args) noexcept {
    XdrReader in{args};
    const std::string_view path = in.string(kMaxMountPath);
    return in.ok() ? std::optional<std::string_view>{path} : std::nullopt;
}

bool parse_mnt_reply(XdrBytes results, MntReply& out) noexcept {
    out = MntReply{};
    XdrReader in{results};
    out.status = in.u32();
    if (!in.ok()) {
        return false;
    }
    if (out.status != 0) {
        return true;
    }
    out.fhandle = in.opaque(kMaxFh3);
    out.flavor_count = in.u32();  // the flavors themselves are not needed
    return in.ok();
}

std::string_view mountstat3_name(std::uint32_t status) noexcept {
    switch (status) {
        case 0:
            return "MNT3_OK";
        case 1:
            return "MNT3ERR_PERM";
        case 2:
            return "MNT3ERR_NOENT";
        case 5:
            return "MNT3ERR_IO";
        case 13:
            return "MNT3ERR_ACCES";
        case 20:
            return "MNT3ERR_NOTDIR";
        case 22:
            return "MNT3ERR_INVAL";
        case 63:
            return "MNT3ERR_NAMETOOLONG";
        case 10004:
            return "MNT3ERR_NOTSUPP";
        case 10006:
            return "MNT3ERR_SERVERFAULT";
        default:
            return {};
    }
}

}  // namespace vxcheck::rpc

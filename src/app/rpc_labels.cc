#include "rpc_labels.h"

#include "vxcheck/rpc/message.h"
#include "vxcheck/rpc/mount.h"
#include "vxcheck/rpc/nfs.h"

namespace vxcheck::app {

namespace {

constexpr const char* kOther = "other";

// Whether the code of an error reply has a name in the RFC tables.
bool named(analyze::RpcErrorKind kind, std::uint32_t code, std::uint32_t detail) {
    using K = analyze::RpcErrorKind;
    switch (kind) {
        case K::Denied: {
            const auto reject = static_cast<rpc::RejectStat>(code);
            return !rpc::to_string(reject).empty() &&
                   (reject != rpc::RejectStat::AuthError ||
                    !rpc::to_string(static_cast<rpc::AuthStat>(detail)).empty());
        }
        case K::Accept:
            return !rpc::to_string(static_cast<rpc::AcceptStat>(code)).empty();
        case K::Nfs3:
            return !rpc::nfsstat3_name(code).empty();
        case K::Mount:
            return !rpc::mountstat3_name(code).empty();
        case K::Nfs4:
            return !rpc::nfsstat4_name(code).empty();
    }
    return false;
}

}  // namespace

std::string program_label(std::uint32_t prog) {
    const std::string_view name = analyze::program_label(prog);
    return name.empty() ? kOther : std::string(name);
}

ProcedureLabels procedure_labels(std::uint32_t prog, std::uint32_t vers, std::uint32_t proc) {
    ProcedureLabels l{.program = program_label(prog), .version = kOther, .procedure = kOther};
    if (l.program == kOther) {
        return l;
    }
    if (vers >= 1 && vers <= kNamedVersions) {
        l.version = std::to_string(vers);
    }
    const std::string_view name = rpc::procedure_name(prog, vers, proc);
    if (!name.empty() && l.version != kOther) {
        l.procedure = std::string(name);
    } else if (proc == 0) {
        l.procedure = "NULL";  // procedure 0 of every program (RFC 5531 section 12.1)
    } else if (proc < kMaxNumberedProc) {
        l.procedure = "proc" + std::to_string(proc);
    }
    return l;
}

std::string status_label(analyze::RpcErrorKind kind, std::uint32_t code, std::uint32_t detail) {
    return named(kind, code, detail) ? analyze::rpc_error_label(kind, code, detail) : kOther;
}

}  // namespace vxcheck::app

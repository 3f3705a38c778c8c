#pragma once
// The label values of the RPC metrics (metrics.cc), taken from fixed tables only, so that the
// label sets stay bounded whatever the wire carries. Private to src/app.
//   program    the name rpc::program_name() gives ("NFS", "MOUNT", "Portmap", "NLM", "STAT",
//              "NFS_CB"; NFS ACL as "NFS_ACL", the spelling of the JSON keys), else "other";
//   version    "1" to "4" under a named program, else "other";
//   procedure  the RFC name (rpc::procedure_name(); "NULL" for procedure 0), else "procN" for
//              N < kMaxNumberedProc under a named program, else "other";
//   status     the JSON `errors` key (analyze::rpc_error_label) when the code is in the RFC
//              tables, else "other".
// Bounds: an unnamed program takes "other" for all three, so {program, version, procedure}
// has at most kMaxProcedureLabelSets values, and a status at most kMaxStatusLabels per program.

#include <cstddef>
#include <cstdint>
#include <string>

#include "vxcheck/analyze/rpc_analyzer.h"

namespace vxcheck::app {

inline constexpr std::uint32_t kMaxNumberedProc = 64;
inline constexpr std::size_t kNamedPrograms = 7;
inline constexpr std::size_t kNamedVersions = 4;
inline constexpr std::size_t kMaxProcedureLabelSets =
    kNamedPrograms * (kNamedVersions + 1) * (kMaxNumberedProc + 1) + 1;
inline constexpr std::size_t kMaxStatusLabels = 256;

struct ProcedureLabels {
    std::string program;
    std::string version;
    std::string procedure;
    bool operator==(const ProcedureLabels&) const = default;
};

[[nodiscard]] std::string program_label(std::uint32_t prog);
[[nodiscard]] ProcedureLabels procedure_labels(std::uint32_t prog, std::uint32_t vers,
                                               std::uint32_t proc);
[[nodiscard]] std::string status_label(analyze::RpcErrorKind kind, std::uint32_t code,
                                       std::uint32_t detail);

}  // namespace vxcheck::app

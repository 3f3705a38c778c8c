// The label values of the RPC metrics (rpc_labels.h): RFC names from the fixed tables, procN
// for unnamed procedures of named programs below the bound, "other" for everything else, so
// that the label sets stay within the bounds the header states whatever the wire carries.

#include "app/rpc_labels.h"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "vxcheck/rpc/message.h"

namespace vxcheck::app {
namespace {

using analyze::RpcErrorKind;

ProcedureLabels labels(const char* program, const char* version, const char* procedure) {
    return {program, version, procedure};
}

TEST(RpcLabels, NamedProceduresKeepTheirRfcNames) {
    EXPECT_EQ(procedure_labels(rpc::kProgNfs, 4, 1), labels("NFS", "4", "COMPOUND"));
    EXPECT_EQ(procedure_labels(rpc::kProgNfs, 3, 1), labels("NFS", "3", "GETATTR"));
    EXPECT_EQ(procedure_labels(rpc::kProgMount, 3, 1), labels("MOUNT", "3", "MNT"));
    EXPECT_EQ(procedure_labels(rpc::kProgNfsAcl, 3, 0), labels("NFS_ACL", "3", "NULL"));
}

TEST(RpcLabels, UnnamedProceduresOfNamedProgramsAreNumberedBelowTheBound) {
    EXPECT_EQ(procedure_labels(rpc::kProgNfs, 3, 40), labels("NFS", "3", "proc40"));
    EXPECT_EQ(procedure_labels(rpc::kProgNfs, 3, kMaxNumberedProc - 1).procedure,
              "proc" + std::to_string(kMaxNumberedProc - 1));
    EXPECT_EQ(procedure_labels(rpc::kProgNfs, 3, kMaxNumberedProc).procedure, "other");
    EXPECT_EQ(procedure_labels(rpc::kProgNfs, 3, 0xffffffffU).procedure, "other");
    EXPECT_EQ(procedure_labels(rpc::kProgNfs, 99, 1), labels("NFS", "other", "proc1"));
}

TEST(RpcLabels, UnnamedProgramsAreOtherThroughout) {
    EXPECT_EQ(procedure_labels(123456, 1, 1), labels("other", "other", "other"));
    EXPECT_EQ(program_label(0xdeadbeefU), "other");
}

TEST(RpcLabels, ProcedureLabelSetsStayWithinTheStatedBound) {
    std::set<std::string> programs;
    std::vector<std::uint32_t> named;
    for (std::uint32_t prog = 0; prog < 2000000; ++prog) {
        programs.insert(program_label(prog));
        if (program_label(prog) != "other") {
            named.push_back(prog);
        }
    }
    for (std::uint32_t prog = 0x40000000U; prog < 0x40001000U; ++prog) {
        programs.insert(program_label(prog));
        if (program_label(prog) != "other") {
            named.push_back(prog);
        }
    }
    EXPECT_LE(programs.size(), kNamedPrograms + 1);
    EXPECT_EQ(named.size(), kNamedPrograms);
    named.push_back(424242);  // and one unnamed
    std::set<std::tuple<std::string, std::string, std::string>> sets;
    for (const std::uint32_t prog : named) {
        for (std::uint32_t vers = 0; vers <= 12; ++vers) {
            for (std::uint32_t proc = 0; proc < 1000; ++proc) {
                const ProcedureLabels l = procedure_labels(prog, vers, proc);
                sets.emplace(l.program, l.version, l.procedure);
            }
            const ProcedureLabels l = procedure_labels(prog, vers, 0xffffffffU);
            sets.emplace(l.program, l.version, l.procedure);
        }
    }
    EXPECT_LE(sets.size(), kMaxProcedureLabelSets);
    EXPECT_GT(sets.size(), kNamedPrograms * kNamedVersions) << "the sweep reached the names";
}

TEST(RpcLabels, StatusesAreTheJsonErrorKeysOrOther) {
    EXPECT_EQ(status_label(RpcErrorKind::Nfs4, 10008, 0), "NFS4ERR_DELAY");
    EXPECT_EQ(status_label(RpcErrorKind::Accept, 1, 0), "PROG_UNAVAIL");
    EXPECT_EQ(status_label(RpcErrorKind::Denied, 1, 5), "MSG_DENIED:AUTH_ERROR:AUTH_TOOWEAK");
    EXPECT_EQ(status_label(RpcErrorKind::Nfs3, 2, 0), "NFS3ERR_NOENT");
    EXPECT_EQ(status_label(RpcErrorKind::Nfs4, 99999, 0), "other");
    EXPECT_EQ(status_label(RpcErrorKind::Nfs3, 99999, 0), "other");
    EXPECT_EQ(status_label(RpcErrorKind::Denied, 1, 999), "other");
    EXPECT_EQ(status_label(RpcErrorKind::Accept, 77, 0), "other");
}

TEST(RpcLabels, StatusLabelsStayWithinTheStatedBound) {
    std::set<std::string> statuses;
    for (const RpcErrorKind kind : {RpcErrorKind::Denied, RpcErrorKind::Accept, RpcErrorKind::Nfs3,
                                    RpcErrorKind::Mount, RpcErrorKind::Nfs4}) {
        for (std::uint32_t code = 0; code < 20000; ++code) {
            for (std::uint32_t detail = 0; detail < (kind == RpcErrorKind::Denied ? 40U : 1U);
                 ++detail) {
                const std::string s = status_label(kind, code, detail);
                ASSERT_FALSE(s.empty());
                EXPECT_FALSE(s.back() >= '0' && s.back() <= '9') << s << ": not a fixed name";
                statuses.insert(s);
            }
        }
    }
    EXPECT_LE(statuses.size(), kMaxStatusLabels);
}

}  // namespace
}  // namespace vxcheck::app

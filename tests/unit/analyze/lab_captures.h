#pragma once
// The connection records `vxcheck analyze --json` gives for recorded lab captures (shared by
// the tests of tools/lab/recorded).

#include <filesystem>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "source_dir.h"
#include "vxcheck/app/pipeline.h"

namespace vxcheck::test {

/// Analyses `files` (relative to the source tree) together, one capture point each.
inline std::vector<nlohmann::json> lab_connections(const std::vector<std::string>& files,
                                                   bool all_ports = false) {
    std::filesystem::current_path(vxcheck::test::source_dir());
    app::AnalyzeConfig cfg;
    cfg.files = files;
    cfg.json = true;
    cfg.packets = app::PacketSelection::None;
    cfg.connections.all_ports = all_ports;
    std::ostringstream out;
    app::run_analyze(cfg, out);
    std::vector<nlohmann::json> result;
    std::istringstream in(out.str());
    for (std::string line; std::getline(in, line);) {
        nlohmann::json j = nlohmann::json::parse(line);
        if (j["type"] == "connection") {
            result.push_back(std::move(j));
        }
    }
    return result;
}

}  // namespace vxcheck::test

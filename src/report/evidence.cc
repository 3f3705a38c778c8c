// --evidence: the frames behind connection verdicts, one pcapng interface per capture point,
// each frame commented with the connection, its verdicts and why the frame matters.

#include "vxcheck/report/evidence.h"

#include <map>
#include <utility>

#include "vxcheck/report/explain.h"
#include "vxcheck/report/pcapng_writer.h"

namespace vxcheck::report {

std::size_t write_evidence_pcapng(OutputFile file,
                                  const std::vector<analyze::ConnectionReport>& connections,
                                  const std::vector<std::string>& points) {
    PcapngWriter writer(std::move(file), "vxcheck evidence: packets behind connection verdicts");
    std::map<std::pair<std::uint16_t, LinkType>, std::uint32_t> interfaces;
    // Every interface is described before the first packet: a reader then knows at once that
    // the file holds several capture points (app/file_points.h).
    for (const auto& c : connections) {
        for (const auto& e : c.evidence) {
            const auto key = std::make_pair(e.point, e.link);
            if (!c.has(analyze::Verdict::Clean) && interfaces.find(key) == interfaces.end()) {
                const std::string point = e.point < points.size() ? points[e.point] : "?";
                interfaces.emplace(key, writer.add_interface(point, e.link));
            }
        }
    }
    std::size_t written = 0;
    for (const auto& c : connections) {
        if (c.has(analyze::Verdict::Clean)) {
            continue;  // evidence is for verdicts that need explaining
        }
        std::string tag;
        for (const auto v : c.verdicts) {
            tag += (tag.empty() ? "" : ",") + std::string(analyze::to_string(v));
        }
        const std::string prefix = "vxcheck [" + tag + "] " + track::to_string(c.client) + " > " +
                                   track::to_string(c.server) + ": ";
        for (const auto& e : c.evidence) {
            const std::string point = e.point < points.size() ? points[e.point] : "?";
            writer.write(interfaces.at(std::make_pair(e.point, e.link)), e.ts,
                         Bytes{e.bytes.data(), e.bytes.size()}, e.wirelen,
                         prefix + evidence_note(e.note) + " (frame " + std::to_string(e.frame) +
                             " of " + point + ")");
            ++written;
        }
    }
    writer.close();
    return written;
}

}  // namespace vxcheck::report

#include "live_log.h"

#include <spdlog/formatter.h>
#include <spdlog/spdlog.h>

#include <cmath>
#include <ctime>
#include <memory>
#include <nlohmann/json.hpp>

namespace vxcheck::app {
namespace {

using nlohmann::ordered_json;

// Writes one line of JSON; bytes that are not UTF-8 (an interface name, a path) are replaced,
// never thrown over.
std::string json_line(const ordered_json& j) {
    return j.dump(-1, ' ', false, ordered_json::error_handler_t::replace) + '\n';
}

class JsonLogFormatter final : public spdlog::formatter {
  public:
    void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
        const auto since_epoch = msg.time.time_since_epoch();
        const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(since_epoch).count();
        const Timestamp ts{.sec = ns / 1'000'000'000,
                           .nsec = static_cast<std::uint32_t>(ns % 1'000'000'000)};
        const spdlog::string_view_t level = spdlog::level::to_string_view(msg.level);
        const std::string line =
            log_json(ts, {level.data(), level.size()}, {msg.payload.data(), msg.payload.size()});
        dest.append(line.data(), line.data() + line.size());
    }

    [[nodiscard]] std::unique_ptr<spdlog::formatter> clone() const override {
        return std::make_unique<JsonLogFormatter>();
    }
};

std::string verdict_name(std::size_t v) {
    return std::string(analyze::to_string(static_cast<analyze::Verdict>(v)));
}

}  // namespace

std::string rfc3339_utc(Timestamp ts) {
    const std::time_t t = ts.sec;
    std::tm tm{};
    ::gmtime_r(&t, &tm);
    char buf[64];
    const std::size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
    std::snprintf(buf + n, sizeof buf - n, ".%06uZ", static_cast<unsigned>(ts.nsec / 1000));
    return buf;
}

std::string log_json(Timestamp ts, std::string_view level, std::string_view message) {
    ordered_json j;
    j["type"] = "log";
    j["timestamp"] = rfc3339_utc(ts);
    j["level"] = level;
    j["message"] = message;
    return json_line(j);
}

void log_as_json_lines() {
    spdlog::default_logger()->set_formatter(std::make_unique<JsonLogFormatter>());
}

std::string status_text(const StatusFacts& s) {
    std::string per;
    std::uint64_t drops = 0;
    for (const StatusFacts::Interface& i : s.interfaces) {
        per += (per.empty() ? "" : ", ") + i.name + " " + std::to_string(i.frames) +
               (i.up ? "" : " (down)");
        drops += i.kernel_drops;
    }
    std::string verdicts;
    for (std::size_t v = 0; v < s.verdicts.size(); ++v) {
        if (s.verdicts[v] != 0 && v != static_cast<std::size_t>(analyze::Verdict::Clean)) {
            verdicts += (verdicts.empty() ? "" : ", ") + verdict_name(v) + " " +
                        std::to_string(s.verdicts[v]);
        }
    }
    char head[160];
    std::snprintf(head, sizeof head, "vxcheck: %.0f s | %llu frames (", s.elapsed_s,
                  static_cast<unsigned long long>(s.frames));
    return head + per + ") | " + std::to_string(drops) + " kernel drops | " +
           std::to_string(s.tracked_connections) +
           " tracked connections | verdicts: " + (verdicts.empty() ? "none" : verdicts) + "\n";
}

std::string status_json(const StatusFacts& s) {
    ordered_json j;
    j["type"] = "status";
    j["timestamp"] = rfc3339_utc(s.now);
    j["elapsed_s"] = std::round(s.elapsed_s * 1000) / 1000;  // milliseconds are enough
    j["frames"] = s.frames;
    std::uint64_t drops = 0;
    ordered_json interfaces = ordered_json::array();
    for (const StatusFacts::Interface& i : s.interfaces) {
        interfaces.push_back(ordered_json{{"interface", i.name},
                                          {"up", i.up},
                                          {"frames", i.frames},
                                          {"kernel_drops", i.kernel_drops}});
        drops += i.kernel_drops;
    }
    j["kernel_drops"] = drops;
    j["tracked_connections"] = s.tracked_connections;
    j["interfaces"] = std::move(interfaces);
    // Every verdict, zeros included: the object has the same keys in every status record.
    ordered_json verdicts = ordered_json::object();
    for (std::size_t v = 0; v < s.verdicts.size(); ++v) {
        verdicts[verdict_name(v)] = s.verdicts[v];
    }
    j["verdicts"] = std::move(verdicts);
    return json_line(j);
}

}  // namespace vxcheck::app

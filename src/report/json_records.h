#pragma once
// The records of the JSON Lines report, schema v1 (docs/schema/vxcheck-v1.schema.json; README
// "JSON output"). Rules every record follows:
// - `type` and `schema_version` on every record: a JSON Lines consumer (jq, a log shipper, a
//   `kubectl logs` pipe) sees each line on its own, so a header record would be lost to it;
// - one JSON type per field name at any path, across all record types;
// - times as RFC 3339 UTC strings with nanoseconds, plus `<name>_epoch_s` numbers on records'
//   own times for arithmetic;
// - reasons as machine codes (`code`) with their numbers as fields, prose only in
//   `explanation`;
// - a list cut at a bound carries `<list>_total`.

#include <cmath>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "vxcheck/analyze/connection_report.h"
#include "vxcheck/frame.h"
#include "vxcheck/report/reporter.h"

namespace vxcheck::report::json {

using nlohmann::ordered_json;

/// The schema version every record carries.
inline constexpr int kSchemaVersion = 1;

/// A record of `type` with its schema version.
[[nodiscard]] ordered_json record(const char* type);

/// "2023-11-14T22:13:20.000020000Z".
[[nodiscard]] std::string rfc3339(Timestamp ts);
/// Seconds since the epoch, as a number.
[[nodiscard]] double epoch_s(Timestamp ts) noexcept;
/// Seconds rounded to the microsecond, as durations and offsets are printed.
[[nodiscard]] inline double micro(double s) {
    return std::round(s * 1e6) / 1e6;
}
/// Sets `name` (RFC 3339) and `name`_epoch_s on j.
void put_time(ordered_json& j, const std::string& name, Timestamp ts);

[[nodiscard]] ordered_json packet_record(const PacketView& p);
[[nodiscard]] ordered_json connection_record(const analyze::ConnectionReport& c,
                                             const std::vector<std::string>& points);
/// The `rpc` and `rpc_evidence` members of a connection record (json_rpc.cc).
void put_rpc(ordered_json& j, const analyze::RpcFacts& f);

}  // namespace vxcheck::report::json

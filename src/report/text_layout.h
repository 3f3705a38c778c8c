#pragma once
// Layout helpers of the text report (text_*.cc): every line it prints fits in kWidth columns,
// times are UTC in the RFC 3339 form that log timestamps use.

#include <cstddef>
#include <string>

#include "vxcheck/frame.h"

namespace vxcheck::report::text {

inline constexpr std::size_t kWidth = 100;

/// "2026-11-22T00:45:18.403Z": UTC, `decimals` (0-9) digits of the second.
[[nodiscard]] std::string utc_time(Timestamp ts, int decimals = 3);
/// Words of `text` in lines of at most kWidth columns: the first indented by `first`, the rest
/// by `rest`; each line ends in '\n'. A word longer than a line stands alone on its line.
[[nodiscard]] std::string wrap(const std::string& text, const std::string& first,
                               const std::string& rest);
/// `s` padded with spaces to `w` columns (never cut).
[[nodiscard]] std::string pad(const std::string& s, std::size_t w);
/// `s` right-aligned in `w` columns (never cut).
[[nodiscard]] std::string rpad(const std::string& s, std::size_t w);
/// "1 packet" / "2 packets": `n` and the noun, plural unless n == 1.
[[nodiscard]] std::string count(std::uint64_t n, const std::string& one, const std::string& many);

}  // namespace vxcheck::report::text

#pragma once
// Private to src/app: option values converted from their text. Numbers are taken as text and
// converted here, strictly: Boost's lexical_cast reads "-1" for an unsigned option as its
// largest value (--max-flows -1 meant no bound), and "nan" or "inf" for a double. Every error is
// a UsageError, one line naming the option, its value and what was expected.

#include <cstddef>
#include <cstdint>
#include <string>

namespace vxcheck::app {

/// The most seconds any option takes (366 days): a larger value is a mistake, not a plan.
inline constexpr double kMaxSeconds = 366.0 * 24 * 3600;

/// "--name VALUE" ("-i VALUE" for a one-letter option), as messages name an option.
[[nodiscard]] std::string option_text(const char* option, const std::string& text);

/// A whole number from `min` to `max`, in decimal digits only (no sign, no space); `unit` ends
/// the message.
[[nodiscard]] std::uint64_t to_count(const std::string& text, const char* option, std::uint64_t min,
                                     std::uint64_t max, const char* unit = "");

/// Seconds: a finite number from 0 (or, with `zero` false, more than 0) to kMaxSeconds.
[[nodiscard]] double to_seconds(const std::string& text, const char* option, bool zero);

/// A port, 1 to 65535; `proto` ("UDP", "TCP") for the message.
[[nodiscard]] std::uint16_t to_port(const std::string& text, const char* option, const char* proto);

/// --file-mode: octal permission bits, 0 to 0777 (no set-id or sticky bit).
[[nodiscard]] unsigned to_file_mode(const std::string& text);

/// A size in bytes: a whole number with an optional binary suffix K, M or G (KiB, MiB, GiB), up
/// to 1 TiB.
[[nodiscard]] std::size_t to_bytes(const std::string& text, const char* option);

/// --buffer-size MiB as bytes, computed in 64 bits, at most what the kernel gives a socket.
[[nodiscard]] std::uint32_t to_buffer_bytes(const std::string& text);

}  // namespace vxcheck::app

#include "option_values.h"

#include <charconv>
#include <climits>
#include <cmath>

#include "vxcheck/app/options.h"

namespace vxcheck::app {
namespace {

// Whether `text` is a whole number in decimal digits only (no sign, no space): `value`.
bool whole_number(const std::string& text, std::uint64_t& value) {
    const char* end = text.data() + text.size();
    const auto [stop, ec] = std::from_chars(text.data(), end, value);
    return !text.empty() && ec == std::errc{} && stop == end;
}

// The kernel doubles SO_RCVBUF(FORCE) and caps the value asked for at INT_MAX / 2 bytes
// (net/core/sock.c, __sock_set_rcvbuf): 1023 MiB is the most that is really given. Bytes are
// computed in 64 bits (a 32-bit shift of 4096 MiB is 0, and 2048 MiB does not fit the int the
// socket option takes: both ended as the kernel's minimum of 2,304 bytes).
constexpr std::uint64_t kMaxBufferMiB = (std::uint64_t{INT_MAX} / 2) >> 20;
static_assert(kMaxBufferMiB == 1023);

}  // namespace

std::string option_text(const char* option, const std::string& text) {
    return std::string(option[1] == '\0' ? "-" : "--") + option + " " + text;
}

std::uint64_t to_count(const std::string& text, const char* option, std::uint64_t min,
                       std::uint64_t max, const char* unit) {
    std::uint64_t value = 0;
    if (!whole_number(text, value) || value < min || value > max) {
        throw UsageError(option_text(option, text) + ": expected a whole number from " +
                         std::to_string(min) + " to " + std::to_string(max) + unit);
    }
    return value;
}

double to_seconds(const std::string& text, const char* option, bool zero) {
    double value = 0;
    const char* end = text.data() + text.size();
    const auto [stop, ec] = std::from_chars(text.data(), end, value);
    if (text.empty() || ec != std::errc{} || stop != end || !std::isfinite(value) || value < 0 ||
        (value == 0 && !zero) || value > kMaxSeconds) {
        throw UsageError(option_text(option, text) + ": expected a number of seconds " +
                         (zero ? "from 0" : "more than 0") + " to " +
                         std::to_string(static_cast<std::uint64_t>(kMaxSeconds)));
    }
    return value;
}

std::uint16_t to_port(const std::string& text, const char* option, const char* proto) {
    std::uint64_t value = 0;
    if (!whole_number(text, value) || value == 0 || value > 65535) {
        throw UsageError(option_text(option, text) + ": not a " + proto + " port (1-65535)");
    }
    return static_cast<std::uint16_t>(value);
}

unsigned to_file_mode(const std::string& text) {
    unsigned mode = 0;
    const char* end = text.data() + text.size();
    const auto [stop, ec] = std::from_chars(text.data(), end, mode, 8);
    if (text.empty() || ec != std::errc{} || stop != end || mode > 0777) {
        throw UsageError(option_text("file-mode", text) +
                         ": expected octal permission bits from 0 to 0777 (e.g. 0640)");
    }
    return mode;
}

std::uint32_t to_buffer_bytes(const std::string& text) {
    const std::uint64_t mib =
        to_count(text, "buffer-size", 1, kMaxBufferMiB, " MiB (the most the kernel gives)");
    const std::uint64_t bytes = mib << 20;
    static_assert((kMaxBufferMiB << 20) <= std::uint64_t{INT_MAX});
    return static_cast<std::uint32_t>(bytes);
}

std::size_t to_bytes(const std::string& text, const char* option) {
    std::uint64_t n = 0;
    std::size_t i = 0;
    for (; i < text.size() && text[i] >= '0' && text[i] <= '9' && n <= (std::uint64_t{1} << 50);
         ++i) {
        n = n * 10 + static_cast<std::uint64_t>(text[i] - '0');
    }
    const std::string suffix = text.substr(i);
    unsigned shift = 0;
    if (suffix == "K" || suffix == "k") {
        shift = 10;
    } else if (suffix == "M" || suffix == "m") {
        shift = 20;
    } else if (suffix == "G" || suffix == "g") {
        shift = 30;
    } else if (!suffix.empty()) {
        i = 0;  // not a number
    }
    if (i == 0 || n > (std::uint64_t{1} << 40) >> shift) {
        throw UsageError(std::string("--") + option + " " + text +
                         ": expected a size in bytes up to 1T (a number, optionally with K, M or "
                         "G)");
    }
    return static_cast<std::size_t>(n << shift);
}

}  // namespace vxcheck::app

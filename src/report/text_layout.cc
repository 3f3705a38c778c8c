#include "text_layout.h"

#include <cstdio>
#include <ctime>

namespace vxcheck::report::text {

std::string utc_time(Timestamp ts, int decimals) {
    const std::time_t t = ts.sec;
    std::tm tm{};
    ::gmtime_r(&t, &tm);
    char date[32];
    std::strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%S", &tm);
    std::string out = date;
    if (decimals > 0) {
        char frac[16];
        std::snprintf(frac, sizeof frac, "%09u", ts.nsec);
        out += '.';
        out.append(frac, static_cast<std::size_t>(decimals > 9 ? 9 : decimals));
    }
    return out + 'Z';
}

std::string wrap(const std::string& text, const std::string& first, const std::string& rest) {
    std::string out;
    std::string line = first;
    bool empty = true;  // no word on `line` yet
    std::size_t pos = 0;
    while (pos < text.size()) {
        std::size_t end = text.find(' ', pos);
        if (end == std::string::npos) {
            end = text.size();
        }
        const std::string word = text.substr(pos, end - pos);
        pos = end + 1;
        if (word.empty()) {
            continue;
        }
        if (!empty && line.size() + 1 + word.size() > kWidth) {
            out += line + "\n";
            line = rest;
            empty = true;
        }
        line += (empty ? "" : " ") + word;
        empty = false;
    }
    return out + line + "\n";
}

std::string pad(const std::string& s, std::size_t w) {
    return s.size() >= w ? s : s + std::string(w - s.size(), ' ');
}

std::string rpad(const std::string& s, std::size_t w) {
    return s.size() >= w ? s : std::string(w - s.size(), ' ') + s;
}

std::string count(std::uint64_t n, const std::string& one, const std::string& many) {
    return std::to_string(n) + " " + (n == 1 ? one : many);
}

}  // namespace vxcheck::report::text

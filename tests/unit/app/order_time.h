#pragma once
// The stamps of the time-order tests (time_order_test.cc, file_order_test.cc): milliseconds
// after a fixed second.

#include <cstdint>

#include "app/time_order.h"

namespace vxcheck::app::order_test {

inline constexpr std::int64_t kMs = 1'000'000;

inline Timestamp at_ms(std::int64_t ms) {
    return TimeOrder::before(Timestamp{.sec = 1000, .nsec = 0}, -ms * kMs);
}

}  // namespace vxcheck::app::order_test

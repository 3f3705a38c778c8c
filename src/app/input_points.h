#pragma once
// Private to src/app: the capture points of `capture -i any`. Every interface that frames come
// from is a point of its own, named after it, as if it had been given with -i: the same packet
// seen on flannel.1 and on eth0 is then joined across the two points (one point would count it
// twice, a SYN as its own retransmission).

#include <cstdint>
#include <utility>
#include <vector>

#include "frame_consumer.h"
#include "vxcheck/frame.h"

namespace vxcheck::app {

class AnyPoints {
  public:
    /// `fallback`: the point of the "any" socket itself, for a frame without an SLL2 header.
    AnyPoints(FrameConsumer& consumer, std::uint16_t fallback)
        : consumer_(consumer), fallback_(fallback) {}

    /// The point of a frame of the "any" socket: that of the interface its SLL2 header names,
    /// registered with the consumer when the interface is first seen (named by if_indextoname
    /// then: the interface's name at capture time). No allocation for an interface seen before.
    std::uint16_t point_of(const RawFrame& frame);

  private:
    FrameConsumer& consumer_;
    std::uint16_t fallback_;
    std::vector<std::pair<std::uint32_t, std::uint16_t>> known_;  // interface index, point
};

}  // namespace vxcheck::app

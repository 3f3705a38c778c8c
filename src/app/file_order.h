#pragma once
// Private to src/app: the frames of a pcapng file of several interfaces, in time order.
//
// dumpcap (and tshark, Wireshark) capture several interfaces as `vxcheck capture` does, each
// read from its own socket, and write each frame as they read it: every interface's frames are
// in time order, but a batch of eth0's frames can be written before an earlier frame of
// flannel.1. Read in the written order, an NFS reply on eth0 would come before its call on
// flannel.1, a post-NAT copy before its pre-NAT one. So a file that describes two or more
// interfaces goes through a TimeOrder (time_order.h), with this rule for when a held frame may
// go on:
//
//   Every interface's frames are written in time order, so once interface i has shown a frame
//   stamped t, no frame of i stamped before t follows. A frame may go on when every interface
//   the file describes has shown one stamped no earlier than it (each interface's latest stamp
//   is its watermark; the lowest of them is the cutoff), or when it is stamped `window` before
//   the latest stamp of the file: a quiet interface holds the others back for that long and no
//   longer, and a frame written more than that after a later-stamped one is taken late
//   (counted).
//
// A file of one interface, and a classic pcap file (which does not say which interface a frame
// came from), is given in the written order, without copying; so is a file that describes more
// than Limits::max_interfaces (in_time_order() warns), and the rest of one whose frames name a
// later interface than that. Frame numbers stay those of the
// file. A frame that finds its interface's ring full first hands on the earliest frames held
// (the window is then shorter than `window`); a ring that cannot be allocated leaves the file in
// the written order from there on (logged). At the end, a warning names the file and the count
// of frames that were taken late, if any.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "time_order.h"
#include "vxcheck/capture/source.h"

namespace vxcheck::app {

class FileOrder final : public capture::Source {
  public:
    struct Limits {
        std::size_t ring_bytes = std::size_t{8} << 20;  // per interface
        std::int64_t window_ns = 1'000'000'000;
        std::size_t max_interfaces = 64;  // more: the written order
    };

    FileOrder(std::string file, std::unique_ptr<capture::Source> inner, Limits limits);

    capture::ReadStatus next(RawFrame& frame) noexcept override;
    [[nodiscard]] const std::string& error() const noexcept override { return inner_->error(); }
    [[nodiscard]] const std::string& link_name() const noexcept override {
        return inner_->link_name();
    }
    [[nodiscard]] std::uint64_t position() const noexcept override { return inner_->position(); }
    [[nodiscard]] std::uint64_t size() const noexcept override { return inner_->size(); }
    [[nodiscard]] std::uint64_t filtered() const noexcept override { return inner_->filtered(); }
    [[nodiscard]] std::uint32_t interface_count() const override {
        return inner_->interface_count();
    }
    [[nodiscard]] std::string interface_name(std::uint32_t interface) const override {
        return inner_->interface_name(interface);
    }

    /// Frames handed on after a later-stamped frame of another interface.
    [[nodiscard]] std::uint64_t late() const noexcept { return order_ ? order_->late() : 0; }

  private:
    // Whether frames of `interface` are held (adding its ring, and those before it, if needed).
    bool holds(std::uint32_t interface) noexcept;
    // The latest stamp a held frame may have to go on now.
    [[nodiscard]] Timestamp cutoff() const noexcept;
    capture::ReadStatus give(std::size_t point, RawFrame& frame) noexcept;
    // Leaves the rest of the file in the written order, with a warning naming the reason.
    void give_up(const char* why, std::uint32_t interface) noexcept;

    std::string file_;
    std::unique_ptr<capture::Source> inner_;
    Limits limits_;
    std::uint32_t described_ = 0;     // interfaces the file described when opened
    std::optional<TimeOrder> order_;  // while frames are held
    bool written_order_ = false;      // holding was given up (a ring not allocated)
    // Per interface: whether it has shown a frame, and its latest stamp. known_: the interfaces
    // described when the file was opened or seen since (at most max_interfaces).
    std::size_t known_ = 0;
    std::vector<bool> seen_;
    std::vector<Timestamp> watermark_;
    Timestamp newest_;
    std::size_t given_ = TimeOrder::kNone;  // the ring whose first frame went on last
    RawFrame pending_;                      // read, not yet held: its ring was full
    bool has_pending_ = false;
    std::optional<capture::ReadStatus> end_;  // what the file ended with
    bool warned_ = false;                     // of the frames taken late
};

/// `source` in time order if it is a pcapng file of several interfaces (FileOrder), else itself.
std::unique_ptr<capture::Source> in_time_order(std::string file,
                                               std::unique_ptr<capture::Source> source);

}  // namespace vxcheck::app

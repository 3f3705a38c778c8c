#include "file_order.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <new>
#include <utility>

namespace vxcheck::app {

FileOrder::FileOrder(std::string file, std::unique_ptr<capture::Source> inner, Limits limits)
    : file_(std::move(file)),
      inner_(std::move(inner)),
      limits_(limits),
      described_(inner_->interface_count()),
      known_(std::min<std::size_t>(described_, limits_.max_interfaces)),
      seen_(limits_.max_interfaces),
      watermark_(limits_.max_interfaces) {}

bool FileOrder::holds(std::uint32_t interface) noexcept {
    if (written_order_ || (!order_ && interface == 0 && described_ < 2)) {
        return false;
    }
    if (interface >= limits_.max_interfaces) {
        give_up("a frame of interface {} (the first {} are put in time order)", interface);
        return false;
    }
    try {
        if (!order_) {
            order_.emplace(0, TimeOrder::Limits{.ring_bytes = limits_.ring_bytes});
        }
        while (order_->points() <= std::max<std::size_t>(interface, 1)) {
            order_->add_point();
        }
    } catch (const std::bad_alloc&) {
        give_up("no memory to hold the frames of interface {}", interface);
        return false;
    }
    return true;
}

void FileOrder::give_up(const char* why, std::uint32_t interface) noexcept {
    written_order_ = true;
    try {
        spdlog::warn("{}: frames analysed in the order written from here on: {}", file_,
                     fmt::format(fmt::runtime(why), interface, limits_.max_interfaces));
    } catch (...) {  // the log is not essential
    }
}

Timestamp FileOrder::cutoff() const noexcept {
    const Timestamp window = TimeOrder::before(newest_, limits_.window_ns);
    Timestamp low = newest_;
    for (std::size_t i = 0; i < known_; ++i) {
        if (!seen_[i]) {
            return window;  // described, no frame yet: one may still come, stamped any time
        }
        low = std::min(low, watermark_[i]);
    }
    return std::max(low, window);
}

capture::ReadStatus FileOrder::give(std::size_t point, RawFrame& frame) noexcept {
    frame = order_->take_front(point);
    given_ = point;
    return capture::ReadStatus::Frame;
}

capture::ReadStatus FileOrder::next(RawFrame& frame) noexcept {
    if (given_ != TimeOrder::kNone) {
        order_->drop_front(given_);
        given_ = TimeOrder::kNone;
    }
    for (;;) {
        if (has_pending_) {
            // Held unless its ring is full: then what is stamped no later goes first, and the
            // frame itself when nothing held is (or after everything held, holding given up).
            if (!written_order_ && order_->store(pending_.interface, pending_, newest_)) {
                has_pending_ = false;
            } else {
                const std::size_t p =
                    written_order_ ? order_->earliest() : order_->ready(pending_.ts);
                if (p != TimeOrder::kNone) {
                    return give(p, frame);
                }
                order_->note_released(pending_.ts);
                frame = pending_;
                has_pending_ = false;
                return capture::ReadStatus::Frame;
            }
        }
        if (order_) {
            const std::size_t p = end_ ? order_->earliest() : order_->ready(cutoff());
            if (p != TimeOrder::kNone) {
                return give(p, frame);
            }
        }
        if (end_) {
            if (!warned_ && late() != 0) {
                warned_ = true;
                try {
                    spdlog::warn(
                        "{}: {} frame(s) were written too far out of time order across interfaces "
                        "(over {} ms, or beyond what the hold keeps) and were analysed late; "
                        "`reordercap` sorts the file",
                        file_, late(), limits_.window_ns / 1'000'000);
                } catch (...) {  // the log is not essential
                }
            }
            return *end_;
        }
        RawFrame f;
        const capture::ReadStatus status = inner_->next(f);
        if (status == capture::ReadStatus::WouldBlock) {
            return status;
        }
        if (status != capture::ReadStatus::Frame) {
            end_ = status;
            continue;
        }
        if (f.interface < seen_.size()) {
            known_ = std::max<std::size_t>(known_, f.interface + 1);
            seen_[f.interface] = true;
            watermark_[f.interface] = std::max(watermark_[f.interface], f.ts);
        }
        newest_ = std::max(newest_, f.ts);
        if (!holds(f.interface) && (!order_ || order_->empty())) {
            frame = f;  // the written order: given as read, not copied
            return capture::ReadStatus::Frame;
        }
        pending_ = f;
        has_pending_ = true;
    }
}

std::unique_ptr<capture::Source> in_time_order(std::string file,
                                               std::unique_ptr<capture::Source> source) {
    const std::uint32_t interfaces = source->interface_count();
    if (interfaces == 0) {
        return source;  // classic pcap: one interface
    }
    const FileOrder::Limits limits;
    if (interfaces > limits.max_interfaces) {
        spdlog::warn(
            "{}: frames analysed in the order written: the file describes {} interfaces, more "
            "than the {} put in time order",
            file, interfaces, limits.max_interfaces);
        return source;
    }
    return std::make_unique<FileOrder>(std::move(file), std::move(source), limits);
}

}  // namespace vxcheck::app

#pragma once
// An evidence frame as a tracked connection keeps it until it is decided (private to
// src/analyze): a short header with the frame's facts and its note, and the frame's bytes after
// it, in one allocation; a connection's frames are a list in the order kept (FrameList, one
// pointer in the record). What a report holds is an EvidenceFrame (connection_report.h), made
// from it when the connection is decided (to_evidence_frame()): the frame's bytes and the same
// facts, so the report does not change. The notes a connection keeps (SYN tracking, bad outer
// checksums) have no RPC part: a plug-in adds its frames to the report itself.

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <new>
#include <span>
#include <utility>

#include "vxcheck/analyze/connection_report.h"
#include "vxcheck/frame.h"

namespace vxcheck::analyze {

class KeptFrame {
  public:
    KeptFrame(const KeptFrame&) = delete;
    KeptFrame& operator=(const KeptFrame&) = delete;
    KeptFrame(KeptFrame&&) = delete;
    KeptFrame& operator=(KeptFrame&&) = delete;
    ~KeptFrame() = default;

    /// A copy of `frame` seen at `point`, with `note` (its RPC part is not kept); throws
    /// std::bad_alloc.
    [[nodiscard]] static KeptFrame* make(const RawFrame& frame, std::uint16_t point,
                                         const EvidenceNote& note) {
        const auto caplen = static_cast<std::uint32_t>(frame.data.size());
        void* p = ::operator new(sizeof(KeptFrame) + caplen);
        auto* k = new (p) KeptFrame(frame, point, note, caplen);
        if (caplen != 0) {
            std::memcpy(k->bytes_start(), frame.data.data(), caplen);
        }
        return k;
    }
    static void destroy(KeptFrame* k) noexcept {
        if (k != nullptr) {
            k->~KeptFrame();
            ::operator delete(k);
        }
    }

    /// The bytes it holds: its header and the frame's bytes (the evidence budget's charge).
    [[nodiscard]] std::size_t cost() const noexcept { return sizeof(KeptFrame) + caplen_; }
    [[nodiscard]] std::span<const std::uint8_t> bytes() const noexcept {
        return {bytes_start(), caplen_};
    }

    /// The report's form of it: the EvidenceFrame the frame and note make.
    [[nodiscard]] EvidenceFrame to_evidence_frame() const {
        EvidenceFrame e;
        e.point = point_;
        e.frame = frame_;
        e.ts = Timestamp{.sec = sec_, .nsec = nsec_};
        e.link = link_;
        e.wirelen = wirelen_;
        e.bytes.assign(bytes_start(), bytes_start() + caplen_);
        EvidenceNote& n = e.note;
        n.kind = kind_;
        n.syn_number = syn_number_;
        n.isn = isn_;
        n.offset_s = offset_s_;
        n.icmp_type = icmp_type_;
        n.icmp_code = icmp_code_;
        n.tunnelled = tunnelled_;
        n.outer_known = outer_known_;
        n.outer_status = outer_status_;
        n.outer_sport = outer_sport_;
        n.stored = stored_;
        n.expected = expected_;
        return e;
    }

    KeptFrame* next = nullptr;  // FrameList's link

  private:
    KeptFrame(const RawFrame& f, std::uint16_t point, const EvidenceNote& n,
              std::uint32_t caplen) noexcept
        : frame_(f.number),
          sec_(f.ts.sec),
          offset_s_(n.offset_s),
          nsec_(f.ts.nsec),
          wirelen_(f.wirelen),
          caplen_(caplen),
          syn_number_(n.syn_number),
          isn_(n.isn),
          point_(point),
          outer_sport_(n.outer_sport),
          stored_(n.stored),
          expected_(n.expected),
          kind_(n.kind),
          link_(f.link),
          outer_status_(n.outer_status),
          icmp_type_(n.icmp_type),
          icmp_code_(n.icmp_code),
          tunnelled_(n.tunnelled),
          outer_known_(n.outer_known) {}

    [[nodiscard]] std::uint8_t* bytes_start() noexcept {
        return reinterpret_cast<std::uint8_t*>(this) + sizeof(KeptFrame);
    }
    [[nodiscard]] const std::uint8_t* bytes_start() const noexcept {
        return reinterpret_cast<const std::uint8_t*>(this) + sizeof(KeptFrame);
    }

    std::uint64_t frame_;
    std::int64_t sec_;
    double offset_s_;
    std::uint32_t nsec_;
    std::uint32_t wirelen_;
    std::uint32_t caplen_;
    std::uint32_t syn_number_;
    std::uint32_t isn_;
    std::uint16_t point_;
    std::uint16_t outer_sport_;
    std::uint16_t stored_;
    std::uint16_t expected_;
    EvidenceNote::Kind kind_;
    LinkType link_;
    verify::Status outer_status_;
    std::uint8_t icmp_type_;
    std::uint8_t icmp_code_;
    bool tunnelled_;
    bool outer_known_;
};

/// A connection's evidence frames, in the order kept: one owning pointer (a record's field).
class FrameList {
  public:
    FrameList() = default;
    FrameList(const FrameList&) = delete;
    FrameList& operator=(const FrameList&) = delete;
    FrameList(FrameList&& o) noexcept : head_(std::exchange(o.head_, nullptr)) {}
    FrameList& operator=(FrameList&& o) noexcept {
        if (this != &o) {
            clear();
            head_ = std::exchange(o.head_, nullptr);
        }
        return *this;
    }
    ~FrameList() { clear(); }

    [[nodiscard]] bool empty() const noexcept { return head_ == nullptr; }
    /// Walks the list: a connection keeps at most kMaxEvidence frames.
    [[nodiscard]] std::size_t size() const noexcept {
        std::size_t n = 0;
        for (const KeptFrame* k = head_; k != nullptr; k = k->next) {
            ++n;
        }
        return n;
    }
    /// Takes k (made by KeptFrame::make) as the last frame.
    void push_back(KeptFrame* k) noexcept {
        k->next = nullptr;
        KeptFrame** at = &head_;
        while (*at != nullptr) {
            at = &(*at)->next;
        }
        *at = k;
    }
    /// Gives up the first frame (nullptr when empty): the caller owns it.
    [[nodiscard]] KeptFrame* pop_front() noexcept {
        KeptFrame* k = head_;
        if (k != nullptr) {
            head_ = std::exchange(k->next, nullptr);
        }
        return k;
    }
    void clear() noexcept {
        while (KeptFrame* k = pop_front()) {
            KeptFrame::destroy(k);
        }
    }
    /// Calls fn(const KeptFrame&) for each frame in order.
    template <class Fn>
    void for_each(Fn&& fn) const {
        for (const KeptFrame* k = head_; k != nullptr; k = k->next) {
            fn(*k);
        }
    }

  private:
    KeptFrame* head_ = nullptr;
};

}  // namespace vxcheck::analyze

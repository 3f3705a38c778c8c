#include "vxcheck/app/pipeline.h"

#include <algorithm>
#include <filesystem>

#include "reassembly_stage.h"
#include "run_common.h"
#include "vxcheck/decode/decode.h"

namespace vxcheck::app {
std::string point_name(const std::string& file, const std::vector<std::string>& taken) {
    std::filesystem::path path(file);
    if (path.extension() == ".gz") {
        path = path.stem();  // a.pcap.gz: the point of a.pcap, "a"
    }
    std::string stem = file == "-" ? "stdin" : path.stem().string();
    std::string name = stem;
    for (int n = 2; std::find(taken.begin(), taken.end(), name) != taken.end(); ++n) {
        name = stem + "#" + std::to_string(n);
    }
    return name;
}

void FrameProcessor::process(const RawFrame& frame, report::Summary& summary) noexcept {
    origin_ = origin_of(frame);
    // The fast path gives no frame an anomaly or a bad verdict (so the kernel's hint changes
    // none of its verdicts, and the frame is not bad): Summary::add_fast_path tallies it.
    unbuilt_ = options_.fast_path
                   ? fastpath::take_frame(frame, options_, *packet_, verdicts_, digest_, prefetch_)
                   : fastpath::Shape::None;
    if (unbuilt_ != fastpath::Shape::None) {
        ++fast_frames_;
        summary.add_fast_path(frame, verdicts_);
        bad_ = false;
        fragment_ = false;
        return;
    }
    decode::decode(frame, options_, *packet_);
    verify::verify(*packet_, verdicts_);
    if (frame.csum_not_ready) {
        apply_kernel_hint();
    }
    analyze::digest(*packet_, verdicts_, digest_);
    bad_ = summary.add(*packet_, verdicts_);  // reads the frame, the anomalies and the verdicts
    fragment_ = first_fragment(*packet_) >= 0;
}

const decode::DecodedPacket& FrameProcessor::packet() const noexcept {
    if (unbuilt_ != fastpath::Shape::None) {
        fastpath::build_layers(packet_->frame(), unbuilt_, options_, *packet_);
        unbuilt_ = fastpath::Shape::None;
    }
    return *packet_;
}

// The kernel said this skb is CHECKSUM_PARTIAL: one L4 checksum (csum_start; for a tunnel with
// local checksum offload the innermost one) is left for the NIC. Where our partial-form test
// did not recognise it (a driver writing something else), trust the kernel rather than call it
// bad. Outer checksums are complete in that case and keep their verdict (NAT corruption stays).
void FrameProcessor::apply_kernel_hint() noexcept {
    const auto items = verdicts_.items();
    int innermost = -1;
    for (std::size_t i = 0; i < items.size(); ++i) {
        if (items[i].check != verify::Check::Ipv4Header) {
            innermost = static_cast<int>(i);
        }
    }
    if (innermost < 0 || items[static_cast<std::size_t>(innermost)].status != verify::Status::Bad) {
        return;
    }
    verify::Verdicts adjusted;
    for (std::size_t i = 0; i < items.size(); ++i) {
        verify::Verdict v = items[i];
        if (static_cast<int>(i) == innermost) {
            v.status = verify::Status::Partial;
            v.reason = verify::Reason::KernelNotReady;
        }
        adjusted.add(v);
    }
    verdicts_ = adjusted;
}

ExitCode outcome(const report::Summary& total, const report::ConnectionTotals& totals) noexcept {
    return total.packets_with_bad_checksum != 0 || totals.with_findings != 0 ? ExitCode::Findings
                                                                             : ExitCode::Clean;
}

}  // namespace vxcheck::app

#include "frame_consumer.h"

#include <spdlog/spdlog.h>

#include <exception>
#include <utility>

#include "vxcheck/report/evidence.h"

namespace vxcheck::app {

ConnectionOutput::ConnectionOutput(analyze::ConnectionAnalyzer& connections,
                                   const analyze::ConnectionOptions& options,
                                   report::Reporter& reporter,
                                   std::unique_ptr<report::OutputFile> evidence, Each each)
    : connections_(connections),
      options_(options),
      reporter_(reporter),
      evidence_(std::move(evidence)),
      each_(std::move(each)) {}

void ConnectionOutput::report(analyze::ConnectionReport& c) {
    if (each_) {
        each_(c);
    }
    reporter_.connection(c, connections_.points());
    ++totals_.connections;
    totals_.with_findings += report::is_finding(c) ? 1U : 0U;
    for (const auto v : c.verdicts) {
        ++totals_.by_verdict[static_cast<std::size_t>(v)];
    }
    if (evidence_ && !c.has(analyze::Verdict::Clean)) {
        analyze::ConnectionReport kept = connections_.keep_for_evidence_file(c);
        if (!kept.evidence.empty()) {
            with_verdicts_.push_back(std::move(kept));
        }
    }
}

void ConnectionOutput::drain() {
    for (analyze::ConnectionReport& c : connections_.take_decided()) {
        report(c);
    }
}

void ConnectionOutput::events(std::vector<analyze::ConnectionReport> decided) {
    for (const analyze::ConnectionReport& c : decided) {
        if (each_) {
            each_(c);
        }
        reporter_.event(c, connections_.points());
    }
}

report::ConnectionTotals ConnectionOutput::finish(bool& error) {
    connections_.finish([this](analyze::ConnectionReport& c) { report(c); });
    totals_.ports = options_.all_ports ? "all" : "";
    totals_.all_ports = options_.all_ports;
    if (!options_.all_ports) {
        totals_.port_list.assign(options_.ports.begin(), options_.ports.end());
    }
    for (const auto p : options_.ports) {
        if (!options_.all_ports) {
            totals_.ports += (totals_.ports.empty() ? "" : ",") + std::to_string(p);
        }
    }
    totals_.stats = connections_.stats();
    if (verdict_memory_evicted_ != nullptr) {
        totals_.stats.verdict_memory_evicted = *verdict_memory_evicted_;
    }
    if (evidence_) {
        const std::string path = evidence_->path();
        try {
            const std::size_t n = report::write_evidence_pcapng(
                std::move(*evidence_), with_verdicts_, connections_.points());
            spdlog::info("wrote {} evidence frames to {}", n, path);
        } catch (const std::exception& e) {
            spdlog::error("{}", e.what());
            error = true;
        }
    }
    return totals_;
}

FrameConsumer::FrameConsumer(const analyze::ConnectionOptions& options, report::Reporter& reporter,
                             PacketSelection packets, std::unique_ptr<report::OutputFile> evidence,
                             ConnectionOutput::Each each)
    : rpc_(options.rpc
               ? std::make_unique<analyze::RpcAnalyzer>(
                     analyze::RpcOptions{.unanswered_after_s = options.rpc_unanswered_after_s,
                                         .frame_bytes = evidence != nullptr},
                     // The refused-connect rule needs the ports that carried NFS (verdicts19).
                     [this](const track::Endpoint& server, std::uint32_t program) {
                         connections_.note_rpc_program(server, program);
                     })
               : nullptr),
      connections_(options),
      reporter_(reporter),
      packets_(packets),
      output_(connections_, options, reporter, std::move(evidence), std::move(each)) {
    if (rpc_) {
        connections_.add_plugin(*rpc_);
        connections_.add_datagram_plugin(*rpc_);  // ONC RPC over UDP
    }
}

ReassemblyStage& FrameConsumer::reassembly() {
    if (input_ >= reassembly_.size()) {
        reassembly_.resize(input_ + 1);
    }
    if (!reassembly_[input_]) {
        reassembly_[input_] = std::make_unique<ReassemblyStage>(*decode_);
    }
    return *reassembly_[input_];
}

void FrameConsumer::analyse_fragment(const std::string& file, std::uint16_t point,
                                     const FrameProcessor& frame) {
    const decode::DecodedPacket& pkt = frame.packet();
    ReassemblyStage& stage = reassembly();
    const ReassemblyStage::Taken t =
        stage.take(pkt, point, frame.verdicts().any(verify::Status::Bad));
    if (!t.held) {
        connections_.on_packet(frame.context(point));
    }
    const auto& names = connections_.points();
    const std::string_view name = point < names.size() ? names[point] : file;
    const bool listed_bad = packets_ == PacketSelection::Bad;
    if (selected(packets_, frame) || (listed_bad && t.has_anomaly)) {
        reporter_.packet(
            {file, pkt, frame.verdicts(), name,
             t.has_anomaly ? std::span(&t.anomaly, 1) : std::span<const decode::Anomaly>{}});
    }
    if (t.completed) {
        connections_.on_packet(stage.context(point));
        if (packets_ == PacketSelection::All || (listed_bad && stage.bad())) {
            reporter_.packet({file, stage.packet(), stage.verdicts(), name, {}, stage.frames()});
        }
    }
}

report::ConnectionTotals FrameConsumer::finish(bool& error) {
    const report::ConnectionTotals totals = output_.finish(error);
    reporter_.finish(total_, files_, totals);
    return totals;
}

}  // namespace vxcheck::app

#include "reassembly_stage.h"

#include <algorithm>

namespace vxcheck::app {

namespace {

constexpr std::size_t kMaxLen16 = 65'535;

void put_be16(std::uint8_t* buf, std::size_t off, std::size_t value) noexcept {
    buf[off] = static_cast<std::uint8_t>((value >> 8) & 0xffU);
    buf[off + 1] = static_cast<std::uint8_t>(value & 0xffU);
}

// Where the length field of layer `l` is, from the start of the frame, or 0 if it has none
// that covers what follows (a length taken from the capture is not on the wire).
std::size_t length_field(const decode::Layer& l) noexcept {
    if (const auto* v4 = l.as<decode::Ipv4Info>()) {
        return v4->length_from_capture ? 0 : l.offset + 2;
    }
    if (const auto* v6 = l.as<decode::Ipv6Info>()) {
        return v6->length_from_capture ? 0 : l.offset + 4;
    }
    return l.proto == decode::Proto::Udp ? l.offset + 4 : 0;
}

}  // namespace

int first_fragment(const decode::DecodedPacket& pkt, std::size_t from) noexcept {
    const auto layers = pkt.layers();
    for (std::size_t i = from; i < layers.size(); ++i) {
        const auto* v4 = layers[i].as<decode::Ipv4Info>();
        const auto* v6 = layers[i].as<decode::Ipv6Info>();
        if ((v4 != nullptr && v4->is_fragment()) || (v6 != nullptr && v6->is_fragment())) {
            return static_cast<int>(i);
        }
    }
    return -1;
}

ReassemblyStage::ReassemblyStage(const decode::DecodeOptions& options)
    : options_(options), reassembler_(options.reassembly) {
    for (std::size_t i = 0; i < kMaxLevels; ++i) {
        // Not cleared: build() writes a frame before it reads it, so the pages are mapped when
        // a datagram is first completed, not at start-up.
        buffers_[i] = std::make_unique_for_overwrite<std::uint8_t[]>(kBufferSize);
        packets_[i] = std::make_unique<decode::DecodedPacket>();
    }
}

void ReassemblyStage::note(Taken& t, decode::Anomaly a, bool frame_anomalous) noexcept {
    tally_.add_reassembly_anomaly(a, frame_anomalous || t.has_anomaly);
    t.has_anomaly = true;
    t.anomaly = a;
}

// The frame of level `level`: the bytes of `pkt` before its IP layer `ip`, their length fields
// widened by what the datagram adds, then the datagram; decoded into packets_[level]. False if
// a widened length would pass 65,535.
bool ReassemblyStage::build(const decode::DecodedPacket& pkt, std::size_t ip, int level) noexcept {
    const auto lv = static_cast<std::size_t>(level);
    const auto layers = pkt.layers();
    const decode::Layer& frag = layers[ip];
    const Bytes datagram = reassembler_.datagram();
    std::uint8_t* buf = buffers_[lv].get();
    const RawFrame& f = pkt.frame();
    std::copy_n(f.data.begin(), frag.offset, buf);
    std::copy(datagram.begin(), datagram.end(), buf + frag.offset);
    const auto grown = static_cast<std::int64_t>(datagram.size()) - frag.claimed_len;
    for (std::size_t j = 0; j < ip; ++j) {
        const std::size_t field = length_field(layers[j]);
        if (field == 0) {
            continue;
        }
        const std::int64_t len = std::int64_t{be16(Bytes(buf, kBufferSize), field)} + grown;
        if (len < 0 || len > static_cast<std::int64_t>(kMaxLen16)) {
            return false;
        }
        put_be16(buf, field, static_cast<std::size_t>(len));
    }
    RawFrame& out = frames_in_[lv];
    out = f;
    out.data = Bytes(buf, frag.offset + datagram.size());
    out.caplen = static_cast<std::uint32_t>(out.data.size());
    out.wirelen = out.caplen;
    out.csum_not_ready = false;
    decode::decode(out, options_, *packets_[lv]);
    return true;
}

ReassemblyStage::Taken ReassemblyStage::take(const decode::DecodedPacket& fragment,
                                             std::uint16_t point, bool frame_bad) noexcept {
    Taken t;
    bad_ = false;
    const bool frame_anomalous = !fragment.anomalies().empty();
    const decode::DecodedPacket* cur = &fragment;
    std::size_t from = 0;
    std::size_t kept_from = 0;  // verdicts of the layers after the innermost datagram's IP layer
    for (int level = 0; level < kMaxLevels; ++level) {
        const int found = first_fragment(*cur, from);
        if (found < 0) {
            break;
        }
        const auto ip = static_cast<std::size_t>(found);
        const decode::Layer& l = cur->layers()[ip];
        if (l.truncated() || l.offset > kMaxPrefix) {
            break;  // not all of it captured: it stays `unverified (fragment)`
        }
        const decode::FragmentResult r =
            reassembler_.add(l.bytes, point, cur->frame().number, cur->frame().ts);
        tally_.fragments_incomplete += r.incomplete;
        tally_.anomalies[static_cast<std::size_t>(decode::Anomaly::FragmentIncomplete)] +=
            r.incomplete;
        if (r.has_anomaly) {
            note(t, r.anomaly, frame_anomalous);
        }
        if (r.outcome == decode::FragmentOutcome::NotFragment) {
            break;
        }
        t.held = true;
        t.completed = false;
        if (r.outcome != decode::FragmentOutcome::Completed) {
            break;
        }
        if (!build(*cur, ip, level)) {
            note(t, decode::Anomaly::FragmentOversized, frame_anomalous);
            break;
        }
        t.completed = true;
        last_ = static_cast<std::size_t>(level);
        cur = packets_[last_].get();
        from = ip + 1;
        kept_from = ip + 1;
        const auto done = reassembler_.frames();
        frame_count_ = done.size();
        std::copy(done.begin(), done.end(), frames_.begin());
    }
    if (t.completed) {
        verify::verify(packet(), all_);
        verdicts_.clear();
        for (const verify::Verdict& v : all_.items()) {
            if (v.layer >= kept_from) {
                verdicts_.add(v);
            }
        }
        analyze::digest(packet(), verdicts_, digest_);
        bad_ = tally_.add_reassembled(packet(), verdicts_, frame_anomalous || t.has_anomaly,
                                      frame_bad);
    }
    return t;
}

void ReassemblyStage::end_input(report::Summary& summary) {
    const std::uint32_t left = reassembler_.flush();
    tally_.fragments_incomplete += left;
    tally_.anomalies[static_cast<std::size_t>(decode::Anomaly::FragmentIncomplete)] += left;
    summary.merge(tally_);
    tally_ = report::Summary{};
}

}  // namespace vxcheck::app

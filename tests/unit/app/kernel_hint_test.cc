// Live frames carry the kernel's TP_STATUS_CSUMNOTREADY flag: the innermost L4 checksum is left
// for the NIC, so a value our partial-form test does not recognise is partial, not bad. Outer
// checksums are complete in that case and keep their verdict (NAT corruption must stay visible).

#include <gtest/gtest.h>

#include "packet_builder.h"
#include "vxcheck/app/pipeline.h"

namespace vxcheck::test {
namespace {

const verify::Verdict* find(const verify::Verdicts& v, verify::Check check, std::uint8_t depth) {
    for (const auto& x : v.items()) {
        if (x.check == check && x.depth == depth) {
            return &x;
        }
    }
    return nullptr;
}

TEST(KernelHint, InnermostChecksumNotReadyIsPartialNotBad) {
    const BuiltPacket p = PacketBuilder()
                              .ethernet()
                              .ipv4("10.244.1.0", "10.244.2.5")
                              .tcp(40000, 2049)
                              .checksum(0x1234)  // neither correct nor the partial form
                              .payload(20)
                              .build();
    decode::DecodeOptions options;
    app::FrameProcessor processor(options);
    report::Summary summary;

    RawFrame frame = p.frame();
    processor.process(frame, summary);
    EXPECT_EQ(find(processor.verdicts(), verify::Check::Tcp, 0)->status, verify::Status::Bad);

    frame.csum_not_ready = true;
    processor.process(frame, summary);
    const verify::Verdict* v = find(processor.verdicts(), verify::Check::Tcp, 0);
    ASSERT_NE(v, nullptr);
    EXPECT_EQ(v->status, verify::Status::Partial);
    EXPECT_EQ(v->reason, verify::Reason::KernelNotReady);
    EXPECT_EQ(summary.packets_with_bad_checksum, 1U);  // only the first, unflagged frame
}

TEST(KernelHint, OuterCorruptionStaysBad) {
    const BuiltPacket p = PacketBuilder()
                              .ethernet()
                              .ipv4("192.168.1.10", "192.168.1.20")
                              .udp(7103, 8472)
                              .corrupt_checksum(0x0101)
                              .vxlan(1)
                              .ethernet()
                              .ipv4("10.244.1.0", "10.244.2.5")
                              .tcp(40000, 2049)
                              .payload(20)
                              .build();
    decode::DecodeOptions options;
    app::FrameProcessor processor(options);
    report::Summary summary;
    RawFrame frame = p.frame();
    frame.csum_not_ready = true;
    processor.process(frame, summary);
    EXPECT_EQ(find(processor.verdicts(), verify::Check::Udp, 0)->status, verify::Status::Bad);
    EXPECT_EQ(find(processor.verdicts(), verify::Check::Tcp, 1)->status, verify::Status::Ok);
}

}  // namespace
}  // namespace vxcheck::test

// The evidence frames a tracked connection keeps (src/analyze/kept_frame.h): one allocation of
// a short header and the bytes, which gives back the EvidenceFrame the report has always had,
// in lists kept in order.

#include "analyze/kept_frame.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

namespace vxcheck::analyze {
namespace {

RawFrame frame_of(const std::vector<std::uint8_t>& bytes, std::uint64_t number) {
    RawFrame f;
    f.ts = Timestamp{.sec = 1700000123, .nsec = 456789};
    f.caplen = static_cast<std::uint32_t>(bytes.size());
    f.wirelen = f.caplen + 10;
    f.link = LinkType::LinuxSll;
    f.number = number;
    f.data = Bytes(bytes.data(), bytes.size());
    return f;
}

TEST(KeptFrame, GivesBackTheFrameAndNoteWhole) {
    const std::vector<std::uint8_t> bytes{1, 2, 3, 4, 5, 6, 7};
    const RawFrame f = frame_of(bytes, 42);
    const EvidenceNote note{.kind = EvidenceNote::Kind::Syn,
                            .syn_number = 3,
                            .isn = 123456,
                            .offset_s = 2.5,
                            .icmp_type = 3,
                            .icmp_code = 1,
                            .tunnelled = true,
                            .outer_known = true,
                            .outer_status = verify::Status::Bad,
                            .outer_sport = 40000,
                            .stored = 0x1234,
                            .expected = 0x4321};
    KeptFrame* k = KeptFrame::make(f, 7, note);
    EXPECT_EQ(k->cost(), sizeof(KeptFrame) + bytes.size());
    EXPECT_EQ(std::vector<std::uint8_t>(k->bytes().begin(), k->bytes().end()), bytes);
    const EvidenceFrame e = k->to_evidence_frame();
    EXPECT_EQ(e.point, 7U);
    EXPECT_EQ(e.frame, 42U);
    EXPECT_EQ(e.ts, f.ts);
    EXPECT_EQ(e.link, LinkType::LinuxSll);
    EXPECT_EQ(e.wirelen, f.wirelen);
    EXPECT_EQ(e.bytes, bytes);
    EXPECT_EQ(e.note.kind, note.kind);
    EXPECT_EQ(e.note.syn_number, note.syn_number);
    EXPECT_EQ(e.note.isn, note.isn);
    EXPECT_EQ(e.note.offset_s, note.offset_s);
    EXPECT_EQ(e.note.icmp_type, note.icmp_type);
    EXPECT_EQ(e.note.icmp_code, note.icmp_code);
    EXPECT_EQ(e.note.tunnelled, note.tunnelled);
    EXPECT_EQ(e.note.outer_known, note.outer_known);
    EXPECT_EQ(e.note.outer_status, note.outer_status);
    EXPECT_EQ(e.note.outer_sport, note.outer_sport);
    EXPECT_EQ(e.note.stored, note.stored);
    EXPECT_EQ(e.note.expected, note.expected);
    KeptFrame::destroy(k);
}

// A frame the snaplen cut to nothing is kept as its header alone.
TEST(KeptFrame, AnEmptyFrameIsItsHeader) {
    KeptFrame* k = KeptFrame::make(frame_of({}, 1), 0, EvidenceNote{});
    EXPECT_EQ(k->cost(), sizeof(KeptFrame));
    EXPECT_TRUE(k->to_evidence_frame().bytes.empty());
    KeptFrame::destroy(k);
}

TEST(FrameList, KeepsFramesInOrderAndGivesThemUp) {
    FrameList l;
    EXPECT_TRUE(l.empty());
    EXPECT_EQ(l.size(), 0U);
    for (std::uint64_t n = 1; n <= 3; ++n) {
        l.push_back(KeptFrame::make(frame_of({static_cast<std::uint8_t>(n)}, n), 0, {}));
    }
    EXPECT_EQ(l.size(), 3U);
    std::vector<std::uint64_t> order;
    l.for_each([&](const KeptFrame& k) { order.push_back(k.to_evidence_frame().frame); });
    EXPECT_EQ(order, (std::vector<std::uint64_t>{1, 2, 3}));

    KeptFrame* first = l.pop_front();
    ASSERT_NE(first, nullptr);
    EXPECT_EQ(first->to_evidence_frame().frame, 1U);
    EXPECT_EQ(l.size(), 2U);
    FrameList other = std::move(l);  // a record reset or moved takes its frames along
    EXPECT_TRUE(l.empty());          // NOLINT(bugprone-use-after-move): moved from, empty
    other.push_back(first);          // to the end again
    order.clear();
    other.for_each([&](const KeptFrame& k) { order.push_back(k.to_evidence_frame().frame); });
    EXPECT_EQ(order, (std::vector<std::uint64_t>{2, 3, 1}));
    other.clear();
    EXPECT_TRUE(other.empty());
    EXPECT_EQ(other.pop_front(), nullptr);
}

}  // namespace
}  // namespace vxcheck::analyze

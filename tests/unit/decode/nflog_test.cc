// NFLOG (LINKTYPE_NFLOG 239): the 4-byte header, the TLVs in the capturing host's byte order,
// the IP packet in NFULA_PAYLOAD; every malformed TLV a named anomaly, never a wrong IP layer.

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "packet_builder.h"
#include "vxcheck/decode/decode.h"

namespace vxcheck::test {
namespace {

using decode::Proto;

// One TLV: length (4 + value) and type in the given byte order, the value padded to 4 bytes.
void tlv(std::vector<std::uint8_t>& out, std::uint16_t type, const std::vector<std::uint8_t>& value,
         bool big = false, int length_delta = 0) {
    const auto len = static_cast<std::uint16_t>(static_cast<int>(4 + value.size()) + length_delta);
    const auto put16 = [&](std::uint16_t v) {
        if (big) {
            out.push_back(static_cast<std::uint8_t>(v >> 8));
            out.push_back(static_cast<std::uint8_t>(v));
        } else {
            out.push_back(static_cast<std::uint8_t>(v));
            out.push_back(static_cast<std::uint8_t>(v >> 8));
        }
    };
    put16(len);
    put16(type);
    out.insert(out.end(), value.begin(), value.end());
    while (out.size() % 4 != 0) {
        out.push_back(0);
    }
}

std::vector<std::uint8_t> ip_packet() {
    const BuiltPacket p =
        PacketBuilder().ipv4("10.244.1.0", "10.244.2.5").tcp(40000, 2049).payload(8).build();
    return {p.bytes.begin(), p.bytes.end()};
}

// A message as the kernel builds one: header (family, version, group), PACKET_HDR (EtherType,
// hook), PREFIX, INDEV, OUTDEV, then the payload.
std::vector<std::uint8_t> message(bool big = false, std::uint8_t family = 2) {
    std::vector<std::uint8_t> m = {family, 0, 0x00, 0x05};
    tlv(m, 1, {0x08, 0x00, 0x04, 0x00}, big);  // PACKET_HDR: IPv4, POSTROUTING
    tlv(m, 10, {'p', 'r', 'e', '-', 'n', 'a', 't', 0}, big);
    tlv(m, 4, {0, 0, 0, 3}, big);
    tlv(m, 5, {0, 0, 0, 7}, big);
    tlv(m, 9, ip_packet(), big);
    return m;
}

struct Decoded {
    std::vector<std::uint8_t> bytes;
    RawFrame frame;
    decode::DecodedPacket pkt;

    explicit Decoded(std::vector<std::uint8_t> b, std::uint32_t wirelen = 0) : bytes(std::move(b)) {
        frame.link = LinkType::Nflog;
        frame.data = Bytes{bytes.data(), bytes.size()};
        frame.caplen = static_cast<std::uint32_t>(bytes.size());
        frame.wirelen = wirelen != 0 ? wirelen : frame.caplen;
        decode::decode(frame, decode::DecodeOptions{}, pkt);
    }
    [[nodiscard]] std::string protos() const {
        std::string s;
        for (const decode::Layer& l : pkt.layers()) {
            s += (s.empty() ? "" : " ") + std::string(to_string(l.proto));
        }
        return s;
    }
    [[nodiscard]] std::string anomalies() const {
        std::string s;
        for (const decode::Anomaly a : pkt.anomalies()) {
            s += (s.empty() ? "" : " ") + std::string(to_string(a));
        }
        return s;
    }
    [[nodiscard]] const decode::NflogInfo* info() const {
        return pkt.layers().empty() ? nullptr : pkt.layers()[0].as<decode::NflogInfo>();
    }
};

TEST(NflogDecode, PayloadIsTheIpPacketAndTheTlvsAreRead) {
    const Decoded d(message());
    EXPECT_EQ(d.protos(), "nflog ipv4 tcp");
    EXPECT_EQ(d.anomalies(), "");
    ASSERT_NE(d.info(), nullptr);
    EXPECT_EQ(d.info()->group, 5);
    EXPECT_EQ(d.info()->family, 2);
    EXPECT_TRUE(d.info()->has_hook);
    EXPECT_EQ(d.info()->hook, 4);
    EXPECT_EQ(d.info()->hw_protocol, 0x0800);
    EXPECT_EQ(d.info()->prefix, "pre-nat");
    EXPECT_EQ(d.info()->indev, 3U);
    EXPECT_EQ(d.info()->outdev, 7U);
    // The IP layer starts at the payload TLV's value: 4 + 8 + 12 + 8 + 8 + 4 bytes in.
    EXPECT_EQ(d.pkt.layers()[1].offset, 44U);
    EXPECT_EQ(d.pkt.layers()[0].header_len, 44);
}

TEST(NflogDecode, TlvsWrittenByABigEndianHost) {
    const Decoded d(message(true));
    EXPECT_EQ(d.protos(), "nflog ipv4 tcp");
    EXPECT_EQ(d.info()->prefix, "pre-nat");
    EXPECT_EQ(d.info()->outdev, 7U);
}

TEST(NflogDecode, TlvsAfterThePayloadAreNotPartOfThePacket) {
    std::vector<std::uint8_t> m = message();
    tlv(m, 11, {0, 0, 0, 0});  // NFULA_UID after the payload
    const Decoded d(m);
    EXPECT_EQ(d.protos(), "nflog ipv4 tcp");
    EXPECT_EQ(d.anomalies(), "");
    EXPECT_EQ(d.pkt.layers()[1].bytes.size(), ip_packet().size());
}

TEST(NflogDecode, Ipv6ByFamily) {
    const BuiltPacket p =
        PacketBuilder().ipv6("fd00:1::1", "fd00:2::5").udp(4000, 53).payload(4).build();
    std::vector<std::uint8_t> m = {10, 0, 0, 1};
    tlv(m, 9, {p.bytes.begin(), p.bytes.end()});
    const Decoded d(m);
    EXPECT_EQ(d.protos(), "nflog ipv6 udp");
}

TEST(NflogDecode, ShorterThanItsHeader) {
    const Decoded d({2, 0, 0});
    EXPECT_EQ(d.protos(), "");
    EXPECT_EQ(d.anomalies(), "nflog.truncated");
    EXPECT_EQ(d.pkt.skip_reason(), decode::SkipReason::Malformed);
}

TEST(NflogDecode, UnknownVersion) {
    std::vector<std::uint8_t> m = message();
    m[1] = 1;
    const Decoded d(m);
    EXPECT_EQ(d.protos(), "nflog");
    EXPECT_EQ(d.anomalies(), "nflog.bad_version");
}

TEST(NflogDecode, TlvLengthBelowItsHeader) {
    std::vector<std::uint8_t> m = {2, 0, 0, 5};
    tlv(m, 10, {'x', 0, 0, 0}, false, -6);  // length 2
    tlv(m, 9, ip_packet());
    const Decoded d(m);
    EXPECT_EQ(d.protos(), "nflog");
    EXPECT_EQ(d.anomalies(), "nflog.tlv_too_short");
}

TEST(NflogDecode, TlvRunningPastTheFrame) {
    std::vector<std::uint8_t> m = {2, 0, 0, 5};
    tlv(m, 10, {'x', 0, 0, 0});
    tlv(m, 9, ip_packet(), false, 40);  // claims 40 bytes more than the frame has
    const Decoded d(m);
    EXPECT_EQ(d.protos(), "nflog");
    EXPECT_EQ(d.anomalies(), "nflog.tlv_truncated");
}

TEST(NflogDecode, TlvHeaderCutInHalf) {
    std::vector<std::uint8_t> m = message();
    m.push_back(8);
    m.push_back(0);  // two bytes of a next TLV header
    const Decoded d(m);
    EXPECT_EQ(d.anomalies(), "nflog.tlv_truncated");
}

TEST(NflogDecode, NoPayload) {
    std::vector<std::uint8_t> m = {2, 0, 0, 5};
    tlv(m, 10, {'x', 0, 0, 0});
    const Decoded d(m);
    EXPECT_EQ(d.protos(), "nflog");
    EXPECT_EQ(d.anomalies(), "nflog.no_payload");
}

TEST(NflogDecode, PayloadNeitherIpv4NorIpv6) {
    std::vector<std::uint8_t> m = {7, 0, 0, 5};  // AF_BRIDGE
    tlv(m, 9, {0x00, 0x01, 0x02, 0x03});
    const Decoded d(m);
    EXPECT_EQ(d.anomalies(), "nflog.unknown_family");
}

TEST(NflogDecode, PayloadCutBySnaplenIsNoAnomaly) {
    std::vector<std::uint8_t> m = message();
    const auto wire = static_cast<std::uint32_t>(m.size());
    m.resize(m.size() - 4);  // the snaplen cut the TCP payload
    const Decoded d(m, wire);
    EXPECT_EQ(d.anomalies(), "");
    EXPECT_EQ(d.protos(), "nflog ipv4 tcp");
}

TEST(NflogOrigin, GroupIsThePointKey) {
    const Decoded d(message());
    const FrameOrigin o = origin_of(d.frame);
    EXPECT_EQ(o.sub, FrameOrigin::Sub::NflogGroup);
    EXPECT_EQ(o.id, 5U);
}

}  // namespace
}  // namespace vxcheck::test

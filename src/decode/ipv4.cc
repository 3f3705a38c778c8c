// IPv4 (RFC 791).
//
//   0                   1                   2                   3
//   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |Version|  IHL  |Type of Service|          Total Length         |
//  |         Identification        |Flags|      Fragment Offset    |
//  |  Time to Live |    Protocol   |         Header Checksum       |
//  |                       Source Address                          |
//  |                    Destination Address                        |
//  |                    Options                    |    Padding    |
//
// Quirk: a total length of 0 is what TSO (igb) and IPv4 BIG TCP (Linux >= 6.3) leave in
// super-packets seen by the tap; the extent is then the captured bytes.

#include "decoders.h"

namespace vxcheck::decode {

using wire::kIpv4MinHeaderLen;

void decode_ipv4(Step& s, DecodedPacket& pkt) noexcept {
    const Bytes b = s.bytes;
    if (b.size() < kIpv4MinHeaderLen) {
        return fail(s, pkt, Anomaly::Ipv4HeaderTruncated);
    }
    if (ip_version(b) != 4) {
        return fail(s, pkt, Anomaly::Ipv4BadVersion);
    }
    const std::size_t header_len = ipv4_header_len(b);
    if (header_len < kIpv4MinHeaderLen) {
        return fail(s, pkt, Anomaly::Ipv4HeaderLenTooSmall);
    }
    if (header_len > b.size()) {
        return fail(s, pkt, Anomaly::Ipv4HeaderTruncated);
    }
    const std::uint16_t total_length = be16(b, 2);
    const bool length_from_capture = total_length == 0;
    if (!length_from_capture && total_length < header_len) {
        return fail(s, pkt, Anomaly::Ipv4TotalLenTooSmall);
    }
    const std::uint32_t claimed = length_from_capture ? s.claimed : total_length;
    if (claimed > s.claimed) {  // more than the wire (or the enclosing header) carried
        pkt.note(Anomaly::Ipv4TotalLenExceedsFrame);
    }
    const Bytes extent = clip(b, claimed);
    auto& info = pkt.add<Ipv4Info>(Proto::Ipv4, header_len, claimed, extent);
    read_ipv4_header(b, info);
    if (info.frag_offset != 0) {
        return end(s);  // a non-first fragment has no transport header
    }
    s.bytes = extent;
    s.claimed = claimed;
    next(s, Via::IpProtocol, info.protocol, header_len);
}

}  // namespace vxcheck::decode

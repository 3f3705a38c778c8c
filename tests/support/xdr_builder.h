#pragma once
// Test support: builds XDR data, ONC RPC messages (RFC 5531) and record-marked streams from
// values, so that RPC and NFS tests read as the wire layout they pin.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <string_view>
#include <vector>

namespace vxcheck::test {

using ByteVec = std::vector<std::uint8_t>;

class Xdr {
  public:
    Xdr& u32(std::uint32_t v) {
        for (int shift = 24; shift >= 0; shift -= 8) {
            b_.push_back(static_cast<std::uint8_t>(v >> shift));
        }
        return *this;
    }
    Xdr& u64(std::uint64_t v) {
        u32(static_cast<std::uint32_t>(v >> 32));
        return u32(static_cast<std::uint32_t>(v));
    }
    Xdr& boolean(bool v) { return u32(v ? 1 : 0); }
    /// Fixed-length opaque: the bytes and their padding.
    Xdr& fixed(const ByteVec& v) {
        b_.insert(b_.end(), v.begin(), v.end());
        while (b_.size() % 4 != 0) {
            b_.push_back(0);
        }
        return *this;
    }
    Xdr& fixed(std::size_t n, std::uint8_t fill) { return fixed(ByteVec(n, fill)); }
    /// Variable-length opaque / string: length, bytes, padding.
    Xdr& opaque(const ByteVec& v) {
        u32(static_cast<std::uint32_t>(v.size()));
        return fixed(v);
    }
    Xdr& str(std::string_view s) { return opaque(ByteVec(s.begin(), s.end())); }
    Xdr& raw(const ByteVec& v) {
        b_.insert(b_.end(), v.begin(), v.end());
        return *this;
    }
    Xdr& append(const Xdr& other) { return raw(other.bytes()); }
    [[nodiscard]] const ByteVec& bytes() const { return b_; }
    [[nodiscard]] std::size_t size() const { return b_.size(); }

  private:
    ByteVec b_;
};

/// A CALL with AUTH_NONE credential and verifier unless a credential is given.
inline ByteVec rpc_call(std::uint32_t xid, std::uint32_t prog, std::uint32_t vers,
                        std::uint32_t proc, const ByteVec& args = {}, std::uint32_t cred_flavor = 0,
                        const ByteVec& cred_body = {}) {
    Xdr x;
    x.u32(xid).u32(0).u32(2).u32(prog).u32(vers).u32(proc);
    x.u32(cred_flavor).opaque(cred_body);
    x.u32(0).u32(0);  // verifier AUTH_NONE
    x.raw(args);
    return x.bytes();
}

/// An accepted REPLY with SUCCESS and the given results.
inline ByteVec rpc_reply(std::uint32_t xid, const ByteVec& results = {}) {
    Xdr x;
    x.u32(xid).u32(1).u32(0).u32(0).u32(0).u32(0);
    x.raw(results);
    return x.bytes();
}

/// One record: one last fragment holding the whole message.
inline ByteVec record(const ByteVec& message) {
    Xdr x;
    x.u32(0x80000000U | static_cast<std::uint32_t>(message.size()));
    x.raw(message);
    return x.bytes();
}

/// One record split into fragments of at most `frag` bytes.
inline ByteVec fragmented_record(const ByteVec& message, std::size_t frag) {
    Xdr x;
    for (std::size_t off = 0; off < message.size(); off += frag) {
        const std::size_t n = std::min(frag, message.size() - off);
        const bool last = off + n == message.size();
        x.u32((last ? 0x80000000U : 0U) | static_cast<std::uint32_t>(n));
        x.raw(ByteVec(message.begin() + static_cast<std::ptrdiff_t>(off),
                      message.begin() + static_cast<std::ptrdiff_t>(off + n)));
    }
    return x.bytes();
}

inline ByteVec concat(std::initializer_list<ByteVec> parts) {
    ByteVec out;
    for (const ByteVec& p : parts) {
        out.insert(out.end(), p.begin(), p.end());
    }
    return out;
}

}  // namespace vxcheck::test

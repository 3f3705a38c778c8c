#include "vxcheck/rpc/record_stream.h"

namespace vxcheck::rpc {

RecordStream::RecordStream() noexcept = default;
RecordStream::~RecordStream() = default;
RecordStream::RecordStream(RecordStream&&) noexcept = default;
RecordStream& RecordStream::operator=(RecordStream&&) noexcept = default;
void RecordStream::start(std::uint32_t seq) noexcept {
    started_ = true;
    in_sync_ = true;
    next_seq_ = seq;
}
void RecordStream::push(const Segment&, RecordSink&) noexcept {}
void RecordStream::finish(RecordSink&) noexcept {}
std::size_t RecordStream::memory_bytes() const noexcept {
    return 0;
}
Record udp_record(Bytes, std::uint32_t, Timestamp, std::uint64_t) noexcept {
    return {};
}

}  // namespace vxcheck::rpc

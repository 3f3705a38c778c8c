#pragma once
// Private to vxcheck_capture and src/app: sources whose frames can outlive the next next().
//
// Source's contract is that a frame dies at the next read (libpcap reuses its buffer). A classic
// pcap file read through mmap has no such buffer: its frames are views into the mapping and stay
// valid until the source is destroyed. The parallel pipeline and `vxcheck bench` use that to hand
// frames to other threads, or keep them, without copying the bytes.

namespace vxcheck::capture {

class StableFrames {
  public:
    /// True when the frame from the last next() stays valid until the source is destroyed.
    [[nodiscard]] virtual bool last_frame_stable() const noexcept = 0;
    /// Keep every page read so far mapped: by default a mapped file releases the pages far
    /// behind the read position, so that memory stays bounded however large the file is
    /// (released pages are mapped again, from the page cache, if a kept frame is read later).
    virtual void keep_pages() noexcept = 0;

  protected:
    StableFrames() = default;
    ~StableFrames() = default;
    StableFrames(const StableFrames&) = default;
    StableFrames& operator=(const StableFrames&) = default;
};

}  // namespace vxcheck::capture

#pragma once
// A hint to load one cache line, for the per-packet path's prefetches.

namespace vxcheck {

/// Starts loading the cache line at p. On x86-64 an instruction of its own: GCC 12 emits nothing
/// for __builtin_prefetch in a function that only prefetches (it compiles to `ret`).
inline void prefetch_line(const void* p) noexcept {
#if defined(__x86_64__)
    asm volatile("prefetcht0 (%0)" : : "r"(p));
#else
    __builtin_prefetch(p);
#endif
}

}  // namespace vxcheck

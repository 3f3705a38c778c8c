#pragma once
// Private to src/capture: a gzip-compressed capture read as the plain one (zlib), behind a
// stdio stream that libpcap reads as it would read the file itself (fopencookie). Several gzip
// members one after another (`cat a.gz b.gz`) are one stream, as gzip -d reads them.

#include <cstdio>
#include <string>

namespace vxcheck::capture {

/// Whether the stream's next byte is the first of gzip's magic (1f 8b): no pcap or pcapng
/// magic begins with 1f, so one byte decides. The byte is put back (ungetc).
[[nodiscard]] bool starts_gzip(std::FILE* raw) noexcept;

/// The decompressing reader behind the stream that open_gzip() returns.
class GzipReader;

struct GzipStream {
    std::FILE* file = nullptr;           // the decompressed bytes; fclose() closes `raw` too
    const GzipReader* reader = nullptr;  // lives until `file` is closed
};

/// Reads `raw` (from its current position) decompressed. `raw` is closed with the stream if
/// `own_raw` (also when this throws). Throws OpenError naming `path` if zlib or stdio cannot set
/// it up.
[[nodiscard]] GzipStream open_gzip(std::FILE* raw, bool own_raw, const std::string& path);

/// What went wrong in the compressed stream ("" if nothing): a read of the decompressed
/// stream that failed says only EIO; this says what it was (corrupt data, cut short).
[[nodiscard]] const std::string& gzip_error(const GzipReader& reader) noexcept;

}  // namespace vxcheck::capture

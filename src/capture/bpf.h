#pragma once
// Private to src/capture: BPF compilation by libpcap (pcap_compile on a dead handle), so that
// pcap_source.cc stays the only file that includes <pcap.h>.

#include <linux/filter.h>

#include <string>
#include <vector>

#include "vxcheck/frame.h"

namespace vxcheck::capture {

/// Compiles a tcpdump-syntax filter for `link`. Throws OpenError with libpcap's message.
std::vector<sock_filter> compile_filter(LinkType link, std::uint32_t snaplen,
                                        const std::string& expression);

}  // namespace vxcheck::capture

#pragma once
// Private to src/app: the capture points of one input file. A file is one point, named after
// the file, unless it says where its frames were seen: then every place is a point of its own
// (a SYN seen on veth, cni0, flannel.1 and eth0 of one `tcpdump -i any` file is one SYN seen at
// four points, never four transmissions). The places (FrameOrigin): every pcapng interface of a
// file that describes several (a mergecap, vxcheck's own --write and --evidence files), every
// interface index of a cooked "any" capture (SLL2, pcap or pcapng) and every NFLOG group.
//
// Names: the interface's if_name where the file has it (not "any"), else "ifindex N" (SLL2),
// "nflog:N" (NFLOG group N) or "interface N" (the file's Nth interface, unnamed). A name taken
// already (by an earlier file, or twice in one file) gets the file's point name as a prefix,
// "node-b:eth0", and if that is taken too, "#2", "#3"... as files do. A file given as NAME=FILE
// is the point NAME if it is one point; if it is several, NAME prefixes every one of their names
// ("node-a:ifindex 3").

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "vxcheck/analyze/connections.h"
#include "vxcheck/frame.h"

namespace vxcheck::app {

class FilePoints {
  public:
    /// The name of the file's interface N (capture::Source::interface_name).
    using InterfaceName = std::function<std::string(std::uint32_t)>;

    /// `interfaces`: how many the file describes at opening (capture::Source::interface_count);
    /// `given_name`: NAME of NAME=FILE, or "".
    FilePoints(analyze::ConnectionAnalyzer& connections, std::string file, std::uint32_t interfaces,
               InterfaceName interface_name, std::string given_name = {});

    /// The point of a frame from `origin`, registered with the analysis when first seen. No
    /// allocation for an origin seen before.
    std::uint16_t point_of(const FrameOrigin& origin) {
        if (has_last_ && origin == last_) {
            return last_point_;
        }
        return lookup(origin);
    }

    /// The file's points so far, in the order they were first seen, joined with ", " (the
    /// file's point name if it is one point; "" before its first frame).
    [[nodiscard]] std::string names() const;

  private:
    std::uint16_t lookup(const FrameOrigin& origin);
    [[nodiscard]] std::string name_for(const FrameOrigin& origin) const;

    analyze::ConnectionAnalyzer& connections_;
    std::string file_;
    std::string stem_;    // the file's own point name, were it one point
    bool given_ = false;  // stem_ is NAME of NAME=FILE
    std::uint32_t interfaces_;
    InterfaceName interface_name_;
    std::vector<std::pair<FrameOrigin, std::uint16_t>> known_;
    FrameOrigin last_;
    std::uint16_t last_point_ = 0;
    bool has_last_ = false;
};

}  // namespace vxcheck::app

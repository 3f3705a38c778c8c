#include "source_dir.h"

namespace vxcheck::test {

const char* source_dir() noexcept {
    return VXCHECK_SOURCE_DIR;
}

}  // namespace vxcheck::test

#pragma once

namespace vxcheck::test {

// The repository's root, where the tests find pcaps/, tests/golden/ and ../shared/corpus.
// It is compiled into one file (source_dir.cc) so that the other test sources do not depend on
// where the tree is cloned: their objects stay the same, and the compiler cache hits, in every
// clone.
const char* source_dir() noexcept;

}  // namespace vxcheck::test

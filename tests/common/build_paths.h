// Where the tests find the source tree (fixtures) and the stacksnap binary they drive.
//
// The paths are compiled into build_paths.cpp alone. Elsewhere they are strings of unknown
// length: GCC 12 at -O2 reports false -Warray-bounds errors on std::string's operator+ for
// some literal lengths, so a checkout path (the CI's is not ours) must not reach the
// optimizer as a constant in every test.
#pragma once

#include <string>
#include <string_view>

namespace stacksnap::build_paths {

// The source tree's root (CMAKE_SOURCE_DIR), absolute.
const std::string& source_dir();
// source_dir() + "/" + relative.
std::string source_path(std::string_view relative);
// The stacksnap binary of this build, absolute.
const std::string& binary();

}  // namespace stacksnap::build_paths

#include "common/build_paths.h"

namespace stacksnap::build_paths {

const std::string& source_dir() {
  static const std::string dir = STACKSNAP_SOURCE_DIR;
  return dir;
}

std::string source_path(std::string_view relative) {
  std::string path = source_dir();
  path += '/';
  path += relative;
  return path;
}

const std::string& binary() {
  static const std::string path = STACKSNAP_BINARY;
  return path;
}

}  // namespace stacksnap::build_paths

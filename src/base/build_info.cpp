#include "base/build_info.h"

namespace stacksnap {

std::string version_line() {
  const BuildInfo& b = build_info();
  return "stacksnap " + std::string(b.version) + " (commit " + std::string(b.commit) + ", built " +
         std::string(b.date) + ")";
}

}  // namespace stacksnap

#include "base/path.h"

namespace stacksnap {

bool path_within(std::string_view path, std::string_view dir) {
  if (dir.empty()) return false;
  while (dir.size() > 1 && dir.back() == '/') dir.remove_suffix(1);
  if (path == dir) return true;
  if (dir == "/") return !path.empty() && path.front() == '/';
  return path.size() > dir.size() && path.substr(0, dir.size()) == dir && path[dir.size()] == '/';
}

}  // namespace stacksnap

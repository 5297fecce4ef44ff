#include "sqlite/detect.h"

#include <fnmatch.h>

#include <cstring>

#include "base/text.h"

namespace stacksnap::sqlite {

bool has_header(Bytes head) {
  return head.size() >= kHeaderSize && std::memcmp(head.data(), kHeader.data(), kHeaderSize) == 0;
}

std::optional<std::string> companion_of(std::string_view path) {
  for (std::string_view suffix : {"-wal", "-shm", "-journal"}) {
    if (path.size() > suffix.size() && path.ends_with(suffix)) {
      std::string_view base = path.substr(0, path.size() - suffix.size());
      if (!base.empty() && base.back() != '/') return std::string(base);
    }
  }
  return std::nullopt;
}

std::vector<std::string> parse_patterns(std::string_view label) { return split_list(label, " \t"); }

std::optional<std::string> matching_pattern(const std::vector<std::string>& patterns, std::string_view relative_path,
                                            const std::vector<std::string>& container_paths) {
  const std::string rel(relative_path);
  for (const auto& p : patterns) {
    if (p.front() == '/') {
      for (const auto& c : container_paths) {
        if (::fnmatch(p.c_str(), c.c_str(), 0) == 0) return p;
      }
    } else if (::fnmatch(p.c_str(), rel.c_str(), 0) == 0) {
      return p;
    }
  }
  return std::nullopt;
}

}  // namespace stacksnap::sqlite

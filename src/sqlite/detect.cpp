#include "sqlite/detect.h"

#include <fnmatch.h>

#include <cstring>

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

std::vector<std::string> parse_patterns(std::string_view label) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= label.size()) {
    size_t comma = label.find(',', start);
    if (comma == std::string_view::npos) comma = label.size();
    std::string_view p = label.substr(start, comma - start);
    while (!p.empty() && (p.front() == ' ' || p.front() == '\t')) p.remove_prefix(1);
    while (!p.empty() && (p.back() == ' ' || p.back() == '\t')) p.remove_suffix(1);
    if (!p.empty()) out.emplace_back(p);
    start = comma + 1;
  }
  return out;
}

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

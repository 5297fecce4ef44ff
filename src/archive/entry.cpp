#include "archive/entry.h"

namespace stacksnap::archive {

std::string_view entry_type_name(EntryType t) {
  switch (t) {
    case EntryType::kFile: return "file";
    case EntryType::kDirectory: return "dir";
    case EntryType::kSymlink: return "symlink";
    case EntryType::kHardlink: return "hardlink";
    case EntryType::kFifo: return "fifo";
    case EntryType::kCharDevice: return "char";
    case EntryType::kBlockDevice: return "block";
  }
  return "unknown";
}

Result<EntryType> parse_entry_type(std::string_view name) {
  for (auto t : {EntryType::kFile, EntryType::kDirectory, EntryType::kSymlink, EntryType::kHardlink,
                 EntryType::kFifo, EntryType::kCharDevice, EntryType::kBlockDevice}) {
    if (entry_type_name(t) == name) return t;
  }
  return invalid_argument("unknown entry type \"" + std::string(name) + "\"");
}

Result<std::string> normalize_archive_path(std::string_view path) {
  if (path.find('\0') != std::string_view::npos) return invalid_argument("path contains a NUL byte");
  std::string out;
  size_t i = 0;
  while (i <= path.size()) {
    size_t j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    std::string_view part = path.substr(i, j - i);
    if (part == "..") return invalid_argument("path \"" + std::string(path) + "\" has a \"..\" component");
    if (!part.empty() && part != ".") {
      if (!out.empty()) out += '/';
      out += part;
    }
    i = j + 1;
  }
  return out;
}

}  // namespace stacksnap::archive

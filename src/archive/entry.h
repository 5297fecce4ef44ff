// One entry of an archive's tar: its path and metadata (docs/FORMAT.md §6).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"

namespace stacksnap::archive {

enum class EntryType { kFile, kDirectory, kSymlink, kHardlink, kFifo, kCharDevice, kBlockDevice };

// Manifest names: "file", "dir", "symlink", "hardlink", "fifo", "char", "block".
std::string_view entry_type_name(EntryType t);
Result<EntryType> parse_entry_type(std::string_view name);

struct Xattr {
  std::string name;   // e.g. "user.comment", "security.capability"
  std::string value;  // raw bytes
  bool operator==(const Xattr&) const = default;
};

// A data region of a sparse regular file; everything outside the regions reads as zeros.
struct SparseRegion {
  uint64_t offset = 0;
  uint64_t length = 0;
  bool operator==(const SparseRegion&) const = default;
};

struct EntryMeta {
  std::string path;  // archive path: relative, '/'-separated, no "." or ".." parts, no trailing '/'
  EntryType type = EntryType::kFile;
  uint32_t mode = 0644;  // permission bits incl. setuid/setgid/sticky (07777)
  uint32_t uid = 0, gid = 0;
  std::string uname, gname;  // optional owner names
  int64_t mtime_sec = 0;
  uint32_t mtime_nsec = 0;
  uint64_t size = 0;     // regular files: logical size in bytes; 0 for every other type
  std::string link;      // symlink: target as stored; hardlink: archive path of the first link
  uint32_t dev_major = 0, dev_minor = 0;  // char/block devices
  std::vector<Xattr> xattrs;
  std::vector<SparseRegion> sparse;  // regular files with holes: the data regions, ascending
};

// Normalises a relative path for the archive: strips leading "./" and "/", collapses
// "//" and "/./", drops a trailing '/'. InvalidArgument for ".." components or an
// embedded NUL. An empty result means "the root".
Result<std::string> normalize_archive_path(std::string_view path);

}  // namespace stacksnap::archive

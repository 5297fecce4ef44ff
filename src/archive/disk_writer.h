// Writes archive entries to the local filesystem through libarchive's disk writer:
// modes, mtimes, ownership and xattrs as options say, devices with their numbers, no
// ".." anywhere, and runs of 64 KiB of zeros in files of known size written as holes
// (the Engine's tar of a sparse file carries no sparse map; this is how sparse files come
// back sparse). Used by `extract` (paths under an output dir) and by restore (absolute
// host paths). Thread-safety: none.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "archive/entry.h"
#include "archive/reader.h"
#include "base/error.h"

struct archive;
struct archive_entry;

namespace stacksnap::archive {

struct DiskWriterOptions {
  bool owner = false;            // chown to the entry's uid/gid (needs root)
  bool xattrs = true;
  bool secure_symlinks = false;  // refuse to write through a symlink on disk
  std::string verb = "extract";  // in error messages: "extract x: …", "restore x: …"
};

class DiskWriter {
 public:
  explicit DiskWriter(DiskWriterOptions options);
  ~DiskWriter();
  DiskWriter(const DiskWriter&) = delete;
  DiskWriter& operator=(const DiskWriter&) = delete;

  // Writes `m` at m.path (a hardlink's m.link is the path of its target), content from
  // `r` for regular files (nullptr: empty). `is_stream`: the size is unknown (dump
  // parts), no holes are made. Adds the content bytes to `bytes`.
  Status write(const EntryMeta& m, EntrySource* r, bool is_stream, uint64_t& bytes);
  // Applies deferred directory metadata (modes, mtimes).
  Status close();
  // Warnings libarchive gave (e.g. an xattr the filesystem refused), the first 20.
  std::vector<std::string>& warnings() { return warnings_; }

 private:
  Error error(const std::string& what);
  Status check(int rc, const std::string& what);

  std::string verb_;
  struct archive* a_ = nullptr;
  struct archive_entry* e_ = nullptr;
  std::vector<std::string> warnings_;
};

}  // namespace stacksnap::archive

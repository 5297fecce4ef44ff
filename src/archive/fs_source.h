// Adds a directory tree from the local filesystem to an archive: regular files
// (sparse ones stay sparse: holes found with SEEK_DATA/SEEK_HOLE are not stored),
// directories, symlinks, hardlinks (by device and inode), fifos, devices, xattrs,
// uid/gid, modes and nanosecond mtimes. Entries are added in sorted name order.
// Sockets are skipped (they cannot be restored). Used for bind mounts and config files
// read from the host, and by `stacksnap pack`.
#pragma once

#include <string>
#include <string_view>

#include "archive/entry.h"
#include "archive/writer.h"
#include "base/error.h"

namespace stacksnap::archive {

struct TreeOptions {
  bool xattrs = true;  // read extended attributes (user.*, security.*, trusted.* when root)
};

// Adds `dir` itself as `prefix` and everything below it as `prefix/...`.
Status add_directory_tree(ArchiveWriter& writer, const std::string& dir, std::string_view prefix,
                          TreeOptions options = {});

// Metadata of one filesystem object (lstat + xattrs + sparse map), path set to `archive_path`.
Result<EntryMeta> stat_entry(const std::string& fs_path, const std::string& archive_path, TreeOptions options = {});

}  // namespace stacksnap::archive

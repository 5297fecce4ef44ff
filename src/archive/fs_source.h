// Adds a directory tree from the local filesystem to a sink (an archive or a snapshot):
// regular files (sparse ones stay sparse: holes found with SEEK_DATA/SEEK_HOLE are not
// stored), directories, symlinks, hardlinks (by device and inode), fifos, devices,
// xattrs, uid/gid, modes and nanosecond mtimes. Entries are added in sorted name order
// (bytes), which is the order of the Engine's archive stream too. Sockets are skipped
// (they cannot be restored). Used for volumes and bind mounts read directly on the
// Engine's host, config files, and `stacksnap pack` / `snapshot`.
//
// A live tree (an app writing while it is read, without Safe Mode):
//   - a file or directory that disappears between listing and reading is left out;
//   - a file that shrinks while it is read is completed with zeros, one that grows is cut
//     at the size it had when it was listed (as GNU tar does): its copy is what a crash at
//     that moment would have left at best, which is what a copy of a live file is. Both
//     are reported through `on_change` (the backup's job log), never silently.
//   - a file whose size, mtime, ctime and inode match what the sink stored last time is
//     taken from the sink's files cache without being read (EntrySink::unchanged_head).
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "archive/entry.h"
#include "archive/sink.h"
#include "base/cancel.h"
#include "base/error.h"

namespace stacksnap::archive {

struct TreeOptions {
  bool xattrs = true;  // read extended attributes (user.*, security.*, trusted.* when root)
  // Offered every regular file (relative path below `dir`, "" for a file root).
  TarEntryFilter* filter = nullptr;
  // Hears what changed or vanished while the tree was read (a message naming the path).
  std::function<void(const std::string&)> on_change;
  // Hears the logical bytes of every regular file stored (read or taken unchanged).
  std::function<void(uint64_t)> on_bytes;
  // Checked at every entry and every read: Cancelled.
  StopToken stop;
};

struct TreeSummary {
  uint64_t files = 0, bytes = 0;                  // regular files stored, their sizes
  uint64_t unchanged_files = 0, unchanged_bytes = 0;  // of those, taken from the files cache unread
  uint64_t changed = 0;                           // files that changed or vanished while read
};

// Adds `dir` itself as `prefix` and everything below it as `prefix/...`.
Result<TreeSummary> add_directory_tree(EntrySink& sink, const std::string& dir, std::string_view prefix,
                                       TreeOptions options = {});

// Metadata of one filesystem object (lstat + xattrs + sparse map), path set to `archive_path`.
Result<EntryMeta> stat_entry(const std::string& fs_path, const std::string& archive_path, TreeOptions options = {});

}  // namespace stacksnap::archive

// Database files on the host, reached the way SQLite needs them to share the app's
// locks: through the host path of a volume or bind mount (same inode as the app's).
//
// Two hazards are handled here, once:
//  - Paths inside a volume are controlled by its containers. resolve_beneath() walks
//    them one component at a time without following any symlink, so a link planted in
//    a volume never makes this root process open (or make SQLite create -wal/-shm files)
//    outside it. SQLite then opens the same path; callers compare the identity again
//    afterwards to notice a swap in between.
//  - SQLite's locks are POSIX advisory locks, owned by the process: close() of ANY
//    descriptor of a file drops every lock this process holds on it, so a harmless
//    header read elsewhere in the server could silently end a snapshot's read
//    transaction. Every open of a database file by StackSnap is therefore either an
//    SQLite connection announced with InodeHold, or a read_head(), which declines to
//    open an inode that is held. O_PATH descriptors (used for walking) carry no locks.
//
// Thread-safety: everything here may be called from any thread.
#pragma once

#include <sys/types.h>

#include <compare>
#include <optional>
#include <string>
#include <string_view>

#include "base/error.h"
#include "base/fd.h"

namespace stacksnap::sqlite {

struct FileId {
  dev_t dev = 0;
  ino_t ino = 0;
  auto operator<=>(const FileId&) const = default;
};

struct HostFile {
  std::string path;  // root + "/" + relative (root itself when relative is empty)
  UniqueFd handle;   // O_PATH descriptor of the file itself
  FileId id;
  mode_t mode = 0;   // st_mode (type and permissions)
  uint64_t size = 0;
};

// `relative` ('/'-separated, no "." or ".." parts; "" = root itself) below the directory
// `root`, no symlink followed anywhere below root. NotFound when a part is missing;
// FailedPrecondition when a part is a symlink or not a directory.
Result<HostFile> resolve_beneath(const std::string& root, std::string_view relative);

// The entry `name` of the directory `dirfd` (not followed when a symlink), as an O_PATH
// descriptor; `path` is what messages and HostFile::path show.
Result<HostFile> open_entry(int dirfd, const std::string& name, std::string path);

// Marks an inode as opened by an SQLite connection of this process for as long as the
// hold lives (holds nest).
class InodeHold {
 public:
  explicit InodeHold(FileId id);
  InodeHold(InodeHold&& o) noexcept;
  InodeHold& operator=(InodeHold&&) = delete;
  InodeHold(const InodeHold&) = delete;
  InodeHold& operator=(const InodeHold&) = delete;
  ~InodeHold();

 private:
  std::optional<FileId> id_;
};

// The first `n` bytes of a regular file (fewer when it is shorter); nullopt when an
// SQLite connection of this process has the inode open (its locks would be dropped).
Result<std::optional<std::string>> read_head(const HostFile& file, size_t n);

// The same file (inode) as `file`, still at the same path without a symlink on the way.
bool still_same(const std::string& root, std::string_view relative, const HostFile& file);

}  // namespace stacksnap::sqlite

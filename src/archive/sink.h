// EntrySink: where a backup's entries go, whatever stores them. The capture code (config
// files, dumps, volume and bind trees, read directly or from the Engine's tar stream)
// writes into a sink and knows nothing of the format:
//   - ArchiveWriter (archive/writer.h): a v1 archive, a sealed tar stream;
//   - repo::SnapshotSink (repo/snapshot_sink.h): a snapshot of a v2 repository, with a
//     files cache: a file read directly whose path, size, mtime, ctime and inode match the
//     previous snapshot's is taken from it unread.
//
// Order contract (both sinks): add_plan() first, then any mix of the others.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "archive/entry.h"
#include "archive/manifest.h"
#include "base/error.h"
#include "base/stream.h"

namespace stacksnap::archive {

// Bytes of a regular file's content a TarEntryFilter sees before it decides.
inline constexpr size_t kFilterHeadBytes = 16;

// Lets the caller of a tree capture keep, drop or replace each regular file as it passes,
// knowing nothing of the sink (the backup's SQLite snapshots: backup/sqlite_capture.h).
// Only regular files are offered; everything else is kept.
class TarEntryFilter {
 public:
  enum class Action { kKeep, kDrop, kReplace };
  struct Decision {
    Action action = Action::kKeep;
    // kReplace: the entry keeps its path and metadata but gets `size` bytes read from
    // `content` (which must stay valid until the next call) instead of the stream's.
    uint64_t size = 0;
    Reader* content = nullptr;
  };
  virtual ~TarEntryFilter() = default;
  // `relative`: the path below the tree's root ("" for the root itself); `head`: the first
  // min(size, kFilterHeadBytes) bytes of the content. An error stops the capture.
  virtual Result<Decision> on_file(std::string_view relative, const EntryMeta& meta, Bytes head) = 0;
};

struct TarStreamOptions {
  // Leading path components dropped from every entry (Docker's archive of /data names
  // its entries "data/..."; strip 1 to put the contents directly under the prefix).
  int strip_components = 0;
  TarEntryFilter* filter = nullptr;  // not owned; nullptr keeps every entry
};

// Who a regular file read from the local filesystem is (the files cache's key beside its
// path, size and mtime): a file rewritten in place keeps its inode but gets a new ctime.
struct FileIdentity {
  uint64_t inode = 0;
  int64_t ctime_sec = 0;
  uint32_t ctime_nsec = 0;
};

class EntrySink {
 public:
  virtual ~EntrySink() = default;

  // stacksnap/plan.json: project, time, what is expected. Must be the first call.
  virtual Status add_plan(const nlohmann::json& plan) = 0;
  // A regular file of known size: exactly meta.size bytes of logical content are read
  // from `content` (holes of a sparse meta read as zeros), stored and hashed.
  virtual Status add_file(const EntryMeta& meta, Reader& content) = 0;
  // Directories, symlinks (meta.link = target), hardlinks (meta.link = path of an earlier
  // entry), fifos and devices: everything but regular files.
  virtual Status add_entry(const EntryMeta& meta) = 0;
  // Re-emits a tar stream (Docker Engine archive endpoint) entry by entry under `prefix`
  // (replay_tar_stream below).
  virtual Status add_tar_stream(std::string_view prefix, Reader& tar, TarStreamOptions options = {}) = 0;
  // A stream of unknown size (a database dump from a pipe) under dumps/; meta.size ignored.
  virtual Status add_stream(const EntryMeta& meta, Reader& data) = 0;
  // Facts recorded in the manifest (later calls for the same name replace earlier ones).
  virtual Status set_dump_info(const std::string& service, const DumpInfo& info) = 0;
  virtual Status set_volume_info(const std::string& volume, const nlohmann::json& extra) = 0;
  virtual Status set_bind_info(const std::string& bind, const nlohmann::json& extra) = 0;

  // ---- the files cache (a sink without one keeps the defaults) ----
  // A regular file read from the local filesystem, with who it is.
  virtual Status add_local_file(const EntryMeta& meta, Reader& content, const FileIdentity&) {
    return add_file(meta, content);
  }
  // The first min(size, kFilterHeadBytes) bytes `meta.path` had when the sink last stored
  // it, when it is unchanged since (same size, mtime, ctime and inode) and can be stored
  // again without reading it (add_unchanged); nullopt otherwise.
  virtual Result<std::optional<std::string>> unchanged_head(const EntryMeta&, const FileIdentity&) {
    return std::optional<std::string>();
  }
  // Stores the file as the sink stored it last time (after unchanged_head() found it).
  virtual Status add_unchanged(const EntryMeta& meta, const FileIdentity&) {
    return failed_precondition(meta.path + ": this sink keeps no files cache");
  }
};

// Replays a tar stream into `sink` under `prefix` ("volumes/shop_data"): hardlink targets
// rewritten, options.filter asked about each regular file (a dropped or replaced file's
// stream bytes are read and discarded). InvalidArgument for ".." paths or sockets in the
// stream; DataLoss for a malformed stream.
Status replay_tar_stream(EntrySink& sink, std::string_view prefix, Reader& tar, const TarStreamOptions& options);

// Bytes read ahead (a filter's head), then the rest of the stream they came from.
class HeadThenRest final : public Reader {
 public:
  HeadThenRest(Bytes head, Reader& rest) : head_(head), rest_(rest) {}
  Result<size_t> read(MutableBytes buf) override;

 private:
  Bytes head_;
  Reader& rest_;
};

// Fails with InvalidArgument unless `m.path` is a normalised, non-empty path that a
// backup's own records and dump parts do not reserve (the checks of every sink).
Status check_user_path(const EntryMeta& m);

// Fails with InvalidArgument when a symlink or hardlink has no target, or a hardlink's
// target is not a normalised path (the checks of every sink's add_entry).
Status check_link(const EntryMeta& m);

// The paths written so far, as 64-bit keyed hashes (SHA-256 of a random per-set salt and
// the path, so that crafted file names cannot collide on purpose) in an open-addressing
// table: 16 bytes per entry at most. A repeated path is refused; a false alarm needs a
// 64-bit collision (~1e-8 for a million entries, and a new salt the next time).
class PathSet {
 public:
  PathSet();
  ~PathSet();
  // False when `path` was inserted before.
  bool insert(std::string_view path);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace stacksnap::archive

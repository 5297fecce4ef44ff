// A consistent copy of a live SQLite database, taken while its app keeps running
// (docs/adr/0009-sqlite-capture.md).
//
// The database is opened through its host path (the same inode the app has open, so
// SQLite's POSIX locks and the WAL's shared-memory index work across the container
// boundary), read-only, never checkpointed on close. One read transaction covers the
// whole copy (SQLite's online backup API, stepped in chunks so that it can be
// cancelled): in WAL mode the app's writers never wait; in rollback-journal mode they
// wait for it to end (read_lock_ms). The copy goes to an encrypted unnamed scratch file
// (sqlite/scratch_vfs.h); the per-table row counts are taken from the copy afterwards,
// so they describe exactly the bytes that are archived and add nothing to the lock.
//
// The copy keeps the source's header, WAL flag included: restored, it opens in the same
// journal mode the app uses. No -wal, -shm or -journal goes with it.
//
// Thread-safety: a Snapshot is used by one thread; several may be taken at once.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "base/cancel.h"
#include "base/error.h"
#include "base/stream.h"

namespace stacksnap::sqlite {

inline constexpr std::string_view kMechanismBackup = "online-backup";
inline constexpr std::string_view kMechanismFiles = "files";

// What the manifest records about one database (docs/FORMAT.md §7, "sqlite").
struct DatabaseFacts {
  std::string path;          // below the volume or bind root ("" when the bind is the file)
  std::string mechanism;     // kMechanismBackup, or kMechanismFiles (the live files as they were)
  std::string reason;        // kMechanismFiles: why ("excluded by label pattern …", "…")
  std::string journal_mode;  // "wal" | "rollback" ("" when not known)
  int64_t page_size = 0;
  int64_t page_count = 0;
  uint64_t bytes = 0;                     // size of the copy in the archive
  std::map<std::string, int64_t> tables;  // rows per table, counted in the copy
  std::string counts_error;               // why `tables` is empty ("" when counted)
  int64_t lock_wait_ms = 0;  // waiting for the read lock (a rollback-journal writer mid-commit)
  int64_t read_lock_ms = 0;  // the read transaction: rollback-journal writers wait at most this
  int64_t capture_ms = 0;    // open, copy, count
  std::string captured_at;   // RFC 3339 UTC, when the read lock was granted

  nlohmann::json to_json() const;
  static Result<DatabaseFacts> from_json(const nlohmann::json& j);
};

struct SnapshotOptions {
  std::string scratch_dir;  // where the encrypted copy lives (must take O_TMPFILE files)
  // How long to wait for a read lock (rollback-journal mode: a writer mid-commit; an app
  // in exclusive locking mode never lets go). Unavailable after it.
  std::chrono::milliseconds busy_timeout{10000};
  uint32_t pages_per_step = 4096;  // the copy is cancellable between steps
};

class Snapshot {
 public:
  // Copies the database at `root`/`relative` (resolved without following symlinks, see
  // sqlite/host_file.h). Errors: NotFound (gone), FailedPrecondition (not a regular file,
  // a symlink on the way, replaced during the copy), Unavailable (locked past
  // busy_timeout), DataLoss (not a database, or corrupt), Cancelled; others pass through.
  static Result<std::unique_ptr<Snapshot>> take(const std::string& root, const std::string& relative,
                                                const SnapshotOptions& options, const StopToken& stop = {});
  ~Snapshot();
  Snapshot(const Snapshot&) = delete;
  Snapshot& operator=(const Snapshot&) = delete;

  const DatabaseFacts& facts() const { return facts_; }
  uint64_t size() const { return facts_.bytes; }
  // The copy's bytes, exactly size() of them, from the start.
  Reader& content();

 private:
  Snapshot() = default;
  DatabaseFacts facts_;
  std::unique_ptr<Reader> content_;
};

}  // namespace stacksnap::sqlite

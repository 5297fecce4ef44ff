// Backups in a repository of the format v2 (chunks/repository.h; docs/FORMAT.md §v2): a
// snapshot is an exact image of the backup's v1 archive (every entry with its metadata,
// content as chunk lists), so that a snapshot exports to a v1 archive that the archive
// reader, the verify, the restore and the drill take as they take any other (one reading
// path for both formats).
//
// The snapshot document (sealed JSON under snapshots/<sha256>):
//   {"format": "stacksnap.snapshot/v1", "backup_id", "project", "created" (unix seconds),
//    "archive_created" (RFC 3339: the manifest's "created"),
//    "plan": {…}                         stacksnap/plan.json
//    "manifest": {…}                     the manifest's head (dumps, volumes, binds, streams, counts)
//    "entries": ["hex id", …]            entry-list blobs (BlobType::kTree), in archive order
//    "record": {…}                       the catalog record (catalog/record_json.h), for a
//                                        catalog rebuild from the target alone
//    "stats": {files, bytes, chunks, new_chunks, new_bytes, uploaded_bytes}}
//
// An entry-list blob is JSON lines, one entry each:
//   {"path"|"path_hex", "type", "mode", "uid", "gid", "uname", "gname", "mtime", "mtime_ns",
//    "size", "link"|"link_hex", "dev": [major, minor], "xattrs": [[name, hex value]…],
//    "sparse": [[offset, length]…], "stream": true (a dump of unknown size),
//    "sha256", "chunks": ["hex id", …]}   (at most 40 000 ids; the rest on the lines after it:
//   {"continued": true, "chunks": [...]})
// Lists are cut after an entry whose line's first id byte (HMAC: keyed, uniform) is below
// 4 (1 in 64) or at 4 MiB, so an unchanged run of entries makes the same blobs and costs
// nothing in the next snapshot (content-defined grouping, like the data chunks).
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "archive/reader.h"
#include "archive/sink.h"
#include "archive/source.h"
#include "archive/verify.h"
#include "archive/writer.h"
#include "base/cancel.h"
#include "chunks/lock.h"
#include "chunks/repository.h"

namespace stacksnap::repo {

inline constexpr const char* kSnapshotFormat = "stacksnap.snapshot/v1";
// Object name of a snapshot on a repository target (what a catalog copy's key holds).
std::string snapshot_key(const std::string& snapshot_id);
// The snapshot id of a copy key "snapshots/<id>", or "" when the key names a v1 archive.
std::string snapshot_id_of_key(const std::string& key);

struct IngestStats {
  uint64_t entries = 0, files = 0, content_bytes = 0;
  uint64_t chunks = 0, new_chunks = 0, new_bytes = 0, uploaded_bytes = 0, packs = 0;
  uint64_t unchanged_files = 0, unchanged_bytes = 0;  // taken from the files cache unread
  nlohmann::json to_json() const;
};

// A snapshot written entry by entry (archive/sink.h): what a backup to a repository target
// writes into directly, and what ingest_archive replays an archive into.
//
// Files cache: files read from the local filesystem (add_local_file) are recorded with
// their inode, ctime and first bytes ("ino", "ctime", "ctime_ns", "head" on their line),
// and the snapshot says where each volume's and bind's entries start ("sections": tree →
// entry-list number). Given the previous snapshot of the same project as `parent`,
// unchanged_head() finds a file's line there (one cursor per tree, walking the parent's
// lines in the order the tree is read: no map of the parent in memory) and add_unchanged()
// stores that line's chunks again, unread. A parent line without those fields (an archive
// ingested, a tree read through the Engine's stream) never matches.
//
// Every entry is checked as ArchiveWriter checks it (normalised path not reserved, each
// path once, exact content size), so a snapshot that commits always exports.
class SnapshotSink final : public archive::EntrySink {
 public:
  // `write`: where packs are put together (chunks::WriteOptions; a backup: its spool dir).
  static Result<std::unique_ptr<SnapshotSink>> create(chunks::Repository& repo,
                                                      std::optional<chunks::SnapshotInfo> parent, const StopToken& stop,
                                                      const chunks::WriteOptions& write = {});
  ~SnapshotSink() override;

  Status add_plan(const nlohmann::json& plan) override;
  Status add_file(const archive::EntryMeta& meta, Reader& content) override;
  Status add_entry(const archive::EntryMeta& meta) override;
  Status add_tar_stream(std::string_view prefix, Reader& tar, archive::TarStreamOptions options = {}) override;
  Status add_stream(const archive::EntryMeta& meta, Reader& data) override;
  Status set_dump_info(const std::string& service, const archive::DumpInfo& info) override;
  Status set_volume_info(const std::string& volume, const nlohmann::json& extra) override;
  Status set_bind_info(const std::string& bind, const nlohmann::json& extra) override;
  Status add_local_file(const archive::EntryMeta& meta, Reader& content, const archive::FileIdentity& id) override;
  Result<std::optional<std::string>> unchanged_head(const archive::EntryMeta& meta,
                                                    const archive::FileIdentity& id) override;
  Status add_unchanged(const archive::EntryMeta& meta, const archive::FileIdentity& id) override;

  // The manifest's head as the sink counted it (dumps, volumes, binds, streams, counts),
  // with `created` (RFC 3339) as its time.
  archive::Manifest manifest(const std::string& created) const;
  // Records `head` as the manifest instead (an archive replayed: its own manifest).
  void use_manifest_head(nlohmann::json head);
  // SnapshotWriter::verify_uploaded(), after the last entry list is stored.
  Status verify_uploaded();
  // Stores the last entry list, then commits the snapshot document: `doc` (the caller's
  // fields) with format, plan, manifest, archive_created, entries, sections and stats.
  // `before_commit` as for ingest_archive.
  Result<chunks::SnapshotInfo> commit(nlohmann::json doc, const std::string& created,
                                      const std::function<Status()>& before_commit = {});
  const IngestStats& stats() const;

 private:
  struct Impl;
  explicit SnapshotSink(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Stores a v1 archive, read from its first entry to its end, as one snapshot of `repo`.
// The snapshot is committed only after the reader reached the end (the archive
// authenticated whole); on any error nothing but unreferenced packs is left.
// `doc` gives the caller's fields (backup_id, project, created, record); the rest is set here.
// `before_commit` (optional) runs right before the snapshot is uploaded: an error stops
// the commit (the caller checks it still holds the repository's lock).
Result<chunks::SnapshotInfo> ingest_archive(chunks::Repository& repo, archive::ArchiveReader& reader,
                                            nlohmann::json doc, const StopToken& stop, IngestStats* stats = nullptr,
                                            const std::function<Status()>& before_commit = {},
                                            const chunks::WriteOptions& write = {});

// What a backup does with a repository target: `reader`'s archive (from its first entry)
// stored by ingest_archive in the repository at `target`, which is created when the
// target holds none (`on_init` hears it; another host creating it at the same time is
// fine). A shared lock ("backup …" = `owner`; waits up to 10 minutes for a prune) is taken
// before the index is read, and refreshed and checked right before the snapshot commits:
// a lock taken for stale (a clock far off, refreshes that could not reach the target) may
// have let a prune delete packs the snapshot counts on.
struct StoreOptions {
  std::string owner;
  std::function<void()> on_init;
  // Hears what is wrong but does not stop the backup (an index file skipped as damaged).
  std::function<void(const std::string&)> on_warning;
  // Where the packs of the snapshot are put together (chunks::WriteOptions::spool_dir).
  std::string spool_dir;
};
// The repository at `target` opened for a backup as store_archive() opens it (created when
// absent, shared lock taken); still_locked() is the check before a commit.
struct BackupSession {
  std::unique_ptr<chunks::RepoLock> lock;
  std::unique_ptr<chunks::Repository> repository;
  std::string where;  // target.describe()
  Status still_locked();
};
Result<BackupSession> open_for_backup(storage::Target& target, const seal::MasterKey& key, const StoreOptions& options,
                                      const StopToken& stop);
Result<chunks::SnapshotInfo> store_archive(storage::Target& target, const seal::MasterKey& key,
                                           archive::ArchiveReader& reader, nlohmann::json doc,
                                           const StoreOptions& options, const StopToken& stop,
                                           IngestStats* stats = nullptr);

// One snapshot by id (its sealed object authenticated): NotFound when absent.
Result<chunks::SnapshotInfo> load_snapshot(const chunks::Repository& repo, const std::string& snapshot_id);

// Writes the snapshot as a v1 archive sealed with `key` to `out` (its manifest says what
// the original said, "created" included; every file's content is checked against its
// SHA-256 on the way: DataLoss names the file).
Status export_snapshot(const chunks::Repository& repo, const chunks::SnapshotInfo& snap, const seal::MasterKey& key,
                       Writer& out, const StopToken& stop, archive::WriterOptions options = {});

// A snapshot on `target` read as a v1 archive: exported on a thread while the stream is
// read (under a shared repository lock, sealed with the key `keys` gives for the
// repository), so that a verify, a restore or a download streams it like an archive
// file. An export error (a damaged chunk: DataLoss naming the file) comes out of read().
// Destroying the reader stops the export. `lock_held()` says whether the lock was still
// ours (an error while it was lost says nothing about the snapshot).
class SnapshotExportReader : public Reader {
 public:
  virtual Status lock_held() const = 0;
};
Result<std::unique_ptr<SnapshotExportReader>> open_export(std::shared_ptr<storage::Target> target,
                                                          const std::string& snapshot_id, const seal::KeySource& keys,
                                                          const StopToken& stop, int zstd_level = 1);

// A snapshot on `target` held open for reading in place (a restore): its shared lock (held
// and refreshed until the last reference goes), the repository with its index, the
// snapshot document. What a restore applies from, without exporting it first.
class OpenSnapshot {
 public:
  static Result<std::shared_ptr<OpenSnapshot>> open(std::shared_ptr<storage::Target> target,
                                                    const std::string& snapshot_id, const seal::KeySource& keys,
                                                    const StopToken& stop);
  ~OpenSnapshot();
  const chunks::SnapshotInfo& snapshot() const { return snap_; }
  const nlohmann::json& plan() const;
  // Its entries as an archive::EntrySource: contents read chunk by chunk, each file checked
  // against its SHA-256 at its end (DataLoss naming the file); the manifest's head after
  // the last entry.
  Result<std::unique_ptr<archive::EntrySource>> source(const StopToken& stop) const;
  // The check before a restore changes anything. kAuthenticate: every entry list and every
  // distinct chunk read once and authenticated (a chunk that authenticates is the chunk
  // sealed under its id). kDeep: every file read whole and checked against its SHA-256.
  // Counts entries, files and bytes; the plan and manifest head in the report.
  Result<archive::VerifyReport> verify(archive::VerifyDepth depth, const StopToken& stop) const;
  // Whether the lock is still ours (a failure while it was lost says nothing of the data).
  Status lock_held() const;
  // export_snapshot() of this snapshot, sealed with the repository's master key.
  Status export_to(Writer& out, const StopToken& stop, archive::WriterOptions options = {}) const;

 private:
  OpenSnapshot() = default;
  std::optional<seal::MasterKey> key_;
  std::shared_ptr<storage::Target> target_;
  std::unique_ptr<chunks::RepoLock> lock_;
  std::unique_ptr<chunks::Repository> repo_;
  chunks::SnapshotInfo snap_;
};

// Every blob the snapshot references: its entry-list blobs (kTree) and, reading them,
// every data chunk (kData; a chunk referenced twice is reported twice). For garbage
// collection and checks. DataLoss when an entry list cannot be read.
Status for_each_blob(const chunks::Repository& repo, const nlohmann::json& doc,
                     const std::function<Status(chunks::BlobType, const chunks::ChunkId&)>& fn);

}  // namespace stacksnap::repo

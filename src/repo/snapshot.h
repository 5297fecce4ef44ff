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
#include <string>

#include <nlohmann/json.hpp>

#include "archive/reader.h"
#include "archive/writer.h"
#include "base/cancel.h"
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
  nlohmann::json to_json() const;
};

// Stores a v1 archive, read from its first entry to its end, as one snapshot of `repo`.
// The snapshot is committed only after the reader reached the end (the archive
// authenticated whole); on any error nothing but unreferenced packs is left.
// `doc` gives the caller's fields (backup_id, project, created, record); the rest is set here.
// `before_commit` (optional) runs right before the snapshot is uploaded: an error stops
// the commit (the caller checks it still holds the repository's lock).
Result<chunks::SnapshotInfo> ingest_archive(chunks::Repository& repo, archive::ArchiveReader& reader,
                                            nlohmann::json doc, const StopToken& stop, IngestStats* stats = nullptr,
                                            const std::function<Status()>& before_commit = {});

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
};
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

// Every blob the snapshot references: its entry-list blobs (kTree) and, reading them,
// every data chunk (kData; a chunk referenced twice is reported twice). For garbage
// collection and checks. DataLoss when an entry list cannot be read.
Status for_each_blob(const chunks::Repository& repo, const nlohmann::json& doc,
                     const std::function<Status(chunks::BlobType, const chunks::ChunkId&)>& fn);

}  // namespace stacksnap::repo

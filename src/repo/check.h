// Checking a repository of the format v2 (chunks/repository.h; docs/FORMAT.md §v2) at
// three levels, what `stacksnap check` and the server's check job run.
//
//   shallow  the config, every index and every snapshot are read (metadata, small); data/
//            is listed with sizes; every pack an index names exists and its size fits the
//            blobs the index lists in it (blobs, then the sealed header, then its uint32
//            length: the header length is predicted from the index's entries, and only
//            when the prediction misses are the pack's last 4 bytes read); every blob
//            every snapshot references (repo::for_each_blob: this reads the entry-list
//            blobs) is in an index. Packs no index names are garbage, reported, not
//            problems.
//   deep     shallow, and every indexed pack is downloaded whole (one at a time): its
//            SHA-256 equals its name, its header authenticates and lists exactly what the
//            index says, every blob authenticates and decompresses as its type and id, has
//            the indexed length, and its plaintext hashes (HMAC with the id key) to its id.
//   shallow with read_data_percent N > 0: shallow plus the deep pack checks of a random
//            N % of the indexed packs (at least one).
//
// Everything found is collected (a damaged pack never stops the check). For each damaged or
// missing pack the report names the snapshots that reference a blob in it (with their
// backup_id and project), and lists every snapshot that cannot be restored whole.
//
// Errors returned: reaching the target (Unavailable, PermissionDenied, …), NotFound when
// there is no repository, PermissionDenied when the key does not open it, DataLoss when the
// config is damaged (nothing else can be checked then), Cancelled, InvalidArgument for a
// read_data_percent outside 0..100. Damage to anything else is a problem in the report.
//
// Memory: the merged index (twice: the check's and the Repository's that reads entry lists),
// the listing of data/, and at most one pack's bytes at a time.
// Thread-safety: one check per call; nothing shared.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/cancel.h"
#include "base/error.h"
#include "seal/key.h"
#include "storage/target.h"

namespace stacksnap::repo {

struct CheckProgress {
  std::string_view phase;  // "indexes", "packs" (sizes), "read" (packs downloaded), "snapshots"
  uint64_t done = 0, total = 0;
  uint64_t bytes_read = 0;  // from the target, so far
};

struct CheckOptions {
  enum Level { kShallow, kDeep };
  Level level = kShallow;
  // With kShallow: the share of indexed packs (0..100) that is also read deeply, picked at
  // random (at least one pack when > 0). Ignored with kDeep (every pack is read).
  double read_data_percent = 0;
  uint64_t seed = 0;  // for the sample; 0: random
  std::function<void(const CheckProgress&)> progress;  // optional
};

struct CheckProblem {
  std::string pack;    // the pack's key ("data/ab/ab12…") when the problem is a pack's
  std::string object;  // else the object's key ("index/…", "snapshots/…", "config")
  std::string what;    // "missing", "size: …", "sha256: …", "blob … does not authenticate: …"
};

struct SnapshotRef {
  std::string id;  // hex, its name under snapshots/
  std::string backup_id, project;
};

// A damaged or missing pack and the snapshots that reference a blob in it.
struct PackDependents {
  std::string pack;
  std::vector<SnapshotRef> snapshots;
};

struct CheckReport {
  CheckOptions::Level level = CheckOptions::kShallow;
  double read_data_percent = 0;
  uint64_t indexes = 0;     // index files read
  uint64_t packs = 0;       // distinct packs the indexes name
  uint64_t packs_read = 0;  // downloaded whole and checked deeply
  uint64_t blobs = 0;       // distinct blobs the indexes name
  uint64_t blobs_read = 0;  // authenticated (deep)
  uint64_t bytes = 0;       // stored size of the indexed packs present
  uint64_t bytes_read = 0;  // every byte downloaded
  uint64_t snapshots = 0;
  uint64_t referenced_blobs = 0;  // blob references of every snapshot (a reference twice counts twice)
  std::vector<std::string> unreferenced_packs;  // keys under data/ no index names (garbage)
  uint64_t unreferenced_bytes = 0;
  std::vector<CheckProblem> problems;
  std::vector<PackDependents> damaged_snapshots;  // one per damaged pack, in problem order
  std::vector<SnapshotRef> broken_snapshots;      // every snapshot that cannot be restored whole

  bool ok() const { return problems.empty(); }
  nlohmann::json to_json() const;
};

Result<CheckReport> check_repository(storage::Target& target, const seal::MasterKey& key,
                                     const CheckOptions& options, const StopToken& stop);

}  // namespace stacksnap::repo

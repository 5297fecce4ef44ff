// Garbage collection of a repository of the format v2 (docs/FORMAT.md §v2.8): after
// retention forgot snapshots, delete the packs no snapshot needs and rewrite the packs that
// are mostly garbage.
//
// prune_repository, under the exclusive lock (chunks/lock.h):
//   1. reads every index file and every snapshot; collects the blob ids the snapshots
//      reference (repo::for_each_blob);
//   2. per pack the indexes name: no referenced blob → delete; unreferenced bytes more
//      than `repack_threshold` of the pack → repack; else keep. Packs under data/ that no
//      index names (a backup that crashed before its index) → delete;
//   3. uploads new packs holding the referenced blobs of the repacked ones (the sealed
//      bytes copied as they are: a blob's AAD is its type and id, not its place);
//   4. uploads ONE index naming every pack kept and every new pack (also when no pack
//      changed but several index files exist: they are merged into one);
//   5. deletes the index files read in 1;
//   6. deletes the garbage, repacked and unindexed packs.
// Crash-safety: until 4 completes the old indexes name every old pack and nothing was
// deleted; from 4 on the new index names a copy of every referenced blob, in packs that are
// never deleted; packs are deleted only in 6, when no index file names them any more. A
// crash (or an error, or a stop request) anywhere leaves a repository in which every
// snapshot reads whole; the next prune finishes the work (duplicates are resolved the way
// readers resolve them: the first index entry wins).
//
// Nothing here deletes snapshots: retention does (forget_snapshot), prune then frees what
// they alone referenced.
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "base/cancel.h"
#include "base/error.h"
#include "chunks/lock.h"
#include "seal/key.h"
#include "storage/target.h"

namespace stacksnap::repo {

struct PruneOptions {
  // A pack whose unreferenced bytes are more than this fraction of its size is rewritten.
  double repack_threshold = 0.5;
  // Only report what would be done: nothing is written or deleted (the lock is still taken).
  bool dry_run = false;
  // The exclusive lock (owner "prune" when empty; `wait` to queue behind running backups).
  chunks::LockOptions lock;
};

struct PruneReport {
  uint64_t snapshots = 0;
  uint64_t indexes_before = 0, indexes_after = 0;
  uint64_t packs_before = 0, packs_after = 0;  // pack objects under data/
  uint64_t deleted_packs = 0;                  // garbage, repacked and unindexed packs deleted
  uint64_t unindexed_packs = 0;                // of those: named by no index
  uint64_t repacked_packs = 0;                 // old packs rewritten…
  uint64_t new_packs = 0;                      // …into this many
  uint64_t bytes_before = 0, bytes_after = 0;  // of the packs
  uint64_t bytes_freed = 0;                    // bytes_before - bytes_after
  uint64_t blobs_kept = 0, blobs_deleted = 0;  // index entries
  bool dry_run = false;
  nlohmann::json to_json() const;
};

// Garbage collection as above. Unavailable while another process holds a lock (a backup);
// DataLoss (nothing deleted) when a snapshot cannot be read whole, references a blob no index
// names, or an index names a pack that is missing while holding referenced blobs;
// FailedPrecondition for a snapshot whose format this build does not know (its references
// cannot be listed, so nothing may be deleted); Cancelled on a stop request (the
// repository stays whole, like after a crash).
Result<PruneReport> prune_repository(storage::Target& target, const seal::MasterKey& key, PruneOptions options,
                                     const StopToken& stop);

// Deletes snapshots/<snapshot_id>; OK when it is already gone. InvalidArgument when the id is
// not 64 lowercase hex digits. Needs no lock: a prune running meanwhile keeps a little more.
Status forget_snapshot(storage::Target& target, const std::string& snapshot_id);

}  // namespace stacksnap::repo

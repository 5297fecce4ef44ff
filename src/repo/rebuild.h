// Rebuilding the catalog from what a target holds, with only the key: every sidecar
// under backups/ (backups/<id>.json, or backups/<project>/<id>.json with readable names) is read, its sealed metadata opened and cross-checked against the
// sidecar's public facts and the blob beside it; backups and copies missing from the
// catalog are inserted. Nothing on the target is changed.
//
// A sidecar that cannot be trusted (sealed with another key, tampered, malformed, its
// blob missing or of the wrong size) is reported in `problems` and skipped: one bad
// object never stops the rebuild. Errors returned are about the target as a whole
// (listing fails: PermissionDenied, Unavailable…) or the catalog.
#pragma once

#include <string>
#include <vector>

#include "base/cancel.h"
#include "base/error.h"
#include "catalog/catalog.h"
#include "seal/key.h"
#include "storage/target.h"

namespace stacksnap::repo {

struct RebuildProblem {
  std::string key;      // the sidecar's (or orphan blob's) object key
  std::string code;     // code_name(): Unauthenticated (foreign key), DataLoss (tampered)…
  std::string message;  // what a user reads
};

struct RebuildReport {
  int sidecars = 0;                        // sidecars found
  std::vector<std::string> added_backups;  // new catalog records (with their copy)
  std::vector<std::string> added_copies;   // known backups that gained a copy on this target
  int already_known = 0;                   // backup and copy were already catalogued
  int unfinished_blobs = 0;                // blobs without a sidecar (never listed)
  std::vector<RebuildProblem> problems;
};

struct RebuildOptions {
  std::string only_backup;  // non-empty: only the sidecar of this backup ID is read
};

// `rec` names the target in copy records; `target` is it opened.
Result<RebuildReport> rebuild_from_target(catalog::Catalog& cat, const catalog::TargetRecord& rec,
                                          storage::Target& target, const seal::KeySource& keys,
                                          const StopToken& stop = {}, const RebuildOptions& options = {});

// The catalog's record of `backup_id`. When the catalog does not know it (a fresh data
// dir, a backup made by another host), every configured target is searched for its
// sidecar first; what is found is added to the catalog exactly as a rebuild would.
// NotFound naming the targets searched and those that could not be read.
Result<catalog::BackupRecord> find_backup(catalog::Catalog& cat, const std::string& backup_id,
                                          const seal::KeySource& keys, const StopToken& stop = {});

}  // namespace stacksnap::repo

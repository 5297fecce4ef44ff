// The last steps of a backup: its verified archive stored on every requested target
// (blob, then the sidecar: the commit point on storage) and recorded in the catalog.
#pragma once

#include <string>
#include <vector>

#include "backup/spool.h"
#include "catalog/catalog.h"
#include "job/context.h"
#include "repo/snapshot.h"
#include "seal/key.h"

namespace stacksnap::backup {

// A requested target that could not store the backup.
struct TargetFailure {
  std::string target;
  Code code = Code::kUnavailable;
  std::string message;
};

struct Promotion {
  std::vector<catalog::CopyRecord> copies;  // in the order of the targets
  std::vector<TargetFailure> failures;
};

// Stores the spool's archive on each of `targets` (their index is the Spool's follower
// index): the followed copy is named, others are uploaded from the spool (S3: one
// PutObject up to the multipart threshold, its SHA-256 signed); then its sidecar, which
// seals `rec` with `key`. A target that fails is reported and skipped; Cancelled stops
// the whole promotion (returned). Object names show `project` only on targets with
// readable names.
Result<Promotion> promote(const std::vector<catalog::TargetRecord>& targets, const std::string& project,
                          const catalog::BackupRecord& rec, Spool& spool, const seal::MasterKey& key,
                          job::Context& ctx);

// The copy's record once the target reports the blob's full size (else DataLoss, and the
// blob is removed).
// The catalog copy of a snapshot committed on `target` (key snapshots/<id>, SHA-256 the
// id, size the bytes this backup uploaded), said in the job log under `step`.
catalog::CopyRecord snapshot_copy(const std::string& target, const chunks::SnapshotInfo& snap,
                                  const repo::IngestStats& stats, job::Context& ctx, const std::string& step);

Result<catalog::CopyRecord> stored_copy(storage::Target& target, const std::string& key, uint64_t size,
                                        const std::string& sha256);

}  // namespace stacksnap::backup

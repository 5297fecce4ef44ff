// Operations on stored backups shared by routes, job runners and the command line:
// the safety backup of a restore, verifying every copy of a backup, deleting a backup (or one copy of it) from storage
// and the catalog, and applying retention policies.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "archive/verify.h"
#include "base/error.h"
#include "catalog/catalog.h"
#include "docker/client.h"
#include "job/context.h"
#include "restore/restore.h"
#include "seal/key.h"
#include "storage/target.h"

namespace stacksnap::app {

// Opens a target from its record (repo::open_target in production; fakes in tests).
using TargetOpener = std::function<Result<std::unique_ptr<storage::Target>>(const catalog::TargetRecord&)>;
TargetOpener default_target_opener();

// The safety backup a restore takes before it replaces a project: a backup (reason
// "safety") through the backup pipeline, sealed with the key `keys` can write with, in
// the restore's job (under its locks). What `stacksnap restore --force` and the server's
// restore job hand to restore::RestoreEnv.
restore::SafetyBackup safety_backup_by_pipeline(const std::string& data_dir, catalog::Catalog& cat,
                                                docker::Client& docker, const seal::KeySource& keys);

// The sidecar's key for a copy's blob key ("backups/x.stsnap" → "backups/x.json").
std::string sidecar_for_blob(const std::string& blob_key);

// `stacksnap verify ID` and the server's verify job: checks every copy of the backup,
// streamed from its target (deep with `keys`: authenticate, decompress and hash every
// entry; shallow without: size and SHA-256), one step "verify.<target>" per copy, each
// recorded on the copy (repo::check_copy), then the backup's verdict, the worst of its
// copies (repo::record_backup_verdict). A "verify_result" event lists the copies.
// Errors: DataLoss naming every damaged copy, even when another copy verified; when no
// copy could be checked, the last one's error; NotFound (no such backup, no copy);
// Cancelled; Unauthenticated (wrong key: nothing is recorded). A copy that could not be
// reached while another verified is a failed target, so the job ends partial.
struct CopyVerdict {
  std::string target, key, state, detail;  // state: catalog::copy_state_name
};
struct FailedTarget {
  std::string target, code, message;
};
struct VerifySummary {
  std::string backup_id;
  bool deep = false;
  std::vector<CopyVerdict> copies;
  std::vector<FailedTarget> failed_targets;
  // The first copy that verified, and what its check counted (files, entries,
  // content_bytes, sealed_bytes, key_fingerprint).
  std::string target;
  archive::VerifyReport report;

  // {backup_id, deep, copies: [{target, key, state, detail}], target, files, entries,
  // content_bytes, sealed_bytes, key_fingerprint, failed_targets: [{target, code, message}]}
  nlohmann::json to_json() const;
  nlohmann::json copies_json() const;  // [{target, key, state, detail}] (also the verify_result event's)
};
Result<VerifySummary> verify_stored_backup(catalog::Catalog& cat, const std::string& backup_id,
                                           const seal::KeySource* keys, job::Context& ctx);

// `stacksnap export ID --out FILE`: the backup as one self-contained v1 archive at
// `out_path` (which must not exist), whatever format its copy has: a copy is verified
// deeply as a restore would (repo::verify_backup: a repository snapshot is exported, an
// archive copied) and only a copy that verified becomes the file (fsynced, 0600).
// `extract`, `verify FILE` and `inspect` open it offline with the key.
struct ExportSummary {
  std::string backup_id, target, path;
  uint64_t bytes = 0, files = 0;
  nlohmann::json to_json() const;
};
Result<ExportSummary> export_backup(catalog::Catalog& cat, const std::string& backup_id, const seal::KeySource& keys,
                                    const std::string& out_path, const StopToken& stop);

// Removes the backup's copy on `target` ("*": every copy): sidecar first (the backup
// stops being listed), then the blob; then the copy record, and the backup record once
// no copy is left. A target that cannot be reached fails the call and keeps its copy.
Status delete_backup(catalog::Catalog& cat, const std::string& backup_id, const std::string& target,
                     const TargetOpener& open);

// Applies the project's stored retention policies. Returns {"pruned":[ids], "kept":n,
// "policies":n, "gc":{target: report}, "gc_pending":[targets]}. Failures to delete one
// backup are warned into ctx and skipped. Snapshots deleted on repository targets have
// their space freed after (app/repo_ops.h: collect_garbage_after_retention) with `keys`;
// without, those targets are listed in gc_pending for the caller to queue a collection
// (the server: a repo-gc job each, so a long collection never holds a backup job).
Result<nlohmann::json> apply_retention(catalog::Catalog& cat, const std::string& project, job::Context& ctx,
                                       const TargetOpener& open, const seal::KeySource* keys = nullptr);

// Dry run of a policy for (project, target): the decisions, newest first, as JSON.
Result<nlohmann::json> preview_retention(catalog::Catalog& cat, const std::string& project,
                                         const std::string& target, const nlohmann::json& policy);

}  // namespace stacksnap::app

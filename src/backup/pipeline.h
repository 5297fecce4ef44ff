// The backup job: one Compose project → one sealed, verified archive promoted to one or
// more targets, all-or-nothing. The steps, in the order run_backup takes them:
//
//   select the targets (a typo fails before anything is touched) → repair what a crashed
//   run left (paused containers, helper containers, spool files) → discover and plan →
//   check free space → open the spool (backup/spool.h: the deep verify and a local copy
//   follow the writer) → write the archive: plan.json, config files, pre-backup hooks,
//   dumps (exec, streamed), [Safe Mode pause] volumes and bind mounts (archive endpoint
//   through never-started helper containers) [resume], post-backup hooks, manifest →
//   take the verify's verdict → promote to every target (blob, then sidecar last:
//   backup/promote.h) → record in the catalog.
//
// On any failure or cancel: containers unpaused, post-hooks run, spool and unfinished
// copies removed, nothing recorded, the error returned. The job holds the project lock.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "backup/plan.h"
#include "backup/promote.h"
#include "catalog/catalog.h"
#include "docker/client.h"
#include "job/context.h"
#include "seal/key.h"

namespace stacksnap::backup {

struct BackupRequest {
  std::string project;
  std::vector<std::string> targets;  // target names; empty: every configured target
  BackupOptions options;
  std::string reason = "manual";     // manual | schedule | safety
};

struct BackupEnv {
  std::string data_dir;
  catalog::Catalog& cat;
  docker::Client& docker;
  const seal::MasterKey& key;
};

// New backup IDs: "20261125T201730Z-3fa2c1d0" (UTC time + 8 random hex digits).
std::string new_backup_id();

struct BackupSummary {
  std::string backup_id;
  std::string project;
  uint64_t stored_bytes = 0, plaintext_bytes = 0, content_bytes = 0, files = 0;
  int64_t duration_ms = 0, pause_ms = 0;
  std::vector<std::string> targets;           // where it is stored
  std::vector<TargetFailure> failed_targets;  // requested targets that failed (the job is "partial")
  // {backup_id, project, stored_bytes, plaintext_bytes, content_bytes, files, duration_ms,
  //  pause_ms, targets:[names], failed_targets:[{target, code, message}]}
  nlohmann::json to_json() const;
};

// Runs one backup inside job `job_id` (events through ctx); the job holds the project's
// lock (job/project_lock.h: job::run_job takes it). Succeeds when at least one target
// holds a verified copy (with failed_targets non-empty the job ends partial); fails
// (nothing recorded) when none does. Either way every target's outcome is recorded for
// the project (catalog::record_target_success / record_target_failure).
Result<BackupSummary> run_backup(const BackupEnv& env, const BackupRequest& req, job::Context& ctx, int64_t job_id);

}  // namespace stacksnap::backup

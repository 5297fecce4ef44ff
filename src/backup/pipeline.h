// The backup job: one Compose project → one sealed, verified archive promoted to one or
// more targets, all-or-nothing.
//
//   (project locked by the job) → repair stale pauses → discover → plan → free-space check →
//   spool <data>/spool/<id>.partial → ArchiveWriter: plan.json, pre-hooks, dumps
//   (exec, streamed), Safe Mode pause, volumes and binds (archive endpoint through
//   never-started helper containers), unpause, post-hooks, config files, manifest →
//   deep verify of the spool → promote to every target (blob, then sidecar last) →
//   catalog record → spool removed.
//
// On any failure or cancel: containers unpaused, post-hooks run, spool and partial
// uploads removed, nothing recorded, the error returned.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "backup/plan.h"
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

// Where backups and restores stage sealed archives: <data_dir>/spool.
std::string spool_dir(const std::string& data_dir);

// Runs one backup inside job `job_id` (events through ctx); the job holds the project's
// lock (job/project_lock.h: job::run_job takes it). Returns the summary fields:
// {backup_id, project, stored_bytes, plaintext_bytes, files, duration_ms, pause_ms,
//  targets:[names], failed_targets:[{target, code, message}]}.
// Succeeds when at least one target holds a verified copy (with failed_targets
// non-empty the job ends partial); fails (nothing recorded) when none does. Either way
// every target's outcome is recorded for the project (catalog::record_target_success /
// record_target_failure).
Result<nlohmann::json> run_backup(const BackupEnv& env, const BackupRequest& req, job::Context& ctx,
                                  int64_t job_id);

}  // namespace stacksnap::backup

// The parameters of each job kind, in one place for both front ends: a job is recorded
// with JSON params (what a POST body, a schedule or the CLI's flags became), and these
// turn them into the pipeline's typed request. The CLI builds params from its flags with
// the to_params functions and runs the same parser the server's runners run, so an
// option exists for both or for neither.
//
// Backup params: targets [names], safe_mode, include_db_volumes, hook_timeout_s
// (1..86400, default 60), reason (manual | schedule | safety).
// Restore params: as (copy under this project name; the API's older "project" key is read
// too), to (absolute working dir for the config files), force, no_safety_backup, no_ports, compose
// (v1 | v2), from (the target whose copy is restored; default: the first copy that
// verifies). Drill params: compose. Verify params: shallow. Rebuild params: target.
//
// Every parser fails with InvalidArgument naming the field that is wrong; unknown fields
// are refused too (a typo must not silently run a different job).
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "backup/pipeline.h"
#include "base/error.h"
#include "restore/drill.h"
#include "restore/restore.h"

namespace stacksnap::app {

using Json = nlohmann::json;

Result<backup::BackupRequest> backup_request(const std::string& project, const Json& params);
Json to_params(const backup::BackupRequest& r);

// `backup_project`: the project the backup was made of (an "as" equal to it is an
// in-place restore).
Result<restore::RestoreRequest> restore_request(const std::string& backup_id, const std::string& backup_project,
                                                const Json& params);
Json to_params(const restore::RestoreRequest& r);
// The project a restore works on (and locks): the copy's name, else the backup's project.
std::string restore_project(const restore::RestoreRequest& r, const std::string& backup_project);

Result<restore::DrillRequest> drill_request(const std::string& backup_id, const Json& params);
// `reason`: manual | schedule (recorded with the job; a drill does the same either way).
Json to_params(const restore::DrillRequest& r, std::string_view reason = "manual");

struct VerifyRequest {
  std::string backup_id;
  bool shallow = false;  // size and SHA-256 of each copy, without the key
};
Result<VerifyRequest> verify_request(const std::string& backup_id, const Json& params);
Json to_params(const VerifyRequest& r);

// Rebuild params: target (a target name, required). Returns the name.
Result<std::string> rebuild_request(const Json& params);

// Repository check ("repo-check") params: target (required), deep (bool), read_data
// (percent 0..100); garbage collection ("repo-gc"): target, dry_run. The CLI's `repo
// check|prune` flags are the same.
struct RepoCheckRequest {
  std::string target;
  bool deep = false;
  double read_data = 0;
};
Result<RepoCheckRequest> repo_check_request(const Json& params);
struct RepoGcRequest {
  std::string target;
  bool dry_run = false;
};
Result<RepoGcRequest> repo_gc_request(const Json& params);

}  // namespace stacksnap::app

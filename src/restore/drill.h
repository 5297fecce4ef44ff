// Restore drills: prove a backup restores, without touching anything live.
//
// A drill restores the backup as project "drill-<project>-<6 hex>" into a fresh
// directory under <data>/drills/, from a compose file rewritten by sandbox_compose (no
// published ports, no container_name, binds under the drill dir, `name:` and external
// volumes turned into the drill's own volumes, external networks detached). Then it
// checks: row counts of every dump against the manifest, every SQLite database captured
// with a snapshot (integrity_check, row counts: restore/sqlite_check.h), every volume read back through
// the Engine (file count, bytes and a digest over path, content SHA-256, mode, owner)
// against what the archive holds, file counts of bind mounts. Whatever the outcome, it
// tears everything down (compose down -v, leftover containers and volumes of the drill
// project by label, the directory) and records the result with the backup in the
// catalog (set_drill_result: "passed" | "failed", details).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "restore/restore.h"

namespace stacksnap::restore {

struct DrillRequest {
  std::string backup_id;
  ComposeChoice compose = ComposeChoice::kAuto;  // --compose v1|v2: else the flavour that created the project
};

// What a drill found. to_json: {backup_id, project (the original), drill_project, result:
// passed|failed, duration_ms, problems:[…], teardown:[…]} and, when the restore got as far
// as a summary, its databases, sqlite, volumes, binds, compose, info and warnings.
struct DrillSummary {
  std::string backup_id, project, drill_project;
  std::vector<std::string> problems;  // the restore's problems, then the failure's message
  Json teardown = Json::array();      // what remove_project did, and any leftover it could not remove
  std::optional<RestoreSummary> restored;
  int64_t duration_ms = 0;

  bool passed() const { return problems.empty(); }
  Json to_json() const;
};

// Runs the drill. A failed drill is an error (DataLoss for failed checks, else the failing
// step's code) after the "drill_result" event carried the summary and the catalog recorded
// it (set_drill_result).
Result<DrillSummary> run_drill(const RestoreEnv& env, const DrillRequest& req, job::Context& ctx, int64_t job_id);

// "drill-<project>-<6 hex>", at most 40 characters, a valid project name.
std::string drill_project_name(const std::string& project);

}  // namespace stacksnap::restore

// The job runners the appliance registers, by kind. Each turns a JobRequest into a call
// of a pipeline with the appliance's key, Docker client and catalog.
#include <sys/stat.h>
#include <unistd.h>

#include "app/appliance.h"
#include "archive/verify.h"
#include "backup/pipeline.h"
#include "restore/drill.h"
#include "restore/restore.h"
#include "base/scope.h"
#include "job/run.h"
#include "repo/rebuild.h"
#include "repo/repo.h"

namespace stacksnap::app {
namespace {

std::vector<std::string> string_list(const Json& params, const char* key) {
  std::vector<std::string> out;
  if (params.is_object() && params.contains(key) && params[key].is_array()) {
    for (const auto& v : params[key]) {
      if (v.is_string()) out.push_back(v.get<std::string>());
    }
  }
  return out;
}

bool flag(const Json& params, const char* key) {
  return params.is_object() && params.contains(key) && params[key].is_boolean() && params[key].get<bool>();
}

// {"compose": "v1"|"v2"} (absent: auto); InvalidArgument for anything else.
Result<restore::ComposeChoice> compose_param(const Json& params) {
  if (!params.is_object() || !params.contains("compose") || params["compose"].is_null()) {
    return restore::ComposeChoice::kAuto;
  }
  if (!params["compose"].is_string()) return invalid_argument("compose must be \"v1\" or \"v2\"");
  return restore::parse_compose_choice(params["compose"].get<std::string>());
}


}  // namespace

void Appliance::register_runners() {
  jobs.register_runner("backup", [this](const JobRequest& r, job::Context& ctx, int64_t id) -> Result<Json> {
    auto key = TRY(keys.key());
    auto* client = TRY(docker.get());
    backup::BackupRequest req{
        .project = r.project,
        .targets = string_list(r.params, "targets"),
        .options = {.safe_mode = flag(r.params, "safe_mode"), .include_db_volumes = flag(r.params, "include_db_volumes")},
        .reason = r.params.value("reason", std::string("manual"))};
    backup::BackupEnv env{options_.data_dir, cat, *client, *key};
    Json out = TRY(backup::run_backup(env, req, ctx, id)).to_json();
    if (req.reason == "schedule" && job::state_for(out) == catalog::JobState::kPartial) {
      // Not after a partial backup: the newest backups lack a copy on the failing target,
      // so pruning by count could delete the last copies it still holds.
      ctx.warn("retention not applied: the backup is not stored on every target", "retention");
    } else if (req.reason == "schedule") {
      // Retention after each successful scheduled backup, in the same job (the project
      // is still ours). A retention problem does not fail the backup.
      job::StepTimer step(ctx, "retention", "Apply retention policies");
      auto pruned = apply_retention(cat, r.project, ctx, options_.open_target);
      if (pruned.ok()) {
        out["pruned"] = (*pruned)["pruned"];
        step.end(true, std::to_string((*pruned)["pruned"].size()) + " deleted");
      } else {
        ctx.warn("retention not applied: " + pruned.error().message(), "retention");
        step.end(false, pruned.error().message());
      }
    }
    return out;
  });

  // Verify: every copy, streamed from its target (app::verify_stored_backup, also what
  // `stacksnap verify ID` runs); {"shallow": true}: size and SHA-256 only, no key.
  jobs.register_runner("verify", [this](const JobRequest& r, job::Context& ctx, int64_t) -> Result<Json> {
    if (flag(r.params, "shallow")) return verify_stored_backup(cat, r.backup_id, nullptr, ctx);
    auto key = TRY(keys.key());
    auto keysrc = seal::KeySource::from_key(TRY(key->clone()));
    return verify_stored_backup(cat, r.backup_id, &keysrc, ctx);
  });

  jobs.register_runner("prune", [this](const JobRequest& r, job::Context& ctx, int64_t) -> Result<Json> {
    job::StepTimer step(ctx, "retention", "Apply retention policies");
    auto out = apply_retention(cat, r.project, ctx, options_.open_target);
    step.end_with(out, out.ok() ? std::to_string((*out)["pruned"].size()) + " deleted" : "");
    return out;
  });

  // Restore: {"project": NAME} restores beside the original under NAME; without it (or
  // with the original's name) the project is replaced, after a safety backup unless
  // {"no_safety_backup": true}; {"no_ports": true} with a new name publishes no host ports;
  // {"compose": "v1"|"v2"} drives that Compose (default: the one that created the project).
  // The dashboard asks for a typed confirmation first.
  jobs.register_runner("restore", [this](const JobRequest& r, job::Context& ctx, int64_t id) -> Result<Json> {
    auto key = TRY(keys.key());
    auto* client = TRY(docker.get());
    auto keysrc = seal::KeySource::from_key(TRY(key->clone()));
    auto b = TRY(repo::find_backup(cat, r.backup_id, keysrc, ctx.stop()));
    std::string as = r.params.value("project", std::string());
    restore::RestoreRequest req;
    req.backup_id = r.backup_id;
    req.compose = TRY(compose_param(r.params));
    if (!as.empty() && as != b.project) {
      req.as_name = as;
      req.no_ports = flag(r.params, "no_ports");
    } else {
      req.force = true;
      req.no_safety_backup = flag(r.params, "no_safety_backup");
    }
    return restore::run_restore({options_.data_dir, cat, *client, keysrc}, req, ctx, id);
  });
  jobs.register_runner("drill", [this](const JobRequest& r, job::Context& ctx, int64_t id) -> Result<Json> {
    auto key = TRY(keys.key());
    auto* client = TRY(docker.get());
    auto keysrc = seal::KeySource::from_key(TRY(key->clone()));
    restore::DrillRequest req{.backup_id = r.backup_id,
                              .compose = TRY(compose_param(r.params))};
    return restore::run_drill({options_.data_dir, cat, *client, keysrc}, req, ctx, id);
  });
}

}  // namespace stacksnap::app

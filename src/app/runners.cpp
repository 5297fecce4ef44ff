// The job runners the appliance registers, by kind. Each turns a JobRequest into a call
// of a pipeline with the appliance's key, Docker client and catalog.
#include <sys/stat.h>
#include <unistd.h>

#include "app/appliance.h"
#include "app/backup_ops.h"
#include "app/job_params.h"
#include "app/repo_ops.h"
#include "app/target_ops.h"
#include "archive/verify.h"
#include "backup/pipeline.h"
#include "restore/drill.h"
#include "restore/restore.h"
#include "base/scope.h"
#include "job/run.h"
#include "repo/rebuild.h"
#include "repo/repo.h"

namespace stacksnap::app {

std::optional<seal::KeySource> Appliance::retention_keys() {
  auto key = keys.key();
  if (!key.ok()) return std::nullopt;
  auto copy = (*key)->clone();
  if (!copy.ok()) return std::nullopt;
  return seal::KeySource::from_key(std::move(*copy));
}

// Retention deleted snapshots on these repository targets: a garbage collection job each
// (its exclusive lock waits for running backups; the job that applied retention does not).
void Appliance::queue_collections(const Json& retention, job::Context& ctx) {
  for (const auto& t : retention.value("gc_pending", Json::array())) {
    auto job = jobs.submit({.kind = "repo-gc", .params = Json{{"target", t}}});
    if (job.ok()) ctx.info("queued the garbage collection of " + t.get<std::string>() + " (frees the deleted snapshots' space)", "retention");
    else ctx.warn("could not queue the garbage collection of " + t.get<std::string>() + ": " + job.error().message(), "retention");
  }
}

void Appliance::register_runners() {
  jobs.register_runner("backup", [this](const JobRequest& r, job::Context& ctx, int64_t id) -> Result<Json> {
    auto key = TRY(keys.key());
    auto* client = TRY(docker.get());
    const backup::BackupRequest req = TRY(backup_request(r.project, r.params));
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
      if (pruned.ok()) queue_collections(*pruned, ctx);
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
    const VerifyRequest req = TRY(verify_request(r.backup_id, r.params));
    if (req.shallow) return TRY(verify_stored_backup(cat, r.backup_id, nullptr, ctx)).to_json();
    auto key = TRY(keys.key());
    auto keysrc = seal::KeySource::from_key(TRY(key->clone()));
    return TRY(verify_stored_backup(cat, r.backup_id, &keysrc, ctx)).to_json();
  });

  // Rebuild: the catalog from what a target holds (app::rebuild_catalog, also what
  // `stacksnap backups --target NAME` runs); params {"target": NAME}.
  // Repository targets: the check and the garbage collection (app/repo_ops.h, also `stacksnap
  // repo check|prune NAME`). A check that finds problems fails the job (DataLoss) with the
  // report in the log.
  jobs.register_runner("repo-check", [this](const JobRequest& r, job::Context& ctx, int64_t) -> Result<Json> {
    const RepoCheckRequest req = TRY(repo_check_request(r.params));
    auto keysrc = retention_keys();
    if (!keysrc) return failed_precondition("the key is not loaded");
    job::StepTimer step(ctx, "check", "Check the repository on " + req.target);
    auto rep = check_target_repository(
        cat, req.target, *keysrc,
        {.level = req.deep ? repo::CheckOptions::kDeep : repo::CheckOptions::kShallow, .read_data_percent = req.read_data},
        options_.open_target, ctx.stop());
    if (!rep.ok()) {
      step.end(false, rep.error().message());
      return std::move(rep).error();
    }
    Json out = rep->to_json();
    step.end(rep->ok(), rep->ok() ? "no problem" : std::to_string(out["problems"].size()) + " problem(s)");
    if (!rep->ok()) {
      for (const auto& p : out["problems"]) ctx.warn(p.dump(), "check");
      return data_loss("the repository on " + req.target + " has " + std::to_string(out["problems"].size()) + " problem(s)");
    }
    return out;
  });
  jobs.register_runner("repo-gc", [this](const JobRequest& r, job::Context& ctx, int64_t) -> Result<Json> {
    const RepoGcRequest req = TRY(repo_gc_request(r.params));
    auto keysrc = retention_keys();
    if (!keysrc) return failed_precondition("the key is not loaded");
    job::StepTimer step(ctx, "gc", "Free unused space on " + req.target);
    auto rep = collect_target_garbage(cat, req.target, *keysrc, {.dry_run = req.dry_run}, options_.open_target, ctx.stop());
    step.end_with(rep, rep.ok() ? human_bytes(rep->bytes_freed) + (req.dry_run ? " would be freed" : " freed") : "");
    return TRY(std::move(rep)).to_json();
  });

  jobs.register_runner("rebuild", [this](const JobRequest& r, job::Context& ctx, int64_t) -> Result<Json> {
    const std::string target = TRY(rebuild_request(r.params));
    auto key = TRY(keys.key());
    auto keysrc = seal::KeySource::from_key(TRY(key->clone()));
    auto out = TRY(rebuild_catalog(cat, target, options_.open_target, keysrc, &ctx, ctx.stop()));
    if (!out["added_backups"].empty() || !out["added_copies"].empty()) changed("backups");
    return out;
  });

  jobs.register_runner("prune", [this](const JobRequest& r, job::Context& ctx, int64_t) -> Result<Json> {
    job::StepTimer step(ctx, "retention", "Apply retention policies");
    auto out = apply_retention(cat, r.project, ctx, options_.open_target);
    if (out.ok()) queue_collections(*out, ctx);
    step.end_with(out, out.ok() ? std::to_string((*out)["pruned"].size()) + " deleted" : "");
    return out;
  });

  // Restore and drill: app/job_params.h names their parameters (the CLI's flags, the
  // API's body). The dashboard asks for a typed confirmation before it sends force.
  jobs.register_runner("restore", [this](const JobRequest& r, job::Context& ctx, int64_t id) -> Result<Json> {
    auto key = TRY(keys.key());
    auto* client = TRY(docker.get());
    auto keysrc = seal::KeySource::from_key(TRY(key->clone()));
    auto b = TRY(repo::find_backup(cat, r.backup_id, keysrc, ctx.stop()));
    const restore::RestoreRequest req = TRY(restore_request(r.backup_id, b.project, r.params));
    return TRY(restore::run_restore({options_.data_dir, cat, *client, keysrc,
                                     safety_backup_by_pipeline(options_.data_dir, cat, *client, keysrc)},
                                    req, ctx, id))
        .to_json();
  });
  jobs.register_runner("drill", [this](const JobRequest& r, job::Context& ctx, int64_t id) -> Result<Json> {
    auto key = TRY(keys.key());
    auto* client = TRY(docker.get());
    auto keysrc = seal::KeySource::from_key(TRY(key->clone()));
    const restore::DrillRequest req = TRY(drill_request(r.backup_id, r.params));
    return TRY(restore::run_drill({options_.data_dir, cat, *client, keysrc}, req, ctx, id)).to_json();
  });
}

}  // namespace stacksnap::app

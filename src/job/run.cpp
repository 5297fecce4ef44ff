#include "job/run.h"

#include <unistd.h>

#include <set>

#include "base/clock.h"
#include "catalog/catalog_admin.h"
#include "job/project_lock.h"

namespace stacksnap::job {

void CatalogSink::emit(Event e) {
  // Stored under the hub's seq, so the SSE id of a live event and of its replay agree
  // even when an earlier insert failed.
  if (e.seq > 0) {
    if (!catalog::append_event_seq(cat_, job_id_, e.seq, e.ts_ms, e.type, e.data).ok()) ++failures_;
    return;
  }
  auto r = cat_.append_event(job_id_, e.ts_ms, e.type, e.data);
  if (!r.ok()) ++failures_;
}

std::vector<std::string> projects_to_lock(const JobSpec& spec, const std::string& backup_project) {
  std::set<std::string> projects;
  if (!spec.project.empty()) projects.insert(spec.project);
  if (!backup_project.empty()) projects.insert(backup_project);
  return {projects.begin(), projects.end()};  // sorted: two jobs never take them in opposite orders
}

namespace {

Result<std::vector<ProjectLock>> take_locks(catalog::Catalog& cat, const JobSpec& spec, int64_t job_id) {
  std::vector<ProjectLock> held;
  if (spec.lock_dir.empty()) return held;
  std::string backup_project;
  if (!spec.backup_id.empty()) {
    auto b = cat.get_backup(spec.backup_id);
    if (b.ok()) backup_project = b->project;
  }
  for (const auto& p : projects_to_lock(spec, backup_project)) {
    held.push_back(TRY(ProjectLock::acquire(spec.lock_dir, p, spec.kind,
                                            "job " + std::to_string(job_id) + ", pid " + std::to_string(::getpid()))));
  }
  return held;
}

}  // namespace

JobOutcome run_job(catalog::Catalog& cat, const JobSpec& spec, EventSink& live, StopToken stop,
                   const JobBody& body, const std::function<void(int64_t)>& on_created) {
  JobOutcome out;
  int64_t now = unix_seconds(std::chrono::system_clock::now());
  auto id = cat.create_job({.kind = spec.kind, .project = spec.project, .backup_id = spec.backup_id,
                            .state = catalog::JobState::kRunning, .created_at = now, .params = spec.params});
  if (!id.ok()) {
    out.result = std::move(id).error().with_context("record job");
    return out;
  }
  (void)cat.start_job(*id, ::getpid(), now);
  if (on_created) on_created(*id);
  return run_recorded_job(cat, *id, spec, live, std::move(stop), body);
}

JobOutcome run_recorded_job(catalog::Catalog& cat, int64_t job_id, const JobSpec& spec, EventSink& live,
                            StopToken stop, const JobBody& body) {
  JobOutcome out;
  out.job_id = job_id;
  auto job = cat.get_job(job_id);
  if (!job.ok() || job->state != catalog::JobState::kRunning) {
    (void)cat.start_job(job_id, ::getpid(), unix_seconds(std::chrono::system_clock::now()));
  }

  CatalogSink persist(cat, job_id);
  EventHub hub;
  hub.add(&persist);
  hub.add(&live);
  Context ctx(hub, std::move(stop));

  double started = monotonic_seconds();
  auto locks = take_locks(cat, spec, job_id);
  Result<Json> r = locks.ok() ? body(ctx, job_id) : Result<Json>(locks.error());
  int64_t duration_ms = static_cast<int64_t>((monotonic_seconds() - started) * 1000);

  Json summary = Json::object();
  catalog::JobState state;
  std::string code, message;
  if (r.ok()) {
    state = catalog::JobState::kSucceeded;
    if (r->is_object()) summary = *r;
    summary["result"] = "succeeded";
  } else {
    state = r.error().code() == Code::kCancelled ? catalog::JobState::kCancelled : catalog::JobState::kFailed;
    code = std::string(code_name(r.error().code()));
    message = ctx.redact(r.error().message());
    ctx.error(r.error());
    summary["result"] = std::string(catalog::job_state_name(state));
    summary["code"] = code;
    summary["message"] = message;
  }
  summary["job_id"] = job_id;
  summary["kind"] = spec.kind;
  if (!spec.project.empty()) summary["project"] = spec.project;
  summary["duration_ms"] = duration_ms;
  ctx.summary(summary);
  (void)cat.finish_job(job_id, state, unix_seconds(std::chrono::system_clock::now()), code, message, summary);
  out.result = std::move(r);
  return out;
}

}  // namespace stacksnap::job

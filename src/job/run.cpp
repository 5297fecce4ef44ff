#include "job/run.h"

#include <unistd.h>

#include <mutex>
#include <set>
#include <thread>

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

catalog::JobState state_for(const Result<Json>& result) {
  if (!result.ok()) {
    return result.error().code() == Code::kCancelled ? catalog::JobState::kCancelled : catalog::JobState::kFailed;
  }
  const Json& s = *result;
  const bool partial = s.is_object() && s.contains("failed_targets") && s["failed_targets"].is_array() &&
                       !s["failed_targets"].empty();
  return partial ? catalog::JobState::kPartial : catalog::JobState::kSucceeded;
}

void apply_finish(const JobFinish& f, catalog::JobRecord& rec) {
  rec.state = f.state;
  rec.finished_at = f.at;
  rec.error_code = f.code;
  rec.error = f.message;
  rec.summary = f.summary;
}

Status record_finish(catalog::Catalog& cat, const JobFinish& f, const FinishRetry& retry) {
  Status st;
  auto delay = retry.delay;
  for (int i = 0; i < std::max(1, retry.attempts); ++i) {
    if (i > 0) {
      if (retry.sleep) retry.sleep(delay);
      else std::this_thread::sleep_for(delay);
      delay *= 2;
    }
    st = cat.finish_job(f.job_id, f.state, f.at, f.code, f.message, f.summary);
    if (st.ok()) return st;
  }
  return std::move(st).error().with_context("record the end of job " + std::to_string(f.job_id) + " (" +
                                            std::string(catalog::job_state_name(f.state)) + ")");
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

// The findings keys of a summary (docs/API.md, Jobs): arrays of strings.
constexpr const char* kFindingKeys[] = {"problems", "warnings", "info"};

// Keeps the last findings any event carried (e.g. a failed drill's drill_result), for a
// summary whose body did not give its own (a failed body gives none).
class FindingsTap final : public EventSink {
 public:
  void emit(Event e) override {
    if (e.type == "summary" || !e.data.is_object()) return;
    std::lock_guard lk(mu_);
    for (const char* k : kFindingKeys) {
      if (e.data.contains(k) && e.data[k].is_array()) last_[k] = e.data[k];
    }
  }
  void fill(Json& summary) const {
    std::lock_guard lk(mu_);
    for (auto it = last_.begin(); it != last_.end(); ++it) {
      if (!summary.contains(it.key())) summary[it.key()] = it.value();
    }
  }

 private:
  mutable std::mutex mu_;
  Json last_ = Json::object();
};

// "failed on offsite: …; failed on nas: …" from failed_targets.
std::string partial_message(const Json& failed) {
  std::string out;
  for (const auto& f : failed) {
    out += (out.empty() ? "" : "; ") + std::string("failed on ") + f.value("target", "?") + ": " + f.value("message", "");
  }
  return out;
}

}  // namespace

JobOutcome run_job(catalog::Catalog& cat, const JobSpec& spec, EventSink& live, StopToken stop,
                   const JobBody& body, const std::function<void(int64_t)>& on_created, const FinishRetry& retry) {
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
  return run_recorded_job(cat, *id, spec, live, std::move(stop), body, retry);
}

JobOutcome run_recorded_job(catalog::Catalog& cat, int64_t job_id, const JobSpec& spec, EventSink& live,
                            StopToken stop, const JobBody& body, const FinishRetry& retry) {
  JobOutcome out;
  out.job_id = job_id;
  auto job = cat.get_job(job_id);
  if (!job.ok() || job->state != catalog::JobState::kRunning) {
    (void)cat.start_job(job_id, ::getpid(), unix_seconds(std::chrono::system_clock::now()));
  }

  CatalogSink persist(cat, job_id);
  FindingsTap findings;
  EventHub hub;
  hub.add(&findings);
  hub.add(&persist);
  hub.add(&live);
  Context ctx(hub, std::move(stop));

  double started = monotonic_seconds();
  auto locks = take_locks(cat, spec, job_id);
  Result<Json> r = locks.ok() ? body(ctx, job_id) : Result<Json>(locks.error());
  int64_t duration_ms = static_cast<int64_t>((monotonic_seconds() - started) * 1000);

  Json summary = Json::object();
  const catalog::JobState state = state_for(r);
  std::string code, message;
  if (r.ok()) {
    if (r->is_object()) summary = *r;
    if (state == catalog::JobState::kPartial) {
      const Json& failed = summary["failed_targets"];
      code = failed[0].value("code", std::string(code_name(Code::kUnavailable)));
      message = ctx.redact(partial_message(failed));
      summary["code"] = code;
      summary["message"] = message;
    }
  } else {
    code = std::string(code_name(r.error().code()));
    message = ctx.redact(r.error().message());
    ctx.error(r.error());
    summary["code"] = code;
    summary["message"] = message;
  }
  findings.fill(summary);
  summary["result"] = std::string(catalog::job_state_name(state));
  summary["job_id"] = job_id;
  summary["kind"] = spec.kind;
  if (!spec.project.empty()) summary["project"] = spec.project;
  summary["duration_ms"] = duration_ms;
  ctx.summary(summary);
  out.finish = {.job_id = job_id, .state = state, .at = unix_seconds(std::chrono::system_clock::now()),
                .code = code, .message = message, .summary = summary};
  out.recorded = record_finish(cat, out.finish, retry);
  out.result = std::move(r);
  return out;
}

}  // namespace stacksnap::job

#include "job/run.h"

#include <unistd.h>

#include "base/clock.h"

namespace stacksnap::job {

void CatalogSink::emit(Event e) {
  auto r = cat_.append_event(job_id_, e.ts_ms, e.type, e.data);
  if (!r.ok()) ++failures_;
}

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
  out.job_id = *id;
  (void)cat.start_job(*id, ::getpid(), now);
  if (on_created) on_created(*id);

  CatalogSink persist(cat, *id);
  EventHub hub;
  hub.add(&persist);
  hub.add(&live);
  Context ctx(hub, std::move(stop));

  double started = monotonic_seconds();
  Result<Json> r = body(ctx, *id);
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
  summary["job_id"] = *id;
  summary["kind"] = spec.kind;
  if (!spec.project.empty()) summary["project"] = spec.project;
  summary["duration_ms"] = duration_ms;
  ctx.summary(summary);
  (void)cat.finish_job(*id, state, unix_seconds(std::chrono::system_clock::now()), code, message, summary);
  out.result = std::move(r);
  return out;
}

}  // namespace stacksnap::job

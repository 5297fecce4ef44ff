// Running one recorded job: a row in the jobs table, every event persisted with its
// seq, forwarded to a live sink (terminal, --json, SSE), and a final summary event.
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "base/error.h"
#include "catalog/catalog.h"
#include "job/context.h"
#include "job/events.h"

namespace stacksnap::job {

struct JobSpec {
  std::string kind;     // backup | restore | verify | drill | prune
  std::string project;
  std::string backup_id;
  Json params = Json::object();  // the kind's parameters (app/job_params.h)
  // The data dir whose locks/ hold the per-project locks; "" takes none (unit tests).
  // The job manager sets its own (a submitted spec's is ignored).
  std::string lock_dir;
};

// The projects a job has to itself while it runs: its own project and, for a job that
// reads a backup (restore, drill, verify), the backup's project, so that a prune cannot
// delete the backup meanwhile. A restore's safety backup runs inside the restore's job,
// under its locks.
std::vector<std::string> projects_to_lock(const JobSpec& spec, const std::string& backup_project);

// Persists events into the catalog (job_events). Errors writing events are counted,
// not raised: a full state disk must not abort a restore halfway.
class CatalogSink final : public EventSink {
 public:
  CatalogSink(catalog::Catalog& cat, int64_t job_id) : cat_(cat), job_id_(job_id) {}
  void emit(Event e) override;
  int failures() const { return failures_; }

 private:
  catalog::Catalog& cat_;
  int64_t job_id_;
  int failures_ = 0;
};

using JobBody = std::function<Result<Json>(Context& ctx, int64_t job_id)>;

// The state a body's result gives its job: succeeded, or partial when the summary
// lists `failed_targets` ([{target, code, message}]: the work was done, but not on
// every target it was asked for); cancelled for Cancelled; else failed.
catalog::JobState state_for(const Result<Json>& result);

// How a job's end is written to the catalog, as recorded by finish_job.
struct JobFinish {
  int64_t job_id = 0;
  catalog::JobState state = catalog::JobState::kFailed;
  int64_t at = 0;
  std::string code;     // error code name; for partial, that of the first failed target
  std::string message;  // the error; for partial, "failed on T: …" per failed target
  Json summary;         // as in the summary event
};

// finish_job is retried: `attempts` tries, waiting `delay`, then twice as long, … in
// between (a busy or briefly failing state disk). `sleep` is replaceable in tests.
struct FinishRetry {
  int attempts = 5;
  std::chrono::milliseconds delay{100};
  std::function<void(std::chrono::milliseconds)> sleep;  // empty: std::this_thread::sleep_for
};

// `rec` as it reads once `f` is written.
void apply_finish(const JobFinish& f, catalog::JobRecord& rec);

// Writes `f` with retries. Returns the last error when every attempt failed.
Status record_finish(catalog::Catalog& cat, const JobFinish& f, const FinishRetry& retry = {});

struct JobOutcome {
  int64_t job_id = 0;
  Result<Json> result = Json();  // the body's summary fields, or its error
  JobFinish finish;              // the end as recorded (or to be recorded)
  // Not ok when the end could not be written (after the retries): the job still reads
  // "running" in the catalog. The caller says so and either retries record_finish(finish)
  // (the server's job manager does, periodically) or leaves it to the next start-up
  // repair, which finishes it from its stored summary event (mark_interrupted_jobs).
  Status recorded;
};

// Creates the job (state running, this pid), takes its project locks (projects_to_lock
// under spec.lock_dir; held by another job: the job fails at once with FailedPrecondition
// "a backup of shop is already running", it never waits), runs `body`, and finishes it:
// the summary event {"result": succeeded|partial|failed|cancelled, "job_id", …body
// fields | "code","message"} is always the last event, stored before the job row is
// finished. Findings ("problems", "warnings", "info": arrays of strings) the body's
// summary does not have are taken from the last event that carried them, so a failed
// job (a drill whose checks failed) still shows them.
// `live` receives every event after it is persisted.
// `on_created` (optional) is called with the job id before the body runs.
JobOutcome run_job(catalog::Catalog& cat, const JobSpec& spec, EventSink& live, StopToken stop,
                   const JobBody& body, const std::function<void(int64_t)>& on_created = {},
                   const FinishRetry& retry = {});

// As run_job for a job already recorded (state queued, e.g. by the server's job
// manager): marks it running with this pid, runs `body`, finishes it.
JobOutcome run_recorded_job(catalog::Catalog& cat, int64_t job_id, const JobSpec& spec, EventSink& live,
                            StopToken stop, const JobBody& body, const FinishRetry& retry = {});

}  // namespace stacksnap::job

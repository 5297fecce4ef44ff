// Running one recorded job: a row in the jobs table, every event persisted with its
// seq, forwarded to a live sink (terminal, --json, SSE), and a final summary event.
#pragma once

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
  Json params;
  // The data dir whose locks/ hold the per-project locks; "" takes none (unit tests).
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

struct JobOutcome {
  int64_t job_id = 0;
  Result<Json> result = Json();  // the body's summary fields, or its error
};

// Creates the job (state running, this pid), takes its project locks (projects_to_lock
// under spec.lock_dir; held by another job: the job fails at once with FailedPrecondition
// "a backup of shop is already running", it never waits), runs `body`, and finishes it:
// the summary event {"result": succeeded|failed|cancelled, "job_id", …body fields |
// "code","message"} is always the last event. `live` receives every event after it is persisted.
// `on_created` (optional) is called with the job id before the body runs.
JobOutcome run_job(catalog::Catalog& cat, const JobSpec& spec, EventSink& live, StopToken stop,
                   const JobBody& body, const std::function<void(int64_t)>& on_created = {});

// As run_job for a job already recorded (state queued, e.g. by the server's job
// manager): marks it running with this pid, runs `body`, finishes it.
JobOutcome run_recorded_job(catalog::Catalog& cat, int64_t job_id, const JobSpec& spec, EventSink& live,
                            StopToken stop, const JobBody& body);

}  // namespace stacksnap::job

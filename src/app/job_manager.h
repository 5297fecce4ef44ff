// The server's job manager: runs backups, restores, verifies, drills and prunes in the
// background on a small thread pool.
//
//  - One job per project at a time (queued or running): a second submit answers
//    FailedPrecondition "a backup of shop is already running (job 12)". Across processes
//    the per-project locks every job takes (job/project_lock.h) apply as well.
//  - At most max_concurrent jobs run at once (settings: max_concurrent_jobs); the rest
//    wait in state "queued" in submission order.
//  - Cancel: a queued job is finished as cancelled at once; a running one gets its
//    StopToken requested (the pipeline stops at its next check).
//  - Events: persisted by run_recorded_job, then published through a job::Publisher (the
//    server's SSE hub: "job:<id>"); dashboard events job_queued/job_started/job_finished/
//    backup_added.
//  - Work is done by runners registered per kind (register_runner); kinds without a
//    runner are refused with Unimplemented.
//  - A job whose end could not be written to the catalog (job::JobOutcome::recorded) is
//    warned about and its end is written again every finish_retry_period until it is
//    (and once more at stop()); observers see the end as it is to be recorded.
//
// Thread-safety: register_runner/add_observer before start(); everything else from any
// thread.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "base/cancel.h"
#include "base/error.h"
#include "catalog/catalog.h"
#include "job/publisher.h"
#include "job/context.h"
#include "job/run.h"

namespace stacksnap::app {

using Json = nlohmann::json;

// What is asked of a job: the one type the CLI runs (job::run_job) and the server queues.
// `project` is the lock key; it may be empty (no per-project exclusion).
using JobRequest = job::JobSpec;

// Does the work of one job kind. Runs on a job thread; reports through ctx; returns the
// summary fields (or the error that fails the job).
using JobRunner = std::function<Result<Json>(const JobRequest& req, job::Context& ctx, int64_t job_id)>;

// What the scheduler needs from the job manager (a seam for its unit tests).
class JobSubmitter {
 public:
  virtual ~JobSubmitter() = default;
  virtual Result<catalog::JobRecord> submit(const JobRequest& req) = 0;
  // True while the project has a queued or running job.
  virtual bool busy(const std::string& project) const = 0;
};

struct JobManagerOptions {
  int threads = 8;         // upper bound for max_concurrent
  int max_concurrent = 2;  // jobs running at once
  std::string lock_dir;    // the data dir whose per-project locks jobs take ("": none)
  std::chrono::milliseconds finish_retry_period{30'000};
  job::FinishRetry finish_retry;                  // the retries inside one job's end
  std::function<void(const std::string&)> warn;   // empty: nothing
};

class JobManager final : public JobSubmitter {
 public:
  // Called on the job's thread after it was started / finished (record as stored).
  struct Observer {
    std::function<void(const catalog::JobRecord&)> started;
    std::function<void(const catalog::JobRecord&)> finished;
  };

  JobManager(catalog::Catalog& cat, job::Publisher& publisher, JobManagerOptions options = {});
  ~JobManager() override;  // stop()
  JobManager(const JobManager&) = delete;
  JobManager& operator=(const JobManager&) = delete;

  void register_runner(const std::string& kind, JobRunner runner);
  bool has_runner(const std::string& kind) const;
  void add_observer(Observer o);

  void start();
  // Cancels queued jobs, requests stop of running ones, waits for them; idempotent.
  void stop();

  // Records the job (queued) and schedules it. Unimplemented (no runner for the kind),
  // FailedPrecondition (the project has a job, or the manager is stopping).
  Result<catalog::JobRecord> submit(const JobRequest& req) override;
  bool busy(const std::string& project) const override;
  // The record after the request: NotFound, FailedPrecondition when already finished.
  Result<catalog::JobRecord> cancel(int64_t job_id);

  void set_max_concurrent(int n);
  int max_concurrent() const;

  struct Active {
    int64_t id = 0;
    std::string kind;
    bool running = false;
  };
  // The queued or running job of a project.
  std::optional<Active> active_for(const std::string& project) const;
  size_t running_count() const;
  size_t queued_count() const;
  // Jobs whose end is not written yet (see above).
  size_t unrecorded_count() const;

 private:
  struct Entry {
    int64_t id = 0;
    JobRequest req;
    StopSource stop;
    bool running = false;
  };
  void worker();
  void run_entry(const std::shared_ptr<Entry>& e);
  void finish_unstarted(const std::shared_ptr<Entry>& e, const std::string& message);
  // Writes the ends kept in unrecorded_ once more; keeps those that fail again.
  void record_unrecorded();

  catalog::Catalog& cat_;
  job::Publisher& publisher_;
  JobManagerOptions options_;
  std::map<std::string, JobRunner> runners_;
  std::vector<Observer> observers_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::shared_ptr<Entry>> queue_;
  std::map<int64_t, std::shared_ptr<Entry>> active_;      // queued + running, by id
  std::map<std::string, std::shared_ptr<Entry>> by_project_;
  int max_concurrent_;
  int running_ = 0;
  std::vector<job::JobFinish> unrecorded_;
  bool started_ = false;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace stacksnap::app

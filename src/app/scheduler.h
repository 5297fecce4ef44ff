// Scheduled backups and drills, from the schedules table.
//
// Per enabled schedule, each tick():
//  - next_run == 0 (new or edited schedule): next_run = first cron slot after now (+ jitter);
//    nothing runs now.
//  - now >= next_run: one backup job (params.reason = "schedule"); then last_run = now and
//    next_run = first slot after *now* (+ jitter). After downtime this gives exactly one
//    catch-up run, however many slots were missed.
//  - drill_cron set: the first drill slot after last_drill (last_drill = now when 0, so a
//    new drill schedule does not fire at once); when due, a drill job of the project's
//    newest backup, and last_drill = now.
//  - a project that already has a job: nothing is advanced; the run happens at a later
//    tick once the project is free (a scheduled run is delayed, never lost).
//  - a submit refused for another reason (no runner): the slot is skipped, warn() says why.
// Retention after a successful scheduled backup is the backup runner's business (it
// sees reason "schedule"); see app/runners.h.
//
// Thread-safety: tick() from one thread at a time (start() runs it on its own thread).
#pragma once

#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "app/job_manager.h"
#include "base/clock.h"
#include "catalog/catalog.h"
#include "catalog/catalog_admin.h"

namespace stacksnap::app {

// Random delay in [0, max_s] seconds.
using JitterFn = std::function<int64_t(int64_t max_s)>;
int64_t random_jitter(int64_t max_s);

inline constexpr int64_t kMaxJitterSeconds = 3600;

// The first slot of `cron` in `tz` strictly after `after` (unix seconds), plus jitter.
// InvalidArgument for a bad expression or zone; FailedPrecondition when no slot comes
// in the next five years.
Result<int64_t> next_slot(const std::string& cron, const std::string& tz, int64_t after);

struct Fired {
  std::string project;
  std::string kind;  // backup | drill
  int64_t job_id = 0;
  std::string backup_id;  // drills
};

class Scheduler {
 public:
  Scheduler(catalog::Catalog& cat, const Clock& clock, JobSubmitter& jobs, JitterFn jitter = random_jitter,
            std::function<void(const std::string&)> warn = {});
  ~Scheduler();  // stop()

  // One pass over every schedule (see above). Returns the jobs submitted.
  std::vector<Fired> tick();

  // Runs tick() on a thread: when the earliest due schedule is due (so a slot fires on
  // time, not up to a period late), at least every `period`, and at once on wake().
  void start(std::chrono::milliseconds period = std::chrono::seconds(15));
  void wake();
  void stop();

 private:
  // Returns when this schedule is next due (unix seconds; 0: nothing pending).
  int64_t tick_one(catalog::ScheduleRecord s, int64_t now, std::vector<Fired>& fired);

  catalog::Catalog& cat_;
  const Clock& clock_;
  JobSubmitter& jobs_;
  JitterFn jitter_;
  std::function<void(const std::string&)> warn_;

  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  bool woken_ = false;
  int64_t next_due_ = 0;  // earliest due time seen by the last tick() (0: none); under mu_
  std::thread thread_;
};

}  // namespace stacksnap::app

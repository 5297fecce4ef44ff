#include "app/scheduler.h"

#include <algorithm>
#include <random>

#include "app/job_params.h"
#include "schedule/cron.h"

namespace stacksnap::app {

int64_t random_jitter(int64_t max_s) {
  if (max_s <= 0) return 0;
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  return std::uniform_int_distribution<int64_t>(0, max_s)(rng);
}

Result<int64_t> next_slot(const std::string& cron, const std::string& tz, int64_t after) {
  auto expr = TRY(schedule::CronExpr::parse(cron));
  TRY(schedule::check_zone(tz));
  auto next = expr.next_after(SystemTime(std::chrono::seconds(after)), tz);
  if (!next) return failed_precondition("the cron expression '" + cron + "' never matches in the next five years");
  return unix_seconds(*next);
}

Scheduler::Scheduler(catalog::Catalog& cat, const Clock& clock, JobSubmitter& jobs, JitterFn jitter,
                     std::function<void(const std::string&)> warn)
    : cat_(cat), clock_(clock), jobs_(jobs), jitter_(std::move(jitter)), warn_(std::move(warn)) {
  if (!jitter_) jitter_ = [](int64_t) { return int64_t{0}; };
  if (!warn_) warn_ = [](const std::string&) {};
}

Scheduler::~Scheduler() { stop(); }

std::vector<Fired> Scheduler::tick() {
  std::vector<Fired> fired;
  auto schedules = catalog::list_schedules(cat_);
  if (!schedules.ok()) {
    warn_("scheduler: cannot read schedules: " + schedules.error().message());
    return fired;
  }
  int64_t now = unix_seconds(clock_.now());
  int64_t earliest = 0;
  for (auto& s : *schedules) {
    if (!s.enabled) continue;
    int64_t due = tick_one(std::move(s), now, fired);
    if (due > 0 && (earliest == 0 || due < earliest)) earliest = due;
  }
  {
    std::lock_guard lk(mu_);
    next_due_ = earliest;
  }
  return fired;
}

int64_t Scheduler::tick_one(catalog::ScheduleRecord s, int64_t now, std::vector<Fired>& fired) {
  const int64_t jitter_max = std::clamp<int64_t>(s.jitter_s, 0, kMaxJitterSeconds);
  bool changed = false;

  if (s.next_run == 0) {
    auto next = next_slot(s.cron, s.timezone, now);
    if (!next.ok()) {
      warn_("schedule of " + s.project + ": " + next.error().message());
      return 0;
    }
    s.next_run = *next + jitter_(jitter_max);
    changed = true;
  } else if (now >= s.next_run && !jobs_.busy(s.project)) {
    const backup::BackupRequest req{
        .project = s.project, .targets = s.targets, .options = {.safe_mode = s.safe_mode}, .reason = "schedule"};
    auto job = jobs_.submit({.kind = "backup", .project = s.project, .params = to_params(req)});
    if (job.ok()) {
      fired.push_back({.project = s.project, .kind = "backup", .job_id = job->id});
    } else {
      warn_("scheduled backup of " + s.project + " not started: " + job.error().message());
    }
    s.last_run = now;
    auto next = next_slot(s.cron, s.timezone, now);
    s.next_run = next.ok() ? *next + jitter_(jitter_max) : 0;
    changed = true;
  }

  int64_t due_next = s.next_run;
  auto sooner = [&](int64_t t) {
    if (t > 0 && (due_next == 0 || t < due_next)) due_next = t;
  };
  if (!s.drill_cron.empty()) {
    if (s.last_drill == 0) {
      s.last_drill = now;
      changed = true;
    } else {
      auto due = next_slot(s.drill_cron, s.timezone, s.last_drill);
      if (!due.ok()) {
        warn_("drill schedule of " + s.project + ": " + due.error().message());
      } else if (now < *due) {
        sooner(*due);
      } else if (jobs_.busy(s.project)) {
        // Due, but the project has a job: looked at again every period.
      } else {
        auto newest = cat_.list_backups({.project = s.project, .limit = 1});
        if (newest.ok() && !newest->empty()) {
          const std::string& id = newest->front().id;
          auto job = jobs_.submit({.kind = "drill", .project = s.project, .backup_id = id,
                                   .params = to_params(restore::DrillRequest{.backup_id = id}, "schedule")});
          if (job.ok()) {
            fired.push_back({.project = s.project, .kind = "drill", .job_id = job->id, .backup_id = id});
          } else {
            warn_("scheduled drill of " + s.project + " not started: " + job.error().message());
          }
        } else {
          warn_("scheduled drill of " + s.project + " skipped: the project has no backup yet");
        }
        s.last_drill = now;
        changed = true;
      }
    }
  }

  if (changed) {
    auto st = catalog::set_schedule_times(cat_, s.project, s.last_run, s.next_run, s.last_drill);
    if (!st.ok()) warn_("schedule of " + s.project + ": " + st.error().message());
  }
  return due_next;
}

void Scheduler::start(std::chrono::milliseconds period) {
  std::lock_guard guard(mu_);
  if (thread_.joinable()) return;
  stopping_ = false;
  thread_ = std::thread([this, period] {
    std::unique_lock lk(mu_);
    while (!stopping_) {
      lk.unlock();
      tick();
      lk.lock();
      // Sleep until the earliest due slot (a little after, so that now >= next_run), at
      // most `period`; a slot that is due but blocked by a running job is retried each period.
      auto wait = period;
      const int64_t now = unix_seconds(clock_.now());
      if (next_due_ > now) {
        wait = std::min<std::chrono::milliseconds>(period, std::chrono::seconds(next_due_ - now) + std::chrono::milliseconds(200));
      }
      cv_.wait_for(lk, wait, [&] { return stopping_ || woken_; });
      woken_ = false;
    }
  });
}

void Scheduler::wake() {
  {
    std::lock_guard lk(mu_);
    woken_ = true;
  }
  cv_.notify_all();
}

void Scheduler::stop() {
  {
    std::lock_guard lk(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

}  // namespace stacksnap::app

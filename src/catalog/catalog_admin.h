// Appliance tables of the state database (schema v2): schedules, retention policies,
// notifications, plus job/event helpers the server needs. Free functions over a
// Catalog so the core Catalog class stays small.
//
// Thread-safety: as Catalog (serialized SQLite connection).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "catalog/catalog.h"

namespace stacksnap::catalog {

struct ScheduleRecord {
  std::string project;
  std::string cron;
  std::string timezone = "UTC";
  int64_t jitter_s = 0;
  bool enabled = true;
  bool safe_mode = false;
  std::vector<std::string> targets;  // empty: every target
  std::string drill_cron;            // "" = no scheduled drills
  int64_t last_run = 0;              // unix seconds of the last scheduled backup submitted
  int64_t last_drill = 0;            // cursor for drills: the next drill is the first slot after it
  int64_t next_run = 0;              // 0: not computed yet
};

Result<std::vector<ScheduleRecord>> list_schedules(Catalog& cat);
Result<std::optional<ScheduleRecord>> get_schedule(Catalog& cat, const std::string& project);
Status put_schedule(Catalog& cat, const ScheduleRecord& s);  // insert or replace
Status remove_schedule(Catalog& cat, const std::string& project);  // NotFound
Status set_schedule_times(Catalog& cat, const std::string& project, int64_t last_run, int64_t next_run,
                          int64_t last_drill);

struct RetentionRecord {
  std::string project;
  std::string target = "*";  // "*": every target
  Json policy;               // retention::Policy::to_json()
};
Result<std::vector<RetentionRecord>> list_retention(Catalog& cat, const std::string& project = {});
Status put_retention(Catalog& cat, const RetentionRecord& r);
Status remove_retention(Catalog& cat, const std::string& project, const std::string& target);  // NotFound

struct NotificationRecord {
  int64_t id = 0;
  std::string name;
  std::string kind;  // webhook | ntfy | healthchecks
  std::string url;
  bool on_success = false;
  bool on_failure = true;
  bool enabled = true;
  int64_t created_at = 0;
};
Result<std::vector<NotificationRecord>> list_notifications(Catalog& cat);
Result<NotificationRecord> get_notification(Catalog& cat, int64_t id);  // NotFound
Result<int64_t> add_notification(Catalog& cat, const NotificationRecord& n);
Status update_notification(Catalog& cat, const NotificationRecord& n);  // NotFound
Status remove_notification(Catalog& cat, int64_t id);                   // NotFound

// Jobs: the pid of a queued job (so another process's crash repair leaves it alone),
// filtered lists, counts for metrics.
Status set_job_pid(Catalog& cat, int64_t job_id, int64_t pid);
struct JobFilter {
  std::string project, kind, state;
  int limit = 100;
};
Result<std::vector<JobRecord>> find_jobs(Catalog& cat, const JobFilter& f);
// {(kind, state) → count}
Result<std::map<std::pair<std::string, std::string>, int64_t>> job_counts(Catalog& cat);

// Stores an event under the seq the job's EventHub assigned (the SSE id), so stored and
// live ids always agree. AlreadyExists when that seq is taken.
Status append_event_seq(Catalog& cat, int64_t job_id, int64_t seq, int64_t ts_ms, const std::string& type,
                        const Json& data);

// How many backups have a copy on each target.
Result<std::map<std::string, int64_t>> copies_per_target(Catalog& cat);
// Forgets every copy on `target` (the target is being removed); records left without a
// copy are removed too, and so is the target's health. Returns how many copies were
// forgotten.
Result<int64_t> forget_copies_on(Catalog& cat, const std::string& target);

// Where a project's backups are stored and where storing them fails (schema v3): one
// row per (project, target), written by the backup's promote step for every target it
// was asked to store on.
struct TargetHealth {
  std::string project;
  std::string target;
  int64_t last_success_at = 0;  // the last backup of the project stored there; 0: never
  int64_t last_failure_at = 0;  // the last failed attempt; 0: never
  int64_t failing_since = 0;    // first failure since the last success; 0: not failing
  std::string last_error;       // the last failure's message
};
// A success clears the failure (failing_since = 0); a failure keeps an earlier
// failing_since.
Status record_target_success(Catalog& cat, const std::string& project, const std::string& target, int64_t at);
Status record_target_failure(Catalog& cat, const std::string& project, const std::string& target, int64_t at,
                             const std::string& error);
// Rows of existing targets only; `project` empty: every project. Ordered by project, target.
Result<std::vector<TargetHealth>> list_target_health(Catalog& cat, const std::string& project = {});

}  // namespace stacksnap::catalog

#include "catalog/catalog_admin.h"

namespace stacksnap::catalog {
namespace {

Json parse(const std::string& s) {
  if (s.empty()) return Json();
  auto j = Json::parse(s, nullptr, false);
  return j.is_discarded() ? Json() : j;
}

constexpr const char* kScheduleColumns =
    "project, cron, timezone, jitter_s, enabled, safe_mode, targets, drill_cron, last_run, last_drill, next_run";

ScheduleRecord read_schedule(const Stmt& s) {
  ScheduleRecord r;
  r.project = s.col_text(0);
  r.cron = s.col_text(1);
  r.timezone = s.col_text(2);
  r.jitter_s = s.col_int(3);
  r.enabled = s.col_int(4) != 0;
  r.safe_mode = s.col_int(5) != 0;
  Json t = parse(s.col_text(6));
  if (t.is_array()) {
    for (const auto& x : t) {
      if (x.is_string()) r.targets.push_back(x.get<std::string>());
    }
  }
  r.drill_cron = s.col_text(7);
  r.last_run = s.col_int(8);
  r.last_drill = s.col_int(9);
  r.next_run = s.col_int(10);
  return r;
}

constexpr const char* kNotificationColumns = "id, name, kind, url, on_success, on_failure, enabled, created_at";

NotificationRecord read_notification(const Stmt& s) {
  return NotificationRecord{s.col_int(0),      s.col_text(1),     s.col_text(2),     s.col_text(3),
                            s.col_int(4) != 0, s.col_int(5) != 0, s.col_int(6) != 0, s.col_int(7)};
}

}  // namespace

// ---- schedules ---------------------------------------------------------------------

Result<std::vector<ScheduleRecord>> list_schedules(Catalog& cat) {
  auto s = TRY(cat.db().prepare(std::string("SELECT ") + kScheduleColumns + " FROM schedules ORDER BY project"));
  std::vector<ScheduleRecord> out;
  while (TRY(s.step())) out.push_back(read_schedule(s));
  return out;
}

Result<std::optional<ScheduleRecord>> get_schedule(Catalog& cat, const std::string& project) {
  auto s = TRY(cat.db().prepare(std::string("SELECT ") + kScheduleColumns + " FROM schedules WHERE project = ?"));
  s.bind(1, project);
  if (!TRY(s.step())) return std::optional<ScheduleRecord>();
  return std::optional<ScheduleRecord>(read_schedule(s));
}

Status put_schedule(Catalog& cat, const ScheduleRecord& r) {
  auto s = TRY(cat.db().prepare(std::string("INSERT OR REPLACE INTO schedules (") + kScheduleColumns +
                                ") VALUES (?,?,?,?,?,?,?,?,?,?,?)"));
  s.bind(1, r.project).bind(2, r.cron).bind(3, r.timezone).bind(4, r.jitter_s).bind(5, int64_t{r.enabled});
  s.bind(6, int64_t{r.safe_mode}).bind(7, Json(r.targets).dump()).bind(8, r.drill_cron).bind(9, r.last_run);
  s.bind(10, r.last_drill).bind(11, r.next_run);
  return s.exec();
}

Status remove_schedule(Catalog& cat, const std::string& project) {
  auto s = TRY(cat.db().prepare("DELETE FROM schedules WHERE project = ?"));
  s.bind(1, project);
  TRY(s.exec());
  if (cat.db().changes() == 0) return not_found("project '" + project + "' has no schedule");
  return {};
}

Status set_schedule_times(Catalog& cat, const std::string& project, int64_t last_run, int64_t next_run,
                          int64_t last_drill) {
  auto s = TRY(cat.db().prepare("UPDATE schedules SET last_run = ?, next_run = ?, last_drill = ? WHERE project = ?"));
  s.bind(1, last_run).bind(2, next_run).bind(3, last_drill).bind(4, project);
  return s.exec();
}

// ---- retention ---------------------------------------------------------------------

Result<std::vector<RetentionRecord>> list_retention(Catalog& cat, const std::string& project) {
  auto s = TRY(cat.db().prepare(
      "SELECT project, target, policy FROM retention_policies WHERE (?1 = '' OR project = ?1) ORDER BY project, target"));
  s.bind(1, project);
  std::vector<RetentionRecord> out;
  while (TRY(s.step())) out.push_back({s.col_text(0), s.col_text(1), parse(s.col_text(2))});
  return out;
}

Status put_retention(Catalog& cat, const RetentionRecord& r) {
  auto s = TRY(cat.db().prepare("INSERT OR REPLACE INTO retention_policies (project, target, policy) VALUES (?,?,?)"));
  s.bind(1, r.project).bind(2, r.target).bind(3, r.policy.dump());
  return s.exec();
}

Status remove_retention(Catalog& cat, const std::string& project, const std::string& target) {
  auto s = TRY(cat.db().prepare("DELETE FROM retention_policies WHERE project = ? AND target = ?"));
  s.bind(1, project).bind(2, target);
  TRY(s.exec());
  if (cat.db().changes() == 0) {
    return not_found("project '" + project + "' has no retention policy for target '" + target + "'");
  }
  return {};
}

// ---- notifications -----------------------------------------------------------------

Result<std::vector<NotificationRecord>> list_notifications(Catalog& cat) {
  auto s = TRY(cat.db().prepare(std::string("SELECT ") + kNotificationColumns + " FROM notifications ORDER BY id"));
  std::vector<NotificationRecord> out;
  while (TRY(s.step())) out.push_back(read_notification(s));
  return out;
}

Result<NotificationRecord> get_notification(Catalog& cat, int64_t id) {
  auto s = TRY(cat.db().prepare(std::string("SELECT ") + kNotificationColumns + " FROM notifications WHERE id = ?"));
  s.bind(1, id);
  if (!TRY(s.step())) return not_found("no notification " + std::to_string(id));
  return read_notification(s);
}

Result<int64_t> add_notification(Catalog& cat, const NotificationRecord& n) {
  auto s = TRY(cat.db().prepare(
      "INSERT INTO notifications (name, kind, url, on_success, on_failure, enabled, created_at) VALUES (?,?,?,?,?,?,?)"));
  s.bind(1, n.name).bind(2, n.kind).bind(3, n.url).bind(4, int64_t{n.on_success}).bind(5, int64_t{n.on_failure});
  s.bind(6, int64_t{n.enabled}).bind(7, n.created_at);
  TRY(s.exec());
  return cat.db().last_insert_id();
}

Status update_notification(Catalog& cat, const NotificationRecord& n) {
  auto s = TRY(cat.db().prepare(
      "UPDATE notifications SET name = ?, kind = ?, url = ?, on_success = ?, on_failure = ?, enabled = ? WHERE id = ?"));
  s.bind(1, n.name).bind(2, n.kind).bind(3, n.url).bind(4, int64_t{n.on_success}).bind(5, int64_t{n.on_failure});
  s.bind(6, int64_t{n.enabled}).bind(7, n.id);
  TRY(s.exec());
  if (cat.db().changes() == 0) return not_found("no notification " + std::to_string(n.id));
  return {};
}

Status remove_notification(Catalog& cat, int64_t id) {
  auto s = TRY(cat.db().prepare("DELETE FROM notifications WHERE id = ?"));
  s.bind(1, id);
  TRY(s.exec());
  if (cat.db().changes() == 0) return not_found("no notification " + std::to_string(id));
  return {};
}

// ---- jobs and events ---------------------------------------------------------------

Status set_job_pid(Catalog& cat, int64_t job_id, int64_t pid) {
  auto s = TRY(cat.db().prepare("UPDATE jobs SET pid = ? WHERE id = ?"));
  s.bind(1, pid).bind(2, job_id);
  return s.exec();
}

Result<std::vector<JobRecord>> find_jobs(Catalog& cat, const JobFilter& f) {
  // Reuses Catalog::get_job's column decoding by selecting ids first (job lists are short).
  auto s = TRY(cat.db().prepare(
      "SELECT id FROM jobs WHERE (?1 = '' OR project = ?1) AND (?2 = '' OR kind = ?2) AND (?3 = '' OR state = ?3) "
      "ORDER BY id DESC LIMIT ?4"));
  s.bind(1, f.project).bind(2, f.kind).bind(3, f.state).bind(4, static_cast<int64_t>(f.limit));
  std::vector<int64_t> ids;
  while (TRY(s.step())) ids.push_back(s.col_int(0));
  std::vector<JobRecord> out;
  out.reserve(ids.size());
  for (int64_t id : ids) out.push_back(TRY(cat.get_job(id)));
  return out;
}

Result<std::map<std::pair<std::string, std::string>, int64_t>> job_counts(Catalog& cat) {
  auto s = TRY(cat.db().prepare("SELECT kind, state, COUNT(*) FROM jobs GROUP BY kind, state"));
  std::map<std::pair<std::string, std::string>, int64_t> out;
  while (TRY(s.step())) out[{s.col_text(0), s.col_text(1)}] = s.col_int(2);
  return out;
}

Status append_event_seq(Catalog& cat, int64_t job_id, int64_t seq, int64_t ts_ms, const std::string& type,
                        const Json& data) {
  auto s = TRY(cat.db().prepare("INSERT INTO job_events (job_id, seq, ts_ms, type, data) VALUES (?, ?, ?, ?, ?)"));
  s.bind(1, job_id).bind(2, seq).bind(3, ts_ms).bind(4, type).bind(5, data.dump());
  return s.exec();
}

// ---- copies ------------------------------------------------------------------------

Result<std::map<std::string, int64_t>> copies_per_target(Catalog& cat) {
  auto s = TRY(cat.db().prepare("SELECT target, COUNT(*) FROM backup_copies GROUP BY target"));
  std::map<std::string, int64_t> out;
  while (TRY(s.step())) out[s.col_text(0)] = s.col_int(1);
  return out;
}

Result<int64_t> forget_copies_on(Catalog& cat, const std::string& target) {
  auto tx = TRY(Transaction::begin(cat.db()));
  auto s = TRY(cat.db().prepare("DELETE FROM backup_copies WHERE target = ?"));
  s.bind(1, target);
  TRY(s.exec());
  int64_t n = cat.db().changes();
  TRY(cat.db().exec("DELETE FROM backups WHERE id NOT IN (SELECT backup_id FROM backup_copies)"));
  auto h = TRY(cat.db().prepare("DELETE FROM target_health WHERE target = ?"));
  h.bind(1, target);
  TRY(h.exec());
  TRY(tx.commit());
  return n;
}

// ---- target health -------------------------------------------------------------------

Status record_target_success(Catalog& cat, const std::string& project, const std::string& target, int64_t at) {
  auto s = TRY(cat.db().prepare(
      "INSERT INTO target_health (project, target, last_success_at) VALUES (?1, ?2, ?3) "
      "ON CONFLICT (project, target) DO UPDATE SET last_success_at = MAX(last_success_at, ?3), failing_since = 0"));
  s.bind(1, project).bind(2, target).bind(3, at);
  return s.exec();
}

Status record_target_failure(Catalog& cat, const std::string& project, const std::string& target, int64_t at,
                             const std::string& error) {
  auto s = TRY(cat.db().prepare(
      "INSERT INTO target_health (project, target, last_failure_at, failing_since, last_error) "
      "VALUES (?1, ?2, ?3, ?3, ?4) ON CONFLICT (project, target) DO UPDATE SET last_failure_at = ?3, "
      "failing_since = CASE WHEN failing_since = 0 THEN ?3 ELSE failing_since END, last_error = ?4"));
  s.bind(1, project).bind(2, target).bind(3, at).bind(4, error);
  return s.exec();
}

Result<std::vector<TargetHealth>> list_target_health(Catalog& cat, const std::string& project) {
  auto s = TRY(cat.db().prepare(
      "SELECT project, target, last_success_at, last_failure_at, failing_since, last_error FROM target_health "
      "WHERE (?1 = '' OR project = ?1) AND target IN (SELECT name FROM targets) ORDER BY project, target"));
  s.bind(1, project);
  std::vector<TargetHealth> out;
  while (TRY(s.step())) {
    out.push_back({s.col_text(0), s.col_text(1), s.col_int(2), s.col_int(3), s.col_int(4), s.col_text(5)});
  }
  return out;
}

}  // namespace stacksnap::catalog

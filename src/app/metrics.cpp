// Appliance metrics (Prometheus text exposition), computed from the catalog on scrape.
#include <sstream>

#include "app/appliance.h"

namespace stacksnap::app {
namespace {

std::string label(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

void head(std::ostringstream& o, const char* name, const char* type, const char* help) {
  o << "# HELP " << name << " " << help << "\n# TYPE " << name << " " << type << "\n";
}

// Newest backup per project: time, duration, size.
void last_backups(std::ostringstream& o, catalog::Db& db) {
  auto last = db.prepare(
      "SELECT b.project, b.created_at, b.duration_ms, b.stored_bytes FROM backups b "
      "WHERE b.created_at = (SELECT MAX(created_at) FROM backups WHERE project = b.project) ORDER BY b.project");
  if (last.ok()) {
    std::ostringstream ts, dur, size;
    while (true) {
      auto more = last->step();
      if (!more.ok() || !*more) break;
      std::string p = "{project=\"" + label(last->col_text(0)) + "\"} ";
      ts << "stacksnap_backup_last_success_timestamp_seconds" << p << last->col_int(1) << "\n";
      dur << "stacksnap_backup_last_duration_seconds" << p << static_cast<double>(last->col_int(2)) / 1000.0 << "\n";
      size << "stacksnap_backup_last_size_bytes" << p << last->col_int(3) << "\n";
    }
    head(o, "stacksnap_backup_last_success_timestamp_seconds", "gauge", "Time of the newest backup of the project.");
    o << ts.str();
    head(o, "stacksnap_backup_last_duration_seconds", "gauge", "Duration of the newest backup of the project.");
    o << dur.str();
    head(o, "stacksnap_backup_last_size_bytes", "gauge", "Stored (sealed) size of the newest backup of the project.");
    o << size.str();
  }
}

// Backups per project and their stored bytes.
void backup_counts(std::ostringstream& o, catalog::Db& db) {
  auto counts = db.prepare("SELECT project, COUNT(*), SUM(stored_bytes) FROM backups GROUP BY project ORDER BY project");
  if (counts.ok()) {
    int64_t total = 0;
    head(o, "stacksnap_backups", "gauge", "Backups in the catalog per project.");
    while (true) {
      auto more = counts->step();
      if (!more.ok() || !*more) break;
      o << "stacksnap_backups{project=\"" << label(counts->col_text(0)) << "\"} " << counts->col_int(1) << "\n";
      total += counts->col_int(2);
    }
    head(o, "stacksnap_backup_stored_bytes_total", "gauge", "Stored bytes of every backup (one copy each).");
    o << "stacksnap_backup_stored_bytes_total " << total << "\n";
  }
}

// Per target: the newest backup stored there, and whether storing there fails now.
void target_health(std::ostringstream& o, catalog::Db& db) {
  auto targets = db.prepare(
      "SELECT t.name, MAX(COALESCE((SELECT MAX(uploaded_at) FROM backup_copies WHERE target = t.name), 0), "
      "COALESCE((SELECT MAX(last_success_at) FROM target_health WHERE target = t.name), 0)), "
      "COALESCE((SELECT MAX(last_failure_at) FROM target_health WHERE target = t.name), 0), "
      "COALESCE((SELECT MIN(failing_since) FROM target_health WHERE target = t.name AND failing_since > 0), 0) "
      "FROM targets t ORDER BY t.name");
  if (targets.ok()) {
    std::ostringstream ok, failing, since, last_failure;
    while (true) {
      auto more = targets->step();
      if (!more.ok() || !*more) break;
      std::string t = "{target=\"" + label(targets->col_text(0)) + "\"} ";
      ok << "stacksnap_target_last_success_timestamp_seconds" << t << targets->col_int(1) << "\n";
      failing << "stacksnap_target_failing" << t << (targets->col_int(3) > 0 ? 1 : 0) << "\n";
      if (targets->col_int(3) > 0) since << "stacksnap_target_failing_since_timestamp_seconds" << t << targets->col_int(3) << "\n";
      if (targets->col_int(2) > 0) last_failure << "stacksnap_target_last_failure_timestamp_seconds" << t << targets->col_int(2) << "\n";
    }
    head(o, "stacksnap_target_last_success_timestamp_seconds", "gauge",
         "Time of the newest backup stored on the target (0: none yet).");
    o << ok.str();
    head(o, "stacksnap_target_failing", "gauge",
         "1 while the last attempt to store some project's backup on the target failed, else 0.");
    o << failing.str();
    head(o, "stacksnap_target_failing_since_timestamp_seconds", "gauge",
         "First failure since the last success on the target (only while failing).");
    o << since.str();
    head(o, "stacksnap_target_last_failure_timestamp_seconds", "gauge", "Time of the last failure to store on the target.");
    o << last_failure.str();
  }
}

// The newest drill per project: its result and time.
void last_drills(std::ostringstream& o, catalog::Db& db) {
  auto drills = db.prepare(
      "SELECT b.project, b.drill_at, b.drill_result FROM backups b WHERE b.drill_at IS NOT NULL AND "
      "b.drill_at = (SELECT MAX(drill_at) FROM backups WHERE project = b.project) ORDER BY b.project");
  if (drills.ok()) {
    std::ostringstream res, at;
    while (true) {
      auto more = drills->step();
      if (!more.ok() || !*more) break;
      std::string p = "{project=\"" + label(drills->col_text(0)) + "\"} ";
      res << "stacksnap_drill_last_result" << p << (drills->col_text(2) == "passed" ? 1 : 0) << "\n";
      at << "stacksnap_drill_last_timestamp_seconds" << p << drills->col_int(1) << "\n";
    }
    head(o, "stacksnap_drill_last_result", "gauge", "1 when the newest restore drill of the project passed, else 0.");
    o << res.str();
    head(o, "stacksnap_drill_last_timestamp_seconds", "gauge", "Time of the newest restore drill of the project.");
    o << at.str();
  }
}

}  // namespace

std::string Appliance::metrics_text() {
  std::ostringstream o;
  auto& db = cat.db();
  last_backups(o, db);
  backup_counts(o, db);
  target_health(o, db);
  auto jc = catalog::job_counts(cat);
  if (jc.ok()) {
    head(o, "stacksnap_jobs_total", "counter", "Finished jobs by kind and result.");
    for (const auto& [k, n] : *jc) {
      if (k.second == "queued" || k.second == "running") continue;
      o << "stacksnap_jobs_total{kind=\"" << label(k.first) << "\",result=\"" << label(k.second) << "\"} " << n << "\n";
    }
  }
  head(o, "stacksnap_jobs_running", "gauge", "Jobs running in this server.");
  o << "stacksnap_jobs_running " << jobs.running_count() << "\n";
  head(o, "stacksnap_jobs_queued", "gauge", "Jobs waiting for a slot.");
  o << "stacksnap_jobs_queued " << jobs.queued_count() << "\n";
  last_drills(o, db);
  return o.str();
}

}  // namespace stacksnap::app

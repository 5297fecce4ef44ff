#include "catalog/catalog.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "base/scope.h"

namespace stacksnap::catalog {

namespace {

// Each entry moves the schema from version i to i+1. Never edit a shipped entry.
const char* const kMigrations[] = {
    R"sql(
CREATE TABLE targets (
  name TEXT PRIMARY KEY, kind TEXT NOT NULL, config TEXT NOT NULL, created_at INTEGER NOT NULL);
CREATE TABLE backups (
  id TEXT PRIMARY KEY, project TEXT NOT NULL, created_at INTEGER NOT NULL,
  plaintext_bytes INTEGER NOT NULL, stored_bytes INTEGER NOT NULL, sha256 TEXT NOT NULL,
  duration_ms INTEGER NOT NULL, summary TEXT NOT NULL,
  verified_at INTEGER, verify_result TEXT NOT NULL DEFAULT '',
  drill_at INTEGER, drill_result TEXT NOT NULL DEFAULT '', drill_details TEXT NOT NULL DEFAULT 'null');
CREATE INDEX backups_project ON backups(project, created_at);
CREATE TABLE backup_copies (
  backup_id TEXT NOT NULL REFERENCES backups(id) ON DELETE CASCADE, target TEXT NOT NULL,
  key TEXT NOT NULL, size INTEGER NOT NULL, sha256 TEXT NOT NULL, uploaded_at INTEGER NOT NULL,
  PRIMARY KEY (backup_id, target));
CREATE TABLE jobs (
  id INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL, project TEXT NOT NULL DEFAULT '',
  backup_id TEXT NOT NULL DEFAULT '', state TEXT NOT NULL, created_at INTEGER NOT NULL,
  started_at INTEGER NOT NULL DEFAULT 0, finished_at INTEGER NOT NULL DEFAULT 0,
  error_code TEXT NOT NULL DEFAULT '', error TEXT NOT NULL DEFAULT '', summary TEXT NOT NULL DEFAULT 'null',
  params TEXT NOT NULL DEFAULT 'null', pid INTEGER NOT NULL DEFAULT 0);
CREATE INDEX jobs_project ON jobs(project, id);
CREATE TABLE job_events (
  job_id INTEGER NOT NULL REFERENCES jobs(id) ON DELETE CASCADE, seq INTEGER NOT NULL,
  ts_ms INTEGER NOT NULL, type TEXT NOT NULL, data TEXT NOT NULL, PRIMARY KEY (job_id, seq));
CREATE TABLE paused_containers (
  container_id TEXT PRIMARY KEY, name TEXT NOT NULL, project TEXT NOT NULL, job_id INTEGER NOT NULL,
  pid INTEGER NOT NULL, paused_at INTEGER NOT NULL);
CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
)sql",
    // 2: the appliance server — users, sessions, API tokens, schedules, retention, notifications.
    R"sql(
CREATE TABLE users (
  name TEXT PRIMARY KEY, password_hash TEXT NOT NULL, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL);
CREATE TABLE sessions (
  token_hash TEXT PRIMARY KEY, user TEXT NOT NULL REFERENCES users(name) ON DELETE CASCADE,
  csrf_token TEXT NOT NULL, created_at INTEGER NOT NULL, expires_at INTEGER NOT NULL, last_seen INTEGER NOT NULL);
CREATE TABLE api_tokens (
  id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL, token_hash TEXT NOT NULL UNIQUE, prefix TEXT NOT NULL,
  created_at INTEGER NOT NULL, last_used INTEGER NOT NULL DEFAULT 0, revoked_at INTEGER NOT NULL DEFAULT 0);
CREATE TABLE schedules (
  project TEXT PRIMARY KEY, cron TEXT NOT NULL, timezone TEXT NOT NULL DEFAULT 'UTC', jitter_s INTEGER NOT NULL DEFAULT 0,
  enabled INTEGER NOT NULL DEFAULT 1, safe_mode INTEGER NOT NULL DEFAULT 0, targets TEXT NOT NULL DEFAULT '[]',
  drill_cron TEXT NOT NULL DEFAULT '', last_run INTEGER NOT NULL DEFAULT 0, last_drill INTEGER NOT NULL DEFAULT 0,
  next_run INTEGER NOT NULL DEFAULT 0);
CREATE TABLE retention_policies (
  project TEXT NOT NULL, target TEXT NOT NULL, policy TEXT NOT NULL, PRIMARY KEY (project, target));
CREATE TABLE notifications (
  id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL, kind TEXT NOT NULL, url TEXT NOT NULL,
  on_success INTEGER NOT NULL DEFAULT 0, on_failure INTEGER NOT NULL DEFAULT 1, enabled INTEGER NOT NULL DEFAULT 1,
  created_at INTEGER NOT NULL);
)sql",
    // 3: the state of every copy (verify per copy) and of every (project, target) pair
    // (where backups are stored and where they fail).
    R"sql(
ALTER TABLE backup_copies ADD COLUMN verify_state TEXT NOT NULL DEFAULT '';
ALTER TABLE backup_copies ADD COLUMN verified_at INTEGER NOT NULL DEFAULT 0;
ALTER TABLE backup_copies ADD COLUMN verify_detail TEXT NOT NULL DEFAULT '';
CREATE TABLE target_health (
  project TEXT NOT NULL, target TEXT NOT NULL, last_success_at INTEGER NOT NULL DEFAULT 0,
  last_failure_at INTEGER NOT NULL DEFAULT 0, failing_since INTEGER NOT NULL DEFAULT 0,
  last_error TEXT NOT NULL DEFAULT '', PRIMARY KEY (project, target));
)sql",
};

Json parse_json(const std::string& s) {
  if (s.empty()) return Json();
  auto j = Json::parse(s, nullptr, /*allow_exceptions=*/false);
  return j.is_discarded() ? Json() : j;
}

bool process_alive(int64_t pid) {
  if (pid <= 0) return false;
  return ::kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM;
}

JobRecord read_job(const Stmt& s) {
  JobRecord j;
  j.id = s.col_int(0);
  j.kind = s.col_text(1);
  j.project = s.col_text(2);
  j.backup_id = s.col_text(3);
  j.state = parse_job_state(s.col_text(4)).value_or(JobState::kFailed);
  j.created_at = s.col_int(5);
  j.started_at = s.col_int(6);
  j.finished_at = s.col_int(7);
  j.error_code = s.col_text(8);
  j.error = s.col_text(9);
  j.summary = parse_json(s.col_text(10));
  j.params = parse_json(s.col_text(11));
  j.pid = s.col_int(12);
  return j;
}
constexpr const char* kJobColumns =
    "id, kind, project, backup_id, state, created_at, started_at, finished_at, error_code, error, summary, params, pid";

BackupRecord read_backup(const Stmt& s) {
  BackupRecord b;
  b.id = s.col_text(0);
  b.project = s.col_text(1);
  b.created_at = s.col_int(2);
  b.plaintext_bytes = static_cast<uint64_t>(s.col_int(3));
  b.stored_bytes = static_cast<uint64_t>(s.col_int(4));
  b.sha256 = s.col_text(5);
  b.duration_ms = s.col_int(6);
  b.summary = parse_json(s.col_text(7));
  if (!s.col_null(8)) b.verified_at = s.col_int(8);
  b.verify_result = s.col_text(9);
  if (!s.col_null(10)) b.drill_at = s.col_int(10);
  b.drill_result = s.col_text(11);
  b.drill_details = parse_json(s.col_text(12));
  return b;
}
constexpr const char* kBackupColumns =
    "id, project, created_at, plaintext_bytes, stored_bytes, sha256, duration_ms, summary, verified_at, "
    "verify_result, drill_at, drill_result, drill_details";

}  // namespace

std::string_view copy_state_name(CopyState s) {
  switch (s) {
    case CopyState::kUnchecked: return "";
    case CopyState::kVerified: return "verified";
    case CopyState::kDamaged: return "damaged";
    case CopyState::kUnreachable: return "unreachable";
  }
  return "";
}

std::optional<CopyState> parse_copy_state(std::string_view s) {
  for (CopyState st : {CopyState::kUnchecked, CopyState::kVerified, CopyState::kDamaged, CopyState::kUnreachable}) {
    if (copy_state_name(st) == s) return st;
  }
  return std::nullopt;
}

std::string_view job_state_name(JobState s) {
  switch (s) {
    case JobState::kQueued: return "queued";
    case JobState::kRunning: return "running";
    case JobState::kSucceeded: return "succeeded";
    case JobState::kFailed: return "failed";
    case JobState::kCancelled: return "cancelled";
    case JobState::kInterrupted: return "interrupted";
    case JobState::kPartial: return "partial";
  }
  return "failed";
}

std::optional<JobState> parse_job_state(std::string_view s) {
  for (JobState st : {JobState::kQueued, JobState::kRunning, JobState::kSucceeded, JobState::kFailed,
                      JobState::kCancelled, JobState::kInterrupted, JobState::kPartial}) {
    if (job_state_name(st) == s) return st;
  }
  return std::nullopt;
}

Result<std::unique_ptr<Catalog>> Catalog::open(const std::string& path) {
  auto db = TRY(Db::open(path));
  std::unique_ptr<Catalog> c(new Catalog(std::move(db)));
  TRY(c->migrate());
  return c;
}

int64_t schema_version() { return sizeof(kMigrations) / sizeof(kMigrations[0]); }

namespace {

Result<int64_t> read_user_version(Db& db) {
  auto s = TRY(db.prepare("PRAGMA user_version"));
  TRY(s.step());
  return s.col_int(0);
}

std::string sql_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("''") : std::string(1, c);
  return out + "'";
}

}  // namespace

// VACUUM INTO `copy` through a private temporary file; the copy is renamed into place only
// when it still has schema `version` (SQLite header: user_version at offset 60, big endian).
Status Catalog::keep_copy(const std::string& copy, int64_t version) {
  const std::string tmp = copy + ".tmp-" + std::to_string(::getpid());
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return errno_error("create " + tmp, errno);
  ::close(fd);
  auto drop = on_scope_exit([&] { ::unlink(tmp.c_str()); });
  TRY(db_->exec("VACUUM INTO " + sql_quote(tmp)));
  unsigned char header[64] = {};
  {
    const int in = ::open(tmp.c_str(), O_RDONLY | O_CLOEXEC);
    if (in < 0) return errno_error("open " + tmp, errno);
    const ssize_t n = ::pread(in, header, sizeof header, 0);
    ::close(in);
    if (n != static_cast<ssize_t>(sizeof header)) return internal_error("read the header of " + tmp);
  }
  const int64_t copied = (int64_t{header[60]} << 24) | (header[61] << 16) | (header[62] << 8) | header[63];
  if (copied != version) return {};  // migrated meanwhile by another process, which kept the copy
  if (::rename(tmp.c_str(), copy.c_str()) != 0) return errno_error("rename " + tmp + " to " + copy, errno);
  drop.dismiss();
  return {};
}

Status Catalog::migrate() {
  const int64_t latest = schema_version();
  auto too_new = [&](int64_t v) {
    return failed_precondition(
        "state database " + db_->path() + " has schema version " + std::to_string(v) +
        ", newer than this stacksnap understands (" + std::to_string(latest) +
        "): it was written by a newer StackSnap. Run that version, or put back the copy the upgrade kept (" +
        db_->path() + ".schema-" + std::to_string(latest) + ".bak) to return to the state before it; "
        "nothing was read or changed");
  };
  const int64_t found = TRY(read_user_version(*db_));
  schema_ = {.found = found, .version = found};
  if (found > latest) return too_new(found);
  if (found > 0 && found < latest) {
    // The way back for a downgrade, taken before the first step changes anything: written
    // under a temporary name and renamed, so the .bak is whole or absent (an empty one, left
    // by a crash of an older version, is written again). A copy that another process's
    // migration overtook (its schema is no longer `found`) is dropped: that process kept one.
    const std::string copy = db_->path() + ".schema-" + std::to_string(found) + ".bak";
    struct stat existing {};
    if (::stat(copy.c_str(), &existing) != 0 || existing.st_size == 0) {
      TRY_CTX(keep_copy(copy, found), "keep a copy of the state database (schema " + std::to_string(found) +
                                          ") before upgrading it to schema " + std::to_string(latest) +
                                          "; nothing was changed");
    }
    schema_.backup_path = copy;
  }
  for (;;) {
    auto tx = TRY(Transaction::begin(*db_));
    // Read again under the write lock: another process may have migrated meanwhile.
    const int64_t v = TRY(read_user_version(*db_));
    if (v > latest) return too_new(v);
    if (v == latest) break;
    TRY_CTX(db_->exec(kMigrations[v]), "upgrade the state database to schema " + std::to_string(v + 1));
    TRY(db_->exec("PRAGMA user_version = " + std::to_string(v + 1)));
    TRY(tx.commit());
  }
  schema_.version = latest;
  return {};
}

// ---- targets -------------------------------------------------------------------

Status Catalog::add_target(const TargetRecord& t) {
  auto s = TRY(db_->prepare("INSERT INTO targets (name, kind, config, created_at) VALUES (?, ?, ?, ?)"));
  s.bind(1, t.name).bind(2, t.kind).bind(3, t.config.dump()).bind(4, t.created_at);
  auto st = s.exec();
  if (!st.ok() && st.error().code() == Code::kAlreadyExists) return already_exists("a target named '" + t.name + "' already exists");
  return st;
}

Status Catalog::update_target(const TargetRecord& t) {
  auto s = TRY(db_->prepare("UPDATE targets SET kind = ?, config = ? WHERE name = ?"));
  s.bind(1, t.kind).bind(2, t.config.dump()).bind(3, t.name);
  TRY(s.exec());
  if (db_->changes() == 0) return not_found("no target named '" + t.name + "'");
  return {};
}

Result<TargetRecord> Catalog::get_target(const std::string& name) {
  auto s = TRY(db_->prepare("SELECT name, kind, config, created_at FROM targets WHERE name = ?"));
  s.bind(1, name);
  if (!TRY(s.step())) {
    auto all = TRY(list_targets());
    std::string names;
    for (const auto& t : all) names += (names.empty() ? "" : ", ") + t.name;
    return not_found("no target named '" + name + "'" +
                     (names.empty() ? "; add one with `stacksnap target add`" : "; targets: " + names));
  }
  return TargetRecord{s.col_text(0), s.col_text(1), parse_json(s.col_text(2)), s.col_int(3)};
}

Result<std::vector<TargetRecord>> Catalog::list_targets() {
  auto s = TRY(db_->prepare("SELECT name, kind, config, created_at FROM targets ORDER BY name"));
  std::vector<TargetRecord> out;
  while (TRY(s.step())) out.push_back({s.col_text(0), s.col_text(1), parse_json(s.col_text(2)), s.col_int(3)});
  return out;
}

Status Catalog::remove_target(const std::string& name) {
  auto s = TRY(db_->prepare("DELETE FROM targets WHERE name = ?"));
  s.bind(1, name);
  TRY(s.exec());
  if (db_->changes() == 0) return not_found("no target named '" + name + "'");
  return {};
}

// ---- backups -------------------------------------------------------------------

Status Catalog::put_backup(const BackupRecord& b) {
  auto tx = TRY(Transaction::begin(*db_));
  auto s = TRY(db_->prepare(std::string("INSERT OR REPLACE INTO backups (") + kBackupColumns +
                            ") VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)"));
  s.bind(1, b.id).bind(2, b.project).bind(3, b.created_at).bind(4, static_cast<int64_t>(b.plaintext_bytes));
  s.bind(5, static_cast<int64_t>(b.stored_bytes)).bind(6, b.sha256).bind(7, b.duration_ms).bind(8, b.summary.dump());
  s.bind(9, b.verified_at).bind(10, b.verify_result).bind(11, b.drill_at).bind(12, b.drill_result);
  s.bind(13, b.drill_details.dump());
  TRY(s.exec());
  for (const auto& c : b.copies) TRY(add_copy(b.id, c));
  return tx.commit();
}

Status Catalog::add_copy(const std::string& backup_id, const CopyRecord& c) {
  auto s = TRY(db_->prepare(
      "INSERT OR REPLACE INTO backup_copies (backup_id, target, key, size, sha256, uploaded_at) VALUES (?,?,?,?,?,?)"));
  s.bind(1, backup_id).bind(2, c.target).bind(3, c.key).bind(4, static_cast<int64_t>(c.size)).bind(5, c.sha256);
  s.bind(6, c.uploaded_at);
  return s.exec();
}

Status Catalog::remove_copy(const std::string& backup_id, const std::string& target) {
  auto s = TRY(db_->prepare("DELETE FROM backup_copies WHERE backup_id = ? AND target = ?"));
  s.bind(1, backup_id).bind(2, target);
  return s.exec();
}

Result<std::vector<CopyRecord>> Catalog::copies_of(const std::string& backup_id) {
  auto s = TRY(db_->prepare(
      "SELECT target, key, size, sha256, uploaded_at, verify_state, verified_at, verify_detail FROM backup_copies "
      "WHERE backup_id = ? ORDER BY target"));
  s.bind(1, backup_id);
  std::vector<CopyRecord> out;
  while (TRY(s.step())) {
    out.push_back({.target = s.col_text(0), .key = s.col_text(1), .size = static_cast<uint64_t>(s.col_int(2)),
                   .sha256 = s.col_text(3), .uploaded_at = s.col_int(4),
                   .verify_state = parse_copy_state(s.col_text(5)).value_or(CopyState::kUnchecked),
                   .verified_at = s.col_int(6), .verify_detail = s.col_text(7)});
  }
  return out;
}

Result<BackupRecord> Catalog::get_backup(const std::string& id) {
  auto s = TRY(db_->prepare(std::string("SELECT ") + kBackupColumns + " FROM backups WHERE id = ?"));
  s.bind(1, id);
  if (!TRY(s.step())) return not_found("no backup with ID '" + id + "' (see `stacksnap backups`)");
  BackupRecord b = read_backup(s);
  b.copies = TRY(copies_of(b.id));
  return b;
}

Result<std::vector<BackupRecord>> Catalog::list_backups(const BackupFilter& f) {
  std::string sql = std::string("SELECT ") + kBackupColumns + " FROM backups WHERE (?1 = '' OR project = ?1)" +
                    " AND (?2 = '' OR id IN (SELECT backup_id FROM backup_copies WHERE target = ?2))" +
                    " ORDER BY created_at DESC, id DESC";
  if (f.limit > 0) sql += " LIMIT " + std::to_string(f.limit);
  auto s = TRY(db_->prepare(sql));
  s.bind(1, f.project).bind(2, f.target);
  std::vector<BackupRecord> out;
  while (TRY(s.step())) out.push_back(read_backup(s));
  for (auto& b : out) b.copies = TRY(copies_of(b.id));
  return out;
}

Status Catalog::remove_backup(const std::string& id) {
  auto s = TRY(db_->prepare("DELETE FROM backups WHERE id = ?"));
  s.bind(1, id);
  return s.exec();
}

Status Catalog::set_verify_result(const std::string& id, int64_t at, const std::string& result) {
  auto s = TRY(db_->prepare("UPDATE backups SET verified_at = ?, verify_result = ? WHERE id = ?"));
  s.bind(1, at).bind(2, result).bind(3, id);
  return s.exec();
}

Status Catalog::set_copy_verify(const std::string& backup_id, const std::string& target, CopyState state, int64_t at,
                                const std::string& detail) {
  auto s = TRY(db_->prepare(
      "UPDATE backup_copies SET verify_state = ?, verified_at = ?, verify_detail = ? WHERE backup_id = ? AND target = ?"));
  s.bind(1, copy_state_name(state)).bind(2, at).bind(3, detail).bind(4, backup_id).bind(5, target);
  TRY(s.exec());
  if (db_->changes() == 0) return not_found("backup " + backup_id + " has no copy on target '" + target + "'");
  return {};
}

Status Catalog::set_drill_result(const std::string& id, int64_t at, const std::string& result, const Json& details) {
  auto s = TRY(db_->prepare("UPDATE backups SET drill_at = ?, drill_result = ?, drill_details = ? WHERE id = ?"));
  s.bind(1, at).bind(2, result).bind(3, details.dump()).bind(4, id);
  return s.exec();
}

// ---- jobs ----------------------------------------------------------------------

Result<int64_t> Catalog::create_job(const JobRecord& j) {
  auto s = TRY(db_->prepare(
      "INSERT INTO jobs (kind, project, backup_id, state, created_at, params) VALUES (?, ?, ?, ?, ?, ?)"));
  s.bind(1, j.kind).bind(2, j.project).bind(3, j.backup_id).bind(4, job_state_name(j.state));
  s.bind(5, j.created_at).bind(6, j.params.dump());
  TRY(s.exec());
  return db_->last_insert_id();
}

Status Catalog::start_job(int64_t id, int64_t pid, int64_t at) {
  auto s = TRY(db_->prepare("UPDATE jobs SET state = 'running', pid = ?, started_at = ? WHERE id = ?"));
  s.bind(1, pid).bind(2, at).bind(3, id);
  return s.exec();
}

Status Catalog::finish_job(int64_t id, JobState state, int64_t at, const std::string& error_code,
                           const std::string& error, const Json& summary) {
  auto s = TRY(db_->prepare(
      "UPDATE jobs SET state = ?, finished_at = ?, error_code = ?, error = ?, summary = ? WHERE id = ?"));
  s.bind(1, job_state_name(state)).bind(2, at).bind(3, error_code).bind(4, error).bind(5, summary.dump()).bind(6, id);
  return s.exec();
}

Result<JobRecord> Catalog::get_job(int64_t id) {
  auto s = TRY(db_->prepare(std::string("SELECT ") + kJobColumns + " FROM jobs WHERE id = ?"));
  s.bind(1, id);
  if (!TRY(s.step())) return not_found("no job " + std::to_string(id));
  return read_job(s);
}

Result<std::vector<JobRecord>> Catalog::list_jobs(int limit, const std::string& project) {
  auto s = TRY(db_->prepare(std::string("SELECT ") + kJobColumns +
                            " FROM jobs WHERE (?1 = '' OR project = ?1) ORDER BY id DESC LIMIT ?2"));
  s.bind(1, project).bind(2, static_cast<int64_t>(limit));
  std::vector<JobRecord> out;
  while (TRY(s.step())) out.push_back(read_job(s));
  return out;
}

Result<int64_t> Catalog::append_event(int64_t job_id, int64_t ts_ms, const std::string& type, const Json& data) {
  auto s = TRY(db_->prepare(
      "INSERT INTO job_events (job_id, seq, ts_ms, type, data) "
      "VALUES (?1, (SELECT COALESCE(MAX(seq), 0) + 1 FROM job_events WHERE job_id = ?1), ?2, ?3, ?4) RETURNING seq"));
  s.bind(1, job_id).bind(2, ts_ms).bind(3, type).bind(4, data.dump());
  if (!TRY(s.step())) return internal_error("append event: no seq returned");
  int64_t seq = s.col_int(0);
  TRY(s.exec());
  return seq;
}

Result<std::vector<EventRecord>> Catalog::events_after(int64_t job_id, int64_t after_seq, int limit) {
  auto s = TRY(db_->prepare(
      "SELECT job_id, seq, ts_ms, type, data FROM job_events WHERE job_id = ? AND seq > ? ORDER BY seq LIMIT ?"));
  s.bind(1, job_id).bind(2, after_seq).bind(3, static_cast<int64_t>(limit));
  std::vector<EventRecord> out;
  while (TRY(s.step())) {
    out.push_back({s.col_int(0), s.col_int(1), s.col_int(2), s.col_text(3), parse_json(s.col_text(4))});
  }
  return out;
}

Result<std::vector<int64_t>> Catalog::mark_interrupted_jobs(int64_t at) {
  auto s = TRY(db_->prepare("SELECT id, pid FROM jobs WHERE state IN ('queued', 'running')"));
  std::vector<int64_t> dead;
  while (TRY(s.step())) {
    if (!process_alive(s.col_int(1)) || s.col_int(1) == 0) dead.push_back(s.col_int(0));
  }
  for (int64_t id : dead) {
    // The last event is the summary when only the job's own finish was lost.
    auto last = TRY(db_->prepare("SELECT type, data FROM job_events WHERE job_id = ? ORDER BY seq DESC LIMIT 1"));
    last.bind(1, id);
    if (TRY(last.step()) && last.col_text(0) == "summary") {
      Json summary = parse_json(last.col_text(1));
      auto state = parse_job_state(summary.is_object() ? summary.value("result", "") : "");
      if (state && is_terminal(*state)) {
        TRY(finish_job(id, *state, at, summary.value("code", ""), summary.value("message", ""), summary));
        continue;
      }
    }
    TRY(finish_job(id, JobState::kInterrupted, at, "Aborted",
                   "interrupted: the StackSnap process running this job stopped before it finished", Json()));
  }
  return dead;
}

// ---- paused containers ------------------------------------------------------------

Status Catalog::record_paused(const PausedContainer& p) {
  auto s = TRY(db_->prepare(
      "INSERT OR REPLACE INTO paused_containers (container_id, name, project, job_id, pid, paused_at) "
      "VALUES (?,?,?,?,?,?)"));
  s.bind(1, p.container_id).bind(2, p.name).bind(3, p.project).bind(4, p.job_id).bind(5, p.pid).bind(6, p.paused_at);
  return s.exec();
}

Status Catalog::forget_paused(const std::string& container_id) {
  auto s = TRY(db_->prepare("DELETE FROM paused_containers WHERE container_id = ?"));
  s.bind(1, container_id);
  return s.exec();
}

Result<std::vector<PausedContainer>> Catalog::list_paused() {
  auto s = TRY(db_->prepare(
      "SELECT container_id, name, project, job_id, pid, paused_at FROM paused_containers ORDER BY paused_at"));
  std::vector<PausedContainer> out;
  while (TRY(s.step())) {
    out.push_back({s.col_text(0), s.col_text(1), s.col_text(2), s.col_int(3), s.col_int(4), s.col_int(5)});
  }
  return out;
}

// ---- settings ----------------------------------------------------------------------

Status Catalog::set_setting(const std::string& key, const Json& value) {
  auto s = TRY(db_->prepare("INSERT OR REPLACE INTO settings (key, value) VALUES (?, ?)"));
  s.bind(1, key).bind(2, value.dump());
  return s.exec();
}

Result<std::optional<Json>> Catalog::get_setting(const std::string& key) {
  auto s = TRY(db_->prepare("SELECT value FROM settings WHERE key = ?"));
  s.bind(1, key);
  if (!TRY(s.step())) return std::optional<Json>();
  return std::optional<Json>(parse_json(s.col_text(0)));
}

}  // namespace stacksnap::catalog

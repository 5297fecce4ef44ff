// The state database (SQLite, <data_dir>/state.db): targets, the backup catalog and
// its copies, jobs and their events, containers paused by Safe Mode, key/value settings.
//
// Thread-safety: one Catalog may be used from several threads (SQLite serialized mode);
// several processes may open the same file (WAL, busy timeout).
//
// Schema: PRAGMA user_version counts the migrations applied (kSchemaVersion is this
// build's). open() migrates an older database forward, one transaction per step (a
// process that finds a step already done by another skips it), after keeping a copy of
// it as it was: <path>.schema-<old>.bak (VACUUM INTO; an existing copy is kept). An
// older StackSnap refuses the migrated file and that copy is the way back. A database
// newer than this build is refused (FailedPrecondition), never read or written.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/error.h"
#include "catalog/sqlite.h"

namespace stacksnap::catalog {

using Json = nlohmann::json;

struct TargetRecord {
  std::string name;
  std::string kind;  // "local" | "s3"
  Json config;       // kind-specific; secrets only as file paths or, for S3, in this 0600 db
  int64_t created_at = 0;
};

// What the last check of one copy found. kUnchecked: not verified since it was stored
// (it was uploaded from a spool that had just been deep-verified, and its size checked).
enum class CopyState { kUnchecked, kVerified, kDamaged, kUnreachable };
std::string_view copy_state_name(CopyState s);  // "" | "verified" | "damaged" | "unreachable"
std::optional<CopyState> parse_copy_state(std::string_view s);

struct CopyRecord {
  std::string target;
  std::string key;   // object key of the sealed blob on that target
  uint64_t size = 0;
  std::string sha256;
  int64_t uploaded_at = 0;
  // The last verification of this copy (schema v3). Written by set_copy_verify only:
  // add_copy/put_backup store a copy as unchecked.
  CopyState verify_state = CopyState::kUnchecked;
  int64_t verified_at = 0;     // unix seconds; 0: never
  std::string verify_detail;   // what was checked, or why it failed
};

struct BackupRecord {
  std::string id;
  std::string project;
  int64_t created_at = 0;        // unix seconds
  uint64_t plaintext_bytes = 0;  // tar bytes before compression
  uint64_t stored_bytes = 0;     // sealed archive size
  std::string sha256;            // of the sealed archive
  int64_t duration_ms = 0;
  Json summary;                  // services, dumps (engine, databases, row counts), volumes (files, bytes)
  std::optional<int64_t> verified_at;
  // The backup's verdict, the worst of its copies: "" (never verified), "ok" (a copy
  // was verified deeply and no copy is known damaged), "failed: copy on T: …" (a copy
  // is damaged). An unreachable copy says nothing about the archive: see copies[].
  std::string verify_result;
  std::optional<int64_t> drill_at;
  std::string drill_result;      // "" | "passed" | "failed"
  Json drill_details;
  std::vector<CopyRecord> copies;
};

// kPartial: the job did its work but not everywhere it was asked to (a backup not
// stored on a requested target, a verify that could not reach a copy): terminal, and
// a failure for notifications and the dashboard.
enum class JobState { kQueued, kRunning, kSucceeded, kFailed, kCancelled, kInterrupted, kPartial };
std::string_view job_state_name(JobState s);
std::optional<JobState> parse_job_state(std::string_view s);
inline bool is_terminal(JobState s) { return s != JobState::kQueued && s != JobState::kRunning; }

struct JobRecord {
  int64_t id = 0;
  std::string kind;     // backup | restore | verify | drill | prune
  std::string project;  // may be empty (verify of a file)
  std::string backup_id;
  JobState state = JobState::kQueued;
  int64_t created_at = 0, started_at = 0, finished_at = 0;
  std::string error;
  std::string error_code;
  Json summary;
  Json params;
  int64_t pid = 0;  // process that runs it (crash repair)
};

struct EventRecord {
  int64_t job_id = 0;
  int64_t seq = 0;     // 1, 2, 3… per job: the SSE id
  int64_t ts_ms = 0;
  std::string type;    // step_started | step_finished | progress | log | error | summary
  Json data;
};

struct PausedContainer {
  std::string container_id;
  std::string name;
  std::string project;
  int64_t job_id = 0;
  int64_t pid = 0;
  int64_t paused_at = 0;
};

struct BackupFilter {
  std::string project;   // empty: all
  std::string target;    // empty: all
  int limit = 0;         // 0: no limit
};

// The schema version this build writes (the number of migrations it knows).
int64_t schema_version();

// What open() found and did to the schema.
struct SchemaInfo {
  int64_t found = 0;        // user_version before open(); 0: a new database
  int64_t version = 0;      // now: schema_version()
  std::string backup_path;  // the copy taken before migrating ("" when nothing migrated)
  bool migrated() const { return found != version && found > 0; }
};

class Catalog {
 public:
  // FailedPrecondition when the file's schema is newer than this build's; errors of the
  // pre-migration copy (ResourceExhausted when the disk is full) leave the file unchanged.
  static Result<std::unique_ptr<Catalog>> open(const std::string& path);
  const SchemaInfo& schema() const { return schema_; }

  // Targets
  Status add_target(const TargetRecord& t);  // AlreadyExists when the name is taken
  Status update_target(const TargetRecord& t);
  Result<TargetRecord> get_target(const std::string& name);
  Result<std::vector<TargetRecord>> list_targets();
  Status remove_target(const std::string& name);

  // Backups. put_backup inserts or replaces the record and its copies.
  Status put_backup(const BackupRecord& b);
  Status add_copy(const std::string& backup_id, const CopyRecord& c);
  Status remove_copy(const std::string& backup_id, const std::string& target);
  Result<BackupRecord> get_backup(const std::string& id);  // NotFound
  Result<std::vector<BackupRecord>> list_backups(const BackupFilter& f = {});  // newest first
  Status remove_backup(const std::string& id);
  Status set_verify_result(const std::string& id, int64_t at, const std::string& result);
  // Records the check of one copy (NotFound when the backup has no copy on `target`).
  Status set_copy_verify(const std::string& backup_id, const std::string& target, CopyState state, int64_t at,
                         const std::string& detail);
  Status set_drill_result(const std::string& id, int64_t at, const std::string& result, const Json& details);

  // Jobs and events
  Result<int64_t> create_job(const JobRecord& j);
  Status start_job(int64_t id, int64_t pid, int64_t at);
  Status finish_job(int64_t id, JobState state, int64_t at, const std::string& error_code,
                    const std::string& error, const Json& summary);
  Result<JobRecord> get_job(int64_t id);
  Result<std::vector<JobRecord>> list_jobs(int limit = 100, const std::string& project = {});
  // Appends an event; returns its seq.
  Result<int64_t> append_event(int64_t job_id, int64_t ts_ms, const std::string& type, const Json& data);
  Result<std::vector<EventRecord>> events_after(int64_t job_id, int64_t after_seq, int limit = 10000);
  // Finishes queued/running jobs of dead processes; returns their ids. A job whose final
  // summary event was stored (its process died, or its finish_job failed, after the work
  // was done) is finished with that summary's result; any other as interrupted.
  Result<std::vector<int64_t>> mark_interrupted_jobs(int64_t at);

  // Containers paused by Safe Mode (crash repair).
  Status record_paused(const PausedContainer& p);
  Status forget_paused(const std::string& container_id);
  Result<std::vector<PausedContainer>> list_paused();

  // Settings (small JSON values).
  Status set_setting(const std::string& key, const Json& value);
  Result<std::optional<Json>> get_setting(const std::string& key);

  Db& db() { return *db_; }

 private:
  explicit Catalog(std::unique_ptr<Db> db) : db_(std::move(db)) {}
  Status migrate();
  Status keep_copy(const std::string& copy, int64_t version);
  Result<std::vector<CopyRecord>> copies_of(const std::string& backup_id);
  std::unique_ptr<Db> db_;
  SchemaInfo schema_;
};

}  // namespace stacksnap::catalog

// The restore job: one backup → a running Compose project on this host.
//
//   fetch (<data>/spool/restore-<id>.stsnap) → authenticate and check the WHOLE archive
//   → pull missing images → [existing project: refuse without --force; safety backup;
//   compose down (no -v)] → create volumes with Compose's labels → one pass: config
//   files, bind mounts, volumes (helper container, PUT archive) → compose up the
//   database services → wait until ready → replay dumps → compose up everything →
//   row counts vs the manifest → summary.
//
// Nothing on the host changes before the archive verified to its last segment, the
// images are present and the safety backup (when one is due) succeeded. A failure after
// that is returned with the list of what was already applied in its message (and as a
// "restore_applied" event), so the user knows the state the host is in.
#pragma once

#include <functional>
#include <future>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "archive/manifest.h"
#include "archive/source.h"
#include "repo/snapshot.h"
#include "base/fd.h"
#include "catalog/catalog.h"
#include "docker/client.h"
#include "job/context.h"
#include "restore/compose.h"
#include "restore/placement.h"
#include "seal/key.h"

namespace stacksnap::restore {

// Takes the safety backup of `project` before an in-place restore replaces it and
// returns its backup ID. The caller provides it (app::safety_backup_by_pipeline): the
// restore layer does not depend on the backup pipeline.
using SafetyBackup = std::function<Result<std::string>(const std::string& project, job::Context& ctx, int64_t job_id)>;

struct RestoreEnv {
  std::string data_dir;
  catalog::Catalog& cat;
  docker::Client& docker;
  const seal::KeySource& keys;
  SafetyBackup safety_backup = {};  // empty: a due safety backup fails the restore before any change
  // The Compose installations to choose from; unset: those of this host (looked for in
  // the background while the archive is fetched).
  std::optional<ComposeTools> compose_tools = std::nullopt;
};

// env.compose_tools, or this host's (find_compose_tools, started now on another thread).
std::shared_future<ComposeTools> compose_tools_for(const RestoreEnv& env);

struct RestoreRequest {
  std::string backup_id;
  std::string as_name;   // --as: restore beside the original under this project name
  std::string to_dir;    // --to: working dir for config files (and binds under it)
  bool force = false;    // overwrite an existing project (after a safety backup)
  bool no_safety_backup = false;
  bool no_ports = false;  // with as_name: publish no host ports (a copy beside a running original)
  ComposeChoice compose = ComposeChoice::kAuto;  // --compose v1|v2: else the flavour that created the project
  std::string from_target;  // --from: restore the copy on this target (else the first copy that verifies)
};

// What a restore (or the apply of a drill) did; to_json() is the job's summary.
struct RestoreSummary {
  std::string backup_id, project, source_project, mode, working_dir;
  std::string compose, compose_flavour;  // the Compose that drove it ("docker compose 2.26.1", v2)
  std::string target;                    // the copy that was applied
  std::vector<std::string> compose_files;
  std::optional<std::string> safety_backup_id;
  Json volumes = Json::array();    // [{name, files, bytes, digest, manifest_files?, readback_*?}]
  Json binds = Json::array();
  uint64_t config_files = 0;
  Json databases = Json::array();  // [{service, engine, tables, differences, notes} | {…, error}]
  Json sqlite = Json::array();     // [{where, path, mechanism, checked, integrity, tables, problems}] (restore/sqlite_check.h)
  size_t row_count_differences = 0;
  // Findings: problems fail a drill (a restore reports them), info and warnings inform.
  std::vector<std::string> problems, info, warnings;
  std::vector<std::string> applied;  // what changed on the host, in order
  int64_t duration_ms = 0;

  Json to_json() const;
};

Result<RestoreSummary> run_restore(const RestoreEnv& env, const RestoreRequest& req, job::Context& ctx,
                                   int64_t job_id);

// ---- shared with drills ------------------------------------------------------------

// The backup's sealed archive fetched into the spool and authenticated whole (deeply
// verified too unless its record says that was done when it was made); the file is removed
// when this goes away.
class FetchedArchive {
 public:
  FetchedArchive(FetchedArchive&&) noexcept;
  FetchedArchive& operator=(FetchedArchive&&) = delete;
  ~FetchedArchive();
  // Opens the verified copy for one more pass: the verified file itself (/proc/self/fd/N of
  // the descriptor held since it verified: a file replaced on the target meanwhile is not
  // what gets applied), or the verified repository snapshot in place (its lock held).
  archive::SourceOpener opener(const seal::KeySource& keys, StopToken stop) const;
  const Json& plan() const { return plan_; }
  const std::string& target() const { return target_; }

 private:
  friend Result<FetchedArchive> fetch_and_verify(const RestoreEnv& env, const std::string& backup_id,
                                                 job::Context& ctx, const std::string& from_target);
  FetchedArchive() = default;
  std::string spool_path_;  // removed with the archive; "" when read in place
  UniqueFd fd_;
  std::shared_ptr<repo::OpenSnapshot> snapshot_;  // a repository snapshot (fd_ unused)
  std::string open_path_, target_;
  Json plan_;
};
// `from_target` non-empty: only the copy on that target is tried (NotFound when the backup
// has none there).
Result<FetchedArchive> fetch_and_verify(const RestoreEnv& env, const std::string& backup_id, job::Context& ctx,
                                        const std::string& from_target = {});

struct ApplyRequest {
  Mode mode = Mode::kInPlace;
  std::string project;      // target project name
  std::string working_dir;  // "" = original (in place)
  bool force = false;
  bool safety_backup = true;
  bool strip_ports = false;  // drills: no ports, external networks and volumes detached
  bool no_ports = false;     // copies: no published host ports (nothing else changes)
  bool check_volumes = false;
  // The caller removes whatever was applied when this fails (drills, a new copy): a
  // failure's message then carries no "applied before the failure" list and no undo
  // command (the "restore_applied" event still lists it).
  bool removed_on_failure = false;
  // Compose detection started early (it runs subprocesses); invalid: detected when needed.
  std::shared_future<ComposeTools> compose_tools;
  ComposeChoice compose = ComposeChoice::kAuto;
};

// Everything after fetch_and_verify. `applied` collects what was changed on the host
// (also filled when an error is returned).
Result<RestoreSummary> apply_backup(const RestoreEnv& env, const FetchedArchive& fa, const std::string& backup_id,
                          const ApplyRequest& req, job::Context& ctx, int64_t job_id,
                          std::vector<std::string>& applied);

// The generated compose file of a copy or drill ("<working dir>/docker-compose.stacksnap.yml").
std::string sandbox_compose_path(const std::string& working_dir);

}  // namespace stacksnap::restore

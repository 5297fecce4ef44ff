// `stacksnap doctor` and GET /api/doctor: what stands between this installation and
// working backups and restores, each finding with what to do about it. One function for
// both front ends. It writes nothing to targets, the Engine or the data dir (the caller
// opened the state database as every command does).
//
// Checks, in this order (ids are stable, for scripts):
//   build        this binary's version, commit and build date; the catalog's schema
//   engine       the Docker Engine answers; its version and the API version spoken
//   container    only in a container (the StackSnap image): the Engine knows it, the data
//                dir is mounted from the host at the same path
//   paths:<p>    only in a container, per Compose project: its working dir, compose files
//                and bind mounts are mounted at the same path (restores write them there)
//   compose      the Compose StackSnap would run for restores: v2 ok, v1 a warning (end of
//                life), none a failure
//   data-dir     exists, is a directory of this user, mode 0700; the key, the passphrase
//                record, state.db and secrets/ readable by nobody else
//   key          a key file or a passphrase record exists (server: and is unlocked)
//   target:<t>   per target: reachable, one unretried listing (no writes)
//   clock:<t>    per S3 target: this clock against the server's Date header (SigV4
//                refuses requests more than 15 min off)
//   spool        free space where archives are staged, against the largest backup
//
// A check that cannot run because another failed (no Engine: no projects) is left out.
// Thread-safety: run_doctor may run on any thread; the env's collaborators must allow it.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "app/backup_ops.h"
#include "base/clock.h"
#include "base/error.h"
#include "catalog/catalog.h"
#include "docker/client.h"
#include "restore/compose.h"

namespace stacksnap::app {

enum class CheckState { kOk, kWarn, kFail };
std::string_view check_state_name(CheckState s);  // "ok" | "warn" | "fail"

struct Check {
  std::string id;       // "engine", "target:nas", …
  CheckState state = CheckState::kOk;
  std::string summary;  // what was found, one line
  std::string fix;      // what to do; empty when nothing
};

struct DoctorReport {
  std::vector<Check> checks;
  int failed() const;
  int warnings() const;
  bool ok() const { return failed() == 0; }
  // {"ok","failed","warnings","version","commit","build_date","checks":[{id,state,summary,fix}]}
  nlohmann::json to_json() const;
};

// Who asks: the server keeps the key in memory (a locked passphrase key stops its jobs);
// a command asks for the passphrase each time.
enum class KeyHolder { kCommand, kServer };

struct DoctorEnv {
  std::string data_dir;
  catalog::Catalog* cat = nullptr;  // null: the state database could not be opened
  std::string catalog_error;        // … and why (a failed check)
  std::function<Result<docker::Client*>()> docker;
  nlohmann::json key_status;        // KeyStore::status()
  KeyHolder key_holder = KeyHolder::kCommand;
  TargetOpener open_target;         // empty: default_target_opener()
  std::function<Result<restore::ComposeTool>()> find_compose;  // empty: restore::find_compose (cached)
  const Clock* clock = nullptr;     // empty: the system clock
};

DoctorReport run_doctor(const DoctorEnv& env);

// The "container" and "paths:<p>" checks alone; none outside a container. `serve` prints
// those that are not ok when it starts in the StackSnap image.
std::vector<Check> container_checks(const DoctorEnv& env);

// Clock skew limits (seconds): a warning above kSkewWarn, a failure above kSkewFail (S3
// refuses requests signed more than 15 minutes off).
inline constexpr int64_t kSkewWarn = 60;
inline constexpr int64_t kSkewFail = 600;
// Free space in the spool: a warning below twice the largest backup or kSpoolWarnBytes.
inline constexpr uint64_t kSpoolWarnBytes = 1ull << 30;

}  // namespace stacksnap::app

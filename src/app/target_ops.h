// Operations on a storage target that both front ends offer, in one place:
//
//  - probe_target: the connection test (`stacksnap target test NAME`, POST
//    /api/targets/{name}/test and, for an unsaved or edited config, POST /api/targets/test
//    through probe_target_config). It writes a small probe object, reads it back and
//    compares, lists it, deletes it; each step is timed. A failure is classified by kind
//    (dns, tls, access_denied, bucket_missing, clock_skew, connect, …) with a hint in
//    words a user reads.
//  - rebuild_catalog: the catalog rebuilt from what a target holds with only the key
//    (repo::rebuild_from_target), as `stacksnap backups --target NAME` and the "rebuild"
//    job (POST /api/targets/{name}/rebuild) run it; one JSON form of its report.
//  - remove_target: forgets a target (`stacksnap target remove NAME [--force]`, DELETE
//    /api/targets/{name}[?force=true]); the stored backups are never deleted.
//
// Thread-compatible; probe_target_config writes (and removes) temporary secret files
// under <data-dir>/secrets.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "app/backup_ops.h"
#include "base/error.h"
#include "catalog/catalog.h"
#include "job/context.h"
#include "repo/rebuild.h"
#include "seal/key.h"
#include "storage/target.h"

namespace stacksnap::app {

struct ProbeStep {
  std::string step;  // open | write | read | list | delete
  bool ok = false;
  int64_t ms = 0;
};

// What kind of failure an error from a target is, for the message a user reads:
// "dns" (the host name does not resolve), "tls" (certificate verification), "connect"
// (refused, timed out), "access_denied" (403: wrong keys or no permission),
// "bucket_missing", "clock_skew" (RequestTimeTooSkewed), "config" (invalid config), or
// "other".
struct FailureKind {
  std::string kind;
  std::string hint;  // what to do about it; empty for "other"
};
FailureKind classify_target_error(const Error& e);

struct ProbeResult {
  bool ok = false;
  std::string describe;  // the target as opened ("s3 https://…/bucket/prefix")
  std::vector<ProbeStep> steps;
  int64_t latency_ms = 0;
  // When !ok: the step that failed, the error's code name and message, its kind and hint.
  std::string failed_step, code, message, kind, hint;
  std::optional<Error> error;  // the failed step's error itself (its code: the CLI's exit code)

  // {"ok", "steps", "latency_ms", "describe"} or {"ok": false, "step", "code",
  // "message", "kind", "hint", "steps"} (docs/API.md, "Storage targets").
  nlohmann::json to_json() const;
};

// Opens `rec` with `open` and probes it. `on_step` (optional) hears each step as it ends.
ProbeResult probe_target(const catalog::TargetRecord& rec, const TargetOpener& open,
                         const std::function<void(const ProbeStep&)>& on_step = {});

// Probes a config that is not saved (or an edit of a saved one): validated with the rules
// of check_target_config (InvalidArgument returned, nothing probed), inline secrets
// written to temporary files that are removed afterwards. With `saved` (the target being
// edited), an s3 config that names no secret keeps the saved target's secret files
// (keep_stored_secrets), so that "Test connection" tests exactly what Save would store.
Result<ProbeResult> probe_target_config(const std::string& data_dir, const TargetOpener& open,
                                        const std::string& kind, nlohmann::json config,
                                        const catalog::TargetRecord* saved = nullptr);

// The JSON form of a rebuild report: {target, sidecars, added_backups, added_copies,
// already_known, unfinished_blobs, problems: [{key, code, message}]}.
nlohmann::json to_json(const std::string& target, const repo::RebuildReport& r);

// Rebuilds the catalog from `target_name`: opens it with `open`, reads every sidecar
// (repo::rebuild_from_target). With `ctx`, a step "rebuild" is reported and every skipped
// object becomes a warning event. NotFound for an unknown target; the target's own
// errors (PermissionDenied, Unavailable, …) with its name as context.
Result<nlohmann::json> rebuild_catalog(catalog::Catalog& cat, const std::string& target_name,
                                       const TargetOpener& open, const seal::KeySource& keys,
                                       job::Context* ctx = nullptr, const StopToken& stop = {});

// What new backups on target `name` become: "repository" or "archive" (app/targets.h).
// Backups already stored keep their format and stay restorable. NotFound for an unknown
// target; InvalidArgument for another format.
Status set_target_format(catalog::Catalog& cat, const std::string& data_dir, const std::string& name,
                         const std::string& format);

// Forgets the target `name`: its catalog row and its secret files under `data_dir`. A
// target the catalog still knows copies on is refused (FailedPrecondition naming how many)
// unless `force`, which forgets those copies too. The files on storage are left alone.
// NotFound for an unknown target. Returns the number of copies forgotten.
Result<int64_t> remove_target(catalog::Catalog& cat, const std::string& data_dir, const std::string& name,
                              bool force);

}  // namespace stacksnap::app

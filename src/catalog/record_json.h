// The one JSON form of a backup record (and of a job record): what the API, `stacksnap backups --json` and the
// sealed sidecar on a target carry. Timestamps are unix seconds (`created_at`,
// `verified_at`, `drill_at`, a copy's `uploaded_at`/`verified_at`); null when never.
#pragma once

#include <nlohmann/json.hpp>

#include "base/error.h"
#include "catalog/catalog.h"

namespace stacksnap::catalog {

struct BackupJsonOptions {
  bool copies = true;   // copies[] (not in a sidecar: a copy is stated by the target that holds it)
  bool details = true;  // summary and drill_details (the list views leave them out)
};

Json to_json(const CopyRecord& c);
// {id, kind, project, backup_id, state, created_at, started_at, finished_at, error_code,
// error, summary, params}
Json to_json(const JobRecord& r);
Json to_json(const BackupRecord& b, BackupJsonOptions opts = {});

// The inverse, for what was written by to_json (the sealed record in a sidecar, which has
// always carried created_at). DataLoss naming the field when a required one is missing
// or of the wrong type.
Result<BackupRecord> backup_from_json(const Json& j);

}  // namespace stacksnap::catalog

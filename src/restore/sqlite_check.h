// After the files of a restore or drill are in place and before any container starts:
// every SQLite database the backup captured with a snapshot (manifest "sqlite" records of
// its volumes and bind mounts) is opened where it was restored and checked
// (sqlite/check.h): no stale -wal/-shm/-journal beside it, integrity_check ok, row counts
// per table equal to those counted at capture. Databases captured as plain files are
// listed, not checked (their consistency was not established at capture).
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "archive/manifest.h"
#include "docker/client.h"
#include "job/context.h"
#include "restore/placement.h"

namespace stacksnap::restore {

struct SqliteCheck {
  std::vector<std::string> problems;  // "volume x: app.db: integrity_check: …"
  // [{where, path, mechanism, checked, integrity, tables, problems}]
  nlohmann::json databases = nlohmann::json::array();
};

// True when some volume or bind mount of the manifest lists SQLite databases.
bool has_sqlite_records(const archive::Manifest& manifest);

Result<SqliteCheck> check_restored_sqlite(docker::Client& docker, const Placement& placement,
                                          const archive::Manifest& manifest, job::Context& ctx);

}  // namespace stacksnap::restore

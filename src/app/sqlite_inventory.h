// The SQLite databases of a Compose project that a backup would capture, found by a
// bounded walk of the host paths of the volumes and bind mounts its plan includes
// (sqlite/scan.h): what `stacksnap projects` (table and --json) and
// GET /api/projects/{name} show, with the services that mount them and how the next
// backup captures each one (snapshot or plain files, and why).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "docker/client.h"
#include "sqlite/scan.h"
#include "stack/model.h"

namespace stacksnap::app {

struct SqliteFound {
  std::string tree;       // "volume" | "bind"
  std::string source;     // the volume's name / the bind mount's host path
  std::string path;       // below the volume or bind root ("" when the bind is the file)
  uint64_t bytes = 0;
  std::string journal_mode;            // "wal" | "rollback" | "" (unknown)
  bool has_wal = false, has_journal = false;
  std::vector<std::string> used_by;    // "service:/path/in/container"
  std::string capture;                 // "online-backup" | "files"
  std::string reason;                  // capture "files": why
};

struct SqliteInventory {
  std::vector<SqliteFound> databases;
  std::vector<std::string> notes;  // trees not reachable from here, walks cut short
};

// Never fails: what cannot be looked at becomes a note.
SqliteInventory find_sqlite_databases(docker::Client& docker, const stack::Project& project,
                                      const sqlite::ScanLimits& limits = {});

// {"databases": [{tree, source, path, bytes, journal_mode, has_wal, has_journal, used_by,
// capture, reason?}], "notes": […]} (docs/CLI.md, "projects").
nlohmann::ordered_json to_json(const SqliteInventory& inventory);

// A project as `stacksnap projects --json` lists it and GET /api/projects/{name} shows it
// under "project": the Compose model (stack/model_json.h) with "sqlite" (above).
nlohmann::ordered_json project_json(docker::Client& docker, const stack::Project& project);

}  // namespace stacksnap::app

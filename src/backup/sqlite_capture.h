// SQLite databases in a volume or bind mount, captured consistently while the app keeps
// running (docs/adr/0009-sqlite-capture.md): a filter on the Engine's tar stream of the
// tree recognises each database by its 16-byte header as it passes, replaces its bytes
// with a snapshot taken through the host path (sqlite/snapshot.h) and leaves out its
// -wal, -shm and -journal files (the Engine's walk is lexical, so they come after it).
//
// A database is captured as plain files, as before, when the tree is not reachable on
// this host (remote Engine, volume driver other than local), when a service's
// `stacksnap.sqlite.exclude` pattern names it, when a bind mount is the database file
// itself (its -wal lives in the container), or when the snapshot fails (locked past the
// timeout, damaged): the job log warns and the manifest says which and why.
//
// Thread-safety: one filter per tree, driven by the archive writer's thread.
#pragma once

#include <chrono>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "archive/writer.h"
#include "docker/host_path.h"
#include "job/context.h"
#include "sqlite/snapshot.h"

namespace stacksnap::backup {

struct SqliteCaptureOptions {
  docker::HostPath tree;  // where the tree is on this host (docker/host_path.h)
  std::vector<std::string> exclude;          // the using services' label patterns
  std::vector<std::string> include;          // … of stacksnap.sqlite.include (override exclude)
  std::vector<std::string> container_roots;  // where the services mount the tree ("/config")
  std::string scratch_dir;                   // the spool: encrypted copies live there
  std::chrono::milliseconds busy_timeout{10000};
  bool apps_paused = false;  // Safe Mode: the plain files of a frozen app are consistent
};

// Why a database at `relative` below the tree is captured as plain files ("" when it gets
// a snapshot): excluded by a label pattern (unless an include pattern names it too),
// tree not reachable here, a single-file bind.
std::string sqlite_fallback_reason(const SqliteCaptureOptions& options, std::string_view relative);

class SqliteCapture final : public archive::TarEntryFilter {
 public:
  // `what`: "volume shop_data" / "bind mount /srv/x", for the job log.
  SqliteCapture(SqliteCaptureOptions options, job::Context& ctx, std::string what, std::string step);
  Result<Decision> on_file(std::string_view relative, const archive::EntryMeta& meta, Bytes head) override;

  // {"sqlite": [facts…]} for the manifest's volume or bind record; {} without databases.
  nlohmann::json manifest_extra() const;

 private:
  SqliteCaptureOptions o_;
  job::Context& ctx_;
  std::string what_, step_;
  std::vector<sqlite::DatabaseFacts> found_;
  std::set<std::string, std::less<>> replaced_;  // databases whose companions are left out
  std::unique_ptr<sqlite::Snapshot> current_;    // the copy being written
};

}  // namespace stacksnap::backup

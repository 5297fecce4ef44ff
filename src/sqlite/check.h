// The check a restore or drill runs on every database the backup captured with a
// snapshot, after the files are restored and before any container starts: the restored
// file alone (no -wal, -shm or -journal beside it), `PRAGMA integrity_check` says ok, and
// each table has the row count the manifest recorded at capture.
//
// The file is opened read-only as immutable (no lock, no -wal/-shm created, nothing
// written): what the app will open is left exactly as restored.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "base/error.h"
#include "sqlite/snapshot.h"

namespace stacksnap::sqlite {

// At most this many messages of integrity_check are kept.
inline constexpr int kIntegrityMessages = 10;

struct CheckOutcome {
  std::string integrity;                  // "ok", or integrity_check's messages joined
  std::map<std::string, int64_t> tables;  // as restored
  std::vector<std::string> problems;      // worded for a user, without the database's name
  bool ok() const { return problems.empty(); }
};

// `root`/`relative` as in resolve_beneath (no symlink followed). NotFound when the file
// is missing; a database that does not open or is damaged is an outcome with problems,
// not an error.
Result<CheckOutcome> check_restored(const std::string& root, const std::string& relative,
                                    const DatabaseFacts& expected);

// "file:/a%20b/app.db?immutable=1"
std::string immutable_uri(const std::string& path);

}  // namespace stacksnap::sqlite

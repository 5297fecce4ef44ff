// The few SQLite calls the snapshot and the restore check make, with owning handles and
// errors worded for a user ("app.db: database disk image is malformed").
#pragma once

#include <sqlite3.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"

namespace stacksnap::sqlite {

struct ConnectionCloser {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
using Connection = std::unique_ptr<sqlite3, ConnectionCloser>;

// Error for an SQLite result code: BUSY/LOCKED → Unavailable, CORRUPT/NOTADB → DataLoss,
// CANTOPEN → NotFound, PERM/AUTH/READONLY → PermissionDenied, FULL → ResourceExhausted,
// INTERRUPT → Cancelled, else Internal. `what` starts the message.
Error error_from(sqlite3* db, int rc, std::string_view what);

// sqlite3_open_v2 with extended result codes; the error names `shown`.
Result<Connection> open(const std::string& filename, int flags, const char* vfs, std::string_view shown);

// Runs statements that return no rows.
Status exec(sqlite3* db, std::string_view sql, std::string_view what);

// The first column of every row, as text (NULL as "").
Result<std::vector<std::string>> column_text(sqlite3* db, std::string_view sql, std::string_view what);
// The first column of the first row as an integer.
Result<int64_t> scalar(sqlite3* db, std::string_view sql, std::string_view what);

// "name" quoted as an SQL identifier.
std::string quote_identifier(std::string_view name);

// Ordinary tables (virtual tables need their module and are left out), sorted by name.
Result<std::vector<std::string>> table_names(sqlite3* db, std::string_view what);

}  // namespace stacksnap::sqlite

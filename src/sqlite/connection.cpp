#include "sqlite/connection.h"

namespace stacksnap::sqlite {

Error error_from(sqlite3* db, int rc, std::string_view what) {
  std::string msg = std::string(what) + ": " + (db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED: return unavailable(msg);
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB: return data_loss(msg);
    case SQLITE_CANTOPEN: return not_found(msg);
    case SQLITE_PERM:
    case SQLITE_AUTH:
    case SQLITE_READONLY: return permission_denied(msg);
    case SQLITE_FULL: return resource_exhausted(msg);
    case SQLITE_INTERRUPT: return cancelled(msg);
    default: return internal_error(msg);
  }
}

Result<Connection> open(const std::string& filename, int flags, const char* vfs, std::string_view shown) {
  sqlite3* raw = nullptr;
  int rc = sqlite3_open_v2(filename.c_str(), &raw, flags, vfs);
  Connection db(raw);
  if (rc != SQLITE_OK) return error_from(raw, rc, "open " + std::string(shown));
  sqlite3_extended_result_codes(raw, 1);
  return db;
}

Status exec(sqlite3* db, std::string_view sql, std::string_view what) {
  char* err = nullptr;
  const std::string s(sql);
  int rc = sqlite3_exec(db, s.c_str(), nullptr, nullptr, &err);
  if (rc == SQLITE_OK) return {};
  sqlite3_free(err);
  return error_from(db, rc, what);
}

namespace {

struct StmtCloser {
  void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
};
using Stmt = std::unique_ptr<sqlite3_stmt, StmtCloser>;

Result<Stmt> prepare(sqlite3* db, std::string_view sql, std::string_view what) {
  sqlite3_stmt* raw = nullptr;
  int rc = sqlite3_prepare_v2(db, sql.data(), static_cast<int>(sql.size()), &raw, nullptr);
  Stmt s(raw);
  if (rc != SQLITE_OK) return error_from(db, rc, what);
  return s;
}

}  // namespace

Result<std::vector<std::string>> column_text(sqlite3* db, std::string_view sql, std::string_view what) {
  auto s = TRY(prepare(db, sql, what));
  std::vector<std::string> out;
  for (;;) {
    int rc = sqlite3_step(s.get());
    if (rc == SQLITE_DONE) break;
    if (rc != SQLITE_ROW) return error_from(db, rc, what);
    const unsigned char* t = sqlite3_column_text(s.get(), 0);
    out.emplace_back(t ? reinterpret_cast<const char*>(t) : "");
  }
  return out;
}

Result<int64_t> scalar(sqlite3* db, std::string_view sql, std::string_view what) {
  auto s = TRY(prepare(db, sql, what));
  int rc = sqlite3_step(s.get());
  if (rc != SQLITE_ROW) return rc == SQLITE_DONE ? internal_error(std::string(what) + ": no result") : error_from(db, rc, what);
  return static_cast<int64_t>(sqlite3_column_int64(s.get(), 0));
}

std::string quote_identifier(std::string_view name) {
  std::string out = "\"";
  for (char c : name) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

Result<std::vector<std::string>> table_names(sqlite3* db, std::string_view what) {
  return column_text(db,
                     "SELECT name FROM sqlite_master WHERE type = 'table' AND "
                     "coalesce(sql, '') NOT LIKE 'CREATE VIRTUAL TABLE%' ORDER BY name",
                     what);
}

}  // namespace stacksnap::sqlite

#include "catalog/sqlite.h"

#include <sqlite3.h>
#include <sys/stat.h>

#include <utility>

namespace stacksnap::catalog {

Error sqlite_error(sqlite3* db, int rc, std::string_view what) {
  std::string msg = std::string(what) + ": " + (db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED: return unavailable(msg + " (the state database is busy)");
    case SQLITE_FULL: return resource_exhausted(msg);
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB: return data_loss(msg);
    case SQLITE_CANTOPEN:
    case SQLITE_PERM:
    case SQLITE_READONLY: return permission_denied(msg);
    case SQLITE_CONSTRAINT: return already_exists(msg);
    default: return internal_error(msg);
  }
}

Stmt::Stmt(Stmt&& o) noexcept : db_(o.db_), s_(std::exchange(o.s_, nullptr)), sql_(std::move(o.sql_)) {}
Stmt::~Stmt() {
  if (s_) sqlite3_finalize(s_);
}

Stmt& Stmt::bind(int i, int64_t v) {
  sqlite3_bind_int64(s_, i, v);
  return *this;
}
Stmt& Stmt::bind(int i, double v) {
  sqlite3_bind_double(s_, i, v);
  return *this;
}
Stmt& Stmt::bind(int i, std::string_view v) {
  sqlite3_bind_text(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
  return *this;
}
Stmt& Stmt::bind_null(int i) {
  sqlite3_bind_null(s_, i);
  return *this;
}

Result<bool> Stmt::step() {
  int rc = sqlite3_step(s_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return sqlite_error(db_, rc, "state database: " + sql_.substr(0, 60));
}

Status Stmt::exec() {
  while (TRY(step())) {
  }
  return {};
}

int64_t Stmt::col_int(int i) const { return sqlite3_column_int64(s_, i); }
double Stmt::col_double(int i) const { return sqlite3_column_double(s_, i); }
std::string Stmt::col_text(int i) const {
  const unsigned char* t = sqlite3_column_text(s_, i);
  return t ? std::string(reinterpret_cast<const char*>(t), static_cast<size_t>(sqlite3_column_bytes(s_, i)))
           : std::string();
}
bool Stmt::col_null(int i) const { return sqlite3_column_type(s_, i) == SQLITE_NULL; }

Result<std::unique_ptr<Db>> Db::open(const std::string& path) {
  sqlite3* db = nullptr;
  mode_t old = ::umask(0077);
  int rc = sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                           nullptr);
  ::umask(old);
  if (rc != SQLITE_OK) {
    Error e = sqlite_error(db, rc, "open state database " + path);
    sqlite3_close(db);
    return e;
  }
  ::chmod(path.c_str(), 0600);
  sqlite3_busy_timeout(db, 10000);
  std::unique_ptr<Db> out(new Db(db, path));
  TRY(out->exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;"));
  return out;
}

Db::~Db() { sqlite3_close_v2(db_); }

Result<Stmt> Db::prepare(std::string_view sql) {
  sqlite3_stmt* s = nullptr;
  int rc = sqlite3_prepare_v2(db_, sql.data(), static_cast<int>(sql.size()), &s, nullptr);
  if (rc != SQLITE_OK) return sqlite_error(db_, rc, "prepare: " + std::string(sql.substr(0, 60)));
  return Stmt(db_, s, std::string(sql));
}

Status Db::exec(std::string_view sql) {
  char* err = nullptr;
  std::string s(sql);
  int rc = sqlite3_exec(db_, s.c_str(), nullptr, nullptr, &err);
  if (rc != SQLITE_OK) {
    std::string msg = err ? err : sqlite3_errstr(rc);
    sqlite3_free(err);
    return sqlite_error(nullptr, rc, "state database: " + msg);
  }
  return {};
}

int64_t Db::last_insert_id() const { return sqlite3_last_insert_rowid(db_); }
int Db::changes() const { return sqlite3_changes(db_); }

Result<Transaction> Transaction::begin(Db& db) {
  TRY(db.exec("BEGIN IMMEDIATE"));
  return Transaction(db);
}
Transaction::~Transaction() {
  if (db_) (void)db_->exec("ROLLBACK");
}
Status Transaction::commit() {
  Db* db = std::exchange(db_, nullptr);
  return db->exec("COMMIT");
}

}  // namespace stacksnap::catalog

// Thin owning wrappers over SQLite 3: a connection and prepared statements.
// Errors come back as Error with the statement's SQL context; SQLITE_BUSY after the
// busy timeout → Unavailable, SQLITE_FULL → ResourceExhausted, SQLITE_CORRUPT → DataLoss.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "base/error.h"

struct sqlite3;
struct sqlite3_stmt;

namespace stacksnap::catalog {

class Stmt {
 public:
  Stmt(sqlite3* db, sqlite3_stmt* s, std::string sql) : db_(db), s_(s), sql_(std::move(sql)) {}
  Stmt(Stmt&& o) noexcept;
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;
  ~Stmt();

  // Bind by 1-based index. Null for std::nullopt.
  Stmt& bind(int i, int64_t v);
  Stmt& bind(int i, double v);
  Stmt& bind(int i, std::string_view v);
  Stmt& bind(int i, const char* v) { return bind(i, std::string_view(v)); }
  Stmt& bind(int i, const std::string& v) { return bind(i, std::string_view(v)); }
  Stmt& bind_null(int i);
  template <class T>
  Stmt& bind(int i, const std::optional<T>& v) {
    return v ? bind(i, *v) : bind_null(i);
  }

  // true: a row is ready; false: done.
  Result<bool> step();
  // Runs to completion (INSERT/UPDATE/DELETE).
  Status exec();

  int64_t col_int(int i) const;
  double col_double(int i) const;
  std::string col_text(int i) const;
  bool col_null(int i) const;

 private:
  sqlite3* db_;
  sqlite3_stmt* s_;
  std::string sql_;
};

class Db {
 public:
  // Opens (creating) the database file with WAL and a busy timeout; mode 0600.
  static Result<std::unique_ptr<Db>> open(const std::string& path);
  ~Db();

  Result<Stmt> prepare(std::string_view sql);
  // Runs one or more statements without results.
  Status exec(std::string_view sql);
  int64_t last_insert_id() const;
  int changes() const;
  const std::string& path() const { return path_; }

 private:
  Db(sqlite3* db, std::string path) : db_(db), path_(std::move(path)) {}
  sqlite3* db_;
  std::string path_;
};

// Error from an SQLite result code with context.
Error sqlite_error(sqlite3* db, int rc, std::string_view what);

// BEGIN IMMEDIATE … COMMIT; rolls back when destroyed uncommitted.
class Transaction {
 public:
  static Result<Transaction> begin(Db& db);
  Transaction(Transaction&& o) noexcept : db_(std::exchange(o.db_, nullptr)) {}
  ~Transaction();
  Status commit();

 private:
  explicit Transaction(Db& db) : db_(&db) {}
  Db* db_;
};

}  // namespace stacksnap::catalog

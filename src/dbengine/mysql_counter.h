// Counts rows per table in a mysqldump/mariadb-dump SQL stream as it passes, so the
// counts describe the dump itself (the dump's consistent snapshot), not the live
// database a moment later. Memory is bounded: only the first bytes of each line are
// kept. Relies on the dump tools' layout: one statement per `INSERT INTO` line (string
// newlines are escaped as \n), `USE `db`;` before each database's tables.
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "base/stream.h"
#include "dbengine/engine.h"

namespace stacksnap::dbengine {

class MysqlRowCounter final : public Writer {
 public:
  Status write(Bytes data) override;
  // Counts of user tables (system schemas excluded), sorted by database, table.
  std::vector<TableCount> counts() const;
  // Databases seen (system schemas excluded).
  std::vector<std::string> databases() const;

 private:
  void on_line_head();  // the head of a new line is complete (or the line ended)
  void scan_values(char c);

  static constexpr size_t kHeadMax = 512;
  std::string head_;       // first bytes of the current line
  bool head_done_ = false;
  bool in_insert_ = false;  // counting tuples of the current INSERT line
  // tuple scanner state
  int depth_ = 0;
  bool in_string_ = false;
  bool escape_ = false;
  bool quote_pending_ = false;  // saw a quote inside a string: end, or '' escape?
  bool values_started_ = false;
  std::string db_;
  std::string table_;
  std::map<std::pair<std::string, std::string>, int64_t> counts_;
};

bool is_mysql_system_schema(const std::string& db);
// `name` with backticks doubled, inside backticks.
std::string mysql_quote_ident(const std::string& name);

}  // namespace stacksnap::dbengine

#include "dbengine/mysql_counter.h"

#include <set>

namespace stacksnap::dbengine {

bool is_mysql_system_schema(const std::string& db) {
  static const std::set<std::string> kSystem = {"mysql", "sys", "performance_schema", "information_schema"};
  return kSystem.count(db) > 0;
}

std::string mysql_quote_ident(const std::string& name) {
  std::string out = "`";
  for (char c : name) {
    out += c;
    if (c == '`') out += '`';
  }
  return out + "`";
}

namespace {
// Parses a backtick-quoted identifier at s[pos]; returns it and advances pos.
bool parse_ident(const std::string& s, size_t& pos, std::string& out) {
  if (pos >= s.size() || s[pos] != '`') return false;
  out.clear();
  for (size_t i = pos + 1; i < s.size(); ++i) {
    if (s[i] == '`') {
      if (i + 1 < s.size() && s[i + 1] == '`') {
        out += '`';
        ++i;
        continue;
      }
      pos = i + 1;
      return true;
    }
    out += s[i];
  }
  return false;  // cut by the head limit
}
bool starts_with(const std::string& s, const char* p) { return s.rfind(p, 0) == 0; }
}  // namespace

void MysqlRowCounter::on_line_head() {
  head_done_ = true;
  if (starts_with(head_, "USE `")) {
    size_t pos = 4;
    std::string db;
    if (parse_ident(head_, pos, db)) db_ = db;
  } else if (starts_with(head_, "CREATE TABLE `")) {
    size_t pos = 13;
    std::string t;
    if (parse_ident(head_, pos, t)) counts_.try_emplace({db_, t}, 0);
  } else if (starts_with(head_, "INSERT INTO `")) {
    size_t pos = 12;
    std::string t;
    if (parse_ident(head_, pos, t)) {
      table_ = t;
      counts_.try_emplace({db_, t}, 0);
      in_insert_ = true;
      depth_ = 0;
      in_string_ = escape_ = quote_pending_ = values_started_ = false;
      // Re-scan what the head already holds past the table name.
      size_t v = head_.find(" VALUES", pos);
      if (v != std::string::npos) {
        values_started_ = true;
        for (size_t i = v + 7; i < head_.size() && in_insert_; ++i) {
          scan_values(head_[i]);
          if (head_[i] == ';' && !in_string_ && !quote_pending_ && depth_ == 0) in_insert_ = false;
        }
      }
    }
  }
}

void MysqlRowCounter::scan_values(char c) {
  if (in_string_) {
    if (quote_pending_) {
      quote_pending_ = false;
      if (c == '\'') return;  // '' inside a string
      in_string_ = false;     // the quote closed the string; c is outside
    } else if (escape_) {
      escape_ = false;
      return;
    } else if (c == '\\') {
      escape_ = true;
      return;
    } else if (c == '\'') {
      quote_pending_ = true;
      return;
    } else {
      return;
    }
  }
  if (c == '\'') {
    in_string_ = true;
  } else if (c == '(') {
    if (depth_ == 0) ++counts_[{db_, table_}];
    ++depth_;
  } else if (c == ')') {
    if (depth_ > 0) --depth_;
  }
}

// Statements, not lines: mariadb-dump ≥ 10.11 writes "INSERT INTO `t` VALUES" and then
// one tuple per line; older dumps put the whole INSERT on one line. An INSERT ends at
// a ';' outside strings and parentheses.
Status MysqlRowCounter::write(Bytes data) {
  for (std::byte b : data) {
    char c = static_cast<char>(b);
    if (in_insert_ && head_done_) {
      scan_values(c);
      if (c == ';' && !in_string_ && !quote_pending_ && depth_ == 0) in_insert_ = false;  // rest of line ignored
      continue;
    }
    if (c == '\n') {
      if (!head_done_) on_line_head();
      if (in_insert_) continue;  // the statement goes on on the next line
      head_.clear();
      head_done_ = false;
      continue;
    }
    if (!head_done_) {
      head_ += c;
      if (head_.size() >= kHeadMax) on_line_head();
    }
  }
  return {};
}

std::vector<TableCount> MysqlRowCounter::counts() const {
  std::vector<TableCount> out;
  for (const auto& [k, n] : counts_) {
    if (is_mysql_system_schema(k.first) || k.first.empty()) continue;
    out.push_back({k.first, k.second, n});
  }
  return out;
}

std::vector<std::string> MysqlRowCounter::databases() const {
  std::set<std::string> dbs;
  for (const auto& [k, n] : counts_) {
    if (!is_mysql_system_schema(k.first) && !k.first.empty()) dbs.insert(k.first);
  }
  return {dbs.begin(), dbs.end()};
}

}  // namespace stacksnap::dbengine

#include "http/auth_store.h"

#include <algorithm>

namespace stacksnap::http {

using catalog::Stmt;

Result<std::optional<UserRecord>> AuthStore::get_user(const std::string& name) {
  auto s = TRY(db_.prepare("SELECT name, password_hash, created_at, updated_at FROM users WHERE name = ?"));
  s.bind(1, name);
  if (!TRY(s.step())) return std::optional<UserRecord>();
  return std::optional<UserRecord>(UserRecord{s.col_text(0), s.col_text(1), s.col_int(2), s.col_int(3)});
}

Result<bool> AuthStore::has_users() {
  auto s = TRY(db_.prepare("SELECT EXISTS (SELECT 1 FROM users)"));
  TRY(s.step());
  return s.col_int(0) != 0;
}

Status AuthStore::create_user(const UserRecord& u) {
  auto s = TRY(db_.prepare("INSERT INTO users (name, password_hash, created_at, updated_at) VALUES (?, ?, ?, ?)"));
  s.bind(1, u.name).bind(2, u.password_hash).bind(3, u.created_at).bind(4, u.updated_at);
  auto st = s.exec();
  if (!st.ok() && st.error().code() == Code::kAlreadyExists) return already_exists("user '" + u.name + "' already exists");
  return st;
}

Status AuthStore::set_password_hash(const std::string& name, const std::string& hash, int64_t at) {
  auto s = TRY(db_.prepare("UPDATE users SET password_hash = ?, updated_at = ? WHERE name = ? RETURNING name"));
  s.bind(1, hash).bind(2, at).bind(3, name);
  bool found = TRY(s.step());
  TRY(s.exec());
  if (!found) return not_found("no user '" + name + "'");
  return {};
}

Status AuthStore::insert_session(const SessionRecord& r) {
  auto s = TRY(db_.prepare(
      "INSERT INTO sessions (token_hash, user, csrf_token, created_at, expires_at, last_seen) VALUES (?,?,?,?,?,?)"));
  s.bind(1, r.token_hash).bind(2, r.user).bind(3, r.csrf_token).bind(4, r.created_at).bind(5, r.expires_at);
  s.bind(6, r.last_seen);
  return s.exec();
}

Result<std::optional<SessionRecord>> AuthStore::get_session(const std::string& token_hash) {
  auto s = TRY(db_.prepare(
      "SELECT token_hash, user, csrf_token, created_at, expires_at, last_seen FROM sessions WHERE token_hash = ?"));
  s.bind(1, token_hash);
  if (!TRY(s.step())) return std::optional<SessionRecord>();
  return std::optional<SessionRecord>(
      SessionRecord{s.col_text(0), s.col_text(1), s.col_text(2), s.col_int(3), s.col_int(4), s.col_int(5)});
}

Status AuthStore::touch_session(const std::string& token_hash, int64_t at) {
  auto s = TRY(db_.prepare("UPDATE sessions SET last_seen = ? WHERE token_hash = ?"));
  s.bind(1, at).bind(2, token_hash);
  return s.exec();
}

Status AuthStore::delete_session(const std::string& token_hash) {
  auto s = TRY(db_.prepare("DELETE FROM sessions WHERE token_hash = ?"));
  s.bind(1, token_hash);
  return s.exec();
}

Status AuthStore::delete_other_sessions(const std::string& user, const std::string& keep_hash) {
  auto s = TRY(db_.prepare("DELETE FROM sessions WHERE user = ? AND token_hash <> ?"));
  s.bind(1, user).bind(2, keep_hash);
  return s.exec();
}

Status AuthStore::delete_all_sessions() { return db_.exec("DELETE FROM sessions"); }

Status AuthStore::prune_sessions(const std::string& user, int64_t now, int64_t idle_s, size_t keep) {
  auto expired = TRY(db_.prepare("DELETE FROM sessions WHERE expires_at <= ?1 OR last_seen <= ?1 - ?2"));
  expired.bind(1, now).bind(2, idle_s);
  TRY(expired.exec());
  auto excess = TRY(db_.prepare(
      "DELETE FROM sessions WHERE token_hash IN (SELECT token_hash FROM sessions WHERE user = ? "
      "ORDER BY last_seen DESC, created_at DESC LIMIT -1 OFFSET ?)"));
  excess.bind(1, user).bind(2, static_cast<int64_t>(keep));
  return excess.exec();
}

Result<int64_t> AuthStore::insert_token(const std::string& name, const std::string& token_hash,
                                        const std::string& prefix, int64_t at) {
  auto s = TRY(db_.prepare(
      "INSERT INTO api_tokens (name, token_hash, prefix, created_at) VALUES (?, ?, ?, ?) RETURNING id"));
  s.bind(1, name).bind(2, token_hash).bind(3, prefix).bind(4, at);
  if (!TRY(s.step())) return internal_error("insert API token: no id returned");
  int64_t id = s.col_int(0);
  TRY(s.exec());
  return id;
}

Result<std::optional<int64_t>> AuthStore::find_active_token(const std::string& token_hash) {
  auto s = TRY(db_.prepare("SELECT id FROM api_tokens WHERE token_hash = ? AND revoked_at = 0"));
  s.bind(1, token_hash);
  if (!TRY(s.step())) return std::optional<int64_t>();
  return std::optional<int64_t>(s.col_int(0));
}

Status AuthStore::touch_token(int64_t id, int64_t at) {
  auto s = TRY(db_.prepare("UPDATE api_tokens SET last_used = ? WHERE id = ?"));
  s.bind(1, at).bind(2, id);
  return s.exec();
}

Result<std::vector<ApiTokenRecord>> AuthStore::list_active_tokens() {
  auto s = TRY(db_.prepare(
      "SELECT id, name, prefix, created_at, last_used FROM api_tokens WHERE revoked_at = 0 ORDER BY id"));
  std::vector<ApiTokenRecord> out;
  while (TRY(s.step())) out.push_back({s.col_int(0), s.col_text(1), s.col_text(2), s.col_int(3), s.col_int(4)});
  return out;
}

Result<int64_t> AuthStore::count_active_tokens() {
  auto s = TRY(db_.prepare("SELECT COUNT(*) FROM api_tokens WHERE revoked_at = 0"));
  TRY(s.step());
  return s.col_int(0);
}

Result<bool> AuthStore::revoke_token(int64_t id, int64_t at) {
  auto s = TRY(db_.prepare("UPDATE api_tokens SET revoked_at = ? WHERE id = ? AND revoked_at = 0 RETURNING id"));
  s.bind(1, std::max<int64_t>(at, 1)).bind(2, id);
  bool found = TRY(s.step());
  TRY(s.exec());
  return found;
}

Status AuthStore::revoke_all_tokens(int64_t at) {
  auto s = TRY(db_.prepare("UPDATE api_tokens SET revoked_at = ? WHERE revoked_at = 0"));
  s.bind(1, std::max<int64_t>(at, 1));
  return s.exec();
}

}  // namespace stacksnap::http

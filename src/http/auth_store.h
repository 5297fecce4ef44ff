// Data access for the server's accounts: users, sessions and API tokens (catalog schema
// v2). Only digests of session and API tokens are stored, never the tokens.
//
// Thread-safe as far as catalog::Db is (serialized mode). Uses RETURNING instead of
// changes()/last_insert_id(), which are per connection and racy when it is shared.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/error.h"
#include "catalog/sqlite.h"

namespace stacksnap::http {

struct UserRecord {
  std::string name;
  std::string password_hash;  // libsodium crypto_pwhash_str (Argon2id, encoded parameters)
  int64_t created_at = 0;
  int64_t updated_at = 0;
};

struct SessionRecord {
  std::string token_hash;  // SHA-256 hex of the cookie's token
  std::string user;
  std::string csrf_token;
  int64_t created_at = 0;
  int64_t expires_at = 0;  // absolute expiry (unix seconds)
  int64_t last_seen = 0;
};

struct ApiTokenRecord {
  int64_t id = 0;
  std::string name;
  std::string prefix;  // "ss_1a2b3c4d": enough to recognise a token, useless to use it
  int64_t created_at = 0;
  int64_t last_used = 0;
};

class AuthStore {
 public:
  explicit AuthStore(catalog::Db& db) : db_(db) {}

  Result<std::optional<UserRecord>> get_user(const std::string& name);
  Result<bool> has_users();
  // AlreadyExists when the name is taken (the once-only setup relies on this).
  Status create_user(const UserRecord& u);
  // NotFound when there is no such user.
  Status set_password_hash(const std::string& name, const std::string& hash, int64_t at);

  Status insert_session(const SessionRecord& s);
  Result<std::optional<SessionRecord>> get_session(const std::string& token_hash);
  Status touch_session(const std::string& token_hash, int64_t at);
  Status delete_session(const std::string& token_hash);
  // Every session of `user` but `keep_hash` (password change).
  Status delete_other_sessions(const std::string& user, const std::string& keep_hash);
  Status delete_all_sessions();
  // Sessions past their absolute expiry or idle longer than idle_s; then, if `user`
  // still has more than `keep` sessions, the least recently seen ones.
  Status prune_sessions(const std::string& user, int64_t now, int64_t idle_s, size_t keep);

  // Returns the new token's id.
  Result<int64_t> insert_token(const std::string& name, const std::string& token_hash, const std::string& prefix,
                               int64_t at);
  // The id of the active (not revoked) token with this digest.
  Result<std::optional<int64_t>> find_active_token(const std::string& token_hash);
  Status touch_token(int64_t id, int64_t at);
  Result<std::vector<ApiTokenRecord>> list_active_tokens();
  Result<int64_t> count_active_tokens();
  // false when there is no active token with this id.
  Result<bool> revoke_token(int64_t id, int64_t at);
  Status revoke_all_tokens(int64_t at);

 private:
  catalog::Db& db_;
};

}  // namespace stacksnap::http

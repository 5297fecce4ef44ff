// Authentication of the appliance's one account ("admin"): the once-only setup (claimed
// with a one-time setup token), password login into cookie sessions with a CSRF token,
// API tokens for scripts.
//
//  - Setup token: prepare_setup_token() writes 32 random hex digits, mode 0600, to
//    AuthOptions::setup_token_file (`serve` uses <data-dir>/setup-token and prints the
//    setup URL) while no admin exists; setup() needs it (PermissionDenied without it) and
//    removes the file when the admin is created. Whoever can read the data dir (root) is
//    who may claim the appliance; a page or process that merely reaches the port cannot.
//  - Passwords: Argon2id via libsodium crypto_pwhash_str, INTERACTIVE limits by default
//    (64 MiB, 2 passes, ~0.1 s): the login is online and rate-limited, the appliance is
//    small, and concurrent logins multiply the memory; MODERATE (256 MiB, ~0.7 s each)
//    would let a handful of parallel attempts take a GiB. Hashes carry their parameters;
//    a login with older parameters rehashes. Length: 10…1024 bytes.
//  - Sessions: a random 32-byte token in the cookie `stacksnap_session` (HttpOnly,
//    SameSite=Strict, Path=/, Secure over TLS or with AuthOptions::secure_cookies); only
//    its SHA-256 is stored. A session ends after 12 h idle or 7 days, at logout, or when
//    the password changes (other sessions). Each has a random CSRF token that mutating
//    requests echo in X-CSRF-Token. Ended sessions and tokens are announced on the
//    CredentialWatch, so open event streams close at once.
//  - API tokens: "ss_" + 64 hex chars, shown once at creation; stored as SHA-256; sent as
//    "Authorization: Bearer ss_…"; no CSRF token needed (browsers never send them).
//
// No secret (password, token, cookie value) is ever logged or put in an error message.
// Thread-safe.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "base/clock.h"
#include "base/error.h"
#include "catalog/sqlite.h"
#include "http/auth_store.h"
#include "http/credential_watch.h"
#include "http/router.h"

namespace stacksnap::http {

struct PasswordHashCost {
  unsigned long long opslimit;
  size_t memlimit;
  static PasswordHashCost interactive();
  static PasswordHashCost minimum();  // tests only
};

struct AuthOptions {
  std::chrono::seconds session_idle{12 * 3600};
  std::chrono::seconds session_lifetime{7 * 24 * 3600};
  std::chrono::seconds touch_interval{60};  // last_seen/last_used are written at most this often
  size_t min_password = 10;
  size_t max_password = 1024;
  size_t max_sessions = 32;  // per user; a new login drops the least recently used beyond this
  size_t max_tokens = 100;
  PasswordHashCost cost = PasswordHashCost::interactive();
  std::string setup_token_file;  // empty: setup() is refused (no token can be shown)
  bool secure_cookies = false;   // Secure even over plain HTTP (behind a TLS proxy)
};

// Whether a password change also revokes every API token.
enum class RevokeTokens { kNo, kYes };

class AuthService final : public Authenticator {
 public:
  static constexpr const char* kAdmin = "admin";
  static constexpr const char* kSessionCookie = "stacksnap_session";
  static constexpr const char* kTokenPrefix = "ss_";

  AuthService(catalog::Db& db, const Clock& clock, AuthOptions options = {});
  ~AuthService() override;  // writes the last recorded activity
  AuthService(const AuthService&) = delete;
  AuthService& operator=(const AuthService&) = delete;

  // true until the admin password has been set.
  Result<bool> needs_setup();
  // While no admin exists: the setup token, from setup_token_file or newly written there
  // (0600). Once an admin exists: removes a leftover file and returns "".
  Result<std::string> prepare_setup_token();
  // Sets the admin password, once: AlreadyExists afterwards (also for a concurrent
  // second call), PermissionDenied without the setup token (checked before anything is
  // hashed), InvalidArgument for a too short or too long password. Removes the token file.
  Status setup(const std::string& password, std::string_view setup_token);
  // The local recovery path (`stacksnap admin reset-password`): sets the admin password
  // (creating the admin if needed), ends every session and revokes every API token,
  // removes the setup token file. No token or old password needed: callers are root.
  Status reset_password(const std::string& password);

  struct NewSession {
    std::string token;       // goes into the cookie only
    std::string csrf_token;
    int64_t expires_at = 0;  // unix seconds
  };
  // Unauthenticated "wrong password" when it does not match; FailedPrecondition before
  // setup. Callers rate-limit (LoginRateLimiter) around it.
  Result<NewSession> login(const std::string& password);
  // Creates a session without a password (right after setup).
  Result<NewSession> open_session(const std::string& user);
  Status logout(const Principal& p);
  // Unauthenticated when `current` is wrong; keeps only the caller's session, and with
  // RevokeTokens::kYes revokes every API token.
  Status change_password(const Principal& p, const std::string& current, const std::string& next,
                         RevokeTokens revoke);

  struct NewToken {
    ApiTokenRecord record;
    std::string token;  // shown once
  };
  // InvalidArgument for an empty/long name; ResourceExhausted beyond max_tokens.
  Result<NewToken> create_token(const std::string& name);
  Result<std::vector<ApiTokenRecord>> list_tokens();
  // NotFound when no active token has this id.
  Status revoke_token(int64_t id);

  // Authenticator: "Authorization: Bearer ss_…" if present (and then only that), else
  // the session cookie. Only reads: expired sessions are pruned at the next login, and
  // activity is written in the background.
  Result<std::optional<Principal>> authenticate(const Request& req) override;
  CredentialWatch* credential_watch() override { return &watch_; }

  // Set-Cookie values; Secure when `tls` or AuthOptions::secure_cookies.
  std::string session_cookie(const NewSession& s, bool tls) const;
  std::string expired_cookie(bool tls) const;

  // Waits until recorded session/token activity is in the database (tests, shutdown).
  void flush_activity();

  // Argon2id (exposed for tests).
  Result<std::string> hash_password(const std::string& password) const;
  bool verify_password(const std::string& hash, const std::string& password) const;

 private:
  std::string secure_attribute(bool tls) const;  // "; Secure" or ""
  Status check_password_rules(const std::string& password) const;
  int64_t now() const { return unix_seconds(clock_.now()); }

  // Activity (sessions' last_seen, tokens' last_used) is written by a background thread:
  // authenticate() runs on io threads and must never wait for SQLite's write lock.
  void record_activity(const std::string& session_key, int64_t token_id, int64_t at);
  void activity_loop();

  Status check_setup_token(std::string_view token);
  void remove_setup_token();

  AuthStore store_;
  const Clock& clock_;
  AuthOptions opt_;
  CredentialWatch watch_;
  std::mutex setup_mu_;
  std::string setup_token_;  // guarded by setup_mu_; empty: none prepared
  std::mutex touch_mu_;
  std::condition_variable touch_cv_;
  std::map<int64_t, int64_t> token_touched_;            // token id → last recorded use (unix s)
  std::map<std::string, int64_t> pending_sessions_;     // session key → last_seen to write
  std::map<int64_t, int64_t> pending_tokens_;           // token id → last_used to write
  bool writing_ = false;
  bool stopping_ = false;
  std::thread touch_thread_;  // last: starts after everything it uses
};

}  // namespace stacksnap::http

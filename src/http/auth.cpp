#include "http/auth.h"

#include <sodium.h>
#include <spdlog/spdlog.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "base/fd.h"
#include "base/text.h"
#include "http/secret.h"
#include "http/url.h"

namespace stacksnap::http {
namespace {

constexpr size_t kTokenBytes = 32;  // session and API tokens: 256 bits of randomness
constexpr size_t kSetupTokenBytes = 16;  // the setup token: 128 bits, short enough for a URL

bool is_hex(std::string_view s, size_t len) {
  if (s.size() != len) return false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

// The credential of "Authorization: Bearer <x>", or nullopt for another scheme.
std::optional<std::string_view> bearer(std::string_view header) {
  constexpr std::string_view kScheme = "bearer ";
  if (header.size() <= kScheme.size() || strncasecmp(header.data(), kScheme.data(), kScheme.size()) != 0) {
    return std::nullopt;
  }
  std::string_view v = header.substr(kScheme.size());
  while (!v.empty() && v.front() == ' ') v.remove_prefix(1);
  while (!v.empty() && v.back() == ' ') v.remove_suffix(1);
  return v;
}

}  // namespace

PasswordHashCost PasswordHashCost::interactive() {
  return {crypto_pwhash_OPSLIMIT_INTERACTIVE, crypto_pwhash_MEMLIMIT_INTERACTIVE};
}
PasswordHashCost PasswordHashCost::minimum() { return {crypto_pwhash_OPSLIMIT_MIN, crypto_pwhash_MEMLIMIT_MIN}; }

AuthService::AuthService(catalog::Db& db, const Clock& clock, AuthOptions options)
    : store_(db), clock_(clock), opt_(options) {
  if (sodium_init() < 0) std::abort();  // no CSPRNG: nothing here can be safe
  touch_thread_ = std::thread([this] { activity_loop(); });
}

AuthService::~AuthService() {
  {
    std::lock_guard lk(touch_mu_);
    stopping_ = true;
  }
  touch_cv_.notify_all();
  touch_thread_.join();
}

void AuthService::record_activity(const std::string& session_key, int64_t token_id, int64_t at) {
  constexpr size_t kMaxPending = 4096;  // best-effort bookkeeping: beyond this, drop
  {
    std::lock_guard lk(touch_mu_);
    if (pending_sessions_.size() + pending_tokens_.size() >= kMaxPending) return;
    if (!session_key.empty()) pending_sessions_[session_key] = at;
    if (token_id > 0) pending_tokens_[token_id] = at;
  }
  touch_cv_.notify_all();
}

void AuthService::activity_loop() {
  std::unique_lock lk(touch_mu_);
  while (true) {
    touch_cv_.wait(lk, [&] { return stopping_ || !pending_sessions_.empty() || !pending_tokens_.empty(); });
    if (pending_sessions_.empty() && pending_tokens_.empty()) return;  // stopping, nothing left
    auto sessions = std::move(pending_sessions_);
    auto tokens = std::move(pending_tokens_);
    pending_sessions_.clear();
    pending_tokens_.clear();
    writing_ = true;
    lk.unlock();
    for (const auto& [key, at] : sessions) {
      auto st = store_.touch_session(key, at);
      if (!st.ok()) spdlog::warn("http: could not record session activity: {}", st.error().message());
    }
    for (const auto& [id, at] : tokens) {
      auto st = store_.touch_token(id, at);
      if (!st.ok()) spdlog::warn("http: could not record API token use: {}", st.error().message());
    }
    lk.lock();
    writing_ = false;
    touch_cv_.notify_all();
  }
}

void AuthService::flush_activity() {
  std::unique_lock lk(touch_mu_);
  touch_cv_.wait(lk, [&] { return pending_sessions_.empty() && pending_tokens_.empty() && !writing_; });
}

Status AuthService::check_password_rules(const std::string& password) const {
  if (password.size() < opt_.min_password) {
    return invalid_argument("the password must have at least " + std::to_string(opt_.min_password) + " characters");
  }
  if (password.size() > opt_.max_password) {
    return invalid_argument("the password must have at most " + std::to_string(opt_.max_password) + " characters");
  }
  return {};
}

Result<std::string> AuthService::hash_password(const std::string& password) const {
  char out[crypto_pwhash_STRBYTES];
  if (crypto_pwhash_str(out, password.data(), password.size(), opt_.cost.opslimit, opt_.cost.memlimit) != 0) {
    return resource_exhausted("not enough memory to hash the password");
  }
  return std::string(out);
}

bool AuthService::verify_password(const std::string& hash, const std::string& password) const {
  return crypto_pwhash_str_verify(hash.c_str(), password.data(), password.size()) == 0;
}

Result<bool> AuthService::needs_setup() { return !TRY(store_.has_users()); }

Result<std::string> AuthService::prepare_setup_token() {
  std::lock_guard lk(setup_mu_);
  const std::string& path = opt_.setup_token_file;
  if (path.empty()) return failed_precondition("no setup token file is configured");
  if (!TRY(needs_setup())) {
    setup_token_.clear();
    if (::unlink(path.c_str()) != 0 && errno != ENOENT) return errno_error("remove " + path, errno);
    return std::string();
  }
  // A token from an earlier start stays valid (its URL may be open in a browser), as long
  // as nobody else could have read it.
  struct stat st{};
  if (::lstat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 077) == 0 && st.st_uid == ::geteuid()) {
    auto text = read_small_file(path, 256);
    if (text.ok()) {
      const std::string t(trim_space(*text));
      if (is_hex(t, kSetupTokenBytes * 2)) {
        setup_token_ = t;
        return t;
      }
    }
  }
  std::string token = random_hex(kSetupTokenBytes);
  TRY_CTX(write_file_atomic(path, token + "\n", 0600), "write the setup token");
  setup_token_ = token;
  return token;
}

Status AuthService::check_setup_token(std::string_view token) {
  std::lock_guard lk(setup_mu_);
  if (setup_token_.empty() || !constant_time_equal(token, setup_token_)) {
    return permission_denied(
        "the setup token is missing or wrong: open the setup URL that `stacksnap serve` printed, or copy the "
        "token from the file setup-token in its data directory");
  }
  return {};
}

void AuthService::remove_setup_token() {
  std::lock_guard lk(setup_mu_);
  setup_token_.clear();
  if (!opt_.setup_token_file.empty() && ::unlink(opt_.setup_token_file.c_str()) != 0 && errno != ENOENT) {
    spdlog::warn("http: could not remove the setup token file {}: {}", opt_.setup_token_file, std::strerror(errno));
  }
}

Status AuthService::setup(const std::string& password, std::string_view setup_token) {
  if (!TRY(needs_setup())) return already_exists("the admin password is already set; log in instead");
  TRY(check_setup_token(setup_token));
  TRY(check_password_rules(password));
  std::string hash = TRY(hash_password(password));
  int64_t t = now();
  auto st = store_.create_user({.name = kAdmin, .password_hash = hash, .created_at = t, .updated_at = t});
  if (!st.ok() && st.error().code() == Code::kAlreadyExists) {
    return already_exists("the admin password is already set; log in instead");
  }
  TRY(st);
  remove_setup_token();
  return {};
}

Status AuthService::reset_password(const std::string& password) {
  TRY(check_password_rules(password));
  std::string hash = TRY(hash_password(password));
  int64_t t = now();
  if (TRY(store_.get_user(kAdmin))) {
    TRY(store_.set_password_hash(kAdmin, hash, t));
  } else {
    TRY(store_.create_user({.name = kAdmin, .password_hash = hash, .created_at = t, .updated_at = t}));
  }
  TRY(store_.delete_all_sessions());
  TRY(store_.revoke_all_tokens(t));
  watch_.end_all_sessions();
  watch_.end_all_tokens();
  remove_setup_token();
  return {};
}

Result<AuthService::NewSession> AuthService::open_session(const std::string& user) {
  int64_t t = now();
  NewSession s{.token = random_hex(kTokenBytes),
               .csrf_token = random_hex(kTokenBytes),
               .expires_at = t + opt_.session_lifetime.count()};
  // Room for the new one: expired sessions go, and the least recently used beyond the cap.
  TRY(store_.prune_sessions(user, t, opt_.session_idle.count(), opt_.max_sessions > 0 ? opt_.max_sessions - 1 : 0));
  TRY(store_.insert_session({.token_hash = sha256_hex(s.token),
                             .user = user,
                             .csrf_token = s.csrf_token,
                             .created_at = t,
                             .expires_at = s.expires_at,
                             .last_seen = t}));
  return s;
}

Result<AuthService::NewSession> AuthService::login(const std::string& password) {
  auto user = TRY(store_.get_user(kAdmin));
  if (!user) return failed_precondition("no admin password is set yet; set it first (POST /api/setup)");
  if (password.size() > opt_.max_password || !verify_password(user->password_hash, password)) {
    return unauthenticated("wrong password");
  }
  if (crypto_pwhash_str_needs_rehash(user->password_hash.c_str(), opt_.cost.opslimit, opt_.cost.memlimit) != 0) {
    auto rehashed = hash_password(password);
    if (rehashed.ok()) (void)store_.set_password_hash(kAdmin, *rehashed, now());
  }
  return open_session(kAdmin);
}

Status AuthService::logout(const Principal& p) {
  if (p.via != AuthVia::kSession) return failed_precondition("only a session can log out");
  TRY(store_.delete_session(p.session_key));
  watch_.end_session(p.session_key);
  return {};
}

Status AuthService::change_password(const Principal& p, const std::string& current, const std::string& next,
                                    RevokeTokens revoke) {
  if (p.via != AuthVia::kSession) return permission_denied("the password can only be changed from a logged-in session");
  auto user = TRY(store_.get_user(p.user));
  if (!user) return not_found("no user '" + p.user + "'");
  if (current.size() > opt_.max_password || !verify_password(user->password_hash, current)) {
    return unauthenticated("the current password is wrong");
  }
  TRY(check_password_rules(next));
  std::string hash = TRY(hash_password(next));
  TRY(store_.set_password_hash(p.user, hash, now()));
  TRY(store_.delete_other_sessions(p.user, p.session_key));
  watch_.end_sessions_except(p.user, p.session_key);
  if (revoke == RevokeTokens::kYes) {
    TRY(store_.revoke_all_tokens(now()));
    watch_.end_all_tokens();
  }
  return {};
}

Result<AuthService::NewToken> AuthService::create_token(const std::string& name) {
  if (name.empty() || name.size() > 100) return invalid_argument("a token name has 1 to 100 characters");
  for (char c : name) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return invalid_argument("a token name has no control characters");
  }
  if (TRY(store_.count_active_tokens()) >= static_cast<int64_t>(opt_.max_tokens)) {
    return resource_exhausted("there are already " + std::to_string(opt_.max_tokens) +
                              " API tokens; revoke one first");
  }
  NewToken out;
  out.token = std::string(kTokenPrefix) + random_hex(kTokenBytes);
  out.record.name = name;
  out.record.prefix = out.token.substr(0, std::string_view(kTokenPrefix).size() + 8);
  out.record.created_at = now();
  out.record.id = TRY(store_.insert_token(name, sha256_hex(out.token), out.record.prefix, out.record.created_at));
  return out;
}

Result<std::vector<ApiTokenRecord>> AuthService::list_tokens() { return store_.list_active_tokens(); }

Status AuthService::revoke_token(int64_t id) {
  if (!TRY(store_.revoke_token(id, now()))) return not_found("no active API token with id " + std::to_string(id));
  watch_.end_token(id);
  return {};
}

Result<std::optional<Principal>> AuthService::authenticate(const Request& req) {
  const int64_t t = now();
  if (auto authz = req.header("authorization")) {
    auto cred = bearer(*authz);
    std::string_view prefix = kTokenPrefix;
    if (!cred || !cred->starts_with(prefix) || !is_hex(cred->substr(prefix.size()), kTokenBytes * 2)) {
      return std::optional<Principal>();
    }
    auto id = TRY(store_.find_active_token(sha256_hex(*cred)));
    if (!id) return std::optional<Principal>();
    // Throttled: at most one write per token per touch_interval per process.
    bool touch = false;
    {
      std::lock_guard lk(touch_mu_);
      if (token_touched_.size() > 4 * opt_.max_tokens) token_touched_.clear();
      int64_t& last = token_touched_[*id];
      touch = t - last >= opt_.touch_interval.count();
      if (touch) last = t;
    }
    if (touch) record_activity({}, *id, t);
    return std::optional<Principal>(Principal{.user = kAdmin, .via = AuthVia::kToken, .token_id = *id});
  }
  auto cookies = req.header("cookie");
  if (!cookies) return std::optional<Principal>();
  auto token = find_cookie(*cookies, kSessionCookie);
  if (!token || !is_hex(*token, kTokenBytes * 2)) return std::optional<Principal>();
  std::string key = sha256_hex(*token);
  auto s = TRY(store_.get_session(key));
  if (!s) return std::optional<Principal>();
  if (t >= s->expires_at || t - s->last_seen >= opt_.session_idle.count()) {
    return std::optional<Principal>();  // the row goes at the next login's pruning (no write here)
  }
  if (t - s->last_seen >= opt_.touch_interval.count()) record_activity(key, 0, t);
  return std::optional<Principal>(
      Principal{.user = s->user, .via = AuthVia::kSession, .session_key = key, .csrf_token = s->csrf_token});
}

std::string AuthService::session_cookie(const NewSession& s, bool tls) const {
  int64_t max_age = std::max<int64_t>(s.expires_at - now(), 0);
  return std::string(kSessionCookie) + "=" + s.token + "; Path=/; HttpOnly; SameSite=Strict; Max-Age=" +
         std::to_string(max_age) + secure_attribute(tls);
}

std::string AuthService::expired_cookie(bool tls) const {
  return std::string(kSessionCookie) + "=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0" + secure_attribute(tls);
}

// Secure whenever the browser came over TLS, or the operator says a TLS proxy is in front.
std::string AuthService::secure_attribute(bool tls) const { return tls || opt_.secure_cookies ? "; Secure" : ""; }

}  // namespace stacksnap::http

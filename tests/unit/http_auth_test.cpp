// AuthService over a real (temporary) catalog with an injected clock; the login rate
// limiter; secrets helpers.
#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

#include "base/fd.h"
#include "base/temp_dir.h"
#include "catalog/catalog.h"
#include "http/auth.h"
#include "http/rate_limit.h"
#include "http/secret.h"

namespace stacksnap::http {
namespace {

using namespace std::chrono_literals;

class FakeClock final : public Clock {
 public:
  SystemTime now() const override { return t; }
  void advance(std::chrono::seconds d) { t += d; }
  SystemTime t = SystemTime(std::chrono::seconds(1'800'000'000));
};

constexpr const char* kPassword = "correct horse battery";

class HttpAuth : public ::testing::Test {
 protected:
  void SetUp() override {
    auto d = TempDir::create("/tmp", "stacksnap-auth-");
    ASSERT_TRUE(d.ok());
    dir_.emplace(std::move(*d));
    auto c = catalog::Catalog::open(dir_->path() + "/state.db");
    ASSERT_TRUE(c.ok()) << c.error().message();
    cat_ = std::move(*c);
    auth_ = std::make_unique<AuthService>(cat_->db(), clock_,
                                          AuthOptions{.max_sessions = 3, .max_tokens = 2,
                                                      .cost = PasswordHashCost::minimum(),
                                                      .setup_token_file = token_file()});
  }

  std::string token_file() const { return dir_->path() + "/setup-token"; }
  // The first-run setup as `serve` and the onboarding page do it: with the token.
  Status setup(const std::string& password) {
    auto token = auth_->prepare_setup_token();
    if (!token.ok()) return token.error();
    return auth_->setup(password, *token);
  }

  Request with_cookie(const std::string& token) {
    Request r;
    r.headers.push_back({"cookie", std::string("other=1; ") + AuthService::kSessionCookie + "=" + token});
    return r;
  }
  Request with_bearer(const std::string& token) {
    Request r;
    r.headers.push_back({"authorization", "Bearer " + token});
    return r;
  }
  std::optional<Principal> who(const Request& r) {
    auto p = auth_->authenticate(r);
    auth_->flush_activity();  // last_seen/last_used are written in the background
    EXPECT_TRUE(p.ok());
    return p.ok() ? *p : std::nullopt;
  }

  std::optional<TempDir> dir_;
  std::unique_ptr<catalog::Catalog> cat_;
  FakeClock clock_;
  std::unique_ptr<AuthService> auth_;
};

TEST_F(HttpAuth, SetupHappensOnce) {
  EXPECT_TRUE(*auth_->needs_setup());
  EXPECT_EQ(auth_->login(kPassword).error().code(), Code::kFailedPrecondition);
  EXPECT_EQ(setup("short").error().code(), Code::kInvalidArgument);
  ASSERT_TRUE(setup(kPassword).ok());
  EXPECT_FALSE(*auth_->needs_setup());
  auto again = setup("another long password");
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code(), Code::kAlreadyExists);
  EXPECT_TRUE(auth_->login(kPassword).ok());  // the first password stays
}

TEST_F(HttpAuth, SetupNeedsTheOneTimeTokenFromTheDataDir) {
  // Nothing prepared yet (no `serve`): no token can match, not even an empty one.
  EXPECT_EQ(auth_->setup(kPassword, "").error().code(), Code::kPermissionDenied);
  auto token = auth_->prepare_setup_token();
  ASSERT_TRUE(token.ok()) << token.error().message();
  ASSERT_EQ(token->size(), 32u);
  struct stat st{};
  ASSERT_EQ(::stat(token_file().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  // A restart keeps the token (an open setup page stays valid).
  EXPECT_EQ(*auth_->prepare_setup_token(), *token);

  auto wrong = auth_->setup(kPassword, std::string(32, '0'));
  EXPECT_EQ(wrong.error().code(), Code::kPermissionDenied);
  EXPECT_EQ(wrong.error().message().find(*token), std::string::npos);
  EXPECT_EQ(auth_->setup(kPassword, "").error().code(), Code::kPermissionDenied);
  EXPECT_TRUE(*auth_->needs_setup());

  ASSERT_TRUE(auth_->setup(kPassword, *token).ok());
  EXPECT_NE(::access(token_file().c_str(), F_OK), 0) << "the token file dies with the first admin";
  EXPECT_EQ(auth_->setup(kPassword, *token).error().code(), Code::kAlreadyExists);
  // With an admin, a leftover file is removed and no token is handed out.
  ASSERT_TRUE(write_file_atomic(token_file(), *token, 0600).ok());
  EXPECT_EQ(*auth_->prepare_setup_token(), "");
  EXPECT_NE(::access(token_file().c_str(), F_OK), 0);
}

TEST_F(HttpAuth, ATokenFileOthersCouldReadIsReplaced) {
  ASSERT_TRUE(write_file_atomic(token_file(), std::string(32, 'a'), 0644).ok());
  auto token = auth_->prepare_setup_token();
  ASSERT_TRUE(token.ok());
  EXPECT_NE(*token, std::string(32, 'a'));
  struct stat st{};
  ASSERT_EQ(::stat(token_file().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST_F(HttpAuth, ResetPasswordIsTheLocalRecoveryPath) {
  auto token = *auth_->prepare_setup_token();
  ASSERT_TRUE(auth_->reset_password("recovered password 1").ok());  // creates the admin
  EXPECT_FALSE(*auth_->needs_setup());
  EXPECT_NE(::access(token_file().c_str(), F_OK), 0);
  EXPECT_EQ(auth_->setup(kPassword, token).error().code(), Code::kAlreadyExists);

  auto s = *auth_->login("recovered password 1");
  auto t = *auth_->create_token("script");
  auto session = *who(with_cookie(s.token));
  int ended = 0;
  auto w1 = auth_->credential_watch()->watch(session, [&] { ++ended; });
  auto w2 = auth_->credential_watch()->watch(*who(with_bearer(t.token)), [&] { ++ended; });
  EXPECT_EQ(auth_->reset_password("short").error().code(), Code::kInvalidArgument);
  ASSERT_TRUE(auth_->reset_password("recovered password 2").ok());
  EXPECT_EQ(ended, 2);
  EXPECT_FALSE(who(with_cookie(s.token)).has_value());
  EXPECT_FALSE(who(with_bearer(t.token)).has_value());
  EXPECT_TRUE(auth_->login("recovered password 2").ok());
}

TEST_F(HttpAuth, PasswordsAreStoredAsArgon2id) {
  ASSERT_TRUE(setup(kPassword).ok());
  auto s = cat_->db().prepare("SELECT password_hash FROM users WHERE name = 'admin'");
  ASSERT_TRUE(s.ok());
  ASSERT_TRUE(*s->step());
  std::string hash = s->col_text(0);
  EXPECT_TRUE(hash.starts_with("$argon2id$")) << hash;
  EXPECT_EQ(hash.find(kPassword), std::string::npos);
  EXPECT_TRUE(auth_->verify_password(hash, kPassword));
  EXPECT_FALSE(auth_->verify_password(hash, "wrong password!"));
}

TEST_F(HttpAuth, LoginCreatesAHashedSessionWithCsrfToken) {
  ASSERT_TRUE(setup(kPassword).ok());
  auto wrong = auth_->login("not the password");
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.error().code(), Code::kUnauthenticated);
  EXPECT_EQ(wrong.error().message().find("not the password"), std::string::npos);

  auto s = auth_->login(kPassword);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->token.size(), 64u);
  EXPECT_EQ(s->csrf_token.size(), 64u);
  EXPECT_NE(s->token, s->csrf_token);

  std::string cookie = auth_->session_cookie(*s, /*tls=*/false);
  EXPECT_TRUE(cookie.starts_with(std::string("stacksnap_session=") + s->token + ";"));
  EXPECT_NE(cookie.find("HttpOnly"), std::string::npos);
  EXPECT_NE(cookie.find("SameSite=Strict"), std::string::npos);
  EXPECT_NE(cookie.find("Path=/"), std::string::npos);
  EXPECT_EQ(cookie.find("Secure"), std::string::npos);
  EXPECT_NE(auth_->session_cookie(*s, true).find("; Secure"), std::string::npos);

  auto p = who(with_cookie(s->token));
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->user, "admin");
  EXPECT_EQ(p->via, AuthVia::kSession);
  EXPECT_EQ(p->csrf_token, s->csrf_token);

  // Only the digest is stored.
  auto row = cat_->db().prepare("SELECT token_hash FROM sessions");
  ASSERT_TRUE(row.ok());
  ASSERT_TRUE(*row->step());
  EXPECT_EQ(row->col_text(0), sha256_hex(s->token));

  EXPECT_FALSE(who(with_cookie(std::string(64, 'a'))).has_value());
  EXPECT_FALSE(who(with_cookie("short")).has_value());
  EXPECT_FALSE(who(Request{}).has_value());
}

TEST_F(HttpAuth, SessionsExpireWhenIdleOrOld) {
  ASSERT_TRUE(setup(kPassword).ok());
  auto s = *auth_->login(kPassword);
  clock_.advance(11h);
  EXPECT_TRUE(who(with_cookie(s.token)).has_value());  // touches last_seen
  clock_.advance(11h);
  EXPECT_TRUE(who(with_cookie(s.token)).has_value());
  clock_.advance(12h + 1s);
  EXPECT_FALSE(who(with_cookie(s.token)).has_value());  // idle too long

  auto s2 = *auth_->login(kPassword);
  for (int i = 0; i < 15; ++i) {  // up to 165 h, never idle for long
    clock_.advance(11h);
    EXPECT_TRUE(who(with_cookie(s2.token)).has_value()) << i;
  }
  clock_.advance(11h);  // 176 h: past the 7-day lifetime
  EXPECT_FALSE(who(with_cookie(s2.token)).has_value());
}

TEST_F(HttpAuth, LogoutAndSessionCap) {
  ASSERT_TRUE(setup(kPassword).ok());
  auto a = *auth_->login(kPassword);
  auto pa = *who(with_cookie(a.token));
  ASSERT_TRUE(auth_->logout(pa).ok());
  EXPECT_FALSE(who(with_cookie(a.token)).has_value());

  std::vector<AuthService::NewSession> sessions;
  for (int i = 0; i < 4; ++i) {
    sessions.push_back(*auth_->login(kPassword));
    clock_.advance(1s);
  }
  // max_sessions = 3: the oldest one went.
  EXPECT_FALSE(who(with_cookie(sessions[0].token)).has_value());
  for (int i = 1; i < 4; ++i) EXPECT_TRUE(who(with_cookie(sessions[i].token)).has_value()) << i;
}

TEST_F(HttpAuth, PasswordChangeDropsOtherSessions) {
  ASSERT_TRUE(setup(kPassword).ok());
  auto mine = *auth_->login(kPassword);
  auto other = *auth_->login(kPassword);
  auto token = *auth_->create_token("kept");
  auto p = *who(with_cookie(mine.token));
  EXPECT_EQ(auth_->change_password(p, "wrong current", "a brand new password", RevokeTokens::kNo).error().code(),
            Code::kUnauthenticated);
  EXPECT_EQ(auth_->change_password(p, kPassword, "short", RevokeTokens::kNo).error().code(), Code::kInvalidArgument);
  int mine_ended = 0, other_ended = 0;
  auto w1 = auth_->credential_watch()->watch(p, [&] { ++mine_ended; });
  auto w2 = auth_->credential_watch()->watch(*who(with_cookie(other.token)), [&] { ++other_ended; });
  ASSERT_TRUE(auth_->change_password(p, kPassword, "a brand new password", RevokeTokens::kNo).ok());
  EXPECT_EQ(mine_ended, 0);
  EXPECT_EQ(other_ended, 1);
  EXPECT_TRUE(who(with_cookie(mine.token)).has_value());
  EXPECT_FALSE(who(with_cookie(other.token)).has_value());
  EXPECT_TRUE(who(with_bearer(token.token)).has_value()) << "RevokeTokens::kNo keeps API tokens";
  EXPECT_FALSE(auth_->login(kPassword).ok());
  EXPECT_TRUE(auth_->login("a brand new password").ok());
  Principal token_principal{.user = "admin", .via = AuthVia::kToken, .token_id = 1};
  EXPECT_EQ(auth_->change_password(token_principal, "a brand new password", "x", RevokeTokens::kNo).error().code(),
            Code::kPermissionDenied);
}

TEST_F(HttpAuth, PasswordChangeCanRevokeEveryApiToken) {
  ASSERT_TRUE(setup(kPassword).ok());
  auto mine = *auth_->login(kPassword);
  auto t1 = *auth_->create_token("one");
  auto t2 = *auth_->create_token("two");
  int ended = 0;
  auto w = auth_->credential_watch()->watch(*who(with_bearer(t1.token)), [&] { ++ended; });
  ASSERT_TRUE(auth_->change_password(*who(with_cookie(mine.token)), kPassword, "another new password",
                                     RevokeTokens::kYes)
                  .ok());
  EXPECT_EQ(ended, 1);
  EXPECT_FALSE(who(with_bearer(t1.token)).has_value());
  EXPECT_FALSE(who(with_bearer(t2.token)).has_value());
  EXPECT_TRUE(auth_->list_tokens()->empty());
  EXPECT_TRUE(who(with_cookie(mine.token)).has_value());
}

TEST_F(HttpAuth, LogoutAndRevocationEndWatchedStreams) {
  ASSERT_TRUE(setup(kPassword).ok());
  auto a = *auth_->login(kPassword);
  auto b = *auth_->login(kPassword);
  auto t = *auth_->create_token("t");
  int a_ended = 0, b_ended = 0, t_ended = 0;
  auto pa = *who(with_cookie(a.token));
  auto wa = auth_->credential_watch()->watch(pa, [&] { ++a_ended; });
  auto wb = auth_->credential_watch()->watch(*who(with_cookie(b.token)), [&] { ++b_ended; });
  auto wt = auth_->credential_watch()->watch(*who(with_bearer(t.token)), [&] { ++t_ended; });
  EXPECT_EQ(auth_->credential_watch()->watched(), 3u);
  ASSERT_TRUE(auth_->logout(pa).ok());
  EXPECT_EQ(a_ended, 1);
  EXPECT_EQ(b_ended, 0);
  ASSERT_TRUE(auth_->revoke_token(t.record.id).ok());
  EXPECT_EQ(t_ended, 1);
  EXPECT_EQ(auth_->credential_watch()->watched(), 1u);
  wb.reset();  // a closed stream unregisters
  EXPECT_EQ(auth_->credential_watch()->watched(), 0u);
}

TEST_F(HttpAuth, SecureCookiesOptionMarksCookiesSecureWithoutTls) {
  AuthService secure(cat_->db(), clock_, AuthOptions{.cost = PasswordHashCost::minimum(), .secure_cookies = true});
  AuthService::NewSession s{.token = std::string(64, 'a'), .csrf_token = "x", .expires_at = unix_seconds(clock_.now()) + 60};
  EXPECT_NE(secure.session_cookie(s, /*tls=*/false).find("; Secure"), std::string::npos);
  EXPECT_NE(secure.expired_cookie(false).find("; Secure"), std::string::npos);
  EXPECT_EQ(auth_->expired_cookie(false).find("Secure"), std::string::npos);
}

TEST_F(HttpAuth, ApiTokensAreShownOnceAndRevocable) {
  ASSERT_TRUE(setup(kPassword).ok());
  EXPECT_EQ(auth_->create_token("").error().code(), Code::kInvalidArgument);
  auto t = auth_->create_token("backup script");
  ASSERT_TRUE(t.ok());
  EXPECT_TRUE(t->token.starts_with("ss_"));
  EXPECT_EQ(t->token.size(), 3u + 64u);
  EXPECT_EQ(t->record.prefix, t->token.substr(0, 11));

  auto p = who(with_bearer(t->token));
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->via, AuthVia::kToken);
  EXPECT_EQ(p->token_id, t->record.id);
  EXPECT_TRUE(p->csrf_token.empty());

  auto list = *auth_->list_tokens();
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0].name, "backup script");
  EXPECT_EQ(list[0].last_used, unix_seconds(clock_.now()));

  auto row = cat_->db().prepare("SELECT token_hash FROM api_tokens");
  ASSERT_TRUE(row.ok());
  ASSERT_TRUE(*row->step());
  EXPECT_EQ(row->col_text(0), sha256_hex(t->token));

  // A wrong scheme or a mangled token does not fall back to anything.
  EXPECT_FALSE(who(with_bearer(t->token.substr(0, 20))).has_value());
  EXPECT_FALSE(who(with_bearer("ss_" + std::string(64, '0'))).has_value());
  Request basic;
  basic.headers.push_back({"authorization", "Basic " + t->token});
  EXPECT_FALSE(who(basic).has_value());

  ASSERT_TRUE(auth_->create_token("second").ok());
  EXPECT_EQ(auth_->create_token("third").error().code(), Code::kResourceExhausted);
  ASSERT_TRUE(auth_->revoke_token(t->record.id).ok());
  EXPECT_EQ(auth_->revoke_token(t->record.id).error().code(), Code::kNotFound);
  EXPECT_FALSE(who(with_bearer(t->token)).has_value());
  EXPECT_EQ(auth_->list_tokens()->size(), 1u);
}

TEST(HttpSecret, ConstantTimeEqualAndDigests) {
  EXPECT_TRUE(constant_time_equal("abc", "abc"));
  EXPECT_FALSE(constant_time_equal("abc", "abd"));
  EXPECT_FALSE(constant_time_equal("abc", "abcd"));
  EXPECT_TRUE(constant_time_equal("", ""));
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(random_hex(16).size(), 32u);
  EXPECT_NE(random_hex(16), random_hex(16));
}

// One password check from `ip`: whether it was admitted; if so it ends with `result`.
bool attempt(LoginRateLimiter& rl, const std::string& ip, AttemptResult result, const std::string& account = "admin") {
  LoginAttempt a = rl.begin(ip, account);
  if (!a.admitted()) return false;
  a.finish(result);
  return true;
}

std::optional<std::chrono::seconds> wait_of(LoginRateLimiter& rl, const std::string& ip,
                                            const std::string& account = "admin") {
  LoginAttempt a = rl.begin(ip, account);  // not admitted, or dropped unchecked
  if (a.admitted()) return std::nullopt;
  return a.retry_after();
}

TEST(HttpRateLimit, FiveFreeFailuresThenExponentialBackoff) {
  FakeClock clock;
  LoginRateLimiter rl(clock, {.account_burst = 1000});
  const std::string ip = "203.0.113.7";
  for (int i = 0; i < 4; ++i) EXPECT_TRUE(attempt(rl, ip, AttemptResult::kFailed)) << i;
  EXPECT_FALSE(wait_of(rl, ip).has_value());
  EXPECT_TRUE(attempt(rl, ip, AttemptResult::kFailed));  // 5th
  ASSERT_TRUE(wait_of(rl, ip).has_value());
  EXPECT_EQ(*wait_of(rl, ip), 60s);
  EXPECT_FALSE(wait_of(rl, "203.0.113.8").has_value());  // other clients are not affected
  clock.advance(59s);
  EXPECT_EQ(*wait_of(rl, ip), 1s);
  clock.advance(1s);
  EXPECT_TRUE(attempt(rl, ip, AttemptResult::kFailed));  // 6th: doubled
  EXPECT_EQ(*wait_of(rl, ip), 120s);
  clock.advance(120s);
  EXPECT_TRUE(attempt(rl, ip, AttemptResult::kFailed));  // 7th
  EXPECT_EQ(*wait_of(rl, ip), 240s);
  for (int i = 0; i < 20; ++i) {
    auto wait = wait_of(rl, ip);
    ASSERT_TRUE(wait.has_value()) << i;
    clock.advance(*wait);
    EXPECT_TRUE(attempt(rl, ip, AttemptResult::kFailed));
  }
  ASSERT_TRUE(wait_of(rl, ip).has_value());
  EXPECT_EQ(*wait_of(rl, ip), 3600s);  // capped, and waiting it out does not reset the count
  clock.advance(3600s);
  EXPECT_TRUE(attempt(rl, ip, AttemptResult::kSucceeded));
  EXPECT_FALSE(wait_of(rl, ip).has_value());
  EXPECT_EQ(rl.tracked(), 0u);
}

TEST(HttpRateLimit, ParallelGuessesCountBeforeTheyFinish) {
  FakeClock clock;
  LoginRateLimiter rl(clock, {.account_burst = 1000});
  std::vector<LoginAttempt> in_flight;
  for (int i = 0; i < 5; ++i) {
    in_flight.push_back(rl.begin("203.0.113.9", "admin"));
    ASSERT_TRUE(in_flight.back().admitted()) << i;
  }
  LoginAttempt sixth = rl.begin("203.0.113.9", "admin");
  EXPECT_FALSE(sixth.admitted()) << "five checks in flight use up the free failures";
  EXPECT_EQ(sixth.retry_after(), 1s);
  in_flight.front().finish(AttemptResult::kNotChecked);  // e.g. a bad request body
  EXPECT_TRUE(rl.begin("203.0.113.9", "admin").admitted());
}

TEST(HttpRateLimit, TheAccountLimitStopsManyClientsButNotKnownOnes) {
  FakeClock clock;
  LoginRateLimiter rl(clock);  // burst 10, one more a minute
  const std::string admin_ip = "198.51.100.7";
  EXPECT_TRUE(attempt(rl, admin_ip, AttemptResult::kSucceeded));  // the admin's address is known now
  int admitted = 0;
  for (int i = 1; i <= 30; ++i) admitted += attempt(rl, "203.0.113." + std::to_string(i), AttemptResult::kFailed);
  EXPECT_EQ(admitted, 10) << "unknown clients share the account's bucket";
  auto wait = wait_of(rl, "192.0.2.200");
  ASSERT_TRUE(wait.has_value());
  EXPECT_GE(*wait, 1s);
  EXPECT_LE(*wait, 60s);
  EXPECT_TRUE(attempt(rl, admin_ip, AttemptResult::kSucceeded)) << "the admin's own address is not locked out";
  EXPECT_TRUE(attempt(rl, "203.0.113.1", AttemptResult::kSucceeded, "other-account")) << "per account";
  clock.advance(60s);
  EXPECT_TRUE(attempt(rl, "192.0.2.201", AttemptResult::kFailed)) << "one more attempt a minute";
  EXPECT_FALSE(attempt(rl, "192.0.2.202", AttemptResult::kFailed));
  clock.advance(60s);
  EXPECT_TRUE(attempt(rl, "192.0.2.203", AttemptResult::kSucceeded));
  EXPECT_TRUE(attempt(rl, "192.0.2.204", AttemptResult::kNotChecked)) << "successes give the attempt back";
  clock.advance(31 * 24h);
  EXPECT_TRUE(attempt(rl, admin_ip, AttemptResult::kFailed));  // known for 30 days only: charged again
}

TEST(HttpRateLimit, QuietPeriodForgetsAndMemoryIsBounded) {
  FakeClock clock;
  LoginRateLimiter rl(clock, {.max_tracked = 3, .account_burst = 1000});
  for (int i = 0; i < 4; ++i) attempt(rl, "198.51.100.1", AttemptResult::kFailed);
  clock.advance(2h);
  attempt(rl, "198.51.100.1", AttemptResult::kFailed);  // counts from 1 again
  EXPECT_FALSE(wait_of(rl, "198.51.100.1").has_value());
  for (int i = 2; i < 10; ++i) attempt(rl, "198.51.100." + std::to_string(i), AttemptResult::kFailed);
  EXPECT_LE(rl.tracked(), 3u);
}

TEST(HttpRateLimit, Ipv6IsGroupedBySlash64) {
  EXPECT_EQ(LoginRateLimiter::key_for("2001:db8:1:2:aaaa::1"), LoginRateLimiter::key_for("2001:db8:1:2:bbbb::9"));
  EXPECT_NE(LoginRateLimiter::key_for("2001:db8:1:2::1"), LoginRateLimiter::key_for("2001:db8:1:3::1"));
  EXPECT_EQ(LoginRateLimiter::key_for("::ffff:192.0.2.1"), "192.0.2.1");
  EXPECT_EQ(LoginRateLimiter::key_for("192.0.2.1"), "192.0.2.1");
}

}  // namespace
}  // namespace stacksnap::http

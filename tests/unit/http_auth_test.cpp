// AuthService over a real (temporary) catalog with an injected clock; the login rate
// limiter; secrets helpers.
#include <gtest/gtest.h>

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
                                                      .cost = PasswordHashCost::minimum()});
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
  EXPECT_EQ(auth_->setup("short").error().code(), Code::kInvalidArgument);
  ASSERT_TRUE(auth_->setup(kPassword).ok());
  EXPECT_FALSE(*auth_->needs_setup());
  auto again = auth_->setup("another long password");
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code(), Code::kAlreadyExists);
  EXPECT_TRUE(auth_->login(kPassword).ok());  // the first password stays
}

TEST_F(HttpAuth, PasswordsAreStoredAsArgon2id) {
  ASSERT_TRUE(auth_->setup(kPassword).ok());
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
  ASSERT_TRUE(auth_->setup(kPassword).ok());
  auto wrong = auth_->login("not the password");
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.error().code(), Code::kUnauthenticated);
  EXPECT_EQ(wrong.error().message().find("not the password"), std::string::npos);

  auto s = auth_->login(kPassword);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->token.size(), 64u);
  EXPECT_EQ(s->csrf_token.size(), 64u);
  EXPECT_NE(s->token, s->csrf_token);

  std::string cookie = auth_->session_cookie(*s, /*secure=*/false);
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
  ASSERT_TRUE(auth_->setup(kPassword).ok());
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
  ASSERT_TRUE(auth_->setup(kPassword).ok());
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
  ASSERT_TRUE(auth_->setup(kPassword).ok());
  auto mine = *auth_->login(kPassword);
  auto other = *auth_->login(kPassword);
  auto p = *who(with_cookie(mine.token));
  EXPECT_EQ(auth_->change_password(p, "wrong current", "a brand new password").error().code(),
            Code::kUnauthenticated);
  EXPECT_EQ(auth_->change_password(p, kPassword, "short").error().code(), Code::kInvalidArgument);
  ASSERT_TRUE(auth_->change_password(p, kPassword, "a brand new password").ok());
  EXPECT_TRUE(who(with_cookie(mine.token)).has_value());
  EXPECT_FALSE(who(with_cookie(other.token)).has_value());
  EXPECT_FALSE(auth_->login(kPassword).ok());
  EXPECT_TRUE(auth_->login("a brand new password").ok());
  Principal token_principal{.user = "admin", .via = AuthVia::kToken, .token_id = 1};
  EXPECT_EQ(auth_->change_password(token_principal, "a brand new password", "x").error().code(),
            Code::kPermissionDenied);
}

TEST_F(HttpAuth, ApiTokensAreShownOnceAndRevocable) {
  ASSERT_TRUE(auth_->setup(kPassword).ok());
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

TEST(HttpRateLimit, FiveFreeFailuresThenExponentialBackoff) {
  FakeClock clock;
  LoginRateLimiter rl(clock);
  const std::string ip = "203.0.113.7";
  for (int i = 0; i < 4; ++i) {
    EXPECT_FALSE(rl.retry_after(ip).has_value());
    rl.record_failure(ip);
  }
  EXPECT_FALSE(rl.retry_after(ip).has_value());
  rl.record_failure(ip);  // 5th
  ASSERT_TRUE(rl.retry_after(ip).has_value());
  EXPECT_EQ(*rl.retry_after(ip), 60s);
  EXPECT_FALSE(rl.retry_after("203.0.113.8").has_value());  // other clients are not affected
  clock.advance(59s);
  EXPECT_EQ(*rl.retry_after(ip), 1s);
  clock.advance(1s);
  EXPECT_FALSE(rl.retry_after(ip).has_value());
  rl.record_failure(ip);  // 6th: doubled
  EXPECT_EQ(*rl.retry_after(ip), 120s);
  clock.advance(120s);
  rl.record_failure(ip);  // 7th
  EXPECT_EQ(*rl.retry_after(ip), 240s);
  for (int i = 0; i < 20; ++i) {
    auto wait = rl.retry_after(ip);
    ASSERT_TRUE(wait.has_value()) << i;
    clock.advance(*wait);
    rl.record_failure(ip);
  }
  ASSERT_TRUE(rl.retry_after(ip).has_value());
  EXPECT_EQ(*rl.retry_after(ip), 3600s);  // capped, and waiting it out does not reset the count
  rl.record_success(ip);
  EXPECT_FALSE(rl.retry_after(ip).has_value());
}

TEST(HttpRateLimit, QuietPeriodForgetsAndMemoryIsBounded) {
  FakeClock clock;
  LoginRateLimiter rl(clock, {.max_tracked = 3});
  for (int i = 0; i < 4; ++i) rl.record_failure("198.51.100.1");
  clock.advance(2h);
  rl.record_failure("198.51.100.1");  // counts from 1 again
  EXPECT_FALSE(rl.retry_after("198.51.100.1").has_value());
  for (int i = 2; i < 10; ++i) rl.record_failure("198.51.100." + std::to_string(i));
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

// Throttling of password checks (login, password change): per client and per account
// (docs/adr/0005-appliance-exposure.md).
//
// Per client — the request's client address (http/client_address.h: the TCP peer, or the
// X-Forwarded-For client when the peer is a trusted proxy); IPv6 grouped by /64: a client
// may fail free_failures (5) times; the 5th failure and every one after it locks the client
// out for base_delay × 2^(failures−5) (1 min, 2, 4, … capped at max_delay = 1 h). A success,
// or reset_after (1 h) without failures after the last lockout ended, forgets the client.
// Attempts in flight count against the free failures, so parallel guesses gain nothing.
//
// Per account — for clients the account does not know (no successful login from that
// client key within known_for, 30 days): a shared bucket of account_burst (10) attempts,
// refilled by one every account_refill (60 s). When it is empty, unknown clients wait for
// the next refill whatever their own record, so rotating addresses (IPv6 hands out whole
// /64s) or many clients behind a proxy buy at most 60 guesses an hour. Known clients are
// not charged, so an attack from elsewhere never locks the admin out of their own address.
// A successful check gives its bucket attempt back.
//
// While throttled the password is not checked at all: the caller answers 429 with
// Retry-After. Memory is bounded (max_tracked clients, max_known known clients).
// Thread-safe.
#pragma once

#include <chrono>
#include <cstddef>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <utility>

#include "base/clock.h"

namespace stacksnap::http {

struct RateLimitOptions {
  int free_failures = 5;
  std::chrono::seconds base_delay{60};
  std::chrono::seconds max_delay{3600};
  std::chrono::seconds reset_after{3600};
  size_t max_tracked = 10000;
  int account_burst = 10;
  std::chrono::seconds account_refill{60};
  std::chrono::seconds known_for{30 * 24 * 3600};
  size_t max_known = 1000;
};

enum class AttemptResult { kSucceeded, kFailed, kNotChecked };

class LoginRateLimiter;

// One reserved password check. Not admitted: nothing was reserved, retry_after() says how
// long to wait. Admitted: finish() once with the outcome; destroying it unfinished counts
// as kNotChecked (the request failed before the password was checked).
class LoginAttempt {
 public:
  LoginAttempt(LoginAttempt&& o) noexcept;
  LoginAttempt& operator=(LoginAttempt&&) = delete;
  LoginAttempt(const LoginAttempt&) = delete;
  ~LoginAttempt();

  bool admitted() const { return limiter_ != nullptr; }
  std::chrono::seconds retry_after() const { return wait_; }
  void finish(AttemptResult result);

 private:
  friend class LoginRateLimiter;
  LoginAttempt(LoginRateLimiter* limiter, std::string client_key, std::string account, bool charged,
               std::chrono::seconds wait)
      : limiter_(limiter), client_key_(std::move(client_key)), account_(std::move(account)), charged_(charged),
        wait_(wait) {}

  LoginRateLimiter* limiter_;
  std::string client_key_;
  std::string account_;
  bool charged_;  // took an attempt from the account's bucket
  std::chrono::seconds wait_;
};

class LoginRateLimiter {
 public:
  explicit LoginRateLimiter(const Clock& clock, RateLimitOptions options = {}) : clock_(clock), opt_(options) {}

  // Asks to check a password of `account` for a request from `client` (an address).
  LoginAttempt begin(const std::string& client, const std::string& account);
  // `client` proved it knows the account's password another way (the first-run setup).
  void remember(const std::string& client, const std::string& account);

  size_t tracked() const;

  // The key a client address is counted under: IPv4 as is, IPv6 by its /64 prefix.
  static std::string key_for(const std::string& address);

 private:
  friend class LoginAttempt;
  struct Client {
    int failures = 0;
    int pending = 0;
    SystemTime last_failure{};
    SystemTime blocked_until{};
  };
  struct Bucket {
    double tokens = -1;  // < 0: not initialised (full)
    SystemTime refilled{};
  };
  void finish(const LoginAttempt& a, AttemptResult result);
  std::optional<std::chrono::seconds> client_wait_locked(const std::string& key, SystemTime now);
  bool known_locked(const std::string& account, const std::string& key, SystemTime now) const;
  void remember_locked(const std::string& account, const std::string& key, SystemTime now);
  Bucket& bucket_locked(const std::string& account, SystemTime now);
  void fail_locked(Client& c, SystemTime now) const;
  void evict_locked(SystemTime now);

  const Clock& clock_;
  RateLimitOptions opt_;
  mutable std::mutex mu_;
  std::map<std::string, Client> clients_;
  std::map<std::string, Bucket> accounts_;
  std::map<std::pair<std::string, std::string>, SystemTime> known_;  // (account, client key) → last success
};

}  // namespace stacksnap::http

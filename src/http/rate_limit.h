// Login rate limiting per client address.
//
// Policy: an address may fail kFreeFailures (5) times; the 5th failure and every one
// after it locks the address out for base_delay × 2^(failures−5) (1 min, 2, 4, … capped
// at max_delay = 1 h). While locked out, attempts are answered 429 with Retry-After and
// the password is not even checked. A success, or reset_after (1 h) without failures
// after the last lockout ended, forgets the address. So at most 5 guesses in the first
// minute, then one per lockout: about one per hour once the cap is reached.
// IPv6 addresses are grouped by /64 (one host usually owns a whole /64).
//
// Memory is bounded: at most max_tracked addresses; beyond that the stalest entry goes.
// Thread-safe.
#pragma once

#include <chrono>
#include <cstddef>
#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "base/clock.h"

namespace stacksnap::http {

struct RateLimitOptions {
  int free_failures = 5;
  std::chrono::seconds base_delay{60};
  std::chrono::seconds max_delay{3600};
  std::chrono::seconds reset_after{3600};
  size_t max_tracked = 10000;
};

class LoginRateLimiter {
 public:
  explicit LoginRateLimiter(const Clock& clock, RateLimitOptions options = {}) : clock_(clock), opt_(options) {}

  // nullopt: the address may try now; else how long it must wait (whole seconds, ≥ 1).
  std::optional<std::chrono::seconds> retry_after(const std::string& address);
  void record_failure(const std::string& address);
  void record_success(const std::string& address);

  size_t tracked() const;

  // The key an address is counted under: IPv4 as is, IPv6 by its /64 prefix.
  static std::string key_for(const std::string& address);

 private:
  struct Entry {
    int failures = 0;
    SystemTime last_failure{};
    SystemTime blocked_until{};
  };
  void evict_locked(SystemTime now);

  const Clock& clock_;
  RateLimitOptions opt_;
  mutable std::mutex mu_;
  std::map<std::string, Entry> entries_;
};

}  // namespace stacksnap::http

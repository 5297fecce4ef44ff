#include "http/rate_limit.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cmath>
#include <cstring>

namespace stacksnap::http {

LoginAttempt::LoginAttempt(LoginAttempt&& o) noexcept
    : limiter_(std::exchange(o.limiter_, nullptr)),
      client_key_(std::move(o.client_key_)),
      account_(std::move(o.account_)),
      charged_(o.charged_),
      wait_(o.wait_) {}

LoginAttempt::~LoginAttempt() { finish(AttemptResult::kNotChecked); }

void LoginAttempt::finish(AttemptResult result) {
  if (limiter_ == nullptr) return;
  limiter_->finish(*this, result);
  limiter_ = nullptr;
}

std::string LoginRateLimiter::key_for(const std::string& address) {
  in6_addr a6{};
  if (address.find(':') != std::string::npos && inet_pton(AF_INET6, address.c_str(), &a6) == 1) {
    static const unsigned char kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (std::memcmp(a6.s6_addr, kMapped, sizeof kMapped) == 0) {  // ::ffff:a.b.c.d → a.b.c.d
      char buf[INET_ADDRSTRLEN];
      if (inet_ntop(AF_INET, a6.s6_addr + 12, buf, sizeof buf)) return buf;
    }
    std::memset(a6.s6_addr + 8, 0, 8);
    char buf[INET6_ADDRSTRLEN];
    if (inet_ntop(AF_INET6, &a6, buf, sizeof buf)) return std::string(buf) + "/64";
  }
  return address;
}

LoginAttempt LoginRateLimiter::begin(const std::string& client, const std::string& account) {
  const SystemTime now = clock_.now();
  std::string key = key_for(client);
  std::lock_guard lk(mu_);
  if (auto wait = client_wait_locked(key, now)) return LoginAttempt(nullptr, {}, {}, false, *wait);
  const bool charged = !known_locked(account, key, now);
  if (charged) {
    Bucket& b = bucket_locked(account, now);
    if (b.tokens < 1) {
      auto wait = std::chrono::ceil<std::chrono::seconds>((1 - b.tokens) * opt_.account_refill);
      return LoginAttempt(nullptr, {}, {}, false, std::max(wait, std::chrono::seconds(1)));
    }
    b.tokens -= 1;
  }
  auto it = clients_.find(key);
  if (it == clients_.end()) {
    if (clients_.size() >= opt_.max_tracked) evict_locked(now);
    it = clients_.emplace(key, Client{}).first;
  }
  ++it->second.pending;
  return LoginAttempt(this, std::move(key), account, charged, std::chrono::seconds(0));
}

// How long the client must wait, counting its attempts in flight as failures-to-be.
std::optional<std::chrono::seconds> LoginRateLimiter::client_wait_locked(const std::string& key, SystemTime now) {
  auto it = clients_.find(key);
  if (it == clients_.end()) return std::nullopt;
  Client& c = it->second;
  if (c.failures > 0 && now - std::max(c.last_failure, c.blocked_until) >= opt_.reset_after) c.failures = 0;
  if (now < c.blocked_until) {
    return std::max(std::chrono::ceil<std::chrono::seconds>(c.blocked_until - now), std::chrono::seconds(1));
  }
  const int budget = c.failures < opt_.free_failures ? opt_.free_failures - c.failures : 1;
  if (c.pending >= budget) return std::chrono::seconds(1);  // the checks in flight decide
  return std::nullopt;
}

bool LoginRateLimiter::known_locked(const std::string& account, const std::string& key, SystemTime now) const {
  auto it = known_.find({account, key});
  return it != known_.end() && now - it->second < opt_.known_for;
}

void LoginRateLimiter::remember_locked(const std::string& account, const std::string& key, SystemTime now) {
  if (opt_.max_known == 0) return;
  if (!known_.count({account, key}) && known_.size() >= opt_.max_known) {
    auto oldest = std::min_element(known_.begin(), known_.end(),
                                   [](const auto& a, const auto& b) { return a.second < b.second; });
    known_.erase(oldest);
  }
  known_[{account, key}] = now;
}

LoginRateLimiter::Bucket& LoginRateLimiter::bucket_locked(const std::string& account, SystemTime now) {
  Bucket& b = accounts_[account];
  if (b.tokens < 0) {
    b.tokens = opt_.account_burst;
    b.refilled = now;
  }
  double elapsed = std::chrono::duration<double>(now - b.refilled).count();
  double refill = std::chrono::duration<double>(opt_.account_refill).count();
  if (elapsed > 0 && refill > 0) {
    b.tokens = std::min<double>(opt_.account_burst, b.tokens + elapsed / refill);
    b.refilled = now;
  }
  return b;
}

void LoginRateLimiter::remember(const std::string& client, const std::string& account) {
  std::lock_guard lk(mu_);
  remember_locked(account, key_for(client), clock_.now());
}

void LoginRateLimiter::finish(const LoginAttempt& a, AttemptResult result) {
  const SystemTime now = clock_.now();
  std::lock_guard lk(mu_);
  if (a.charged_ && result != AttemptResult::kFailed) {
    Bucket& b = bucket_locked(a.account_, now);
    b.tokens = std::min<double>(opt_.account_burst, b.tokens + 1);
  }
  auto it = clients_.find(a.client_key_);
  if (it == clients_.end()) return;
  Client& c = it->second;
  c.pending = std::max(c.pending - 1, 0);
  if (result == AttemptResult::kFailed) fail_locked(c, now);
  if (result == AttemptResult::kSucceeded) {
    remember_locked(a.account_, a.client_key_, now);
    c.failures = 0;
    c.blocked_until = {};
  }
  if (c.pending == 0 && c.failures == 0) clients_.erase(it);
}

void LoginRateLimiter::fail_locked(Client& c, SystemTime now) const {
  // Quiet time counts from the end of the last lockout, so waiting one out does not
  // also earn five fresh attempts.
  if (c.failures > 0 && now - std::max(c.last_failure, c.blocked_until) >= opt_.reset_after) c.failures = 0;
  c.failures = std::min(c.failures + 1, 1000);
  c.last_failure = now;
  if (c.failures >= opt_.free_failures) {
    int exponent = std::min(c.failures - opt_.free_failures, 30);
    auto delay = opt_.base_delay * (int64_t{1} << exponent);
    c.blocked_until = now + std::min(delay, opt_.max_delay);
  }
}

size_t LoginRateLimiter::tracked() const {
  std::lock_guard lk(mu_);
  return clients_.size();
}

void LoginRateLimiter::evict_locked(SystemTime now) {
  for (auto it = clients_.begin(); it != clients_.end();) {
    const Client& c = it->second;
    bool stale = c.pending == 0 && now - std::max(c.last_failure, c.blocked_until) >= opt_.reset_after;
    it = stale ? clients_.erase(it) : std::next(it);
  }
  if (clients_.size() < opt_.max_tracked) return;
  auto oldest = clients_.end();
  for (auto it = clients_.begin(); it != clients_.end(); ++it) {
    if (it->second.pending == 0 && (oldest == clients_.end() || it->second.last_failure < oldest->second.last_failure)) {
      oldest = it;
    }
  }
  if (oldest != clients_.end()) clients_.erase(oldest);
}

}  // namespace stacksnap::http

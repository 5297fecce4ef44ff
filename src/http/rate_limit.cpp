#include "http/rate_limit.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>

namespace stacksnap::http {

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

std::optional<std::chrono::seconds> LoginRateLimiter::retry_after(const std::string& address) {
  SystemTime now = clock_.now();
  std::lock_guard lk(mu_);
  auto it = entries_.find(key_for(address));
  if (it == entries_.end() || now >= it->second.blocked_until) return std::nullopt;
  auto wait = std::chrono::ceil<std::chrono::seconds>(it->second.blocked_until - now);
  return std::max(wait, std::chrono::seconds(1));
}

void LoginRateLimiter::record_failure(const std::string& address) {
  SystemTime now = clock_.now();
  std::lock_guard lk(mu_);
  std::string key = key_for(address);
  auto it = entries_.find(key);
  if (it == entries_.end()) {
    if (entries_.size() >= opt_.max_tracked) evict_locked(now);
    it = entries_.emplace(key, Entry{}).first;
  }
  Entry& e = it->second;
  // Quiet time counts from the end of the last lockout, so waiting one out does not
  // also earn five fresh attempts.
  if (e.failures > 0 && now - std::max(e.last_failure, e.blocked_until) >= opt_.reset_after) e.failures = 0;
  e.failures = std::min(e.failures + 1, 1000);
  e.last_failure = now;
  if (e.failures >= opt_.free_failures) {
    int exponent = std::min(e.failures - opt_.free_failures, 30);
    auto delay = opt_.base_delay * (int64_t{1} << exponent);
    e.blocked_until = now + std::min(delay, opt_.max_delay);
  }
}

void LoginRateLimiter::record_success(const std::string& address) {
  std::lock_guard lk(mu_);
  entries_.erase(key_for(address));
}

size_t LoginRateLimiter::tracked() const {
  std::lock_guard lk(mu_);
  return entries_.size();
}

void LoginRateLimiter::evict_locked(SystemTime now) {
  for (auto it = entries_.begin(); it != entries_.end();) {
    bool stale = now - std::max(it->second.last_failure, it->second.blocked_until) >= opt_.reset_after;
    it = stale ? entries_.erase(it) : std::next(it);
  }
  if (entries_.size() < opt_.max_tracked) return;
  auto oldest = std::min_element(entries_.begin(), entries_.end(), [](const auto& a, const auto& b) {
    return a.second.last_failure < b.second.last_failure;
  });
  if (oldest != entries_.end()) entries_.erase(oldest);
}

}  // namespace stacksnap::http

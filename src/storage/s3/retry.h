// Retries of S3 requests: exponential backoff with full jitter, for Unavailable only.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>

#include "base/error.h"
#include "storage/s3/s3_config.h"

namespace stacksnap::storage::s3 {

// The upper bound of the wait after `failures` failed attempts (1, 2, …):
// min(max_delay, base_delay × 2^(failures-1)).
std::chrono::milliseconds backoff_cap(const RetryPolicy& p, int failures);
// Full jitter: uniform in [0, backoff_cap] drawn from `random`.
std::chrono::milliseconds backoff_delay(const RetryPolicy& p, int failures, uint64_t random);
// Only Unavailable is worth another try; PermissionDenied, NotFound, DataLoss… fail at once.
inline bool is_retryable(const Error& e) { return e.code() == Code::kUnavailable; }

class Retrier {
 public:
  // `sleep`/`random` empty: the real ones (the sleep wakes early when *cancel turns true).
  Retrier(RetryPolicy policy, std::function<void(std::chrono::milliseconds)> sleep,
          std::function<uint64_t()> random, const std::atomic<bool>* cancel = nullptr)
      : policy_(policy), sleep_(std::move(sleep)), random_(std::move(random)), cancel_(cancel) {}

  // Calls fn(attempt) (attempt = 1, 2, …) until it succeeds, fails with a non-retryable
  // error, or max_attempts are used up; the last error then says how many were made.
  template <class F>
  auto run(F&& fn) -> decltype(fn(1)) {
    for (int attempt = 1;; ++attempt) {
      auto r = fn(attempt);
      if (r.ok() || !is_retryable(r.error())) return r;
      if (attempt >= policy_.max_attempts) {
        if (attempt > 1) r.error().with_context("gave up after " + std::to_string(attempt) + " attempts");
        return r;
      }
      Status w = backoff(attempt);
      if (!w.ok()) return std::move(w).error();
    }
  }

  // Waits before the next attempt after `failures` failures; Cancelled when *cancel is set.
  Status backoff(int failures);
  int max_attempts() const { return policy_.max_attempts; }

 private:
  RetryPolicy policy_;
  std::function<void(std::chrono::milliseconds)> sleep_;
  std::function<uint64_t()> random_;
  const std::atomic<bool>* cancel_;
};

}  // namespace stacksnap::storage::s3

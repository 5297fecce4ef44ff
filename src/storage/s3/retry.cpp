#include "storage/s3/retry.h"

#include <algorithm>
#include <random>
#include <thread>

namespace stacksnap::storage::s3 {
namespace {

constexpr std::chrono::milliseconds kSleepSlice{50};  // how fast a cancel ends a backoff wait

uint64_t default_random() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  return rng();
}

}  // namespace

std::chrono::milliseconds backoff_cap(const RetryPolicy& p, int failures) {
  int64_t cap = std::max<int64_t>(p.base_delay.count(), 0);
  for (int i = 1; i < failures && cap < p.max_delay.count(); ++i) cap *= 2;
  return std::chrono::milliseconds(std::min<int64_t>(cap, p.max_delay.count()));
}

std::chrono::milliseconds backoff_delay(const RetryPolicy& p, int failures, uint64_t random) {
  auto cap = static_cast<uint64_t>(backoff_cap(p, failures).count());
  return std::chrono::milliseconds(static_cast<int64_t>(random % (cap + 1)));
}

Status Retrier::backoff(int failures) {
  auto delay = backoff_delay(policy_, failures, random_ ? random_() : default_random());
  if (sleep_) {
    sleep_(delay);
  } else {
    auto end = std::chrono::steady_clock::now() + delay;
    while (std::chrono::steady_clock::now() < end) {
      if (cancel_ != nullptr && cancel_->load()) break;
      std::this_thread::sleep_for(std::min<std::chrono::nanoseconds>(kSleepSlice, end - std::chrono::steady_clock::now()));
    }
  }
  if (cancel_ != nullptr && cancel_->load()) return cancelled("s3 request cancelled");
  return {};
}

}  // namespace stacksnap::storage::s3

#include "app/projects_cache.h"

namespace stacksnap::app {

Result<std::vector<stack::Project>> ProjectsCache::get() {
  std::unique_lock lock(mu_);
  for (;;) {
    if (value_ && now_() - at_ < kProjectsTtl) return *value_;
    if (!running_) break;
    done_.wait(lock);
  }
  running_ = true;
  const uint64_t generation = generation_;
  lock.unlock();
  auto r = discover_();
  lock.lock();
  running_ = false;
  if (r.ok() && generation == generation_) {
    value_ = *r;
    at_ = now_();
  }
  done_.notify_all();
  return r;
}

void ProjectsCache::invalidate() {
  std::lock_guard lock(mu_);
  ++generation_;
  value_.reset();
}

}  // namespace stacksnap::app

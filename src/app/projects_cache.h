// The Compose projects on the Engine, as the dashboard's routes list them: discovery costs
// an inspect per container (hundreds of ms on a busy Engine), and a dashboard polls. One
// discovery answers every request for kProjectsTtl, and while one runs, other callers wait
// for its answer instead of starting their own (so a burst of requests costs one).
// Dropped (invalidate) when a job ends, since restores create projects.
//
// Thread-safe.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <vector>

#include "base/error.h"
#include "stack/model.h"

namespace stacksnap::app {

inline constexpr std::chrono::milliseconds kProjectsTtl{2000};

class ProjectsCache {
 public:
  using Discover = std::function<Result<std::vector<stack::Project>>()>;
  using Now = std::function<std::chrono::steady_clock::time_point()>;
  explicit ProjectsCache(Discover discover, Now now = std::chrono::steady_clock::now)
      : discover_(std::move(discover)), now_(std::move(now)) {}

  // A discovery at most kProjectsTtl old (errors are not kept).
  Result<std::vector<stack::Project>> get();
  void invalidate();

 private:
  Discover discover_;
  Now now_;
  std::mutex mu_;
  std::condition_variable done_;
  bool running_ = false;
  uint64_t generation_ = 0;  // bumped by invalidate(): a discovery started before does not fill the cache
  std::optional<std::vector<stack::Project>> value_;
  std::chrono::steady_clock::time_point at_{};
};

}  // namespace stacksnap::app

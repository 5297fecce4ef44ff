// Safe Mode: pause a project's app containers while their data is read, and always
// resume them. Each pause is recorded in the state database before it happens, so a
// crash is repaired at the next start (repair_paused). A guard's own failures go into
// the job's events.
#pragma once

#include <string>
#include <vector>

#include "backup/plan.h"
#include "catalog/catalog.h"
#include "docker/client.h"
#include "job/context.h"

namespace stacksnap::backup {

class QuiesceGuard {
 public:
  // Pauses every target that is running; on a failure resumes those already paused and
  // returns the error.
  static Result<QuiesceGuard> pause(docker::Client& docker, catalog::Catalog& cat, int64_t job_id,
                                    const std::string& project, const std::vector<PauseTarget>& targets,
                                    job::Context& ctx);
  QuiesceGuard(QuiesceGuard&& o) noexcept;
  QuiesceGuard& operator=(QuiesceGuard&&) = delete;
  ~QuiesceGuard();  // resume() when still paused

  // Unpauses everything paused; returns the first failure (after trying all).
  Status resume();
  // Milliseconds between the first pause and the last unpause (0 while paused).
  int64_t window_ms() const { return window_ms_; }
  size_t paused_count() const { return paused_.size(); }

 private:
  QuiesceGuard(docker::Client& d, catalog::Catalog& c, job::Context& ctx) : docker_(&d), cat_(&c), ctx_(&ctx) {}
  docker::Client* docker_;
  catalog::Catalog* cat_;
  job::Context* ctx_;
  std::vector<PauseTarget> paused_;
  double paused_at_ = 0;
  int64_t window_ms_ = 0;
  bool active_ = false;
};

// Unpauses containers recorded as paused by processes that are gone. Returns how many
// were resumed. Failures are reported through `warn` and do not stop the others.
Result<int> repair_paused(docker::Client& docker, catalog::Catalog& cat,
                          const std::function<void(const std::string&)>& warn);

}  // namespace stacksnap::backup

#include "backup/quiesce.h"

#include <signal.h>
#include <unistd.h>

#include <cerrno>

#include "base/clock.h"

namespace stacksnap::backup {

Result<QuiesceGuard> QuiesceGuard::pause(docker::Client& docker, catalog::Catalog& cat, int64_t job_id,
                                         const std::string& project, const std::vector<PauseTarget>& targets,
                                         job::Context& ctx) {
  QuiesceGuard g(docker, cat, ctx);
  g.active_ = true;
  for (const auto& t : targets) {
    auto info = docker.inspect_container(t.container_id);
    if (!info.ok()) return std::move(info).error().with_context("safe mode: pause " + t.container_name);
    if (!info->state.running || info->state.paused) {
      ctx.info("safe mode: " + t.container_name + " is not running; left as it is");
      continue;
    }
    // Record first: if we die between the pause and the record, nothing would undo it.
    TRY(cat.record_paused({.container_id = t.container_id, .name = t.container_name, .project = project,
                           .job_id = job_id, .pid = ::getpid(),
                           .paused_at = unix_seconds(std::chrono::system_clock::now())}));
    Status st = docker.pause_container(t.container_id);
    if (!st.ok()) {
      (void)cat.forget_paused(t.container_id);
      return std::move(st).error().with_context("safe mode: pause " + t.container_name);
    }
    if (g.paused_.empty()) g.paused_at_ = monotonic_seconds();
    g.paused_.push_back(t);
    ctx.info("safe mode: paused " + t.container_name);
  }
  return g;
}

QuiesceGuard::QuiesceGuard(QuiesceGuard&& o) noexcept
    : docker_(o.docker_), cat_(o.cat_), ctx_(o.ctx_), paused_(std::move(o.paused_)), paused_at_(o.paused_at_),
      window_ms_(o.window_ms_), active_(std::exchange(o.active_, false)) {}

QuiesceGuard::~QuiesceGuard() {
  if (active_) (void)resume();
}

Status QuiesceGuard::resume() {
  if (!active_) return {};
  active_ = false;
  Status first;
  for (const auto& t : paused_) {
    Status st = docker_->unpause_container(t.container_id);
    if (!st.ok()) {
      // Already running again (someone else unpaused it) is fine.
      auto info = docker_->inspect_container(t.container_id);
      if (info.ok() && !info->state.paused) st = {};
    }
    if (st.ok()) {
      (void)cat_->forget_paused(t.container_id);
      ctx_->info("safe mode: resumed " + t.container_name);
    } else {
      ctx_->log(job::Level::kError, "safe mode: could not resume " + t.container_name + ": " + st.error().message() +
                                        " (it will be retried at the next start)");
      if (first.ok()) first = st;
    }
  }
  if (!paused_.empty()) window_ms_ = static_cast<int64_t>((monotonic_seconds() - paused_at_) * 1000);
  return first;
}

Result<int> repair_paused(docker::Client& docker, catalog::Catalog& cat,
                          const std::function<void(const std::string&)>& warn) {
  auto recorded = TRY(cat.list_paused());
  int resumed = 0;
  for (const auto& p : recorded) {
    bool owner_alive = p.pid > 0 && (::kill(static_cast<pid_t>(p.pid), 0) == 0 || errno == EPERM);
    if (owner_alive && p.pid != ::getpid()) continue;  // a running backup holds it
    auto info = docker.inspect_container(p.container_id);
    if (!info.ok()) {
      if (info.error().code() == Code::kNotFound) (void)cat.forget_paused(p.container_id);
      else warn("repair: cannot inspect " + p.name + ": " + info.error().message());
      continue;
    }
    if (info->state.paused) {
      Status st = docker.unpause_container(p.container_id);
      if (!st.ok()) {
        warn("repair: cannot unpause " + p.name + ": " + st.error().message());
        continue;
      }
      ++resumed;
      warn("repair: resumed " + p.name + ", left paused by an interrupted backup of " + p.project);
    }
    (void)cat.forget_paused(p.container_id);
  }
  return resumed;
}

}  // namespace stacksnap::backup

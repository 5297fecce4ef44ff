// Scope guards: run a callable on scope exit unless dismissed.
#pragma once

#include <utility>

namespace stacksnap {

template <class F>
class ScopeGuard {
 public:
  explicit ScopeGuard(F f) : f_(std::move(f)) {}
  ScopeGuard(ScopeGuard&& o) noexcept : f_(std::move(o.f_)), active_(std::exchange(o.active_, false)) {}
  ScopeGuard(const ScopeGuard&) = delete;
  ScopeGuard& operator=(const ScopeGuard&) = delete;
  ~ScopeGuard() {
    if (active_) f_();
  }
  void dismiss() { active_ = false; }

 private:
  F f_;
  bool active_ = true;
};

template <class F>
ScopeGuard<F> on_scope_exit(F f) {
  return ScopeGuard<F>(std::move(f));
}

}  // namespace stacksnap

// The context a long operation runs in: a stop token, an event sink, secret redaction.
// Pipelines report through it and never print directly.
#pragma once

#include <atomic>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "base/cancel.h"
#include "base/error.h"
#include "job/events.h"

namespace stacksnap::job {

enum class Level { kDebug, kInfo, kWarn, kError };
std::string_view level_name(Level l);

class Context {
 public:
  Context(EventSink& sink, StopToken stop) : sink_(sink), stop_(std::move(stop)) {}

  const StopToken& stop() const { return stop_; }
  Status check_cancel(std::string_view what) const { return stacksnap::check_cancel(stop_, what); }

  // Strings registered here are replaced by "***" in every log/error message.
  void add_secret(std::string secret);
  std::string redact(std::string text) const;

  void step_started(const std::string& step, const std::string& title);
  void step_finished(const std::string& step, bool ok, int64_t duration_ms, const std::string& detail = {});
  void log(Level level, const std::string& message, const std::string& step = {});
  void info(const std::string& message, const std::string& step = {}) { log(Level::kInfo, message, step); }
  void warn(const std::string& message, const std::string& step = {}) { log(Level::kWarn, message, step); }
  void error(const Error& e);
  void summary(Json fields);
  void progress(const std::string& step, uint64_t done, std::optional<uint64_t> total, double rate_bps);
  // Any other typed event (e.g. "pause_window").
  void emit(const std::string& type, Json data);

 private:
  EventSink& sink_;
  StopToken stop_;
  mutable std::mutex mu_;
  std::vector<std::string> secrets_;
};

// Rate-limited progress for one step: call add(n) from the data path; emits at most
// every 250 ms, and once more on finish().
class Progress {
 public:
  Progress(Context& ctx, std::string step, std::optional<uint64_t> total);
  void add(uint64_t n);
  void set_total(std::optional<uint64_t> total) { total_ = total; }
  void finish();
  uint64_t done() const { return done_.load(); }

 private:
  void emit_now(double now);
  Context& ctx_;
  std::string step_;
  std::optional<uint64_t> total_;
  std::atomic<uint64_t> done_{0};
  double started_;
  std::atomic<double> last_emit_{0};
};

// Times a step: emits step_started now and step_finished (ok or not) at end().
class StepTimer {
 public:
  StepTimer(Context& ctx, std::string step, const std::string& title);
  ~StepTimer();
  void end(bool ok, const std::string& detail = {});
  // Finishes with the status: ok → detail, else the error message as detail.
  template <class T>
  const Result<T>& end_with(const Result<T>& r, const std::string& ok_detail = {}) {
    end(r.ok(), r.ok() ? ok_detail : r.error().message());
    return r;
  }

 private:
  Context& ctx_;
  std::string step_;
  double started_;
  bool ended_ = false;
};

// Runs `fn` (returning a Status or Result<T>) as the step `id`: step_started, then
// step_finished with ok and the time taken; a failure's message (redacted) is the step's
// detail, a success's is `ok_detail(result)` when given. Returns what `fn` returned, for
// TRY:   auto plan = TRY(job::run_step(ctx, "plan", "Plan the backup", [&] { return make(); }));
template <class Fn>
auto run_step(Context& ctx, std::string id, const std::string& title, Fn&& fn) -> decltype(fn()) {
  StepTimer t(ctx, std::move(id), title);
  auto r = fn();
  t.end(r.ok(), r.ok() ? std::string() : ctx.redact(r.error().message()));
  return r;
}
template <class Fn, class Detail>
auto run_step(Context& ctx, std::string id, const std::string& title, Fn&& fn, Detail&& ok_detail)
    -> decltype(fn()) {
  StepTimer t(ctx, std::move(id), title);
  auto r = fn();
  t.end(r.ok(), r.ok() ? std::string(ok_detail(r)) : ctx.redact(r.error().message()));
  return r;
}

}  // namespace stacksnap::job

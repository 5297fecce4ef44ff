#include "job/context.h"

#include "base/clock.h"

namespace stacksnap::job {

std::string_view level_name(Level l) {
  switch (l) {
    case Level::kDebug: return "debug";
    case Level::kInfo: return "info";
    case Level::kWarn: return "warn";
    case Level::kError: return "error";
  }
  return "info";
}

void Context::add_secret(std::string secret) {
  if (secret.size() < 3) return;  // too short to redact without mangling ordinary text
  std::lock_guard lk(mu_);
  for (const auto& s : secrets_) {
    if (s == secret) return;
  }
  secrets_.push_back(std::move(secret));
}

std::string Context::redact(std::string text) const {
  std::lock_guard lk(mu_);
  for (const auto& s : secrets_) {
    for (size_t pos = text.find(s); pos != std::string::npos; pos = text.find(s, pos + 3)) {
      text.replace(pos, s.size(), "***");
    }
  }
  return text;
}

void Context::step_started(const std::string& step, const std::string& title) {
  sink_.emit({.type = "step_started", .data = {{"step", step}, {"title", redact(title)}}});
}

void Context::step_finished(const std::string& step, bool ok, int64_t duration_ms, const std::string& detail) {
  Json d = {{"step", step}, {"ok", ok}, {"duration_ms", duration_ms}};
  if (!detail.empty()) d["detail"] = redact(detail);
  sink_.emit({.type = "step_finished", .data = std::move(d)});
}

void Context::log(Level level, const std::string& message, const std::string& step) {
  Json d = {{"level", level_name(level)}, {"message", redact(message)}};
  if (!step.empty()) d["step"] = step;
  sink_.emit({.type = "log", .data = std::move(d)});
}

void Context::error(const Error& e) {
  sink_.emit({.type = "error", .data = {{"code", code_name(e.code())}, {"message", redact(e.message())}}});
}

void Context::summary(Json fields) { sink_.emit({.type = "summary", .data = std::move(fields)}); }

void Context::progress(const std::string& step, uint64_t done, std::optional<uint64_t> total, double rate_bps) {
  Json d = {{"step", step}, {"bytes_done", done}, {"rate_bps", static_cast<uint64_t>(rate_bps)}};
  d["bytes_total"] = total ? Json(*total) : Json(nullptr);
  if (total && rate_bps > 1 && *total >= done) {
    d["eta_s"] = static_cast<int64_t>(static_cast<double>(*total - done) / rate_bps);
  } else {
    d["eta_s"] = nullptr;
  }
  sink_.emit({.type = "progress", .data = std::move(d)});
}

void Context::emit(const std::string& type, Json data) { sink_.emit({.type = type, .data = std::move(data)}); }

Progress::Progress(Context& ctx, std::string step, std::optional<uint64_t> total)
    : ctx_(ctx), step_(std::move(step)), total_(total), started_(monotonic_seconds()) {}

void Progress::add(uint64_t n) {
  done_ += n;
  double now = monotonic_seconds();
  double last = last_emit_.load();
  if (now - last >= 0.25 && last_emit_.compare_exchange_strong(last, now)) emit_now(now);
}

void Progress::finish() { emit_now(monotonic_seconds()); }

void Progress::emit_now(double now) {
  double elapsed = now - started_;
  uint64_t d = done_.load();
  ctx_.progress(step_, d, total_, elapsed > 0 ? static_cast<double>(d) / elapsed : 0.0);
}

StepTimer::StepTimer(Context& ctx, std::string step, const std::string& title)
    : ctx_(ctx), step_(std::move(step)), started_(monotonic_seconds()) {
  ctx_.step_started(step_, title);
}

StepTimer::~StepTimer() {
  if (!ended_) end(false, "interrupted");
}

void StepTimer::end(bool ok, const std::string& detail) {
  if (ended_) return;
  ended_ = true;
  ctx_.step_finished(step_, ok, static_cast<int64_t>((monotonic_seconds() - started_) * 1000), detail);
}

}  // namespace stacksnap::job

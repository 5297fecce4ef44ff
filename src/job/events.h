// Typed job events: the one vocabulary shared by the CLI's terminal output, its --json
// lines, the state database and the server's SSE streams.
//
// Wire form (one JSON object): {"seq":N,"ts":"2026-11-25T20:17:30.123Z","type":T, …fields}
//   step_started  step, title
//   step_finished step, ok, duration_ms, detail?
//   progress      step, bytes_done, bytes_total?, rate_bps, eta_s?
//   log           level (debug|info|warn|error), message, step?
//   error         code, message
//   summary       result (succeeded|partial|failed|cancelled), kind-specific fields (backup_id, …)
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace stacksnap::job {

using Json = nlohmann::json;

struct Event {
  int64_t seq = 0;
  int64_t ts_ms = 0;
  std::string type;
  Json data;  // fields besides seq/ts/type

  // The wire form described above.
  Json to_json() const;
};

std::string format_ts_ms(int64_t ts_ms);
int64_t now_ms();

// Receives events. Implementations are thread-safe: captures run concurrently.
class EventSink {
 public:
  virtual ~EventSink() = default;
  // Takes an event without seq/ts; the sink (or the first of a chain) assigns them.
  virtual void emit(Event e) = 0;
};

// Assigns seq and ts, then forwards to every child in order. Thread-safe.
class EventHub final : public EventSink {
 public:
  void add(EventSink* sink) { sinks_.push_back(sink); }
  void emit(Event e) override;
  int64_t last_seq() const;

 private:
  mutable std::mutex mu_;
  int64_t seq_ = 0;
  std::vector<EventSink*> sinks_;
};

// Collects events in memory (tests).
class EventRecorder final : public EventSink {
 public:
  void emit(Event e) override {
    std::lock_guard lk(mu_);
    events_.push_back(std::move(e));
  }
  std::vector<Event> events() const {
    std::lock_guard lk(mu_);
    return events_;
  }

 private:
  mutable std::mutex mu_;
  std::vector<Event> events_;
};

}  // namespace stacksnap::job

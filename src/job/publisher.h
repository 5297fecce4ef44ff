// Where the server's job manager tells the world what jobs do: each job's live event
// stream and the dashboard's feed of changes. The HTTP layer implements it over its SSE hub
// (http::SsePublisher in http/job_stream.h): the job layer never includes http.
//
// Events reach a Publisher only after they were persisted (run_recorded_job puts the
// catalog sink first), which makes a subscriber's replay-then-live handoff gap-free.
// Implementations are thread-safe.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "job/events.h"

namespace stacksnap::job {

class Publisher {
 public:
  virtual ~Publisher() = default;
  // One persisted event of job `job_id`, for its live subscribers.
  virtual void job_event(int64_t job_id, const Event& e) = 0;
  // Job `job_id` published its last event: its live streams end.
  virtual void job_ended(int64_t job_id) = 0;
  // A dashboard-level change: "job_queued", "job_started", "job_finished", "backup_added",
  // "backup_deleted", "settings_changed".
  virtual void dashboard(const std::string& type, const nlohmann::json& data) = 0;
};

// The live sink of one job: forwards its events to a Publisher once bound to the job's id
// (events before bind() are dropped). Thread-safe.
class PublishingSink final : public EventSink {
 public:
  explicit PublishingSink(Publisher& p) : p_(p) {}
  void bind(int64_t job_id) { job_id_.store(job_id); }
  void emit(Event e) override {
    const int64_t id = job_id_.load();
    if (id > 0) p_.job_event(id, e);
  }
  // The job is finished: its streams end.
  void close() {
    const int64_t id = job_id_.load();
    if (id > 0) p_.job_ended(id);
  }

 private:
  Publisher& p_;
  std::atomic<int64_t> job_id_{0};
};

}  // namespace stacksnap::job

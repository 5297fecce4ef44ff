// Job events and dashboard changes on the SSE hub: the glue the job manager uses.
//
//   // when a job is created (run_job's on_created), and as its live sink:
//   http::JobEventPublisher live(hub);          // run_job(cat, spec, live, stop, body, [&](int64_t id) {
//                                               //   live.bind(id); http::publish_dashboard(hub, "job_started", …); });
//   … after run_job returned (the job is finished in the catalog):
//   live.close();                               // streams replay-complete and close
//   http::publish_dashboard(hub, "job_finished", {{"job_id", id}, {"result", …}});
//
//   // the route:
//   router.sse("/api/jobs/{id}/events", http::job_events_handler(cat));
//
// Events are published only after run_job persisted them (CatalogSink comes first in its
// EventHub), which is what makes the Last-Event-ID handoff gap-free.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

#include "catalog/catalog.h"
#include "http/router.h"
#include "http/sse.h"
#include "job/events.h"

namespace stacksnap::http {

inline constexpr const char* kDashboardTopic = "dashboard";
inline constexpr size_t kDashboardHistory = 256;  // dashboard events kept for reconnects
inline constexpr int kReplayPage = 500;           // job events per replay query

std::string job_topic(int64_t job_id);  // "job:42"

// The SSE form of a job event: id = seq, event = type, data = the wire JSON.
SseEvent to_sse(const job::Event& e);

// Replays a job's stored events from the catalog in pages; finished once the job's
// state is terminal. `cat` must outlive the stream.
SseSource job_event_source(catalog::Catalog& cat, int64_t job_id);

// Handler for "/api/jobs/{id}/events": 400 for a bad id, 404 for an unknown job.
SseHandler job_events_handler(catalog::Catalog& cat);

// An EventSink publishing one job's events to "job:<id>". Events before bind() are
// dropped (run_job binds in on_created before the first event). Thread-safe.
class JobEventPublisher final : public job::EventSink {
 public:
  explicit JobEventPublisher(SseHub& hub) : hub_(hub) {}
  void bind(int64_t job_id) { job_id_.store(job_id); }
  void emit(job::Event e) override;
  // The job is finished: subscribers get the rest and their streams close.
  void close();

 private:
  SseHub& hub_;
  std::atomic<int64_t> job_id_{0};
};

// Publishes a dashboard-level change ("job_started", "job_finished", "backup_added", …);
// the hub assigns its id. Call SseHub::keep_history(kDashboardTopic, kDashboardHistory)
// once at startup (register_core_routes does).
void publish_dashboard(SseHub& hub, const std::string& type, const Json& data);

}  // namespace stacksnap::http

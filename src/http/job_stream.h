// Job events and dashboard changes on the SSE hub: the HTTP side of job::Publisher.
//
//   http::SsePublisher publisher(hub);          // handed to app::Appliance / JobManager
//   router.sse("/api/jobs/{id}/events", http::job_events_handler(cat));
//
// Events are published only after run_job persisted them (CatalogSink comes first in its
// EventHub), which is what makes the Last-Event-ID handoff gap-free.
#pragma once

#include <cstdint>
#include <string>

#include "catalog/catalog.h"
#include "http/router.h"
#include "http/sse.h"
#include "job/events.h"
#include "job/publisher.h"

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

// The job layer's Publisher (job/publisher.h) over the hub: a job's events go to
// "job:<id>", its end closes that topic, dashboard changes go to kDashboardTopic.
class SsePublisher final : public job::Publisher {
 public:
  explicit SsePublisher(SseHub& hub) : hub_(hub) {}
  void job_event(int64_t job_id, const job::Event& e) override;
  void job_ended(int64_t job_id) override;
  void dashboard(const std::string& type, const Json& data) override;

 private:
  SseHub& hub_;
};

// Publishes a dashboard-level change ("job_started", "job_finished", "backup_added", …);
// the hub assigns its id. Call SseHub::keep_history(kDashboardTopic, kDashboardHistory)
// once at startup (register_core_routes does).
void publish_dashboard(SseHub& hub, const std::string& type, const Json& data);

}  // namespace stacksnap::http

#include "http/job_stream.h"

#include <charconv>

namespace stacksnap::http {

std::string job_topic(int64_t job_id) { return "job:" + std::to_string(job_id); }

SseEvent to_sse(const job::Event& e) { return {.id = e.seq, .type = e.type, .data = json_text(e.to_json())}; }

SseSource job_event_source(catalog::Catalog& cat, int64_t job_id) {
  SseSource src;
  src.topic = job_topic(job_id);
  src.replay = [&cat, job_id](int64_t after) -> Result<std::vector<SseEvent>> {
    auto records = TRY(cat.events_after(job_id, after, kReplayPage));
    std::vector<SseEvent> out;
    out.reserve(records.size());
    for (auto& r : records) out.push_back(to_sse(job::Event{r.seq, r.ts_ms, std::move(r.type), std::move(r.data)}));
    return out;
  };
  src.is_finished = [&cat, job_id] {
    auto j = cat.get_job(job_id);
    return j.ok() && catalog::is_terminal(j->state);
  };
  return src;
}

SseHandler job_events_handler(catalog::Catalog& cat) {
  return [&cat](Request& req) -> Result<SseSource> {
    std::string raw = req.param("id");
    int64_t id = 0;
    auto [end, ec] = std::from_chars(raw.data(), raw.data() + raw.size(), id);
    if (ec != std::errc() || end != raw.data() + raw.size() || id <= 0) {
      return invalid_argument("a job id is a positive integer");
    }
    TRY(cat.get_job(id));
    return job_event_source(cat, id);
  };
}

void SsePublisher::job_event(int64_t job_id, const job::Event& e) { hub_.publish(job_topic(job_id), to_sse(e)); }

void SsePublisher::job_ended(int64_t job_id) { hub_.close_topic(job_topic(job_id)); }

void SsePublisher::dashboard(const std::string& type, const Json& data) { publish_dashboard(hub_, type, data); }

void publish_dashboard(SseHub& hub, const std::string& type, const Json& data) {
  hub.publish(kDashboardTopic, {.id = 0, .type = type, .data = json_text(data)});
}

}  // namespace stacksnap::http

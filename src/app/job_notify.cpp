#include "app/job_notify.h"

#include <unistd.h>

#include <algorithm>

#include "base/clock.h"

namespace stacksnap::app {

using Json = nlohmann::json;

Result<std::string> server_name(catalog::Catalog& cat) {
  if (auto v = TRY(cat.get_setting("server_name")); v && v->is_string() && !v->get<std::string>().empty()) {
    return v->get<std::string>();
  }
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  return std::string(host);
}

notify::Message job_message(const catalog::JobRecord& job, const std::string& event, const std::string& server) {
  std::string result = event == "job_started" ? "started" : std::string(catalog::job_state_name(job.state));
  if (result == "interrupted") result = "failed";
  const std::string what = job.kind + (job.project.empty() ? "" : " of " + job.project);
  const std::string verb = result == "partial" ? "partly failed" : result;
  const bool summary = job.summary.is_object();
  notify::Message m;
  m.event = event;
  m.result = result;
  m.title = "StackSnap: " + what + " " + verb;
  m.text = what + " " + verb + " (job " + std::to_string(job.id) + " on " + server + ")";
  if (!job.error.empty()) m.text += ": " + job.error;
  m.payload = Json{{"event", event},
                   {"result", result},
                   {"kind", job.kind},
                   {"project", job.project},
                   {"job_id", job.id},
                   {"backup_id", summary ? job.summary.value("backup_id", job.backup_id) : job.backup_id},
                   {"code", job.error_code},
                   {"message", job.error},
                   {"duration_ms", summary ? job.summary.value("duration_ms", int64_t{0}) : 0},
                   {"server", server},
                   {"ts", format_rfc3339(std::chrono::system_clock::now())},
                   {"test", false},
                   {"summary", job.summary}};
  if (summary && job.summary.contains("failed_targets")) m.payload["failed_targets"] = job.summary["failed_targets"];
  return m;
}

bool wants(const catalog::NotificationRecord& n, const catalog::JobRecord& job, const std::string& event) {
  auto kind = notify::parse_kind(n.kind);
  if (!n.enabled || !kind.ok()) return false;
  if (*kind == notify::Kind::kHealthchecks) return true;
  if (event != "job_finished") return false;
  const bool failure = job.state == catalog::JobState::kFailed || job.state == catalog::JobState::kPartial ||
                       job.state == catalog::JobState::kInterrupted;
  return (failure && n.on_failure) || (job.state == catalog::JobState::kSucceeded && n.on_success);
}

JobNotifier::JobNotifier(catalog::Catalog& cat, notify::Poster post, notify::RetryPolicy retry,
                         std::function<void(const std::string&)> warn)
    : cat_(cat), warn_(std::move(warn)), dispatcher_(std::move(post), std::move(retry)) {}

void JobNotifier::job_event(const catalog::JobRecord& job, const std::string& event) {
  auto ns = catalog::list_notifications(cat_);
  if (!ns.ok()) {
    if (warn_) warn_("notifications of job " + std::to_string(job.id) + " not sent: " + ns.error().message());
    return;
  }
  std::optional<notify::Message> message;
  for (const auto& n : *ns) {
    if (!wants(n, job, event)) continue;
    if (!message) message = job_message(job, event, server_name(cat_).value_or("stacksnap"));
    dispatcher_.post({*notify::parse_kind(n.kind), n.url}, *message, [this, name = n.name](const notify::Delivery& d) {
      if (!d.ok && warn_) {
        warn_("notification " + name + " not delivered after " + std::to_string(d.attempts) + " attempt(s): " +
              d.message);
      }
    });
  }
}

notify::RetryPolicy cli_notify_retry() { return {.attempts = 2, .backoff = {std::chrono::seconds(1)}}; }

notify::Poster cli_notify_poster(notify::Poster post) {
  return [post = std::move(post)](const notify::HttpPost& p) {
    notify::HttpPost capped = p;
    capped.timeout = std::min(capped.timeout, kCliNotifyTimeout);
    return post(capped);
  };
}

}  // namespace stacksnap::app

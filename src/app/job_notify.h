// Job notifications: which configured channels (catalog notifications table) hear about
// a job event, and what they get. The one path for every job, whoever runs it: the
// server's job observers (appliance.cpp) and jobs run by the command line
// (cli/job_runner.cpp) both post through a JobNotifier.
//
// Who wants what: a healthchecks channel every start and end (success → the plain URL,
// failed/partial/interrupted → /fail); webhook and ntfy channels the end of a job that
// failed (failed, partial, interrupted) when on_failure, of one that succeeded when
// on_success. Disabled channels get nothing.
//
// Thread-safety: JobNotifier::job_event from any thread; deliveries run on its
// Dispatcher's thread in order.
#pragma once

#include <functional>
#include <string>

#include "catalog/catalog.h"
#include "catalog/catalog_admin.h"
#include "notify/notifier.h"

namespace stacksnap::app {

// The settings' server_name, else the host name.
Result<std::string> server_name(catalog::Catalog& cat);

// The message of a job event ("job_started" | "job_finished") as sent from `server`.
// An interrupted job is reported as failed.
notify::Message job_message(const catalog::JobRecord& job, const std::string& event, const std::string& server);

// Whether channel `n` wants the event (see above).
bool wants(const catalog::NotificationRecord& n, const catalog::JobRecord& job, const std::string& event);

class JobNotifier {
 public:
  // `warn` hears about deliveries that failed after their retries.
  JobNotifier(catalog::Catalog& cat, notify::Poster post, notify::RetryPolicy retry,
              std::function<void(const std::string&)> warn);
  // Queues the event for every channel that wants it; never blocks on the network.
  void job_event(const catalog::JobRecord& job, const std::string& event);
  // Delivers what is queued (each delivery bounded by its retries and timeouts), then
  // stops; later events are dropped. Idempotent.
  void stop() { dispatcher_.stop(); }

 private:
  catalog::Catalog& cat_;
  std::function<void(const std::string&)> warn_;
  notify::Dispatcher dispatcher_;
};

// For a process that must deliver before it exits (the command line): at most two
// attempts 1 s apart, each cut after kCliNotifyTimeout, so one channel costs at most
// about 11 s.
inline constexpr std::chrono::milliseconds kCliNotifyTimeout{5'000};
notify::RetryPolicy cli_notify_retry();
// `post` with its timeout capped at kCliNotifyTimeout.
notify::Poster cli_notify_poster(notify::Poster post = notify::curl_post);

}  // namespace stacksnap::app

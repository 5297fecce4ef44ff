// Which channels hear about which job ends (app/job_notify.h), and what a partial job
// sends: healthchecks /fail, ntfy at high priority, the webhook with the failed targets.
#include "app/job_notify.h"

#include <gtest/gtest.h>

namespace stacksnap::app {
namespace {

using catalog::JobState;
using catalog::NotificationRecord;

catalog::JobRecord job(JobState state) {
  catalog::JobRecord j{.id = 12, .kind = "backup", .project = "shop", .state = state};
  if (state == JobState::kPartial) {
    j.error_code = "Unavailable";
    j.error = "failed on offsite: connection refused";
    j.summary = {{"result", "partial"},
                 {"backup_id", "b1"},
                 {"failed_targets", {{{"target", "offsite"}, {"code", "Unavailable"}, {"message", "connection refused"}}}}};
  }
  return j;
}

TEST(JobNotify, PartialAndInterruptedAreFailuresCancelledIsNothing) {
  NotificationRecord failures{.name = "f", .kind = "ntfy", .url = "http://x/f"};
  NotificationRecord successes{.name = "s", .kind = "webhook", .url = "http://x/s", .on_success = true,
                               .on_failure = false};
  NotificationRecord hc{.name = "hc", .kind = "healthchecks", .url = "http://x/hc", .on_failure = false};
  NotificationRecord off{.name = "off", .kind = "ntfy", .url = "http://x/o", .on_success = true, .enabled = false};
  for (JobState st : {JobState::kFailed, JobState::kPartial, JobState::kInterrupted}) {
    EXPECT_TRUE(wants(failures, job(st), "job_finished")) << catalog::job_state_name(st);
    EXPECT_FALSE(wants(successes, job(st), "job_finished")) << catalog::job_state_name(st);
  }
  EXPECT_FALSE(wants(failures, job(JobState::kSucceeded), "job_finished"));
  EXPECT_TRUE(wants(successes, job(JobState::kSucceeded), "job_finished"));
  EXPECT_FALSE(wants(failures, job(JobState::kCancelled), "job_finished"));
  EXPECT_FALSE(wants(failures, job(JobState::kRunning), "job_started"));
  EXPECT_TRUE(wants(hc, job(JobState::kRunning), "job_started"));
  EXPECT_TRUE(wants(hc, job(JobState::kPartial), "job_finished"));
  EXPECT_FALSE(wants(off, job(JobState::kFailed), "job_finished"));
}

TEST(JobNotify, PartialMessagePingsFailAndNamesTheTarget) {
  auto m = job_message(job(JobState::kPartial), "job_finished", "host1");
  EXPECT_EQ(m.result, "partial");
  EXPECT_EQ(m.title, "StackSnap: backup of shop partly failed");
  EXPECT_EQ(m.text, "backup of shop partly failed (job 12 on host1): failed on offsite: connection refused");
  EXPECT_EQ(m.payload["result"], "partial");
  EXPECT_EQ(m.payload["backup_id"], "b1");
  EXPECT_EQ(m.payload["failed_targets"][0]["target"], "offsite");

  auto hc = notify::render({notify::Kind::kHealthchecks, "http://hc.example/ping/abc/"}, m);
  ASSERT_TRUE(hc);
  EXPECT_EQ(hc->url, "http://hc.example/ping/abc/fail");
  auto ntfy = notify::render({notify::Kind::kNtfy, "http://ntfy.example/t"}, m);
  ASSERT_TRUE(ntfy);
  EXPECT_NE(std::find(ntfy->headers.begin(), ntfy->headers.end(), "Priority: high"), ntfy->headers.end());
  auto hook = notify::render({notify::Kind::kWebhook, "http://hook.example/"}, m);
  ASSERT_TRUE(hook);
  EXPECT_EQ(nlohmann::json::parse(hook->body)["result"], "partial");

  auto interrupted = job_message(job(JobState::kInterrupted), "job_finished", "host1");
  EXPECT_EQ(interrupted.result, "failed");
}

TEST(JobNotify, CommandLineDeliveriesAreBounded) {
  std::chrono::milliseconds seen{0};
  auto post = cli_notify_poster([&](const notify::HttpPost& p) -> Result<long> {
    seen = p.timeout;
    return 200L;
  });
  ASSERT_TRUE(post({.url = "http://x", .timeout = std::chrono::seconds(10)}).ok());
  EXPECT_EQ(seen, kCliNotifyTimeout);
  auto r = cli_notify_retry();
  EXPECT_EQ(r.attempts, 2);
  EXPECT_LE(r.attempts * kCliNotifyTimeout + r.backoff.at(0), std::chrono::seconds(11));
}

}  // namespace
}  // namespace stacksnap::app

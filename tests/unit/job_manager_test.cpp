#include "app/job_manager.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "base/temp_dir.h"
#include "catalog/catalog.h"
#include "http/job_stream.h"

namespace stacksnap::app {
namespace {

using namespace std::chrono_literals;

struct Fixture {
  Fixture() {
    auto d = TempDir::create("/tmp", "stacksnap-jm-");
    EXPECT_TRUE(d.ok());
    dir.emplace(std::move(*d));
    auto c = catalog::Catalog::open(dir->path() + "/state.db");
    EXPECT_TRUE(c.ok());
    cat = std::move(*c);
  }
  catalog::JobRecord wait_terminal(int64_t id, std::chrono::milliseconds limit = 10s) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
      auto j = cat->get_job(id);
      if (j.ok() && catalog::is_terminal(j->state)) return *j;
      std::this_thread::sleep_for(5ms);
    }
    ADD_FAILURE() << "job " << id << " did not finish";
    return {};
  }
  std::optional<TempDir> dir;
  std::unique_ptr<catalog::Catalog> cat;
  http::SseHub hub;
  http::SsePublisher publisher{hub};
};

// A runner that blocks until released (or stopped).
struct Gate {
  std::atomic<bool> open{false};
  std::atomic<int> entered{0};
  JobRunner runner() {
    return [this](const JobRequest&, job::Context& ctx, int64_t) -> Result<Json> {
      ++entered;
      while (!open.load()) {
        TRY(ctx.check_cancel("test job"));
        std::this_thread::sleep_for(2ms);
      }
      ctx.info("done");
      return Json{{"backup_id", "b-1"}};
    };
  }
  void wait_entered(int n) {
    for (int i = 0; i < 5000 && entered.load() < n; ++i) std::this_thread::sleep_for(1ms);
  }
};

TEST(JobManager, RunsJobAndStoresEventsWithHubSeq) {
  Fixture f;
  JobManager jm(*f.cat, f.publisher);
  jm.register_runner("backup", [](const JobRequest& r, job::Context& ctx, int64_t) -> Result<Json> {
    for (int i = 0; i < 5; ++i) ctx.info("step " + std::to_string(i));
    return Json{{"backup_id", "b-" + r.project}};
  });
  std::vector<std::string> finished;
  std::mutex mu;
  jm.add_observer({.finished = [&](const catalog::JobRecord& j) {
    std::lock_guard lk(mu);
    finished.push_back(std::string(catalog::job_state_name(j.state)));
  }});
  auto sub = f.hub.subscribe(http::kDashboardTopic, [] {});
  jm.start();
  auto rec = jm.submit({.kind = "backup", .project = "shop"});
  ASSERT_TRUE(rec.ok()) << rec.error().message();
  EXPECT_EQ(rec->state, catalog::JobState::kQueued);
  auto done = f.wait_terminal(rec->id);
  EXPECT_EQ(done.state, catalog::JobState::kSucceeded);
  EXPECT_EQ(done.summary["backup_id"], "b-shop");
  auto ev = f.cat->events_after(rec->id, 0);
  ASSERT_TRUE(ev.ok());
  ASSERT_EQ(ev->size(), 6u);  // 5 logs + summary
  for (size_t i = 0; i < ev->size(); ++i) EXPECT_EQ((*ev)[i].seq, static_cast<int64_t>(i + 1));
  EXPECT_EQ(ev->back().type, "summary");
  jm.stop();
  {
    std::lock_guard lk(mu);
    ASSERT_EQ(finished.size(), 1u);
    EXPECT_EQ(finished[0], "succeeded");
  }
  // Dashboard: queued, started, finished, backup_added.
  std::vector<std::string> types;
  for (const auto& item : sub->take(1 << 20)) {
    auto& fr = *item.frame;
    auto p = fr.find("event: ");
    types.push_back(fr.substr(p + 7, fr.find('\n', p) - p - 7));
  }
  EXPECT_EQ(types, (std::vector<std::string>{"job_queued", "job_started", "job_finished", "backup_added"}));
}

TEST(JobManager, OneJobPerProject) {
  Fixture f;
  Gate gate;
  JobManager jm(*f.cat, f.publisher);
  jm.register_runner("backup", gate.runner());
  jm.register_runner("verify", gate.runner());
  jm.start();
  auto a = jm.submit({.kind = "backup", .project = "shop"});
  ASSERT_TRUE(a.ok());
  gate.wait_entered(1);
  auto b = jm.submit({.kind = "verify", .project = "shop", .backup_id = "x"});
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.error().code(), Code::kFailedPrecondition);
  EXPECT_EQ(b.error().message(), "a backup of shop is already running (job " + std::to_string(a->id) + ")");
  EXPECT_TRUE(jm.busy("shop"));
  auto other = jm.submit({.kind = "backup", .project = "wiki"});
  EXPECT_TRUE(other.ok());
  gate.open = true;
  f.wait_terminal(a->id);
  f.wait_terminal(other->id);
  for (int i = 0; i < 1000 && jm.busy("shop"); ++i) std::this_thread::sleep_for(1ms);
  EXPECT_FALSE(jm.busy("shop"));
  auto again = jm.submit({.kind = "backup", .project = "shop"});
  EXPECT_TRUE(again.ok());
  f.wait_terminal(again->id);
}

TEST(JobManager, GlobalLimitQueuesJobs) {
  Fixture f;
  Gate gate;
  JobManager jm(*f.cat, f.publisher, {.threads = 4, .max_concurrent = 1});
  jm.register_runner("backup", gate.runner());
  jm.start();
  auto a = jm.submit({.kind = "backup", .project = "a"});
  auto b = jm.submit({.kind = "backup", .project = "b"});
  ASSERT_TRUE(a.ok() && b.ok());
  gate.wait_entered(1);
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(gate.entered.load(), 1);
  EXPECT_EQ(jm.running_count(), 1u);
  EXPECT_EQ(jm.queued_count(), 1u);
  EXPECT_EQ(f.cat->get_job(b->id)->state, catalog::JobState::kQueued);
  EXPECT_EQ(f.cat->get_job(b->id)->pid, ::getpid());  // another process's crash repair leaves it alone
  jm.set_max_concurrent(2);
  gate.wait_entered(2);
  EXPECT_EQ(gate.entered.load(), 2);
  gate.open = true;
  EXPECT_EQ(f.wait_terminal(a->id).state, catalog::JobState::kSucceeded);
  EXPECT_EQ(f.wait_terminal(b->id).state, catalog::JobState::kSucceeded);
}

TEST(JobManager, CancelRunningAndQueued) {
  Fixture f;
  Gate gate;
  JobManager jm(*f.cat, f.publisher, {.threads = 2, .max_concurrent = 1});
  jm.register_runner("backup", gate.runner());
  jm.start();
  auto a = jm.submit({.kind = "backup", .project = "a"});
  auto b = jm.submit({.kind = "backup", .project = "b"});
  ASSERT_TRUE(a.ok() && b.ok());
  gate.wait_entered(1);

  auto cb = jm.cancel(b->id);  // queued: at once
  ASSERT_TRUE(cb.ok());
  EXPECT_EQ(cb->state, catalog::JobState::kCancelled);
  EXPECT_FALSE(jm.busy("b"));
  auto evb = f.cat->events_after(b->id, 0);
  ASSERT_TRUE(evb.ok());
  ASSERT_EQ(evb->size(), 1u);
  EXPECT_EQ(evb->front().type, "summary");

  auto ca = jm.cancel(a->id);  // running: stop requested
  ASSERT_TRUE(ca.ok());
  auto done = f.wait_terminal(a->id);
  EXPECT_EQ(done.state, catalog::JobState::kCancelled);
  EXPECT_EQ(done.error_code, "Cancelled");

  auto again = jm.cancel(a->id);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code(), Code::kFailedPrecondition);
  EXPECT_EQ(jm.cancel(999).error().code(), Code::kNotFound);
  EXPECT_EQ(gate.entered.load(), 1);  // the cancelled queued job never ran
}

TEST(JobManager, UnknownKindIsUnimplementedAndFailuresAreRecorded) {
  Fixture f;
  JobManager jm(*f.cat, f.publisher);
  jm.register_runner("backup", [](const JobRequest&, job::Context&, int64_t) -> Result<Json> {
    return unavailable("cannot reach the Docker Engine");
  });
  jm.start();
  auto r = jm.submit({.kind = "restore", .project = "shop"});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), Code::kUnimplemented);
  auto b = jm.submit({.kind = "backup", .project = "shop"});
  ASSERT_TRUE(b.ok());
  auto done = f.wait_terminal(b->id);
  EXPECT_EQ(done.state, catalog::JobState::kFailed);
  EXPECT_EQ(done.error_code, "Unavailable");
  EXPECT_EQ(done.error, "cannot reach the Docker Engine");
}

TEST(JobManager, StopCancelsQueuedAndRunning) {
  Fixture f;
  Gate gate;
  auto jm = std::make_unique<JobManager>(*f.cat, f.publisher, JobManagerOptions{.threads = 2, .max_concurrent = 1});
  jm->register_runner("backup", gate.runner());
  jm->start();
  auto a = jm->submit({.kind = "backup", .project = "a"});
  auto b = jm->submit({.kind = "backup", .project = "b"});
  gate.wait_entered(1);
  jm->stop();
  EXPECT_EQ(f.cat->get_job(a->id)->state, catalog::JobState::kCancelled);
  EXPECT_EQ(f.cat->get_job(b->id)->state, catalog::JobState::kCancelled);
  EXPECT_EQ(jm->submit({.kind = "backup", .project = "c"}).error().code(), Code::kFailedPrecondition);
}

TEST(JobManager, EndThatCannotBeWrittenIsWarnedAndWrittenLater) {
  Fixture f;
  // The state disk refuses to finish jobs until the test lifts it.
  ASSERT_TRUE(f.cat->db()
                  .exec("CREATE TRIGGER failing_finish BEFORE UPDATE OF state ON jobs "
                        "WHEN NEW.state NOT IN ('queued', 'running') "
                        "BEGIN SELECT RAISE(ABORT, 'disk I/O error (test)'); END;")
                  .ok());
  std::vector<std::string> warnings;
  std::vector<std::string> finished;  // before jm: its worker may still call the observer
  std::mutex mu;
  JobManager jm(*f.cat, f.publisher,
                {.finish_retry_period = 20ms,
                 .finish_retry = {.attempts = 2, .delay = 1ms},
                 .warn = [&](const std::string& m) {
                   std::lock_guard lk(mu);
                   warnings.push_back(m);
                 }});
  jm.register_runner("backup", [](const JobRequest&, job::Context&, int64_t) -> Result<Json> {
    return Json{{"backup_id", "b-9"}, {"failed_targets", {{{"target", "s3"}, {"message", "down"}}}}};
  });
  jm.add_observer({.finished = [&](const catalog::JobRecord& j) {
    std::lock_guard lk(mu);
    finished.push_back(std::string(catalog::job_state_name(j.state)));
  }});
  jm.start();
  auto rec = jm.submit({.kind = "backup", .project = "shop"});
  ASSERT_TRUE(rec.ok());
  // The end is queued for a retry first, then the observers hear it.
  auto heard = [&] {
    std::lock_guard lk(mu);
    return !finished.empty();
  };
  for (int i = 0; i < 2000 && (jm.unrecorded_count() == 0 || !heard()); ++i) std::this_thread::sleep_for(1ms);
  ASSERT_EQ(jm.unrecorded_count(), 1u);
  EXPECT_EQ(f.cat->get_job(rec->id)->state, catalog::JobState::kRunning);
  {
    std::lock_guard lk(mu);
    ASSERT_EQ(finished, std::vector<std::string>{"partial"}) << "observers (notifications) hear the real end";
    ASSERT_FALSE(warnings.empty());
    EXPECT_NE(warnings[0].find("record the end of job " + std::to_string(rec->id) + " (partial)"), std::string::npos)
        << warnings[0];
  }
  std::this_thread::sleep_for(60ms);  // retried meanwhile, still failing (the count drops
  EXPECT_EQ(f.cat->get_job(rec->id)->state, catalog::JobState::kRunning);  // to 0 during a retry)
  ASSERT_TRUE(f.cat->db().exec("DROP TRIGGER failing_finish").ok());
  auto done = f.wait_terminal(rec->id, 5s);
  EXPECT_EQ(done.state, catalog::JobState::kPartial);
  EXPECT_EQ(done.summary["backup_id"], "b-9");
  for (int i = 0; i < 1000 && jm.unrecorded_count() != 0; ++i) std::this_thread::sleep_for(1ms);
  EXPECT_EQ(jm.unrecorded_count(), 0u);
  jm.stop();
  std::lock_guard lk(mu);
  EXPECT_NE(warnings.back().find("is recorded now"), std::string::npos) << warnings.back();
}

}  // namespace
}  // namespace stacksnap::app

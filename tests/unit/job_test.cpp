#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include "base/temp_dir.h"
#include "catalog/catalog.h"
#include "job/run.h"

namespace stacksnap::job {
namespace {

TEST(Context, RedactsRegisteredSecrets) {
  EventRecorder rec;
  EventHub hub;
  hub.add(&rec);
  Context ctx(hub, {});
  ctx.add_secret("hunter2-secret");
  ctx.info("pg_dump: password hunter2-secret rejected");
  ctx.error(unauthenticated("auth with hunter2-secret failed"));
  auto ev = rec.events();
  ASSERT_EQ(ev.size(), 2u);
  EXPECT_EQ(ev[0].data["message"], "pg_dump: password *** rejected");
  EXPECT_EQ(ev[1].data["message"], "auth with *** failed");
  EXPECT_EQ(ev[0].seq, 1);
  EXPECT_EQ(ev[1].seq, 2);
}

TEST(RunJob, PersistsEventsAndEndsWithSummary) {
  auto dir = TempDir::create("/tmp");
  ASSERT_TRUE(dir.ok());
  auto cat = catalog::Catalog::open(dir->path() + "/state.db");
  ASSERT_TRUE(cat.ok());
  EventRecorder live;
  auto ok = run_job(**cat, {.kind = "backup", .project = "shop"}, live, {},
                    [](Context& ctx, int64_t) -> Result<Json> {
                      StepTimer t(ctx, "dump", "Dump postgres");
                      t.end(true);
                      return Json{{"backup_id", "b1"}};
                    });
  ASSERT_TRUE(ok.result.ok());
  auto ev = live.events();
  ASSERT_EQ(ev.size(), 3u);
  EXPECT_EQ(ev.back().type, "summary");
  EXPECT_EQ(ev.back().data["result"], "succeeded");
  EXPECT_EQ(ev.back().data["backup_id"], "b1");
  auto stored = (*cat)->events_after(ok.job_id, 0);
  ASSERT_EQ(stored->size(), 3u);
  EXPECT_EQ((*cat)->get_job(ok.job_id)->state, catalog::JobState::kSucceeded);

  EventRecorder live2;
  auto bad = run_job(**cat, {.kind = "backup", .project = "shop"}, live2, {},
                     [](Context&, int64_t) -> Result<Json> { return cancelled("backup cancelled"); });
  ASSERT_FALSE(bad.result.ok());
  auto ev2 = live2.events();
  ASSERT_EQ(ev2.size(), 2u);
  EXPECT_EQ(ev2[0].type, "error");
  EXPECT_EQ(ev2[1].data["result"], "cancelled");
  EXPECT_EQ((*cat)->get_job(bad.job_id)->state, catalog::JobState::kCancelled);
}

TEST(JobState, PartialWhenTheSummaryListsFailedTargets) {
  using catalog::JobState;
  EXPECT_EQ(state_for(Json{{"backup_id", "b"}}), JobState::kSucceeded);
  EXPECT_EQ(state_for(Json{{"backup_id", "b"}, {"failed_targets", Json::array()}}), JobState::kSucceeded);
  EXPECT_EQ(state_for(Json{{"failed_targets", Json::array({{{"target", "s3"}, {"code", "Unavailable"}}})}}),
            JobState::kPartial);
  EXPECT_EQ(state_for(Json{{"failed_targets", "not a list"}}), JobState::kSucceeded);
  EXPECT_EQ(state_for(Json()), JobState::kSucceeded);
  EXPECT_EQ(state_for(Result<Json>(unavailable("every target failed"))), JobState::kFailed);
  EXPECT_EQ(state_for(Result<Json>(data_loss("copy on nas damaged"))), JobState::kFailed);
  EXPECT_EQ(state_for(Result<Json>(cancelled("stop"))), JobState::kCancelled);
}

struct JobDb {
  JobDb() {
    auto d = TempDir::create("/tmp", "stacksnap-job-");
    EXPECT_TRUE(d.ok());
    dir.emplace(std::move(*d));
    auto c = catalog::Catalog::open(dir->path() + "/state.db");
    EXPECT_TRUE(c.ok());
    cat = std::move(*c);
  }
  // finish_job fails while `budget` is above 0 (the test lowers it), as a full or
  // failing state disk would: the job row cannot leave "running".
  void fail_finishes(int budget) {
    ASSERT_TRUE(cat->db()
                    .exec("CREATE TABLE IF NOT EXISTS finish_budget (n INTEGER); DELETE FROM finish_budget; "
                          "INSERT INTO finish_budget VALUES (" + std::to_string(budget) + "); "
                          "CREATE TRIGGER IF NOT EXISTS failing_finish BEFORE UPDATE OF state ON jobs "
                          "WHEN NEW.state NOT IN ('queued', 'running') AND (SELECT n FROM finish_budget) > 0 "
                          "BEGIN SELECT RAISE(ABORT, 'disk I/O error (test)'); END;")
                    .ok());
  }
  void lower_budget() { ASSERT_TRUE(cat->db().exec("UPDATE finish_budget SET n = n - 1").ok()); }
  std::optional<TempDir> dir;
  std::unique_ptr<catalog::Catalog> cat;
};

TEST(RunJob, PartialBodyEndsPartialWithTheFailedTargetsAsItsError) {
  JobDb db;
  EventRecorder live;
  auto out = run_job(*db.cat, {.kind = "backup", .project = "shop"}, live, {}, [](Context&, int64_t) -> Result<Json> {
    return Json{{"backup_id", "b1"},
                {"targets", {"nas"}},
                {"failed_targets", {{{"target", "s3"}, {"code", "Unavailable"}, {"message", "connection refused"}}}}};
  });
  ASSERT_TRUE(out.result.ok());
  EXPECT_TRUE(out.recorded.ok());
  EXPECT_EQ(out.finish.state, catalog::JobState::kPartial);
  auto ev = live.events();
  ASSERT_FALSE(ev.empty());
  EXPECT_EQ(ev.back().type, "summary");
  EXPECT_EQ(ev.back().data["result"], "partial");
  EXPECT_EQ(ev.back().data["backup_id"], "b1");
  EXPECT_EQ(ev.back().data["message"], "failed on s3: connection refused");
  auto j = db.cat->get_job(out.job_id);
  EXPECT_EQ(j->state, catalog::JobState::kPartial);
  EXPECT_EQ(j->error_code, "Unavailable");
  EXPECT_EQ(j->error, "failed on s3: connection refused");
  EXPECT_EQ(j->summary["result"], "partial");
}

TEST(RunJob, FinishIsRetriedUntilItIsWritten) {
  JobDb db;
  db.fail_finishes(2);
  EventRecorder live;
  int sleeps = 0;
  std::vector<int64_t> delays;
  FinishRetry retry{.attempts = 4, .delay = std::chrono::milliseconds(10), .sleep = [&](std::chrono::milliseconds d) {
                      ++sleeps;
                      delays.push_back(d.count());
                      db.lower_budget();  // the disk recovers a little between attempts
                    }};
  auto out = run_job(*db.cat, {.kind = "verify"}, live, {},
                     [](Context&, int64_t) -> Result<Json> { return Json{{"files", 3}}; }, {}, retry);
  EXPECT_TRUE(out.recorded.ok()) << out.recorded.error().message();
  EXPECT_EQ(sleeps, 2) << "two failed attempts, the third wrote it";
  EXPECT_EQ(delays, (std::vector<int64_t>{10, 20}));
  EXPECT_EQ(db.cat->get_job(out.job_id)->state, catalog::JobState::kSucceeded);
}

TEST(RunJob, UnwrittenFinishIsReportedAndRepairedLater) {
  JobDb db;
  db.fail_finishes(1000);
  EventRecorder live;
  int attempts = 0;
  FinishRetry retry{.attempts = 3, .delay = std::chrono::milliseconds(1),
                    .sleep = [&](std::chrono::milliseconds) { ++attempts; }};
  auto out = run_job(*db.cat, {.kind = "backup", .project = "shop"}, live, {},
                     [](Context&, int64_t) -> Result<Json> { return Json{{"backup_id", "b7"}}; }, {}, retry);
  ASSERT_TRUE(out.result.ok()) << "the work itself succeeded";
  ASSERT_FALSE(out.recorded.ok());
  EXPECT_EQ(attempts, 2);
  EXPECT_NE(out.recorded.error().message().find("record the end of job " + std::to_string(out.job_id)),
            std::string::npos)
      << out.recorded.error().message();
  EXPECT_NE(out.recorded.error().message().find("disk I/O error (test)"), std::string::npos);
  EXPECT_EQ(out.finish.state, catalog::JobState::kSucceeded);
  EXPECT_EQ(db.cat->get_job(out.job_id)->state, catalog::JobState::kRunning) << "nothing was written";
  ASSERT_EQ(live.events().back().type, "summary") << "the summary event is stored before the end";

  // Later, with the disk back: a retry of the same end writes it (the server's job
  // manager does this periodically)…
  ASSERT_TRUE(db.cat->db().exec("UPDATE finish_budget SET n = 0").ok());
  EXPECT_TRUE(record_finish(*db.cat, out.finish, {.attempts = 1}).ok());
  auto j = db.cat->get_job(out.job_id);
  EXPECT_EQ(j->state, catalog::JobState::kSucceeded);
  EXPECT_EQ(j->summary["backup_id"], "b7");

  // …or, when the process is gone, the start-up repair finishes it from its summary.
  db.fail_finishes(1000);
  auto again = run_job(*db.cat, {.kind = "backup", .project = "shop"}, live, {},
                       [](Context&, int64_t) -> Result<Json> { return Json{{"backup_id", "b8"}}; }, {},
                       {.attempts = 1});
  ASSERT_FALSE(again.recorded.ok());
  pid_t child = ::fork();
  if (child == 0) _exit(0);
  ::waitpid(child, nullptr, 0);
  ASSERT_TRUE(db.cat->start_job(again.job_id, child, 1).ok());  // as if run by a process that died
  ASSERT_TRUE(db.cat->db().exec("UPDATE finish_budget SET n = 0").ok());
  auto repaired = db.cat->mark_interrupted_jobs(99);
  ASSERT_TRUE(repaired.ok());
  EXPECT_EQ(*repaired, std::vector<int64_t>{again.job_id});
  j = db.cat->get_job(again.job_id);
  EXPECT_EQ(j->state, catalog::JobState::kSucceeded) << "not interrupted: the work was done";
  EXPECT_EQ(j->summary["backup_id"], "b8");
}

TEST(RunJob, FailedJobKeepsTheFindingsItsEventsCarried) {
  JobDb db;
  EventRecorder live;
  auto out = run_job(*db.cat, {.kind = "drill", .project = "shop"}, live, {}, [](Context& ctx, int64_t) -> Result<Json> {
    ctx.emit("drill_result", {{"result", "failed"}, {"problems", {"volume shop_appdata: 3 files fewer"}}});
    return data_loss("drill failed: volume shop_appdata: 3 files fewer");
  });
  ASSERT_FALSE(out.result.ok());
  EXPECT_EQ(out.finish.summary["problems"], Json::array({"volume shop_appdata: 3 files fewer"}));
  EXPECT_EQ(db.cat->get_job(out.job_id)->summary["problems"][0], "volume shop_appdata: 3 files fewer");
  EXPECT_FALSE(out.finish.summary.contains("info"));
  // A body's own findings win over those of its events.
  auto ok = run_job(*db.cat, {.kind = "restore"}, live, {}, [](Context& ctx, int64_t) -> Result<Json> {
    ctx.emit("restore_check", {{"warnings", {"early"}}});
    return Json{{"warnings", {"final"}}, {"problems", Json::array()}};
  });
  EXPECT_EQ(ok.finish.summary["warnings"], Json::array({"final"}));
  EXPECT_EQ(ok.finish.summary["problems"], Json::array());
}

}  // namespace
}  // namespace stacksnap::job

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace stacksnap::job

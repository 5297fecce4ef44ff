#include "app/scheduler.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <set>
#include <thread>

#include "base/temp_dir.h"
#include "catalog/catalog_admin.h"

namespace stacksnap::app {
namespace {

class FakeClock final : public Clock {
 public:
  SystemTime now() const override { return t; }
  void set(int64_t secs) { t = SystemTime(std::chrono::seconds(secs)); }
  void advance(int64_t s) { t += std::chrono::seconds(s); }
  SystemTime t{};
};

class FakeJobs final : public JobSubmitter {
 public:
  Result<catalog::JobRecord> submit(const JobRequest& req) override {
    if (busy_projects.count(req.project)) return failed_precondition("busy");
    submitted.push_back(req);
    busy_projects.insert(req.project);  // like the real manager: queued until it finished
    catalog::JobRecord r;
    r.id = static_cast<int64_t>(submitted.size());
    r.kind = req.kind;
    r.project = req.project;
    return r;
  }
  bool busy(const std::string& project) const override { return busy_projects.count(project) != 0; }
  std::vector<JobRequest> submitted;
  std::set<std::string> busy_projects;
};

// 2026-01-05 00:00:00 UTC, a Monday.
constexpr int64_t kMonday = 1767571200;
constexpr int64_t kHour = 3600, kDay = 86400;

struct Fixture {
  Fixture() {
    auto d = TempDir::create("/tmp", "stacksnap-sched-");
    EXPECT_TRUE(d.ok());
    dir.emplace(std::move(*d));
    auto c = catalog::Catalog::open(dir->path() + "/state.db");
    EXPECT_TRUE(c.ok());
    cat = std::move(*c);
    clock.set(kMonday);
  }
  catalog::ScheduleRecord get(const std::string& p) { return **catalog::get_schedule(*cat, p); }
  std::optional<TempDir> dir;
  std::unique_ptr<catalog::Catalog> cat;
  FakeClock clock;
  FakeJobs jobs;
};

TEST(Scheduler, NewScheduleWaitsForItsFirstSlot) {
  Fixture f;
  ASSERT_TRUE(catalog::put_schedule(*f.cat, {.project = "shop", .cron = "0 3 * * *"}).ok());
  Scheduler s(*f.cat, f.clock, f.jobs, nullptr);
  EXPECT_TRUE(s.tick().empty());
  EXPECT_EQ(f.get("shop").next_run, kMonday + 3 * kHour);
  f.clock.advance(3 * kHour - 1);
  EXPECT_TRUE(s.tick().empty());
  f.clock.advance(1);
  auto fired = s.tick();
  ASSERT_EQ(fired.size(), 1u);
  EXPECT_EQ(fired[0].kind, "backup");
  ASSERT_EQ(f.jobs.submitted.size(), 1u);
  EXPECT_EQ(f.jobs.submitted[0].params["reason"], "schedule");
  EXPECT_EQ(f.get("shop").last_run, kMonday + 3 * kHour);
  EXPECT_EQ(f.get("shop").next_run, kMonday + kDay + 3 * kHour);
  EXPECT_TRUE(s.tick().empty());  // not again in the same slot
}

TEST(Scheduler, OneCatchUpAfterDowntime) {
  Fixture f;
  ASSERT_TRUE(catalog::put_schedule(*f.cat, {.project = "shop", .cron = "0 * * * *"}).ok());
  Scheduler s(*f.cat, f.clock, f.jobs, nullptr);
  s.tick();
  f.clock.advance(10 * kDay + 17 * 60);  // 240 hourly slots missed
  EXPECT_EQ(s.tick().size(), 1u);
  EXPECT_EQ(s.tick().size(), 0u);
  EXPECT_EQ(f.jobs.submitted.size(), 1u);
  // The next slot counts from now, not from the missed ones.
  EXPECT_EQ(f.get("shop").next_run, kMonday + 10 * kDay + kHour);
}

TEST(Scheduler, BusyProjectDelaysTheRunWithoutLosingIt) {
  Fixture f;
  ASSERT_TRUE(catalog::put_schedule(*f.cat, {.project = "shop", .cron = "0 3 * * *"}).ok());
  Scheduler s(*f.cat, f.clock, f.jobs, nullptr);
  s.tick();
  f.jobs.busy_projects.insert("shop");
  f.clock.advance(3 * kHour);
  EXPECT_TRUE(s.tick().empty());
  EXPECT_EQ(f.get("shop").next_run, kMonday + 3 * kHour);
  f.jobs.busy_projects.clear();
  f.clock.advance(600);
  EXPECT_EQ(s.tick().size(), 1u);
}

TEST(Scheduler, JitterIsAddedAndTimeZoneRespected) {
  Fixture f;
  ASSERT_TRUE(catalog::put_schedule(*f.cat, {.project = "shop", .cron = "0 3 * * *", .timezone = "Europe/Berlin",
                                             .jitter_s = 300})
                  .ok());
  int64_t asked = -1;
  Scheduler s(*f.cat, f.clock, f.jobs, [&](int64_t max) {
    asked = max;
    return int64_t{123};
  });
  s.tick();
  EXPECT_EQ(asked, 300);
  // 03:00 in Berlin in January is 02:00 UTC.
  EXPECT_EQ(f.get("shop").next_run, kMonday + 2 * kHour + 123);
}

TEST(Scheduler, DisabledSchedulesDoNothing) {
  Fixture f;
  ASSERT_TRUE(catalog::put_schedule(*f.cat, {.project = "shop", .cron = "* * * * *", .enabled = false}).ok());
  Scheduler s(*f.cat, f.clock, f.jobs, nullptr);
  f.clock.advance(kDay);
  EXPECT_TRUE(s.tick().empty());
  EXPECT_EQ(f.get("shop").next_run, 0);
}

TEST(Scheduler, ScheduledDrillOfTheNewestBackup) {
  Fixture f;
  ASSERT_TRUE(catalog::put_schedule(*f.cat, {.project = "shop", .cron = "0 3 * * *", .drill_cron = "0 5 * * 0"}).ok());
  ASSERT_TRUE(f.cat->put_backup({.id = "old", .project = "shop", .created_at = kMonday - 2 * kDay}).ok());
  ASSERT_TRUE(f.cat->put_backup({.id = "new", .project = "shop", .created_at = kMonday - kDay}).ok());
  Scheduler s(*f.cat, f.clock, f.jobs, nullptr);
  s.tick();  // baseline: no drill right away
  EXPECT_EQ(f.get("shop").last_drill, kMonday);
  f.clock.advance(6 * kDay + 5 * kHour);  // Sunday 05:00
  auto fired = s.tick();
  // The daily backup (caught up once) goes first; the drill waits for the project.
  ASSERT_EQ(fired.size(), 1u);
  EXPECT_EQ(fired[0].kind, "backup");
  EXPECT_TRUE(s.tick().empty());
  f.jobs.busy_projects.clear();  // the backup finished
  fired = s.tick();
  ASSERT_EQ(fired.size(), 1u);
  EXPECT_EQ(fired[0].kind, "drill");
  EXPECT_EQ(fired[0].backup_id, "new");
  f.jobs.busy_projects.clear();
  EXPECT_TRUE(s.tick().empty());  // next drill a week later
}

// The thread sleeps until the earliest due slot, not a whole period: a slot fires on time.
TEST(Scheduler, ThreadFiresAtTheSlotRatherThanAtTheNextPeriod) {
  class SharedClock final : public Clock {
   public:
    SystemTime now() const override { return SystemTime(std::chrono::seconds(secs.load())); }
    std::atomic<int64_t> secs{0};
  };
  class CountingJobs final : public JobSubmitter {
   public:
    Result<catalog::JobRecord> submit(const JobRequest& req) override {
      catalog::JobRecord r;
      r.id = ++count;
      r.kind = req.kind;
      r.project = req.project;
      return r;
    }
    bool busy(const std::string&) const override { return false; }
    std::atomic<int> count{0};
  };
  Fixture f;
  SharedClock clock;
  clock.secs = kMonday + 3 * kHour - 2;
  CountingJobs jobs;
  ASSERT_TRUE(catalog::put_schedule(*f.cat, {.project = "shop", .cron = "0 3 * * *"}).ok());
  Scheduler s(*f.cat, clock, jobs, nullptr);
  s.start(std::chrono::minutes(10));
  auto waited = [](auto&& pred, std::chrono::milliseconds limit) {
    auto until = std::chrono::steady_clock::now() + limit;
    while (!pred() && std::chrono::steady_clock::now() < until) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    return pred();
  };
  // The first pass plans the slot (2 s ahead on the clock) and sleeps ~2.2 s, not 10 min.
  ASSERT_TRUE(waited([&] { return f.get("shop").next_run == kMonday + 3 * kHour; }, std::chrono::seconds(5)));
  clock.secs = kMonday + 3 * kHour;
  EXPECT_TRUE(waited([&] { return jobs.count.load() == 1; }, std::chrono::seconds(5)));
  s.stop();
  EXPECT_EQ(jobs.count.load(), 1);
  EXPECT_EQ(f.get("shop").last_run, kMonday + 3 * kHour);
}

TEST(Scheduler, NextSlotRejectsBadInput) {
  EXPECT_EQ(next_slot("61 * * * *", "UTC", 0).error().code(), Code::kInvalidArgument);
  EXPECT_EQ(next_slot("0 3 * * *", "Mars/Olympus", 0).error().code(), Code::kInvalidArgument);
  EXPECT_EQ(next_slot("0 0 30 2 *", "UTC", 0).error().code(), Code::kFailedPrecondition);
}

}  // namespace
}  // namespace stacksnap::app

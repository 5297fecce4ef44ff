#include <gtest/gtest.h>

#include <date/date.h>

#include "schedule/cron.h"

namespace stacksnap::schedule {
namespace {

SystemTime utc(int y, int mo, int d, int h, int mi) {
  using namespace date;
  return sys_days{year{y} / mo / d} + std::chrono::hours(h) + std::chrono::minutes(mi);
}

std::string fmt(std::optional<SystemTime> t) {
  if (!t) return "none";
  return format_rfc3339(*t);
}

TEST(Cron, ParsesAndRejects) {
  EXPECT_TRUE(CronExpr::parse("*/15 2-4 * jan-mar mon-fri").ok());
  EXPECT_TRUE(CronExpr::parse("@daily").ok());
  auto bad = CronExpr::parse("0 25 * * *");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().message(), "cron field 2 (hour): 25 is out of range 0-23");
  EXPECT_FALSE(CronExpr::parse("* * *").ok());
  EXPECT_FALSE(CronExpr::parse("*/0 * * * *").ok());
  EXPECT_FALSE(CronExpr::parse("5-1 * * * *").ok());
  EXPECT_FALSE(CronExpr::parse("@sometimes").ok());
  EXPECT_FALSE(check_zone("Mars/Olympus").ok());
  EXPECT_TRUE(check_zone("Europe/Berlin").ok());
}

struct NextCase {
  const char* expr;
  const char* zone;
  SystemTime after;
  const char* expect;
};

TEST(Cron, NextTable) {
  std::vector<NextCase> table = {
      {"0 3 * * *", "UTC", utc(2026, 11, 25, 20, 17), "2026-11-26T03:00:00Z"},
      {"0 3 * * *", "UTC", utc(2026, 11, 26, 3, 0), "2026-11-27T03:00:00Z"},  // strictly after
      {"*/15 * * * *", "UTC", utc(2026, 1, 1, 0, 7), "2026-01-01T00:15:00Z"},
      {"0 3 * * *", "Europe/Berlin", utc(2026, 11, 25, 20, 17), "2026-11-26T02:00:00Z"},      // CET = UTC+1
      {"0 3 * * *", "Europe/Berlin", utc(2026, 7, 1, 12, 0), "2026-07-02T01:00:00Z"},         // CEST = UTC+2
      {"30 2 * * *", "Europe/Berlin", utc(2026, 3, 28, 12, 0), "2026-03-29T01:00:00Z"},       // 02:30 skipped: at the transition
      {"30 2 * * *", "Europe/Berlin", utc(2026, 10, 24, 12, 0), "2026-10-25T00:30:00Z"},      // 02:30 twice: the first
      {"0 0 * * 0", "UTC", utc(2026, 11, 25, 0, 0), "2026-11-29T00:00:00Z"},                   // Sunday
      {"0 0 * * 7", "UTC", utc(2026, 11, 25, 0, 0), "2026-11-29T00:00:00Z"},                   // 7 is Sunday too
      {"0 12 13 * 5", "UTC", utc(2026, 11, 25, 0, 0), "2026-11-27T12:00:00Z"},                 // day 13 OR Friday
      {"0 0 29 2 *", "UTC", utc(2026, 3, 1, 0, 0), "2028-02-29T00:00:00Z"},
      {"0 0 30 2 *", "UTC", utc(2026, 3, 1, 0, 0), "none"},
      {"@monthly", "America/New_York", utc(2026, 11, 25, 0, 0), "2026-12-01T05:00:00Z"},
  };
  for (const auto& tc : table) {
    auto c = CronExpr::parse(tc.expr);
    ASSERT_TRUE(c.ok()) << tc.expr;
    EXPECT_EQ(fmt(c->next_after(tc.after, tc.zone)), tc.expect) << tc.expr << " in " << tc.zone;
  }
}

TEST(Cron, Describe) {
  EXPECT_EQ(CronExpr::parse("0 3 * * *")->describe(), "every day at 03:00");
  EXPECT_EQ(CronExpr::parse("30 4 * * 1")->describe(), "every Monday at 04:30");
  EXPECT_EQ(CronExpr::parse("15 * * * *")->describe(), "every hour at minute 15");
  EXPECT_EQ(CronExpr::parse("0 1 1 * *")->describe(), "on day 1 of every month at 01:00");
}

}  // namespace
}  // namespace stacksnap::schedule

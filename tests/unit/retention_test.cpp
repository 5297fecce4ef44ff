#include <gtest/gtest.h>

#include <ctime>

#include "retention/policy.h"

namespace stacksnap::retention {
namespace {

int64_t at(int y, int mo, int d, int h = 12) {
  std::tm tm{};
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  return static_cast<int64_t>(timegm(&tm));
}

std::vector<std::string> kept(const std::vector<Decision>& ds) {
  std::vector<std::string> out;
  for (const auto& d : ds) {
    if (d.keep) out.push_back(d.id);
  }
  return out;
}

TEST(Retention, KeepLast) {
  std::vector<Candidate> c = {{"a", at(2026, 1, 1)}, {"b", at(2026, 1, 2)}, {"c", at(2026, 1, 3)}, {"d", at(2026, 1, 4)}};
  auto d = decide(c, {.keep_last = 2});
  EXPECT_EQ(kept(d), (std::vector<std::string>{"d", "c"}));
  EXPECT_EQ(d[0].reasons[0], "last 1/2");
  EXPECT_FALSE(d[3].keep);
}

TEST(Retention, DailyKeepsNewestOfEachDay) {
  // Two backups a day for four days.
  std::vector<Candidate> c;
  for (int day = 1; day <= 4; ++day) {
    c.push_back({"d" + std::to_string(day) + "-morning", at(2026, 3, day, 6)});
    c.push_back({"d" + std::to_string(day) + "-evening", at(2026, 3, day, 20)});
  }
  auto d = decide(c, {.keep_daily = 3});
  EXPECT_EQ(kept(d), (std::vector<std::string>{"d4-evening", "d3-evening", "d2-evening"}));
  EXPECT_EQ(d[0].reasons[0], "daily 2026-03-04");
}

struct GfsCase {
  const char* name;
  Policy policy;
  std::vector<std::string> expect;
};

TEST(Retention, GfsTable) {
  // One backup per day through 2025 and into 2026.
  std::vector<Candidate> c;
  for (int64_t t = at(2025, 1, 1); t <= at(2026, 2, 15); t += 86400) {
    std::tm tm{};
    std::time_t tt = static_cast<std::time_t>(t);
    gmtime_r(&tt, &tm);
    char id[16];
    std::strftime(id, sizeof id, "%Y-%m-%d", &tm);
    c.push_back({id, t, true});
  }
  std::vector<GfsCase> table = {
      {"weekly 3 (ISO weeks; 2026-02-15 is a Sunday)", {.keep_weekly = 3}, {"2026-02-15", "2026-02-08", "2026-02-01"}},
      {"monthly 3", {.keep_monthly = 3}, {"2026-02-15", "2026-01-31", "2025-12-31"}},
      {"yearly 2", {.keep_yearly = 2}, {"2026-02-15", "2025-12-31"}},
      {"last 1 + monthly 2 overlap", {.keep_last = 1, .keep_monthly = 2}, {"2026-02-15", "2026-01-31"}},
      {"daily 2 + yearly 2", {.keep_daily = 2, .keep_yearly = 2}, {"2026-02-15", "2026-02-14", "2025-12-31"}},
  };
  for (const auto& tc : table) {
    EXPECT_EQ(kept(decide(c, tc.policy)), tc.expect) << tc.name;
  }
}

TEST(Retention, NewestVerifiedAlwaysKept) {
  std::vector<Candidate> c = {{"old-verified", at(2026, 1, 1), true}, {"new-unverified", at(2026, 1, 5), false}};
  auto d = decide(c, {.keep_last = 1});
  EXPECT_EQ(kept(d), (std::vector<std::string>{"new-unverified", "old-verified"}));
  EXPECT_EQ(d[1].reasons[0], "newest verified backup (always kept)");
}

TEST(Retention, NeverDeletesEverythingAndEmptyPolicyKeepsAll) {
  std::vector<Candidate> c = {{"a", at(2026, 1, 1)}, {"b", at(2026, 1, 2)}};
  EXPECT_EQ(kept(decide(c, {})).size(), 2u);
  EXPECT_TRUE(decide({}, {.keep_last = 1}).empty());
}

TEST(Retention, PolicyJson) {
  auto p = Policy::from_json({{"keep_last", 3}, {"keep_weekly", 4}});
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->describe(), "last 3, weekly 4");
  EXPECT_FALSE(Policy::from_json({{"keep_last", -1}}).ok());
  EXPECT_FALSE(Policy::from_json({{"keep_daily", "7"}}).ok());
}

}  // namespace
}  // namespace stacksnap::retention

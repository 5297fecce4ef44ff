// Cron expressions and their next run time in a time zone.
//
// Five fields: minute hour day-of-month month day-of-week, each `*`, a number, a range
// `a-b`, a list `a,b`, a step `*/n` or `a-b/n`; month and weekday names (jan, mon);
// weekday 0 or 7 is Sunday; macros @hourly @daily (@midnight) @weekly @monthly
// @yearly (@annually). When both day fields are restricted a day matches either (as
// in Vixie cron). Times are wall-clock times in the schedule's zone (IANA name, e.g.
// "Europe/Berlin"; default "UTC"): a time skipped by a DST change runs at the
// transition, a repeated time runs once (at its first occurrence).
#pragma once

#include <bitset>
#include <optional>
#include <string>

#include "base/clock.h"
#include "base/error.h"

namespace stacksnap::schedule {

class CronExpr {
 public:
  // InvalidArgument naming the bad field: "cron field 2 (hour): 25 is out of range 0-23".
  static Result<CronExpr> parse(const std::string& text);

  // The first matching minute strictly after `after`, in `zone`; nullopt when none in
  // the next 5 years (e.g. "0 0 30 2 *").
  std::optional<SystemTime> next_after(SystemTime after, const std::string& zone) const;
  // "every day at 03:00", "at minute 15 of every hour", … (best effort, for the UI).
  std::string describe() const;
  const std::string& text() const { return text_; }

  bool matches_local(int minute, int hour, int mday, int month, int wday) const;
  bool day_matches(int mday, int month, int wday) const;

 private:
  std::string text_;
  std::bitset<60> minutes_;
  std::bitset<24> hours_;
  std::bitset<32> mdays_;   // 1..31
  std::bitset<13> months_;  // 1..12
  std::bitset<7> wdays_;    // 0..6, Sunday = 0
  bool mday_star_ = true, wday_star_ = true;
};

// InvalidArgument when the zone is unknown.
Status check_zone(const std::string& zone);

}  // namespace stacksnap::schedule

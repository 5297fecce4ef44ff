// Retention: which backups to keep, as a pure function of their times and a policy.
//
// keep_last N keeps the N newest. keep_daily/weekly/monthly/yearly N keep, for each of
// the N most recent days/ISO weeks/months/years that have backups, the newest backup of
// that period (grandfather-father-son, as restic and borg count it). Periods are in UTC.
// Safety rules, whatever the policy says:
//  - the newest verified backup is always kept;
//  - when the policy would delete every backup, nothing is deleted;
//  - a policy with every count at 0 keeps everything (it is "no policy").
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/clock.h"
#include "base/error.h"

namespace stacksnap::retention {

struct Policy {
  int keep_last = 0;
  int keep_daily = 0;
  int keep_weekly = 0;
  int keep_monthly = 0;
  int keep_yearly = 0;
  bool empty() const { return !keep_last && !keep_daily && !keep_weekly && !keep_monthly && !keep_yearly; }
  nlohmann::json to_json() const;
  static Result<Policy> from_json(const nlohmann::json& j);  // InvalidArgument for negatives
  std::string describe() const;  // "last 3, daily 7, weekly 4"
};

struct Candidate {
  std::string id;
  int64_t created = 0;  // unix seconds
  bool verified = false;
};

struct Decision {
  std::string id;
  int64_t created = 0;
  bool keep = false;
  std::vector<std::string> reasons;  // why kept ("last 1/3", "daily 2026-11-24", "newest verified"), or why deleted
};

// One decision per candidate, newest first.
std::vector<Decision> decide(std::vector<Candidate> candidates, const Policy& policy);

}  // namespace stacksnap::retention

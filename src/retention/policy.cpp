#include "retention/policy.h"

#include <algorithm>
#include <chrono>
#include <map>

#include <date/date.h>

namespace stacksnap::retention {

namespace {

// Period keys; equal keys mean the same period (UTC; weeks are ISO 8601 weeks).
template <const char* kFormat>
std::string period_key(int64_t t) {
  return date::format(kFormat, date::sys_seconds(std::chrono::seconds(t)));
}
constexpr char kDay[] = "%Y-%m-%d";
constexpr char kWeek[] = "%G-W%V";
constexpr char kMonth[] = "%Y-%m";
constexpr char kYear[] = "%Y";

}  // namespace

nlohmann::json Policy::to_json() const {
  return {{"keep_last", keep_last}, {"keep_daily", keep_daily}, {"keep_weekly", keep_weekly},
          {"keep_monthly", keep_monthly}, {"keep_yearly", keep_yearly}};
}

Result<Policy> Policy::from_json(const nlohmann::json& j) {
  if (!j.is_object()) return invalid_argument("retention policy must be an object");
  Policy p;
  auto get = [&](const char* k, int& out) -> Status {
    if (!j.contains(k) || j[k].is_null()) return {};
    if (!j[k].is_number_integer() || j[k].get<int64_t>() < 0 || j[k].get<int64_t>() > 100000) {
      return invalid_argument(std::string("retention ") + k + " must be a whole number from 0 to 100000");
    }
    out = j[k].get<int>();
    return {};
  };
  TRY(get("keep_last", p.keep_last));
  TRY(get("keep_daily", p.keep_daily));
  TRY(get("keep_weekly", p.keep_weekly));
  TRY(get("keep_monthly", p.keep_monthly));
  TRY(get("keep_yearly", p.keep_yearly));
  return p;
}

std::string Policy::describe() const {
  std::string s;
  auto add = [&](const char* name, int n) {
    if (n > 0) s += (s.empty() ? "" : ", ") + std::string(name) + " " + std::to_string(n);
  };
  add("last", keep_last);
  add("daily", keep_daily);
  add("weekly", keep_weekly);
  add("monthly", keep_monthly);
  add("yearly", keep_yearly);
  return s.empty() ? "keep everything" : s;
}

std::vector<Decision> decide(std::vector<Candidate> cands, const Policy& policy) {
  std::stable_sort(cands.begin(), cands.end(), [](const Candidate& a, const Candidate& b) {
    return a.created != b.created ? a.created > b.created : a.id > b.id;
  });
  std::vector<Decision> out;
  out.reserve(cands.size());
  for (const auto& c : cands) out.push_back({c.id, c.created, false, {}});
  if (out.empty()) return out;

  if (policy.empty()) {
    for (auto& d : out) {
      d.keep = true;
      d.reasons.push_back("no retention policy");
    }
    return out;
  }

  for (int i = 0; i < policy.keep_last && i < static_cast<int>(out.size()); ++i) {
    out[static_cast<size_t>(i)].keep = true;
    out[static_cast<size_t>(i)].reasons.push_back("last " + std::to_string(i + 1) + "/" + std::to_string(policy.keep_last));
  }
  auto bucket = [&](int count, const char* name, std::string (*key)(int64_t)) {
    if (count <= 0) return;
    std::string last;
    int used = 0;
    for (auto& d : out) {  // newest first: the first of each period is its newest
      std::string k = key(d.created);
      if (k == last) continue;
      last = k;
      if (used++ >= count) break;
      d.keep = true;
      d.reasons.push_back(std::string(name) + " " + k);
    }
  };
  bucket(policy.keep_daily, "daily", period_key<kDay>);
  bucket(policy.keep_weekly, "weekly", period_key<kWeek>);
  bucket(policy.keep_monthly, "monthly", period_key<kMonth>);
  bucket(policy.keep_yearly, "yearly", period_key<kYear>);

  for (size_t i = 0; i < cands.size(); ++i) {
    if (cands[i].verified) {
      if (!out[i].keep) {
        out[i].keep = true;
        out[i].reasons.push_back("newest verified backup (always kept)");
      }
      break;
    }
  }
  bool any_kept = std::any_of(out.begin(), out.end(), [](const Decision& d) { return d.keep; });
  if (!any_kept) {
    for (auto& d : out) {
      d.keep = true;
      d.reasons.push_back("kept: the policy would delete every backup");
    }
    return out;
  }
  for (auto& d : out) {
    if (!d.keep) d.reasons.push_back("not selected by " + policy.describe());
  }
  return out;
}

}  // namespace stacksnap::retention

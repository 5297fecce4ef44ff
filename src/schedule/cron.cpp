#include "schedule/cron.h"

#include <date/tz.h>

#include <algorithm>
#include <cctype>
#include <sstream>
#include <vector>

namespace stacksnap::schedule {

namespace {

const char* const kFieldNames[] = {"minute", "hour", "day of month", "month", "day of week"};
const char* const kMonths[] = {"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"};
const char* const kDays[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : s) {
    if (c == sep) {
      out.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  out.push_back(cur);
  return out;
}

Result<int> parse_value(const std::string& s, int field, int lo, int hi) {
  std::string low;
  for (char c : s) low += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (field == 3) {
    for (int i = 0; i < 12; ++i) {
      if (low == kMonths[i]) return i + 1;
    }
  }
  if (field == 4) {
    for (int i = 0; i < 7; ++i) {
      if (low == kDays[i]) return i;
    }
  }
  std::string where = "cron field " + std::to_string(field + 1) + " (" + kFieldNames[field] + "): ";
  if (low.empty() || !std::all_of(low.begin(), low.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); }) ||
      low.size() > 4) {
    return invalid_argument(where + "'" + s + "' is not a number");
  }
  int v = std::stoi(low);
  if (v < lo || v > hi) {
    return invalid_argument(where + std::to_string(v) + " is out of range " + std::to_string(lo) + "-" + std::to_string(hi));
  }
  return v;
}

template <size_t N>
Status parse_field(const std::string& text, int field, int lo, int hi, std::bitset<N>& bits, bool& star) {
  std::string where = "cron field " + std::to_string(field + 1) + " (" + kFieldNames[field] + "): ";
  star = text == "*" || text == "?";
  for (const auto& part : split(text, ',')) {
    if (part.empty()) return invalid_argument(where + "empty list element in '" + text + "'");
    std::string range = part;
    int step = 1;
    size_t slash = part.find('/');
    if (slash != std::string::npos) {
      range = part.substr(0, slash);
      std::string st = part.substr(slash + 1);
      if (st.empty() || !std::all_of(st.begin(), st.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); }) ||
          st.size() > 4 || std::stoi(st) == 0) {
        return invalid_argument(where + "bad step in '" + part + "'");
      }
      step = std::stoi(st);
    }
    int a = lo, b = hi;
    if (range == "*" || range == "?") {
    } else if (size_t dash = range.find('-'); dash != std::string::npos) {
      a = TRY(parse_value(range.substr(0, dash), field, lo, hi));
      b = TRY(parse_value(range.substr(dash + 1), field, lo, hi));
      if (a > b) return invalid_argument(where + "range '" + range + "' runs backwards");
    } else {
      a = TRY(parse_value(range, field, lo, hi));
      b = slash != std::string::npos ? hi : a;
    }
    for (int v = a; v <= b; v += step) {
      int idx = (field == 4 && v == 7) ? 0 : v;
      bits.set(static_cast<size_t>(idx));
    }
  }
  return {};
}

}  // namespace

Status check_zone(const std::string& zone) {
  if (zone.empty() || zone == "UTC") return {};
  try {
    (void)date::locate_zone(zone);
  } catch (const std::exception&) {
    return invalid_argument("unknown time zone '" + zone + "' (use an IANA name such as Europe/Berlin)");
  }
  return {};
}

Result<CronExpr> CronExpr::parse(const std::string& input) {
  std::string text = input;
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.pop_back();
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) text.erase(text.begin());
  std::string expanded = text;
  if (text == "@hourly") expanded = "0 * * * *";
  else if (text == "@daily" || text == "@midnight") expanded = "0 0 * * *";
  else if (text == "@weekly") expanded = "0 0 * * 0";
  else if (text == "@monthly") expanded = "0 0 1 * *";
  else if (text == "@yearly" || text == "@annually") expanded = "0 0 1 1 *";
  else if (!text.empty() && text[0] == '@') return invalid_argument("unknown cron macro '" + text + "'");

  std::istringstream in(expanded);
  std::vector<std::string> fields;
  for (std::string f; in >> f;) fields.push_back(f);
  if (fields.size() != 5) {
    return invalid_argument("a cron expression has 5 fields (minute hour day-of-month month day-of-week), '" + text +
                            "' has " + std::to_string(fields.size()));
  }
  CronExpr c;
  c.text_ = text;
  bool star;
  TRY(parse_field(fields[0], 0, 0, 59, c.minutes_, star));
  TRY(parse_field(fields[1], 1, 0, 23, c.hours_, star));
  TRY(parse_field(fields[2], 2, 1, 31, c.mdays_, c.mday_star_));
  TRY(parse_field(fields[3], 3, 1, 12, c.months_, star));
  TRY(parse_field(fields[4], 4, 0, 7, c.wdays_, c.wday_star_));
  return c;
}

bool CronExpr::matches_local(int minute, int hour, int mday, int month, int wday) const {
  return minutes_.test(static_cast<size_t>(minute)) && hours_.test(static_cast<size_t>(hour)) &&
         day_matches(mday, month, wday);
}

bool CronExpr::day_matches(int mday, int month, int wday) const {
  if (!months_.test(static_cast<size_t>(month))) return false;
  bool dm = mdays_.test(static_cast<size_t>(mday)), dw = wdays_.test(static_cast<size_t>(wday));
  if (mday_star_ && wday_star_) return true;
  if (mday_star_) return dw;
  if (wday_star_) return dm;
  return dm || dw;
}

std::optional<SystemTime> CronExpr::next_after(SystemTime after, const std::string& zone_name) const {
  using namespace std::chrono;
  const date::time_zone* zone = nullptr;
  try {
    zone = date::locate_zone(zone_name.empty() ? "UTC" : zone_name);
  } catch (const std::exception&) {
    return std::nullopt;
  }
  auto start = floor<minutes>(after) + minutes(1);
  auto local = zone->to_local(start);
  auto end = local + days(5 * 366);
  auto day = floor<days>(local);
  auto minute_of_day = duration_cast<minutes>(local - day).count();
  for (; day < end; day += days(1), minute_of_day = 0) {
    date::year_month_day ymd{day};
    date::weekday wd{day};
    int month = static_cast<int>(static_cast<unsigned>(ymd.month()));
    int mday = static_cast<int>(static_cast<unsigned>(ymd.day()));
    if (!day_matches(mday, month, static_cast<int>(wd.c_encoding()))) continue;
    for (int m = static_cast<int>(minute_of_day); m < 24 * 60; ++m) {
      if (!matches_local(m % 60, m / 60, mday, month, static_cast<int>(wd.c_encoding()))) continue;
      date::local_time<minutes> lt{day.time_since_epoch() + minutes(m)};
      auto info = zone->get_info(lt);
      SystemTime t;
      if (info.result == date::local_info::unique) {
        t = time_point_cast<SystemTime::duration>(zone->to_sys(lt));
      } else if (info.result == date::local_info::ambiguous) {
        t = time_point_cast<SystemTime::duration>(zone->to_sys(lt, date::choose::earliest));
      } else {
        t = time_point_cast<SystemTime::duration>(info.second.begin);  // skipped: run at the transition
      }
      if (t > after) return t;
    }
  }
  return std::nullopt;
}

std::string CronExpr::describe() const {
  auto single = [](const auto& bits) {
    return bits.count() == 1;
  };
  auto first = [](const auto& bits) {
    for (size_t i = 0; i < bits.size(); ++i) {
      if (bits.test(i)) return static_cast<int>(i);
    }
    return -1;
  };
  char hm[16];
  if (single(minutes_) && single(hours_)) {
    std::snprintf(hm, sizeof hm, "%02d:%02d", first(hours_), first(minutes_));
    std::string when = std::string("at ") + hm;
    bool all_months = months_.count() == 12;
    if (mday_star_ && wday_star_ && all_months) return "every day " + when;
    if (mday_star_ && single(wdays_) && all_months) {
      static const char* names[] = {"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"};
      return std::string("every ") + names[first(wdays_)] + " " + when;
    }
    if (wday_star_ && single(mdays_) && all_months) return "on day " + std::to_string(first(mdays_)) + " of every month " + when;
    return "at " + std::string(hm) + " (" + text_ + ")";
  }
  if (single(minutes_) && hours_.count() == 24 && mday_star_ && wday_star_ && months_.count() == 12) {
    return "every hour at minute " + std::to_string(first(minutes_));
  }
  if (minutes_.count() == 60 && hours_.count() == 24 && mday_star_ && wday_star_) return "every minute";
  return "cron " + text_;
}

}  // namespace stacksnap::schedule

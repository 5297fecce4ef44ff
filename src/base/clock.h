// Clock: injectable wall time, so schedules and retention are testable.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace stacksnap {

using SystemTime = std::chrono::system_clock::time_point;

class Clock {
 public:
  virtual ~Clock() = default;
  virtual SystemTime now() const = 0;
};

class SystemClock final : public Clock {
 public:
  SystemTime now() const override { return std::chrono::system_clock::now(); }
};

// RFC 3339 in UTC with seconds: "2026-11-25T20:17:30Z".
std::string format_rfc3339(SystemTime t);
// Compact UTC stamp for identifiers: "20261125T201730Z".
std::string format_compact_utc(SystemTime t);
int64_t unix_seconds(SystemTime t);
// Monotonic seconds since an arbitrary start, for durations and rates.
double monotonic_seconds();

}  // namespace stacksnap

#include "job/events.h"

#include <chrono>
#include <ctime>

namespace stacksnap::job {

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string format_ts_ms(int64_t ts_ms) {
  std::time_t secs = static_cast<std::time_t>(ts_ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[40];
  size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  std::snprintf(buf + n, sizeof buf - n, ".%03dZ", static_cast<int>(ts_ms % 1000));
  return buf;
}

Json Event::to_json() const {
  Json j = Json::object();
  j["seq"] = seq;
  j["ts"] = format_ts_ms(ts_ms);
  j["type"] = type;
  if (data.is_object()) {
    for (auto it = data.begin(); it != data.end(); ++it) j[it.key()] = it.value();
  }
  return j;
}

void EventHub::emit(Event e) {
  std::lock_guard lk(mu_);
  e.seq = ++seq_;
  if (e.ts_ms == 0) e.ts_ms = now_ms();
  for (EventSink* s : sinks_) s->emit(e);
}

int64_t EventHub::last_seq() const {
  std::lock_guard lk(mu_);
  return seq_;
}

}  // namespace stacksnap::job

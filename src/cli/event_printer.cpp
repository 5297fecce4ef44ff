#include "cli/event_printer.h"

#include <unistd.h>

#include <cmath>

namespace stacksnap::cli {

std::string human_duration_ms(int64_t ms) {
  char buf[48];
  if (ms < 60000) std::snprintf(buf, sizeof buf, "%.1f s", static_cast<double>(ms) / 1000.0);
  else std::snprintf(buf, sizeof buf, "%lld min %lld s", static_cast<long long>(ms / 60000),
                     static_cast<long long>((ms % 60000) / 1000));
  return buf;
}

std::string render_findings(const job::Json& summary) {
  std::string out;
  if (!summary.is_object()) return out;
  for (const char* key : {"problems", "warnings", "info"}) {
    if (!summary.contains(key) || !summary[key].is_array()) continue;
    const std::string prefix = std::string(key) == "info" ? "note: " : "WARNING: ";
    for (const auto& item : summary[key]) {
      if (item.is_string()) out += "\n" + prefix + item.get<std::string>();
    }
  }
  return out;
}

void JsonLinesPrinter::emit(job::Event e) {
  std::lock_guard lk(mu_);
  std::string line = e.to_json().dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  std::fputs(line.c_str(), out_);
  std::fputc('\n', out_);
  std::fflush(out_);
}

TerminalPrinter::TerminalPrinter(std::FILE* out) : out_(out), tty_(::isatty(fileno(out)) != 0) {}

void TerminalPrinter::clear_bar() {
  if (bar_shown_) {
    std::fputs("\r\033[2K", out_);
    bar_shown_ = false;
  }
}

void TerminalPrinter::emit(job::Event e) {
  std::lock_guard lk(mu_);
  const auto& d = e.data;
  auto str = [&](const char* k) { return d.contains(k) && d[k].is_string() ? d[k].get<std::string>() : std::string(); };
  if (e.type == "step_started") {
    clear_bar();
    titles_[str("step")] = str("title");
    std::fprintf(out_, "→ %s\n", str("title").c_str());
  } else if (e.type == "step_finished") {
    clear_bar();
    std::string title = titles_.count(str("step")) ? titles_[str("step")] : str("step");
    bool ok = d.value("ok", false);
    std::string detail = str("detail");
    std::fprintf(out_, "%s %s (%s)%s%s\n", ok ? "✓" : "✗", title.c_str(),
                 human_duration_ms(d.value("duration_ms", int64_t{0})).c_str(), detail.empty() ? "" : ": ",
                 detail.c_str());
  } else if (e.type == "progress") {
    if (!tty_) return;
    uint64_t done = d.value("bytes_done", uint64_t{0});
    double rate = d.value("rate_bps", 0.0);
    std::string line = "  ";
    if (d.contains("bytes_total") && d["bytes_total"].is_number() && d["bytes_total"].get<uint64_t>() > 0) {
      uint64_t total = d["bytes_total"].get<uint64_t>();
      double frac = std::min(1.0, static_cast<double>(done) / static_cast<double>(total));
      int filled = static_cast<int>(std::lround(frac * 24));
      line += "[" + std::string(static_cast<size_t>(filled), '#') + std::string(static_cast<size_t>(24 - filled), '.') + "] ";
      line += human_bytes(done) + " / " + human_bytes(total);
    } else {
      line += human_bytes(done);
    }
    line += "  " + human_bytes(static_cast<uint64_t>(rate)) + "/s";
    if (d.contains("eta_s") && d["eta_s"].is_number()) line += "  ETA " + std::to_string(d["eta_s"].get<int64_t>()) + " s";
    std::fprintf(out_, "\r\033[2K%s", line.c_str());
    std::fflush(out_);
    bar_shown_ = true;
    return;
  } else if (e.type == "log") {
    std::string level = str("level");
    if (level == "debug") return;
    clear_bar();
    std::FILE* where = (level == "warn" || level == "error") ? stderr : out_;
    std::fprintf(where, "  %s%s\n", level == "info" ? "" : (level + ": ").c_str(), str("message").c_str());
  }
  // error and summary events are rendered by the command itself.
  std::fflush(out_);
}

}  // namespace stacksnap::cli

// Renders job events for the command line:
//  - JsonLinesPrinter: one JSON object per line on stdout (--json), the wire form.
//  - TerminalPrinter: one line per step; on a terminal a live progress bar with bytes,
//    rate and ETA; warnings and errors on stderr.
#pragma once

#include <cstdio>
#include <map>
#include <mutex>
#include <string>

#include "base/text.h"
#include "job/events.h"

namespace stacksnap::cli {

class JsonLinesPrinter final : public job::EventSink {
 public:
  explicit JsonLinesPrinter(std::FILE* out = stdout) : out_(out) {}
  void emit(job::Event e) override;

 private:
  std::mutex mu_;
  std::FILE* out_;
};

class TerminalPrinter final : public job::EventSink {
 public:
  explicit TerminalPrinter(std::FILE* out = stdout);
  void emit(job::Event e) override;

 private:
  void clear_bar();
  std::mutex mu_;
  std::FILE* out_;
  bool tty_;
  bool bar_shown_ = false;
  std::map<std::string, std::string> titles_;
};

// "1.2 s", "3 min 4 s"
std::string human_duration_ms(int64_t ms);

// A job summary's findings for the terminal: the strings under "problems" and
// "warnings" as WARNING lines, those under "info" as notes, each line starting with a
// newline; "" when there are none. Any kind of job; other keys are ignored.
std::string render_findings(const job::Json& summary);

}  // namespace stacksnap::cli
